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

$project = Join-Path $PSScriptRoot 'GitHttp/GitHttp.csproj'
$null = New-Item -ItemType Directory -Force -Path $WorkDirectory
$WorkDirectory = (Resolve-Path -LiteralPath $WorkDirectory).ProviderPath
$bin = Join-Path $WorkDirectory 'bin'
$root = Join-Path $WorkDirectory 'repos'
$portFile = Join-Path $WorkDirectory 'port'
$pidFile = Join-Path $WorkDirectory 'pid'
Remove-Item -LiteralPath $portFile -ErrorAction SilentlyContinue
$null = New-Item -ItemType Directory -Force -Path $root

$build = & dotnet build $project -c Release -o $bin --nologo -v quiet 2>&1
if ($LASTEXITCODE -ne 0) { throw "Building the Git HTTP server failed:`n$($build -join "`n")" }

$token = 'gittest-' + [guid]::NewGuid().ToString('N')
$log = Join-Path $WorkDirectory 'githttp.log'
$process = Start-Process -FilePath 'dotnet' -PassThru -RedirectStandardOutput $log -RedirectStandardError "$log.err" -ArgumentList @(
    (Join-Path $bin 'GitHttp.dll'), '--root', $root, '--token', $token, '--port-file', $portFile, '--backend', $backend)
Set-Content -LiteralPath $pidFile -Value $process.Id

$deadline = [DateTime]::UtcNow.AddSeconds(60)
while (-not (Test-Path -LiteralPath $portFile)) {
    if ($process.HasExited) { throw "The Git HTTP server exited ($($process.ExitCode)): $(Get-Content -Raw "$log.err" -ErrorAction SilentlyContinue)" }
    if ([DateTime]::UtcNow -gt $deadline) { throw 'The Git HTTP server did not start within 60 s.' }
    Start-Sleep -Milliseconds 100
}
$url = "http://127.0.0.1:$((Get-Content -Raw -LiteralPath $portFile).Trim())"
$null = Invoke-WebRequest -Uri "$url/_health" -UseBasicParsing -TimeoutSec 10

$env:FLOWSTORE_TEST_GIT_URL = $url
$env:FLOWSTORE_TEST_GIT_ROOT = $root
$env:FLOWSTORE_TEST_GIT_TOKEN = $token
Write-Host "Git smart HTTP (git http-backend) at $url, repositories under $root"
