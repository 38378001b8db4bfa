BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome

    $null = New-FlowProject -Name Sales, SalesReports -Description 'numbers'
    $null = New-FlowProject -Name Ops
    $one = New-FlowScript "$TestDrive/one.cs" (Get-LinearFlowBody -Name one)
    $two = New-FlowScript "$TestDrive/two.cs" (Get-LinearFlowBody -Name two)
    # Sales: two flows, one of them with two versions; SalesReports: one flow, later unregistered.
    $null = Register-Flow -Path $one, $two -Project Sales
    $null = Register-Flow -Path $one -Project Sales -Force
    $null = Register-Flow -Path $one -Project SalesReports
    Unregister-Flow -Name one -Project SalesReports -Force
}

AfterAll {
    Exit-TestHome
}

Describe 'Get-FlowProject' {
    It 'lists every project' {
        $projects = @(Get-FlowProject)
        $projects.Name | Sort-Object | Should -Be @('Ops', 'Sales', 'SalesReports')
        $projects[0].PSObject.TypeNames | Should -Contain 'Flowstore.ProjectInfo'
        $projects.Id | ForEach-Object { $_ | Should -Not -Be ([guid]::Empty) }
    }

    It 'takes wildcards, case-insensitively' {
        (Get-FlowProject -Name 'sales*').Name | Sort-Object | Should -Be @('Sales', 'SalesReports')
        (Get-FlowProject -Name '*ps').Name | Should -Be 'Ops'
        Get-FlowProject -Name 'nothing*' -ErrorAction Stop | Should -BeNullOrEmpty
    }

    It 'takes exact names, also from the pipeline' {
        ('Ops', 'Sales' | Get-FlowProject).Name | Should -Be @('Ops', 'Sales')
        (Get-FlowProject ops).Name | Should -Be 'Ops'
    }

    It 'FlowCount counts registered flows (not versions, not unregistered flows)' {
        (Get-FlowProject -Name Sales).FlowCount | Should -Be 2
        (Get-FlowProject -Name SalesReports).FlowCount | Should -Be 0
        (Get-FlowProject -Name Ops).FlowCount | Should -Be 0
    }

    It 'keeps the description' {
        (Get-FlowProject -Name Sales).Description | Should -Be 'numbers'
    }

    It 'an unknown exact name is ProjectNotFound naming it' {
        $err = { Get-FlowProject -Name Missing -ErrorAction Stop } |
            Should -Throw -ErrorId 'ProjectNotFound,Flowstore.Commands.GetFlowProjectCommand' -PassThru
        $err.Exception.Message | Should -BeLike "*'Missing'*"
    }

    It 'an unknown name does not stop the others' {
        $found = Get-FlowProject -Name Missing, Ops -ErrorAction SilentlyContinue -ErrorVariable ev
        $found.Name | Should -Be 'Ops'
        $ev | Should -HaveCount 1
    }

    It 'completes project names' {
        $line = 'Get-FlowProject -Name Sa'
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText |
            Should -Be @('Sales', 'SalesReports')
    }

    It 'outputs nothing from an empty home' {
        $null = Enter-TestHome
        try {
            Get-FlowProject -ErrorAction Stop | Should -BeNullOrEmpty
        }
        finally {
            Exit-TestHome
        }
    }
}
