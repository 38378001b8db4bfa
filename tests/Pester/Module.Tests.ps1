BeforeAll {
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'
    $null = Enter-TestHome
    $module = (Resolve-Path "$PSScriptRoot/../../Flowstore.psd1").Path
}

AfterAll {
    Exit-TestHome
}

Describe 'Remove-Module Flowstore' {
    It 'lets go of the engine and a later Import-Module works again in the same session' {
        $file = New-FlowScript "$TestDrive/greet.cs" (Get-LinearFlowBody -Name greet)
        # A session of its own: removing the module must not disturb the other test files.
        $script = @"
`$ErrorActionPreference = 'Stop'
Import-Module '$module'
`$null = Register-Flow -Path '$file' -Project P -CreateProject
`$first = Start-FlowRun -Name greet -Project P -Wait 6>`$null
Remove-Module Flowstore
if (Get-Command Start-FlowRun -ErrorAction SilentlyContinue) { throw 'the cmdlets are still there' }
Import-Module '$module'
`$second = Start-FlowRun -Name greet -Project P -Wait 6>`$null
"`$(`$first.State) `$(`$second.State) `$(@(Get-FlowRun -Name greet).Count)"
Remove-Module Flowstore
"@
        # Under `dotnet pwsh` (a local dotnet tool) this process is `dotnet .../pwsh.dll`: start the same.
        $executable = [Environment]::ProcessPath
        $prefix = @(if ([IO.Path]::GetFileNameWithoutExtension($executable) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
        $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($script))
        $output = & $executable @prefix -NoProfile -NonInteractive -EncodedCommand $encoded 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($output -join "`n")
        @($output)[-1] | Should -Be 'Success Success 2'
    }
}
