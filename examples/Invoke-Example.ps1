<#
.SYNOPSIS
The main job: registers the seed's example flow on the embedded backend and runs it.

.DESCRIPTION
Uses $env:FLOWSTORE_HOME (default ~/.flowstore) and a project of its own, Example (the README's quick start uses
MyProject, so the two never meet). The first call registers version 1; later calls report "Skipped (metadata
unchanged)" until the flow's structure changes. The run fetches the current script from
its storage (the local file), checks its structure and runs get_data -> print_data.
#>
[CmdletBinding()]
param(
    [string]$Project = 'Example',
    [string]$Path = (Join-Path $PSScriptRoot 'flows/my_flow.cs')
)

$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../Flowstore.psd1')

Write-Host "Flowstore home: $(if ($env:FLOWSTORE_HOME) { $env:FLOWSTORE_HOME } else { '~/.flowstore' })"

# The module's own views: what a user sees at the prompt, and narrow enough for an 80-column terminal.
Write-Host "`nRegister-Flow -Path $Path -Project $Project -CreateProject"
$registration = Register-Flow -Path $Path -Project $Project -CreateProject
$registration | Out-Host

Write-Host "Start-FlowRun -Name $($registration.Name) -Project $Project -Wait"
$run = Start-FlowRun -Name $registration.Name -Project $Project -Wait
$run.Tasks | Out-Host
$run | Out-Host
if ($run.State -ne 'Success') {
    throw "The example run ended $($run.State): $($run.Error)"
}
