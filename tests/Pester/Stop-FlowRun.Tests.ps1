BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome
    $savedPoll = $env:FLOWSTORE_POLL_INTERVAL
    $env:FLOWSTORE_POLL_INTERVAL = '0.1'   # Wait-FlowRun looks again every 0.1s
    $null = New-FlowProject -Name S

    $null = Register-Flow -Path (New-FlowScript "$TestDrive/quick.cs" (Get-LinearFlowBody -Name quick)) -Project S
    # hold writes its marker file, then waits (honouring cancellation) for a file that never appears.
    $file = New-FlowScript "$TestDrive/hold.cs" @'
var flow = new Flow("hold");
var marker = flow.Parameter<string>("marker");
flow.Task("wait_for_file", async (string m, CancellationToken ct) =>
{
    File.WriteAllText(m, "started");
    while (!File.Exists(m + ".never")) await Task.Delay(50, ct);
}, marker);
'@
    $null = Register-Flow -Path $file -Project S
}

AfterAll {
    $env:FLOWSTORE_POLL_INTERVAL = $savedPoll
    Exit-TestHome
}

Describe 'Stop-FlowRun' {
    Context 'queued and ended runs' {
        It 'a queued run is Cancelled at once; quiet by default' {
            $queued = Start-FlowRun -Name quick -Project S
            Stop-FlowRun -Id $queued.Id | Should -BeNullOrEmpty
            $run = Get-FlowRun -Id $queued.Id
            $run.State | Should -Be 'Cancelled'
            $run.Ended | Should -Not -BeNullOrEmpty
            Start-FlowAgent -Once -PassThru | Should -BeNullOrEmpty -Because 'a cancelled run is not run'
        }

        It '-PassThru outputs the run; runs come from the pipeline' {
            $queued = Start-FlowRun -Name quick -Project S
            $run = $queued | Stop-FlowRun -PassThru
            $run.Id | Should -Be $queued.Id
            $run.State | Should -Be 'Cancelled'
            $two = 1..2 | ForEach-Object { Start-FlowRun -Name quick -Project S }
            (Get-FlowRun -State Scheduled | Stop-FlowRun -PassThru).State | Should -Be @('Cancelled', 'Cancelled')
            (Get-FlowRun -Id $two.Id).State | Should -Be @('Cancelled', 'Cancelled')
        }

        It '-WhatIf does nothing' {
            $queued = Start-FlowRun -Name quick -Project S
            Stop-FlowRun -Id $queued.Id -WhatIf -PassThru | Should -BeNullOrEmpty
            $run = Get-FlowRun -Id $queued.Id
            $run.State | Should -Be 'Scheduled'
            $run.CancelRequested | Should -BeFalse
            Stop-FlowRun -Id $queued.Id
        }

        It 'an ended run is RunAlreadyEnded, and stays as it ended' {
            $done = Start-FlowRun -Name quick -Project S -Wait 6>$null
            $err = { Stop-FlowRun -Id $done.Id -ErrorAction Stop } |
                Should -Throw -ErrorId 'RunAlreadyEnded,Flowstore.Commands.StopFlowRunCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*$($done.Id)*Success*"
            (Get-FlowRun -Id $done.Id).State | Should -Be 'Success'

            $cancelled = Get-FlowRun -State Cancelled -Last 1
            { Stop-FlowRun -Id $cancelled.Id -ErrorAction Stop } |
                Should -Throw -ErrorId 'RunAlreadyEnded,Flowstore.Commands.StopFlowRunCommand'
        }

        It 'an unknown run is RunNotFound; the other runs given are still stopped' {
            $queued = Start-FlowRun -Name quick -Project S
            Stop-FlowRun -Id ([guid]::NewGuid()), $queued.Id -ErrorAction SilentlyContinue -ErrorVariable ev
            $ev | Should -HaveCount 1
            $ev[0].FullyQualifiedErrorId | Should -Be 'RunNotFound,Flowstore.Commands.StopFlowRunCommand'
            (Get-FlowRun -Id $queued.Id).State | Should -Be 'Cancelled'
        }
    }

    Context 'a run that is running, in an agent in another process' {
        BeforeAll {
            $marker = Join-Path $TestDrive 'hold-started'
            $queued = Start-FlowRun -Name hold -Project S -Parameters @{ marker = $marker }
            $agent = Start-AgentProcess -Arguments '-Once' -LogFolder "$TestDrive/agents" `
                -Environment @{ FLOWSTORE_HEARTBEAT_INTERVAL = '0.2' }
        }

        AfterAll {
            Stop-AgentProcess $agent
        }

        It 'is asked to stop, and its agent cancels it at its next heartbeat: Wait-FlowRun shows Cancelled' {
            Wait-Until { Test-Path -LiteralPath $marker } -Because 'the task started' -Process $agent -TimeoutSeconds 120
            (Get-FlowRun -Id $queued.Id).State | Should -Be 'Running'

            Stop-FlowRun -Id $queued.Id
            (Get-FlowRun -Id $queued.Id).CancelRequested | Should -BeTrue

            $run = Wait-FlowRun -Id $queued.Id -TimeoutSeconds 60 -ErrorAction SilentlyContinue -ErrorVariable ev
            $run.State | Should -Be 'Cancelled'
            $run.Agent | Should -BeLike "*:$($agent.Id)"
            $run.Tasks.Name | Should -Be 'wait_for_file'
            $run.Tasks.State | Should -Be 'Cancelled'
            $ev | Should -HaveCount 1
            $ev[0].FullyQualifiedErrorId | Should -Be 'FlowRunCancelled,Flowstore.Commands.WaitFlowRunCommand'
        }

        It 'the agent (-Once) then exits' {
            $agent.WaitForExit(60000) | Should -BeTrue -Because (Get-AgentProcessOutput $agent)
        }
    }
}
