# S3 storage against the s3rver that tests/servers/Start-S3.ps1 started: what only S3 storage does. Prefect's "Script
# based cloud storage" snippets, -Pinned, the CI pipeline and the canary credential every object store shares run for
# S3 in Storage.ObjectStores.Tests.ps1.

BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    . "$PSScriptRoot/ObjectStoreStorage.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $store = Enter-ObjectStoreHome S3
    $S3 = $store.Settings
}

AfterAll {
    Exit-TestHome
}

Describe 'S3 storage: buckets' {
    It 'refuses a bucket that does not exist (StorageNotFound naming it)' {
        $file = New-FlowScript "$TestDrive/keyed/in_bucket.cs" (Get-LinearFlowBody -Name keyed -Message 'bucket v1')
        $err = { New-FlowStorage -Type S3 -Bucket no-such-bucket-here -Key a.cs -StoredAsScript @S3 |
                Register-Flow -Path $file -Project P -ErrorAction Stop } |
            Should -Throw -ErrorId 'StorageNotFound,Flowstore.Commands.RegisterFlowCommand' -PassThru
        $err.Exception.Message | Should -BeLike "*'no-such-bucket-here' does not exist*"
    }
}
