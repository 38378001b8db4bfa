# Shared by Storage.GitHosts.Tests.ps1 and the per-host Storage.<Host>.Tests.ps1 files: dot-source it in BeforeAll
# after TestHelpers.ps1. Not a test file itself. What differs between the Git storages (Git over smart HTTP, GitHub,
# GitLab, Bitbucket Server) is said here once per host: how a repository is made on its test server, the storage
# line of a flow script, New-FlowStorage's parameters, and how the storage is shown; the walk-through is the same.

function Initialize-GitHostStorage {
    <#
    Checks that the servers run (tests/servers/Start-Git.ps1 and Start-GitHosts.ps1) and stores the token each host's
    storage names: GIT_TOKEN and GITHUB_ACCESS_TOKEN as secrets, GITLAB_ACCESS_TOKEN and BITBUCKET_ACCESS_TOKEN in the
    environment (secrets are resolved from either). Undo with Clear-GitHostStorage.
    #>
    param([string[]]$Storage = @('Git', 'GitHub', 'GitLab', 'Bitbucket'))
    if ($Storage -contains 'Git') {
        Assert-TestServer -Variable 'FLOWSTORE_TEST_GIT_URL', 'FLOWSTORE_TEST_GIT_ROOT', 'FLOWSTORE_TEST_GIT_TOKEN' -StartScript 'Start-Git.ps1'
        $env:FLOWSTORE_TEST_GIT_TOKEN | Set-FlowSecret -Name GIT_TOKEN
    }
    if ($Storage | Where-Object { $_ -ne 'Git' }) {
        Assert-TestServer -Variable 'FLOWSTORE_TEST_GITHOSTS_URL', 'FLOWSTORE_TEST_GITHOSTS_ROOT', 'FLOWSTORE_TEST_GITHOSTS_TOKEN' -StartScript 'Start-GitHosts.ps1'
        $env:FLOWSTORE_TEST_GITHOSTS_TOKEN | Set-FlowSecret -Name GITHUB_ACCESS_TOKEN
        $env:GITLAB_ACCESS_TOKEN = $env:FLOWSTORE_TEST_GITHOSTS_TOKEN
        $env:BITBUCKET_ACCESS_TOKEN = $env:FLOWSTORE_TEST_GITHOSTS_TOKEN
    }
}

function Clear-GitHostStorage {
    <# Removes the tokens Initialize-GitHostStorage and the canary tests put in the environment. #>
    Remove-Item Env:GITLAB_ACCESS_TOKEN, Env:BITBUCKET_ACCESS_TOKEN, Env:*_CANARY_TOKEN -ErrorAction SilentlyContinue
}

