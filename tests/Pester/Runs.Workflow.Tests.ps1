# Issue 3's scenario, statement by statement, on a script in a temp folder (flows/etl.cs under TestDrive, the
# current location during the test): task code changes freely between runs, a structure change fails the run
# until Register-Flow records a new version.
#
#   Register-Flow -Path flows/etl.cs -Project MyProject             # version 1
#   $run = Start-FlowRun -Name etl -Project MyProject -Parameters @{ n = 3 } -Wait
#   $run.State                                                       # Success
#   Get-FlowRunLog -Run $run                                         # task states, retries, task output
#   # edit the body of a task in flows/etl.cs (same tasks, same edges) - no re-registration
#   Start-FlowRun -Name etl -Project MyProject -Wait                 # runs the NEW code, Success
#   # add a task to flows/etl.cs - no re-registration
#   Start-FlowRun -Name etl -Project MyProject -Wait                 # Failed, with an error that says the
#                                                                    # structure changed since version 1, names the
#                                                                    # added task, and says to run Register-Flow
#   Register-Flow -Path flows/etl.cs -Project MyProject              # version 2
#   Start-FlowRun -Name etl -Project MyProject -Wait                 # Success

BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome
    $null = New-FlowProject -Name MyProject
    Push-Location -LiteralPath $TestDrive

    # extract fails its first attempt in every run (a flag file tells the attempts apart) and succeeds on its
    # retry, so that every run's log shows a retry.
    $flag = Join-Path $TestDrive 'extract-failed-once'
    $etl = @"
