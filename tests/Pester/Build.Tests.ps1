# build.ps1 -Task Build on an unchanged tree does nothing but say so: the module is compiled again only when src/
# changed, the help only when docs/help or an assembly of the module changed (build/BuildInputs.ps1).
# build.ps1 cannot run inside the test run (it holds the build lock), so its Build functions are loaded from the
# file and run against a small tree in TestDrive, with dotnet and the child pwsh replaced by recorders.

BeforeAll {
    $ErrorActionPreference = 'Stop'
    $repo = (Resolve-Path "$PSScriptRoot/../..").Path
    . (Join-Path $repo 'build/BuildInputs.ps1')

    function Write-TreeFile([string]$Root, [string]$Relative, [string]$Text) {
        $full = Join-Path $Root $Relative
        $null = New-Item -ItemType Directory -Force -Path (Split-Path -Parent $full)
        [IO.File]::WriteAllText($full, $Text)
    }
}

Describe 'Get-InputFingerprint' {
    BeforeEach {
        $tree = Join-Path $TestDrive ([guid]::NewGuid())
        Write-TreeFile $tree 'src/A/A.csproj' '<Project />'
        Write-TreeFile $tree 'src/A/a.cs' 'class A {}'
        Write-TreeFile $tree 'Directory.Build.props' '<Project />'
        $key = Get-InputFingerprint -Root $tree -Path 'src', 'Directory.Build.props', 'global.json'
    }

    It 'is the same for an unchanged tree, also after a touch' {
        (Get-Item "$tree/src/A/a.cs").LastWriteTimeUtc = [datetime]::UtcNow.AddMinutes(5)
        Get-InputFingerprint -Root $tree -Path 'src', 'Directory.Build.props', 'global.json' | Should -Be $key
    }

    It 'changes when a file is edited, added or removed' {
        Write-TreeFile $tree 'src/A/a.cs' 'class A { }'
        $edited = Get-InputFingerprint -Root $tree -Path 'src', 'Directory.Build.props', 'global.json'
        $edited | Should -Not -Be $key
        Write-TreeFile $tree 'src/A/b.cs' ''
        $added = Get-InputFingerprint -Root $tree -Path 'src', 'Directory.Build.props', 'global.json'
        $added | Should -Not -Be $edited
        Remove-Item "$tree/src/A/b.cs"
        Get-InputFingerprint -Root $tree -Path 'src', 'Directory.Build.props', 'global.json' | Should -Be $edited
        Write-TreeFile $tree 'global.json' '{}'
        Get-InputFingerprint -Root $tree -Path 'src', 'Directory.Build.props', 'global.json' | Should -Not -Be $edited
    }

    It 'ignores build output (bin, obj, out)' {
        Write-TreeFile $tree 'src/A/bin/Release/A.dll' 'x'
        Write-TreeFile $tree 'src/A/obj/project.assets.json' '{}'
        Get-InputFingerprint -Root $tree -Path 'src', 'Directory.Build.props', 'global.json' | Should -Be $key
    }

    It 'with -Include sees only the files it names' {
        $projects = Get-InputFingerprint -Root $tree -Path 'src' -Include '*.csproj'
        Write-TreeFile $tree 'src/A/a.cs' 'class A { int x; }'
        Get-InputFingerprint -Root $tree -Path 'src' -Include '*.csproj' | Should -Be $projects
        Write-TreeFile $tree 'src/A/A.csproj' '<Project Sdk="x" />'
        Get-InputFingerprint -Root $tree -Path 'src' -Include '*.csproj' | Should -Not -Be $projects
    }
}

