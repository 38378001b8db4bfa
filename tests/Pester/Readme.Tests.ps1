# The README's quick start, as written there, works on a home where command 1 (examples/Invoke-Example.ps1) ran
# first, and prints what the README shows.

BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'
    $null = Enter-TestHome
    $repo = (Resolve-Path "$PSScriptRoot/../..").Path
    $readme = Get-Content -Raw -LiteralPath (Join-Path $repo 'README.md')
    # The first powershell block is the quick start; the text block after it shows what it prints.
    $quickStart = [regex]::Match($readme, '```powershell\r?\n(?<code>.*?)```', 'Singleline').Groups['code'].Value
    $shown = [regex]::Match($readme, '```powershell\r?\n.*?```.*?```text\r?\n(?<text>.*?)```', 'Singleline').Groups['text'].Value
}

AfterAll {
    Exit-TestHome
}

Describe 'README quick start' {
    It 'runs after command 1 and prints the table the README shows' {
        & (Join-Path $repo 'examples/Invoke-Example.ps1') 6>$null | Out-Null

        Push-Location $repo
        try {
            $lines = @($quickStart -split "\r?\n" | Where-Object { $_.Trim() })
            $lines.Count | Should -Be 4
            $null = & ([scriptblock]::Create($lines[0]))                  # Import-Module ./Flowstore.psd1
            $first = & ([scriptblock]::Create($lines[1]))
            $second = & ([scriptblock]::Create($lines[2]))
            $run = & ([scriptblock]::Create($lines[3])) 6>$null
        }
        finally { Pop-Location }

        $first.Status | Should -Be 'Registered'
        $first.Version | Should -Be 1
        $second.Status | Should -Be 'Skipped'
        $second.Id | Should -Be $first.Id
        $run.State | Should -Be 'Success'
        (Get-FlowProject).Name | Sort-Object | Should -Be @('Example', 'MyProject')

        $printed = (($first | Out-String -Width 80).Trim() + "`n`n" + ($second | Out-String -Width 80).Trim()) -split '\r?\n' | ForEach-Object TrimEnd
        $printed | Should -Be @($shown.Trim() -split '\r?\n' | ForEach-Object TrimEnd)
    }
}
