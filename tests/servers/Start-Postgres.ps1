<#
.SYNOPSIS
    Starts a PostgreSQL 15 cluster of its own for the PostgreSQL backend tests (tests/servers/README.md).
.DESCRIPTION
    Installs Debian's postgresql-15 when initdb or pg_ctl is missing from /usr/lib/postgresql/15/bin (or from
    $env:FLOWSTORE_POSTGRES_BIN when set) with apt-get under a policy-rc.d that exits 101, so the package does not
    start a cluster of its own on 5432 (Prerequisites.ps1). Then creates a fresh cluster with initdb (trust
    authentication, fsync off: test data only) in <WorkDirectory>/cluster/data and starts it with pg_ctl on a free
    port of 127.0.0.1, its Unix socket in <WorkDirectory>/cluster. PostgreSQL refuses to run as root: when this script
    runs as root, initdb and pg_ctl run as the 'postgres' user of the Debian package, and when that user cannot reach
    <WorkDirectory> (a repository under /root) the cluster lives in a folder under the temporary directory instead,
    named in <WorkDirectory>/cluster-path. Writes <WorkDirectory>/postgres.pid and sets:
      FLOWSTORE_TEST_POSTGRES_CONNECTION_STRING  Host=127.0.0.1;Port=PORT;Username=postgres;Database=postgres
      FLOWSTORE_TEST_POSTGRES_HOST               127.0.0.1
      FLOWSTORE_TEST_POSTGRES_PORT               PORT
      FLOWSTORE_TEST_POSTGRES_USER               postgres (a superuser: tests create a database per test class)
      FLOWSTORE_TEST_POSTGRES_BIN                the folder of initdb and pg_ctl, for tests that run a cluster of
                                                 their own (a restart while a backend is open)
    Idempotent: a cluster this work directory started earlier is stopped and replaced.
#>
[CmdletBinding()]
param(
    [string]$WorkDirectory = (Join-Path $PSScriptRoot '../../out/servers/Postgres')
)

$ErrorActionPreference = 'Stop'
$bin = if ($env:FLOWSTORE_POSTGRES_BIN) { $env:FLOWSTORE_POSTGRES_BIN } else { '/usr/lib/postgresql/15/bin' }
$null = New-Item -ItemType Directory -Force -Path $WorkDirectory
$WorkDirectory = (Resolve-Path -LiteralPath $WorkDirectory).Path

. (Join-Path $PSScriptRoot 'Prerequisites.ps1')
Install-Prerequisite -Caller 'Start-Postgres' -Requirement ([ordered]@{
        "$bin/initdb" = 'postgresql-15'
        "$bin/pg_ctl" = 'postgresql-15'
    })

# One cluster per work directory: stop what an earlier start left running.
& (Join-Path $PSScriptRoot 'Stop-Postgres.ps1') -WorkDirectory $WorkDirectory

$isRoot = (& id -u) -eq '0'
$runAs = if ($isRoot) { 'postgres' } else { $null }

function Invoke-AsClusterOwner {
    param([string]$Command, [string[]]$Arguments, [string]$Log)
    if ($runAs) { & runuser -u $runAs -- $Command @Arguments *> $Log } else { & $Command @Arguments *> $Log }
    $LASTEXITCODE
}

function Get-FreePort {
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start()
    try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
}

# The cluster's folder: in the work directory when its owner can reach it, else under the temporary directory.
# (A Unix socket's path has at most 107 bytes: a deep work directory also moves it there.)
$clusterRoot = $WorkDirectory
$reachable = $WorkDirectory.Length -le 70
if ($reachable -and $runAs) {
    & runuser -u $runAs -- test -x $WorkDirectory 2>$null
    $reachable = $LASTEXITCODE -eq 0
}
if (-not $reachable) {
    $clusterRoot = Join-Path ([IO.Path]::GetTempPath()) ("flowstore-postgres-" + [Guid]::NewGuid().ToString('N').Substring(0, 12))
    $null = New-Item -ItemType Directory -Force -Path $clusterRoot
}
$clusterDir = Join-Path $clusterRoot 'cluster'
if (Test-Path -LiteralPath $clusterDir) { Remove-Item -LiteralPath $clusterDir -Recurse -Force }
$null = New-Item -ItemType Directory -Force -Path $clusterDir
if ($runAs) {
    & chown "${runAs}:" $clusterDir
    if ($LASTEXITCODE -ne 0) { throw "Start-Postgres: cannot give $clusterDir to the user $runAs (chown exit $LASTEXITCODE)." }
}
Set-Content -LiteralPath (Join-Path $WorkDirectory 'cluster-path') -Value $clusterDir

$data = Join-Path $clusterDir 'data'
$initLog = Join-Path $WorkDirectory 'initdb.log'
$code = Invoke-AsClusterOwner "$bin/initdb" @('-D', $data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync') $initLog
if ($code -ne 0) {
    $tail = (Get-Content -LiteralPath $initLog -Tail 5 -ErrorAction SilentlyContinue) -join "`n  "
    throw "Start-Postgres: initdb failed (exit $code); see ${initLog}:`n  $tail"
}

$port = Get-FreePort
$serverLog = Join-Path $clusterDir 'postgres.log'
$ctlLog = Join-Path $WorkDirectory 'pg_ctl.log'
$options = "-c listen_addresses=127.0.0.1 -p $port -k $clusterDir -c fsync=off -c max_connections=300"
$code = Invoke-AsClusterOwner "$bin/pg_ctl" @('-D', $data, '-l', $serverLog, '-o', $options, '-w', '-t', '60', 'start') $ctlLog
$postmasterPid = Join-Path $data 'postmaster.pid'
if (Test-Path -LiteralPath $postmasterPid) {
    # The first line of postmaster.pid is the server's pid: what Stop-Postgres stops.
    Set-Content -LiteralPath (Join-Path $WorkDirectory 'postgres.pid') -Value (Get-Content -LiteralPath $postmasterPid -TotalCount 1)
}
if ($code -ne 0) {
    $tail = (Get-Content -LiteralPath $serverLog -Tail 5 -ErrorAction SilentlyContinue) -join "`n  "
    throw "Start-Postgres: pg_ctl start failed (exit $code) on 127.0.0.1:$port; see ${serverLog}:`n  $tail"
}

# pg_ctl -w waited until the server accepts connections; check from here too, over TCP.
& "$bin/pg_isready" -h 127.0.0.1 -p $port -t 30 *> $null
if ($LASTEXITCODE -ne 0) {
    throw "Start-Postgres: PostgreSQL does not answer on 127.0.0.1:$port; see $serverLog."
}

$env:FLOWSTORE_TEST_POSTGRES_CONNECTION_STRING = "Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
$env:FLOWSTORE_TEST_POSTGRES_HOST = '127.0.0.1'
$env:FLOWSTORE_TEST_POSTGRES_PORT = "$port"
$env:FLOWSTORE_TEST_POSTGRES_USER = 'postgres'
$env:FLOWSTORE_TEST_POSTGRES_BIN = $bin
Write-Host "Start-Postgres: PostgreSQL 15 on 127.0.0.1:$port, cluster in $data"
