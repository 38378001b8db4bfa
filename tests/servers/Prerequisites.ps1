# Helpers of the Start-*.ps1 scripts (dot-sourced; not a start script itself): what each test server needs from
# Debian (node and npm, git, docker.io, docker-registry), and installing what is missing with apt-get, so that a
# machine with only the .NET SDK runs every test (README, "Build and test").
# FLOWSTORE_POLICY_RC_D moves the policy-rc.d file elsewhere (tests/Pester/Prerequisites.Tests.ps1 uses it with a
# stand-in apt-get, so that no test writes into /usr/sbin).

function Get-MissingDebianPackage {
    <#
    .SYNOPSIS
    The Debian packages to install for the requirements that are not met, in order, each once.
    .PARAMETER Requirement
    Ordered: key = a command looked up on -SearchPath (node, npm, git) or an absolute file path
    (/usr/lib/git-core/git-http-backend); value = the Debian package that provides it.
    .PARAMETER SearchPath
    The PATH to look commands up on (default: this process's PATH).
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory)][System.Collections.IDictionary]$Requirement,
        [AllowEmptyString()][string]$SearchPath = $env:PATH
    )
    $packages = [System.Collections.Generic.List[string]]::new()
    foreach ($entry in $Requirement.GetEnumerator()) {
        if (-not (Test-Requirement -Name ([string]$entry.Key) -SearchPath $SearchPath) -and -not $packages.Contains([string]$entry.Value)) {
            $packages.Add([string]$entry.Value)
        }
    }
    , $packages.ToArray()
}

function Test-Requirement([string]$Name, [string]$SearchPath) {
    <# True when $Name (an absolute path, or a command looked up on $SearchPath) is an executable file. #>
    if ([IO.Path]::IsPathRooted($Name)) { return Test-Executable $Name }
    foreach ($folder in $SearchPath -split [regex]::Escape([IO.Path]::PathSeparator)) {
        if ($folder -and (Test-Executable (Join-Path $folder $Name))) { return $true }
    }
    $false
}

function Test-Executable([string]$Path) {
    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) { return $false }
    if ($IsWindows) { return $true }
    ([IO.File]::GetUnixFileMode($Path) -band [IO.UnixFileMode]'UserExecute, GroupExecute, OtherExecute') -ne 0
}

function Install-DebianPackage {
    <#
    .SYNOPSIS
    apt-get install of -Package (noninteractive, no recommends), with an apt-get update and a second try when the
    first fails (a fresh machine has no package lists). A /usr/sbin/policy-rc.d that exits 101 ("action forbidden")
    keeps the packages' services from starting during the install; it is removed afterwards unless it was there before.
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)][string[]]$Package,
        [string]$Caller = 'Install-DebianPackage',
        [string]$AptGet = 'apt-get',
        [string]$PolicyPath = $(if ($env:FLOWSTORE_POLICY_RC_D) { $env:FLOWSTORE_POLICY_RC_D } else { '/usr/sbin/policy-rc.d' })
    )
    if (-not (Get-Command $AptGet -CommandType Application -ErrorAction Ignore)) {
        throw "${Caller}: $($Package -join ', ') missing and there is no apt-get to install it: install the Debian packages $($Package -join ' ') (or their equivalents) first."
    }
    $hadPolicy = Test-Path -LiteralPath $PolicyPath
    if (-not $hadPolicy) {
        [IO.File]::WriteAllText($PolicyPath, "#!/bin/sh`nexit 101`n")
        if (-not $IsWindows) { [IO.File]::SetUnixFileMode($PolicyPath, [IO.UnixFileMode]'UserRead, UserWrite, UserExecute, GroupRead, GroupExecute, OtherRead, OtherExecute') }
    }
    $frontend = $env:DEBIAN_FRONTEND
    $output = [System.Collections.Generic.List[string]]::new()
    try {
        $env:DEBIAN_FRONTEND = 'noninteractive'
        $install = @('install', '-y', '-q', '--no-install-recommends') + $Package
        & $AptGet @install 2>&1 | ForEach-Object { $output.Add("$_"); Write-Verbose "$_" }
        $code = $LASTEXITCODE
        if ($code -ne 0) {
            & $AptGet update -q 2>&1 | ForEach-Object { $output.Add("$_"); Write-Verbose "$_" }
            & $AptGet @install 2>&1 | ForEach-Object { $output.Add("$_"); Write-Verbose "$_" }
            $code = $LASTEXITCODE
        }
        if ($code -ne 0) {
            $tail = ($output | Select-Object -Last 5) -join "`n  "
            throw "${Caller}: apt-get install $($Package -join ' ') failed (exit code $code; installing needs root):`n  $tail"
        }
    }
    finally {
        $env:DEBIAN_FRONTEND = $frontend
        if (-not $hadPolicy) { Remove-Item -LiteralPath $PolicyPath -Force -ErrorAction SilentlyContinue }
    }
}

function Install-Prerequisite {
    <#
    .SYNOPSIS
    Installs the Debian packages for the requirements that are not met (see Get-MissingDebianPackage), says so,
    and checks afterwards that every requirement is met.
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)][System.Collections.IDictionary]$Requirement,
        [string]$Caller = 'Install-Prerequisite',
        [AllowEmptyString()][string]$SearchPath = $env:PATH,
        [string]$AptGet = 'apt-get',
        [string]$PolicyPath = $(if ($env:FLOWSTORE_POLICY_RC_D) { $env:FLOWSTORE_POLICY_RC_D } else { '/usr/sbin/policy-rc.d' })
    )
    $missing = Get-MissingDebianPackage -Requirement $Requirement -SearchPath $SearchPath
    if ($missing.Count -eq 0) { return }
    $what = @($Requirement.Keys | Where-Object { -not (Test-Requirement -Name $_ -SearchPath $SearchPath) })
    Write-Host "${Caller}: $($what -join ', ') not found; installing the Debian package(s) $($missing -join ' ') with apt-get"
    Install-DebianPackage -Package $missing -Caller $Caller -AptGet $AptGet -PolicyPath $PolicyPath
    $still = @($Requirement.Keys | Where-Object { -not (Test-Requirement -Name $_ -SearchPath $SearchPath) })
    if ($still.Count -gt 0) {
        throw "${Caller}: apt-get installed $($missing -join ' '), yet $($still -join ', ') cannot be found (PATH: $SearchPath)."
    }
}
