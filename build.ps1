<#
.SYNOPSIS
Builds, tests, packages and runs the example of the Flowstore PowerShell module.

.DESCRIPTION
Tasks (dependencies run first, each task at most once):
  Build    dotnet publish Flowstore.Engine -> out/module/Dependencies, dotnet build Flowstore.PowerShell
           -> out/module, MAML help from docs/help/*.md -> out/module/en-US (mirrored to ./en-US, where
           Get-Help looks when the module is imported from ./Flowstore.psd1). Each step runs only when its
           inputs changed (src/ for the module; docs/help and the module's assemblies for the help): an
           unchanged tree says "up to date" and takes a few seconds (build/BuildInputs.ps1).
  Test     Build, start test servers (tests/servers/Start-*.ps1), dotnet test Flowstore.sln (trx) and
           Pester 5.7.1 over tests/Pester (NUnit XML) in a fresh pwsh; results in out/test-results.
           The last line printed is "N passed, N failed"; the exit code is non-zero on any failure.
  Package  Build, then a publishable module folder out/Flowstore/<ModuleVersion>/, checked with
           Test-ModuleManifest and an import in a fresh pwsh.
  Example  Build, then examples/Invoke-Example.ps1 in a fresh pwsh.
  Clean    Removes out/, ./en-US and the bin/obj folders of every project.

A binary module cannot be unloaded, so everything that imports it runs in a child `dotnet pwsh`.

.EXAMPLE
dotnet tool restore && dotnet pwsh -NoProfile -File ./build.ps1 -Task Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package', 'Example', 'Clean')]
    [string[]]$Task = 'Build',
    [string]$Configuration = 'Release'
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$PSNativeCommandUseErrorActionPreference = $false # every native exit code is checked explicitly
$ProgressPreference = 'SilentlyContinue'

$Root = $PSScriptRoot
$Out = Join-Path $Root 'out'
$ModuleOut = Join-Path $Out 'module'
$ResultsDir = Join-Path $Out 'test-results'
$Manifest = Join-Path $Root 'Flowstore.psd1'
$EngineProject = Join-Path $Root 'src/Flowstore.Engine/Flowstore.Engine.csproj'
$CmdletProject = Join-Path $Root 'src/Flowstore.PowerShell/Flowstore.PowerShell.csproj'
$ServerProject = Join-Path $Root 'src/Flowstore.Server/Flowstore.Server.csproj'
$Solution = Join-Path $Root 'Flowstore.sln'
$HelpSource = Join-Path $Root 'docs/help'
$HelpConverter = Join-Path $HelpSource 'ConvertTo-MamlHelp.ps1'
$PesterVersion = '5.7.1'
$PesterManifest = Join-Path $Root "tools/pester/$PesterVersion/tools/Pester.psd1"
$ServersDir = Join-Path $Root 'tests/servers'

$env:DOTNET_NOLOGO = '1'
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
if ($env:CI -or $env:TF_BUILD -or [Console]::IsOutputRedirected) {
    # plain logs: no ANSI colours from this script or the child pwsh processes
    $PSStyle.OutputRendering = 'PlainText'
    $env:NO_COLOR = '1'
}

#region Helpers

. (Join-Path $PSScriptRoot 'build/BuildInputs.ps1')

function Write-Header([string]$Text) { Write-Host "==> $Text" }

function Get-RelativePath([string]$Path) { [System.IO.Path]::GetRelativePath($Root, $Path) }

# Runs a native command, streams its output (stdout and stderr) to the host and throws on a non-zero
# exit code. A dotnet build that trips over a file lock held by a parallel build is retried.
function Invoke-Native {
    param([Parameter(Mandatory)][string]$FilePath, [string[]]$ArgumentList = @(), [switch]$AllowFailure, [int]$LockRetries = 0)
    for ($attempt = 0; ; $attempt++) {
        $lockHit = $false
        & $FilePath @ArgumentList 2>&1 | ForEach-Object {
            $line = "$_"
            if ($line -match 'being used by another process|MSB3021|MSB3027') { $lockHit = $true }
            Write-Host $line
        }
        $code = $LASTEXITCODE
        if ($code -eq 0 -or -not $lockHit -or $attempt -ge $LockRetries) { break }
        Write-Host "File lock from a parallel build; retrying in 5 s ($($attempt + 1)/$LockRetries)"
        Start-Sleep -Seconds 5
    }
    if ($code -ne 0 -and -not $AllowFailure) {
        throw "'$FilePath $($ArgumentList -join ' ')' failed with exit code $code"
    }
    return $code
}

# Two build.ps1 runs in one work tree would delete each other's out/: the second one waits.
function Enter-BuildLock {
    $hash = [System.Convert]::ToHexString([System.Security.Cryptography.SHA256]::HashData([System.Text.Encoding]::UTF8.GetBytes($Root))).Substring(0, 16)
    $path = Join-Path ([System.IO.Path]::GetTempPath()) "flowstore-build-$hash.lock"
    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    $said = $false
    while ($true) {
        try { return [System.IO.File]::Open($path, 'OpenOrCreate', 'ReadWrite', 'None') }
        catch [System.IO.IOException] {
            if ($sw.Elapsed.TotalMinutes -gt 60) { throw "another build.ps1 has held $path for an hour" }
            if (-not $said) { Write-Host "Waiting for another build.ps1 running in this work tree ($path)"; $said = $true }
            Start-Sleep -Seconds 2
        }
    }
}

# A fresh pwsh (the pinned local tool) for everything that imports the binary module.
function Invoke-ChildPwsh {
    param([Parameter(Mandatory)][string[]]$ArgumentList, [switch]$AllowFailure)
    Invoke-Native -FilePath 'dotnet' -ArgumentList (@('pwsh', '-NoProfile', '-NonInteractive') + $ArgumentList) -AllowFailure:$AllowFailure
}

# Child scripts live here as text and are written to out/tmp so that errors point at a real file and line.
function Invoke-ChildScript {
    param([Parameter(Mandatory)][string]$Name, [Parameter(Mandatory)][string]$Script, [string[]]$ArgumentList = @(), [switch]$AllowFailure)
    $dir = Join-Path $Out 'tmp'
    New-Item -ItemType Directory -Force -Path $dir | Out-Null
    $file = Join-Path $dir "$Name.ps1"
    Set-Content -LiteralPath $file -Value $Script -Encoding utf8NoBOM
    Invoke-ChildPwsh -ArgumentList (@('-File', $file) + $ArgumentList) -AllowFailure:$AllowFailure
}

function Assert-File([string]$Path, [string]$What) {
    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) { throw "$What not found: $(Get-RelativePath $Path)" }
}

#endregion

#region Tasks

function Invoke-Build {
    Assert-File $EngineProject 'Engine project'
    Assert-File $CmdletProject 'Cmdlet project'
    Assert-File $ServerProject 'Server project'
    Assert-File $Manifest 'Module manifest'

    # Up to date checks (build/BuildInputs.ps1): each step runs only when its inputs changed since it last ran here.
    $stampPath = Join-Path $ModuleOut '.build-inputs.json'
    $stamp = Read-BuildStamp $stampPath
    $compileInputs = @('src', 'Directory.Build.props', 'Directory.Packages.props', 'global.json', 'NuGet.config')
    $compileKey = Get-InputFingerprint -Root $Root -Path $compileInputs -Extra $Configuration
    $projectKey = Get-InputFingerprint -Root $Root -Path $compileInputs -Include '*.csproj', '*.props', '*.targets' -Extra $Configuration
    $cmdletDll = Join-Path $ModuleOut 'Flowstore.PowerShell.dll'
    $engineDll = Join-Path $ModuleOut 'Dependencies/Flowstore.Engine.dll'
    $serverDll = Join-Path $ModuleOut 'Server/Flowstore.Server.dll'
    if (Test-BuildStepCurrent -Stamp $stamp -Name 'Compile' -Fingerprint $compileKey -Output $cmdletDll, $engineDll, $serverDll) {
        Write-Host "Module up to date: nothing changed under src/ since $(Get-RelativePath $ModuleOut) was built"
    }
    else {
        Invoke-ModuleCompile -Clean:($stamp['Projects'] -ne $projectKey)
        $stamp['Compile'] = $compileKey
        $stamp['Projects'] = $projectKey
        Write-BuildStamp $stampPath $stamp
    }

    # Help: MAML from docs/help/*.md merged with the real cmdlet metadata (child process imports the module), made
    # again only when the markdown, the converter or an assembly of the module changed.
    Assert-File $HelpConverter 'Help converter'
    $helpOut = Join-Path $ModuleOut 'en-US'
    $rootHelp = Join-Path $Root 'en-US'
    $assemblies = @(Get-ChildItem -LiteralPath $ModuleOut -Filter 'Flowstore.*.dll' -File) +
        @(Get-ChildItem -LiteralPath (Join-Path $ModuleOut 'Dependencies') -Filter 'Flowstore.*.dll' -File) |
        Sort-Object Name | ForEach-Object { "$($_.Name):$((Get-FileHash -LiteralPath $_.FullName -Algorithm SHA256).Hash)" }
    $helpKey = Get-InputFingerprint -Root $Root -Path 'docs/help', 'Flowstore.psd1' -Extra $assemblies
    if (Test-BuildStepCurrent -Stamp $stamp -Name 'Help' -Fingerprint $helpKey -Output $helpOut, $rootHelp) {
        Write-Host 'Help up to date: docs/help and the cmdlets are unchanged'
        return
    }
    $stamp.Remove('Help')
    Write-BuildStamp $stampPath $stamp
    Invoke-ChildPwsh @('-File', $HelpConverter, '-ModulePath', $Manifest, '-MarkdownPath', $HelpSource, '-OutputFolder', $helpOut) | Out-Null
    # Imported from ./Flowstore.psd1 the module's base is the repo root, and Get-Help looks for
    # <ModuleBase>/en-US/<dll>-Help.xml: mirror the help there (generated, not committed).
    if (Test-Path -LiteralPath $rootHelp) { Remove-Item -LiteralPath $rootHelp -Recurse -Force }
    if (@(Get-ChildItem -LiteralPath $helpOut -File -ErrorAction Ignore).Count -gt 0) {
        Copy-Item -LiteralPath $helpOut -Destination $rootHelp -Recurse
        $stamp['Help'] = $helpKey
        Write-BuildStamp $stampPath $stamp
    }
}

# dotnet publish of the engine and dotnet build of the cmdlets into out/module: incremental (unchanged assemblies
# are not copied again), from scratch (-Clean) when a project file changed, so that nothing stale stays behind.
function Invoke-ModuleCompile([switch]$Clean) {
    if ($Clean -and (Test-Path -LiteralPath $ModuleOut)) { Remove-Item -LiteralPath $ModuleOut -Recurse -Force }
    $stampPath = Join-Path $ModuleOut '.build-inputs.json'
    if (Test-Path -LiteralPath $stampPath) {
        # Not up to date until this step succeeds.
        $stamp = Read-BuildStamp $stampPath
        $stamp.Remove('Compile')
        Write-BuildStamp $stampPath $stamp
    }

    # Engine + every dependency (deps.json, runtimes/) for the module's private AssemblyLoadContext.
    Invoke-Native dotnet @('publish', $EngineProject, '-c', $Configuration, '-o', (Join-Path $ModuleOut 'Dependencies'), '--nologo') -LockRetries 3 | Out-Null
    # The run worker (agents execute each run in it) comes with the engine, as a project reference of it.
    Assert-File (Join-Path $ModuleOut 'Dependencies/Flowstore.RunHost.dll') 'Run worker (Flowstore.RunHost)'

    # The Flowstore server (what Start-FlowServer launches, and the service executable): a folder of its own, next to
    # Dependencies/, so its ASP.NET Core dependencies never meet the module's load contexts.
    Invoke-Native dotnet @('publish', $ServerProject, '-c', $Configuration, '-o', (Join-Path $ModuleOut 'Server'), '--nologo') -LockRetries 3 | Out-Null

    # The cmdlet assembly. Not `dotnet build -o out/module`: -o sets OutputPath for the referenced
    # projects too, so the engine would land in the module root. Build into the project's own bin and
    # copy from there, leaving out whatever Dependencies/ already has (the engine's own project
    # references are still copied to bin transitively): in the root such an assembly could be loaded
    # into the default context next to the private one.
    Invoke-Native dotnet @('build', $CmdletProject, '-c', $Configuration, '--nologo') -LockRetries 3 | Out-Null
    $targetDir = "$(& dotnet msbuild $CmdletProject -getProperty:TargetDir "-p:Configuration=$Configuration" -nologo | Select-Object -Last 1)".Trim()
    if ($LASTEXITCODE -ne 0 -or -not $targetDir -or -not (Test-Path -LiteralPath $targetDir)) { throw "Cannot find the output folder of $(Get-RelativePath $CmdletProject)" }
    $dependencyFiles = @(Get-ChildItem -LiteralPath (Join-Path $ModuleOut 'Dependencies') -File | ForEach-Object Name)
    $leftOut = [System.Collections.Generic.List[string]]::new()
    foreach ($f in Get-ChildItem -LiteralPath $targetDir -Recurse -File) {
        $relative = [System.IO.Path]::GetRelativePath($targetDir, $f.FullName)
        if ($relative -eq $f.Name -and $dependencyFiles -contains $f.Name) { $leftOut.Add($f.Name); continue }
        $destination = Join-Path $ModuleOut $relative
        New-Item -ItemType Directory -Force -Path (Split-Path -Parent $destination) | Out-Null
        Copy-Item -LiteralPath $f.FullName -Destination $destination -Force
    }
    if ($leftOut.Count -gt 0) { Write-Host "Kept only in Dependencies/: $($leftOut -join ', ')" }
    Write-Host "Module: $(Get-RelativePath $ModuleOut) ($(@(Get-ChildItem -LiteralPath $ModuleOut -Recurse -File).Count) files)"
}

# Test results: every suite adds counts; a suite that cannot run adds a failure.
$script:TestSummary = $null
function New-TestSummary {
    [pscustomobject]@{ Passed = 0; Failed = 0; Skipped = 0; FailedNames = [System.Collections.Generic.List[string]]::new(); Lines = [System.Collections.Generic.List[string]]::new() }
}
function Add-SuiteFailure([string]$Name) {
    $script:TestSummary.Failed++
    $script:TestSummary.FailedNames.Add($Name)
}

function Start-TestServer {
    # Hook for real servers used by tests (see tests/servers/README.md): each Start-<Name>.ps1 is
    # called with -WorkDirectory out/servers/<Name>; it starts its server (idempotent, 127.0.0.1) and
    # sets FLOWSTORE_TEST_* environment variables, which dotnet test and Pester inherit.
    $started = [System.Collections.Generic.List[string]]::new()
    if (-not (Test-Path -LiteralPath $ServersDir)) { return , $started }
    foreach ($script in Get-ChildItem -LiteralPath $ServersDir -Filter 'Start-*.ps1' -File | Sort-Object Name) {
        $name = $script.BaseName.Substring('Start-'.Length)
        $work = Join-Path $Out "servers/$name"
        New-Item -ItemType Directory -Force -Path $work | Out-Null
        $started.Add($name) # stop even a half-started server
        Write-Host "Starting test server $name"
        try { & $script.FullName -WorkDirectory $work | Out-Host }
        catch {
            Write-Host "ERROR: $($script.Name): $($_.Exception.Message)"
            Add-SuiteFailure "server $name did not start: $($_.Exception.Message)"
        }
    }
    return , $started
}

function Stop-TestServer([System.Collections.Generic.List[string]]$Started) {
    for ($i = $Started.Count - 1; $i -ge 0; $i--) {
        $name = $Started[$i]
        $stop = Join-Path $ServersDir "Stop-$name.ps1"
        if (-not (Test-Path -LiteralPath $stop)) { continue }
        Write-Host "Stopping test server $name"
        try { & $stop -WorkDirectory (Join-Path $Out "servers/$name") | Out-Host }
        catch { Write-Warning "Stop-$name.ps1: $($_.Exception.Message)" }
    }
}

function Invoke-XunitTest {
    $dir = Join-Path $ResultsDir 'xunit'
    New-Item -ItemType Directory -Force -Path $dir | Out-Null
    # Each tests/<X>.Tests/<X>.Tests.csproj must yield a trx; one that does not (build error, crash,
    # not in Flowstore.sln) is a failure, never zero tests.
    $expected = @(Get-ChildItem -Path (Join-Path $Root 'tests/*.Tests/*.csproj') -File | ForEach-Object BaseName)
    # Build first (retried on file locks from a parallel build), then run without building.
    $buildCode = Invoke-Native dotnet @('build', $Solution, '-c', $Configuration, '--nologo') -LockRetries 3 -AllowFailure
    if ($buildCode -ne 0) { Add-SuiteFailure "[xunit] Flowstore.sln failed to build (exit code $buildCode)" }
    $code = Invoke-Native dotnet @('test', $Solution, '-c', $Configuration, '--no-build', '--nologo',
        '--logger', 'trx', '--logger', 'console;verbosity=normal', '--results-directory', $dir,
        '--blame-hang-timeout', '15m', '--blame-hang-dump-type', 'none') -AllowFailure

    $seen = @{}
    $failedBefore = $script:TestSummary.Failed
    foreach ($trx in Get-ChildItem -LiteralPath $dir -Filter '*.trx' -File) {
        $x = [xml](Get-Content -LiteralPath $trx.FullName -Raw)
        $node = { param($xpath) $x.SelectSingleNode("//*[local-name()='$xpath']") }
        $counters = & $node 'Counters'
        $count = { param([string[]]$names) $sum = 0; foreach ($n in $names) { $sum += [int]$counters.GetAttribute($n) }; $sum }
        $testMethod = & $node 'TestMethod'
        $project = if ($testMethod) { [System.IO.Path]::GetFileNameWithoutExtension($testMethod.GetAttribute('codeBase')) } else { $trx.BaseName }
        $seen[$project] = $true
        $passed = & $count 'passed'
        $failed = & $count 'failed', 'error', 'timeout', 'aborted'
        $skipped = & $count 'notExecuted', 'inconclusive'
        $script:TestSummary.Passed += $passed
        $script:TestSummary.Failed += $failed
        $script:TestSummary.Skipped += $skipped
        $script:TestSummary.Lines.Add(("xunit  {0}: {1} passed, {2} failed, {3} skipped" -f $project, $passed, $failed, $skipped))
        foreach ($r in $x.SelectNodes("//*[local-name()='UnitTestResult']")) {
            $outcome = $r.GetAttribute('outcome')
            if ($outcome -notin 'Passed', 'NotExecuted', 'Inconclusive') { $script:TestSummary.FailedNames.Add("[xunit] $($r.GetAttribute('testName')) ($outcome)") }
        }
        if ($passed + $failed -eq 0) { Add-SuiteFailure "[xunit] $project ran no test" }
        # A test host that crashed or was ended by --blame-hang-timeout leaves the tests after it unreported: say so.
        foreach ($info in $x.SelectNodes("//*[local-name()='RunInfo'][@outcome='Error']")) {
            $text = ($info.SelectSingleNode("*[local-name()='Text']").InnerText -split "`n")[0].Trim()
            if ($text -match 'abort|crash|hang') { Add-SuiteFailure "[xunit] $project run ended early: $text" }
        }
        $runOutcome = (& $node 'ResultSummary').GetAttribute('outcome')
        if ($runOutcome -notin 'Completed', 'Passed', 'Failed' -and $failed -eq 0) { Add-SuiteFailure "[xunit] $project run outcome: $runOutcome" }
    }
    foreach ($p in $expected) {
        if (-not $seen.ContainsKey($p)) { Add-SuiteFailure "[xunit] $p produced no results (build error, test host crash, or not in Flowstore.sln)" }
    }
    if ($code -ne 0 -and $script:TestSummary.Failed -eq $failedBefore) {
        Add-SuiteFailure "[xunit] dotnet test exited with $code without a failed test (build error?)"
    }
    if ($expected.Count -eq 0) { $script:TestSummary.Lines.Add('xunit  no test projects (tests/*.Tests/*.csproj)') }
}

$PesterRunner = @'
param([string]$PesterManifest, [string]$TestPath, [string]$ResultXml, [string]$SummaryJson)
$ErrorActionPreference = 'Stop'
$PSStyle.OutputRendering = 'PlainText'
Import-Module $PesterManifest
$c = New-PesterConfiguration
$c.Run.Path = $TestPath
$c.Run.PassThru = $true
$c.Output.Verbosity = 'Detailed'
$c.TestResult.Enabled = $true
$c.TestResult.OutputFormat = 'NUnitXml'
$c.TestResult.OutputPath = $ResultXml
$r = Invoke-Pester -Configuration $c
$names = @($r.Failed | ForEach-Object { "[pester] $($_.ExpandedPath)" }) +
    @($r.FailedBlocks | ForEach-Object { "[pester] $($_.ExpandedPath) (block setup/teardown failed)" }) +
    @($r.FailedContainers | ForEach-Object { "[pester] $($_.Item) (file failed to run)" })
[ordered]@{
    passed = $r.PassedCount; failed = $r.FailedCount; failedBlocks = $r.FailedBlocksCount
    failedContainers = $r.FailedContainersCount; skipped = $r.SkippedCount; notRun = $r.NotRunCount
    total = $r.TotalCount; result = $r.Result; failedNames = $names
} | ConvertTo-Json | Set-Content -LiteralPath $SummaryJson -Encoding utf8NoBOM
'@

function Invoke-PesterTest {
    if (-not (Test-Path -LiteralPath $PesterManifest)) {
        Write-Host "Downloading Pester $PesterVersion from NuGet"
        Invoke-Native dotnet @('package', 'download', "Pester@$PesterVersion", '-o', (Join-Path $Root 'tools'), '--verbosity', 'minimal') | Out-Null
        Assert-File $PesterManifest 'Pester'
    }
    $testPath = Join-Path $Root 'tests/Pester'
    $json = Join-Path $ResultsDir 'pester-summary.json'
    $xml = Join-Path $ResultsDir 'pester-results.xml'
    Remove-Item -LiteralPath $json, $xml -ErrorAction Ignore
    $code = Invoke-ChildScript -Name 'Invoke-PesterRun' -Script $PesterRunner -ArgumentList @(
        '-PesterManifest', $PesterManifest, '-TestPath', $testPath, '-ResultXml', $xml, '-SummaryJson', $json) -AllowFailure
    if (-not (Test-Path -LiteralPath $json)) {
        Add-SuiteFailure "[pester] the run did not complete (exit code $code)"
        return
    }
    $s = Get-Content -LiteralPath $json -Raw | ConvertFrom-Json
    $failed = [int]$s.failed + [int]$s.failedBlocks + [int]$s.failedContainers
    $script:TestSummary.Passed += [int]$s.passed
    $script:TestSummary.Failed += $failed
    $script:TestSummary.Skipped += [int]$s.skipped + [int]$s.notRun
    foreach ($n in @($s.failedNames)) { if ($n) { $script:TestSummary.FailedNames.Add($n) } }
    $script:TestSummary.Lines.Add(("pester {0}: {1} passed, {2} failed, {3} skipped" -f (Get-RelativePath $testPath), $s.passed, $failed, ([int]$s.skipped + [int]$s.notRun)))
    if ([int]$s.total -eq 0) { Add-SuiteFailure '[pester] ran no test' }
}

function Invoke-Test {
    if (Test-Path -LiteralPath $ResultsDir) { Remove-Item -LiteralPath $ResultsDir -Recurse -Force }
    New-Item -ItemType Directory -Force -Path $ResultsDir | Out-Null
    $started = [System.Collections.Generic.List[string]]::new()
    try {
        $started = Start-TestServer
        Write-Header 'Test: xunit (dotnet test)'
        Invoke-XunitTest
        Write-Header 'Test: Pester'
        Invoke-PesterTest
    }
    finally {
        Stop-TestServer $started
    }
}

function Invoke-Package {
    $data = Import-PowerShellDataFile -LiteralPath $Manifest
    $version = $data.ModuleVersion
    $dest = Join-Path $Out "Flowstore/$version"
    if (Test-Path -LiteralPath (Join-Path $Out 'Flowstore')) { Remove-Item -LiteralPath (Join-Path $Out 'Flowstore') -Recurse -Force }
    New-Item -ItemType Directory -Force -Path $dest | Out-Null
    Copy-Item -Path (Join-Path $ModuleOut '*') -Destination $dest -Recurse
    # Paths in the root manifest point into out/module/; in the package they are relative to the manifest.
    $text = Get-Content -LiteralPath $Manifest -Raw
    $text = $text -replace '(?<=[''"])(\./)?out[\\/]module[\\/]', ''
    if ($text -match '(?<=[''"])(\./)?out[\\/]') { throw 'Flowstore.psd1 still refers to out/ after rewriting the paths for the package' }
    $packagedManifest = Join-Path $dest 'Flowstore.psd1'
    Set-Content -LiteralPath $packagedManifest -Value $text -Encoding utf8NoBOM -NoNewline
    $check = @'
param([string]$ManifestPath)
$ErrorActionPreference = 'Stop'
$m = Test-ModuleManifest -Path $ManifestPath
$module = Import-Module $ManifestPath -PassThru
$cmdlets = @(Get-Command -Module $module.Name -CommandType Cmdlet)
if ($cmdlets.Count -eq 0) { throw 'the packaged module exports no cmdlet' }
$base = Split-Path -Parent (Resolve-Path $ManifestPath)
# the module base is the package folder, so MAML help can only come from its en-US/
$documented = @($cmdlets | Where-Object { (Get-Help $_.Name).PSObject.TypeNames -contains 'MamlCommandHelpInfo' }).Count
if ((Test-Path (Join-Path $base 'en-US/*-Help.xml')) -and $documented -eq 0) { throw 'Get-Help finds no MAML in the package' }
"Test-ModuleManifest: {0} {1}, {2} cmdlets, {3} with help from the package" -f $m.Name, $m.Version, $cmdlets.Count, $documented
'@
    Invoke-ChildScript -Name 'Test-Package' -Script $check -ArgumentList @('-ManifestPath', $packagedManifest) | Out-Null
    Write-Host "Package: $(Get-RelativePath $dest) ($(@(Get-ChildItem -LiteralPath $dest -Recurse -File).Count) files)"
}

function Invoke-Example {
    $example = Join-Path $Root 'examples/Invoke-Example.ps1'
    Assert-File $example 'Example script'
    Invoke-ChildPwsh @('-File', $example) | Out-Null
}

function Invoke-Clean {
    foreach ($p in @($Out, (Join-Path $Root 'en-US'))) {
        if (Test-Path -LiteralPath $p) { Remove-Item -LiteralPath $p -Recurse -Force; Write-Host "Removed $(Get-RelativePath $p)" }
    }
    # bin/obj next to each project file; never descend into tools, node_modules or .git.
    $skip = @('.git', 'out', 'tools', 'node_modules', 'bin', 'obj')
    $queue = [System.Collections.Generic.Queue[string]]::new()
    $queue.Enqueue($Root)
    while ($queue.Count -gt 0) {
        $dir = $queue.Dequeue()
        if (Get-ChildItem -LiteralPath $dir -Filter '*.*proj' -File) {
            foreach ($b in 'bin', 'obj') {
                $p = Join-Path $dir $b
                if (Test-Path -LiteralPath $p) { Remove-Item -LiteralPath $p -Recurse -Force; Write-Host "Removed $(Get-RelativePath $p)" }
            }
        }
        foreach ($sub in Get-ChildItem -LiteralPath $dir -Directory -Force) {
            if ($sub.Name -notin $skip) { $queue.Enqueue($sub.FullName) }
        }
    }
}

#endregion

$dependencies = @{ Build = @(); Test = @('Build'); Package = @('Build'); Example = @('Build'); Clean = @() }
$plan = [System.Collections.Generic.List[string]]::new()
function Add-ToPlan([string]$Name) {
    foreach ($d in $dependencies[$Name]) { Add-ToPlan $d }
    if (-not $plan.Contains($Name)) { $plan.Add($Name) }
}
if ($Task -contains 'Clean') { $plan.Add('Clean') } # Clean first, so "-Task Clean,Build" rebuilds from scratch
foreach ($t in $Task) { Add-ToPlan $t }

$runsTests = $plan.Contains('Test')
if ($runsTests) { $script:TestSummary = New-TestSummary }
$exitCode = 0
$buildLock = $null
Push-Location $Root
try {
    $buildLock = Enter-BuildLock
    foreach ($t in $plan) {
        Write-Header $t
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        & "Invoke-$t"
        Write-Host ("{0} done in {1:0.0}s" -f $t, $sw.Elapsed.TotalSeconds)
    }
}
catch {
    $exitCode = 1
    Write-Host "ERROR: $($_.Exception.Message)"
    if ($_.InvocationInfo -and $_.InvocationInfo.PositionMessage) { Write-Host $_.InvocationInfo.PositionMessage }
    if ($runsTests) { Add-SuiteFailure "build.ps1 stopped: $($_.Exception.Message)" }
}
finally {
    if ($buildLock) { $buildLock.Dispose() }
    Pop-Location
}

if ($runsTests) {
    $s = $script:TestSummary
    Write-Header 'Summary'
    foreach ($l in $s.Lines) { Write-Host $l }
    if ($s.Skipped -gt 0) { Write-Host "skipped: $($s.Skipped)" }
    if ($s.FailedNames.Count -gt 0) {
        Write-Host 'Failed:'
        foreach ($n in $s.FailedNames) { Write-Host "  $n" }
    }
    Write-Host ("{0} passed, {1} failed" -f $s.Passed, $s.Failed)
    if ($s.Failed -gt 0) { $exitCode = 1 }
}
exit $exitCode
