BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome
}

AfterAll {
    Exit-TestHome
}

Describe 'New-FlowProject' {
    It 'creates a project and outputs it' {
        $project = New-FlowProject -Name MyProject -Description 'the first one'
        $project.PSObject.TypeNames | Should -Contain 'Flowstore.ProjectInfo'
        $project.Name | Should -Be 'MyProject'
        $project.Description | Should -Be 'the first one'
        $project.FlowCount | Should -Be 0
        $project.Id | Should -Not -Be ([guid]::Empty)
        (Get-FlowProject -Name MyProject).Id | Should -Be $project.Id
    }

    It 'creates the database in $FLOWSTORE_HOME' {
        Join-Path $env:FLOWSTORE_HOME 'flowstore.db' | Should -Exist
    }

    It 'creates several projects, also from the pipeline' {
        (New-FlowProject -Name One, Two).Name | Should -Be @('One', 'Two')
        ('Three', 'Four' | New-FlowProject).Name | Should -Be @('Three', 'Four')
        (Get-FlowProject).Name | Sort-Object | Should -Be @('Four', 'MyProject', 'One', 'Three', 'Two')
    }

    It 'a project that exists is ProjectExists (names are case-insensitive)' {
        $err = { New-FlowProject -Name myproject -ErrorAction Stop } |
            Should -Throw -ErrorId 'ProjectExists,Flowstore.Commands.NewFlowProjectCommand' -PassThru
        $err.TargetObject | Should -Be 'myproject'
        @(Get-FlowProject -Name MyProject) | Should -HaveCount 1
    }

    It 'an existing name does not stop the others' {
        $created = New-FlowProject -Name One, Five -ErrorAction SilentlyContinue -ErrorVariable ev
        $created.Name | Should -Be 'Five'
        $ev | Should -HaveCount 1
        $ev[0].FullyQualifiedErrorId | Should -Be 'ProjectExists,Flowstore.Commands.NewFlowProjectCommand'
    }

    It '-WhatIf creates nothing and outputs nothing' {
        New-FlowProject -Name Hypothetical -WhatIf | Should -BeNullOrEmpty
        Get-FlowProject -Name Hypothetical -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'rejects an empty name' {
        { New-FlowProject -Name '' } | Should -Throw -ErrorId 'ParameterArgumentValidationError,Flowstore.Commands.NewFlowProjectCommand'
    }
}
