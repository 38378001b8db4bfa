# GitHub storage from PowerShell, against the GitHub API stand-in (tests/Flowstore.StandIns, started by
# tests/servers/Start-GitHosts.ps1): the getting-started walk-through (a flow file with GitHub storage, pushed with git,
# registered, run, its task code changed and pushed, its structure changed), -Pinned, the CI pipeline
# New-FlowStorage | Publish-FlowScript | Register-Flow, and the warning when the committed file differs.

BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome

    Assert-TestServer -Variable 'FLOWSTORE_TEST_GITHOSTS_URL', 'FLOWSTORE_TEST_GITHOSTS_ROOT', 'FLOWSTORE_TEST_GITHOSTS_TOKEN' -StartScript 'Start-GitHosts.ps1'
    $script:BaseUrl = $env:FLOWSTORE_TEST_GITHOSTS_URL
    $env:FLOWSTORE_TEST_GITHOSTS_TOKEN | Set-FlowSecret -Name GITHUB_ACCESS_TOKEN

    function New-GitHubRepo {
        <# A New-TestRepository under the stand-in's root named owner/repo (a new owner), HEAD on -DefaultBranch. #>
        param([string]$DefaultBranch = 'main')
        $owner = 'org' + [guid]::NewGuid().ToString('N').Substring(0, 8)
        New-TestRepository -Root $env:FLOWSTORE_TEST_GITHOSTS_ROOT -Name "$owner/repo" -DefaultBranch $DefaultBranch
    }

    function Get-HostText([object[]]$Output) {
        @($Output | Where-Object { $_ -is [System.Management.Automation.InformationRecord] } | ForEach-Object { "$_" })
    }

    function Get-Run([object[]]$Output) {
        @($Output | Where-Object { $_ -isnot [System.Management.Automation.InformationRecord] })
    }

    function Get-SeedFlow {
        <# The getting-started flow file in C#, with GitHub storage set in the script (the stand-in's address as the base URL). #>
        param([Parameter(Mandatory)][string]$Repo, [string]$Path = 'flows/my_flow.cs', [string]$Name = 'example')
        @"
using Flowstore;

var flow = new Flow("$Name");
var data = flow.Task("get_data", () => new[] { 1, 2, 3, 4, 5 });
flow.Task("print_data", (int[] values) => Console.WriteLine(string.Join(", ", values)), data);

flow.Storage = new GitHubStorage(
    repo: "$Repo",                              // name of repo
    path: "$Path",                              // location of the flow file in the repo
    accessTokenSecret: "GITHUB_ACCESS_TOKEN",   // name of the secret holding a token
    baseUrl: "$script:BaseUrl");                // the GitHub Enterprise address (here: the stand-in)
"@
    }
}

AfterAll {
    Exit-TestHome
}

