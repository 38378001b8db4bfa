BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome

    function New-Value { 'value-' + [guid]::NewGuid().ToString('N') }

    # Asserts that no property of the objects, nor their list or table formatting, holds any of the values.
    function Assert-NoValue([object[]]$InputObject, [string[]]$Value) {
        foreach ($item in $InputObject) {
            foreach ($property in $item.PSObject.Properties) {
                foreach ($v in $Value) { "$($property.Value)" | Should -Not -BeLike "*$v*" -Because "property $($property.Name)" }
            }
        }
        $text = ($InputObject | Format-List * | Out-String -Width 500) + ($InputObject | Out-String -Width 500)
        foreach ($v in $Value) { $text | Should -Not -BeLike "*$v*" }
    }

    $script:Values = @{ ALPHA_TOKEN = (New-Value); beta_token = (New-Value); Gamma_Token = (New-Value) }
    $script:Before = [DateTimeOffset]::UtcNow
    foreach ($name in 'Gamma_Token', 'ALPHA_TOKEN', 'beta_token') { $script:Values[$name] | Set-FlowSecret -Name $name }
    $script:After = [DateTimeOffset]::UtcNow
    $env:FS_PESTER_ENV_ONLY = 'environment-' + [guid]::NewGuid().ToString('N')
    $env:ALPHA_TOKEN = 'shadowed-' + [guid]::NewGuid().ToString('N')   # the store wins over this
}

AfterAll {
    $env:FS_PESTER_ENV_ONLY = $null
    $env:ALPHA_TOKEN = $null
    Exit-TestHome
}

