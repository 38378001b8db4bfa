# The Git storages end to end, one walk-through for each: Git (the smart-HTTP server of tests/servers/Start-Git.ps1)
# and GitHub, GitLab and Bitbucket Server (the API stand-ins of tests/servers/Start-GitHosts.ps1, over real bare
# repositories pushed to with the git CLI). The getting-started walk-through (a flow file whose storage is the
# repository -> git push -> Register-Flow -> Start-FlowRun -> a changed task pushed runs at once, no re-registration
# -> a changed structure fails the run with the diff -> register again), -Pinned, the stored-script checks, the CI
# pipeline New-FlowStorage | Publish-FlowScript | Register-Flow, and the errors a user meets. What each host alone
# does is in its own Storage.<Host>.Tests.ps1; how the hosts differ is said once in GitHostStorage.ps1.

BeforeDiscovery {
    $hosts = foreach ($name in 'Git', 'GitHub', 'GitLab', 'Bitbucket') { @{ Storage = $name } }
}

BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    . "$PSScriptRoot/GitHostStorage.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome
    Initialize-GitHostStorage
}

AfterAll {
    Clear-GitHostStorage
    Exit-TestHome
}

Describe '<Storage> storage: the getting-started walk-through' -ForEach $hosts {
    BeforeAll {
        $gitHost = Get-GitHostStorage $Storage
        $repo = New-GitHostRepository $gitHost -Prefix walk
        $null = Push-TestFile $repo 'README.md' "# repo`n" -Message 'Initial commit'
        $project = "Walk$Storage"
        $null = New-FlowProject -Name $project
        Push-Location $repo.Work
    }

    AfterAll {
        Pop-Location
    }

    It '1. push the flow file, then Register-Flow -Path flows/my_flow.cs: version 1 with the storage the script sets' {
        $script:Commit1 = Push-TestFile $repo 'flows/my_flow.cs' (Get-GitHostFlow $gitHost $repo) -Message 'Add my flow'
        $registration = Register-Flow -Path flows/my_flow.cs -Project $project
        $registration.Name | Should -Be 'example'
        $registration.Status | Should -Be 'Registered'
        $registration.Version | Should -Be 1
        $registration.Storage | Should -BeLike (& $gitHost.Shown $repo 'flows/my_flow.cs')
        $stored = (Get-Flow -Name example -Project $project).Storage
        $stored.PSObject.TypeNames[0] | Should -Be "Flowstore.${Storage}Storage"
        $stored.Type | Should -Be $Storage
        $names = & $gitHost.Names $repo
        foreach ($name in $names.Keys) { $stored.$name | Should -Be $names[$name] }
        $stored.($gitHost.TokenProperty) | Should -Be $gitHost.TokenSecret
    }

    It '2. Start-FlowRun -Wait runs the committed script from the default branch and records its commit' {
        $out = Split-RunOutput (Start-FlowRun -Name example -Project $project -Wait 6>&1)
        $out.Run[0].State | Should -Be 'Success'
        $out.Text | Should -Contain '[print_data] 1, 2, 3, 4, 5'
        $out.Run[0].StorageVersion | Should -Be $Commit1
        $script:Run1 = $out.Run[0]
    }

    It '3. a changed task body, pushed, runs at once; Register-Flow skips it (no re-registration)' {
        $script:Commit2 = Push-TestFile $repo 'flows/my_flow.cs' (Get-GitHostFlow $gitHost $repo -Separator ' | ') -Message 'Print with bars'
        $out = Split-RunOutput (Start-FlowRun -Name example -Project $project -Wait 6>&1)
        $out.Run[0].State | Should -Be 'Success'
        $out.Run[0].FlowVersion | Should -Be 1
        $out.Run[0].StorageVersion | Should -Be $Commit2
        $out.Text | Should -Contain '[print_data] 1 | 2 | 3 | 4 | 5'
        $again = Register-Flow -Path flows/my_flow.cs -Project $project
        $again.Status | Should -Be 'Skipped'
        $again.Version | Should -Be 1
    }

    It '4. Start-FlowRun -Pinned re-runs the first commit''s code, not the later one' {
        $out = Split-RunOutput (Start-FlowRun -Pinned $Run1.Id -Wait 6>&1)
        $out.Run[0].State | Should -Be 'Success'
        $out.Run[0].StorageVersion | Should -Be $Commit1
        $out.Run[0].PinnedFromRun | Should -Be $Run1.Id
        $out.Run[0].ScriptSha256 | Should -Be $Run1.ScriptSha256
        $out.Text | Should -Contain '[print_data] 1, 2, 3, 4, 5'
        $out.Text | Should -Not -Contain '[print_data] 1 | 2 | 3 | 4 | 5'
    }

    It '5. a structure change, pushed, makes the run fail with the diff (StructureChanged) naming the repository' {
        $script:Commit3 = Push-TestFile $repo 'flows/my_flow.cs' (Get-GitHostFlow $gitHost $repo -Separator ' | ' -SumTask) -Message 'Add sum_data'
        $err = { Start-FlowRun -Name example -Project $project -Wait -ErrorAction Stop 6>$null } |
            Should -Throw -ErrorId 'StructureChanged,Flowstore.Commands.StartFlowRunCommand' -PassThru
        $err.Exception.Message | Should -BeLike '*sum_data*'
        $err.Exception.Message | Should -BeLike (& $gitHost.ScriptAt $repo 'flows/my_flow.cs' $Commit3)
        $err.ErrorDetails.RecommendedAction | Should -BeLike '*Register-Flow -Path*'
        "$err" | Should -BeLike '*sum_data*Register-Flow*' -Because 'the error as shown says what changed, then how to fix it'
    }

    It '6. Register-Flow again records version 2, and the run succeeds' {
        $v2 = Register-Flow -Path flows/my_flow.cs -Project $project
        $v2.Status | Should -Be 'Registered'
        $v2.Version | Should -Be 2
        $v2.TasksAdded | Should -Be 'sum_data'
        $out = Split-RunOutput (Start-FlowRun -Name example -Project $project -Wait 6>&1)
        $out.Run[0].State | Should -Be 'Success'
        $out.Run[0].FlowVersion | Should -Be 2
        $out.Run[0].StorageVersion | Should -Be $Commit3
        ($out.Run[0].Tasks | Where-Object Name -EQ 'sum_data').State | Should -Be 'Success'
        $script:V2Run = $out.Run[0]
    }

    It '7. Start-FlowRun -Pinned re-runs the commit an earlier run used, after a newer push' {
        $script:Commit4 = Push-TestFile $repo 'flows/my_flow.cs' (Get-GitHostFlow $gitHost $repo -Separator ' + ' -SumTask)
        (Split-RunOutput (Start-FlowRun -Name example -Project $project -Wait 6>&1)).Text | Should -Contain '[print_data] 1 + 2 + 3 + 4 + 5'
        $out = Split-RunOutput (Start-FlowRun -Pinned $V2Run.Id -Wait 6>&1)
        $out.Run[0].StorageVersion | Should -Be $V2Run.StorageVersion
        $out.Text | Should -Contain '[print_data] 1 | 2 | 3 | 4 | 5'
    }

    It '8. registering a local file whose structure differs from the committed one fails with StoredScriptMismatch and the diff' {
        $local = Join-Path $TestDrive "$Storage/mismatch/my_flow.cs"
        $null = New-Item -ItemType Directory -Force (Split-Path $local)
        Set-Content -LiteralPath $local -Value (Get-GitHostFlow $gitHost $repo -Separator ' + ') -NoNewline   # no sum_data
        $err = { Register-Flow -Path $local -Project "Mismatch$Storage" -CreateProject -ErrorAction Stop } |
            Should -Throw -ErrorId 'StoredScriptMismatch,Flowstore.Commands.RegisterFlowCommand' -PassThru
        $err.Exception.Message | Should -BeLike '*sum_data*'
    }

    It '9. registering a local file that differs from the committed one only in code warns that runs use the committed one' {
        $local = Join-Path $TestDrive "$Storage/codeonly/my_flow.cs"
        $null = New-Item -ItemType Directory -Force (Split-Path $local)
        Set-Content -LiteralPath $local -Value (Get-GitHostFlow $gitHost $repo -Separator ' ~ ' -SumTask) -NoNewline
        $registration = Register-Flow -Path $local -Project "CodeOnly$Storage" -CreateProject -WarningVariable warnings 3>$null
        $registration.Status | Should -Be 'Registered'
        "$warnings" | Should -BeLike '*differs*runs will use the stored script*'
        "$warnings" | Should -BeLike (& $gitHost.ScriptAt $repo 'flows/my_flow.cs' $Commit4)
        (Split-RunOutput (Start-FlowRun -Name example -Project "CodeOnly$Storage" -Wait 6>&1)).Text | Should -Contain '[print_data] 1 + 2 + 3 + 4 + 5'
    }
}

