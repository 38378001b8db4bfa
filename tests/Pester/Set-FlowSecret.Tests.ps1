BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome

    # Reads a secret back the way task code does (Secret.Get), as the SHA-256 of its value, so that no test
    # ever outputs a value to compare it.
    $script:HashScript = New-FlowScript "$TestDrive/hash.cs" @'
using System.Security.Cryptography;
using System.Text;

var flow = new Flow("hash");
var name = flow.Parameter<string>("name");
flow.Task("hash", (string n) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Secret.Get(n)))), name);
'@
    function Get-SecretHash([string]$Name) {
        $result = Invoke-Flow -Path $script:HashScript -Parameters @{ name = $Name } 6>$null
        $result.State | Should -Be 'Success' -Because "secret '$Name' must resolve: $($result.Error)"
        $result.Results['hash']
    }
    function Get-Sha256([string]$Text) {
        [Convert]::ToHexStringLower([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($Text)))
    }
    function New-Value { 'value-' + [guid]::NewGuid().ToString('N') }
    function ConvertTo-Secure([string]$Text) { ConvertTo-SecureString -String $Text -AsPlainText -Force }

    # Every line the host shows (What if: text included) while running $Script, from a transcript.
    function Get-HostText([scriptblock]$Script) {
        $file = Join-Path $TestDrive ("transcript-" + [guid]::NewGuid().ToString('N') + '.txt')
        $null = Start-Transcript -LiteralPath $file
        try { & $Script *>&1 | Out-String -Width 500 | Write-Host }
        finally { $null = Stop-Transcript }
        Get-Content -LiteralPath $file -Raw
    }
}

AfterAll {
    Exit-TestHome
}

