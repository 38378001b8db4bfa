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

    It 'outputs FlowRecord objects with the registration''s identity' {
        $flow = Get-Flow -Name alpha -Project A
        $flow.PSObject.TypeNames | Should -Contain 'Flowstore.FlowRecord'
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
