<#
.SYNOPSIS
Stops the Git HTTP server started by Start-Git.ps1 (only that process; nothing when none is running).
#>
[CmdletBinding()]
param([Parameter(Mandatory)][string]$WorkDirectory)

$pidFile = Join-Path $WorkDirectory 'pid'
if (Test-Path -LiteralPath $pidFile) {
    $id = [int](Get-Content -Raw -LiteralPath $pidFile)
    $process = Get-Process -Id $id -ErrorAction SilentlyContinue
    if ($process -and $process.ProcessName -like 'dotnet*') {
        $process.Kill($true)
        $null = $process.WaitForExit(10000)
    }
    Remove-Item -LiteralPath $pidFile -ErrorAction SilentlyContinue
}
