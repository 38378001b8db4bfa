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

$project = Join-Path $PSScriptRoot '../Flowstore.StandIns/Flowstore.StandIns.csproj'
$null = New-Item -ItemType Directory -Force -Path $WorkDirectory
$bin = Join-Path $WorkDirectory 'bin'
$root = Join-Path $WorkDirectory 'repos'
$portFile = Join-Path $WorkDirectory 'port'
$pidFile = Join-Path $WorkDirectory 'pid'
Remove-Item -LiteralPath $portFile -ErrorAction SilentlyContinue

$build = & dotnet build $project -c Release -o $bin --nologo -v quiet 2>&1
if ($LASTEXITCODE -ne 0) { throw "Building the API stand-ins failed:`n$($build -join "`n")" }

$token = 'standin-' + [guid]::NewGuid().ToString('N')
$log = Join-Path $WorkDirectory 'standins.log'
$process = Start-Process -FilePath 'dotnet' -PassThru -RedirectStandardOutput $log -RedirectStandardError "$log.err" -ArgumentList @(
    (Join-Path $bin 'Flowstore.StandIns.dll'), '--root', $root, '--token', $token, '--port-file', $portFile, '--urls', 'http://127.0.0.1:0')
Set-Content -LiteralPath $pidFile -Value $process.Id

$deadline = [DateTime]::UtcNow.AddSeconds(60)
while (-not (Test-Path -LiteralPath $portFile)) {
    if ($process.HasExited) { throw "The API stand-ins exited ($($process.ExitCode)): $(Get-Content -Raw "$log.err" -ErrorAction SilentlyContinue)" }
    if ([DateTime]::UtcNow -gt $deadline) { throw 'The API stand-ins did not start within 60 s.' }
    Start-Sleep -Milliseconds 100
}
$url = "http://127.0.0.1:$((Get-Content -Raw -LiteralPath $portFile).Trim())"
$null = Invoke-WebRequest -Uri "$url/_standin/requests" -UseBasicParsing -TimeoutSec 10

$env:FLOWSTORE_TEST_GITHOSTS_URL = $url
$env:FLOWSTORE_TEST_GITHOSTS_ROOT = $root
$env:FLOWSTORE_TEST_GITHOSTS_TOKEN = $token
Write-Host "API stand-ins (GitHub /api/v3, GitLab /api/v4, Bitbucket Server /rest/api/1.0) at $url"
