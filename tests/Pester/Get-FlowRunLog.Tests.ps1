BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome
    $null = New-FlowProject -Name L

    # left and right run in parallel, each writing several lines; join needs both.
    $file = New-FlowScript "$TestDrive/logged.cs" @'
var flow = new Flow("logged");
var fail = flow.Parameter("fail", false);
var left = flow.Task("left", async () =>
{
    for (var i = 1; i <= 5; i++) { Console.WriteLine($"left line {i}"); await Task.Yield(); }
    return 1;
});
var right = flow.Task("right", async () =>
{
    for (var i = 1; i <= 5; i++) { Console.WriteLine($"right line {i}"); await Task.Yield(); }
    Log.Info("right is done");
    return 2;
});
flow.Task("join", (int x, int y, bool f) =>
{
    Log.Warning($"sum is {x + y}");
    if (f) throw new InvalidOperationException("join was told to fail");
    Console.WriteLine($"joined {x + y}");
}, left, right, fail);
'@
    $null = Register-Flow -Path $file -Project L
    $run = Start-FlowRun -Name logged -Project L -Wait 6>$null 3>$null
    $log = @(Get-FlowRunLog -Run $run)
}

AfterAll {
    Exit-TestHome
}

Describe 'Get-FlowRunLog' {
    It 'outputs the log entries of the run' {
        $run.State | Should -Be 'Success'
        $log | Should -Not -BeNullOrEmpty
        $log[0].PSObject.TypeNames | Should -Contain 'Flowstore.RunLogEntry'
        $log | ForEach-Object { $_.Time | Should -BeOfType [DateTimeOffset] }
    }

    It 'attributes task output lines to their task, in order, also for tasks that ran in parallel' {
        ($log | Where-Object { $_.Task -eq 'left' -and $_.Level -eq 'Output' }).Message |
            Should -Be @(1..5 | ForEach-Object { "left line $_" })
        ($log | Where-Object { $_.Task -eq 'right' -and $_.Level -eq 'Output' }).Message |
            Should -Be @(1..5 | ForEach-Object { "right line $_" })
        ($log | Where-Object { $_.Task -eq 'join' -and $_.Level -eq 'Output' }).Message | Should -Be 'joined 3'
        $log | Where-Object { $_.Level -eq 'Output' -and $_.Message -like 'left*' -and $_.Task -ne 'left' } | Should -BeNullOrEmpty
        $log | Where-Object { $_.Level -eq 'Output' -and $_.Message -like 'right*' -and $_.Task -ne 'right' } | Should -BeNullOrEmpty
    }

    It 'keeps Log.Info and Log.Warning lines with their task and level' {
        $info = @($log | Where-Object Level -EQ 'Info' | Where-Object Task -EQ 'right')
        $info.Message | Should -Be 'right is done'
        ($log | Where-Object { $_.Task -eq 'join' -and $_.Level -eq 'Warning' }).Message | Should -Be 'sum is 3'
    }

    It 'ends with the run''s own line, which has no task' {
        $log[-1].Task | Should -BeNullOrEmpty
        $log[-1].Level | Should -Be 'Info'
        $log[-1].Message | Should -BeLike "Flow 'logged' finished Success*"
    }

    It '-Task shows only that task''s lines (any case)' {
        $right = @(Get-FlowRunLog -Run $run -Task right)
        $right.Message | Should -Be (@("Task 'right' Running.") + (1..5 | ForEach-Object { "right line $_" }) + @('right is done', "Task 'right' Success after 1 attempt(s)."))
        $right.Task | Sort-Object -Unique | Should -Be 'right'
        (Get-FlowRunLog -Run $run -Task RIGHT).Message | Should -Be $right.Message
        Get-FlowRunLog -Run $run -Task nothing | Should -BeNullOrEmpty
    }

    It 'takes -Id, a run from the pipeline, and Get-FlowRun output' {
        (Get-FlowRunLog -Id $run.Id).Message | Should -Be $log.Message
        ($run | Get-FlowRunLog).Message | Should -Be $log.Message
        (Get-FlowRun -Id $run.Id | Get-FlowRunLog -Task join).Message | Should -Be @("Task 'join' Running.", 'sum is 3', 'joined 3', "Task 'join' Success after 1 attempt(s).")
    }

    It 'a failed task''s error is in its lines' {
        $failed = Start-FlowRun -Name logged -Project L -Parameters @{ fail = $true } -Wait -ErrorAction SilentlyContinue 6>$null 3>$null
        $failed.State | Should -Be 'Failed'
        $errors = @(Get-FlowRunLog -Run $failed -Task join | Where-Object Level -EQ 'Error')
        $errors | Should -HaveCount 1
        $errors[0].Message | Should -BeLike "*'join' failed*join was told to fail*"
        (Get-FlowRunLog -Run $failed)[-1].Message | Should -BeLike "Flow 'logged' finished Failed*"
    }

    It 'a queued run has an empty log, without error' {
        $queued = Start-FlowRun -Name logged -Project L
        Get-FlowRunLog -Run $queued | Should -BeNullOrEmpty
        $null = Stop-FlowRun -Id $queued.Id
    }

    It 'an unknown run is RunNotFound' {
        $unknown = [guid]::NewGuid()
        $err = { Get-FlowRunLog -Id $unknown -ErrorAction Stop } |
            Should -Throw -ErrorId 'RunNotFound,Flowstore.Commands.GetFlowRunLogCommand' -PassThru
        $err.Exception.Message | Should -BeLike "*$unknown*"
    }
}