var flow = new Flow("etl");
var n = flow.Parameter("n", 2);
var numbers = flow.Task("extract", (int count) =>
{
    if (!File.Exists(@"$flag")) { File.WriteAllText(@"$flag", ""); throw new IOException("source busy"); }
    File.Delete(@"$flag");
    Log.Info(`$"extracted {count} numbers");
    return Enumerable.Range(1, count).ToArray();
}, n, new TaskOptions { Retries = 1 });
var scaled = flow.Task("transform", (int[] xs) => xs.Select(x => x * 10).ToArray(), numbers);
flow.Task("load", (int[] ys) => Console.WriteLine("loaded " + string.Join(",", ys)), scaled);
"@
    $path = New-FlowScript 'flows/etl.cs' $etl

    function Get-Output {
        <# The task output lines of a run's log, as "[task] text". #>
        param([Parameter(Mandatory)]$Run)
        @(Get-FlowRunLog -Run $Run | Where-Object Level -EQ 'Output' | ForEach-Object { "[$($_.Task)] $($_.Message)" })
    }
}

AfterAll {
    Pop-Location
    Exit-TestHome
}

Describe 'Issue 3 scenario: every run fetches the current script, checks its structure, and executes it' {
    It 'Register-Flow -Path flows/etl.cs -Project MyProject   # version 1' {
        $registration = Register-Flow -Path flows/etl.cs -Project MyProject
        $registration.Version | Should -Be 1
        $registration.Status | Should -Be 'Registered'
    }

    It '$run = Start-FlowRun -Name etl -Project MyProject -Parameters @{ n = 3 } -Wait; $run.State   # Success' {
        $run = Start-FlowRun -Name etl -Project MyProject -Parameters @{ n = 3 } -Wait 6>$null 3>$null
        $run.State | Should -Be 'Success'
        $run.FlowVersion | Should -Be 1
        $run.Parameters['n'] | Should -Be 3
        $run.ScriptSha256 | Should -Be (Get-FileHash -LiteralPath $path -Algorithm SHA256).Hash
        $run.Tasks.Name | Should -Be @('extract', 'transform', 'load')
        $run.Tasks.State | Should -Be @('Success', 'Success', 'Success')
        $run.Tasks.Attempts | Should -Be @(2, 1, 1)
    }

    It 'Get-FlowRunLog -Run $run   # task states, retries, task output' {
        $run = Get-FlowRun -Name etl -Project MyProject -Last 1
        $log = @(Get-FlowRunLog -Run $run)
        $log | Should -Not -BeNullOrEmpty
        $retry = @($log | Where-Object { $_.Task -eq 'extract' -and $_.Level -eq 'Warning' })
        $retry | Should -HaveCount 1
        $retry[0].Message | Should -BeLike '*attempt 1 of 2 failed*source busy*retrying*'
        ($log | Where-Object { $_.Task -eq 'extract' -and $_.Level -eq 'Info' }).Message | Should -Be 'extracted 3 numbers'
        Get-Output $run | Should -Be @('[load] loaded 10,20,30')
        $log[-1].Task | Should -BeNullOrEmpty
        $log[-1].Message | Should -BeLike "Flow 'etl' finished Success*"
    }

    It '# edit the body of a task - no re-registration; Start-FlowRun -Name etl -Project MyProject -Wait   # runs the NEW code, Success' {
        $before = Get-FlowRun -Name etl -Project MyProject -Last 1
        $edited = (Get-Content -LiteralPath flows/etl.cs -Raw).Replace('"loaded "', '"stored "')
        $edited | Should -BeLike '*"stored "*'
        Set-Content -LiteralPath flows/etl.cs -Value $edited -NoNewline

        $run = Start-FlowRun -Name etl -Project MyProject -Wait 6>$null 3>$null
        $run.State | Should -Be 'Success'
        $run.FlowVersion | Should -Be 1
        Get-Output $run | Should -Be @('[load] stored 10,20') -Because 'the new code runs, with the default n = 2'
        $run.ScriptSha256 | Should -Be (Get-FileHash -LiteralPath $path -Algorithm SHA256).Hash
        $run.ScriptSha256 | Should -Not -Be $before.ScriptSha256
        @(Get-Flow -Name etl -Project MyProject -AllVersions) | Should -HaveCount 1
    }

    It '# add a task - no re-registration; Start-FlowRun -Name etl -Project MyProject -Wait   # Failed: structure changed since version 1, names the task, says Register-Flow' {
        $withTask = (Get-Content -LiteralPath flows/etl.cs -Raw) +
            "flow.Task(`"audit`", (int[] ys) => Console.WriteLine(`$`"audited {ys.Length} values`"), scaled);`n"
        Set-Content -LiteralPath flows/etl.cs -Value $withTask -NoNewline

        $run = Start-FlowRun -Name etl -Project MyProject -Wait -ErrorAction SilentlyContinue -ErrorVariable ev 6>$null 3>$null
        $run.State | Should -Be 'Failed'
        $run.ErrorId | Should -Be 'StructureChanged'
        $run.Tasks | Should -BeNullOrEmpty -Because 'no task runs when the structure changed'
        foreach ($message in $run.Error, $ev[0].Exception.Message) {
            $message | Should -BeLike '*structure*changed since version 1*'
            $message | Should -BeLike '*audit*'
            $message | Should -BeLike '*Register a new version*'
        }
        # The error as shown renders the fix as the command to type.
        "$($ev[0])" | Should -BeLike '*audit*Register-Flow -Path*'
        $ev[0].ErrorDetails.RecommendedAction | Should -BeLike "*Register-Flow -Path*-Project 'MyProject'*"
        $ev | Should -HaveCount 1
        $ev[0].FullyQualifiedErrorId | Should -Be 'StructureChanged,Flowstore.Commands.StartFlowRunCommand'
        { Start-FlowRun -Name etl -Project MyProject -Wait -ErrorAction Stop 6>$null 3>$null } |
            Should -Throw -ErrorId 'StructureChanged,Flowstore.Commands.StartFlowRunCommand'
    }

    It 'Register-Flow -Path flows/etl.cs -Project MyProject   # version 2' {
        $registration = Register-Flow -Path flows/etl.cs -Project MyProject
        $registration.Version | Should -Be 2
        $registration.TasksAdded | Should -Be 'audit'
    }

    It 'Start-FlowRun -Name etl -Project MyProject -Wait   # Success' {
        $run = Start-FlowRun -Name etl -Project MyProject -Wait 6>$null 3>$null
        $run.State | Should -Be 'Success'
        $run.FlowVersion | Should -Be 2
        $run.Tasks.Name | Should -Contain 'audit'
        Get-Output $run | Should -Contain '[audit] audited 2 values'
        Get-Output $run | Should -Contain '[load] stored 10,20'
        @(Get-FlowRun -Name etl -Project MyProject).State | Should -Be @('Success', 'Failed', 'Failed', 'Success', 'Success')
    }
}