Describe '<Storage> storage: New-FlowStorage | Publish-FlowScript | Register-Flow' -ForEach $hosts {
    BeforeAll {
        $gitHost = Get-GitHostStorage $Storage
        $repo = New-GitHostRepository $gitHost -Prefix cli
        $null = Push-TestFile $repo 'README.md' "# repo`n" -Message 'Initial commit'
        # A flow script that names no storage: New-FlowStorage gives it.
        $file = New-FlowScript "$TestDrive/$Storage/cli/pub.cs" (Get-LinearFlowBody -Name published -Message 'published v1')
        $project = "Cli$Storage"
        $null = New-FlowProject -Name $project
    }

    It 'commits and pushes the local file, outputs the commit, registers it, and the run uses that commit' {
        $settings = New-GitHostStorage $gitHost $repo -Path flows/pub.cs
        $settings.GetType().Name | Should -Be "${Storage}Storage"
        $publication = $settings | Publish-FlowScript -Path $file -Message 'Publish from CI'
        $head = Invoke-Git $repo.Bare rev-parse refs/heads/trunk
        $publication.StorageVersion | Should -Be $head
        $names = & $gitHost.Names $repo
        foreach ($name in $names.Keys) { $publication.Storage.$name | Should -Be $names[$name] }
        Invoke-Git $repo.Bare log -1 --format=%s $head | Should -Be 'Publish from CI'
        Invoke-Git $repo.Bare show "${head}:flows/pub.cs" | Should -Be ((Get-Content -Raw $file).TrimEnd("`n"))

        $registration = $publication | Register-Flow -Path $file -Project $project
        $registration.Status | Should -Be 'Registered'
        $registration.Version | Should -Be 1
        $out = Split-RunOutput (Start-FlowRun -Name published -Project $project -Wait 6>&1)
        $out.Run[0].State | Should -Be 'Success'
        $out.Run[0].StorageVersion | Should -Be $head
        $out.Text | Should -Contain '[print_data] published v1'
    }

    It 'publishing unchanged content makes no commit; a change makes one on top, and runs use it' {
        $before = Invoke-Git $repo.Bare rev-parse refs/heads/trunk
        $same = New-GitHostStorage $gitHost $repo -Path flows/pub.cs | Publish-FlowScript -Path $file
        $same.StorageVersion | Should -Be $before
        Invoke-Git $repo.Bare rev-parse refs/heads/trunk | Should -Be $before
        Invoke-Git $repo.Bare rev-list --count trunk | Should -Be 2

        $null = New-FlowScript $file (Get-LinearFlowBody -Name published -Message 'published v2')
        $changed = New-GitHostStorage $gitHost $repo -Path flows/pub.cs | Publish-FlowScript -Path $file
        $changed.StorageVersion | Should -Not -Be $before
        $changed.Storage.GetType().Name | Should -Be "${Storage}Storage"
        Invoke-Git $repo.Bare rev-list --parents -n 1 $changed.StorageVersion | Should -Be "$($changed.StorageVersion) $before"
        (Split-RunOutput (Start-FlowRun -Name published -Project $project -Wait 6>&1)).Text | Should -Contain '[print_data] published v2'
    }

    It 'Publish-FlowScript -Branch commits to that branch, the storage it outputs points there, and the default branch is untouched' {
        $trunk = Invoke-Git $repo.Bare rev-parse refs/heads/trunk
        if (-not $gitHost.CreatesBranch) { $null = Invoke-Git $repo.Bare branch feature/x trunk }   # GitHub commits only to a branch that exists
        $null = New-FlowScript $file (Get-LinearFlowBody -Name published -Message 'on a branch')
        $publication = New-GitHostStorage $gitHost $repo -Path flows/pub.cs | Publish-FlowScript -Path $file -Branch feature/x
        $publication.Storage.($gitHost.BranchProperty) | Should -Be 'feature/x'
        $publication.StorageVersion | Should -Be (Invoke-Git $repo.Bare rev-parse refs/heads/feature/x)
        Invoke-Git $repo.Bare rev-parse refs/heads/trunk | Should -Be $trunk -Because 'the default branch is untouched'
    }

    It 'a tag registered with New-FlowStorage runs that tag''s script' {
        $null = Invoke-Git $repo.Bare tag v1 trunk
        $registration = New-GitHostStorage $gitHost $repo -Path flows/pub.cs -Extra @{ $gitHost.RefParameter = 'v1' } |
            Register-Flow -Path $file -Project "Tagged$Storage" -CreateProject -WarningAction SilentlyContinue
        $registration.Status | Should -Be 'Registered'
        $run = Start-FlowRun -Name published -Project "Tagged$Storage" -Wait 6>$null
        $run.State | Should -Be 'Success'
        $run.StorageVersion | Should -Be (Invoke-Git $repo.Bare rev-parse v1)
    }
}

