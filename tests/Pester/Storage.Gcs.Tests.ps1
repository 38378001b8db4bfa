# GCS storage against the Cloud Storage emulator that tests/servers/Start-Gcs.ps1 started: Prefect's "Script based
# cloud storage" snippets as PowerShell (StoredAsScript with a key; LocalScriptPath; a generated key), each
# registered, run, its object edited and run again (new code, no re-registration), a structure change caught at run
# time; the CI pipeline New-FlowStorage | Publish-FlowScript | Register-Flow; and a canary credential (a
# service-account JSON key held as a secret) that leaks nowhere.

BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    Assert-TestServer -Variable 'FLOWSTORE_TEST_GCS_URL' -StartScript 'Start-Gcs.ps1'
    $null = Enter-TestHome
    $null = New-FlowProject -Name P
    $script:Url = $env:FLOWSTORE_TEST_GCS_URL
    # Where the emulator is; splatted into New-FlowStorage -Type Gcs (no secret: the emulator takes anonymous calls).
    $script:Gcs = @{ EndpointUrl = $script:Url }

    function New-Bucket {
        <# A bucket name of the test's own (the emulator creates buckets on first use). #>
        'fs-' + [guid]::NewGuid().ToString('N').Substring(0, 20)
    }

    function Set-GcsObject {
        <# Uploads text to bucket/key as another party would (gcloud storage cp); returns the new generation. #>
        param([string]$Bucket, [string]$Key, [string]$Text)
        $uri = "$script:Url/upload/storage/v1/b/$Bucket/o?uploadType=media&name=$([uri]::EscapeDataString($Key))"
        $object = Invoke-RestMethod -Method Post -Uri $uri -ContentType 'text/plain' `
            -Body ([Text.UTF8Encoding]::new($false).GetBytes("using Flowstore;`n" + $Text))
        $object.generation
    }

    function Get-GcsObject {
        param([string]$Bucket, [string]$Key)
        $response = Invoke-WebRequest -Uri "$script:Url/storage/v1/b/$Bucket/o/$([uri]::EscapeDataString($Key))?alt=media"
        [Text.Encoding]::UTF8.GetString($response.RawContentStream.ToArray())
    }

    function Get-GcsKey {
        <# The object names in a bucket. #>
        param([string]$Bucket)
        @((Invoke-RestMethod -Uri "$script:Url/storage/v1/b/$Bucket/o").items | ForEach-Object { $_.name })
    }

    function Invoke-Run {
        <# Start-FlowRun -Wait: the run and the information-stream text. #>
        param([string]$Name)
        $output = Start-FlowRun -Name $Name -Project P -Wait 6>&1
        [pscustomobject]@{
            Run  = @($output | Where-Object { $_ -isnot [System.Management.Automation.InformationRecord] })
            Text = @($output | Where-Object { $_ -is [System.Management.Automation.InformationRecord] } | ForEach-Object { "$_" })
        }
    }

    function Get-StoredKey {
        param([string]$Name)
        (Get-Flow -Name $Name -Project P).Storage.Key
    }
}

AfterAll {
    Exit-TestHome
}

