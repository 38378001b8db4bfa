# Team mode end to end, against the real PostgreSQL (tests/servers/Start-Postgres.ps1) and the real Flowstore server
# process (Start-FlowServer). Every "machine" is a pwsh process of its own with a FLOWSTORE_HOME of its own
# (Start-Machine), so environment variables, module state and files never pass from one to another: what one machine
# sees of another's work came through the server.

BeforeAll {
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'
    Assert-TestServer -Variable 'FLOWSTORE_TEST_POSTGRES_CONNECTION_STRING', 'FLOWSTORE_TEST_POSTGRES_BIN', 'FLOWSTORE_TEST_POSTGRES_PORT' -StartScript 'Start-Postgres.ps1'
    $script:manifest = (Resolve-Path "$PSScriptRoot/../../Flowstore.psd1").Path
    $script:repository = (Resolve-Path "$PSScriptRoot/../..").Path
    $script:machineHomes = [System.Collections.Generic.List[string]]::new()

    function New-TestDatabase {
        <# A new, empty database on the test cluster; returns its connection string. #>
        $name = 'team_' + [guid]::NewGuid().ToString('N').Substring(0, 12)
        $output = & "$env:FLOWSTORE_TEST_POSTGRES_BIN/createdb" -h 127.0.0.1 -p $env:FLOWSTORE_TEST_POSTGRES_PORT -U postgres $name 2>&1
        if ($LASTEXITCODE -ne 0) { throw "createdb $name failed: $output" }
        $env:FLOWSTORE_TEST_POSTGRES_CONNECTION_STRING -replace 'Database=[^;]*', "Database=$name"
    }

    function New-MachineHome {
        <# A FLOWSTORE_HOME of its own for one machine (a new folder under the temp folder, removed in AfterAll). #>
        param([Parameter(Mandatory)][string]$Name)
        $path = Join-Path ([IO.Path]::GetTempPath()) ("fs-$Name-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
        $script:machineHomes.Add($path)
        $path
    }

    function Start-Machine {
        <#
        Runs -Script in a new pwsh process (the module imported, $ErrorActionPreference Stop) whose FLOWSTORE_HOME is
        -FlowstoreHome, with no FLOWSTORE_SERVER_URL or FLOWSTORE_API_KEY but those in -Environment. What the script
        outputs comes back as JSON (Receive-Machine). Returns the process.
        #>
        param(
            [Parameter(Mandatory)][string]$FlowstoreHome,
            [Parameter(Mandatory)][string]$Script,
            [hashtable]$Environment = @{},
            [string]$WorkingDirectory = $script:repository
        )
        $command = @"
`$ErrorActionPreference = 'Stop'
`$ProgressPreference = 'SilentlyContinue'
Import-Module '$($script:manifest)'
`$result = & {
$Script
}
ConvertTo-Json -InputObject @(`$result) -Depth 6 -Compress
"@
        $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($command))
        $executable = [Environment]::ProcessPath
        $arguments = @(if ([IO.Path]::GetFileNameWithoutExtension($executable) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' }) +
            @('-NoProfile', '-NonInteractive', '-EncodedCommand', $encoded)
        $variables = @{ FLOWSTORE_HOME = $FlowstoreHome; FLOWSTORE_SERVER_URL = $null; FLOWSTORE_API_KEY = $null }
        foreach ($key in $Environment.Keys) { $variables[$key] = $Environment[$key] }
        $logs = Join-Path $TestDrive 'machines'
        $null = New-Item -ItemType Directory -Force -Path $logs
        $log = Join-Path $logs ([guid]::NewGuid().ToString('N').Substring(0, 8))
        $process = Start-Process -FilePath $executable -ArgumentList $arguments -Environment $variables -PassThru `
            -WorkingDirectory $WorkingDirectory -RedirectStandardOutput "$log.out" -RedirectStandardError "$log.err"
        $process | Add-Member -NotePropertyName LogPath -NotePropertyValue $log -PassThru
    }

    function Receive-Machine {
        <# Waits for a Start-Machine process (at most -TimeoutSeconds) and returns what its script output; throws with its errors when it failed. #>
        param([Parameter(Mandatory)]$Process, [int]$TimeoutSeconds = 300)
        if (-not $Process.WaitForExit($TimeoutSeconds * 1000)) {
            $Process.Kill($true)
            throw "The machine process $($Process.Id) did not end within $TimeoutSeconds s."
        }
        $Process.WaitForExit()
        $out = Get-Content -Raw -LiteralPath "$($Process.LogPath).out" -ErrorAction SilentlyContinue
        $err = Get-Content -Raw -LiteralPath "$($Process.LogPath).err" -ErrorAction SilentlyContinue
        Remove-Item -LiteralPath "$($Process.LogPath).out", "$($Process.LogPath).err" -ErrorAction SilentlyContinue
        if ($Process.ExitCode -ne 0) { throw "The machine process failed (exit $($Process.ExitCode)): $err $out" }
        $json = @(($out ?? '') -split "`n" | Where-Object { $_.Trim() }) | Select-Object -Last 1
        if (-not $json) { throw "The machine process output nothing: $err" }
        , @($json | ConvertFrom-Json)
    }

    function Invoke-Machine {
        <# Start-Machine, then Receive-Machine. #>
        param(
            [Parameter(Mandatory)][string]$FlowstoreHome,
            [Parameter(Mandatory)][string]$Script,
            [hashtable]$Environment = @{}
        )
        Receive-Machine (Start-Machine -FlowstoreHome $FlowstoreHome -Script $Script -Environment $Environment)
    }
}

AfterAll {
    foreach ($path in $script:machineHomes) {
        if (Test-Path -LiteralPath $path) {
            Import-Module $script:manifest
            Stop-FlowServer -Home $path -ErrorAction SilentlyContinue
            Remove-Item -LiteralPath $path -Recurse -Force -ErrorAction SilentlyContinue
        }
    }
}

Describe 'Eight machines register changes of one flow at once through the server over PostgreSQL' {
    BeforeAll {
        $serverHome = New-MachineHome server
        $connection = New-TestDatabase
        $server = (Invoke-Machine -FlowstoreHome $serverHome -Environment @{ TEAM_DATABASE = $connection } -Script @'
$s = Start-FlowServer -Backend Postgres -ConnectionString $env:TEAM_DATABASE
[pscustomobject]@{ Url = "$($s.Url)"; ProcessId = $s.ProcessId; Backend = $s.Backend }
'@)[0]
        $gate = Join-Path $TestDrive 'go'
        $machines = foreach ($i in 1..8) {
            $file = New-FlowScript "$TestDrive/change$i/shared.cs" (Get-LinearFlowBody -Name shared -Task 'get_data', "change_$i" -Message "change $i")
            $ready = Join-Path $TestDrive "ready$i"
            # Each machine compiles its change first (Test-FlowScript fills its own home's cache), says it is ready, and
            # registers once every machine is ready: the eight registrations reach the server together.
            Start-Machine -FlowstoreHome (New-MachineHome "ci$i") -Environment @{ FLOWSTORE_SERVER_URL = $server.Url } -Script @"
`$null = Test-FlowScript -Path '$file'
Set-Content -LiteralPath '$ready' -Value ready
while (-not (Test-Path -LiteralPath '$gate')) { Start-Sleep -Milliseconds 20 }
`$r = Register-Flow -Path '$file' -Project Concurrent -CreateProject
[pscustomobject]@{ Status = "`$(`$r.Status)"; Version = `$r.Version; Id = "`$(`$r.Id)"; Local = Test-Path -LiteralPath (Join-Path `$env:FLOWSTORE_HOME 'flowstore.db') }
"@
        }
        foreach ($i in 1..8) {
            $machine = $machines[$i - 1]
            Wait-Until { Test-Path -LiteralPath (Join-Path $TestDrive "ready$i") } -Because "machine $i compiled its change" -TimeoutSeconds 300 -Process $machine
        }
        Set-Content -LiteralPath $gate -Value go
        $results = foreach ($machine in $machines) { (Receive-Machine $machine)[0] }
        $versions = Invoke-Machine -FlowstoreHome (New-MachineHome reader) -Environment @{ FLOWSTORE_SERVER_URL = $server.Url } -Script @'
Get-Flow -Name shared -Project Concurrent -AllVersions | ForEach-Object {
    [pscustomobject]@{ Version = $_.Version; Id = "$($_.Id)"; Archived = $_.Archived; Tasks = @($_.Structure.Tasks.Name) -join ',' }
}
'@
    }

    It 'the server runs over PostgreSQL' {
        $server.Backend | Should -Be 'Postgres'
    }

    It 'every machine registered a new version, and the versions are 1..8 with no gap and no duplicate' {
        @($results.Status | Sort-Object -Unique) | Should -Be @('Registered')
        @($results.Version | Sort-Object) | Should -Be (1..8)
        @($results.Local | Sort-Object -Unique) | Should -Be @($false) -Because 'nothing is written to a machine''s own database'
    }

    It 'the server holds exactly those eight versions, each with the change of the machine that registered it, only the newest not archived' {
        @($versions.Version | Sort-Object) | Should -Be (1..8)
        @($versions.Id | Sort-Object) | Should -Be @($results.Id | Sort-Object)
        @($versions.Tasks | Sort-Object -Unique).Count | Should -Be 8 -Because 'each version is one machine''s change'
        @($versions | Where-Object { -not $_.Archived }).Version | Should -Be 8
    }
}
