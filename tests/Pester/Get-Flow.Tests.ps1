BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome

    # Project A: alpha (versions 1 and 2), beta (version 1). Project B: alpha (version 1).
    $alphaFile = New-FlowScript "$TestDrive/alpha.cs" (Get-LinearFlowBody -Name alpha)
    $betaFile = New-FlowScript "$TestDrive/beta.cs" (Get-LinearFlowBody -Name beta)
    $null = New-FlowProject -Name A, B
    $alphaA1 = Register-Flow -Path $alphaFile -Project A
    $alphaB1 = Register-Flow -Path $alphaFile -Project B
    $betaA1 = Register-Flow -Path $betaFile -Project A
    $null = New-FlowScript $alphaFile (Get-LinearFlowBody -Name alpha -Task get_data, clean, print_data)
    $alphaA2 = Register-Flow -Path $alphaFile -Project A
}

AfterAll {
    Exit-TestHome
}

Describe 'Get-Flow' {
    It 'lists the latest version of every flow, sorted by project and name' {
        $flows = @(Get-Flow)
        $flows | Should -HaveCount 3
        $flows | ForEach-Object { "$($_.Project)/$($_.Name)/v$($_.Version)" } | Should -Be @('A/alpha/v2', 'A/beta/v1', 'B/alpha/v1')
        $flows.Archived | Should -Not -Contain $true
    }

    It 'outputs FlowInfo objects with the registration''s identity' {
        $flow = Get-Flow -Name alpha -Project A
        $flow.PSObject.TypeNames | Should -Contain 'Flowstore.FlowInfo'
        $flow.Id | Should -Be $alphaA2.Id
        $flow.StructureHash | Should -Be $alphaA2.StructureHash
        $flow.ScriptPath | Should -Be $alphaFile
        $flow.StorageType | Should -Be 'Local'
    }

    It '-AllVersions lists every version, archived ones included' {
        $versions = @(Get-Flow -Name alpha -Project A -AllVersions)
        $versions.Version | Should -Be @(2, 1)
        $versions.Archived | Should -Be @($false, $true)
        $versions[1].Id | Should -Be $alphaA1.Id
    }

    It '-Version returns that version, even archived' {
        $v1 = Get-Flow -Name alpha -Project A -Version 1
        $v1.Id | Should -Be $alphaA1.Id
        $v1.Archived | Should -BeTrue
    }

    It '-Id returns that version' {
        (Get-Flow -Id $alphaA1.Id).Version | Should -Be 1
        (Get-Flow -Id $betaA1.Id, $alphaB1.Id).Name | Should -Be @('beta', 'alpha')
    }

    It '-Id of no flow is FlowNotFound' {
        $id = [guid]::NewGuid()
        $err = { Get-Flow -Id $id -ErrorAction Stop } | Should -Throw -ErrorId 'FlowNotFound,Flowstore.Commands.GetFlowCommand' -PassThru
        $err.Exception.Message | Should -BeLike "*$id*"
    }

    It '-Name takes wildcards, case-insensitively' {
        (Get-Flow -Name 'AL*').Project | Should -Be @('A', 'B')
        (Get-Flow -Name '*ta').Name | Should -Be 'beta'
        Get-Flow -Name 'zz*' -ErrorAction Stop | Should -BeNullOrEmpty
    }

    It '-Project filters by project' {
        (Get-Flow -Project B).Name | Should -Be 'alpha'
        (Get-Flow -Project A).Name | Should -Be @('alpha', 'beta')
    }

    It 'an unknown name is FlowNotFound naming it' {
        $err = { Get-Flow -Name gamma -ErrorAction Stop } | Should -Throw -ErrorId 'FlowNotFound,Flowstore.Commands.GetFlowCommand' -PassThru
        $err.Exception.Message | Should -BeLike "*'gamma'*"
        $err.TargetObject | Should -Be 'gamma'
    }

    It 'a name registered only in another project is FlowNotFound in that project' {
        { Get-Flow -Name beta -Project B -ErrorAction Stop } | Should -Throw -ErrorId 'FlowNotFound,Flowstore.Commands.GetFlowCommand'
    }

    It 'binds Name, Project and Id from Register-Flow output on the pipeline' {
        $found = @($betaA1 | Get-Flow)
        $found | Should -HaveCount 1
        $found[0].Name | Should -Be 'beta'
        $found[0].Project | Should -Be 'A'
    }

    It 'completes flow names of the -Project already typed' {
        $line = 'Get-Flow -Project B -Name '
        $matches_ = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches
        $matches_.CompletionText | Should -Be 'alpha'
        $line = 'Get-Flow -Name b'
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be 'beta'
    }

    It 'outputs nothing from an empty home' {
        $null = Enter-TestHome
        try {
            Get-Flow -ErrorAction Stop | Should -BeNullOrEmpty
        }
        finally {
            Exit-TestHome
        }
    }
}