Describe 'GCS storage, StoredAsScript with a key (flow.storage = GCS(bucket=..., stored_as_script=True, key=...))' {
    BeforeAll {
        $bucket = New-Bucket
        $file = New-FlowScript "$TestDrive/keyed/in_bucket.cs" (Get-LinearFlowBody -Name keyed -Message 'bucket v1')
        $generation = Set-GcsObject $bucket 'flow_path/in_bucket.cs' (Get-LinearFlowBody -Name keyed -Message 'bucket v1')
    }

    It 'registers after checking the object, and a run fetches it with its generation as provenance' {
        $registration = New-FlowStorage -Type Gcs -Bucket $bucket -Key flow_path/in_bucket.cs -StoredAsScript @Gcs |
            Register-Flow -Path $file -Project P
        $registration.Status | Should -Be 'Registered'
        "$($registration.Storage)" | Should -Be "Gcs script gs://$bucket/flow_path/in_bucket.cs at $script:Url"

        $result = Invoke-Run keyed
        $result.Run[0].State | Should -Be 'Success'
        $result.Text | Should -Contain '[print_data] bucket v1'
        $result.Run[0].StorageVersion | Should -Be $generation
        $script:FirstRun = $result.Run[0]
        (Get-Flow -Name keyed -Project P).Storage.EndpointUrl | Should -Be $script:Url
    }

    It 'runs the new code after the object is edited, without registering again; -Pinned re-runs need the old generation' {
        $first = $script:FirstRun
        $newGeneration = Set-GcsObject $bucket 'flow_path/in_bucket.cs' (Get-LinearFlowBody -Name keyed -Message 'bucket v2')
        $result = Invoke-Run keyed
        $result.Text | Should -Contain '[print_data] bucket v2'
        $result.Text | Should -Not -Contain '[print_data] bucket v1'
        $result.Run[0].StorageVersion | Should -Be $newGeneration
        $result.Run[0].FlowVersion | Should -Be 1
        (New-FlowStorage -Type Gcs -Bucket $bucket -Key flow_path/in_bucket.cs -StoredAsScript @Gcs |
            Register-Flow -Path $file -Project P).Status | Should -Be 'Skipped'

        # The emulator, like a bucket without Object Versioning, keeps no replaced generation.
        $err = { Start-FlowRun -Pinned $first.Id -Wait -ErrorAction Stop 6>$null } |
            Should -Throw -ErrorId 'PinnedVersionUnavailable,Flowstore.Commands.StartFlowRunCommand' -PassThru
        $err.Exception.Message | Should -BeLike "*Generation $($first.StorageVersion) of gs://$bucket/flow_path/in_bucket.cs*"
        $pinned = Start-FlowRun -Pinned $result.Run[0].Id -Wait 6>$null
        $pinned.State | Should -Be 'Success'
        $pinned.StorageVersion | Should -Be $newGeneration
    }

    It 'fails the run with StructureChanged when the object in the bucket changes the structure' {
        $null = Set-GcsObject $bucket 'flow_path/in_bucket.cs' (Get-LinearFlowBody -Name keyed -Task get_data, enrich, print_data)
        $err = { Start-FlowRun -Name keyed -Project P -Wait -ErrorAction Stop 6>$null } |
            Should -Throw -ErrorId 'StructureChanged,Flowstore.Commands.StartFlowRunCommand' -PassThru
        $err.Exception.Message | Should -BeLike '*enrich*'
        $err.Exception.Message | Should -BeLike "*gs://$bucket/flow_path/in_bucket.cs*"
    }

    It 'refuses a key that is not in the bucket (StorageNotFound naming bucket and key)' {
        $err = { New-FlowStorage -Type Gcs -Bucket $bucket -Key flow_path/missing.cs -StoredAsScript @Gcs |
                Register-Flow -Path $file -Project P -ErrorAction Stop } |
            Should -Throw -ErrorId 'StorageNotFound,Flowstore.Commands.RegisterFlowCommand' -PassThru
        $err.Exception.Message | Should -BeLike "*'flow_path/missing.cs' does not exist in bucket '$bucket'*"
    }

    It 'refuses a stored script of another structure (StoredScriptMismatch)' {
        $null = Set-GcsObject $bucket 'flow_path/other.cs' (Get-LinearFlowBody -Name keyed -Task get_data, enrich, print_data)
        $err = { New-FlowStorage -Type Gcs -Bucket $bucket -Key flow_path/other.cs -StoredAsScript @Gcs |
                Register-Flow -Path $file -Project P -ErrorAction Stop } |
            Should -Throw -ErrorId 'StoredScriptMismatch,Flowstore.Commands.RegisterFlowCommand' -PassThru
        $err.Exception.Message | Should -BeLike "*gs://$bucket/flow_path/other.cs*enrich*"
    }
}

