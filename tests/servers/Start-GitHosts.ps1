<#
.SYNOPSIS
Starts the GitHub / GitLab / Bitbucket Server API stand-ins (tests/Flowstore.StandIns) on 127.0.0.1.

.DESCRIPTION
No real GitHub, GitLab or Bitbucket Server can run here, so the tests use faithful local servers of exactly the
documented endpoints the storage clients call, over real bare git repositories. This builds the stand-in, starts
it on a free port with its repositories under -WorkDirectory, waits until it answers, and sets:
  FLOWSTORE_TEST_GITHOSTS_URL    base URL (GitHub API under /api/v3, GitLab under /api/v4, Bitbucket under /rest/api/1.0)
  FLOWSTORE_TEST_GITHOSTS_ROOT   folder of the bare repositories (<full name>.git); tests create their own
  FLOWSTORE_TEST_GITHOSTS_TOKEN  the one token the stand-ins accept
Installs Debian's git (apt-get, Prerequisites.ps1) when it is missing.
#>
[CmdletBinding()]
param([Parameter(Mandatory)][string]$WorkDirectory)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

# The stand-ins keep real bare repositories and serve them with the git command line.
. (Join-Path $PSScriptRoot 'Prerequisites.ps1')
Install-Prerequisite -Caller 'Start-GitHosts' -Requirement ([ordered]@{ git = 'git' })

$null = New-Item -ItemType Directory -Force -Path $WorkDirectory
$WorkDirectory = (Resolve-Path -LiteralPath $WorkDirectory).ProviderPath
$root = Join-Path $WorkDirectory 'repos'
$token = 'standin-' + [guid]::NewGuid().ToString('N')

. (Join-Path $PSScriptRoot 'DotnetServer.ps1')
$url = Start-DotnetServer -Name 'API stand-ins' -Project (Join-Path $PSScriptRoot '../Flowstore.StandIns/Flowstore.StandIns.csproj') `
    -Dll 'Flowstore.StandIns.dll' -WorkDirectory $WorkDirectory -Arguments '--root', $root, '--token', $token, '--urls', 'http://127.0.0.1:0' `
    -HealthPath '/_standin/requests' -Log 'standins.log'

$env:FLOWSTORE_TEST_GITHOSTS_URL = $url
$env:FLOWSTORE_TEST_GITHOSTS_ROOT = $root
$env:FLOWSTORE_TEST_GITHOSTS_TOKEN = $token
Write-Host "API stand-ins (GitHub /api/v3, GitLab /api/v4, Bitbucket Server /rest/api/1.0) at $url"
