BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome
    $null = New-FlowProject -Name A

    # Each run appends its value to a file: the file shows which runs executed, and in which order.
    $record = Join-Path $TestDrive 'order.txt'
    $file = New-FlowScript "$TestDrive/ordered.cs" @"
var flow = new Flow("ordered");
var value = flow.Parameter("value", 0);
flow.Task("record", (int v) =>
{
    if (v < 0) throw new InvalidOperationException("value must not be negative");
    File.AppendAllText(@"$record", v + "\n");
    Console.WriteLine(`$"recorded {v}");
}, value);
"@
    $null = Register-Flow -Path $file -Project A

    function Add-Runs([int[]]$Value) {
        foreach ($v in $Value) { Start-FlowRun -Name ordered -Project A -Parameters @{ value = $v } }
    }

    function Get-Recorded {
        <# The values recorded since the last call, in order. #>
        if (-not (Test-Path -LiteralPath $record)) { return @() }
        $values = @(Get-Content -LiteralPath $record | ForEach-Object { [int]$_ })
        Remove-Item -LiteralPath $record
        $values
    }
}

AfterAll {
    Exit-TestHome
}

Describe 'Start-FlowAgent' {
    It '-Once with an empty queue returns at once, with nothing' {
        Start-FlowAgent -Once -PassThru | Should -BeNullOrEmpty
    }

    It '-Once drains the queue, runs in queue order, and returns; without -PassThru it outputs nothing' {
        $queued = Add-Runs 4, 1, 3, 2
        $queued.State | Sort-Object -Unique | Should -Be 'Scheduled'
        Start-FlowAgent -Once 6>$null | Should -BeNullOrEmpty
        Get-Recorded | Should -Be @(4, 1, 3, 2)
        Get-FlowRun -State Scheduled | Should -BeNullOrEmpty
        $runs = Get-FlowRun -Id $queued.Id
        $runs.State | Should -Be @('Success', 'Success', 'Success', 'Success')
        for ($i = 1; $i -lt $runs.Count; $i++) {
            $runs[$i].Started | Should -BeGreaterOrEqual $runs[$i - 1].Ended -Because 'one agent runs one run at a time, oldest first'
        }
    }

    It '-PassThru outputs each run when it ends, in queue order' {
        $queued = Add-Runs 5, 6, 7
        $out = @(Start-FlowAgent -Once -PassThru 6>$null)
        $out | Should -HaveCount 3
        $out[0].PSObject.TypeNames | Should -Contain 'Flowstore.FlowRunRecord'
        $out.Id | Should -Be $queued.Id
        $out.State | Should -Be @('Success', 'Success', 'Success')
        $out.Agent | Sort-Object -Unique | Should -Be "$([Environment]::MachineName):$PID"
        Get-Recorded | Should -Be @(5, 6, 7)
    }

    It 'shows task output in the information stream' {
        $null = Add-Runs 8
        $text = @(Start-FlowAgent -Once 6>&1 | ForEach-Object { "$_" })
        $text | Should -Contain '[record] recorded 8'
        $null = Get-Recorded
    }

    It '-Name goes into the runs'' Agent' {
        $queued = Add-Runs 9
        $run = Start-FlowAgent -Once -PassThru -Name nightly 6>$null
        $run.Id | Should -Be $queued.Id
        $run.Agent | Should -Be "nightly@$([Environment]::MachineName):$PID"
        $null = Get-Recorded
    }

    It 'a failed run writes an error and the agent goes on with the queue' {
        $queued = Add-Runs 10, -1, 11
        $out = @(Start-FlowAgent -Once -PassThru -ErrorAction SilentlyContinue -ErrorVariable ev 6>$null 3>$null)
        $out.Id | Should -Be $queued.Id
        $out.State | Should -Be @('Success', 'Failed', 'Success')
        $ev | Should -HaveCount 1
        $ev[0].FullyQualifiedErrorId | Should -Be 'FlowRunFailed,Flowstore.Commands.StartFlowAgentCommand'
        $ev[0].Exception.Message | Should -BeLike '*value must not be negative*'
        Get-Recorded | Should -Be @(10, 11)
    }

    It 'stops when the pipeline needs no more (Select-Object -First), leaving no run Running' {
        $queued = Add-Runs 12, 13, 14
        $first = Start-FlowAgent -Once -PassThru 6>$null | Select-Object -First 1
        $first.Id | Should -Be $queued[0].Id
        $first.State | Should -Be 'Success'
        Get-FlowRun -State Running | Should -BeNullOrEmpty -Because 'the run the agent had claimed when it was stopped ended'
        (Get-FlowRun -Id $queued.Id).State | Should -Not -Contain 'Running'
        # What the agent did not claim is still queued; drain it.
        $null = Start-FlowAgent -Once 6>$null
        (Get-FlowRun -Id $queued.Id).State | Should -Not -Contain 'Scheduled'
        $null = Get-Recorded
    }

    It 'with -ErrorAction Stop, the first failed run stops the agent, leaving no run Running' {
        $queued = Add-Runs -2, 15, 16
        { Start-FlowAgent -Once -ErrorAction Stop 6>$null 3>$null } |
            Should -Throw -ErrorId 'FlowRunFailed,Flowstore.Commands.StartFlowAgentCommand'
        $states = (Get-FlowRun -Id $queued.Id).State
        $states[0] | Should -Be 'Failed'
        $states | Should -Not -Contain 'Running'
        $null = Start-FlowAgent -Once 6>$null
        (Get-FlowRun -Id $queued.Id).State | Should -Not -Contain 'Scheduled'
        $null = Get-Recorded
    }

    It 'never runs a cancelled run' {
        $queued = Add-Runs 17, 18
        Stop-FlowRun -Id $queued[0].Id
        (Start-FlowAgent -Once -PassThru 6>$null).Id | Should -Be $queued[1].Id
        Get-Recorded | Should -Be @(18)
    }
}