Describe 'GCS storage with LocalScriptPath (flow.storage = GCS(bucket=..., stored_as_script=True, local_script_path=...))' {
    BeforeAll {
        $bucket = New-Bucket
        $file = New-FlowScript "$TestDrive/local/my_flow.cs" (Get-LinearFlowBody -Name localpath -Message 'uploaded v1')
    }

    It 'uploads the file at registration under a generated flow-slug/UTC-timestamp key and runs it' {
        $registration = New-FlowStorage -Type Gcs -Bucket $bucket -StoredAsScript -LocalScriptPath $file @Gcs |
            Register-Flow -Path $file -Project P
        $registration.Status | Should -Be 'Registered'
        $key = Get-StoredKey localpath
        $key | Should -Match '^localpath/\d{8}T\d{6}Z(-\d+)?$'
        Get-GcsObject $bucket $key | Should -Be (Get-Content -Raw -LiteralPath $file)
        (Invoke-Run localpath).Text | Should -Contain '[print_data] uploaded v1'
    }

    It 'skips an unchanged file (nothing uploaded again)' {
        (New-FlowStorage -Type Gcs -Bucket $bucket -StoredAsScript -LocalScriptPath $file @Gcs |
            Register-Flow -Path $file -Project P).Status | Should -Be 'Skipped'
        Get-GcsKey $bucket | Should -HaveCount 1
    }

    It 'runs the new code after the object is edited in the bucket, without registering again' {
        $null = Set-GcsObject $bucket (Get-StoredKey localpath) (Get-LinearFlowBody -Name localpath -Message 'edited in bucket')
        $result = Invoke-Run localpath
        $result.Text | Should -Contain '[print_data] edited in bucket'
        $result.Run[0].FlowVersion | Should -Be 1
    }

    It 'fails the run with StructureChanged when the object changes the structure' {
        $null = Set-GcsObject $bucket (Get-StoredKey localpath) (Get-LinearFlowBody -Name localpath -Task get_data, enrich, print_data)
        { Start-FlowRun -Name localpath -Project P -Wait -ErrorAction Stop 6>$null } |
            Should -Throw -ErrorId 'StructureChanged,Flowstore.Commands.StartFlowRunCommand'
    }

    It 'uploads an edited local file as a new version' {
        $null = New-FlowScript $file (Get-LinearFlowBody -Name localpath -Message 'uploaded v2')
        $registration = New-FlowStorage -Type Gcs -Bucket $bucket -StoredAsScript -LocalScriptPath $file @Gcs |
            Register-Flow -Path $file -Project P
        $registration.Status | Should -Be 'Registered'
        $registration.Version | Should -Be 2
        Get-GcsKey $bucket | Should -HaveCount 2
        (Invoke-Run localpath).Text | Should -Contain '[print_data] uploaded v2'
    }

    It 'uploads to a given -Key' {
        $keyed = New-FlowScript "$TestDrive/local/keyed.cs" (Get-LinearFlowBody -Name localkeyed -Message 'at my key')
        $null = New-FlowStorage -Type Gcs -Bucket $bucket -Key flows/keyed.cs -StoredAsScript -LocalScriptPath $keyed @Gcs |
            Register-Flow -Path $keyed -Project P
        Get-GcsObject $bucket flows/keyed.cs | Should -Be (Get-Content -Raw -LiteralPath $keyed)
        (Invoke-Run localkeyed).Text | Should -Contain '[print_data] at my key'
    }

    It 'refuses LocalScriptPath without -StoredAsScript (StorageInvalid)' {
        $err = { New-FlowStorage -Type Gcs -Bucket $bucket -LocalScriptPath $file @Gcs | Register-Flow -Path $file -Project P -ErrorAction Stop } |
            Should -Throw -ErrorId 'StorageInvalid,Flowstore.Commands.RegisterFlowCommand' -PassThru
        $err.Exception.Message | Should -BeLike '*script storage*'
        $err.ErrorDetails.RecommendedAction | Should -BeLike '*-StoredAsScript*'
    }
}

