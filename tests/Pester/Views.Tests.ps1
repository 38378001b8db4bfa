# The module's default tables read right in an 80-column terminal: every header on one line and whole (no "Reaso"
# over "n"), no line wider than 80, and the short values a user looks for not cut ("new flow", not "new …").

BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'
    $null = Enter-TestHome

    # The labels of the table view the module defines for a type, in order.
    function Get-TableLabel([string]$TypeName) {
        $view = (Get-FormatData -TypeName $TypeName -PowerShellVersion $PSVersionTable.PSVersion).FormatViewDefinition |
            Where-Object { $_.Control -is [System.Management.Automation.TableControl] } | Select-Object -First 1
        if (-not $view) { throw "no table view for $TypeName" }
        $columns = $view.Control.Rows[0].Columns
        for ($i = 0; $i -lt $view.Control.Headers.Count; $i++) {
            $label = $view.Control.Headers[$i].Label
            if ($label) { $label } else { $columns[$i].DisplayEntry.Value }
        }
    }

    # Renders objects at 80 columns and checks the table's shape; returns the rendered lines.
    function Assert-Table80([object[]]$InputObject, [string]$TypeName) {
        $text = $InputObject | Out-String -Width 80
        $lines = @($text -split "\r?\n")
        $dashes = [array]::FindIndex([string[]]$lines, [Predicate[string]] { param($l) $l -match '^[ -]*-[ -]*$' })
        $dashes | Should -BeGreaterThan 0 -Because "a table has a line of dashes under its headers:`n$text"
        $lines[$dashes - 1].Trim() -split '\s+' | Should -Be @(Get-TableLabel $TypeName) -Because "the headers are whole and on one line:`n$text"
        if ($dashes -ge 2) { $lines[$dashes - 2].Trim() | Should -BeExactly '' -Because "no header is wrapped over two lines:`n$text" }
        @($lines[$dashes] -split '\s+' | Where-Object { $_ }).Count | Should -Be @(Get-TableLabel $TypeName).Count -Because "every column is shown:`n$text"
        foreach ($l in $lines) { $l.Length | Should -BeLessOrEqual 80 -Because "no line is wider than 80 columns:`n$text" }
        $text | Should -Not -Match '…' -Because "no value is cut short:`n$text"
        $lines
    }

    $file = New-FlowScript "$TestDrive/flows/my_flow.cs" (Get-LinearFlowBody -Name example)
    $first = Register-Flow -Path $file -Project MyProject -CreateProject
    $second = Register-Flow -Path $file -Project MyProject
    $run = Start-FlowRun -Name example -Project MyProject -Wait 6>$null
}

AfterAll {
    Exit-TestHome
}

Describe 'Tables at 80 columns' {
    It 'Register-Flow: a new flow and an unchanged one' {
        $lines = Assert-Table80 @($first, $second) 'Flowstore.Engine.FlowRegistration'
        $lines | Should -Contain ($lines | Where-Object { $_ -match '^example\s+MyProject\s+1\s+Registered\s+new flow\s*$' })
        $lines | Where-Object { $_ -match '^example\s+MyProject\s+1\s+Skipped\s+metadata unchanged\s*$' } | Should -Not -BeNullOrEmpty
    }

    It 'Get-Flow' {
        $flow = Get-Flow -Name example -Project MyProject
        $null = Assert-Table80 @($flow) $flow.PSObject.TypeNames[0]
    }

    It 'Start-FlowRun -Wait and its tasks' {
        $lines = Assert-Table80 @($run) $run.PSObject.TypeNames[0]
        $lines | Where-Object { $_ -match '^[0-9a-f-]{36}\s+example\s+Success\s' } | Should -Not -BeNullOrEmpty
        $null = Assert-Table80 @($run.Tasks) @($run.Tasks)[0].PSObject.TypeNames[0]
    }

    It 'Get-FlowRun' {
        $record = Get-FlowRun -Id $run.Id
        $null = Assert-Table80 @($record) $record.PSObject.TypeNames[0]
    }
}
