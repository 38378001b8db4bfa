# The test servers' start scripts install what they need from Debian when it is missing (tests/servers/Prerequisites.ps1).
# Nothing here installs or removes a package: a stand-in apt-get records what it was asked, and the policy-rc.d file
# goes into TestDrive.

BeforeAll {
    $ErrorActionPreference = 'Stop'
    $servers = (Resolve-Path "$PSScriptRoot/../servers").Path
    . (Join-Path $servers 'Prerequisites.ps1')

    function New-FakeBin([string]$Path, [string[]]$Command) {
        $null = New-Item -ItemType Directory -Force -Path $Path
        foreach ($c in $Command) {
            $file = Join-Path $Path $c
            [IO.File]::WriteAllText($file, "#!/bin/sh`nexit 0`n")
            [IO.File]::SetUnixFileMode($file, [IO.UnixFileMode]'UserRead, UserWrite, UserExecute')
        }
        (Resolve-Path $Path).Path
    }

    # A stand-in apt-get: logs each call and whether the policy file exists then (and what it says); 'install' fails
    # until 'update' ran (a fresh machine has no package lists), then puts each installed package's command into $Bin.
    function New-FakeAptGet([string]$Folder, [string]$Bin, [string]$Policy, [switch]$AlwaysFail) {
        $null = New-Item -ItemType Directory -Force -Path $Folder
        $log = Join-Path $Folder 'apt.log'
        $state = Join-Path $Folder 'updated'
        $fail = if ($AlwaysFail) { 'echo "E: Unable to locate package $2" >&2; exit 100' } else { '' }
        $script = @"
#!/bin/sh
p='policy=none'
if [ -f '$Policy' ]; then while IFS= read -r l; do p="policy=`$l"; done < '$Policy'; fi
echo "`$* | `$p" >> '$log'
$fail
case "`$1" in
  update) : > '$state' ;;
  install)
    [ -f '$state' ] || { echo "E: Unable to locate package" >&2; exit 100; }
    for a in "`$@"; do
      case "`$a" in
        npm) printf '#!/bin/sh\n' > '$Bin/npm'; chmod +x '$Bin/npm' ;;
        nodejs) printf '#!/bin/sh\n' > '$Bin/node'; chmod +x '$Bin/node' ;;
      esac
    done ;;
esac
exit 0
"@
        $apt = Join-Path $Folder 'apt-get'
        [IO.File]::WriteAllText($apt, $script.Replace("`r`n", "`n"))
        [IO.File]::SetUnixFileMode($apt, [IO.UnixFileMode]'UserRead, UserWrite, UserExecute')
        [pscustomobject]@{ Path = $apt; Log = $log }
    }
}

Describe 'Get-MissingDebianPackage' {
    It 'names npm when the PATH has node but no npm' {
        $bin = New-FakeBin "$TestDrive/node-only" 'node', 'git'
        Get-MissingDebianPackage -Requirement ([ordered]@{ node = 'nodejs'; npm = 'npm'; git = 'git' }) -SearchPath $bin |
            Should -Be 'npm'
    }

    It 'names nodejs and npm, in order, when the PATH has neither' {
        $bin = New-FakeBin "$TestDrive/empty" @()
        (Get-MissingDebianPackage -Requirement ([ordered]@{ node = 'nodejs'; npm = 'npm' }) -SearchPath $bin) -join ' ' |
            Should -BeExactly 'nodejs npm'
    }

    It 'names nothing when every command is on the PATH, and each package once' {
        $bin = New-FakeBin "$TestDrive/all" 'node', 'npm'
        (Get-MissingDebianPackage -Requirement ([ordered]@{ node = 'nodejs'; npm = 'npm' }) -SearchPath "/nonexistent$([IO.Path]::PathSeparator)$bin") -join ' ' |
            Should -BeExactly ''
        Get-MissingDebianPackage -Requirement ([ordered]@{ git = 'git'; "$TestDrive/no/git-http-backend" = 'git' }) -SearchPath $bin |
            Should -Be @('git')
    }

    It 'does not count a file that is not executable' {
        $bin = New-FakeBin "$TestDrive/noexec" 'npm'
        [IO.File]::SetUnixFileMode((Join-Path $bin 'npm'), [IO.UnixFileMode]'UserRead, UserWrite')
        Get-MissingDebianPackage -Requirement ([ordered]@{ npm = 'npm' }) -SearchPath $bin | Should -Be @('npm')
    }
}