Describe 'GCS storage with a generated key (Register-Flow -Path of a script-mode flow with no key)' {
    BeforeAll {
        $bucket = New-Bucket
    }

    It 'uploads the registered file, runs it, and its edited object runs without registering again' {
        $file = New-FlowScript "$TestDrive/auto/auto.cs" (Get-LinearFlowBody -Name autokey -Message 'auto v1')
        $null = New-FlowStorage -Type Gcs -Bucket $bucket -StoredAsScript @Gcs | Register-Flow -Path $file -Project P
        $key = Get-StoredKey autokey
        $key | Should -Match '^autokey/\d{8}T\d{6}Z(-\d+)?$'
        (Invoke-Run autokey).Text | Should -Contain '[print_data] auto v1'

        $null = Set-GcsObject $bucket $key (Get-LinearFlowBody -Name autokey -Message 'auto edited')
        (Invoke-Run autokey).Text | Should -Contain '[print_data] auto edited'
        $null = Set-GcsObject $bucket $key (Get-LinearFlowBody -Name autokey -Task get_data, enrich, print_data)
        { Start-FlowRun -Name autokey -Project P -Wait -ErrorAction Stop 6>$null } |
            Should -Throw -ErrorId 'StructureChanged,Flowstore.Commands.StartFlowRunCommand'
    }

    It 'takes the storage from the flow script (new GcsStorage(...)), as Prefect''s example sets flow.storage' {
        $file = New-FlowScript "$TestDrive/auto/in_script.cs" (@"
var flow = new Flow("inscript");
var data = flow.Task("get_data", () => 1);
flow.Task("print_data", (int x) => Console.WriteLine("set in the script"), data);
flow.Storage = new GcsStorage(
    bucket: "$bucket",
    storedAsScript: true,
    localScriptPath: "in_script.cs",
    endpointUrl: "$script:Url");
"@)
        (Register-Flow -Path $file -Project P).Status | Should -Be 'Registered'
        Get-StoredKey inscript | Should -Match '^inscript/\d{8}T\d{6}Z(-\d+)?$'
        (Invoke-Run inscript).Text | Should -Contain '[print_data] set in the script'
        (Register-Flow -Path $file -Project P).Status | Should -Be 'Skipped'
    }

    It 'without -StoredAsScript uploads the compiled flow (frozen) and runs it' {
        $file = New-FlowScript "$TestDrive/auto/frozen.cs" (Get-LinearFlowBody -Name frozen -Message 'compiled')
        $null = New-FlowStorage -Type Gcs -Bucket $bucket @Gcs | Register-Flow -Path $file -Project P
        Get-StoredKey frozen | Should -Match '^frozen/\d{8}T\d{6}Z(-\d+)?\.dll$'
        $null = New-FlowScript $file (Get-LinearFlowBody -Name frozen -Message 'not registered')
        (Invoke-Run frozen).Text | Should -Contain '[print_data] compiled'
    }
}

Describe 'GCS storage in a CI pipeline: New-FlowStorage | Publish-FlowScript | Register-Flow' {
    BeforeAll {
        $bucket = New-Bucket
        $file = New-FlowScript "$TestDrive/ci/pipeline.cs" (Get-LinearFlowBody -Name pipeline -Message 'published v1')
    }

    It 'publishes, registers (checking the published object) and runs' {
        $publication = New-FlowStorage -Type Gcs -Bucket $bucket -Key flows/pipeline.cs -StoredAsScript @Gcs |
            Publish-FlowScript -Path $file
        $publication.Location | Should -Be "gs://$bucket/flows/pipeline.cs"
        $publication.Storage.Key | Should -Be 'flows/pipeline.cs'
        $publication.Storage.LocalScriptPath | Should -BeNullOrEmpty
        $publication.StorageVersion | Should -Match '^\d+$'

        $registration = $publication | Register-Flow -Path $file -Project P
        $registration.Status | Should -Be 'Registered'
        $result = Invoke-Run pipeline
        $result.Text | Should -Contain '[print_data] published v1'
        $result.Run[0].StorageVersion | Should -Be $publication.StorageVersion
    }

    It 'runs edited code after publishing it again; registering it again is skipped' {
        $null = New-FlowScript $file (Get-LinearFlowBody -Name pipeline -Message 'published v2')
        $registration = New-FlowStorage -Type Gcs -Bucket $bucket -Key flows/pipeline.cs -StoredAsScript @Gcs |
            Publish-FlowScript -Path $file | Register-Flow -Path $file -Project P
        $registration.Status | Should -Be 'Skipped'
        (Invoke-Run pipeline).Text | Should -Contain '[print_data] published v2'
    }

    It 'publishes under a generated key when none is given (New-FlowStorage -Type Gcs -Bucket b -StoredAsScript | Publish-FlowScript | Register-Flow)' {
        $other = New-FlowScript "$TestDrive/ci/generated.cs" (Get-LinearFlowBody -Name generated -Message 'generated key')
        $registration = New-FlowStorage -Type Gcs -Bucket $bucket -StoredAsScript @Gcs | Publish-FlowScript -Path $other |
            Register-Flow -Path $other -Project P
        $registration.Status | Should -Be 'Registered'
        Get-StoredKey generated | Should -Match '^generated/\d{8}T\d{6}Z(-\d+)?$'
        (Invoke-Run generated).Text | Should -Contain '[print_data] generated key'
    }

    It 'refuses to publish a frozen storage (StorageInvalid, saying to add -StoredAsScript)' {
        $err = { New-FlowStorage -Type Gcs -Bucket $bucket @Gcs | Publish-FlowScript -Path $file -ErrorAction Stop } |
            Should -Throw -ErrorId 'StorageInvalid,Flowstore.Commands.PublishFlowScriptCommand' -PassThru
        $err.Exception.Message | Should -BeLike '*script storage*'
        $err.ErrorDetails.RecommendedAction | Should -BeLike '*-StoredAsScript*'
    }
}

Describe 'GCS credentials: a canary service-account key leaks nowhere' {
    BeforeAll {
        $bucket = New-Bucket
        $script:Canary = 'canary' + [guid]::NewGuid().ToString('N')
        $rsa = [Security.Cryptography.RSA]::Create(2048)
        # A service-account key file as Google issues it. Its client signs its own tokens (JWT) for the API: the
        # token URI (a closed local port) is never called, and the emulator takes the signed request.
        [ordered]@{
            type           = 'service_account'
            project_id     = 'flowstore-test'
            private_key_id = $script:Canary
            private_key    = $rsa.ExportPkcs8PrivateKeyPem()
            client_email   = 'flows@flowstore-test.iam.gserviceaccount.com'
            client_id      = '100000000000000000001'
            token_uri      = 'http://127.0.0.1:9/token'
        } | ConvertTo-Json -Compress | Set-FlowSecret -Name GCS_CANARY
        $rsa.Dispose()
        # Not a service-account key: an error that must name the secret and quote nothing of it.
        "{ `"type`": `"authorized_user`", `"refresh_token`": `"$script:Canary`"" | Set-FlowSecret -Name GCS_CANARY_WRONG
        $file = New-FlowScript "$TestDrive/canary/canary.cs" (Get-LinearFlowBody -Name canary -Message 'canary ran')
        $transcript = Join-Path $TestDrive 'canary.transcript.txt'
        $storage = @{ EndpointUrl = $script:Url; CredentialsSecret = 'GCS_CANARY' }
        $wrong = @{ EndpointUrl = $script:Url; CredentialsSecret = 'GCS_CANARY_WRONG' }

        $errorsBefore = $Error.Count
        $null = Start-Transcript -LiteralPath $transcript
        try {
            $script:Captured = & {
                $VerbosePreference = 'Continue'
                $ErrorActionPreference = 'Continue'
                New-FlowStorage -Type Gcs -Bucket $bucket -Key canary.cs -StoredAsScript @storage |
                    Publish-FlowScript -Path $file -Verbose |
                    Register-Flow -Path $file -Project P -Verbose
                New-FlowStorage -Type Gcs -Bucket $bucket -StoredAsScript -LocalScriptPath $file @storage |
                    Register-Flow -Path $file -Project P -Force -Verbose
                Start-FlowRun -Name canary -Project P -Wait -Verbose
                New-FlowStorage -Type Gcs -Bucket $bucket -Key canary.cs -StoredAsScript @wrong |
                    Register-Flow -Path $file -Project P -Force -Verbose
                New-FlowStorage -Type Gcs -Bucket $bucket -Key canary.cs -StoredAsScript @wrong | Publish-FlowScript -Path $file -Verbose
                Get-Flow -Name canary -Project P | Format-List *
                Get-FlowRun | ForEach-Object { Get-FlowRunLog -Id $_.Id }
            } *>&1
        }
        finally {
            $null = Stop-Transcript
        }
        $script:NewErrors = @($Error | Select-Object -First ($Error.Count - $errorsBefore))
    }

    It 'was used: the flow published, registered and ran; the wrong secret failed with StorageAccessDenied naming it' {
        ($script:Captured | Where-Object { $_ -is [System.Management.Automation.InformationRecord] } | ForEach-Object { "$_" }) |
            Should -Contain '[print_data] canary ran'
        (Get-Flow -Name canary -Project P).Storage.CredentialsSecret | Should -Be 'GCS_CANARY'
        $denied = @($script:NewErrors | Where-Object FullyQualifiedErrorId -Like 'StorageAccessDenied,*')
        $denied.Count | Should -Be 2
        $denied | ForEach-Object { $_.Exception.Message | Should -BeLike "*secret 'GCS_CANARY_WRONG'*service-account JSON key*" }
        @($script:Captured | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Count | Should -BeGreaterThan 0
    }

    It 'is in no output, verbose text, error or transcript' {
        $script:Captured | Out-String -Width 500 | Should -Not -BeLike "*$script:Canary*"
        foreach ($record in $script:NewErrors) {
            $record.Exception.ToString() | Should -Not -BeLike "*$script:Canary*"
            "$($record.TargetObject) $($record.ErrorDetails)" | Should -Not -BeLike "*$script:Canary*"
        }
        Get-Content -Raw -LiteralPath $transcript | Should -Not -BeLike "*$script:Canary*"
    }

    It 'is in no run log, flow record or file under FLOWSTORE_HOME (the database included)' {
        Get-FlowRun | ForEach-Object { Get-FlowRunLog -Id $_.Id } | Out-String -Width 500 | Should -Not -BeLike "*$script:Canary*"
        Get-Flow -Project P | Format-List * | Out-String -Width 500 | Should -Not -BeLike "*$script:Canary*"
        $bytes = [Text.Encoding]::UTF8.GetBytes($script:Canary)
        foreach ($f in Get-ChildItem -LiteralPath $env:FLOWSTORE_HOME -Recurse -File) {
            $stream = [IO.FileStream]::new($f.FullName, 'Open', 'Read', 'ReadWrite, Delete')
            try {
                $copy = [IO.MemoryStream]::new()
                $stream.CopyTo($copy)
                $text = [Text.Encoding]::Latin1.GetString($copy.ToArray())
                $text.Contains([Text.Encoding]::Latin1.GetString($bytes), [StringComparison]::Ordinal) | Should -BeFalse -Because $f.FullName
            }
            finally { $stream.Dispose() }
        }
    }
}