Describe '<Storage> storage: errors' -ForEach $hosts {
    BeforeAll {
        $gitHost = Get-GitHostStorage $Storage
        $repo = New-GitHostRepository $gitHost -Prefix err
        $null = Push-TestFile $repo 'README.md' "# repo`n" -Message 'Initial commit'
        $file = New-FlowScript "$TestDrive/$Storage/err/f.cs" (Get-LinearFlowBody -Name failing)
    }

    It 'a file that is not committed is StorageNotFound naming the repository, the path and the ref' {
        $err = { New-GitHostStorage $gitHost $repo -Path flows/missing.cs | Register-Flow -Path $file -Project "Missing$Storage" -CreateProject -ErrorAction Stop } |
            Should -Throw -ErrorId 'StorageNotFound,Flowstore.Commands.RegisterFlowCommand' -PassThru
        $err.Exception.Message | Should -BeLike (& $gitHost.Place $repo)
        $err.Exception.Message | Should -BeLike '*flows/missing.cs*'
        $err.Exception.Message | Should -BeLike "*$($gitHost.DefaultRef)*"
    }

    It 'a missing token secret is SecretNotFound naming the secret and the repository' {
        $null = Push-TestFile $repo 'flows/f.cs' (Get-Content -Raw $file)
        $err = { New-GitHostStorage $gitHost $repo -Path flows/f.cs -Secret "NO_SUCH_$($gitHost.TokenSecret)" |
                Register-Flow -Path $file -Project "NoSecret$Storage" -CreateProject -ErrorAction Stop } |
            Should -Throw -ErrorId 'SecretNotFound,Flowstore.Commands.RegisterFlowCommand' -PassThru
        $err.Exception.Message | Should -BeLike "*NO_SUCH_$($gitHost.TokenSecret)*"
        $err.Exception.Message | Should -BeLike (& $gitHost.Place $repo)
    }

    It 'a canary token that the host refuses is StorageAccessDenied naming the secret, and appears nowhere: output, errors, verbose, files' {
        $canary = 'canary-' + [guid]::NewGuid().ToString('N')
        $secret = "$($Storage.ToUpperInvariant())_CANARY_TOKEN"
        Set-Item "Env:$secret" $canary   # secrets are resolved from the environment too
        $output = New-GitHostStorage $gitHost $repo -Path flows/f.cs -Secret $secret |
            Register-Flow -Path $file -Project "Canary$Storage" -CreateProject -Verbose -ErrorAction Continue -ErrorVariable failures *>&1
        $failures | Should -HaveCount 1
        $failures[0].FullyQualifiedErrorId | Should -Be 'StorageAccessDenied,Flowstore.Commands.RegisterFlowCommand'
        $failures[0].Exception.Message | Should -BeLike "*$secret*"
        $failures[0].Exception.Message | Should -BeLike (& $gitHost.Place $repo)
        $forms = @($canary) + @(foreach ($user in 'flowstore', 'x-token-auth', 'oauth2') { [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes("${user}:$canary")) })
        $text = ($output | Out-String) + ($output | Format-List * -Force | Out-String) + ($failures | Format-List * -Force | Out-String) +
            ($Error | ForEach-Object { "$_ $($_.Exception)" }) -join "`n"
        foreach ($form in $forms) {
            $text.Contains($form) | Should -BeFalse -Because 'no output or error may hold the token'
        }
        foreach ($item in Get-ChildItem -LiteralPath $env:FLOWSTORE_HOME -Recurse -File) {
            $bytes = [IO.File]::ReadAllBytes($item.FullName)
            $content = [Text.Encoding]::UTF8.GetString($bytes) + [Text.Encoding]::Unicode.GetString($bytes)
            $content.Contains($canary) | Should -BeFalse -Because "$($item.FullName) must not hold the token"
        }
        Remove-Item "Env:$secret"
    }
}
