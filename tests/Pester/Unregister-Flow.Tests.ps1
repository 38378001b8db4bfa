BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome
    $null = New-FlowProject -Name P
    $files = @{}
    foreach ($name in 'keep', 'archive', 'piped', 'passthru', 'confirm', 'again') {
        $files[$name] = New-FlowScript "$TestDrive/$name.cs" (Get-LinearFlowBody -Name $name)
    }
    $null = Register-Flow -Path @($files.Values) -Project P
}

AfterAll {
    Exit-TestHome
}

Describe 'Unregister-Flow' {
    It '-Force archives every version: Get-Flow no longer lists it, -AllVersions shows it archived' {
        $null = Register-Flow -Path $files.archive -Project P -Force   # version 2
        Unregister-Flow -Name archive -Project P -Force | Should -BeNullOrEmpty
        (Get-Flow -Project P).Name | Should -Not -Contain 'archive'
        { Get-Flow -Name archive -Project P -ErrorAction Stop } | Should -Throw -ErrorId 'FlowNotFound,Flowstore.Commands.GetFlowCommand'
        $versions = @(Get-Flow -Name archive -Project P -AllVersions)
        $versions.Version | Should -Be @(2, 1)
        $versions.Archived | Should -Be @($true, $true)
    }

    It 'an unregistered flow cannot be run' {
        { Start-FlowRun -Name archive -Project P -Wait -ErrorAction Stop } |
            Should -Throw -ErrorId 'FlowNotFound,Flowstore.Commands.StartFlowRunCommand'
    }

    It '-WhatIf keeps the flow' {
        Unregister-Flow -Name keep -Project P -WhatIf | Should -BeNullOrEmpty
        $flows = @(Get-Flow -Name keep -Project P)
        $flows | Should -HaveCount 1
        $flows[0].Archived | Should -Be $false
    }

    It 'takes flows from Get-Flow on the pipeline' {
        Get-Flow -Name piped -Project P | Unregister-Flow -Force
        (Get-Flow -Project P -AllVersions | Where-Object Name -EQ piped).Archived | Should -BeTrue
        (Get-Flow -Project P).Name | Should -Contain 'keep'
    }

    It '-PassThru outputs the archived flow' {
        $archived = Unregister-Flow -Name passthru -Project P -Force -PassThru
        $archived.Name | Should -Be 'passthru'
        $archived.Archived | Should -BeTrue
    }

    It '-Confirm:$false archives without asking' {
        Unregister-Flow -Name confirm -Project P -Confirm:$false
        (Get-Flow -Project P).Name | Should -Not -Contain 'confirm'
    }

    It 'is a high-impact change' {
        (Get-Command Unregister-Flow).ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false).ConfirmImpact |
            Should -Be 'High'
    }

    It 'registering an unregistered flow again gives a new, active version' {
        Unregister-Flow -Name again -Project P -Force
        $registration = Register-Flow -Path $files.again -Project P
        $registration.Status | Should -Be 'Registered'
        $registration.Version | Should -Be 2
        $registration.Reason | Should -BeLike '*unregistered*'
        (Get-Flow -Name again -Project P).Archived | Should -BeFalse
    }

    It 'an unknown flow is FlowNotFound' {
        $err = { Unregister-Flow -Name ghost -Project P -Force -ErrorAction Stop } |
            Should -Throw -ErrorId 'FlowNotFound,Flowstore.Commands.UnregisterFlowCommand' -PassThru
        $err.Exception.Message | Should -BeLike "*'ghost'*"
    }

    It 'completes flow names' {
        $line = 'Unregister-Flow -Project P -Name ke'
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be 'keep'
    }
}
