BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome

    function Set-TestSecret([string[]]$Name) {
        foreach ($n in $Name) { ('value-' + [guid]::NewGuid().ToString('N')) | Set-FlowSecret -Name $n }
    }
    function Get-Source([string]$Name) { (Get-FlowSecret -Name $Name).Source }
}

AfterAll {
    Exit-TestHome
}

Describe 'Remove-FlowSecret' {
    It 'is a high-impact operation (asks unless -Force or -Confirm:$false)' {
        $command = Get-Command Remove-FlowSecret
        $attribute = $command.ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0]
        $attribute.SupportsShouldProcess | Should -BeTrue
        $attribute.ConfirmImpact | Should -Be 'High'
        $command.Parameters.Keys | Should -Contain 'Force'
    }

    It '-Force removes the secret; nothing is output' {
        Set-TestSecret FORCED
        Remove-FlowSecret -Name FORCED -Force | Should -BeNullOrEmpty
        Get-Source FORCED | Should -Be 'not found'
    }

    It 'without -Force, -Confirm:$false removes it' {
        Set-TestSecret CONFIRMED
        Remove-FlowSecret -Name CONFIRMED -Confirm:$false
        Get-Source CONFIRMED | Should -Be 'not found'
    }

    It 'names ignore case, and -Name is positional' {
        Set-TestSecret Mixed_Case
        Remove-FlowSecret mixed_CASE -Force
        Get-FlowSecret -Name 'mixed*' | Should -BeNullOrEmpty
    }

    It '-WhatIf keeps the secret, also with -Force' {
        Set-TestSecret KEPT
        Remove-FlowSecret -Name KEPT -WhatIf 6>$null
        Remove-FlowSecret -Name KEPT -Force -WhatIf 6>$null
        Get-Source KEPT | Should -Be 'Flowstore secret store'
        Remove-FlowSecret -Name KEPT -Force
    }

    It 'an unknown name is a non-terminating SecretNotFound; the other names are still removed' {
        Set-TestSecret FIRST, SECOND
        Remove-FlowSecret -Name FIRST, NEVER_SET, SECOND -Force -ErrorAction SilentlyContinue -ErrorVariable ev
        $ev | Should -HaveCount 1
        $ev[0].FullyQualifiedErrorId | Should -Be 'SecretNotFound,Flowstore.Commands.RemoveFlowSecretCommand'
        $ev[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $ev[0].TargetObject | Should -Be 'NEVER_SET'
        $ev[0].Exception.Message | Should -BeLike "*'NEVER_SET'*Flowstore secret store*"
        Get-Source FIRST | Should -Be 'not found'
        Get-Source SECOND | Should -Be 'not found'
    }

    It 'an unknown name stops the script under -ErrorAction Stop' {
        { Remove-FlowSecret -Name NEVER_SET -Force } |
            Should -Throw -ErrorId 'SecretNotFound,Flowstore.Commands.RemoveFlowSecretCommand'
    }

    It 'a name only in the environment is not in the store: SecretNotFound, and the variable stays' {
        $env:FS_PESTER_REMOVE_ENV = 'environment-value'
        try {
            { Remove-FlowSecret -Name FS_PESTER_REMOVE_ENV -Force } |
                Should -Throw -ErrorId 'SecretNotFound,Flowstore.Commands.RemoveFlowSecretCommand'
            $env:FS_PESTER_REMOVE_ENV | Should -Be 'environment-value'
            Get-Source FS_PESTER_REMOVE_ENV | Should -Be 'environment variable'
        }
        finally { $env:FS_PESTER_REMOVE_ENV = $null }
    }

    It 'removing a stored secret uncovers an environment variable of the same name' {
        Set-TestSecret FS_PESTER_BOTH
        $env:FS_PESTER_BOTH = 'environment-value'
        try {
            Get-Source FS_PESTER_BOTH | Should -Be 'Flowstore secret store'
            Remove-FlowSecret -Name FS_PESTER_BOTH -Force
            Get-Source FS_PESTER_BOTH | Should -Be 'environment variable'
        }
        finally { $env:FS_PESTER_BOTH = $null }
    }

    It 'takes the output of Get-FlowSecret from the pipeline' {
        Set-TestSecret PIPE_A, PIPE_B, OTHER
        Get-FlowSecret -Name 'PIPE_*' | Remove-FlowSecret -Force
        Get-FlowSecret -Name 'PIPE_*' | Should -BeNullOrEmpty
        Get-Source OTHER | Should -Be 'Flowstore secret store'
        'OTHER' | Remove-FlowSecret -Force
        Get-FlowSecret | Should -BeNullOrEmpty
    }

    It 'a removed name can be set again' {
        Set-TestSecret AGAIN
        Remove-FlowSecret -Name AGAIN -Force
        Set-TestSecret AGAIN
        Get-Source AGAIN | Should -Be 'Flowstore secret store'
    }
}