Describe 'GitHub storage: the getting-started walk-through' {
    BeforeAll {
        $script:Gh = New-GitHubRepo -DefaultBranch main
        $null = Push-TestFile $Gh 'README.md' "# repo`n" -Message 'Initial commit'
        $script:FlowFile = Join-Path $Gh.Work 'flows/my_flow.cs'
        $null = New-FlowProject -Name MyProject
        Push-Location $Gh.Work
    }

    AfterAll {
        Pop-Location
    }

    It '1. push, then Register-Flow -Path flows/my_flow.cs -Project MyProject: version 1 with GitHub storage' {
        $script:Commit1 = Push-TestFile $Gh 'flows/my_flow.cs' (Get-SeedFlow -Repo $Gh.Name) -Message 'Add my flow'
        $registration = Register-Flow -Path flows/my_flow.cs -Project MyProject
        $registration.Name | Should -Be 'example'
        $registration.Status | Should -Be 'Registered'
        $registration.Version | Should -Be 1
        $registration.Storage | Should -BeLike "GitHub *$($Gh.Name)/flows/my_flow.cs@(default branch)"
        (Get-Flow -Name example -Project MyProject).Storage.AccessTokenSecret | Should -Be 'GITHUB_ACCESS_TOKEN'
    }

    It '2. Start-FlowRun -Wait runs the committed code and records the commit SHA' {
        $output = Start-FlowRun -Name example -Project MyProject -Wait 6>&1
        $script:Run1 = (Get-Run $output)[0]
        $Run1.State | Should -Be 'Success'
        Get-HostText $output | Should -Contain '[print_data] 1, 2, 3, 4, 5'
        $Run1.StorageVersion | Should -Be $Commit1
    }

    It '3. a changed task body, pushed, runs at once; no re-registration (Register-Flow skips it)' {
        $edited = (Get-Content -LiteralPath $FlowFile -Raw).Replace('string.Join(", ", values)', 'string.Join(" | ", values)')
        $script:Commit2 = Push-TestFile $Gh 'flows/my_flow.cs' $edited -Message 'Print with bars'

        $output = Start-FlowRun -Name example -Project MyProject -Wait 6>&1
        (Get-Run $output)[0].State | Should -Be 'Success'
        (Get-Run $output)[0].FlowVersion | Should -Be 1
        (Get-Run $output)[0].StorageVersion | Should -Be $Commit2
        Get-HostText $output | Should -Contain '[print_data] 1 | 2 | 3 | 4 | 5'

        $again = Register-Flow -Path flows/my_flow.cs -Project MyProject
        $again.Status | Should -Be 'Skipped'
        $again.Version | Should -Be 1
    }

    It '4. Start-FlowRun -Pinned re-runs the commit of the first run' {
        $output = Start-FlowRun -Pinned $Run1.Id -Wait 6>&1
        $pinned = (Get-Run $output)[0]
        $pinned.State | Should -Be 'Success'
        $pinned.StorageVersion | Should -Be $Commit1
        $pinned.PinnedFromRun | Should -Be $Run1.Id
        Get-HostText $output | Should -Contain '[print_data] 1, 2, 3, 4, 5'
        Get-HostText $output | Should -Not -Contain '[print_data] 1 | 2 | 3 | 4 | 5'
    }

    It '5. a structure change, pushed, makes the run fail with the diff (StructureChanged)' {
        $withTask = (Get-Content -LiteralPath $FlowFile -Raw).Replace(
            'flow.Task("print_data"',
            "var total = flow.Task(`"sum_data`", (int[] values) => values.Sum(), data);`nflow.Task(`"print_data`"")
        $script:Commit3 = Push-TestFile $Gh 'flows/my_flow.cs' $withTask -Message 'Add sum_data'

        $err = { Start-FlowRun -Name example -Project MyProject -Wait -ErrorAction Stop 6>$null } |
            Should -Throw -ErrorId 'StructureChanged,Flowstore.Commands.StartFlowRunCommand' -PassThru
        $err.Exception.Message | Should -BeLike '*sum_data*'
        $err.Exception.Message | Should -BeLike "*$($Gh.Name)/flows/my_flow.cs@$Commit3*"
        $err.ErrorDetails.RecommendedAction | Should -BeLike '*Register-Flow -Path*'
        "$err" | Should -BeLike '*sum_data*Register-Flow*' -Because 'the error as shown says what changed, then how to fix it'
    }

    It '6. Register-Flow again: version 2, and the run succeeds' {
        $v2 = Register-Flow -Path flows/my_flow.cs -Project MyProject
        $v2.Status | Should -Be 'Registered'
        $v2.Version | Should -Be 2
        $v2.TasksAdded | Should -Be 'sum_data'

        $run = Get-Run (Start-FlowRun -Name example -Project MyProject -Wait 6>&1)
        $run[0].State | Should -Be 'Success'
        $run[0].FlowVersion | Should -Be 2
        $run[0].StorageVersion | Should -Be $Commit3
        ($run[0].Tasks | Where-Object Name -EQ 'sum_data').State | Should -Be 'Success'
    }
}

Describe 'GitHub storage without -AccessTokenSecret' {
    It 'uses the secret GITHUB_ACCESS_TOKEN for a private repository and says so in the verbose stream, naming it, never its value' {
        $gh = New-GitHubRepo
        $local = New-FlowScript "$TestDrive/default/dflt.cs" (Get-LinearFlowBody -Name dflt -Message 'read with the default token')
        $null = Push-TestFile $gh 'flows/dflt.cs' (Get-Content -LiteralPath $local -Raw)

        $storage = New-FlowStorage -Type GitHub -Repo $gh.Name -Path flows/dflt.cs -BaseUrl $BaseUrl
        $output = Register-Flow -Path $local -Storage $storage -Project P -CreateProject -Verbose 4>&1
        $verbose = @($output | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
        $registration = $output | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }

        $registration.Status | Should -Be 'Registered'
        $verbose | Where-Object { $_ -like "*using the access token in secret 'GITHUB_ACCESS_TOKEN' (the default name)*" } | Should -Not -BeNullOrEmpty
        ($verbose -join "`n") | Should -Not -BeLike "*$env:FLOWSTORE_TEST_GITHOSTS_TOKEN*"
        (Get-Flow -Name dflt -Project P).StorageJson | Should -Not -BeLike '*accessTokenSecret*'
        Get-HostText (Start-FlowRun -Name dflt -Project P -Wait 6>&1) | Should -Contain '[print_data] read with the default token'
    }
}

Describe 'GitHub storage: New-FlowStorage | Publish-FlowScript | Register-Flow' {
    It 'commits the local file through the API, outputs the commit, registers it, and the run uses it' {
        $gh = New-GitHubRepo -DefaultBranch trunk
        $null = Push-TestFile $gh 'README.md' "# repo`n" -Message 'Initial commit'
        $local = New-FlowScript "$TestDrive/ci/etl.cs" (Get-LinearFlowBody -Name etl -Message 'published code')

        $storage = New-FlowStorage -Type GitHub -Repo $gh.Name -Path flows/etl.cs -AccessTokenSecret GITHUB_ACCESS_TOKEN -BaseUrl $BaseUrl
        $storage.GetType().Name | Should -Be 'GitHubStorage'
        $publication = $storage | Publish-FlowScript -Path $local -Message 'Publish etl from CI'
        $head = (& git --git-dir=$($gh.Bare) rev-parse trunk).Trim()
        $publication.StorageVersion | Should -Be $head
        (& git --git-dir=$($gh.Bare) show "${head}:flows/etl.cs") -join "`n" | Should -Be ((Get-Content -LiteralPath $local -Raw).TrimEnd("`n"))
        (& git --git-dir=$($gh.Bare) log -1 --format=%s $head) | Should -Be 'Publish etl from CI'

        $registration = $publication | Register-Flow -Path $local -Project P -CreateProject
        $registration.Status | Should -Be 'Registered'
        $registration.Storage | Should -BeLike "GitHub *$($gh.Name)/flows/etl.cs@(default branch)"

        $output = Start-FlowRun -Name etl -Project P -Wait 6>&1
        (Get-Run $output)[0].StorageVersion | Should -Be $head
        Get-HostText $output | Should -Contain '[print_data] published code'

        # Publishing the same file again makes no new commit.
        $again = $storage | Publish-FlowScript -Path $local
        $again.StorageVersion | Should -Be $head
        (& git --git-dir=$($gh.Bare) rev-list --count trunk) | Should -Be 2
    }

    It 'Publish-FlowScript -Branch commits to that branch' {
        $gh = New-GitHubRepo
        $null = Push-TestFile $gh 'README.md' "# repo`n"
        $null = Invoke-Git $gh.Work push --quiet origin HEAD:release
        $local = New-FlowScript "$TestDrive/ci/rel.cs" (Get-LinearFlowBody -Name rel)

        $publication = New-FlowStorage -Type GitHub -Repo $gh.Name -Path flows/rel.cs -AccessTokenSecret GITHUB_ACCESS_TOKEN -BaseUrl $BaseUrl |
            Publish-FlowScript -Path $local -Branch release
        $publication.StorageVersion | Should -Be (& git --git-dir=$($gh.Bare) rev-parse release).Trim()
        $publication.Storage.Ref | Should -Be 'release'
        & git --git-dir=$($gh.Bare) cat-file -e 'main:flows/rel.cs' 2>$null
        $LASTEXITCODE | Should -Not -Be 0 -Because 'the default branch is untouched'
    }

    It 'New-FlowStorage -Type GitHub rejects a repo that is not owner/name (StorageInvalid)' {
        { New-FlowStorage -Type GitHub -Repo just-a-name -Path flows/x.cs } |
            Should -Throw -ErrorId 'StorageInvalid,Flowstore.Commands.NewFlowStorageCommand'
    }
}

Describe 'GitHub storage: registration reads the committed file' {
    It 'warns when the committed file differs from the local one (same structure), and runs use the committed one' {
        $gh = New-GitHubRepo
        $file = Join-Path $gh.Work 'flows/warn.cs'
        $null = Push-TestFile $gh 'flows/warn.cs' (Get-SeedFlow -Repo $gh.Name -Path flows/warn.cs -Name warned)
        # An uncommitted local edit of a task body.
        Set-Content -LiteralPath $file -Value (Get-SeedFlow -Repo $gh.Name -Path flows/warn.cs -Name warned).Replace('", "', '" ; "') -NoNewline

        $registration = Register-Flow -Path $file -Project Warn -CreateProject -WarningVariable warnings 3>$null
        $registration.Status | Should -Be 'Registered'
        "$warnings" | Should -BeLike "*github:*$($gh.Name)/flows/warn.cs@*differs from*runs will use the stored script*"

        Get-HostText (Start-FlowRun -Name warned -Project Warn -Wait 6>&1) | Should -Contain '[print_data] 1, 2, 3, 4, 5'
    }

    It 'fails StorageNotFound naming repo, path and ref when the file is not committed' {
        $gh = New-GitHubRepo
        $null = Push-TestFile $gh 'README.md' "# repo`n"
        $local = New-FlowScript "$TestDrive/missing.cs" (Get-LinearFlowBody -Name missing)
        $err = { New-FlowStorage -Type GitHub -Repo $gh.Name -Path flows/missing.cs -Ref main -AccessTokenSecret GITHUB_ACCESS_TOKEN -BaseUrl $BaseUrl |
                Register-Flow -Path $local -Project Missing -CreateProject -ErrorAction Stop } |
            Should -Throw -ErrorId 'StorageNotFound,Flowstore.Commands.RegisterFlowCommand' -PassThru
        $err.Exception.Message | Should -BeLike "*$($gh.Name)*flows/missing.cs*'main'*"
    }

    It 'fails StoredScriptMismatch with the diff when the committed file has another structure' {
        $gh = New-GitHubRepo
        $file = Join-Path $gh.Work 'flows/mismatch.cs'
        $null = Push-TestFile $gh 'flows/mismatch.cs' (Get-SeedFlow -Repo $gh.Name -Path flows/mismatch.cs -Name mismatch)
        Set-Content -LiteralPath $file -Value (Get-SeedFlow -Repo $gh.Name -Path flows/mismatch.cs -Name mismatch).Replace('"print_data"', '"show_data"') -NoNewline

        $err = { Register-Flow -Path $file -Project Mismatch -CreateProject -ErrorAction Stop } |
            Should -Throw -ErrorId 'StoredScriptMismatch,Flowstore.Commands.RegisterFlowCommand' -PassThru
        $err.Exception.Message | Should -BeLike '*show_data*'
    }
}
