<#
.SYNOPSIS
The main job: registers the seed's example flow on the embedded backend and runs it.

.DESCRIPTION
Uses $env:FLOWSTORE_HOME (default ~/.flowstore). The first call registers version 1; later calls report
"Skipped (metadata unchanged)" until the flow's structure changes. The run fetches the current script from
its storage (the local file), checks its structure and runs get_data -> print_data.
#>
[CmdletBinding()]
param(
    [string]$Project = 'MyProject',
    [string]$Path = (Join-Path $PSScriptRoot 'flows/my_flow.cs')
)

$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../Flowstore.psd1')

Write-Host "Flowstore home: $(if ($env:FLOWSTORE_HOME) { $env:FLOWSTORE_HOME } else { '~/.flowstore' })"
if (-not (Get-FlowProject -Name $Project -ErrorAction SilentlyContinue)) {
    New-FlowProject -Name $Project | Out-Null
}

Write-Host "`nRegister-Flow -Path $Path -Project $Project"
$registration = Register-Flow -Path $Path -Project $Project
$registration | Format-Table Name, Project, Version, Status, Id, Reason -AutoSize | Out-Host

Write-Host "Start-FlowRun -Name $($registration.Name) -Project $Project -Wait"
$run = Start-FlowRun -Name $registration.Name -Project $Project -Wait
$run.Tasks | Format-Table Name, State, Attempts -AutoSize | Out-Host
$run | Format-Table FlowName, Project, FlowVersion, State, ScriptSha256 -AutoSize | Out-Host
if ($run.State -ne 'Success') {
    throw "The example run ended $($run.State): $($run.Error)"
}
