# Start-FlowServer / Stop-FlowServer: the real server (out/module/Server, shipped by the module build) as a process of
# its own, and the cmdlets of other Flowstore homes working through it.
BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'
    $script:serverHome = Join-Path ([IO.Path]::GetTempPath()) ("fs-server-" + [guid]::NewGuid())
    $script:server = Start-FlowServer -Home $serverHome
    $script:manifest = (Resolve-Path "$PSScriptRoot/../../Flowstore.psd1").Path
    $script:adminKey = $server.AdminKey | ConvertFrom-SecureString -AsPlainText
}

AfterAll {
    Stop-FlowServer -Home $serverHome -ErrorAction SilentlyContinue
    Remove-Item -LiteralPath $serverHome -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Start-FlowServer' {
    It 'outputs the Url, ProcessId and Backend of a server that answers /health' {
        $server.Url | Should -Match '^http://127\.0\.0\.1:\d+/$'
        $server.Backend | Should -Be 'Sqlite'
        $server.ApiKeys | Should -Be 'Required'
        (Get-Process -Id $server.ProcessId).HasExited | Should -BeFalse
        $health = Invoke-RestMethod -Uri "$($server.Url)health"
        $health.status | Should -Be 'Healthy'
        $health.backend | Should -BeLike "*$serverHome*flowstore.db"
        Test-Path -LiteralPath (Join-Path $serverHome 'server.log') | Should -BeTrue
    }

    It 'requires API keys: the first start outputs the admin key once, as a SecureString, never in clear nor in its log' {
        $server.AdminKey | Should -BeOfType [securestring]
        $adminKey | Should -Match '^fsk_[A-Za-z0-9_-]{43}$'
        (Get-Content -Raw -LiteralPath (Join-Path $serverHome 'admin.key')).Trim() | Should -Be $adminKey
        $shown = ($server | Out-String) + ($server | Format-List * | Out-String) + ($server | ConvertTo-Json -Depth 3 -WarningAction SilentlyContinue) + "$server"
        $shown | Should -Not -Match ([regex]::Escape($adminKey.Substring(4)))
        Get-ChildItem -LiteralPath $serverHome -Recurse -File | Where-Object Name -ne 'admin.key' | ForEach-Object {
            [IO.File]::ReadAllText($_.FullName) | Should -Not -Match ([regex]::Escape($adminKey.Substring(4))) -Because "$($_.Name) must not hold the key"
        }

        # Without a key every call is ApiKeyInvalid (never a bare 401); with the admin key it works.
        $null = Enter-TestHome
        try {
            $env:FLOWSTORE_SERVER_URL = $server.Url
            { Get-FlowProject } | Should -Throw -ErrorId 'ApiKeyInvalid,Flowstore.Commands.GetFlowProjectCommand'
            $env:FLOWSTORE_API_KEY = $adminKey
            $null = New-FlowProject -Name Keyed
            (Get-FlowProject -Name Keyed).Name | Should -Be 'Keyed'
        }
        finally {
            Remove-Item env:FLOWSTORE_SERVER_URL, env:FLOWSTORE_API_KEY -ErrorAction SilentlyContinue
            Exit-TestHome
        }
    }

    It '-NoApiKeys starts an open server for one box: no key asked, no admin key made' {
        $openHome = Join-Path ([IO.Path]::GetTempPath()) ("fs-server-" + [guid]::NewGuid())
        try {
            $open = Start-FlowServer -Home $openHome -NoApiKeys
            $open.ApiKeys | Should -Be 'None'
            $open.AdminKey | Should -BeNullOrEmpty
            Test-Path -LiteralPath (Join-Path $openHome 'admin.key') | Should -BeFalse
            $null = Enter-TestHome
            try {
                $env:FLOWSTORE_SERVER_URL = $open.Url
                $null = New-FlowProject -Name Open
                (Get-FlowProject).Name | Should -Be 'Open'
            }
            finally {
                Remove-Item env:FLOWSTORE_SERVER_URL -ErrorAction SilentlyContinue
                Exit-TestHome
            }
        }
        finally {
            Stop-FlowServer -Home $openHome -ErrorAction SilentlyContinue
            Remove-Item -LiteralPath $openHome -Recurse -Force -ErrorAction SilentlyContinue
        }
    }

    It 'a second start for the same home is ServerAlreadyRunning naming the running server' {
        $err = { Start-FlowServer -Home $serverHome } | Should -Throw -ErrorId 'ServerAlreadyRunning,Flowstore.Commands.StartFlowServerCommand' -PassThru
        $err.Exception.Message | Should -BeLike "*$($server.Url)*"
    }

    It 'registers and runs a flow from a second home through the server (FLOWSTORE_SERVER_URL), seen from a third (Connect-FlowServer)' {
        $file = New-FlowScript "$TestDrive/team.cs" (Get-LinearFlowBody -Name team_flow -Message 'ran through the server')
        $null = Enter-TestHome
        $env:FLOWSTORE_SERVER_URL = $server.Url
        $env:FLOWSTORE_API_KEY = $adminKey
        try {
            $info = Get-FlowServer
            $info.Backend | Should -Be 'Http'
            $info.Source | Should -Be 'Environment'
            (Register-Flow -Path $file -Project Team -CreateProject).Status | Should -Be 'Registered'
            $run = Start-FlowRun -Name team_flow -Project Team -Wait
            $run.State | Should -Be 'Success'
            Test-Path -LiteralPath (Join-Path $env:FLOWSTORE_HOME 'flowstore.db') | Should -BeFalse # nothing local
        }
        finally {
            Remove-Item env:FLOWSTORE_SERVER_URL, env:FLOWSTORE_API_KEY
            Exit-TestHome
        }

        $null = Enter-TestHome
        try {
            (Get-FlowServer).Backend | Should -Be 'Sqlite'
            $connected = Connect-FlowServer -Url $server.Url -ApiKey $server.AdminKey
            $connected.Source | Should -Be 'Connection'
            (Get-Flow -Name team_flow -Project Team).Version | Should -Be 1
            $seen = Get-FlowRun -Name team_flow -Project Team
            $seen.Id | Should -Be $run.Id
            $seen.State | Should -Be 'Success'
            (Get-FlowRunLog -Id $run.Id).Message | Should -Contain 'ran through the server'
            Disconnect-FlowServer
            (Get-FlowServer).Backend | Should -Be 'Sqlite'
            @(Get-FlowProject).Count | Should -Be 0
        }
        finally {
            Exit-TestHome
        }
    }

    It 'a server outlives the session that started it, and Stop-FlowServer ends it; a later start outputs no admin key' {
        $childHome = Join-Path ([IO.Path]::GetTempPath()) ("fs-server-" + [guid]::NewGuid())
        try {
            $json = & dotnet pwsh -NoProfile -Command "Import-Module '$manifest'; Start-FlowServer -Home '$childHome' | Select-Object Url, ProcessId, Backend, @{ n = 'HasAdminKey'; e = { `$null -ne `$_.AdminKey } } | ConvertTo-Json -Compress"
            $LASTEXITCODE | Should -Be 0
            $started = $json | ConvertFrom-Json
            $started.HasAdminKey | Should -BeTrue
            (Invoke-RestMethod -Uri "$($started.Url)health").status | Should -Be 'Healthy' # its session has ended

            $stopped = Stop-FlowServer -Home $childHome -PassThru
            $stopped.ProcessId | Should -Be $started.ProcessId
            Get-Process -Id $started.ProcessId -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            { Invoke-RestMethod -Uri "$($started.Url)health" -TimeoutSec 5 } | Should -Throw
            Test-Path -LiteralPath (Join-Path $childHome 'server.json') | Should -BeFalse

            $key = (Get-Content -Raw -LiteralPath (Join-Path $childHome 'admin.key')).Trim()
            $again = Start-FlowServer -Home $childHome
            $again.AdminKey | Should -BeNullOrEmpty -Because 'the database has its admin key already'
            $again.ApiKeys | Should -Be 'Required'
            (Get-Content -Raw -LiteralPath (Join-Path $childHome 'admin.key')).Trim() | Should -Be $key
            Stop-FlowServer -Home $childHome
        }
        finally {
            Stop-FlowServer -Home $childHome -ErrorAction SilentlyContinue
            Remove-Item -LiteralPath $childHome -Recurse -Force -ErrorAction SilentlyContinue
        }
    }
}

Describe 'Stop-FlowServer' {
    It 'with no server running for the home is ServerNotRunning' {
        $empty = Join-Path $TestDrive 'no-server'
        { Stop-FlowServer -Home $empty -ErrorAction Stop } | Should -Throw -ErrorId 'ServerNotRunning,Flowstore.Commands.StopFlowServerCommand'
    }
}
