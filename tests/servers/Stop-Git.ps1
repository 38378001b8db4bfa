<#
.SYNOPSIS
Stops the Git HTTP server started by Start-Git.ps1 (only that process; nothing when none is running).
#>
[CmdletBinding()]
param([Parameter(Mandatory)][string]$WorkDirectory)

. (Join-Path $PSScriptRoot 'DotnetServer.ps1')
Stop-DotnetServer -WorkDirectory $WorkDirectory