Describe 'Get-FlowSecret' {
    Context 'the store' {
        It 'lists the stored secrets sorted by name, with source and times, never a value' {
            $all = @(Get-FlowSecret)

            $all.Name | Should -Be @('ALPHA_TOKEN', 'beta_token', 'Gamma_Token')
            foreach ($secret in $all) {
                $secret.PSObject.TypeNames | Should -Contain 'Flowstore.SecretInfo'
                $secret.Source | Should -Be 'Flowstore secret store'
                $secret.InStore | Should -BeTrue
                $secret.Created | Should -BeGreaterOrEqual $script:Before.AddMilliseconds(-1)
                $secret.Created | Should -BeLessOrEqual $script:After.AddMilliseconds(1)
                $secret.Updated | Should -Be $secret.Created
            }
            @($all[0].PSObject.Properties.Name) | Should -Be @('Name', 'Source', 'InStore', 'Created', 'Updated', 'KeyState')
            $all | ForEach-Object { $_.KeyState | Should -Be 'Readable' }
            Assert-NoValue $all (@($script:Values.Values) + $env:ALPHA_TOKEN)
        }

        It 'shows Name, Source, Created, Updated and Key as a table' {
            $lines = (Get-FlowSecret | Out-String -Width 200) -split "`n" | ForEach-Object TrimEnd | Where-Object { $_ }
            $lines[0] | Should -Match '^Name\s+Source\s+Created\s+Updated\s+Key$'
            $lines | Should -Contain ($lines | Where-Object { $_ -match '^ALPHA_TOKEN\s+Flowstore secret store\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+ok$' })
        }

        It 'completes -Name of Get-FlowSecret and Remove-FlowSecret with the stored names, never a value' {
            foreach ($command in 'Get-FlowSecret', 'Remove-FlowSecret') {
                $line = "$command -Name "
                $result = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches
                $result.CompletionText | Should -Be @('ALPHA_TOKEN', 'beta_token', 'Gamma_Token') -Because "$command -Name completes secret names"
                $result.ResultType | Should -Not -Contain 'ProviderItem' -Because 'not file names'
                $line = "$command -Name be"
                (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be 'beta_token'
                $text = ($result | ForEach-Object { $_.CompletionText; $_.ListItemText; $_.ToolTip }) -join "`n"
                foreach ($v in $script:Values.Values) { $text | Should -Not -BeLike "*$v*" }
            }
        }

        It 'an empty store lists nothing' {
            $null = Enter-TestHome
            try {
                Get-FlowSecret | Should -BeNullOrEmpty
                Join-Path $env:FLOWSTORE_HOME 'secret.key' | Should -Not -Exist -Because 'listing never creates a key'
            }
            finally { Exit-TestHome }
        }

        It '-Name takes exact names (any case) and wildcards; wildcards match stored names only' {
            (Get-FlowSecret -Name alpha_token).Name | Should -Be 'ALPHA_TOKEN'
            @(Get-FlowSecret -Name '*TA_*').Name | Should -Be @('beta_token')
            @(Get-FlowSecret -Name 'g*', 'A*').Name | Should -Be @('ALPHA_TOKEN', 'Gamma_Token')
            Get-FlowSecret -Name 'FS_PESTER_ENV*' | Should -BeNullOrEmpty -Because 'environment variables are not listed'
        }

        It 'takes names from the pipeline, by value and by property name' {
            @('beta_token', 'Gamma_Token' | Get-FlowSecret).Name | Should -Be @('beta_token', 'Gamma_Token')
            @([pscustomobject]@{ Name = 'ALPHA_TOKEN' } | Get-FlowSecret).Source | Should -Be 'Flowstore secret store'
        }
    }

    Context 'where a name resolves from' {
        It 'a stored name resolves from the store, even when an environment variable has the name' {
            $secret = Get-FlowSecret -Name ALPHA_TOKEN
            $secret.Source | Should -Be 'Flowstore secret store'
            Assert-NoValue $secret ($script:Values.ALPHA_TOKEN, $env:ALPHA_TOKEN)
        }

        It 'a name only in the environment resolves from "environment variable"' {
            $secret = Get-FlowSecret -Name FS_PESTER_ENV_ONLY
            $secret.Name | Should -Be 'FS_PESTER_ENV_ONLY'
            $secret.Source | Should -Be 'environment variable'
            $secret.InStore | Should -BeFalse
            $secret.Created | Should -BeNullOrEmpty
            $secret.Updated | Should -BeNullOrEmpty
            Assert-NoValue $secret $env:FS_PESTER_ENV_ONLY
        }

        It 'an unknown name is "not found", without an error' {
            $secret = Get-FlowSecret -Name NO_SUCH_SECRET -ErrorVariable ev
            $secret.Source | Should -Be 'not found'
            $secret.InStore | Should -BeFalse
            $ev | Should -BeNullOrEmpty
        }

        It 'stored, environment and unknown names together come sorted' {
            @(Get-FlowSecret -Name NO_SUCH_SECRET, FS_PESTER_ENV_ONLY, beta_token).Source |
                Should -Be @('Flowstore secret store', 'environment variable', 'not found')
        }
    }

    Context 'a SecretManagement vault' {
        BeforeAll {
            # SecretManagement cannot be installed here (no PowerShell Gallery): a stand-in module of the same name
            # with a Get-Secret that serves values from a hashtable file and records how it was called.
            $script:VaultValue = 'vault-' + [guid]::NewGuid().ToString('N')
            $modules = Join-Path $TestDrive 'vault-modules'
            $folder = Join-Path $modules 'Microsoft.PowerShell.SecretManagement'
            $null = New-Item -ItemType Directory -Force -Path $folder
            $script:VaultCalls = Join-Path $TestDrive 'vault-calls.txt'
            Set-Content -LiteralPath (Join-Path $TestDrive 'vault.psd1') -Value "@{ FS_PESTER_VAULT_ONLY = '$script:VaultValue'; ALPHA_TOKEN = 'vault-shadowed'; FS_PESTER_ENV_ONLY = 'vault-shadowed' }"
            Set-Content -LiteralPath (Join-Path $folder 'Microsoft.PowerShell.SecretManagement.psd1') -Value @"
@{
    RootModule        = 'Microsoft.PowerShell.SecretManagement.psm1'
    ModuleVersion     = '1.1.2'
    GUID              = '$([guid]::NewGuid())'
    FunctionsToExport = @('Get-Secret')
    CmdletsToExport   = @()
    VariablesToExport = @()
    AliasesToExport   = @()
}
"@
            Set-Content -LiteralPath (Join-Path $folder 'Microsoft.PowerShell.SecretManagement.psm1') -Value @"
function Get-Secret {
    [CmdletBinding()]
    param([Parameter(Mandatory, Position = 0)][string]`$Name, [switch]`$AsPlainText)
    Add-Content -LiteralPath '$script:VaultCalls' -Value "`$Name|`$([bool]`$AsPlainText)"
    `$vault = Import-PowerShellDataFile -LiteralPath '$(Join-Path $TestDrive 'vault.psd1')'
    if (-not `$vault.ContainsKey(`$Name)) {
        Write-Error -Message "The secret `$Name was not found." -ErrorId 'GetSecretNotFound' -Category ObjectNotFound
        return
    }
    if (`$AsPlainText) { `$vault[`$Name] } else { ConvertTo-SecureString -String `$vault[`$Name] -AsPlainText -Force }
}
"@
            $script:SavedModulePath = $env:PSModulePath
            $script:VaultModules = $modules

            $null = New-FlowProject -Name Vault
            $script:VaultFlow = New-FlowScript "$TestDrive/vault.cs" @'
using System.Security.Cryptography;
using System.Text;

var flow = new Flow("vault_reader");
var name = flow.Parameter<string>("name");
flow.Task("read", (string n) =>
{
    var value = Secret.Get(n);
    Console.WriteLine("value: " + value);
    Console.WriteLine("sha256: " + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value))));
}, name);
'@
            $null = Register-Flow -Path $script:VaultFlow -Project Vault
        }

        AfterAll {
            $env:PSModulePath = $script:SavedModulePath
            Remove-Module Microsoft.PowerShell.SecretManagement -ErrorAction SilentlyContinue
        }

        It 'without SecretManagement the vault is skipped silently' {
            # The test machine has no SecretManagement (it comes from the PowerShell Gallery); the stand-in is removed above.
            Get-Command Get-Secret -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $errorsBefore = $Error.Count
            $secret = Get-FlowSecret -Name FS_PESTER_VAULT_ONLY -WarningVariable warnings -ErrorVariable ev
            $secret.Source | Should -Be 'not found'
            $warnings | Should -BeNullOrEmpty
            $ev | Should -BeNullOrEmpty
            $Error.Count | Should -Be $errorsBefore

            $run = Start-FlowRun -Name vault_reader -Project Vault -Parameters @{ name = 'FS_PESTER_VAULT_ONLY' } -Wait -ErrorAction SilentlyContinue 3>$null 6>$null
            $run.State | Should -Be 'Failed'
            $run.Error | Should -BeLike "*Secret 'FS_PESTER_VAULT_ONLY' was not found; looked in: Flowstore secret store, environment variable.*"
            $script:VaultCalls | Should -Not -Exist
        }

        It 'with a Get-Secret command, a name neither stored nor in the environment resolves from the vault' {
            $env:PSModulePath = $script:VaultModules + [IO.Path]::PathSeparator + $script:SavedModulePath

            $secret = Get-FlowSecret -Name FS_PESTER_VAULT_ONLY
            $secret.Source | Should -Be 'SecretManagement vault'
            $secret.InStore | Should -BeFalse
            Assert-NoValue $secret $script:VaultValue
            Get-Content -LiteralPath $script:VaultCalls | Should -Be @('FS_PESTER_VAULT_ONLY|True') -Because 'Get-Secret is called with -AsPlainText'

            # The store and the environment come first: the vault is not even asked for those names.
            (Get-FlowSecret -Name ALPHA_TOKEN).Source | Should -Be 'Flowstore secret store'
            (Get-FlowSecret -Name FS_PESTER_ENV_ONLY).Source | Should -Be 'environment variable'
            (Get-FlowSecret -Name NO_SUCH_SECRET).Source | Should -Be 'not found'
            Get-Content -LiteralPath $script:VaultCalls | Should -Be @('FS_PESTER_VAULT_ONLY|True', 'NO_SUCH_SECRET|True')
        }

        It 'a run using Secret.Get gets the vault value, and its log shows *** instead' {
            $env:PSModulePath = $script:VaultModules + [IO.Path]::PathSeparator + $script:SavedModulePath
            $sha = [Convert]::ToHexStringLower([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($script:VaultValue)))

            $output = Start-FlowRun -Name vault_reader -Project Vault -Parameters @{ name = 'FS_PESTER_VAULT_ONLY' } -Wait *>&1
            $run = $output | Where-Object { $_.PSObject.TypeNames -contains 'Flowstore.FlowRunRecord' }
            $run.State | Should -Be 'Success'
            $log = Get-FlowRunLog -Id $run.Id
            ($log | Where-Object Task -EQ read | Where-Object Level -EQ Output).Message | Should -Be @('value: ***', "sha256: $sha")
            ($output | Out-String -Width 500) + ($log | Format-List * | Out-String -Width 500) | Should -Not -BeLike "*$script:VaultValue*"
        }

        It 'a missing secret names the vault among the places looked' {
            $env:PSModulePath = $script:VaultModules + [IO.Path]::PathSeparator + $script:SavedModulePath
            $run = Start-FlowRun -Name vault_reader -Project Vault -Parameters @{ name = 'NO_SUCH_SECRET' } -Wait -ErrorAction SilentlyContinue 3>$null 6>$null
            $run.State | Should -Be 'Failed'
            $run.Error | Should -BeLike "*Secret 'NO_SUCH_SECRET' was not found; looked in: Flowstore secret store, environment variable, SecretManagement vault.*"
        }
    }
}
