<#
.SYNOPSIS
    Stops the PostgreSQL cluster that Start-Postgres.ps1 started (its pid file in -WorkDirectory) and removes its
    folder; does nothing when none runs.
#>
[CmdletBinding()]
param(
    [string]$WorkDirectory = (Join-Path $PSScriptRoot '../../out/servers/Postgres')
)

$bin = if ($env:FLOWSTORE_POSTGRES_BIN) { $env:FLOWSTORE_POSTGRES_BIN } else { '/usr/lib/postgresql/15/bin' }
$pidFile = Join-Path $WorkDirectory 'postgres.pid'
$pathFile = Join-Path $WorkDirectory 'cluster-path'
$clusterDir = if (Test-Path -LiteralPath $pathFile) { (Get-Content -Raw -LiteralPath $pathFile).Trim() } else { $null }
$data = if ($clusterDir) { Join-Path $clusterDir 'data' } else { $null }

if (Test-Path -LiteralPath $pidFile) {
    $id = 0
    if ([int]::TryParse((Get-Content -Raw -LiteralPath $pidFile).Trim(), [ref]$id)) {
        $process = Get-Process -Id $id -ErrorAction SilentlyContinue
        # Only the server this work directory started: a recycled pid that now runs something else is left alone.
        $cmdline = if ($process -and (Test-Path "/proc/$id/cmdline")) { (Get-Content -Raw "/proc/$id/cmdline") -replace "`0", ' ' } else { '' }
        if ($process -and $data -and $cmdline -like "*postgres*$data*") {
            $stopped = $false
            if (Test-Path -LiteralPath "$bin/pg_ctl") {
                $arguments = @('-D', $data, '-m', 'fast', '-w', '-t', '30', 'stop')
                if ((& id -u) -eq '0') { & runuser -u postgres -- "$bin/pg_ctl" @arguments *> $null } else { & "$bin/pg_ctl" @arguments *> $null }
                $stopped = $LASTEXITCODE -eq 0
            }
            if (-not $stopped -and -not $process.HasExited) {
                $process.Kill($true)
            }
            $null = $process.WaitForExit(30000)
            Write-Host "Stop-Postgres: stopped PostgreSQL (pid $id)"
        }
    }
    Remove-Item -LiteralPath $pidFile -Force -ErrorAction SilentlyContinue
}

if ($clusterDir -and (Test-Path -LiteralPath $clusterDir)) {
    Remove-Item -LiteralPath $clusterDir -Recurse -Force -ErrorAction SilentlyContinue
    # A cluster kept under the temporary directory had a folder of its own around it.
    $parent = Split-Path -Parent $clusterDir
    if ((Split-Path -Leaf $parent) -like 'flowstore-postgres-*') {
        Remove-Item -LiteralPath $parent -Recurse -Force -ErrorAction SilentlyContinue
    }
}
Remove-Item -LiteralPath $pathFile -Force -ErrorAction SilentlyContinue