Describe 'Install-Prerequisite' {
    It 'installs the missing package with apt-get under a policy-rc.d that exits 101, updating the lists when needed, and removes the policy after' {
        $bin = New-FakeBin "$TestDrive/i1/bin" 'node'
        $policy = "$TestDrive/i1/policy-rc.d"
        $apt = New-FakeAptGet "$TestDrive/i1/apt" -Bin $bin -Policy $policy

        $said = Install-Prerequisite -Caller 'Start-S3' -Requirement ([ordered]@{ node = 'nodejs'; npm = 'npm' }) `
            -SearchPath $bin -AptGet $apt.Path -PolicyPath $policy 6>&1 | Out-String

        $said | Should -Match 'Start-S3: npm not found; installing the Debian package\(s\) npm with apt-get'
        Get-Content $apt.Log | Should -Be @(
            'install -y -q --no-install-recommends npm | policy=exit 101'
            'update -q | policy=exit 101'
            'install -y -q --no-install-recommends npm | policy=exit 101')
        Test-Path $policy | Should -BeFalse
        Test-Path "$bin/npm" | Should -BeTrue
    }

    It 'keeps a policy-rc.d that was there before' {
        $bin = New-FakeBin "$TestDrive/i2/bin" @()
        $policy = "$TestDrive/i2/policy-rc.d"
        Set-Content -LiteralPath $policy -Value "#!/bin/sh`nexit 0"
        $apt = New-FakeAptGet "$TestDrive/i2/apt" -Bin $bin -Policy $policy
        $null = New-Item -ItemType File -Path "$TestDrive/i2/apt/updated"

        Install-Prerequisite -Requirement ([ordered]@{ node = 'nodejs'; npm = 'npm' }) -SearchPath $bin -AptGet $apt.Path -PolicyPath $policy 6>$null

        Get-Content $apt.Log | Should -Be 'install -y -q --no-install-recommends nodejs npm | policy=exit 0'
        Get-Content -Raw $policy | Should -Match 'exit 0'
    }

    It 'asks apt-get for nothing when nothing is missing' {
        $bin = New-FakeBin "$TestDrive/i3/bin" 'node', 'npm'
        $apt = New-FakeAptGet "$TestDrive/i3/apt" -Bin $bin -Policy "$TestDrive/i3/policy-rc.d"
        Install-Prerequisite -Requirement ([ordered]@{ node = 'nodejs'; npm = 'npm' }) -SearchPath $bin -AptGet $apt.Path -PolicyPath "$TestDrive/i3/policy-rc.d"
        Test-Path $apt.Log | Should -BeFalse
    }

    It 'fails naming the packages and apt-get''s last words when the install fails' {
        $bin = New-FakeBin "$TestDrive/i4/bin" @()
        $apt = New-FakeAptGet "$TestDrive/i4/apt" -Bin $bin -Policy "$TestDrive/i4/policy-rc.d" -AlwaysFail
        { Install-Prerequisite -Caller 'Start-Git' -Requirement ([ordered]@{ git = 'git' }) -SearchPath $bin -AptGet $apt.Path -PolicyPath "$TestDrive/i4/policy-rc.d" 6>$null } |
            Should -Throw '*Start-Git: apt-get install git failed (exit code 100*Unable to locate package*'
        Test-Path "$TestDrive/i4/policy-rc.d" | Should -BeFalse
    }
}

Describe 'Start scripts on a machine without the tools' {
    BeforeAll {
        # One child pwsh whose PATH holds only a stand-in apt-get that fails: each script must try to install, then stop.
        $cases = 'S3', 'Gcs', 'Git', 'GitHosts', 'Postgres'
        $script = [System.Text.StringBuilder]::new()
        foreach ($name in $cases) {
            $folder = "$TestDrive/start-$name"
            $bin = New-FakeBin "$folder/bin" @()
            $null = New-FakeAptGet $bin -Bin $bin -Policy "$folder/policy-rc.d" -AlwaysFail
            $null = $script.AppendLine(@"
`$env:PATH = '$bin'
`$env:FLOWSTORE_POLICY_RC_D = '$folder/policy-rc.d'
`$env:FLOWSTORE_POSTGRES_BIN = '$folder/no-postgres'
try { & '$(Join-Path $servers "Start-$name.ps1")' -WorkDirectory '$folder/work' *>`$null; '${name}: started' } catch { "${name}: error: `$(`$_.Exception.Message)" }
"@)
        }
        $executable = [Environment]::ProcessPath
        $prefix = @(if ([IO.Path]::GetFileNameWithoutExtension($executable) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
        $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($script.ToString()))
        $output = (& $executable @prefix -NoProfile -NonInteractive -EncodedCommand $encoded 2>&1) -join "`n"
    }

    It 'Start-<Name>.ps1 with no <Command> on the PATH asks apt-get for <Package>' -ForEach @(
        @{ Name = 'S3'; Command = 'npm'; Package = 'nodejs npm' }
        @{ Name = 'Gcs'; Command = 'npm'; Package = 'nodejs npm' }
        @{ Name = 'Git'; Command = 'git'; Package = 'git' }
        @{ Name = 'GitHosts'; Command = 'git'; Package = 'git' }
        @{ Name = 'Postgres'; Command = 'initdb'; Package = 'postgresql-15' }
    ) {
        $folder = "$TestDrive/start-$Name"
        $output | Should -Match "${Name}: error: Start-${Name}: apt-get install $Package failed"
        (Get-Content "$folder/bin/apt.log")[0] | Should -Be "install -y -q --no-install-recommends $Package | policy=exit 101"
        Test-Path "$folder/policy-rc.d" | Should -BeFalse
    }
}
