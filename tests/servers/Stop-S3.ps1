<#
.SYNOPSIS
    Stops the s3rver that Start-S3.ps1 started (its pid file in -WorkDirectory); does nothing when none runs.
#>
[CmdletBinding()]
param(
    [string]$WorkDirectory = (Join-Path $PSScriptRoot '../../out/servers/S3')
)

$pidFile = Join-Path $WorkDirectory 's3rver.pid'
if (-not (Test-Path -LiteralPath $pidFile)) {
    return
}
$id = 0
if ([int]::TryParse((Get-Content -Raw -LiteralPath $pidFile).Trim(), [ref]$id)) {
    $process = Get-Process -Id $id -ErrorAction SilentlyContinue
    # Only the process this work directory started: a recycled pid that now runs something else is left alone.
    $cmdline = if ($process -and (Test-Path "/proc/$id/cmdline")) { (Get-Content -Raw "/proc/$id/cmdline") -replace "`0", ' ' } else { "$($process.Path)" }
    if ($process -and $cmdline -like '*s3rver*') {
        $process.Kill()
        $null = $process.WaitForExit(10000)
        Write-Host "Stop-S3: stopped s3rver (pid $id)"
    }
}
Remove-Item -LiteralPath $pidFile -Force -ErrorAction SilentlyContinue
