# Shared by Storage.ObjectStores.Tests.ps1 and the per-store Storage.S3.Tests.ps1 / Storage.Gcs.Tests.ps1 files:
# dot-source it in BeforeAll after TestHelpers.ps1. Not a test file itself. What differs between the object stores
# (S3 against s3rver, GCS against the Cloud Storage emulator) is said here once per store: how a bucket is made and
# an object written or read as another party would, New-FlowStorage's connection parameters, and the wording.

function Get-ObjectStore {
    <#
    The store's description: Storage (the type name), Scheme (s3, gs), Settings (New-FlowStorage's connection
    parameters, splatted), ScriptSettings (the same as C# named arguments), VersionPattern (what a version looks like),
    VersionWord (how messages name a version), Shown (how Register-Flow's storage ends after the object's address),
    SecretValue (a credential value no record may hold, or $null), and script blocks:
      NewBucket   {} a bucket of the test's own
      SetObject   {param($Bucket, $Key, $Text)} writes `using Flowstore;` + $Text as another party would; the new version
      GetObject   {param($Bucket, $Key)} an object's text
      GetKeys     {param($Bucket)} the keys in a bucket
      MissingKey  {param($Bucket, $Key)} how a not-found message names a missing object (a -like pattern)
      CanarySecrets {param($Canary)} stores two secrets holding $Canary: Good (a credential that works) and Wrong (one
                  the store refuses); returns their names
      AssertDenied {param($Denied, $Wrong)} checks the StorageAccessDenied errors the Wrong secret caused
    #>
    param([Parameter(Mandatory)][ValidateSet('S3', 'Gcs')][string]$Storage)
    switch ($Storage) {
        'S3' {
            $url = $env:FLOWSTORE_TEST_S3_URL
            [pscustomobject]@{
                Storage = 'S3'; Scheme = 's3'; VersionPattern = '^[0-9a-f]{32}$'; VersionWord = 'Version'; Shown = " at $url"
                SecretValue = $env:FLOWSTORE_TEST_S3_SECRET_KEY
                Settings = @{ EndpointUrl = $url; ForcePathStyle = $true; CredentialsSecret = 'AWS_CREDENTIALS' }
                ScriptSettings = "endpointUrl: `"$url`",`n    forcePathStyle: true,`n    credentialsSecret: `"AWS_CREDENTIALS`""
                NewBucket = {
                    # s3rver accepts anonymous calls
                    $name = 'fs-' + [guid]::NewGuid().ToString('N').Substring(0, 20)
                    $null = Invoke-WebRequest -Method Put -Uri "$url/$name"
                    $name
                }.GetNewClosure()
                SetObject = {
                    # as `aws s3 cp` would; the ETag without quotes
                    param($Bucket, $Key, $Text)
                    $response = Invoke-WebRequest -Method Put -Uri "$url/$Bucket/$Key" -ContentType 'text/plain' `
                        -Body ([Text.UTF8Encoding]::new($false).GetBytes("using Flowstore;`n" + $Text))
                    "$($response.Headers.ETag)".Trim('"')
                }.GetNewClosure()
                GetObject = {
                    param($Bucket, $Key)
                    $http = [System.Net.Http.HttpClient]::new()
                    try { [Text.Encoding]::UTF8.GetString($http.GetByteArrayAsync("$url/$Bucket/$Key").GetAwaiter().GetResult()) }
                    finally { $http.Dispose() }
                }.GetNewClosure()
                GetKeys = {
                    param($Bucket)
                    $list = [xml](Invoke-WebRequest -Uri "$url/$Bucket/?list-type=2").Content
                    @($list.ListBucketResult.Contents | ForEach-Object { $_.Key })
                }.GetNewClosure()
                MissingKey = { param($Bucket, $Key) "*s3://$Bucket/$Key*" }
                CanarySecrets = {
                    param($Canary)
                    # s3rver checks only the access key: the canary is a working secret key here.
                    @{ accessKeyId = $env:FLOWSTORE_TEST_S3_ACCESS_KEY; secretAccessKey = $Canary } | ConvertTo-Json -Compress |
                        Set-FlowSecret -Name S3_CANARY
                    @{ ACCESS_KEY = 'WRONG-KEY'; SECRET_ACCESS_KEY = $Canary } | ConvertTo-Json -Compress |
                        Set-FlowSecret -Name S3_CANARY_WRONG
                    @{ Good = 'S3_CANARY'; Wrong = 'S3_CANARY_WRONG' }
                }
                AssertDenied = {
                    param($Denied, $Wrong)
                    $Denied.Count | Should -BeGreaterOrEqual 2
                    $Denied[0].Exception.Message | Should -BeLike "*$Wrong*"
                }
            }
        }
        'Gcs' {
            $url = $env:FLOWSTORE_TEST_GCS_URL
            [pscustomobject]@{
                Storage = 'Gcs'; Scheme = 'gs'; VersionPattern = '^\d+$'; VersionWord = 'Generation'; Shown = " at $url"
                SecretValue = $null
                # no secret: the emulator takes anonymous calls
                Settings = @{ EndpointUrl = $url }
                ScriptSettings = "endpointUrl: `"$url`""
                # the emulator creates buckets on first use
                NewBucket = { 'fs-' + [guid]::NewGuid().ToString('N').Substring(0, 20) }
                SetObject = {
                    # as `gcloud storage cp` would; the new generation
                    param($Bucket, $Key, $Text)
                    $uri = "$url/upload/storage/v1/b/$Bucket/o?uploadType=media&name=$([uri]::EscapeDataString($Key))"
                    $object = Invoke-RestMethod -Method Post -Uri $uri -ContentType 'text/plain' `
                        -Body ([Text.UTF8Encoding]::new($false).GetBytes("using Flowstore;`n" + $Text))
                    $object.generation
                }.GetNewClosure()
                GetObject = {
                    param($Bucket, $Key)
                    $response = Invoke-WebRequest -Uri "$url/storage/v1/b/$Bucket/o/$([uri]::EscapeDataString($Key))?alt=media"
                    [Text.Encoding]::UTF8.GetString($response.RawContentStream.ToArray())
                }.GetNewClosure()
                GetKeys = {
                    param($Bucket)
                    @((Invoke-RestMethod -Uri "$url/storage/v1/b/$Bucket/o").items | ForEach-Object { $_.name })
                }.GetNewClosure()
                MissingKey = { param($Bucket, $Key) "*'$Key' does not exist in bucket '$Bucket'*" }
                CanarySecrets = {
                    param($Canary)
                    $rsa = [Security.Cryptography.RSA]::Create(2048)
                    # A service-account key file as Google issues it. Its client signs its own tokens (JWT) for the API:
                    # the token URI (a closed local port) is never called, and the emulator takes the signed request.
                    [ordered]@{
                        type           = 'service_account'
                        project_id     = 'flowstore-test'
                        private_key_id = $Canary
                        private_key    = $rsa.ExportPkcs8PrivateKeyPem()
                        client_email   = 'flows@flowstore-test.iam.gserviceaccount.com'
                        client_id      = '100000000000000000001'
                        token_uri      = 'http://127.0.0.1:9/token'
                    } | ConvertTo-Json -Compress | Set-FlowSecret -Name GCS_CANARY
                    $rsa.Dispose()
                    # Not a service-account key: an error that must name the secret and quote nothing of it.
                    "{ `"type`": `"authorized_user`", `"refresh_token`": `"$Canary`"" | Set-FlowSecret -Name GCS_CANARY_WRONG
                    @{ Good = 'GCS_CANARY'; Wrong = 'GCS_CANARY_WRONG' }
                }
                AssertDenied = {
                    param($Denied, $Wrong)
                    $Denied.Count | Should -Be 2
                    $Denied | ForEach-Object { $_.Exception.Message | Should -BeLike "*secret '$Wrong'*service-account JSON key*" }
                }
            }
        }
    }
}

function Enter-ObjectStoreHome {
    <#
    Checks that the store's server runs (tests/servers/Start-S3.ps1, Start-Gcs.ps1), enters a new test home with
    project P and the store's credentials secret (S3: Prefect's AWS_CREDENTIALS, a JSON object with ACCESS_KEY and
    SECRET_ACCESS_KEY); returns the store's description. Leave with Exit-TestHome.
    #>
    param([Parameter(Mandatory)][string]$Storage)
    switch ($Storage) {
        'S3' { Assert-TestServer -Variable 'FLOWSTORE_TEST_S3_URL', 'FLOWSTORE_TEST_S3_ACCESS_KEY', 'FLOWSTORE_TEST_S3_SECRET_KEY' -StartScript 'Start-S3.ps1' }
        'Gcs' { Assert-TestServer -Variable 'FLOWSTORE_TEST_GCS_URL' -StartScript 'Start-Gcs.ps1' }
    }
    $null = Enter-TestHome
    $null = New-FlowProject -Name P
    if ($Storage -eq 'S3') {
        @{ ACCESS_KEY = $env:FLOWSTORE_TEST_S3_ACCESS_KEY; SECRET_ACCESS_KEY = $env:FLOWSTORE_TEST_S3_SECRET_KEY } |
            ConvertTo-Json -Compress | Set-FlowSecret -Name AWS_CREDENTIALS
    }
    Get-ObjectStore $Storage
}

function Get-StoredKey {
    <# The key a registered flow's storage records. #>
    param([Parameter(Mandatory)][string]$Name, [string]$Project = 'P')
    (Get-Flow -Name $Name -Project $Project).Storage.Key
}