Describe 'Test-BuildStepCurrent' {
    It 'is true only for the stamped fingerprint with every output present' {
        $out = Join-Path $TestDrive 'step-out'
        $null = New-Item -ItemType Directory -Force -Path $out
        $stampFile = Join-Path $TestDrive 'stamp.json'
        Write-BuildStamp $stampFile @{ Compile = 'abc' }
        $stamp = Read-BuildStamp $stampFile
        Test-BuildStepCurrent -Stamp $stamp -Name 'Compile' -Fingerprint 'abc' -Output $out | Should -BeFalse -Because 'an empty output folder is no output'
        Set-Content "$out/a.dll" 'x'
        Test-BuildStepCurrent -Stamp $stamp -Name 'Compile' -Fingerprint 'abc' -Output $out | Should -BeTrue
        Test-BuildStepCurrent -Stamp $stamp -Name 'Compile' -Fingerprint 'abd' -Output $out | Should -BeFalse
        Test-BuildStepCurrent -Stamp $stamp -Name 'Help' -Fingerprint 'abc' | Should -BeFalse
        Test-BuildStepCurrent -Stamp (Read-BuildStamp "$TestDrive/none.json") -Name 'Compile' -Fingerprint 'abc' | Should -BeFalse
    }
}

Describe 'build.ps1 -Task Build' {
    BeforeAll {
        # The Build functions of build.ps1, as written there.
        $ast = [System.Management.Automation.Language.Parser]::ParseFile((Join-Path $repo 'build.ps1'), [ref]$null, [ref]$null)
        foreach ($f in $ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.FunctionDefinitionAst] -and $n.Name -in 'Invoke-Build', 'Invoke-ModuleCompile', 'Assert-File', 'Get-RelativePath' }, $true)) {
            . ([scriptblock]::Create($f.Extent.Text))
        }

        $Root = Join-Path $TestDrive 'repo'
        $Configuration = 'Release'
        $Out = Join-Path $Root 'out'
        $ModuleOut = Join-Path $Out 'module'
        $Manifest = Join-Path $Root 'Flowstore.psd1'
        $EngineProject = Join-Path $Root 'src/Flowstore.Engine/Flowstore.Engine.csproj'
        $CmdletProject = Join-Path $Root 'src/Flowstore.PowerShell/Flowstore.PowerShell.csproj'
        $ServerProject = Join-Path $Root 'src/Flowstore.Server/Flowstore.Server.csproj'
        $HelpSource = Join-Path $Root 'docs/help'
        $HelpConverter = Join-Path $HelpSource 'ConvertTo-MamlHelp.ps1'
        Write-TreeFile $Root 'Flowstore.psd1' '@{}'
        Write-TreeFile $Root 'src/Flowstore.Engine/Flowstore.Engine.csproj' '<Project />'
        Write-TreeFile $Root 'src/Flowstore.Engine/Engine.cs' 'class E {}'
        Write-TreeFile $Root 'src/Flowstore.PowerShell/Flowstore.PowerShell.csproj' '<Project />'
        Write-TreeFile $Root 'src/Flowstore.Server/Flowstore.Server.csproj' '<Project />'
        Write-TreeFile $Root 'docs/help/ConvertTo-MamlHelp.ps1' '# converter'
        Write-TreeFile $Root 'docs/help/Get-Flow.md' '# Get-Flow'
        $cmdletBin = Join-Path $TestDrive 'cmdlet-bin'
        Write-TreeFile $cmdletBin 'Flowstore.PowerShell.dll' 'cmdlets'

        # dotnet and the child pwsh, recorded; what they would write is written (the same bytes each time, as a
        # deterministic build of unchanged sources does).
        $script:calls = [System.Collections.Generic.List[string]]::new()
        function Invoke-Native([string]$FilePath, [string[]]$ArgumentList, [switch]$AllowFailure, [int]$LockRetries) {
            if ($ArgumentList[0] -ne 'publish') { $script:calls.Add("$FilePath $($ArgumentList[0])") }
            elseif ($ArgumentList[1] -eq $ServerProject) { $script:calls.Add("$FilePath publish server"); Write-TreeFile $ModuleOut 'Server/Flowstore.Server.dll' 'server' }
            else {
                # The engine's publish brings the run worker with it (a project reference of the engine).
                $script:calls.Add("$FilePath publish engine")
                Write-TreeFile $ModuleOut 'Dependencies/Flowstore.Engine.dll' 'engine'
                Write-TreeFile $ModuleOut 'Dependencies/Flowstore.RunHost.dll' 'run worker'
            }
            0
        }
        function dotnet { $script:calls.Add("dotnet $($args[0])"); $global:LASTEXITCODE = 0; "$cmdletBin/" }
        function Invoke-ChildPwsh([string[]]$ArgumentList, [switch]$AllowFailure) {
            $script:calls.Add('help')
            Write-TreeFile ($ArgumentList[$ArgumentList.IndexOf('-OutputFolder') + 1]) 'Flowstore.PowerShell.dll-Help.xml' '<helpItems />'
            0
        }
        function Invoke-TestBuild {
            $script:calls.Clear()
            $said = Invoke-Build 6>&1 | Out-String
            [pscustomobject]@{ Calls = $script:calls -join ', '; Said = $said }
        }
    }

    It 'builds everything the first time' {
        $r = Invoke-TestBuild
        $r.Calls | Should -Be 'dotnet publish engine, dotnet publish server, dotnet build, dotnet msbuild, help'
        Test-Path "$Root/en-US/Flowstore.PowerShell.dll-Help.xml" | Should -BeTrue
    }

    It 'does nothing on an unchanged tree and says it is up to date' {
        $r = Invoke-TestBuild
        $r.Calls | Should -BeExactly ''
        $r.Said | Should -Match 'Module up to date'
        $r.Said | Should -Match 'Help up to date'
    }

    It 'compiles again when a source changed, and keeps the help when the assemblies came out the same' {
        Write-TreeFile $Root 'src/Flowstore.Engine/Engine.cs' 'class E { }'
        (Invoke-TestBuild).Calls | Should -Be 'dotnet publish engine, dotnet publish server, dotnet build, dotnet msbuild'
        (Invoke-TestBuild).Calls | Should -BeExactly ''
    }

    It 'makes the help again when its markdown changed, and only the help' {
        Write-TreeFile $Root 'docs/help/Get-Flow.md' '# Get-Flow (edited)'
        (Invoke-TestBuild).Calls | Should -Be 'help'
    }

    It 'makes the help again when an assembly of the module changed' {
        Write-TreeFile $cmdletBin 'Flowstore.PowerShell.dll' 'cmdlets with a new parameter'
        Write-TreeFile $Root 'src/Flowstore.PowerShell/NewParameter.cs' 'class P {}'
        (Invoke-TestBuild).Calls | Should -Be 'dotnet publish engine, dotnet publish server, dotnet build, dotnet msbuild, help'
    }

    It 'builds again when an output was deleted' {
        Remove-Item -LiteralPath "$ModuleOut/Dependencies/Flowstore.Engine.dll"
        (Invoke-TestBuild).Calls | Should -Be 'dotnet publish engine, dotnet publish server, dotnet build, dotnet msbuild'
    }

    It 'builds again when the server was deleted from the module' {
        Remove-Item -LiteralPath "$ModuleOut/Server/Flowstore.Server.dll"
        (Invoke-TestBuild).Calls | Should -Be 'dotnet publish engine, dotnet publish server, dotnet build, dotnet msbuild'
        Test-Path "$ModuleOut/Server/Flowstore.Server.dll" | Should -BeTrue
    }

    It 'starts from an empty module folder when a project file changed' {
        Write-TreeFile $ModuleOut 'Dependencies/Stale.dll' 'left over'
        Write-TreeFile $Root 'src/Flowstore.Engine/Flowstore.Engine.csproj' '<Project Sdk="Microsoft.NET.Sdk" />'
        $null = Invoke-TestBuild
        Test-Path "$ModuleOut/Dependencies/Stale.dll" | Should -BeFalse
        Test-Path "$ModuleOut/Dependencies/Flowstore.Engine.dll" | Should -BeTrue
    }
}