Describe 'Set-FlowSecret' {
    Context 'the three ways a value comes in' {
        It '-Value takes a SecureString; the value is stored, encrypted, and nothing is output' {
            $value = New-Value
            Set-FlowSecret -Name VALUE_TOKEN -Value (ConvertTo-Secure $value) | Should -BeNullOrEmpty
            Get-SecretHash VALUE_TOKEN | Should -Be (Get-Sha256 $value)
            (Get-FlowSecret -Name VALUE_TOKEN).Source | Should -Be 'Flowstore secret store'
            Join-Path $env:FLOWSTORE_HOME 'secret.key' | Should -Exist
        }

        It '-Name and -Value are positional' {
            $value = New-Value
            Set-FlowSecret POSITIONAL_TOKEN (ConvertTo-Secure $value)
            Get-SecretHash POSITIONAL_TOKEN | Should -Be (Get-Sha256 $value)
        }

        It '-Credential stores the password, not the user name' {
            $value = New-Value
            Set-FlowSecret -Name CREDENTIAL_TOKEN -Credential ([pscredential]::new('someone', (ConvertTo-Secure $value)))
            Get-SecretHash CREDENTIAL_TOKEN | Should -Be (Get-Sha256 $value)
        }

        It 'a plain value comes from the pipeline (CI: $env:TOKEN | Set-FlowSecret)' {
            $value = New-Value
            $env:FS_PESTER_PIPED = $value
            try {
                $env:FS_PESTER_PIPED | Set-FlowSecret -Name PIPED_TOKEN | Should -BeNullOrEmpty
            }
            finally { $env:FS_PESTER_PIPED = $null }
            Get-SecretHash PIPED_TOKEN | Should -Be (Get-Sha256 $value)
        }

        It 'Unicode values round-trip exactly' {
            $value = "ünïcödé 密码 🔑 " + (New-Value)
            $value | Set-FlowSecret -Name UNICODE_TOKEN
            Get-SecretHash UNICODE_TOKEN | Should -Be (Get-Sha256 $value)
        }

        It 'a plain value as an argument is a terminating SecretPlainTextArgument; nothing is stored' {
            $value = New-Value
            $err = { Set-FlowSecret -Name ARGUMENT_TOKEN -InputObject $value -ErrorAction SilentlyContinue } |
                Should -Throw -ErrorId 'SecretPlainTextArgument,Flowstore.Commands.SetFlowSecretCommand' -PassThru
            $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
            $err.TargetObject | Should -Be 'ARGUMENT_TOKEN'
            $err.Exception.Message | Should -BeLike '*pipeline only*'
            $err.Exception.Message | Should -Not -BeLike "*$value*"
            (Get-FlowSecret -Name ARGUMENT_TOKEN).Source | Should -Be 'not found'
        }
    }

    Context 'replacing and -PassThru' {
        It 'setting a name again replaces the value; Created stays and Updated moves' {
            $first = New-Value
            $second = New-Value
            $before = [DateTimeOffset]::UtcNow
            $one = Set-FlowSecret -Name Rotated_Token -Value (ConvertTo-Secure $first) -PassThru
            $one.Created | Should -BeGreaterOrEqual $before.AddMilliseconds(-1)
            $one.Updated | Should -Be $one.Created
            Start-Sleep -Milliseconds 20   # timestamps are exact to the microsecond; make "later" visible
            # Names ignore case: another casing replaces the same secret.
            $two = $second | Set-FlowSecret -Name ROTATED_TOKEN -PassThru

            $two.Name | Should -Be 'Rotated_Token'
            $two.Created | Should -Be $one.Created
            $two.Updated | Should -BeGreaterThan $one.Updated
            Get-SecretHash rotated_token | Should -Be (Get-Sha256 $second)
            @(Get-FlowSecret -Name 'rotated_*').Count | Should -Be 1
        }

        It '-PassThru outputs the description (name, source, times), never the value' {
            $value = New-Value
            $info = Set-FlowSecret -Name PASSTHRU_TOKEN -Value (ConvertTo-Secure $value) -PassThru
            $info.PSObject.TypeNames | Should -Contain 'Flowstore.SecretInfo'
            $info.Name | Should -Be 'PASSTHRU_TOKEN'
            $info.Source | Should -Be 'Flowstore secret store'
            $info.InStore | Should -BeTrue
            $info.Created | Should -Not -BeNullOrEmpty
            foreach ($property in $info.PSObject.Properties) { "$($property.Value)" | Should -Not -BeLike "*$value*" }
            $info | Format-List * | Out-String -Width 500 | Should -Not -BeLike "*$value*"
        }
    }

    Context 'empty values and names' {
        It 'an empty value is a non-terminating SecretValueEmpty naming the secret; nothing is stored (<Way>)' -ForEach @(
            @{ Way = 'an empty SecureString'; Set = { Set-FlowSecret -Name EMPTY_TOKEN -Value ([securestring]::new()) -ErrorAction SilentlyContinue -ErrorVariable ev; $ev } }
            @{ Way = 'a credential without a password'; Set = { Set-FlowSecret -Name EMPTY_TOKEN -Credential ([pscredential]::new('u', [securestring]::new())) -ErrorAction SilentlyContinue -ErrorVariable ev; $ev } }
            @{ Way = 'an empty string piped'; Set = { '' | Set-FlowSecret -Name EMPTY_TOKEN -ErrorAction SilentlyContinue -ErrorVariable ev; $ev } }
            @{ Way = 'an unset environment variable piped'; Set = { $env:FS_PESTER_NEVER_SET | Set-FlowSecret -Name EMPTY_TOKEN -ErrorAction SilentlyContinue -ErrorVariable ev; $ev } }
        ) {
            $errors = @(& $Set)
            $errors | Should -HaveCount 1 -Because $Way
            $errors[0].FullyQualifiedErrorId | Should -Be 'SecretValueEmpty,Flowstore.Commands.SetFlowSecretCommand'
            $errors[0].Exception.Message | Should -BeLike "*'EMPTY_TOKEN'*empty*"
            (Get-FlowSecret -Name EMPTY_TOKEN).Source | Should -Be 'not found'
        }

        It 'an empty value stops the script under -ErrorAction Stop' {
            { '' | Set-FlowSecret -Name EMPTY_TOKEN } |
                Should -Throw -ErrorId 'SecretValueEmpty,Flowstore.Commands.SetFlowSecretCommand'
        }

        It 'a blank name is InvalidName; an empty one a parameter binding error' {
            { Set-FlowSecret -Name '   ' -Value (ConvertTo-Secure 'x') } |
                Should -Throw -ErrorId 'InvalidName,Flowstore.Commands.SetFlowSecretCommand'
            { Set-FlowSecret -Name '' -Value (ConvertTo-Secure 'x') } |
                Should -Throw -ErrorId 'ParameterArgumentValidationError,Flowstore.Commands.SetFlowSecretCommand'
        }
    }

    Context '-WhatIf' {
        It '-WhatIf stores nothing and its text does not hold the value (<Way>)' -ForEach @(
            @{ Way = '-Value'; Set = { param($v) Set-FlowSecret -Name WHATIF_TOKEN -Value (ConvertTo-Secure $v) -WhatIf -Verbose } }
            @{ Way = '-Credential'; Set = { param($v) Set-FlowSecret -Name WHATIF_TOKEN -Credential ([pscredential]::new('u', (ConvertTo-Secure $v))) -WhatIf -Verbose } }
            @{ Way = 'pipeline'; Set = { param($v) $v | Set-FlowSecret -Name WHATIF_TOKEN -WhatIf -PassThru -Verbose } }
        ) {
            $value = New-Value
            $text = Get-HostText { & $Set $value }
            $text | Should -BeLike '*What if: Performing the operation "Set (encrypted in the Flowstore secret store)" on target "secret ''WHATIF_TOKEN''".*'
            $text | Should -Not -BeLike "*$value*"
            (Get-FlowSecret -Name WHATIF_TOKEN).Source | Should -Be 'not found'
        }

        It '-WhatIf on the first Set does not create the key file' {
            $null = Enter-TestHome
            try {
                'x' | Set-FlowSecret -Name WHATIF_TOKEN -WhatIf 6>$null
                Join-Path $env:FLOWSTORE_HOME 'secret.key' | Should -Not -Exist
            }
            finally { Exit-TestHome }
        }
    }

    Context 'the key file' {
        It 'is created on the first Set, owner-only (0600)' {
            $null = Enter-TestHome
            try {
                $key = Join-Path $env:FLOWSTORE_HOME 'secret.key'
                Get-FlowSecret | Should -BeNullOrEmpty
                $key | Should -Not -Exist
                'x' | Set-FlowSecret -Name KEYED
                (Get-Item -LiteralPath $key).UnixFileMode | Should -Be ([IO.UnixFileMode]'UserRead, UserWrite')
                (Get-Item -LiteralPath $key).Length | Should -Be 32
            }
            finally { Exit-TestHome }
        }
    }
}
