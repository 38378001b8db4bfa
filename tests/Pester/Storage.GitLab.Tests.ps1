# GitLab storage, the getting-started walk-through: a flow file whose storage is a GitLab project -> git push ->
# Register-Flow -> Start-FlowRun -> a changed task pushed runs at once, no re-registration -> a changed structure
# fails the run with the diff -> register again (version 2). Plus -Pinned, New-FlowStorage | Publish-FlowScript |
# Register-Flow, the errors, and a canary token. Against the GitLab API stand-in (tests/Flowstore.StandIns,
# started by tests/servers/Start-GitHosts.ps1) over real bare repositories pushed to with the git CLI.

BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome

    Assert-TestServer -Variable 'FLOWSTORE_TEST_GITHOSTS_URL', 'FLOWSTORE_TEST_GITHOSTS_ROOT', 'FLOWSTORE_TEST_GITHOSTS_TOKEN' -StartScript 'Start-GitHosts.ps1'
    $script:Url = $env:FLOWSTORE_TEST_GITHOSTS_URL
    $script:Root = $env:FLOWSTORE_TEST_GITHOSTS_ROOT
    $env:GITLAB_ACCESS_TOKEN = $env:FLOWSTORE_TEST_GITHOSTS_TOKEN   # the secret the flow names (resolved from the environment)

    function New-TestProject {
        <# A New-TestRepository under the stand-in's root named -Name (group/.../project), default branch 'trunk'. #>
        param([Parameter(Mandatory)][string]$Name)
        New-TestRepository -Root $script:Root -Name $Name -DefaultBranch trunk
    }

    function Get-FlowSource {
        <# The getting-started flow in C#, with GitLab storage; -Separator changes only task code, -SumTask adds a task. #>
        param([Parameter(Mandatory)]$Project, [string]$Separator = ', ', [switch]$SumTask, [string]$Secret = 'GITLAB_ACCESS_TOKEN')
        $sum = if ($SumTask) { "var total = flow.Task(`"sum_data`", (int[] values) => values.Sum(), data);`n" } else { '' }
        @"
using Flowstore;

var flow = new Flow("example");
var data = flow.Task("get_data", () => new[] { 1, 2, 3, 4, 5 });
$sum flow.Task("print_data", (int[] values) => Console.WriteLine(string.Join("$Separator", values)), data);

flow.Storage = new GitLabStorage(
    repo: "$($Project.Name)",
    path: "flows/my_flow.cs",
    host: "$script:Url",
    accessTokenSecret: "$Secret");
"@
    }

    function Get-HostText {
        param([object[]]$Output)
        @($Output | Where-Object { $_ -is [System.Management.Automation.InformationRecord] } | ForEach-Object { "$_" })
    }

    function Get-Run {
        param([object[]]$Output)
        @($Output | Where-Object { $_ -isnot [System.Management.Automation.InformationRecord] })
    }
}

AfterAll {
    Remove-Item Env:GITLAB_ACCESS_TOKEN -ErrorAction SilentlyContinue
    Exit-TestHome
}

