BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome
    $null = New-FlowProject -Name P

    function Split-RunOutput {
        <# Splits `cmd 6>&1` output into the run object(s) and the information-stream text. #>
        param([object[]]$Output)
        [pscustomobject]@{
            Run  = @($Output | Where-Object { $_ -isnot [System.Management.Automation.InformationRecord] })
            Text = @($Output | Where-Object { $_ -is [System.Management.Automation.InformationRecord] } | ForEach-Object { "$_" })
        }
    }
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

        It 'without -Wait is RunQueueUnavailable (no run queue yet)' {
            $err = { Start-FlowRun -Name example -Project P } |
                Should -Throw -ErrorId 'RunQueueUnavailable,Flowstore.Commands.StartFlowRunCommand' -PassThru
            $err.Exception.Message | Should -BeLike '*-Wait*'
        }

        It '-Wait runs it here and now and outputs the run' {
            $out = Split-RunOutput (Start-FlowRun -Name example -Project P -Wait 6>&1)
            $out.Run | Should -HaveCount 1
            $run = $out.Run[0]
            $run.PSObject.TypeNames | Should -Contain 'Flowstore.Engine.FlowRunResult'
            $run.State | Should -Be 'Success'
            $run.FlowName | Should -Be 'example'
            $run.Project | Should -Be 'P'
            $run.FlowVersion | Should -Be 1
            $run.FlowId | Should -Be $registration.Id
            $run.ScriptSha256 | Should -Match '^[0-9a-f]{64}$'
            $run.StorageVersion | Should -Not -BeNullOrEmpty
            $out.Text | Should -Contain '[print_data] first body'
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
            $err.Exception.Message | Should -BeLike "*Register-Flow -Path '$file' -Project 'P'*"
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
'@
            $file = New-FlowScript "$TestDrive/checked.cs" $body
            $null = Register-Flow -Path $file -Project P
        }

        It 'passes -Parameters to the run' {
            $out = Split-RunOutput (Start-FlowRun -Name checked -Project P -Wait -Parameters @{ limit = '3' } 6>&1)
            $out.Run[0].State | Should -Be 'Success'
            $out.Text | Should -Contain '[check] limit=3'
        }

        It 'a failed run writes FlowRunFailed and still outputs the run object' {
            $run = Start-FlowRun -Name checked -Project P -Wait -Parameters @{ limit = -1 } -ErrorAction SilentlyContinue -ErrorVariable ev 6>$null 3>$null
            $succeeded = $?
            $succeeded | Should -BeFalse
            $run.State | Should -Be 'Failed'
            $run.Tasks[0].Error | Should -BeLike '*limit must not be negative*'
            $ev | Should -HaveCount 1
            $ev[0].FullyQualifiedErrorId | Should -Be 'FlowRunFailed,Flowstore.Commands.StartFlowRunCommand'
        }

        It 'an unknown parameter is ParameterUnknown' {
            { Start-FlowRun -Name checked -Project P -Wait -Parameters @{ nope = 1 } -ErrorAction Stop } |
                Should -Throw -ErrorId 'ParameterUnknown,Flowstore.Commands.StartFlowRunCommand'
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
