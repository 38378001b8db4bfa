BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome
    $savedPoll = $env:FLOWSTORE_POLL_INTERVAL
    $env:FLOWSTORE_POLL_INTERVAL = '0.1'   # Wait-FlowRun (and the agent processes) look again every 0.1s
    $null = New-FlowProject -Name W

    $file = New-FlowScript "$TestDrive/waited.cs" @'
var flow = new Flow("waited");
var value = flow.Parameter("value", 0);
flow.Task("show", (int v) => { if (v < 0) throw new InvalidOperationException("value must not be negative"); Console.WriteLine($"value={v}"); }, value);
'@
    $null = Register-Flow -Path $file -Project W
}

AfterAll {
    $env:FLOWSTORE_POLL_INTERVAL = $savedPoll
    Exit-TestHome
}

Describe 'Wait-FlowRun' {
    Context 'a run nobody executes' {
        It '-TimeoutSeconds is RunWaitTimedOut, and the run is left as it was' {
            $queued = Start-FlowRun -Name waited -Project W -Parameters @{ value = 1 }
            $err = { Wait-FlowRun -Id $queued.Id -TimeoutSeconds 1 -ErrorAction Stop } |
                Should -Throw -ErrorId 'RunWaitTimedOut,Flowstore.Commands.WaitFlowRunCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*$($queued.Id)*'waited'*Scheduled*"
            (Get-FlowRun -Id $queued.Id).State | Should -Be 'Scheduled'
            Stop-FlowRun -Id $queued.Id   # so that the agent below does not run it
            (Get-FlowRun -Id $queued.Id).State | Should -Be 'Cancelled'
        }

        It 'an unknown run is RunNotFound' {
            { Wait-FlowRun -Id ([guid]::NewGuid()) -TimeoutSeconds 5 -ErrorAction Stop } |
                Should -Throw -ErrorId 'RunNotFound,Flowstore.Commands.WaitFlowRunCommand'
        }

        It 'a run that already ended is output at once' {
            $done = Start-FlowRun -Name waited -Project W -Parameters @{ value = 2 } -Wait 6>$null
            $waited = Wait-FlowRun -Id $done.Id -TimeoutSeconds 1
            $waited.State | Should -Be 'Success'
            $waited.Id | Should -Be $done.Id
        }
    }

    Context 'runs executed by an agent in another process' {
        BeforeAll {
            $ok = Start-FlowRun -Name waited -Project W -Parameters @{ value = 7 }
            $bad = Start-FlowRun -Name waited -Project W -Parameters @{ value = -1 }
            $agent = Start-AgentProcess -Arguments '-Once -Name waiter' -LogFolder "$TestDrive/agents"
        }

        AfterAll {
            Stop-AgentProcess $agent
        }

        It 'the runs were queued: nothing here executes them' {
            $ok.State | Should -Be 'Scheduled'
            $bad.State | Should -Be 'Scheduled'
        }

        It 'waits until the agent ran it, and outputs the run' {
            $run = Wait-FlowRun -Id $ok.Id -TimeoutSeconds 120
            $run | Should -HaveCount 1
            $run.State | Should -Be 'Success'
            $run.Agent | Should -BeLike "waiter@*:$($agent.Id)" -Because 'the agent process ran it'
            $run.Ended | Should -Not -BeNullOrEmpty
            (Get-FlowRunLog -Run $run -Task show | Where-Object Level -eq 'Output').Message | Should -Be 'value=7'
        }

        It 'a run that ends Failed writes an error and still outputs the run' {
            $run = Wait-FlowRun -Id $bad.Id -TimeoutSeconds 120 -ErrorAction SilentlyContinue -ErrorVariable ev
            $run | Should -HaveCount 1
            $run.State | Should -Be 'Failed'
            $run.Agent | Should -BeLike "waiter@*:$($agent.Id)"
            $ev | Should -HaveCount 1
            $ev[0].FullyQualifiedErrorId | Should -Be 'FlowRunFailed,Flowstore.Commands.WaitFlowRunCommand'
            $ev[0].Exception.Message | Should -BeLike "*'waited' Failed*value must not be negative*"
            { Wait-FlowRun -Id $bad.Id -ErrorAction Stop } |
                Should -Throw -ErrorId 'FlowRunFailed,Flowstore.Commands.WaitFlowRunCommand'
        }

        It 'takes runs from the pipeline, in order' {
            $runs = $ok, $bad | Wait-FlowRun -TimeoutSeconds 60 -ErrorAction SilentlyContinue
            $runs.Id | Should -Be @($ok.Id, $bad.Id)
            $runs.State | Should -Be @('Success', 'Failed')
        }

        It 'the agent (-Once) exits when the queue is empty' {
            $agent.WaitForExit(60000) | Should -BeTrue -Because (Get-AgentProcessOutput $agent)
            Get-FlowRun -State Scheduled | Should -BeNullOrEmpty
            Get-FlowRun -State Running | Should -BeNullOrEmpty
            "$(Get-AgentProcessOutput $agent)" | Should -BeLike "*Run of flow 'waited' Failed*" -Because 'the agent reports the failed run as an error, and goes on'
        }
    }
}
