BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome
    $null = New-FlowProject -Name P
}

AfterAll {
    Exit-TestHome
}

Describe 'Start-FlowRun' {
    Context 'a registered flow with Local script storage' {
        BeforeAll {
            $file = New-FlowScript "$TestDrive/example.cs" (Get-LinearFlowBody -Name example -Message 'first body')
            $registration = Register-Flow -Path $file -Project P
        }

        It 'without -Wait queues the run (Scheduled) and Start-FlowAgent -Once executes it' {
            $queued = Start-FlowRun -Name example -Project P
            $queued | Should -HaveCount 1
            $queued.PSObject.TypeNames | Should -Contain 'Flowstore.FlowRunRecord'
            $queued.State | Should -Be 'Scheduled'
            $queued.FlowId | Should -Be $registration.Id
            $queued.Started | Should -BeNullOrEmpty
            $queued.Agent | Should -BeNullOrEmpty
            (Get-FlowRun -Id $queued.Id).State | Should -Be 'Scheduled' -Because 'nothing runs it until an agent claims it'

            $out = Split-RunOutput (Start-FlowAgent -Once -PassThru 6>&1)
            $out.Run.Id | Should -Be $queued.Id
            $out.Run[0].State | Should -Be 'Success'
            $out.Text | Should -Contain '[print_data] first body'
            (Get-FlowRun -Id $queued.Id).State | Should -Be 'Success'
        }

        It '-Wait runs it here and now and outputs the run with its provenance' {
            $out = Split-RunOutput (Start-FlowRun -Name example -Project P -Wait 6>&1)
            $out.Run | Should -HaveCount 1
            $run = $out.Run[0]
            $run.PSObject.TypeNames | Should -Contain 'Flowstore.FlowRunRecord'
            $run.Id | Should -BeOfType [guid]
            $run.Id | Should -Not -Be ([guid]::Empty)
            $run.State | Should -Be 'Success'
            $run.FlowName | Should -Be 'example'
            $run.Project | Should -Be 'P'
            $run.FlowVersion | Should -Be 1
            $run.FlowId | Should -Be $registration.Id
            $run.Parameters.Count | Should -Be 0
            $run.Started | Should -BeOfType [DateTimeOffset]
            $run.Ended | Should -BeOfType [DateTimeOffset]
            $run.Ended | Should -BeGreaterOrEqual $run.Started
            $run.Started | Should -BeGreaterOrEqual $run.Created
            $run.Agent | Should -Be "$([Environment]::MachineName):$PID" -Because '-Wait runs it in this process'
            $run.Tasks.Name | Should -Be @('get_data', 'print_data')
            $run.Tasks.State | Should -Be @('Success', 'Success')
            $run.ScriptSha256 | Should -BeExactly (Get-FileHash -LiteralPath $file -Algorithm SHA256).Hash.ToLowerInvariant()
            $info = Get-Item -LiteralPath $file
            $run.StorageVersion | Should -BeExactly ('{0}/{1}' -f $info.LastWriteTimeUtc.ToString('O', [cultureinfo]::InvariantCulture), $info.Length) `
                -Because 'Local script storage versions a file by its last write time and size'
            $out.Text | Should -Contain '[print_data] first body'
            Get-FlowRun -Id $run.Id | Should -Not -BeNullOrEmpty -Because 'a run under -Wait is recorded too'
        }

        It 'runs the current file: a changed task body shows without registering again' {
            $null = New-FlowScript $file (Get-LinearFlowBody -Name example -Message 'second body')
            $out = Split-RunOutput (Start-FlowRun -Name example -Project P -Wait 6>&1)
            $out.Run[0].State | Should -Be 'Success'
            $out.Run[0].FlowVersion | Should -Be 1
            $out.Text | Should -Contain '[print_data] second body'
            @(Get-Flow -Name example -Project P -AllVersions) | Should -HaveCount 1
        }

        It 'takes flows from Get-Flow on the pipeline' {
            $out = Split-RunOutput (Get-Flow -Name example -Project P | Start-FlowRun -Wait 6>&1)
            $out.Run[0].State | Should -Be 'Success'
            $out.Run[0].FlowId | Should -Be $registration.Id
        }

        It 'takes Name and Project from Register-Flow output on the pipeline' {
            $out = Split-RunOutput ($registration | Start-FlowRun -Wait 6>&1)
            $out.Run[0].FlowName | Should -Be 'example'
            $out.Run[0].State | Should -Be 'Success'
        }

        It '-WhatIf does not run it' {
            Start-FlowRun -Name example -Project P -Wait -WhatIf 6>&1 | Should -BeNullOrEmpty
        }

        It 'a changed structure is StructureChanged, naming the new task and Register-Flow' {
            $null = New-FlowScript $file (Get-LinearFlowBody -Name example -Task get_data, enrich, print_data)
            $err = { Start-FlowRun -Name example -Project P -Wait -ErrorAction Stop 6>$null } |
                Should -Throw -ErrorId 'StructureChanged,Flowstore.Commands.StartFlowRunCommand' -PassThru
            $err.Exception.Message | Should -BeLike '*enrich*'
            $err.Exception.Message | Should -Not -BeLike '*Register-Flow*'
            $err.ErrorDetails.Message | Should -BeLike "*Register-Flow -Path '$file' -Project 'P'*"
        }

        It 'runs again once the new structure is registered' {
            $v2 = Register-Flow -Path $file -Project P
            $v2.Version | Should -Be 2
            $run = Start-FlowRun -Name example -Project P -Wait 6>$null
            $run.State | Should -Be 'Success'
            $run.FlowVersion | Should -Be 2
            $run.Tasks.Name | Should -Contain 'enrich'
        }

        It 'an unknown flow is FlowNotFound' {
            $err = { Start-FlowRun -Name nothing -Project P -Wait -ErrorAction Stop } |
                Should -Throw -ErrorId 'FlowNotFound,Flowstore.Commands.StartFlowRunCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*'nothing'*"
        }

        It 'an unknown project is ProjectNotFound, not FlowNotFound' {
            $err = { Start-FlowRun -Name example -Project NoSuchProject -Wait -ErrorAction Stop } |
                Should -Throw -ErrorId 'ProjectNotFound,Flowstore.Commands.StartFlowRunCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*Project 'NoSuchProject' does not exist*"
            $err.ErrorDetails.Message | Should -Not -BeLike '*Register-Flow*'
        }

        It 'a deleted script is StorageFetchFailed naming the file' {
            $gone = New-FlowScript "$TestDrive/gone.cs" (Get-LinearFlowBody -Name gone)
            $null = Register-Flow -Path $gone -Project P
            Remove-Item -LiteralPath $gone
            $err = { Start-FlowRun -Name gone -Project P -Wait -ErrorAction Stop } |
                Should -Throw -ErrorId 'StorageFetchFailed,Flowstore.Commands.StartFlowRunCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*$gone*"
        }
    }

    Context 'parameters and failures' {
        BeforeAll {
            $body = @'
var flow = new Flow("checked");
var limit = flow.Parameter("limit", 10);
flow.Task("check", (int l) => { if (l < 0) throw new ArgumentOutOfRangeException("limit", "limit must not be negative"); Console.WriteLine($"limit={l}"); }, limit);

var needs = new Flow("needs");
var count = needs.Parameter<int>("count");
needs.Task("show", (int c) => Console.WriteLine($"count={c}"), count);
'@
            $file = New-FlowScript "$TestDrive/checked.cs" $body
            $null = Register-Flow -Path $file -Project P -Name checked, needs

            function Get-RunCount([string]$Name) { @(Get-FlowRun -Name $Name -Project P).Count }
        }

        It 'passes -Parameters to the run and records them' {
            $out = Split-RunOutput (Start-FlowRun -Name checked -Project P -Wait -Parameters @{ limit = '3' } 6>&1)
            $out.Run[0].State | Should -Be 'Success'
            $out.Text | Should -Contain '[check] limit=3'
            $out.Run[0].Parameters.Keys | Should -Be @('limit')
            $out.Run[0].Parameters['limit'] | Should -Be '3' -Because 'the run records the value as given; it is converted when it runs'
            (Get-FlowRun -Id $out.Run[0].Id).Parameters['limit'] | Should -Be '3'
        }

        It 'a failed run writes FlowRunFailed and still outputs the run object' {
            $run = Start-FlowRun -Name checked -Project P -Wait -Parameters @{ limit = -1 } -ErrorAction SilentlyContinue -ErrorVariable ev 6>$null 3>$null
            $succeeded = $?
            $succeeded | Should -BeFalse
            $run | Should -HaveCount 1
            $run.State | Should -Be 'Failed'
            $run.ErrorId | Should -Be 'FlowRunFailed'
            $run.Error | Should -BeLike '*limit must not be negative*'
            $run.Tasks[0].Error | Should -BeLike '*limit must not be negative*'
            $run.Parameters['limit'] | Should -Be -1
            $ev | Should -HaveCount 1
            $ev[0].FullyQualifiedErrorId | Should -Be 'FlowRunFailed,Flowstore.Commands.StartFlowRunCommand'
            $ev[0].Exception.Message | Should -BeLike '*limit must not be negative*'
            $ev[0].TargetObject.Id | Should -Be $run.Id -Because 'the error record carries the run'
            (Get-FlowRun -Id $run.Id).State | Should -Be 'Failed'
        }

        It 'a failed run under -Wait with $ErrorActionPreference = ''Stop'' throws: a pipeline step fails' {
            $step = {
                $ErrorActionPreference = 'Stop'
                Start-FlowRun -Name checked -Project P -Wait -Parameters @{ limit = -2 } 6>$null 3>$null
                'the step went on'
            }
            $err = $step | Should -Throw -ErrorId 'FlowRunFailed,Flowstore.Commands.StartFlowRunCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*flow 'checked' Failed*limit must not be negative*"
            (Get-FlowRun -Name checked -Project P -Last 1).State | Should -Be 'Failed'
        }

        It 'an unknown parameter is ParameterUnknown, and nothing is queued' {
            $before = Get-RunCount checked
            $err = { Start-FlowRun -Name checked -Project P -Wait -Parameters @{ nope = 1 } -ErrorAction Stop } |
                Should -Throw -ErrorId 'ParameterUnknown,Flowstore.Commands.StartFlowRunCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*'nope'*limit*"
            { Start-FlowRun -Name checked -Project P -Parameters @{ nope = 1 } -ErrorAction Stop } |
                Should -Throw -ErrorId 'ParameterUnknown,Flowstore.Commands.StartFlowRunCommand'
            Get-RunCount checked | Should -Be $before
        }

        It 'a missing required parameter is ParameterMissing, and nothing is queued' {
            $err = { Start-FlowRun -Name needs -Project P -Wait -ErrorAction Stop } |
                Should -Throw -ErrorId 'ParameterMissing,Flowstore.Commands.StartFlowRunCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*'count'*"
            { Start-FlowRun -Name needs -Project P -Parameters @{ other = 1; } -ErrorAction Stop } |
                Should -Throw -ErrorId 'ParameterUnknown,Flowstore.Commands.StartFlowRunCommand'
            { Start-FlowRun -Name needs -Project P -ErrorAction Stop } |
                Should -Throw -ErrorId 'ParameterMissing,Flowstore.Commands.StartFlowRunCommand'
            Get-RunCount needs | Should -Be 0
        }

        It 'a value that does not convert to the registered type is ParameterInvalid naming parameter and type, and nothing is queued, with or without -Wait' {
            $before = Get-RunCount needs
            $err = { Start-FlowRun -Name needs -Project P -Parameters @{ count = 'many' } -ErrorAction Stop } |
                Should -Throw -ErrorId 'ParameterInvalid,Flowstore.Commands.StartFlowRunCommand' -PassThru
            $err.Exception.Message | Should -BeLike "Parameter 'count' of flow 'needs' must be int; the value 'many' does not convert*"
            { Start-FlowRun -Name needs -Project P -Parameters @{ count = 'many' } -Wait -ErrorAction Stop 6>$null } |
                Should -Throw -ErrorId 'ParameterInvalid,Flowstore.Commands.StartFlowRunCommand'
            Get-RunCount needs | Should -Be $before -Because 'a run that can only fail is not queued'
        }

        It 'a value of a type only the script declares is checked when the run starts: the run fails ParameterInvalid before any task runs' {
            $file = New-FlowScript "$TestDrive/modes.cs" @'
var flow = new Flow("modes");
var mode = flow.Parameter("mode", Mode.Fast);
flow.Task("show", (Mode m) => Console.WriteLine(m), mode);
enum Mode { Fast, Careful }
'@
            $null = Register-Flow -Path $file -Project P
            $queued = Start-FlowRun -Name modes -Project P -Parameters @{ mode = 'Sloppy' }
            $queued.State | Should -Be 'Scheduled'
            $null = Start-FlowAgent -Once -ErrorAction SilentlyContinue 6>$null 3>$null
            $run = Get-FlowRun -Id $queued.Id
            $run.State | Should -Be 'Failed'
            $run.ErrorId | Should -Be 'ParameterInvalid'
            $run.Error | Should -BeLike "*'mode'*'Sloppy'*"
            $run.Tasks | Should -BeNullOrEmpty -Because 'no task ran'
        }
    }

    Context 'what a run says about itself' {
        BeforeAll {
            $said = New-FlowScript "$TestDrive/said.cs" @'
var flow = new Flow("said");
var name = flow.Parameter("name", "FS_PESTER_ABSENT_SECRET");
flow.Task("use", (string n) =>
{
    Console.WriteLine("using " + n);
    return Secret.Get(n).Length;
}, name);
'@
            $null = Register-Flow -Path $said -Project P
        }

        It 'the verbose stream of -Wait starts with where the script came from: storage, location, ref, version, SHA-256' {
            $verbose = @(Start-FlowRun -Name said -Project P -Wait -Verbose -ErrorAction SilentlyContinue 4>&1 6>$null 3>$null |
                Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
            $run = Get-FlowRun -Name said -Project P -Last 1
            $verbose | Should -Contain "Downloading flow 'said' version 1 from Local storage - Local script $said; requested: the current script."
            $verbose | Should -Contain "Flow successfully downloaded from $said. Using version: $($run.StorageVersion); script SHA-256: $($run.ScriptSha256)."
            (Get-FlowRunLog -Id $run.Id)[0..1].Message | Should -Be @(
                "Downloading flow 'said' version 1 from Local storage - Local script $said; requested: the current script."
                "Flow successfully downloaded from $said. Using version: $($run.StorageVersion); script SHA-256: $($run.ScriptSha256).")
        }

        It 'a missing secret in a task is SecretNotFound on the run and its error record, at the script''s line' {
            $run = Start-FlowRun -Name said -Project P -Wait -ErrorAction SilentlyContinue -ErrorVariable ev 6>$null 3>$null
            $run.State | Should -Be 'Failed'
            $run.ErrorId | Should -Be 'SecretNotFound'
            $run.Error | Should -BeLike "*FS_PESTER_ABSENT_SECRET*(at ${said}:7)*"
            $ev | Should -HaveCount 1
            $ev[0].FullyQualifiedErrorId | Should -Be 'SecretNotFound,Flowstore.Commands.StartFlowRunCommand'
            $ev[0].Exception.Message | Should -BeLike "*(at ${said}:7)*"
            { Start-FlowRun -Name said -Project P -Wait -ErrorAction Stop 6>$null 3>$null } |
                Should -Throw -ErrorId 'SecretNotFound,Flowstore.Commands.StartFlowRunCommand'
            foreach ($text in @($run.Error, $ev[0].Exception.Message) + @((Get-FlowRunLog -Id $run.Id).Message)) {
                $text | Should -Not -BeLike '*src/Flowstore*' -Because 'messages show the script''s location, never Flowstore''s own'
            }
        }

        It 'failure lines read as errors (red ERROR: host lines), not as warnings' {
            $all = Start-FlowRun -Name said -Project P -Wait -ErrorAction SilentlyContinue 6>&1 3>&1
            @($all | Where-Object { $_ -is [System.Management.Automation.WarningRecord] }) | Should -BeNullOrEmpty
            $errorLines = @($all | Where-Object { $_ -is [System.Management.Automation.InformationRecord] -and $_.Tags -contains 'FlowError' })
            "$($errorLines[0])".StartsWith("ERROR: [use] Task 'use' failed after 1 attempt(s): Secret 'FS_PESTER_ABSENT_SECRET' was not found") |
                Should -BeTrue -Because "the line was: $($errorLines[0])"
            $errorLines[0].MessageData.ForegroundColor | Should -Be 'Red'
            @($all | Where-Object { $_ -is [System.Management.Automation.InformationRecord] } | ForEach-Object { "$_" }) |
                Should -Contain '[use] using FS_PESTER_ABSENT_SECRET'
        }
    }

    Context '-Pinned' {
        It 'of a Local frozen flow re-runs the exact earlier assembly after the flow was registered again with changed code' {
            $frozen = New-FlowScript "$TestDrive/pinned/frozen.cs" (Get-LinearFlowBody -Name pinfrozen -Message 'v1 code')
            $null = New-FlowStorage -Type Local | Register-Flow -Path $frozen -Project P
            $run1 = (Split-RunOutput (Start-FlowRun -Name pinfrozen -Project P -Wait 6>&1)).Run[0]
            $run1.State | Should -Be 'Success'

            $null = New-FlowScript $frozen (Get-LinearFlowBody -Name pinfrozen -Message 'v2 code')
            $v2 = New-FlowStorage -Type Local | Register-Flow -Path $frozen -Project P
            $v2.Version | Should -Be 2
            $current = Split-RunOutput (Start-FlowRun -Name pinfrozen -Project P -Wait 6>&1)
            $current.Text | Should -Contain '[print_data] v2 code'
            $current.Run[0].ScriptSha256 | Should -Not -Be $run1.ScriptSha256

            $pinned = Split-RunOutput (Start-FlowRun -Pinned $run1.Id -Wait 6>&1)
            $pinned.Text | Should -Contain '[print_data] v1 code'
            $pinned.Text | Should -Not -Contain '[print_data] v2 code'
            $pinned.Run | Should -HaveCount 1
            $pinned.Run[0].State | Should -Be 'Success'
            $pinned.Run[0].PinnedFromRun | Should -Be $run1.Id
            $pinned.Run[0].FlowVersion | Should -Be 1
            $pinned.Run[0].ScriptSha256 | Should -Be $run1.ScriptSha256
            $pinned.Run[0].StorageVersion | Should -Be $run1.StorageVersion
        }

        It 'of Local script storage re-runs while the file is unchanged, and fails PinnedVersionUnavailable once it changed' {
            $script = New-FlowScript "$TestDrive/pinned/script.cs" (Get-LinearFlowBody -Name pinscript -Message 'original')
            $null = Register-Flow -Path $script -Project P
            $run1 = Start-FlowRun -Name pinscript -Project P -Wait 6>$null
            $same = Start-FlowRun -Pinned $run1.Id -Wait 6>$null
            $same.State | Should -Be 'Success'
            $same.StorageVersion | Should -Be $run1.StorageVersion

            $null = New-FlowScript $script (Get-LinearFlowBody -Name pinscript -Message 'changed')
            $run = Start-FlowRun -Pinned $run1.Id -Wait -ErrorAction SilentlyContinue -ErrorVariable ev 6>$null 3>$null
            $run.State | Should -Be 'Failed'
            $run.ErrorId | Should -Be 'PinnedVersionUnavailable'
            $run.Error | Should -BeLike "*$script*"
            $run.Tasks | Should -BeNullOrEmpty
            $ev | Should -HaveCount 1
            $ev[0].FullyQualifiedErrorId | Should -Be 'PinnedVersionUnavailable,Flowstore.Commands.StartFlowRunCommand'
            { Start-FlowRun -Pinned $run1.Id -Wait -ErrorAction Stop 6>$null 3>$null } |
                Should -Throw -ErrorId 'PinnedVersionUnavailable,Flowstore.Commands.StartFlowRunCommand'
        }

        It 'of an unknown run is RunNotFound, and nothing is queued' {
            $before = @(Get-FlowRun).Count
            $unknown = [guid]::NewGuid()
            $err = { Start-FlowRun -Pinned $unknown -Wait -ErrorAction Stop } |
                Should -Throw -ErrorId 'RunNotFound,Flowstore.Commands.StartFlowRunCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*$unknown*"
            { Start-FlowRun -Pinned $unknown -ErrorAction Stop } |
                Should -Throw -ErrorId 'RunNotFound,Flowstore.Commands.StartFlowRunCommand'
            @(Get-FlowRun).Count | Should -Be $before
        }
    }

    Context 'argument completion' {
        It 'completes flow and project names' {
            $line = 'Start-FlowRun -Project '
            (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be 'P'
            $line = 'Start-FlowRun -Project P -Name ch'
            (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be 'checked'
        }
    }
}
