# A storage type that only a test project defines (tests/Flowstore.Storage.Probe: one settings record, one provider,
# one registration line), loaded through FLOWSTORE_STORAGE_PROVIDERS. Nothing in src/Flowstore.PowerShell names it,
# yet New-FlowStorage offers its parameters with help and completion, validates them, formats the result, and
# Register-Flow / Start-FlowRun use it.

BeforeAll {
    $root = Resolve-Path "$PSScriptRoot/../.."
    $probeProject = Join-Path $root 'tests/Flowstore.Storage.Probe/Flowstore.Storage.Probe.csproj'
    $probe = Join-Path $root 'tests/Flowstore.Storage.Probe/bin/Release/net10.0/Flowstore.Storage.Probe.dll'
    if (-not (Test-Path -LiteralPath $probe)) {
        # build.ps1 -Task Test builds the solution first; a single run of this file may need the build itself.
        & dotnet build $probeProject -c Release --nologo | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "dotnet build $probeProject failed" }
    }
    $script:PreviousProviders = $env:FLOWSTORE_STORAGE_PROVIDERS
    $env:FLOWSTORE_STORAGE_PROVIDERS = $probe

    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'
    $null = Enter-TestHome

    function Complete([string]$Line) { (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches }
}

AfterAll {
    Exit-TestHome
    $env:FLOWSTORE_STORAGE_PROVIDERS = $script:PreviousProviders
}

Describe 'A test-only storage type (Probe)' {
    It 'src/Flowstore.PowerShell does not name it' {
        Get-ChildItem (Join-Path $root 'src/Flowstore.PowerShell') -Recurse -File -Include *.cs, *.ps1xml |
            Select-String -Pattern 'Probe' -SimpleMatch | Should -BeNullOrEmpty
    }

    It '-Type completes it' {
        (Complete 'New-FlowStorage -Type Pro').CompletionText | Should -Be 'Probe'
    }

    It 'offers its parameters, with their help and mandatory flags' {
        $parameters = (Get-Command New-FlowStorage -ArgumentList Probe).Parameters
        foreach ($name in 'Shelf', 'Name', 'Color', 'TokenSecret') { $parameters.Keys | Should -Contain $name }
        $parameters.Keys | Should -Not -Contain 'Bucket'
        $shelf = $parameters['Shelf'].Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }
        $shelf.Mandatory | Should -BeTrue
        $shelf.HelpMessage | Should -Be 'The folder the probe keeps its script copies in.'
        ($parameters['Name'].Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }).Mandatory | Should -BeFalse
    }

    It 'completes its parameter names and allowed values' {
        $names = (Complete 'New-FlowStorage -Type Probe -').CompletionText
        $names | Should -Contain '-Shelf'
        $names | Should -Contain '-Color'
        (Complete 'New-FlowStorage -Type Probe -Shelf s -Color ').CompletionText | Should -Be @('Blue', 'Green')
    }

    It 'validates its settings: a value outside the allowed set, and the type''s own rule with a hint naming the parameter' {
        { New-FlowStorage -Type Probe -Shelf s -Color Red } | Should -Throw -ErrorId 'ParameterArgumentValidationError,Flowstore.Commands.NewFlowStorageCommand'
        $err = { New-FlowStorage -Type Probe -Shelf s -Name flow.txt } | Should -Throw -ErrorId 'StorageInvalid,Flowstore.Commands.NewFlowStorageCommand' -PassThru
        $err.Exception.Message | Should -BeLike "*'flow.txt' must end in .cs*"
        $err.ErrorDetails.RecommendedAction | Should -BeLike '*-Name with New-FlowStorage -Type Probe*'
        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It 'resolves its local path against the current location and formats the result' {
        Push-Location $TestDrive
        try { $storage = New-FlowStorage -Type Probe -Shelf copies -Color Green -TokenSecret PROBE_TOKEN }
        finally { Pop-Location }
        $storage.Type | Should -Be 'Probe'
        $storage.Shelf | Should -Be (Join-Path $TestDrive 'copies')
        $storage.SecretNames | Should -Be @('PROBE_TOKEN')
        $text = $storage | Out-String
        $text | Should -BeLike "*Type        : Probe*"
        $text | Should -BeLike "*Shelf       : $(Join-Path $TestDrive 'copies')*"
        $text | Should -BeLike '*Color       : Green*'
        $text | Should -BeLike '*TokenSecret : PROBE_TOKEN*'
    }

    It 'pipes into Register-Flow, and Start-FlowRun reads the stored copy' {
        $file = New-FlowScript "$TestDrive/probed.cs" (Get-LinearFlowBody -Name probed -Message 'from the file')
        $shelf = Join-Path $TestDrive 'shelf'
        $registration = New-FlowStorage -Type Probe -Shelf $shelf | Register-Flow -Path $file -Project Probe -CreateProject
        $registration.Status | Should -Be 'Registered'
        $registration.Storage | Should -BeLike 'Probe plain *'
        $copy = Join-Path $shelf 'probed.cs'
        $copy | Should -Exist

        # Runs read the copy on the shelf, not the registered file.
        $null = New-FlowScript $copy (Get-LinearFlowBody -Name probed -Message 'from the shelf')
        $output = Start-FlowRun -Name probed -Project Probe -Wait 6>&1
        ($output | Where-Object { $_ -isnot [System.Management.Automation.InformationRecord] }).State | Should -Be 'Success'
        "$($output | Where-Object { $_ -is [System.Management.Automation.InformationRecord] })" | Should -BeLike '*from the shelf*'
    }

    It 'a run needing a secret that does not exist fails naming it' {
        $file = New-FlowScript "$TestDrive/secretive.cs" (Get-LinearFlowBody -Name secretive -Message 'hidden')
        New-FlowStorage -Type Probe -Shelf (Join-Path $TestDrive 'shelf2') -TokenSecret PROBE_MISSING_SECRET |
            Register-Flow -Path $file -Project Probe -CreateProject | Out-Null
        $err = { Start-FlowRun -Name secretive -Project Probe -Wait -ErrorAction Stop } | Should -Throw -PassThru
        "$($err.Exception.Message)" | Should -BeLike '*PROBE_MISSING_SECRET*'
    }
}
