# GitHub storage from PowerShell, against the GitHub API stand-in (tests/Flowstore.StandIns, started by
# tests/servers/Start-GitHosts.ps1): what only GitHub storage does. The getting-started walk-through, -Pinned, the
# stored-script checks, New-FlowStorage | Publish-FlowScript | Register-Flow and the errors every Git storage shares
# run for GitHub in Storage.GitHosts.Tests.ps1.

BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    . "$PSScriptRoot/GitHostStorage.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome
    Initialize-GitHostStorage -Storage GitHub
}

AfterAll {
    Clear-GitHostStorage
    Exit-TestHome
}

Describe 'GitHub storage: New-FlowStorage' {
    It 'New-FlowStorage -Type GitHub rejects a repo that is not owner/name (StorageInvalid)' {
        { New-FlowStorage -Type GitHub -Repo just-a-name -Path flows/x.cs } |
            Should -Throw -ErrorId 'StorageInvalid,Flowstore.Commands.NewFlowStorageCommand'
    }
}

Describe 'GitHub storage without -AccessTokenSecret' {
    It 'uses the secret GITHUB_ACCESS_TOKEN for a private repository and says so in the verbose stream, naming it, never its value' {
        $gh = New-GitHostRepository (Get-GitHostStorage GitHub) -Prefix dflt
        $local = New-FlowScript "$TestDrive/default/dflt.cs" (Get-LinearFlowBody -Name dflt -Message 'read with the default token')
        $null = Push-TestFile $gh 'flows/dflt.cs' (Get-Content -LiteralPath $local -Raw)

        $storage = New-FlowStorage -Type GitHub -Repo $gh.Name -Path flows/dflt.cs -BaseUrl $env:FLOWSTORE_TEST_GITHOSTS_URL
        $output = Register-Flow -Path $local -Storage $storage -Project P -CreateProject -Verbose 4>&1
        $verbose = @($output | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
        $registration = $output | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }

        $registration.Status | Should -Be 'Registered'
        $verbose | Where-Object { $_ -like "*using the access token in secret 'GITHUB_ACCESS_TOKEN' (the default name)*" } | Should -Not -BeNullOrEmpty
        ($verbose -join "`n") | Should -Not -BeLike "*$env:FLOWSTORE_TEST_GITHOSTS_TOKEN*"
        $stored = (Get-Flow -Name dflt -Project P).Storage
        $stored.AccessTokenSecret | Should -BeNullOrEmpty -Because 'the default is looked up at each use, not saved'
        $stored.ToJson() | Should -Not -BeLike "*$env:FLOWSTORE_TEST_GITHOSTS_TOKEN*"
        (Split-RunOutput (Start-FlowRun -Name dflt -Project P -Wait 6>&1)).Text | Should -Contain '[print_data] read with the default token'
    }
}
