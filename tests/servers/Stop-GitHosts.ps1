<#
.SYNOPSIS
Stops the API stand-ins started by Start-GitHosts.ps1 (only that process; nothing when none is running).
#>
[CmdletBinding()]
param([Parameter(Mandatory)][string]$WorkDirectory)

. (Join-Path $PSScriptRoot 'DotnetServer.ps1')
Stop-DotnetServer -WorkDirectory $WorkDirectory
