BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome
    $null = New-FlowProject -Name P, Q

    $file = New-FlowScript "$TestDrive/count.cs" @'
var flow = new Flow("count");
var value = flow.Parameter("value", 0);
flow.Task("show", (int v) => { if (v < 0) throw new InvalidOperationException("value must not be negative"); Console.WriteLine($"value={v}"); }, value);
'@
    $null = Register-Flow -Path $file -Project P
    $null = Register-Flow -Path (New-FlowScript "$TestDrive/other.cs" (Get-LinearFlowBody -Name other)) -Project Q

    # Oldest first: two successes around a failure, a queued run, and a run of another flow in another project.
    $ok1 = Start-FlowRun -Name count -Project P -Parameters @{ value = 1 } -Wait 6>$null
    $bad = Start-FlowRun -Name count -Project P -Parameters @{ value = -1 } -Wait -ErrorAction SilentlyContinue 6>$null 3>$null
    $ok2 = Start-FlowRun -Name count -Project P -Parameters @{ value = 2 } -Wait 6>$null
    $queued = Start-FlowRun -Name count -Project P -Parameters @{ value = 3 }
    $other = Start-FlowRun -Name other -Project Q -Wait 6>$null
}

AfterAll {
    Exit-TestHome
}

Describe 'Get-FlowRun' {
    It 'the runs to look for were made' {
        $ok1.State, $bad.State, $ok2.State, $queued.State, $other.State | Should -Be @('Success', 'Failed', 'Success', 'Scheduled', 'Success')
    }

    Context '-Id' {
        It 'returns the recorded run, as Start-FlowRun returned it' {
            $run = Get-FlowRun -Id $ok1.Id
            $run | Should -HaveCount 1
            $run.PSObject.TypeNames | Should -Contain 'Flowstore.FlowRunRecord'
            foreach ($property in 'Id', 'FlowId', 'FlowName', 'Project', 'FlowVersion', 'State', 'ParametersJson', 'Created', 'Started', 'Ended', 'ScriptSha256', 'StorageVersion', 'Agent') {
                $run.$property | Should -Be $ok1.$property -Because "$property is recorded"
            }
            $run.Parameters['value'] | Should -Be 1
            $run.Tasks.Name | Should -Be 'show'
            $run.Tasks.State | Should -Be 'Success'
        }

        It 'a failed run keeps its error' {
            $run = Get-FlowRun -Id $bad.Id
            $run.State | Should -Be 'Failed'
            $run.ErrorId | Should -Be 'FlowRunFailed'
            $run.Error | Should -BeLike '*value must not be negative*'
            $run.Tasks.State | Should -Be 'Failed'
        }

        It 'takes several ids, and runs from the pipeline (Id by property name)' {
            (Get-FlowRun -Id $ok1.Id, $bad.Id).Id | Should -Be @($ok1.Id, $bad.Id)
            ($queued, $other | Get-FlowRun).Id | Should -Be @($queued.Id, $other.Id)
        }

        It 'an unknown id is RunNotFound' {
            $unknown = [guid]::NewGuid()
            $err = { Get-FlowRun -Id $unknown -ErrorAction Stop } |
                Should -Throw -ErrorId 'RunNotFound,Flowstore.Commands.GetFlowRunCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*$unknown*"
            $err.TargetObject | Should -Be $unknown
        }

        It 'an unknown id among known ones is one error, and the others are still output' {
            $runs = Get-FlowRun -Id $ok1.Id, ([guid]::NewGuid()), $ok2.Id -ErrorAction SilentlyContinue -ErrorVariable ev
            $runs.Id | Should -Be @($ok1.Id, $ok2.Id)
            $ev | Should -HaveCount 1
            $ev[0].FullyQualifiedErrorId | Should -Be 'RunNotFound,Flowstore.Commands.GetFlowRunCommand'
        }
    }

    Context 'filters, newest first' {
        It 'with no filter, every run, newest first' {
            (Get-FlowRun).Id | Should -Be @($other.Id, $queued.Id, $ok2.Id, $bad.Id, $ok1.Id)
        }

        It '-Name and -Project' {
            (Get-FlowRun -Name count -Project P).Id | Should -Be @($queued.Id, $ok2.Id, $bad.Id, $ok1.Id)
            (Get-FlowRun -Name count).Id | Should -Be @($queued.Id, $ok2.Id, $bad.Id, $ok1.Id)
            (Get-FlowRun -Project Q).Id | Should -Be $other.Id
            (Get-FlowRun -FlowName other).Id | Should -Be $other.Id
            Get-FlowRun -Name count -Project Q | Should -BeNullOrEmpty
            Get-FlowRun -Name nothing | Should -BeNullOrEmpty
        }

        It '-State' {
            (Get-FlowRun -State Failed).Id | Should -Be $bad.Id
            (Get-FlowRun -State Scheduled).Id | Should -Be $queued.Id
            (Get-FlowRun -State Success -Project P).Id | Should -Be @($ok2.Id, $ok1.Id)
            (Get-FlowRun -State success -Name other).Id | Should -Be $other.Id
            Get-FlowRun -State Running | Should -BeNullOrEmpty
            Get-FlowRun -State Cancelled | Should -BeNullOrEmpty
        }

        It 'an unknown -State is a parameter error' {
            { Get-FlowRun -State Done } | Should -Throw -ErrorId 'ParameterArgumentValidationError,Flowstore.Commands.GetFlowRunCommand'
        }

        It '-Last N: the newest N, newest first' {
            (Get-FlowRun -Last 2).Id | Should -Be @($other.Id, $queued.Id)
            (Get-FlowRun -Name count -Project P -Last 3).Id | Should -Be @($queued.Id, $ok2.Id, $bad.Id)
            (Get-FlowRun -State Success -Project P -Last 1).Id | Should -Be $ok2.Id
            (Get-FlowRun -Project P -Last 100).Id | Should -HaveCount 4
            { Get-FlowRun -Last 0 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,Flowstore.Commands.GetFlowRunCommand'
        }

        It 'shows a run in list view with its tasks by name and state, not as raw records' {
            $run = Get-FlowRun -Id $ok1.Id
            foreach ($text in ($run | Format-List | Out-String -Width 300), ($run | Format-List * | Out-String -Width 300)) {
                $text | Should -Not -BeLike '*TaskRunRecord*'
                $text | Should -Match 'Tasks\s+: \{?show: Success\}?'
            }
            ($run | Format-List | Out-String -Width 300) | Should -Match 'Parameters\s+: value = 1'
            $run.Tasks | Out-String -Width 200 | Should -Match 'Name\s+State\s+Attempts\s+Error'
        }

        It 'completes run ids, newest first, with flow, project and state as the tooltip, for every command that takes a run id' {
            $newestFirst = @((Get-FlowRun).Id | ForEach-Object ToString)
            $newestFirst | Should -HaveCount 5
            foreach ($line in 'Get-FlowRun -Id ', 'Get-FlowRunLog -Id ', 'Get-FlowRunLog ', 'Stop-FlowRun -Id ', 'Wait-FlowRun ', 'Start-FlowRun -Pinned ') {
                $result = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches
                $result.CompletionText | Should -Be $newestFirst -Because "'$line' completes run ids"
            }
            $line = 'Get-FlowRun -Id '
            $result = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches
            $result[0].ToolTip | Should -BeLike 'other (Q, version 1): Success, started *'
            ($result | Where-Object CompletionText -eq $bad.Id.ToString()).ToolTip | Should -BeLike 'count (P, version 1): Failed, *'
            ($result | Where-Object CompletionText -eq $queued.Id.ToString()).ToolTip | Should -BeLike 'count (P, version 1): Scheduled, created *'
            $prefix = $ok1.Id.ToString().Substring(0, 6)
            $line = "Stop-FlowRun -Id $prefix"
            (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain $ok1.Id.ToString()
            (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText |
                ForEach-Object { $_ | Should -BeLike "$prefix*" }
        }

        It 'sees a queued run change state when an agent runs it' {
            $null = Start-FlowAgent -Once 6>$null
            (Get-FlowRun -Id $queued.Id).State | Should -Be 'Success'
            Get-FlowRun -State Scheduled | Should -BeNullOrEmpty
            (Get-FlowRun -State Success -Name count -Last 1).Id | Should -Be $queued.Id
        }
    }
}
