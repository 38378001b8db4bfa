# Every exported cmdlet has real help: a page in docs/help, a synopsis (not the auto-generated
# syntax), a description for every parameter and at least one example. The MAML is built from
# docs/help/*.md by build.ps1 (docs/help/ConvertTo-MamlHelp.ps1); run after Build, in a fresh pwsh.

BeforeDiscovery {
    $manifest = Join-Path $PSScriptRoot '../../Flowstore.psd1'
    $module = Import-Module $manifest -PassThru -ErrorAction Stop | Select-Object -First 1
    $common = [System.Management.Automation.Cmdlet]::CommonParameters
    $commands = @(Get-Command -Module $module.Name -CommandType Cmdlet | Sort-Object Name | ForEach-Object {
            @{
                Name       = $_.Name
                Parameters = @($_.Parameters.Keys | Where-Object { -not $common.Contains($_) } | Sort-Object)
            }
        })
    # New-FlowStorage's parameters depend on -Type (dynamic parameters): every type's must be documented.
    $storageTypes = @([Flowstore.Commands.FlowStorageType]::Names | ForEach-Object {
            @{
                Type       = $_
                Parameters = @((Get-Command New-FlowStorage -ArgumentList $_).Parameters.Keys | Where-Object { -not $common.Contains($_) } | Sort-Object)
            }
        })
}

BeforeAll {
    $manifest = Join-Path $PSScriptRoot '../../Flowstore.psd1'
    $module = Import-Module $manifest -PassThru -ErrorAction Stop | Select-Object -First 1
    $helpSource = Join-Path $PSScriptRoot '../../docs/help'
}

Describe 'Module help' {
    It 'the module exports at least one cmdlet' {
        @(Get-Command -Module $module.Name -CommandType Cmdlet).Count | Should -BeGreaterThan 0
    }
}

Describe 'Help for <Name>' -ForEach $commands {
    BeforeAll {
        $help = Get-Help -Name $Name -Full -ErrorAction Stop
    }

    It 'has a markdown page docs/help/<Name>.md' {
        Join-Path $helpSource "$Name.md" | Should -Exist
    }

    It 'has a synopsis that is not the auto-generated syntax' {
        $synopsis = "$($help.Synopsis)".Trim()
        $synopsis | Should -Not -BeNullOrEmpty
        $synopsis | Should -Not -BeLike '*`[<CommonParameters>`]*'
        $help.PSObject.TypeNames | Should -Contain 'MamlCommandHelpInfo' -Because 'the help must come from the MAML file built from docs/help'
    }

    It 'has at least one example with code' {
        $examples = @($help.PSObject.Properties['examples'] | Where-Object Value | ForEach-Object { $_.Value.example })
        $examples.Count | Should -BeGreaterThan 0
        "$($examples[0].code)".Trim() | Should -Not -BeNullOrEmpty
    }

    It 'describes parameter -<_>' -ForEach $Parameters {
        $parameter = @($help.parameters.parameter | Where-Object name -EQ $_)
        $parameter.Count | Should -Be 1 -Because "Get-Help $Name -Parameter $_ must find it"
        $text = (@($parameter[0].description) | ForEach-Object Text) -join ''
        $text.Trim() | Should -Not -BeNullOrEmpty
    }
}

Describe 'Help for New-FlowStorage -Type <Type>' -ForEach $storageTypes {
    BeforeAll {
        $help = Get-Help -Name New-FlowStorage -Full -ErrorAction Stop
    }

    It 'describes parameter -<_>' -ForEach $Parameters {
        $parameter = @($help.parameters.parameter | Where-Object name -EQ $_)
        $parameter.Count | Should -Be 1 -Because "Get-Help New-FlowStorage -Parameter $_ must find it"
        $text = (@($parameter[0].description) | ForEach-Object Text) -join ''
        $text.Trim() | Should -Not -BeNullOrEmpty
    }
}