Describe 'Get-Flow objects that compose' {
    BeforeAll {
        function Get-SharedBody([string]$Prefix) {
            @"
var flow = new Flow("shared");
var day = flow.Parameter("day", "monday");
var limit = flow.Parameter<int>("limit");
var raw = flow.Task("get_data", (string d) => new[] { d, d }, day, new TaskOptions { Retries = 2, RetryDelay = TimeSpan.FromSeconds(1) });
var rows = flow.Task("clean", (string[] r, int l) => r.Take(l).ToArray(), raw, limit);
flow.Task("print_data", (string[] r) => Console.WriteLine("$Prefix" + string.Join(",", r)), rows);
"@
        }
        $src = New-FlowScript "$TestDrive/compose/src/shared.cs" (Get-SharedBody 'v1 ')
        $sharedPath = Join-Path $TestDrive 'compose/share/shared.cs'
        $null = New-FlowProject -Name C
        $null = New-FlowStorage -Type Local -StoredAsScript -Path $sharedPath | Publish-FlowScript -Path $src | Register-Flow -Project C
    }

    It 'carry the storage as the settings object New-FlowStorage returns, and no JSON' {
        $flow = Get-Flow -Name shared -Project C
        $flow.Storage.PSObject.TypeNames[0] | Should -Be (New-FlowStorage -Type Local).PSObject.TypeNames[0]
        $flow.Storage.Path | Should -Be $sharedPath
        $flow.Storage.StoredAsScript | Should -BeTrue
        $flow.StorageType | Should -Be 'Local'
        $flow.PSObject.Properties.Name | Should -Not -Contain 'StorageJson'
        $flow.PSObject.Properties.Name | Should -Not -Contain 'StructureJson'
        ($flow | Format-List * | Out-String -Width 300) | Should -Not -BeLike '*{"*' -Because 'no property is JSON'
    }

    It 'pipe their storage into Publish-FlowScript: new code goes where runs read it' {
        $null = New-FlowScript $src (Get-SharedBody 'v2 ')
        $published = (Get-Flow -Name shared -Project C).Storage | Publish-FlowScript -Path $src
        $published.Location | Should -Be $sharedPath
        Get-Content -Raw $sharedPath | Should -BeLike '*"v2 "*'
        $run = Start-FlowRun -Name shared -Project C -Parameters @{ limit = 1 } -Wait 6>&1
        ($run | Where-Object { $_ -is [System.Management.Automation.InformationRecord] } | ForEach-Object { "$_" }) | Should -Contain '[print_data] v2 monday'
    }

    It 'carry the structure as objects: tasks in run order with options, upstream tasks and parameters; parameters; edges' {
        $structure = (Get-Flow -Name shared -Project C).Structure
        $structure.Tasks.Name | Should -Be @('get_data', 'clean', 'print_data')
        $structure.Tasks[0].Retries | Should -Be 2
        $structure.Tasks[0].RetryDelay | Should -Be ([timespan]::FromSeconds(1))
        $structure.Tasks[0].Parameters | Should -Be 'day'
        $structure.Tasks[1].Upstream | Should -Be 'get_data'
        $structure.Tasks[1].Parameters | Should -Be 'limit'
        $structure.Tasks[2].Upstream | Should -Be 'clean'
        $structure.Parameters | ForEach-Object { "$($_.Name) $($_.Type) $($_.Required) $($_.Default)" } | Should -Be @('day string False monday', 'limit int True ')
        $structure.Edges | Where-Object Kind -eq 'Data' | ForEach-Object { "$($_.From) -> $($_.To)" } | Sort-Object |
            Should -Be @('clean -> print_data', 'get_data -> clean')
        @($structure.Edges | Where-Object Kind -eq 'Parameter').From | Sort-Object | Should -Be @('day', 'limit')
        "$structure" | Should -Be '3 tasks (get_data, clean, print_data), 4 edges, 2 parameters'
        ($structure.ToJson() | ConvertFrom-Json).tasks | Should -HaveCount 3 -Because 'the canonical JSON is there when asked for'
    }

    It 'show the tasks in the list view, and tasks as a table' {
        $text = Get-Flow -Name shared -Project C | Format-List | Out-String -Width 200
        $text | Should -Match 'Tasks\s+: get_data; clean <- get_data; print_data <- clean'
        $text | Should -Match "Storage\s+: Local script $([regex]::Escape($sharedPath))"
        $text | Should -Match "Parameters\s+: day \(string\) = 'monday'; limit \(int, required\)"
        $table = (Get-Flow -Name shared -Project C).Structure.Tasks | Out-String -Width 200
        $table | Should -Match 'Name\s+Upstream\s+Parameters\s+Retries\s+RetryDelay\s+Timeout'
        $table | Should -Match 'clean\s+get_data\s+limit\s+0'
    }

    It 'convert to JSON when asked, with the storage settings and the tasks' {
        $json = Get-Flow -Name shared -Project C | ConvertTo-Json -Depth 6 | ConvertFrom-Json
        $json.Storage.Path | Should -Be $sharedPath
        $json.Structure.Tasks.Name | Should -Be @('get_data', 'clean', 'print_data')
    }

    It 'Register-Flow output carries its storage and structure the same way' {
        $alphaA2.Storage.PSObject.TypeNames[0] | Should -Be 'Flowstore.LocalStorage'
        $alphaA2.Storage.Path | Should -Be $alphaFile
        $alphaA2.Structure.Tasks.Name | Should -Be @('get_data', 'clean', 'print_data')
        $alphaA2.Structure.Hash | Should -Be $alphaA2.StructureHash
    }
}
