# tests/servers/Start-Postgres.ps1 and Stop-Postgres.ps1 themselves: a second start replaces the first cluster (one
# per work directory), the connection information reaches the caller's environment, and a stop leaves no PostgreSQL
# process and no cluster folder behind. They run in a child pwsh with a work directory of their own, so the shared
# test cluster (and this process's FLOWSTORE_TEST_POSTGRES_* variables) stay as they are.

BeforeAll {
    $servers = (Resolve-Path "$PSScriptRoot/../servers").Path
    $work = Join-Path $TestDrive 'Postgres'
    $child = @"
`$ErrorActionPreference = 'Stop'
function Show([string]`$Label) {
    `$pidFile = Join-Path '$work' 'postgres.pid'
    `$id = if (Test-Path `$pidFile) { (Get-Content -Raw `$pidFile).Trim() } else { '' }
    `$cluster = if (Test-Path (Join-Path '$work' 'cluster-path')) { (Get-Content -Raw (Join-Path '$work' 'cluster-path')).Trim() } else { '' }
    "`${Label}|`$id|`$env:FLOWSTORE_TEST_POSTGRES_PORT|`$cluster|`$env:FLOWSTORE_TEST_POSTGRES_CONNECTION_STRING"
}
& '$servers/Start-Postgres.ps1' -WorkDirectory '$work' *> `$null
Show 'first'
`$ready = & "`$env:FLOWSTORE_TEST_POSTGRES_BIN/pg_isready" -h 127.0.0.1 -p `$env:FLOWSTORE_TEST_POSTGRES_PORT
"first-ready|`$LASTEXITCODE"
& '$servers/Start-Postgres.ps1' -WorkDirectory '$work' *> `$null
Show 'second'
& '$servers/Stop-Postgres.ps1' -WorkDirectory '$work' *> `$null
Show 'stopped'
& '$servers/Stop-Postgres.ps1' -WorkDirectory '$work' *> `$null
'stopped-again|ok'
"@
    $executable = [Environment]::ProcessPath
    $prefix = @(if ([IO.Path]::GetFileNameWithoutExtension($executable) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($child))
    $script:output = @(& $executable @prefix -NoProfile -NonInteractive -EncodedCommand $encoded 2>&1 | ForEach-Object { "$_" })
    $script:lines = @{}
    foreach ($line in $script:output) {
        $parts = $line -split '\|'
        if ($parts.Count -ge 2) { $script:lines[$parts[0]] = $parts }
    }

    function Test-ProcessRunning([string]$Id) {
        $Id -and (Test-Path "/proc/$Id")
    }
}

Describe 'Start-Postgres.ps1 and Stop-Postgres.ps1' {
    It 'start a cluster that answers on the published port, with the connection string for it' {
        $first = $script:lines['first']
        $first | Should -Not -BeNullOrEmpty -Because ($script:output -join "`n")
        $first[1] | Should -Match '^\d+$'
        $first[2] | Should -Match '^\d+$'
        $first[4] | Should -Be "Host=127.0.0.1;Port=$($first[2]);Username=postgres;Database=postgres"
        $script:lines['first-ready'][1] | Should -Be '0'
    }

    It 'replace the running cluster when started again (one per work directory)' {
        $first = $script:lines['first']
        $second = $script:lines['second']
        $second[1] | Should -Match '^\d+$'
        $second[1] | Should -Not -Be $first[1]
        Test-ProcessRunning $first[1] | Should -BeFalse
    }

    It 'leave no server process and no cluster folder after a stop, and a second stop does nothing' {
        $second = $script:lines['second']
        Test-ProcessRunning $second[1] | Should -BeFalse
        Test-Path -LiteralPath $second[3] | Should -BeFalse
        $stopped = $script:lines['stopped']
        $stopped[1] | Should -BeNullOrEmpty
        $stopped[3] | Should -BeNullOrEmpty
        $script:lines['stopped-again'][1] | Should -Be 'ok'
    }
}
