<#
.SYNOPSIS
    Starts a private Docker engine (Debian docker.io) and two Docker registries (Debian docker-registry) for the
    Docker storage tests, all on 127.0.0.1 with their state under -WorkDirectory.
.DESCRIPTION
    Installs docker.io and docker-registry with apt-get when missing (a /usr/sbin/policy-rc.d that exits 101 keeps
    the packages' services from starting during the install). Then starts:
    - dockerd with its own socket, data root, exec root and pid file under -WorkDirectory (never the system's
      /var/run/docker.sock or /var/lib/docker), --storage-driver=vfs --iptables=false --bridge=none;
    - an open registry (anonymous push and pull);
    - a registry protected by htpasswd (user flowstore), for credentials and denied pushes.
    Sets FLOWSTORE_TEST_DOCKER_HOST, FLOWSTORE_TEST_REGISTRY_URL, FLOWSTORE_TEST_REGISTRY_AUTH_URL,
    FLOWSTORE_TEST_REGISTRY_USER and FLOWSTORE_TEST_REGISTRY_PASSWORD. Stop-Docker.ps1 stops what this started.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string]$WorkDirectory
)
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'DockerServers.ps1')

$work = [IO.Path]::GetFullPath($WorkDirectory)
$null = New-Item -ItemType Directory -Force -Path $work

# Whatever a previous start left running is stopped first (idempotent restart).
& (Join-Path $PSScriptRoot 'Stop-Docker.ps1') -WorkDirectory $work

Install-DockerPackages

# ---------------------------------------------------------------- registries
$user = 'flowstore'
$password = 'flowstore-test-password'
# bcrypt (cost 5) of the password above: the registry accepts only bcrypt in its htpasswd file.
$htpasswd = Join-Path $work 'htpasswd'
[IO.File]::WriteAllText($htpasswd, "${user}:`$2b`$05`$26XOTcJ0zxRh1RkVMWEt.enrRTGhB7q/aGvgK3OhwcvMstMSwvmU.`n")

$open = Start-TestRegistry -WorkDirectory $work -Name 'registry'
$protected = Start-TestRegistry -WorkDirectory $work -Name 'registry-auth' -HtpasswdPath $htpasswd

# ---------------------------------------------------------------- engine
$engine = Start-TestDockerEngine -WorkDirectory $work

$env:FLOWSTORE_TEST_DOCKER_HOST = $engine
$env:FLOWSTORE_TEST_REGISTRY_URL = $open
$env:FLOWSTORE_TEST_REGISTRY_AUTH_URL = $protected
$env:FLOWSTORE_TEST_REGISTRY_USER = $user
$env:FLOWSTORE_TEST_REGISTRY_PASSWORD = $password
# For developers: `. <work>/env.ps1` sets the same variables in another shell.
@(
    "`$env:FLOWSTORE_TEST_DOCKER_HOST = '$engine'"
    "`$env:FLOWSTORE_TEST_REGISTRY_URL = '$open'"
    "`$env:FLOWSTORE_TEST_REGISTRY_AUTH_URL = '$protected'"
    "`$env:FLOWSTORE_TEST_REGISTRY_USER = '$user'"
    "`$env:FLOWSTORE_TEST_REGISTRY_PASSWORD = '$password'"
) | Set-Content -LiteralPath (Join-Path $work 'env.ps1')
Write-Verbose "Docker engine at $engine; registries at $open (open) and $protected (htpasswd)."