function Get-GitHostStorage {
    <#
    The host's description: Storage (the type name), TokenSecret (the secret its flows name) and TokenProperty (the
    settings property that names it), the token value, and
    script blocks taking a repository from New-GitHostRepository:
      StorageCode  {param($Repo, $Path, $Secret)} the C# `new XStorage(...)` of a flow script
      Parameters   {param($Repo, $Path, $Secret)} New-FlowStorage's parameters (a hashtable, with Type)
      Shown        {param($Repo, $Path)} how Register-Flow shows the storage (a -like pattern)
      Place        {param($Repo)} what messages about the repository name (a -like pattern)
      ScriptAt     {param($Repo, $Path, $Commit)} how messages name the script at a commit (a -like pattern)
      Names        {param($Repo)} the properties of the storage object that name the repository (a hashtable)
    and RefParameter (New-FlowStorage's parameter for a tag), BranchProperty (the output storage's branch),
    CreatesBranch (whether Publish-FlowScript -Branch creates a branch that does not exist), DefaultRef (how a
    not-found message names the default branch: Git says "the default branch", the hosts name it).
    #>
    param([Parameter(Mandatory)][ValidateSet('Git', 'GitHub', 'GitLab', 'Bitbucket')][string]$Storage)
    $hostUrl = $env:FLOWSTORE_TEST_GITHOSTS_URL
    switch ($Storage) {
        'Git' {
            [pscustomobject]@{
                Storage = 'Git'; TokenSecret = 'GIT_TOKEN'; TokenProperty = 'TokenSecret'; Token = $env:FLOWSTORE_TEST_GIT_TOKEN
                RefParameter = 'Tag'; BranchProperty = 'Branch'; CreatesBranch = $true; DefaultRef = 'the default branch'
                StorageCode = { param($Repo, $Path, $Secret) "new GitStorage(`n    url: `"$($Repo.Url)`",`n    path: `"$Path`",`n    tokenSecret: `"$Secret`")" }
                Parameters = { param($Repo, $Path, $Secret) @{ Type = 'Git'; Url = $Repo.Url; Path = $Path; TokenSecret = $Secret } }
                Shown = { param($Repo, $Path) "Git $($Repo.Url) $Path (the default branch)" }
                Place = { param($Repo) "*$($Repo.Url)*" }
                ScriptAt = { param($Repo, $Path, $Commit) "*$($Repo.Url)*" }
                Names = { param($Repo) @{ Url = $Repo.Url } }
            }
        }
        'GitHub' {
            [pscustomobject]@{
                Storage = 'GitHub'; TokenSecret = 'GITHUB_ACCESS_TOKEN'; TokenProperty = 'AccessTokenSecret'; Token = $env:FLOWSTORE_TEST_GITHOSTS_TOKEN
                RefParameter = 'Ref'; BranchProperty = 'Ref'; CreatesBranch = $false; DefaultRef = 'trunk'
                StorageCode = { param($Repo, $Path, $Secret) "new GitHubStorage(`n    repo: `"$($Repo.Name)`",`n    path: `"$Path`",`n    accessTokenSecret: `"$Secret`",`n    baseUrl: `"$hostUrl`")" }.GetNewClosure()
                Parameters = { param($Repo, $Path, $Secret) @{ Type = 'GitHub'; Repo = $Repo.Name; Path = $Path; AccessTokenSecret = $Secret; BaseUrl = $hostUrl } }.GetNewClosure()
                Shown = { param($Repo, $Path) "GitHub *$($Repo.Name)/$Path@(default branch)" }
                Place = { param($Repo) "*$($Repo.Name)*" }
                ScriptAt = { param($Repo, $Path, $Commit) "*github:*$($Repo.Name)/$Path@$Commit*" }
                Names = { param($Repo) @{ Repo = $Repo.Name } }
            }
        }
        'GitLab' {
            [pscustomobject]@{
                Storage = 'GitLab'; TokenSecret = 'GITLAB_ACCESS_TOKEN'; TokenProperty = 'AccessTokenSecret'; Token = $env:FLOWSTORE_TEST_GITHOSTS_TOKEN
                RefParameter = 'Ref'; BranchProperty = 'Ref'; CreatesBranch = $true; DefaultRef = 'trunk'
                StorageCode = { param($Repo, $Path, $Secret) "new GitLabStorage(`n    repo: `"$($Repo.Name)`",`n    path: `"$Path`",`n    host: `"$hostUrl`",`n    accessTokenSecret: `"$Secret`")" }.GetNewClosure()
                Parameters = { param($Repo, $Path, $Secret) @{ Type = 'GitLab'; Repo = $Repo.Name; Path = $Path; Host = $hostUrl; AccessTokenSecret = $Secret } }.GetNewClosure()
                Shown = { param($Repo, $Path) "GitLab $hostUrl $($Repo.Name) $Path*" }.GetNewClosure()
                Place = { param($Repo) "*$($Repo.Name)*" }
                ScriptAt = { param($Repo, $Path, $Commit) "*$($Repo.Name)*" }
                Names = { param($Repo) @{ Repo = $Repo.Name } }
            }
        }
        'Bitbucket' {
            [pscustomobject]@{
                Storage = 'Bitbucket'; TokenSecret = 'BITBUCKET_ACCESS_TOKEN'; TokenProperty = 'AccessTokenSecret'; Token = $env:FLOWSTORE_TEST_GITHOSTS_TOKEN
                RefParameter = 'Ref'; BranchProperty = 'Ref'; CreatesBranch = $true; DefaultRef = 'trunk'
                StorageCode = { param($Repo, $Path, $Secret) "new BitbucketStorage(`n    project: `"$($Repo.Key)`",`n    repo: `"$($Repo.Slug)`",`n    path: `"$Path`",`n    host: `"$hostUrl`",`n    accessTokenSecret: `"$Secret`")" }.GetNewClosure()
                Parameters = { param($Repo, $Path, $Secret) @{ Type = 'Bitbucket'; Project = $Repo.Key; Repo = $Repo.Slug; Path = $Path; Host = $hostUrl; AccessTokenSecret = $Secret } }.GetNewClosure()
                Shown = { param($Repo, $Path) "Bitbucket $hostUrl $($Repo.Name) $Path*" }.GetNewClosure()
                Place = { param($Repo) "*$($Repo.Slug)*" }
                ScriptAt = { param($Repo, $Path, $Commit) "*$($Repo.Slug)*" }
                Names = { param($Repo) @{ Project = $Repo.Key; Repo = $Repo.Slug } }
            }
        }
    }
}

