<#
.SYNOPSIS
Starts a smart-HTTP Git server (git http-backend behind tests/servers/GitHttp) on 127.0.0.1 for the Git storage tests.

.DESCRIPTION
Builds the small CGI host in tests/servers/GitHttp, starts it on a free port with its bare repositories under
-WorkDirectory, waits until it answers, and sets:
  FLOWSTORE_TEST_GIT_URL    base URL; the repository <ROOT>/<name>.git is served at <URL>/<name>.git
  FLOWSTORE_TEST_GIT_ROOT   folder of the bare repositories: tests create their own (git init --bare <ROOT>/<name>.git)
  FLOWSTORE_TEST_GIT_TOKEN  the token the server accepts as the HTTP Basic password (any user name)
Pushes are enabled (http.receivepack) and commits can be fetched by SHA (uploadpack.allowReachableSHA1InWant) for
every repository, through the server's global git configuration; a repository's own config can turn either off.
Installs Debian's git (apt-get, Prerequisites.ps1) when git or git-http-backend is missing.
#>
[CmdletBinding()]
param([Parameter(Mandatory)][string]$WorkDirectory)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$backend = '/usr/lib/git-core/git-http-backend'
. (Join-Path $PSScriptRoot 'Prerequisites.ps1')
Install-Prerequisite -Caller 'Start-Git' -Requirement ([ordered]@{ git = 'git'; $backend = 'git' })

$null = New-Item -ItemType Directory -Force -Path $WorkDirectory
$WorkDirectory = (Resolve-Path -LiteralPath $WorkDirectory).ProviderPath
$root = Join-Path $WorkDirectory 'repos'
$null = New-Item -ItemType Directory -Force -Path $root
$token = 'gittest-' + [guid]::NewGuid().ToString('N')

. (Join-Path $PSScriptRoot 'DotnetServer.ps1')
$url = Start-DotnetServer -Name 'Git HTTP server' -Project (Join-Path $PSScriptRoot 'GitHttp/GitHttp.csproj') -Dll 'GitHttp.dll' `
    -WorkDirectory $WorkDirectory -Arguments '--root', $root, '--token', $token, '--backend', $backend -HealthPath '/_health' -Log 'githttp.log'

$env:FLOWSTORE_TEST_GIT_URL = $url
$env:FLOWSTORE_TEST_GIT_ROOT = $root
$env:FLOWSTORE_TEST_GIT_TOKEN = $token
Write-Host "Git smart HTTP (git http-backend) at $url, repositories under $root"
