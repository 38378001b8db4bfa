<#
.SYNOPSIS
    Stops the Cloud Storage emulator that Start-Gcs.ps1 started (its pid file in -WorkDirectory); does nothing when
    none runs.
#>
[CmdletBinding()]
param(
    [string]$WorkDirectory = (Join-Path $PSScriptRoot '../../out/servers/Gcs')
)

$pidFile = Join-Path $WorkDirectory 'emulator.pid'
if (-not (Test-Path -LiteralPath $pidFile)) {
    return
}
$id = 0
if ([int]::TryParse((Get-Content -Raw -LiteralPath $pidFile).Trim(), [ref]$id)) {
    $process = Get-Process -Id $id -ErrorAction SilentlyContinue
    # Only the process this work directory started: a recycled pid that now runs something else is left alone.
    $cmdline = if ($process -and (Test-Path "/proc/$id/cmdline")) { (Get-Content -Raw "/proc/$id/cmdline") -replace "`0", ' ' } else { '' }
    if ($process -and $cmdline -like '*gcs-emulator.js*') {
        $process.Kill()
        $null = $process.WaitForExit(10000)
        Write-Host "Stop-Gcs: stopped the Cloud Storage emulator (pid $id)"
    }
}
Remove-Item -LiteralPath $pidFile -Force -ErrorAction SilentlyContinue
