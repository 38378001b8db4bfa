# The canary test of issue 5: a token value used by GitHub storage (against the GitHub API stand-in started by
# tests/servers/Start-GitHosts.ps1) must never show: not in any output object, error record, verbose, warning or
# information message, transcript, run log, nor in any file under FLOWSTORE_HOME (the SQLite database included).
# The stand-in accepts one token, random per start: that token is the canary (as a Flowstore secret set with
# Set-FlowSecret and as an environment variable secret). A second random value, a wrong token, is a canary too.
# Every command of the storage's life is used: New-FlowStorage, Publish-FlowScript, Register-Flow -Verbose,
# Start-FlowRun -Wait, Get-FlowRun, Get-FlowRunLog, and the failure paths (wrong token, missing repository).

BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome

    Assert-TestServer -Variable 'FLOWSTORE_TEST_GITHOSTS_URL', 'FLOWSTORE_TEST_GITHOSTS_ROOT', 'FLOWSTORE_TEST_GITHOSTS_TOKEN' -StartScript 'Start-GitHosts.ps1'
    $script:BaseUrl = $env:FLOWSTORE_TEST_GITHOSTS_URL
    $script:Canary = $env:FLOWSTORE_TEST_GITHOSTS_TOKEN
    $script:WrongCanary = 'ghp_canary' + [guid]::NewGuid().ToString('N')
    $script:Canaries = @($script:Canary, $script:WrongCanary)
    $script:Transcript = Join-Path $TestDrive 'canary-transcript.txt'

    # A repository with a README, pushed with git; the flow is published into it through the API.
    $owner = 'canary' + [guid]::NewGuid().ToString('N').Substring(0, 8)
    $script:Repo = "$owner/flows"
    $repository = New-TestRepository -Root $env:FLOWSTORE_TEST_GITHOSTS_ROOT -Name $Repo -DefaultBranch main
    $script:Bare = $repository.Bare
    $null = Push-TestFile $repository 'README.md' "# flows`n" -Message 'Initial'

    # One flow whose storage comes from New-FlowStorage (token from the store), one that sets its storage in the
    # script (token from an environment variable).
    $script:StoreFlow = New-FlowScript "$TestDrive/flows/store.cs" (Get-LinearFlowBody -Name canarystore -Message 'store token run')
    $script:EnvFlow = New-FlowScript "$TestDrive/flows/env.cs" ((Get-LinearFlowBody -Name canaryenv -Message 'env token run') + @"
flow.Storage = new GitHubStorage(repo: "$Repo", path: "flows/env.cs", accessTokenSecret: "GH_CANARY_ENV", baseUrl: "$BaseUrl");
"@)
    $savedEnv = $env:GH_CANARY_ENV
    $env:GH_CANARY_ENV = $script:Canary

    try {
        $script:Capture = Invoke-CanaryCapture -TranscriptPath $script:Transcript -Commands {
            $script:Canary | Set-FlowSecret -Name GH_CANARY_STORE -PassThru
            Set-FlowSecret -Name GH_CANARY_WRONG -Value (ConvertTo-SecureString $script:WrongCanary -AsPlainText -Force) -PassThru
            New-FlowProject -Name Canary

            # Token from the store: storage -> publish -> register -> run.
            $storage = New-FlowStorage -Type GitHub -Repo $Repo -Path flows/store.cs -AccessTokenSecret GH_CANARY_STORE -BaseUrl $BaseUrl
            $storage
            $script:Publication = $storage | Publish-FlowScript -Path $StoreFlow -Message 'Publish store.cs' -Verbose
            $script:Publication
            $script:Publication | Register-Flow -Path $StoreFlow -Project Canary -Verbose
            $script:StoreRun = Start-FlowRun -Name canarystore -Project Canary -Wait -Verbose
            $script:StoreRun
            Start-FlowRun -Pinned $script:StoreRun.Id -Wait -Verbose

            # Token from an environment variable, storage set in the script.
            Publish-FlowScript -Path $EnvFlow -Verbose
            Register-Flow -Path $EnvFlow -Project Canary -Verbose
            $script:EnvRun = Start-FlowRun -Name canaryenv -Project Canary -Wait -Verbose
            $script:EnvRun

            # Failure paths: a wrong token (publish, registration, and a run whose secret went bad), a missing repository.
            $wrong = New-FlowStorage -Type GitHub -Repo $Repo -Path flows/store.cs -AccessTokenSecret GH_CANARY_WRONG -BaseUrl $BaseUrl
            $wrong | Publish-FlowScript -Path $StoreFlow -Verbose
            $wrong | Register-Flow -Path $StoreFlow -Project CanaryWrong -CreateProject -Verbose
            $script:WrongCanary | Set-FlowSecret -Name GH_CANARY_STORE
            Start-FlowRun -Name canarystore -Project Canary -Wait -Verbose
            $script:Canary | Set-FlowSecret -Name GH_CANARY_STORE
            New-FlowStorage -Type GitHub -Repo "$owner/missing" -Path flows/store.cs -AccessTokenSecret GH_CANARY_STORE -BaseUrl $BaseUrl |
                Register-Flow -Path $StoreFlow -Project CanaryMissing -CreateProject -Verbose

            # What users look at afterwards.
            Get-Flow -Project Canary
            Get-Flow -Project Canary | Format-List *
            Get-FlowRun
            Get-FlowRun | Format-List *
            Get-FlowRun | ForEach-Object { Get-FlowRunLog -Id $_.Id }
            Get-FlowSecret
        }
    }
    finally {
        $env:GH_CANARY_ENV = $savedEnv
    }
    $script:Errors = @($Capture.Captured | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }) + $Capture.NewErrors
    $script:Runs = @(Get-FlowRun)
    $script:Logs = @($script:Runs | ForEach-Object { Get-FlowRunLog -Id $_.Id })
}

