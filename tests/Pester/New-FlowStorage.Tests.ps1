BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome
}

AfterAll {
    Exit-TestHome
}

Describe 'New-FlowStorage' {
    It '-Type Local outputs frozen Local storage settings with no path or directory yet' {
        $storage = New-FlowStorage -Type Local
        $storage.PSObject.TypeNames | Should -Contain 'Flowstore.LocalStorage'
        $storage.Type | Should -Be 'Local'
        $storage.StoredAsScript | Should -BeFalse
        $storage.IsScript | Should -BeFalse
        $storage.Path | Should -BeNullOrEmpty
        $storage.Directory | Should -BeNullOrEmpty
        $storage.ArtifactPath | Should -BeNullOrEmpty
        $storage.PSObject.Properties.Name | Should -Not -Contain 'ArtifactPath' # bookkeeping, not a setting
        $storage.SecretNames | Should -BeNullOrEmpty
    }

    It '-StoredAsScript makes script storage' {
        $storage = New-FlowStorage -Type Local -StoredAsScript
        $storage.StoredAsScript | Should -BeTrue
        $storage.IsScript | Should -BeTrue
        "$storage" | Should -BeLike 'Local script*'
    }

    It '-Path and -Directory are resolved against the current location' {
        Push-Location $TestDrive
        try {
            $storage = New-FlowStorage -Type Local -Path flows/my_flow.cs -Directory frozen -StoredAsScript
        }
        finally {
            Pop-Location
        }
        $storage.Path | Should -Be (Join-Path $TestDrive 'flows/my_flow.cs')
        $storage.Directory | Should -Be (Join-Path $TestDrive 'frozen')
    }

    It 'a Windows path on Linux (or a drive that does not exist) is StorageInvalid naming it, not DriveNotFound' {
        $err = { New-FlowStorage -Type Local -Path 'C:\flows\x.cs' -StoredAsScript } |
            Should -Throw -ErrorId 'StorageInvalid,Flowstore.Commands.NewFlowStorageCommand' -PassThru
        $err.Exception.Message | Should -BeLike "*'C:\flows\x.cs', a Windows path, which cannot be resolved on this machine*"
        $err = { New-FlowStorage -Type Local -Directory 'nodrive:/frozen' } |
            Should -Throw -ErrorId 'StorageInvalid,Flowstore.Commands.NewFlowStorageCommand' -PassThru
        $err.Exception.Message | Should -BeLike "*'nodrive:/frozen'*"
    }

    It 'a script''s LocalStorage path of another system is kept verbatim, not joined to the script folder, and refused where used' {
        $file = New-FlowScript "$TestDrive/winpath.cs" ((Get-LinearFlowBody -Name winpath) + "`nflow.Storage = new LocalStorage(path: @`"C:\flows\x.cs`", storedAsScript: true);`n")
        $err = { Register-Flow -Path $file -Project WinPaths -CreateProject -ErrorAction Stop } |
            Should -Throw -ErrorId 'StorageInvalid,Flowstore.Commands.RegisterFlowCommand' -PassThru
        $err.Exception.Message | Should -BeLike "*'C:\flows\x.cs', a Windows path*"
        $err.Exception.Message | Should -Not -BeLike "*$TestDrive*C:*"
        @(Get-Flow -Project WinPaths) | Should -HaveCount 0
    }

    It 'offers only the parameters of the chosen type (dynamic parameters)' {
        $keys = (Get-Command New-FlowStorage -ArgumentList Local).Parameters.Keys
        $keys | Should -Contain 'Path'
        $keys | Should -Contain 'Directory'
        $keys | Should -Contain 'StoredAsScript'
    }

    It 'completes -Type values' {
        $line = 'New-FlowStorage -Type '
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain 'Local'
    }

    It 'contradictory or malformed settings stop the call with StorageInvalid naming what is wrong (<Case>)' -ForEach @(
        @{ Case = 'GitHub repo not owner/name'; Arguments = @{ Type = 'GitHub'; Repo = 'notarepo'; Path = 'f.cs' }; Message = "*owner/name*'notarepo'*" }
        @{ Case = 'Git branch and tag'; Arguments = @{ Type = 'Git'; Url = 'https://example.com/r.git'; Path = 'f.cs'; Branch = 'main'; Tag = 'v1' }; Message = '*more than one of branch*' }
        @{ Case = 'Docker Dockerfile and base image'; Arguments = @{ Type = 'Docker'; Dockerfile = './Dockerfile'; BaseImage = 'debian'; StoredAsScript = $true }; Message = '*Dockerfile or a base image, not both*'; Action = '*-Dockerfile, -BaseImage*' }
    ) {
        $err = { New-FlowStorage @Arguments } | Should -Throw -ErrorId 'StorageInvalid,Flowstore.Commands.NewFlowStorageCommand' -PassThru
        $err.Exception.Message | Should -BeLike $Message
        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
        if ($Action) { $err.ErrorDetails.RecommendedAction | Should -BeLike $Action }
    }

    It 'rejects an unknown type' {
        { New-FlowStorage -Type Nowhere } | Should -Throw -ErrorId 'CannotConvertArgumentNoMessage,Flowstore.Commands.NewFlowStorageCommand'
    }

    It 'frozen storage with -Directory stores the compiled flow there, and runs use that copy' {
        $file = New-FlowScript "$TestDrive/frozen.cs" (Get-LinearFlowBody -Name frozen -Message 'frozen v1')
        $directory = Join-Path $TestDrive 'frozen-flows'
        $registration = New-FlowStorage -Type Local -Directory $directory | Register-Flow -Path $file -Project Storage -CreateProject
        $registration.Status | Should -Be 'Registered'
        $dll = @(Get-ChildItem $directory -Recurse -Filter *.dll)
        $dll | Should -HaveCount 1
        Join-Path $env:FLOWSTORE_HOME 'flows' | Should -Not -Exist

        # Change a task body only: a frozen flow keeps running the registered copy.
        $null = New-FlowScript $file (Get-LinearFlowBody -Name frozen -Message 'frozen v2')
        $output = Start-FlowRun -Name frozen -Project Storage -Wait 6>&1
        $run = $output | Where-Object { $_ -isnot [System.Management.Automation.InformationRecord] }
        $run.State | Should -Be 'Success'
        "$($output | Where-Object { $_ -is [System.Management.Automation.InformationRecord] })" | Should -BeLike '*frozen v1*'
    }

    It 'script storage pipes into Register-Flow and runs read the current file' {
        $file = New-FlowScript "$TestDrive/script.cs" (Get-LinearFlowBody -Name scripted -Message 'script v1')
        $registration = New-FlowStorage -Type Local -StoredAsScript | Register-Flow -Path $file -Project Storage
        $registration.Storage | Should -Be "Local script $file"
        $null = New-FlowScript $file (Get-LinearFlowBody -Name scripted -Message 'script v2')
        $output = Start-FlowRun -Name scripted -Project Storage -Wait 6>&1
        "$($output | Where-Object { $_ -is [System.Management.Automation.InformationRecord] })" | Should -BeLike '*script v2*'
    }
}
