<#
.SYNOPSIS
    Starts the Cloud Storage emulator of npm firebase-tools@15.34.2, the GCS server the GCS storage tests talk to
    (tests/servers/README.md).
.DESCRIPTION
    Installs Debian's nodejs and npm when node or npm is missing (apt-get, Prerequisites.ps1), then firebase-tools
    with npm (--ignore-scripts) into <WorkDirectory>/npm when it is missing (idempotent),
    starts the storage emulator on its own through gcs-emulator.js (no Java, no download: only the JSON API of
    Cloud Storage), bound to 127.0.0.1 on a free port with its data under <WorkDirectory>/data, waits until it
    answers, writes <WorkDirectory>/emulator.pid and sets:
      FLOWSTORE_TEST_GCS_URL       http://127.0.0.1:PORT (the JSON API is at /storage/v1/; buckets exist implicitly)
      FLOWSTORE_TEST_GCS_NODE      the node executable        } for tests that start and stop their own instance
      FLOWSTORE_TEST_GCS_EMULATOR  gcs-emulator.js            } (fault tests): NODE EMULATOR MODULES DATA_DIR 0
      FLOWSTORE_TEST_GCS_MODULES   the node_modules folder    } prints "listening http://127.0.0.1:PORT"
#>
[CmdletBinding()]
param(
    [string]$WorkDirectory = (Join-Path $PSScriptRoot '../../out/servers/Gcs')
)

$ErrorActionPreference = 'Stop'
$version = '15.34.2'
$null = New-Item -ItemType Directory -Force -Path $WorkDirectory
$WorkDirectory = (Resolve-Path -LiteralPath $WorkDirectory).Path
$pidFile = Join-Path $WorkDirectory 'emulator.pid'
$emulator = Join-Path $PSScriptRoot 'gcs-emulator.js'

# Debian's nodejs and npm when missing (apt-get, needs root).
. (Join-Path $PSScriptRoot 'Prerequisites.ps1')
Install-Prerequisite -Caller 'Start-Gcs' -Requirement ([ordered]@{ node = 'nodejs'; npm = 'npm' })
$node = (Get-Command node -CommandType Application -ErrorAction Stop | Select-Object -First 1).Source

# Installed once per work directory; the package.json check makes a version change reinstall.
$prefix = Join-Path $WorkDirectory 'npm'
$modules = Join-Path $prefix 'node_modules'
$installed = Join-Path $modules 'firebase-tools/package.json'
$haveVersion = if (Test-Path -LiteralPath $installed) { (Get-Content -Raw -LiteralPath $installed | ConvertFrom-Json).version }
if ($haveVersion -ne $version) {
    Write-Host "Start-Gcs: installing firebase-tools@$version into $prefix (about a minute)"
    $null = New-Item -ItemType Directory -Force -Path $prefix
    $package = Join-Path $prefix 'package.json'
    if (-not (Test-Path -LiteralPath $package)) {
        Set-Content -LiteralPath $package -Value '{ "name": "flowstore-gcs-emulator", "private": true }'
    }
    $npmLog = Join-Path $WorkDirectory 'npm-install.log'
    & npm install --prefix $prefix "firebase-tools@$version" --ignore-scripts --no-audit --no-fund --loglevel=error *> $npmLog
    if ($LASTEXITCODE -ne 0 -or -not (Test-Path -LiteralPath $installed)) {
        throw "Start-Gcs: npm install firebase-tools@$version failed (exit $LASTEXITCODE); see $npmLog."
    }
}

# A server this script started earlier and that still runs is stopped first: one instance per work directory.
if (Test-Path -LiteralPath $pidFile) {
    & (Join-Path $PSScriptRoot 'Stop-Gcs.ps1') -WorkDirectory $WorkDirectory
}

$data = Join-Path $WorkDirectory 'data'
if (Test-Path -LiteralPath $data) { Remove-Item -LiteralPath $data -Recurse -Force }
$null = New-Item -ItemType Directory -Force -Path $data
$log = Join-Path $WorkDirectory 'emulator.log'
Remove-Item -LiteralPath $log, "$log.err" -ErrorAction SilentlyContinue
# Port 0: the emulator binds a free port itself and prints it, so no other process can take it in between.
$process = Start-Process -FilePath $node -ArgumentList @($emulator, $modules, $data, '0') `
    -RedirectStandardOutput $log -RedirectStandardError "$log.err" -PassThru
Set-Content -LiteralPath $pidFile -Value $process.Id

$deadline = [DateTime]::UtcNow.AddSeconds(60)
$url = $null
while (-not $url) {
    if ($process.HasExited) {
        $err = Get-Content -Raw -LiteralPath "$log.err" -ErrorAction SilentlyContinue
        Remove-Item -LiteralPath $pidFile -Force
        throw "Start-Gcs: the emulator exited with code $($process.ExitCode) before it listened. $err"
    }
    $line = Get-Content -LiteralPath $log -ErrorAction SilentlyContinue | Where-Object { $_ -like 'listening http*' } | Select-Object -First 1
    if ($line) { $url = $line.Substring('listening '.Length).Trim(); break }
    if ([DateTime]::UtcNow -gt $deadline) { throw "Start-Gcs: the emulator (pid $($process.Id)) did not listen within 60 s; see $log.err." }
    Start-Sleep -Milliseconds 100
}

# It listens; it answers once a listing of an (implicit) bucket comes back.
$http = [System.Net.Http.HttpClient]::new()
$http.Timeout = [TimeSpan]::FromSeconds(5)
try {
    while ($true) {
        try {
            $response = $http.GetAsync("$url/storage/v1/b/flowstore-probe/o").GetAwaiter().GetResult()
            if ($response.IsSuccessStatusCode) { break }
            throw "HTTP $([int]$response.StatusCode)"
        }
        catch {
            if ([DateTime]::UtcNow -gt $deadline) { throw "Start-Gcs: the emulator on $url does not answer the JSON API: $_" }
            Start-Sleep -Milliseconds 100
        }
    }
}
finally {
    $http.Dispose()
}

$env:FLOWSTORE_TEST_GCS_URL = $url
$env:FLOWSTORE_TEST_GCS_NODE = $node
$env:FLOWSTORE_TEST_GCS_EMULATOR = $emulator
$env:FLOWSTORE_TEST_GCS_MODULES = $modules
Write-Host "Start-Gcs: Cloud Storage emulator (firebase-tools $version, pid $($process.Id)) on $url, data in $data"
