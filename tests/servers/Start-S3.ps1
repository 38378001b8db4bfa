<#
.SYNOPSIS
    Starts s3rver (npm s3rver@3.7.1), the S3 server the S3 storage tests talk to (tests/servers/README.md).
.DESCRIPTION
    Installs Debian's nodejs and npm when node or npm is missing (apt-get, Prerequisites.ps1), then s3rver with
    npm into <WorkDirectory>/npm when it is missing (idempotent), starts it bound to
    127.0.0.1 on a free port with its data under <WorkDirectory>/data, waits until it answers, writes
    <WorkDirectory>/s3rver.pid and sets:
      FLOWSTORE_TEST_S3_URL         http://127.0.0.1:PORT (path-style, region us-east-1)
      FLOWSTORE_TEST_S3_ACCESS_KEY  S3RVER (the only access key s3rver accepts)
      FLOWSTORE_TEST_S3_SECRET_KEY  S3RVER (s3rver does not check the secret)
      FLOWSTORE_TEST_S3_COMMAND     the s3rver executable, for tests that start and stop their own instance
                                    (fault tests): "$env:FLOWSTORE_TEST_S3_COMMAND -d DIR -a 127.0.0.1 -p PORT --silent"
#>
[CmdletBinding()]
param(
    [string]$WorkDirectory = (Join-Path $PSScriptRoot '../../out/servers/S3')
)

$ErrorActionPreference = 'Stop'
$version = '3.7.1'
$null = New-Item -ItemType Directory -Force -Path $WorkDirectory
$WorkDirectory = (Resolve-Path -LiteralPath $WorkDirectory).Path
$pidFile = Join-Path $WorkDirectory 's3rver.pid'

# Installed once per work directory; the package.json check makes a version change reinstall.
$prefix = Join-Path $WorkDirectory 'npm'
$command = Join-Path $prefix 'node_modules/.bin/s3rver'
$installed = Join-Path $prefix 'node_modules/s3rver/package.json'
$haveVersion = if (Test-Path -LiteralPath $installed) { (Get-Content -Raw -LiteralPath $installed | ConvertFrom-Json).version }
if ($haveVersion -ne $version -or -not (Test-Path -LiteralPath $command)) {
    # Debian's nodejs and npm when missing (apt-get, needs root).
    . (Join-Path $PSScriptRoot 'Prerequisites.ps1')
    Install-Prerequisite -Caller 'Start-S3' -Requirement ([ordered]@{ node = 'nodejs'; npm = 'npm' })
    Write-Host "Start-S3: installing s3rver@$version into $prefix"
    $null = New-Item -ItemType Directory -Force -Path $prefix
    $npmLog = Join-Path $WorkDirectory 'npm-install.log'
    & npm install --prefix $prefix "s3rver@$version" --no-audit --no-fund --loglevel=error *> $npmLog
    if ($LASTEXITCODE -ne 0 -or -not (Test-Path -LiteralPath $command)) {
        throw "Start-S3: npm install s3rver@$version failed (exit $LASTEXITCODE); see $npmLog."
    }
}

# A server this script started earlier and that still runs is stopped first: one instance per work directory.
if (Test-Path -LiteralPath $pidFile) {
    & (Join-Path $PSScriptRoot 'Stop-S3.ps1') -WorkDirectory $WorkDirectory
}

function Get-FreePort {
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start()
    try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
}

$data = Join-Path $WorkDirectory 'data'
if (Test-Path -LiteralPath $data) { Remove-Item -LiteralPath $data -Recurse -Force }
$null = New-Item -ItemType Directory -Force -Path $data
$port = Get-FreePort
$log = Join-Path $WorkDirectory 's3rver.log'
$process = Start-Process -FilePath $command -ArgumentList @('-d', $data, '-a', '127.0.0.1', '-p', "$port", '--silent') `
    -RedirectStandardOutput $log -RedirectStandardError "$log.err" -PassThru
Set-Content -LiteralPath $pidFile -Value $process.Id

$url = "http://127.0.0.1:$port"
$deadline = [DateTime]::UtcNow.AddSeconds(30)
$http = [System.Net.Http.HttpClient]::new()
$http.Timeout = [TimeSpan]::FromSeconds(2)
try {
    while ($true) {
        if ($process.HasExited) {
            $err = Get-Content -Raw -LiteralPath "$log.err" -ErrorAction SilentlyContinue
            Remove-Item -LiteralPath $pidFile -Force
            throw "Start-S3: s3rver exited with code $($process.ExitCode) before answering on $url. $err"
        }
        try {
            # Any HTTP answer (s3rver lists buckets or refuses the anonymous call) means it is up.
            $null = $http.GetAsync($url + '/').GetAwaiter().GetResult()
            break
        }
        catch {
            if ([DateTime]::UtcNow -gt $deadline) {
                throw "Start-S3: s3rver (pid $($process.Id)) did not answer on $url within 30 s; see $log.err."
            }
            Start-Sleep -Milliseconds 100
        }
    }
}
finally {
    $http.Dispose()
}

$env:FLOWSTORE_TEST_S3_URL = $url
$env:FLOWSTORE_TEST_S3_ACCESS_KEY = 'S3RVER'
$env:FLOWSTORE_TEST_S3_SECRET_KEY = 'S3RVER'
$env:FLOWSTORE_TEST_S3_COMMAND = $command
Write-Host "Start-S3: s3rver $version (pid $($process.Id)) on $url, data in $data"
