@{
    # Run `./build.ps1` first: the module is built into out/module. `./build.ps1 -Task Package` lays out a
    # publishable copy of this manifest (with paths relative to the module folder) under out/Flowstore.
    RootModule           = 'out/module/Flowstore.PowerShell.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '5b0f2a8e-3c8d-4d0e-9a51-6f1f7c2b9e43'
    Author               = 'Flowstore'
    CompanyName          = 'Flowstore'
    Copyright            = '(c) Flowstore. All rights reserved.'
    Description          = 'Script based flow storage for .NET and PowerShell: C# flow scripts kept in Local, Git hosts, Git, S3, GCS or Docker storage, registered by structure, run from their current source.'
    PowerShellVersion    = '7.6'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('out/module/Flowstore.Format.ps1xml')
    CmdletsToExport      = @(
        'New-FlowProject'
        'Get-FlowProject'
        'New-FlowStorage'
        'Test-FlowScript'
        'Publish-FlowScript'
        'Register-Flow'
        'Get-Flow'
        'Unregister-Flow'
        'Start-FlowRun'
        'Get-FlowRun'
        'Wait-FlowRun'
        'Stop-FlowRun'
        'Get-FlowRunLog'
        'Start-FlowAgent'
        'Get-FlowAgent'
        'Get-FlowSchedule'
        'Set-FlowSchedule'
        'Invoke-Flow'
        'Set-FlowSecret'
        'Get-FlowSecret'
        'Remove-FlowSecret'
        'New-FlowApiKey'
        'Get-FlowApiKey'
        'Revoke-FlowApiKey'
        'Connect-FlowServer'
        'Disconnect-FlowServer'
        'Get-FlowServer'
        'Start-FlowServer'
        'Stop-FlowServer'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('Flow', 'Workflow', 'Orchestration', 'Pipeline', 'CSharp', 'Roslyn', 'AzureDevOps')
            ProjectUri = 'https://github.com/flowstore/flowstore'
        }
    }
}