Describe 'GitLab storage: the getting-started walk-through' {
    BeforeAll {
        $project = New-TestProject "group/sub/walk-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
        Push-Location $project.Work
        $null = New-FlowProject -Name MyProject
    }

    AfterAll {
        Pop-Location
    }

    It '1. push the flow file, then Register-Flow -Path flows/my_flow.cs -Project MyProject: version 1' {
        $script:firstSha = Push-TestFile $project 'flows/my_flow.cs' (Get-FlowSource $project)
        $registration = Register-Flow -Path flows/my_flow.cs -Project MyProject
        $registration.Name | Should -Be 'example'
        $registration.Version | Should -Be 1
        $registration.Status | Should -Be 'Registered'
        $registration.Storage | Should -BeLike "GitLab $script:Url $($project.Name) flows/my_flow.cs*"
    }

    It '2. Start-FlowRun -Wait runs the committed script from the default branch and records its commit' {
        $output = Start-FlowRun -Name example -Project MyProject -Wait 6>&1
        $run = Get-Run $output
        $run.State | Should -Be 'Success'
        $run.StorageVersion | Should -Be $script:firstSha
        Get-HostText $output | Should -Contain '[print_data] 1, 2, 3, 4, 5'
        $script:firstRun = $run
    }

    It '3. a changed task body, pushed, runs at once; Register-Flow skips it (no re-registration)' {
        $sha = Push-TestFile $project 'flows/my_flow.cs' (Get-FlowSource $project -Separator ' | ')
        $output = Start-FlowRun -Name example -Project MyProject -Wait 6>&1
        (Get-Run $output).StorageVersion | Should -Be $sha
        (Get-Run $output).FlowVersion | Should -Be 1
        Get-HostText $output | Should -Contain '[print_data] 1 | 2 | 3 | 4 | 5'
        (Register-Flow -Path flows/my_flow.cs -Project MyProject).Status | Should -Be 'Skipped'
    }

    It '4. a changed structure, pushed, makes the run fail with the diff (StructureChanged)' {
        $null = Push-TestFile $project 'flows/my_flow.cs' (Get-FlowSource $project -Separator ' | ' -SumTask)
        $err = { Start-FlowRun -Name example -Project MyProject -Wait -ErrorAction Stop 6>$null } |
            Should -Throw -ErrorId 'StructureChanged,Flowstore.Commands.StartFlowRunCommand' -PassThru
        $err.Exception.Message | Should -BeLike '*sum_data*'
        $err.ErrorDetails.RecommendedAction | Should -BeLike '*Register-Flow -Path*'
        "$err" | Should -BeLike '*sum_data*Register-Flow*' -Because 'the error as shown says what changed, then how to fix it'
    }

    It '5. Register-Flow again records version 2, and the run succeeds' {
        $v2 = Register-Flow -Path flows/my_flow.cs -Project MyProject
        $v2.Status | Should -Be 'Registered'
        $v2.Version | Should -Be 2
        $v2.TasksAdded | Should -Be 'sum_data'
        $output = Start-FlowRun -Name example -Project MyProject -Wait 6>&1
        (Get-Run $output).State | Should -Be 'Success'
        (Get-Run $output).FlowVersion | Should -Be 2
        $script:v2Run = Get-Run $output
    }

    It '6. Start-FlowRun -Pinned re-runs the commit an earlier run used, after a newer push' {
        $null = Push-TestFile $project 'flows/my_flow.cs' (Get-FlowSource $project -Separator ' + ' -SumTask)
        Get-HostText (Start-FlowRun -Name example -Project MyProject -Wait 6>&1) | Should -Contain '[print_data] 1 + 2 + 3 + 4 + 5'
        $output = Start-FlowRun -Pinned $script:v2Run.Id -Wait 6>&1
        (Get-Run $output).StorageVersion | Should -Be $script:v2Run.StorageVersion
        Get-HostText $output | Should -Contain '[print_data] 1 | 2 | 3 | 4 | 5'
    }

    It '7. registering a local file that differs from the committed one (same structure) warns: runs use the committed one' {
        $local = Join-Path $project.Work 'flows/my_flow.cs'
        [IO.File]::WriteAllText($local, (Get-FlowSource $project -Separator ' ~ ' -SumTask), [Text.UTF8Encoding]::new($false))
        $registration = Register-Flow -Path flows/my_flow.cs -Project Elsewhere -CreateProject -WarningVariable warnings 3>$null
        $registration.Status | Should -Be 'Registered'
        "$warnings" | Should -BeLike '*differs*'
        Get-HostText (Start-FlowRun -Name example -Project Elsewhere -Wait 6>&1) | Should -Contain '[print_data] 1 + 2 + 3 + 4 + 5'
    }
}

Describe 'GitLab storage: New-FlowStorage' {
    BeforeAll {
        $project = New-TestProject "group/cli-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
        $null = Push-TestFile $project 'README.md' 'readme'
        # A flow file that sets no storage: the storage comes from the command line.
        $file = New-FlowScript (Join-Path $project.Work 'f.cs') (Get-LinearFlowBody -Name published -Message 'published v1')
        $null = New-FlowProject -Name P
    }

    It 'New-FlowStorage -Type GitLab | Publish-FlowScript -Path f.cs | Register-Flow -Path f.cs -Project P commits and registers' {
        $storage = New-FlowStorage -Type GitLab -Repo $project.Name -Path f.cs -Host $script:Url -AccessTokenSecret GITLAB_ACCESS_TOKEN
        $storage.GetType().Name | Should -Be 'GitLabStorage'
        $publication = $storage | Publish-FlowScript -Path $file -Message 'Publish f.cs'
        $publication.StorageVersion | Should -Match '^[0-9a-f]{40}$'
        (& git --git-dir $project.Bare rev-parse trunk) | Should -Be $publication.StorageVersion
        (& git --git-dir $project.Bare log -1 --format=%s trunk) | Should -Be 'Publish f.cs'
        (& git --git-dir $project.Bare show "$($publication.StorageVersion):f.cs") -join "`n" | Should -BeLike '*published v1*'

        $registration = $publication | Register-Flow -Path $file -Project P
        $registration.Status | Should -Be 'Registered'
        $run = Start-FlowRun -Name published -Project P -Wait 6>$null
        $run.State | Should -Be 'Success'
        $run.StorageVersion | Should -Be $publication.StorageVersion
    }

    It 'publishing unchanged content makes no commit; a change makes one' {
        $before = (& git --git-dir $project.Bare rev-parse trunk)
        $same = New-FlowStorage -Type GitLab -Repo $project.Name -Path f.cs -Host $script:Url -AccessTokenSecret GITLAB_ACCESS_TOKEN |
            Publish-FlowScript -Path $file
        $same.StorageVersion | Should -Be $before
        (& git --git-dir $project.Bare rev-list --count trunk) | Should -Be 2

        $null = New-FlowScript $file (Get-LinearFlowBody -Name published -Message 'published v2')
        $changed = New-FlowStorage -Type GitLab -Repo $project.Name -Path f.cs -Host $script:Url -AccessTokenSecret GITLAB_ACCESS_TOKEN |
            Publish-FlowScript -Path $file
        $changed.StorageVersion | Should -Not -Be $before
        (& git --git-dir $project.Bare rev-list --parents -n 1 $changed.StorageVersion) | Should -Be "$($changed.StorageVersion) $before"
        (Start-FlowRun -Name published -Project P -Wait 6>&1 | Where-Object { $_ -is [System.Management.Automation.InformationRecord] } | ForEach-Object { "$_" }) |
            Should -Contain '[print_data] published v2'
    }

    It 'Publish-FlowScript -Branch commits to a new branch and the storage it outputs points there' {
        $null = New-FlowScript $file (Get-LinearFlowBody -Name published -Message 'on a branch')
        $publication = New-FlowStorage -Type GitLab -Repo $project.Name -Path f.cs -Host $script:Url -AccessTokenSecret GITLAB_ACCESS_TOKEN |
            Publish-FlowScript -Path $file -Branch feature/x
        $publication.Storage.Ref | Should -Be 'feature/x'
        (& git --git-dir $project.Bare rev-parse feature/x) | Should -Be $publication.StorageVersion
    }

    It 'a -Ref (tag) registered with New-FlowStorage runs that tag''s script' {
        $null = & git --git-dir $project.Bare tag v1 trunk
        $registration = New-FlowStorage -Type GitLab -Repo $project.Name -Path f.cs -Host $script:Url -Ref v1 -AccessTokenSecret GITLAB_ACCESS_TOKEN |
            Register-Flow -Path $file -Project Tagged -CreateProject -WarningAction SilentlyContinue
        $registration.Status | Should -Be 'Registered'
        $run = Start-FlowRun -Name published -Project Tagged -Wait 6>$null
        $run.StorageVersion | Should -Be (& git --git-dir $project.Bare rev-parse v1)
    }
}

