BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome
    $null = New-FlowProject -Name PublishTests

    function New-EtlScript([string]$Path, [int]$Factor = 1, [string]$Storage = '') {
        New-FlowScript -Path $Path -Body @"
var flow = new Flow("etl");
$Storage
var data = flow.Task("extract", () => new[] { 1, 2, 3 });
flow.Task("load", (int[] rows) => Console.WriteLine("total " + rows.Sum() * $Factor), data);
"@
    }
}

AfterAll {
    Exit-TestHome
}

Describe 'Publish-FlowScript' {
    It 'copies a script to Local script storage and pipes into Register-Flow, whose runs read the copy' {
        $script = New-EtlScript -Path "$TestDrive/src/etl.cs" -Factor 2
        $shared = Join-Path $TestDrive 'share/etl.cs'

        $published = New-FlowStorage -Type Local -StoredAsScript -Path $shared | Publish-FlowScript -Path $script
        $published.PSObject.TypeNames | Should -Contain 'Flowstore.Engine.FlowPublication'
        $published.Flow | Should -Be 'etl'
        $published.Location | Should -Be $shared
        $published.Storage.Path | Should -Be $shared
        Get-Content -Raw $shared | Should -Be (Get-Content -Raw $script)

        $registration = $published | Register-Flow -Project PublishTests
        $registration.Status | Should -Be 'Registered'
        $registration.Path | Should -Be $script

        # The copy is what runs read: change it (code only) and the next run shows it.
        New-EtlScript -Path $shared -Factor 100 | Out-Null
        $run = Start-FlowRun -Name etl -Project PublishTests -Wait 6>&1 | Out-String
        $run | Should -Match 'total 600'
    }

    It 'uses the storage the script sets when none is given' {
        $shared = Join-Path $TestDrive 'share2/own.cs'
        $script = New-EtlScript -Path "$TestDrive/src/own.cs" -Storage "flow.Storage = new LocalStorage(path: @`"$shared`", storedAsScript: true);"

        $published = Publish-FlowScript -Path $script

        $published.Location | Should -Be $shared
        Test-Path -LiteralPath $shared | Should -BeTrue
    }

    It 'says when there is no storage to publish to, naming the flow' {
        $script = New-EtlScript -Path "$TestDrive/src/none.cs"
        { Publish-FlowScript -Path $script } | Should -Throw -ErrorId 'StorageInvalid,Flowstore.Commands.PublishFlowScriptCommand'
        Publish-FlowScript -Path $script -ErrorAction SilentlyContinue -ErrorVariable err
        "$err" | Should -BeLike "*flow 'etl'*"
    }

    It 'fails with ScriptNotFound for a missing file' {
        { New-FlowStorage -Type Local -StoredAsScript -Path "$TestDrive/x.cs" | Publish-FlowScript -Path "$TestDrive/missing.cs" } |
            Should -Throw -ErrorId 'ScriptNotFound,Flowstore.Commands.PublishFlowScriptCommand'
    }

    It 'never publishes a script that does not compile' {
        $script = New-FlowScript -Path "$TestDrive/src/broken.cs" -Body 'var flow = new Flow("broken"); flow.Task("a", () => undefinedThing);'
        $target = Join-Path $TestDrive 'share3/broken.cs'
        { New-FlowStorage -Type Local -StoredAsScript -Path $target | Publish-FlowScript -Path $script } |
            Should -Throw -ErrorId 'ScriptCompilationFailed,Flowstore.Commands.PublishFlowScriptCommand'
        Test-Path -LiteralPath $target | Should -BeFalse
    }

    It '-WhatIf publishes nothing and outputs nothing' {
        $script = New-EtlScript -Path "$TestDrive/src/whatif.cs"
        $target = Join-Path $TestDrive 'share4/whatif.cs'
        $out = New-FlowStorage -Type Local -StoredAsScript -Path $target | Publish-FlowScript -Path $script -WhatIf
        $out | Should -BeNullOrEmpty
        Test-Path -LiteralPath $target | Should -BeFalse
    }
}
