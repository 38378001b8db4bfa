<#
.SYNOPSIS
    Stops the Docker engine and registries Start-Docker.ps1 started (by the pid files in -WorkDirectory).
    Never throws when nothing is running.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string]$WorkDirectory
)
$ErrorActionPreference = 'Continue'
. (Join-Path $PSScriptRoot 'DockerServers.ps1')

$work = [IO.Path]::GetFullPath($WorkDirectory)
if (-not (Test-Path -LiteralPath $work)) {
    return
}
# The engine first (it stops its containerd), then the registries.
foreach ($name in 'dockerd', 'registry', 'registry-auth') {
    Stop-PidFileProcess -PidFile (Join-Path $work "$name.pid")
}