AfterAll {
    Exit-TestHome
}

Describe 'Storage canary: a GitHub token leaks nowhere' {
    Context 'the tokens were really used' {
        It 'publishing committed the file with the token from the store, and the runs fetched it' {
            $head = (& git --git-dir=$Bare rev-parse main).Trim()
            $Publication.StorageVersion | Should -Not -BeNullOrEmpty
            (& git --git-dir=$Bare log --format=%H main) | Should -Contain $Publication.StorageVersion
            (& git --git-dir=$Bare show "main:flows/store.cs") | Should -Not -BeNullOrEmpty
            (& git --git-dir=$Bare show "main:flows/env.cs") | Should -Not -BeNullOrEmpty
            $StoreRun.State | Should -Be 'Success'
            $StoreRun.StorageVersion | Should -Be $Publication.StorageVersion
            $EnvRun.State | Should -Be 'Success'
            $EnvRun.StorageVersion | Should -Be $head
            $text = @($Capture.Captured | Where-Object { $_ -is [System.Management.Automation.InformationRecord] } | ForEach-Object { "$_" })
            $text | Should -Contain '[print_data] store token run'
            $text | Should -Contain '[print_data] env token run'
        }

        It 'every request to the repository carried the Authorization header' {
            $requests = (Invoke-RestMethod "$BaseUrl/_standin/requests") | ForEach-Object { $_ } | Where-Object { $_ -like "* /api/v3/repos/$Repo*" }
            $requests | Should -Not -BeNullOrEmpty
            $requests | Where-Object { $_ -notlike '*`[Authorization`]' } | Should -BeNullOrEmpty
        }

        It 'the failure paths failed as they should (wrong token: StorageAccessDenied; missing repository: StorageNotFound)' {
            $ids = $Errors | ForEach-Object { $_.FullyQualifiedErrorId }
            $ids | Should -Contain 'StorageAccessDenied,Flowstore.Commands.PublishFlowScriptCommand'
            $ids | Should -Contain 'StorageAccessDenied,Flowstore.Commands.RegisterFlowCommand'
            $ids | Should -Contain 'StorageNotFound,Flowstore.Commands.RegisterFlowCommand'
            $failedRun = $Runs | Where-Object { $_.State -eq 'Failed' }
            $failedRun | Should -HaveCount 1
            $failedRun.ErrorId | Should -Be 'StorageAccessDenied'
            ($Errors | Where-Object { $_.FullyQualifiedErrorId -like 'StorageAccessDenied*' } | Select-Object -First 1).Exception.Message |
                Should -BeLike "*$Repo*flows/store.cs*"
        }

        It 'every stream was captured (output, errors, warnings, verbose, information)' {
            $types = $Capture.Captured | ForEach-Object { $_.GetType().Name } | Sort-Object -Unique
            $types | Should -Contain 'ErrorRecord'
            $types | Should -Contain 'VerboseRecord'
            $types | Should -Contain 'InformationRecord'
            $types | Should -Contain 'FlowPublication'
            (Get-Content -LiteralPath $Transcript -Raw) | Should -BeLike '*Publish-FlowScript*'
        }
    }

    Context 'no canary anywhere' {
        It 'not in any output object (ConvertTo-Json -Depth 5, Format-List, Out-String)' {
            Find-Canary (ConvertTo-AllText $Capture.Objects) -Canary $Canaries | Should -BeNullOrEmpty
        }

        It 'not in any error record (message, ToString, exception chain, details, target)' {
            $Errors | Should -Not -BeNullOrEmpty
            Find-Canary (ConvertTo-AllText $Errors) -Canary $Canaries | Should -BeNullOrEmpty
        }

        It 'not in the verbose, warning or information streams, nor the transcript' {
            $messages = $Capture.Captured | Where-Object {
                $_ -is [System.Management.Automation.VerboseRecord] -or $_ -is [System.Management.Automation.WarningRecord] -or
                $_ -is [System.Management.Automation.InformationRecord]
            }
            $messages | Should -Not -BeNullOrEmpty
            Find-Canary (ConvertTo-AllText $messages) -Canary $Canaries | Should -BeNullOrEmpty
            Find-Canary (Get-Content -LiteralPath $Transcript -Raw) -Canary $Canaries | Should -BeNullOrEmpty
        }

        It 'not in the run records or the run logs' {
            $Logs | Should -Not -BeNullOrEmpty
            Find-Canary (ConvertTo-AllText $Runs) -Canary $Canaries | Should -BeNullOrEmpty
            Find-Canary (ConvertTo-AllText $Logs) -Canary $Canaries | Should -BeNullOrEmpty
        }

        It 'not in any file under FLOWSTORE_HOME (the SQLite database and its -wal/-shm included)' {
            $files = @(Get-ChildItem -LiteralPath $env:FLOWSTORE_HOME -Recurse -File -Force)
            $files.Name | Should -Contain 'flowstore.db'
            Find-CanaryInFiles $files -Canary $Canaries | Should -BeNullOrEmpty
        }
    }
}