function New-GitHostRepository {
    <#
    A New-TestRepository (default branch "trunk", deliberately not master) on the host's test server, named as the
    host names repositories: Git any name (with the Url it is served at), GitHub owner/repo, GitLab group/sub/project,
    Bitbucket KEY/slug (with Key and Slug).
    #>
    param([Parameter(Mandatory)]$GitHost, [string]$Prefix = 'repo')
    $unique = [guid]::NewGuid().ToString('N').Substring(0, 8)
    switch ($GitHost.Storage) {
        'Git' {
            $repository = New-TestRepository -Root $env:FLOWSTORE_TEST_GIT_ROOT -DefaultBranch trunk
            $repository | Add-Member -NotePropertyName Url -NotePropertyValue "$($env:FLOWSTORE_TEST_GIT_URL.TrimEnd('/'))/$($repository.Name).git" -PassThru
        }
        'GitHub' { New-TestRepository -Root $env:FLOWSTORE_TEST_GITHOSTS_ROOT -Name "org$unique/$Prefix" -DefaultBranch trunk }
        'GitLab' { New-TestRepository -Root $env:FLOWSTORE_TEST_GITHOSTS_ROOT -Name "group/sub/$Prefix-$unique" -DefaultBranch trunk }
        'Bitbucket' {
            New-TestRepository -Root $env:FLOWSTORE_TEST_GITHOSTS_ROOT -Name "PROJ/$Prefix-$unique" -DefaultBranch trunk |
                Add-Member -NotePropertyMembers @{ Key = 'PROJ'; Slug = "$Prefix-$unique" } -PassThru
        }
    }
}

function Get-GitHostFlow {
    <#
    The getting-started flow file in C# with the host's storage set in the script: -Separator changes only task code,
    -SumTask adds a task (a structure change).
    #>
    param(
        [Parameter(Mandatory)]$GitHost,
        [Parameter(Mandatory)]$Repo,
        [string]$Path = 'flows/my_flow.cs',
        [string]$Name = 'example',
        [string]$Separator = ', ',
        [switch]$SumTask,
        [string]$Secret = $GitHost.TokenSecret
    )
    $sum = if ($SumTask) { "var total = flow.Task(`"sum_data`", (int[] values) => values.Sum(), data);`n" } else { '' }
    @"
using Flowstore;

var flow = new Flow("$Name");
var data = flow.Task("get_data", () => new[] { 1, 2, 3, 4, 5 });
${sum}flow.Task("print_data", (int[] values) => Console.WriteLine(string.Join("$Separator", values)), data);

flow.Storage = $(& $GitHost.StorageCode $Repo $Path $Secret);
"@
}

function New-GitHostStorage {
    <# New-FlowStorage for the host's repository, with more parameters (-Extra) when given. #>
    param(
        [Parameter(Mandatory)]$GitHost,
        [Parameter(Mandatory)]$Repo,
        [Parameter(Mandatory)][string]$Path,
        [string]$Secret = $GitHost.TokenSecret,
        [hashtable]$Extra = @{}
    )
    $parameters = & $GitHost.Parameters $Repo $Path $Secret
    foreach ($key in $Extra.Keys) { $parameters[$key] = $Extra[$key] }
    New-FlowStorage @parameters
}
