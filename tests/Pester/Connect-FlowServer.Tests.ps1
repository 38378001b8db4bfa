# Connect-FlowServer / Disconnect-FlowServer / Get-FlowServer: which backend a Flowstore home uses, and the saved
# connection (URL in a file, the API key encrypted in the home's secret store, never in a plain file).
BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'
    $script:serverHome = Join-Path ([IO.Path]::GetTempPath()) ("fs-server-" + [guid]::NewGuid())
    $script:server = Start-FlowServer -Home $serverHome
    $script:adminKey = $server.AdminKey | ConvertFrom-SecureString -AsPlainText # the server requires keys
}

AfterAll {
    Stop-FlowServer -Home $serverHome -ErrorAction SilentlyContinue
    Remove-Item -LiteralPath $serverHome -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Get-FlowServer' {
    BeforeEach { $null = Enter-TestHome }
    AfterEach { Exit-TestHome }

    It 'says the embedded SQLite file is in use when nothing is configured' {
        $info = Get-FlowServer
        $info.Backend | Should -Be 'Sqlite'
        $info.Source | Should -Be 'Embedded'
        $info.Url | Should -BeNullOrEmpty
        $info.Description | Should -BeLike "SQLite*$($env:FLOWSTORE_HOME)*"
    }

    It 'says FLOWSTORE_SERVER_URL and FLOWSTORE_API_KEY are in use, naming the variable and never the key' {
        $env:FLOWSTORE_SERVER_URL = $server.Url
        $env:FLOWSTORE_API_KEY = 'fs-env-canary-key'
        try {
            $info = Get-FlowServer
            $info.Backend | Should -Be 'Http'
            $info.Source | Should -Be 'Environment'
            $info.Url | Should -Be $server.Url
            $info.ApiKey | Should -Be 'FLOWSTORE_API_KEY'
            ($info | Format-List * | Out-String) | Should -Not -Match 'fs-env-canary-key'
        }
        finally {
            Remove-Item env:FLOWSTORE_SERVER_URL, env:FLOWSTORE_API_KEY
        }
    }
}

Describe 'Connect-FlowServer' {
    BeforeEach { $null = Enter-TestHome }
    AfterEach { Exit-TestHome }

    It 'saves the URL and keeps the key encrypted in the home: no file of the home holds the key' {
        $info = Connect-FlowServer -Url $server.Url -ApiKey $server.AdminKey
        $info.Source | Should -Be 'Connection'
        $info.ApiKey | Should -Be 'secret store'
        (Get-FlowServer).Url | Should -Be $server.Url

        Get-ChildItem -LiteralPath $env:FLOWSTORE_HOME -Recurse -File | ForEach-Object {
            [Text.Encoding]::UTF8.GetString([IO.File]::ReadAllBytes($_.FullName)) | Should -Not -Match ([regex]::Escape($adminKey.Substring(4)))
        }
        { Get-FlowProject } | Should -Not -Throw
        Get-Content -LiteralPath (Join-Path $env:FLOWSTORE_HOME 'server.connection.json') -Raw | Should -Match ([regex]::Escape($server.Url))
    }

    It 'with -ApiKeySecret saves only the name of the secret' {
        $env:FS_TEST_SERVER_KEY = $adminKey
        try {
            $info = Connect-FlowServer -Url $server.Url -ApiKeySecret FS_TEST_SERVER_KEY
            $info.ApiKey | Should -Be "secret 'FS_TEST_SERVER_KEY'"
            Get-Content -LiteralPath (Join-Path $env:FLOWSTORE_HOME 'server.connection.json') -Raw | Should -Not -Match ([regex]::Escape($adminKey.Substring(4)))
            { Get-FlowProject } | Should -Not -Throw
        }
        finally {
            Remove-Item env:FS_TEST_SERVER_KEY
        }
    }

    It 'with a key the server does not know is ApiKeyInvalid, never echoing the key, and saves nothing' {
        $unknown = 'fsk_' + ('A' * 43)
        $err = { Connect-FlowServer -Url $server.Url -ApiKey (ConvertTo-SecureString $unknown -AsPlainText -Force) } |
            Should -Throw -ErrorId 'ApiKeyInvalid,Flowstore.Commands.ConnectFlowServerCommand' -PassThru
        $err.Exception.Message | Should -Not -Match $unknown
        (Get-FlowServer).Backend | Should -Be 'Sqlite'
    }

    It 'to a server that does not answer is ServerUnreachable naming the URL, and saves nothing' {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start(); $port = $listener.LocalEndpoint.Port; $listener.Stop()
        $url = "http://127.0.0.1:$port/"
        $err = { Connect-FlowServer -Url $url } | Should -Throw -ErrorId 'ServerUnreachable,Flowstore.Commands.ConnectFlowServerCommand' -PassThru
        $err.Exception.Message | Should -BeLike "*$url*"
        (Get-FlowServer).Backend | Should -Be 'Sqlite'
    }

    It '-WhatIf saves nothing' {
        Connect-FlowServer -Url $server.Url -WhatIf
        (Get-FlowServer).Backend | Should -Be 'Sqlite'
    }
}

Describe 'Disconnect-FlowServer' {
    BeforeEach { $null = Enter-TestHome }
    AfterEach { Exit-TestHome }

    It 'goes back to the embedded backend and forgets the stored key' {
        $null = Connect-FlowServer -Url $server.Url -ApiKey $server.AdminKey
        $info = Disconnect-FlowServer -PassThru
        $info.Backend | Should -Be 'Sqlite'
        Test-Path -LiteralPath (Join-Path $env:FLOWSTORE_HOME 'server.connection.json') | Should -BeFalse
        @(Get-FlowSecret) | Where-Object Name -eq 'FLOWSTORE_SERVER_API_KEY' | Should -BeNullOrEmpty
    }

    It 'without a saved connection warns and changes nothing' {
        Disconnect-FlowServer -WarningVariable warned -WarningAction SilentlyContinue
        $warned | Should -Not -BeNullOrEmpty
        (Get-FlowServer).Backend | Should -Be 'Sqlite'
    }
}
