# The object stores end to end, the same for each: S3 (the s3rver of tests/servers/Start-S3.ps1) and GCS (the Cloud
# Storage emulator of tests/servers/Start-Gcs.ps1). Prefect's "Script based cloud storage" snippets as PowerShell
# (StoredAsScript with a key; LocalScriptPath; a generated key), each registered, run, its object edited and run again
# (new code, no re-registration), a structure change caught at run time; -Pinned; the CI pipeline New-FlowStorage |
# Publish-FlowScript | Register-Flow; and a canary credential that leaks nowhere. Each store has its own FLOWSTORE_HOME
# with project P, each block its own bucket. What one store alone does is in its own Storage.<Store>.Tests.ps1; how the stores differ is said
# once in ObjectStoreStorage.ps1.

BeforeDiscovery {
    $stores = foreach ($name in 'S3', 'Gcs') { @{ Storage = $name } }
}

BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    . "$PSScriptRoot/ObjectStoreStorage.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
}

Describe '<Storage> storage' -ForEach $stores {
    BeforeAll {
        $store = Enter-ObjectStoreHome $Storage
        $connection = $store.Settings
    }

    AfterAll {
        Exit-TestHome
    }

    Context 'StoredAsScript with a key (flow.storage = <Storage>(bucket=..., stored_as_script=True, key=...))' {
        BeforeAll {
            $bucket = & $store.NewBucket
            $file = New-FlowScript "$TestDrive/$Storage/keyed/in_bucket.cs" (Get-LinearFlowBody -Name keyed -Message 'bucket v1')
            $version = & $store.SetObject $bucket 'flow_path/in_bucket.cs' (Get-LinearFlowBody -Name keyed -Message 'bucket v1')
            $address = "$($store.Scheme)://$bucket/flow_path/in_bucket.cs"
        }

        It 'registers after checking the object, and a run fetches it with its version (ETag, generation) as provenance' {
            $registration = New-FlowStorage -Type $Storage -Bucket $bucket -Key flow_path/in_bucket.cs -StoredAsScript @connection |
                Register-Flow -Path $file -Project P
            $registration.Status | Should -Be 'Registered'
            "$($registration.Storage)" | Should -Be "$Storage script $address$($store.Shown)"

            $result = Invoke-Run keyed
            $result.Run[0].State | Should -Be 'Success'
            $result.Text | Should -Contain '[print_data] bucket v1'
            $result.Run[0].StorageVersion | Should -Be $version
            $script:FirstRun = $result.Run[0]
            $stored = (Get-Flow -Name keyed -Project P).Storage
            $stored.EndpointUrl | Should -Be $connection.EndpointUrl
            if ($connection.CredentialsSecret) { $stored.CredentialsSecret | Should -Be $connection.CredentialsSecret }
            if ($store.SecretValue) { $stored.ToJson() | Should -Not -BeLike "*$($store.SecretValue)`"*" }
        }

        It 'runs the new code after the object is edited, without registering again' {
            $script:NewVersion = & $store.SetObject $bucket 'flow_path/in_bucket.cs' (Get-LinearFlowBody -Name keyed -Message 'bucket v2')
            $result = Invoke-Run keyed
            $result.Text | Should -Contain '[print_data] bucket v2'
            $result.Text | Should -Not -Contain '[print_data] bucket v1'
            $result.Run[0].StorageVersion | Should -Be $NewVersion
            $result.Run[0].FlowVersion | Should -Be 1
            $script:SecondRun = $result.Run[0]
            (New-FlowStorage -Type $Storage -Bucket $bucket -Key flow_path/in_bucket.cs -StoredAsScript @connection |
                Register-Flow -Path $file -Project P).Status | Should -Be 'Skipped'
        }

        It '-Pinned re-runs need the version they ran: a replaced one is PinnedVersionUnavailable, the current one runs' {
            # The servers, like a bucket without versioning, keep no replaced version.
            $err = { Start-FlowRun -Pinned $FirstRun.Id -Wait -ErrorAction Stop 6>$null } |
                Should -Throw -ErrorId 'PinnedVersionUnavailable,Flowstore.Commands.StartFlowRunCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*$($store.VersionWord) $($FirstRun.StorageVersion) of $address*"
            $pinned = Start-FlowRun -Pinned $SecondRun.Id -Wait 6>$null
            $pinned.State | Should -Be 'Success'
            $pinned.StorageVersion | Should -Be $NewVersion
        }

        It 'fails the run with StructureChanged when the object in the bucket changes the structure' {
            $null = & $store.SetObject $bucket 'flow_path/in_bucket.cs' (Get-LinearFlowBody -Name keyed -Task get_data, enrich, print_data)
            $err = { Start-FlowRun -Name keyed -Project P -Wait -ErrorAction Stop 6>$null } |
                Should -Throw -ErrorId 'StructureChanged,Flowstore.Commands.StartFlowRunCommand' -PassThru
            $err.Exception.Message | Should -BeLike '*enrich*'
            $err.Exception.Message | Should -BeLike "*$address*"
        }

        It 'refuses a key that is not in the bucket (StorageNotFound naming bucket and key)' {
            $err = { New-FlowStorage -Type $Storage -Bucket $bucket -Key flow_path/missing.cs -StoredAsScript @connection |
                    Register-Flow -Path $file -Project P -ErrorAction Stop } |
                Should -Throw -ErrorId 'StorageNotFound,Flowstore.Commands.RegisterFlowCommand' -PassThru
            $err.Exception.Message | Should -BeLike (& $store.MissingKey $bucket 'flow_path/missing.cs')
        }

        It 'refuses a stored script of another structure (StoredScriptMismatch)' {
            $null = & $store.SetObject $bucket 'flow_path/other.cs' (Get-LinearFlowBody -Name keyed -Task get_data, enrich, print_data)
            $err = { New-FlowStorage -Type $Storage -Bucket $bucket -Key flow_path/other.cs -StoredAsScript @connection |
                    Register-Flow -Path $file -Project P -ErrorAction Stop } |
                Should -Throw -ErrorId 'StoredScriptMismatch,Flowstore.Commands.RegisterFlowCommand' -PassThru
            $err.Exception.Message | Should -BeLike "*$($store.Scheme)://$bucket/flow_path/other.cs*enrich*"
        }
    }

    Context 'with LocalScriptPath (flow.storage = <Storage>(bucket=..., stored_as_script=True, local_script_path=...))' {
        BeforeAll {
            $bucket = & $store.NewBucket
            $file = New-FlowScript "$TestDrive/$Storage/local/my_flow.cs" (Get-LinearFlowBody -Name localpath -Message 'uploaded v1')
        }

        It 'uploads the file at registration under a generated key (flow slug/UTC timestamp) and runs it' {
            $registration = New-FlowStorage -Type $Storage -Bucket $bucket -StoredAsScript -LocalScriptPath $file @connection |
                Register-Flow -Path $file -Project P
            $registration.Status | Should -Be 'Registered'
            $key = Get-StoredKey localpath
            $key | Should -Match '^localpath/\d{8}T\d{6}Z(-\d+)?$'
            & $store.GetObject $bucket $key | Should -Be (Get-Content -Raw -LiteralPath $file)
            (Invoke-Run localpath).Text | Should -Contain '[print_data] uploaded v1'
        }

        It 'skips an unchanged file (nothing uploaded again)' {
            (New-FlowStorage -Type $Storage -Bucket $bucket -StoredAsScript -LocalScriptPath $file @connection |
                Register-Flow -Path $file -Project P).Status | Should -Be 'Skipped'
            & $store.GetKeys $bucket | Should -HaveCount 1
        }

        It 'runs the new code after the object is edited in the bucket, without registering again' {
            $null = & $store.SetObject $bucket (Get-StoredKey localpath) (Get-LinearFlowBody -Name localpath -Message 'edited in bucket')
            $result = Invoke-Run localpath
            $result.Text | Should -Contain '[print_data] edited in bucket'
            $result.Run[0].FlowVersion | Should -Be 1
        }

        It 'fails the run with StructureChanged when the object changes the structure' {
            $null = & $store.SetObject $bucket (Get-StoredKey localpath) (Get-LinearFlowBody -Name localpath -Task get_data, enrich, print_data)
            { Start-FlowRun -Name localpath -Project P -Wait -ErrorAction Stop 6>$null } |
                Should -Throw -ErrorId 'StructureChanged,Flowstore.Commands.StartFlowRunCommand'
        }

        It 'uploads an edited local file as a new version' {
            $null = New-FlowScript $file (Get-LinearFlowBody -Name localpath -Message 'uploaded v2')
            $registration = New-FlowStorage -Type $Storage -Bucket $bucket -StoredAsScript -LocalScriptPath $file @connection |
                Register-Flow -Path $file -Project P
            $registration.Status | Should -Be 'Registered'
            $registration.Version | Should -Be 2
            & $store.GetKeys $bucket | Should -HaveCount 2
            (Invoke-Run localpath).Text | Should -Contain '[print_data] uploaded v2'
        }

        It 'uploads to a given -Key' {
            $keyed = New-FlowScript "$TestDrive/$Storage/local/keyed.cs" (Get-LinearFlowBody -Name localkeyed -Message 'at my key')
            $null = New-FlowStorage -Type $Storage -Bucket $bucket -Key flows/keyed.cs -StoredAsScript -LocalScriptPath $keyed @connection |
                Register-Flow -Path $keyed -Project P
            & $store.GetObject $bucket flows/keyed.cs | Should -Be (Get-Content -Raw -LiteralPath $keyed)
            (Invoke-Run localkeyed).Text | Should -Contain '[print_data] at my key'
        }

        It 'refuses LocalScriptPath without -StoredAsScript (StorageInvalid)' {
            $err = { New-FlowStorage -Type $Storage -Bucket $bucket -LocalScriptPath $file @connection | Register-Flow -Path $file -Project P -ErrorAction Stop } |
                Should -Throw -ErrorId 'StorageInvalid,Flowstore.Commands.RegisterFlowCommand' -PassThru
            $err.Exception.Message | Should -BeLike '*script storage*'
            $err.ErrorDetails.RecommendedAction | Should -BeLike '*-StoredAsScript*'
        }
    }

    Context 'with a generated key (Register-Flow -Path of a script-mode flow with no key)' {
        BeforeAll {
            $bucket = & $store.NewBucket
        }

        It 'uploads the registered file, runs it, and its edited object runs without registering again' {
            $file = New-FlowScript "$TestDrive/$Storage/auto/auto.cs" (Get-LinearFlowBody -Name autokey -Message 'auto v1')
            $null = New-FlowStorage -Type $Storage -Bucket $bucket -StoredAsScript @connection | Register-Flow -Path $file -Project P
            $key = Get-StoredKey autokey
            $key | Should -Match '^autokey/\d{8}T\d{6}Z(-\d+)?$'
            (Invoke-Run autokey).Text | Should -Contain '[print_data] auto v1'

            $null = & $store.SetObject $bucket $key (Get-LinearFlowBody -Name autokey -Message 'auto edited')
            (Invoke-Run autokey).Text | Should -Contain '[print_data] auto edited'
            $null = & $store.SetObject $bucket $key (Get-LinearFlowBody -Name autokey -Task get_data, enrich, print_data)
            { Start-FlowRun -Name autokey -Project P -Wait -ErrorAction Stop 6>$null } |
                Should -Throw -ErrorId 'StructureChanged,Flowstore.Commands.StartFlowRunCommand'
        }

        It 'takes the storage from the flow script (new <Storage>Storage(...)), as Prefect''s example sets flow.storage' {
            $file = New-FlowScript "$TestDrive/$Storage/auto/in_script.cs" (@"
var flow = new Flow("inscript");
var data = flow.Task("get_data", () => 1);
flow.Task("print_data", (int x) => Console.WriteLine("set in the script"), data);
flow.Storage = new $($Storage)Storage(
    bucket: "$bucket",
    storedAsScript: true,
    localScriptPath: "in_script.cs",
    $($store.ScriptSettings));
"@)
            (Register-Flow -Path $file -Project P).Status | Should -Be 'Registered'
            Get-StoredKey inscript | Should -Match '^inscript/\d{8}T\d{6}Z(-\d+)?$'
            (Invoke-Run inscript).Text | Should -Contain '[print_data] set in the script'
            (Register-Flow -Path $file -Project P).Status | Should -Be 'Skipped'
        }

        It 'without -StoredAsScript uploads the compiled flow (frozen) and runs it' {
            $file = New-FlowScript "$TestDrive/$Storage/auto/frozen.cs" (Get-LinearFlowBody -Name frozen -Message 'compiled')
            $null = New-FlowStorage -Type $Storage -Bucket $bucket @connection | Register-Flow -Path $file -Project P
            Get-StoredKey frozen | Should -Match '^frozen/\d{8}T\d{6}Z(-\d+)?\.dll$'
            $null = New-FlowScript $file (Get-LinearFlowBody -Name frozen -Message 'not registered')
            (Invoke-Run frozen).Text | Should -Contain '[print_data] compiled'
        }
    }

    Context 'in a CI pipeline: New-FlowStorage | Publish-FlowScript | Register-Flow' {
        BeforeAll {
            $bucket = & $store.NewBucket
            $file = New-FlowScript "$TestDrive/$Storage/ci/pipeline.cs" (Get-LinearFlowBody -Name pipeline -Message 'published v1')
        }

        It 'publishes, registers (checking the published object) and runs' {
            $publication = New-FlowStorage -Type $Storage -Bucket $bucket -Key flows/pipeline.cs -StoredAsScript @connection |
                Publish-FlowScript -Path $file
            $publication.Location | Should -Be "$($store.Scheme)://$bucket/flows/pipeline.cs"
            $publication.Storage.Key | Should -Be 'flows/pipeline.cs'
            $publication.Storage.LocalScriptPath | Should -BeNullOrEmpty
            $publication.StorageVersion | Should -Match $store.VersionPattern

            $registration = $publication | Register-Flow -Path $file -Project P
            $registration.Status | Should -Be 'Registered'
            $result = Invoke-Run pipeline
            $result.Text | Should -Contain '[print_data] published v1'
            $result.Run[0].StorageVersion | Should -Be $publication.StorageVersion
        }

        It 'runs edited code after publishing it again; registering it again is skipped' {
            $null = New-FlowScript $file (Get-LinearFlowBody -Name pipeline -Message 'published v2')
            $registration = New-FlowStorage -Type $Storage -Bucket $bucket -Key flows/pipeline.cs -StoredAsScript @connection |
                Publish-FlowScript -Path $file | Register-Flow -Path $file -Project P
            $registration.Status | Should -Be 'Skipped'
            (Invoke-Run pipeline).Text | Should -Contain '[print_data] published v2'
        }

        It 'publishes under a generated key when none is given (New-FlowStorage -Type <Storage> -Bucket b -StoredAsScript | Publish-FlowScript | Register-Flow)' {
            $other = New-FlowScript "$TestDrive/$Storage/ci/generated.cs" (Get-LinearFlowBody -Name generated -Message 'generated key')
            $publication = New-FlowStorage -Type $Storage -Bucket $bucket -StoredAsScript @connection | Publish-FlowScript -Path $other
            $publication.Storage.Key | Should -Match '^generated/\d{8}T\d{6}Z(-\d+)?$'
            ($publication | Register-Flow -Path $other -Project P).Status | Should -Be 'Registered'
            Get-StoredKey generated | Should -Be $publication.Storage.Key
            (Invoke-Run generated).Text | Should -Contain '[print_data] generated key'
        }

        It 'refuses to publish a frozen storage (StorageInvalid, saying to add -StoredAsScript)' {
            $err = { New-FlowStorage -Type $Storage -Bucket $bucket @connection | Publish-FlowScript -Path $file -ErrorAction Stop } |
                Should -Throw -ErrorId 'StorageInvalid,Flowstore.Commands.PublishFlowScriptCommand' -PassThru
            $err.Exception.Message | Should -BeLike '*script storage*'
            $err.ErrorDetails.RecommendedAction | Should -BeLike '*-StoredAsScript*'
        }
    }

    Context 'credentials: a canary secret value leaks nowhere' {
        BeforeAll {
            $bucket = & $store.NewBucket
            $script:Canary = 'canary' + [guid]::NewGuid().ToString('N')
            $secrets = & $store.CanarySecrets $script:Canary
            $file = New-FlowScript "$TestDrive/$Storage/canary/canary.cs" (Get-LinearFlowBody -Name canary -Message 'canary ran')
            $transcript = Join-Path $TestDrive "$Storage.canary.transcript.txt"
            $good = $store.Settings.Clone(); $good.CredentialsSecret = $secrets.Good
            $wrong = $store.Settings.Clone(); $wrong.CredentialsSecret = $secrets.Wrong

            $script:Capture = Invoke-CanaryCapture -TranscriptPath $transcript -Commands {
                New-FlowStorage -Type $Storage -Bucket $bucket -Key canary.cs -StoredAsScript @good |
                    Publish-FlowScript -Path $file -Verbose |
                    Register-Flow -Path $file -Project P -Verbose
                New-FlowStorage -Type $Storage -Bucket $bucket -StoredAsScript -LocalScriptPath $file @good |
                    Register-Flow -Path $file -Project P -Force -Verbose
                Start-FlowRun -Name canary -Project P -Wait -Verbose
                New-FlowStorage -Type $Storage -Bucket $bucket -Key canary.cs -StoredAsScript @wrong |
                    Register-Flow -Path $file -Project P -Force -Verbose
                New-FlowStorage -Type $Storage -Bucket $bucket -Key canary.cs -StoredAsScript @wrong | Publish-FlowScript -Path $file -Verbose
                Get-Flow -Name canary -Project P | Format-List *
                Get-FlowRun | ForEach-Object { Get-FlowRunLog -Id $_.Id }
            }
        }

        It 'was used: the flow published, registered and ran; the wrong secret failed with StorageAccessDenied naming it' {
            ($Capture.Captured | Where-Object { $_ -is [System.Management.Automation.InformationRecord] } | ForEach-Object { "$_" }) |
                Should -Contain '[print_data] canary ran'
            (Get-Flow -Name canary -Project P).Storage.CredentialsSecret | Should -Be $secrets.Good
            $denied = @($Capture.NewErrors | Where-Object FullyQualifiedErrorId -Like 'StorageAccessDenied,*')
            & $store.AssertDenied $denied $secrets.Wrong
            @($Capture.Captured | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Count | Should -BeGreaterThan 0
        }

        It 'is in no output, verbose text, error or transcript' {
            $Capture.Captured | Out-String -Width 500 | Should -Not -BeLike "*$script:Canary*"
            foreach ($record in $Capture.NewErrors) {
                $record.Exception.ToString() | Should -Not -BeLike "*$script:Canary*"
                "$($record.TargetObject) $($record.ErrorDetails)" | Should -Not -BeLike "*$script:Canary*"
            }
            Get-Content -Raw -LiteralPath $transcript | Should -Not -BeLike "*$script:Canary*"
        }

        It 'is in no run log, flow record or file under FLOWSTORE_HOME (the database included)' {
            Get-FlowRun | ForEach-Object { Get-FlowRunLog -Id $_.Id } | Out-String -Width 500 | Should -Not -BeLike "*$script:Canary*"
            Get-Flow -Project P | Format-List * | Out-String -Width 500 | Should -Not -BeLike "*$script:Canary*"
            Find-CanaryInFiles (Get-ChildItem -LiteralPath $env:FLOWSTORE_HOME -Recurse -File) -Canary $script:Canary | Should -BeNullOrEmpty
        }
    }
}