Describe 'GitLab storage: errors' {
    BeforeAll {
        $project = New-TestProject "group/err-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
        $file = New-FlowScript (Join-Path $project.Work 'flows/my_flow.cs') (Get-FlowSource $project)
    }

    It 'registering before the file is pushed is StorageNotFound naming the project, path and ref' {
        $null = Push-TestFile $project 'README.md' 'readme'
        $err = { Register-Flow -Path $file -Project Errors1 -CreateProject -ErrorAction Stop } |
            Should -Throw -ErrorId 'StorageNotFound,Flowstore.Commands.RegisterFlowCommand' -PassThru
        $err.Exception.Message | Should -BeLike "*$($project.Name)*"
        $err.Exception.Message | Should -BeLike '*flows/my_flow.cs*'
        $err.Exception.Message | Should -BeLike '*trunk*'
    }

    It 'a missing token secret is SecretNotFound naming it' {
        $null = Push-TestFile $project 'flows/my_flow.cs' (Get-FlowSource $project -Secret NO_SUCH_GITLAB_SECRET)
        { New-FlowStorage -Type GitLab -Repo $project.Name -Path flows/my_flow.cs -Host $script:Url -AccessTokenSecret NO_SUCH_GITLAB_SECRET |
                Register-Flow -Path $file -Project Errors2 -CreateProject -ErrorAction Stop } |
            Should -Throw -ErrorId 'SecretNotFound,Flowstore.Commands.RegisterFlowCommand' -ExpectedMessage '*NO_SUCH_GITLAB_SECRET*'
    }

    It 'a canary token that the host refuses is StorageAccessDenied and appears nowhere: output, errors, verbose, files' {
        $canary = 'canary-' + [guid]::NewGuid().ToString('N')
        $env:GITLAB_CANARY_TOKEN = $canary
        try {
            $output = New-FlowStorage -Type GitLab -Repo $project.Name -Path flows/my_flow.cs -Host $script:Url -AccessTokenSecret GITLAB_CANARY_TOKEN |
                Register-Flow -Path $file -Project Canary -CreateProject -Verbose -ErrorAction Continue -ErrorVariable failures *>&1
            $failures | Should -HaveCount 1
            $failures[0].FullyQualifiedErrorId | Should -Be 'StorageAccessDenied,Flowstore.Commands.RegisterFlowCommand'
            $failures[0].Exception.Message | Should -BeLike '*GITLAB_CANARY_TOKEN*'
            $text = ($output | Out-String) + ($output | Format-List * -Force | Out-String) + ($failures | Format-List * -Force | Out-String) +
                ($Error | ForEach-Object { "$_ $($_.Exception)" }) -join "`n"
            $text | Should -Not -BeLike "*$canary*"
            foreach ($item in Get-ChildItem -LiteralPath $env:FLOWSTORE_HOME -Recurse -File) {
                [IO.File]::ReadAllText($item.FullName) | Should -Not -BeLike "*$canary*" -Because $item.FullName
            }
        }
        finally {
            Remove-Item Env:GITLAB_CANARY_TOKEN
        }
    }
}
