BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome
    $example = (Resolve-Path "$PSScriptRoot/../../examples/flows/my_flow.cs").Path
}

AfterAll {
    Exit-TestHome
}

Describe 'Invoke-Flow' {
    Context 'the example flow, straight from its file' {
        BeforeAll {
            $out = Split-RunOutput (Invoke-Flow -Path $example 6>&1)
            $run = $out.Run
        }

        It 'runs it to success' {
            $run | Should -HaveCount 1
            $run[0].PSObject.TypeNames | Should -Contain 'Flowstore.Engine.FlowRunResult'
            $run[0].FlowName | Should -Be 'example'
            $run[0].State | Should -Be 'Success'
            $run[0].Tasks.Name | Should -Be @('get_data', 'print_data')
            $run[0].Tasks.State | Should -Be @('Success', 'Success')
            $run[0].ScriptSha256 | Should -Match '^[0-9a-f]{64}$'
            $run[0].Duration | Should -BeOfType [timespan]
        }

        It 'shows task output in the information stream, tagged with the task' {
            $out.Text | Should -Contain '[print_data] 1, 2, 3, 4, 5'
        }

        It 'keeps task results' {
            $run[0].Results['get_data'] | Should -Be @(1, 2, 3, 4, 5)
        }

        It 'needs no registration and records nothing' {
            $run[0].Project | Should -BeNullOrEmpty
            $run[0].FlowVersion | Should -BeNullOrEmpty
            Join-Path $env:FLOWSTORE_HOME 'flowstore.db' | Should -Not -Exist
            Get-Flow | Should -BeNullOrEmpty
        }

        It 'takes the path from the pipeline (FullName)' {
            (Get-Item $example | Invoke-Flow 6>$null).State | Should -Be 'Success'
        }
    }

    Context 'parameters' {
        BeforeAll {
            $body = @'
var flow = new Flow("params");
var count = flow.Parameter("count", 2);
var names = flow.Parameter("names", new[] { "a" });
var who = flow.Parameter<string>("who");
flow.Task("show", (int c, string[] n, string w) => Console.WriteLine($"count={c} names={string.Join("+", n)} who={w}"), count, names, who);
'@
            $file = New-FlowScript "$TestDrive/params.cs" $body
        }

        It 'converts -Parameters to the declared types and uses defaults for the rest' {
            $out = Split-RunOutput (Invoke-Flow $file -Parameters @{ who = 'me' } 6>&1)
            $out.Run.State | Should -Be 'Success'
            $out.Text | Should -Contain '[show] count=2 names=a who=me'
            $out.Run.Parameters['count'] | Should -Be 2
        }

        It 'converts strings and PowerShell arrays' {
            $out = Split-RunOutput (Invoke-Flow $file -Parameters @{ count = '7'; names = 'x', 'y'; WHO = 42 } 6>&1)
            $out.Text | Should -Contain '[show] count=7 names=x+y who=42'
            $out.Run.Parameters['count'] | Should -BeOfType [int]
        }

        It 'a missing required parameter is ParameterMissing' {
            $err = { Invoke-Flow $file -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterMissing,Flowstore.Commands.InvokeFlowCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*'who'*"
        }

        It 'an unknown parameter is ParameterUnknown' {
            { Invoke-Flow $file -Parameters @{ who = 'me'; colour = 'red' } -ErrorAction Stop } |
                Should -Throw -ErrorId 'ParameterUnknown,Flowstore.Commands.InvokeFlowCommand'
        }

        It 'a value that does not convert is ParameterInvalid' {
            { Invoke-Flow $file -Parameters @{ who = 'me'; count = 'many' } -ErrorAction Stop } |
                Should -Throw -ErrorId 'ParameterInvalid,Flowstore.Commands.InvokeFlowCommand'
        }
    }

    Context 'a failing task' {
        BeforeAll {
            $body = @'
var flow = new Flow("failing");
var first = flow.Task("first", () => 1);
var boom = flow.Task("boom", (int x) => { if (x > 0) throw new InvalidOperationException("boom: the disk is full"); return x; }, first);
flow.Task("after", (int x) => Console.WriteLine("must not run"), boom);
'@
            $file = New-FlowScript "$TestDrive/failing.cs" $body
            $output = Invoke-Flow $file -ErrorAction SilentlyContinue -ErrorVariable runErrors 6>&1 3>$null
            $succeeded = $?
            $out = Split-RunOutput $output
        }

        It 'still outputs the run object, in state Failed' {
            $out.Run | Should -HaveCount 1
            $out.Run[0].State | Should -Be 'Failed'
            $out.Run[0].Error | Should -BeLike '*boom: the disk is full*'
        }

        It 'records each task''s state; downstream tasks do not run' {
            $states = @{}
            $out.Run[0].Tasks | ForEach-Object { $states[$_.Name] = "$($_.State)" }
            $states['first'] | Should -Be 'Success'
            $states['boom'] | Should -Be 'Failed'
            $states['after'] | Should -Be 'UpstreamFailed'
            $out.Text | Should -Not -Contain '[after] must not run'
        }

        It 'shows the failure as red ERROR: lines on the information stream, never as warnings' {
            $all = Invoke-Flow $file -ErrorAction SilentlyContinue 6>&1 3>&1
            @($all | Where-Object { $_ -is [System.Management.Automation.WarningRecord] }) | Should -BeNullOrEmpty
            $errorLines = @($all | Where-Object { $_ -is [System.Management.Automation.InformationRecord] -and $_.Tags -contains 'FlowError' } | ForEach-Object { "$_" })
            $errorLines | Should -Contain "ERROR: [boom] Task 'boom' failed after 1 attempt(s): InvalidOperationException: boom: the disk is full (at ${file}:4)"
            $errorLines[-1] | Should -BeLike "ERROR: Flow 'failing' finished Failed in * ms."
        }

        It 'says in the verbose stream which file and SHA-256 it ran' {
            $verbose = @(Invoke-Flow $file -Verbose -ErrorAction SilentlyContinue 4>&1 6>$null 3>$null |
                Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
            $sha = (Get-FileHash -LiteralPath $file -Algorithm SHA256).Hash.ToLowerInvariant()
            $verbose | Should -Contain "Running flow from local file $file; script SHA-256: $sha."
        }

        It 'writes an error record FlowRunFailed naming the flow and the cause; $? is false' {
            $succeeded | Should -BeFalse
            $runErrors | Should -HaveCount 1
            $runErrors[0].FullyQualifiedErrorId | Should -Be 'FlowRunFailed,Flowstore.Commands.InvokeFlowCommand'
            $runErrors[0].Exception.Message | Should -BeLike "*'failing'*boom: the disk is full*"
            $runErrors[0].TargetObject.State | Should -Be 'Failed'
        }
    }

    Context 'choosing a flow and script errors' {
        BeforeAll {
            $two = New-FlowScript "$TestDrive/two.cs" ((Get-LinearFlowBody -Name one -Message 'from one' -Variable a) + (Get-LinearFlowBody -Name two -Message 'from two' -Variable b))
        }

        It '-Name picks one flow of several' {
            $out = Split-RunOutput (Invoke-Flow $two -Name two 6>&1)
            $out.Run.FlowName | Should -Be 'two'
            $out.Text | Should -Contain '[print_data] from two'
            $out.Text | Should -Not -Contain '[print_data] from one'
        }

        It 'several flows without -Name is FlowNotFoundInScript, listing them' {
            $err = { Invoke-Flow $two -ErrorAction Stop } | Should -Throw -ErrorId 'FlowNotFoundInScript,Flowstore.Commands.InvokeFlowCommand' -PassThru
            $err.Exception.Message | Should -BeLike '*one, two*'
        }

        It 'an unknown -Name is FlowNotFoundInScript' {
            $err = { Invoke-Flow $two -Name three -ErrorAction Stop } | Should -Throw -ErrorId 'FlowNotFoundInScript,Flowstore.Commands.InvokeFlowCommand' -PassThru
            $err.Exception.Message | Should -BeLike '*found: one, two*'
        }

        It 'a missing file is ScriptNotFound' {
            { Invoke-Flow "$TestDrive/nothing.cs" -ErrorAction Stop } | Should -Throw -ErrorId 'ScriptNotFound,Flowstore.Commands.InvokeFlowCommand'
        }

        It 'flow and task names in any script run, and the task prefix shows the name' {
            $file = New-FlowScript "$TestDrive/unicode.cs" "var flow = new Flow(`"フロー`");`nflow.Task(`"задача`", () => Console.WriteLine(`"привет`"));`n"
            $out = Split-RunOutput (Invoke-Flow $file 6>&1)
            $out.Run.FlowName | Should -Be 'フロー'
            $out.Run.State | Should -Be 'Success'
            $out.Text | Should -Contain '[задача] привет'
        }

        It 'a task name with control characters is InvalidName, shown escaped, and nothing reaches the terminal raw' {
            $file = New-FlowScript "$TestDrive/hostile.cs" "var flow = new Flow(`"x`");`nflow.Task(`"a\u0007b\nc\u001b[31m`", () => 1);`n"
            $err = { Invoke-Flow $file -ErrorAction Stop 6>$null } | Should -Throw -ErrorId 'InvalidName,Flowstore.Commands.InvokeFlowCommand' -PassThru
            $err.Exception.Message | Should -BeLike '*a\u0007b\u000Ac\u001B`[31m*'
            $err.Exception.Message | Should -Not -Match '[\x00-\x08\x0B-\x1F\x7F]'
            "$($err.ErrorDetails.Message)" | Should -Not -Match '[\x00-\x08\x0B-\x1F\x7F]'
        }

        It 'a compile error is ScriptCompilationFailed' {
            $file = New-FlowScript "$TestDrive/broken.cs" "var flow = new Flow(`"x`");`nflow.Task(`"t`", () => 1)`n"
            { Invoke-Flow $file -ErrorAction Stop } | Should -Throw -ErrorId 'ScriptCompilationFailed,Flowstore.Commands.InvokeFlowCommand'
        }
    }
}
