# S3 storage against the s3rver that tests/servers/Start-S3.ps1 started: Prefect's "Script based cloud storage"
# snippets as PowerShell (StoredAsScript with a key; LocalScriptPath; a generated key), each registered, run,
# its object edited and run again (new code, no re-registration), a structure change caught at run time; the
# CI pipeline New-FlowStorage | Publish-FlowScript | Register-Flow; and a canary credential that leaks nowhere.

BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    Assert-TestServer -Variable 'FLOWSTORE_TEST_S3_URL', 'FLOWSTORE_TEST_S3_ACCESS_KEY', 'FLOWSTORE_TEST_S3_SECRET_KEY' -StartScript 'Start-S3.ps1'
    $null = Enter-TestHome
    $null = New-FlowProject -Name P
    $script:Url = $env:FLOWSTORE_TEST_S3_URL

    # Prefect's AWS_CREDENTIALS secret: a JSON object with ACCESS_KEY and SECRET_ACCESS_KEY.
    @{ ACCESS_KEY = $env:FLOWSTORE_TEST_S3_ACCESS_KEY; SECRET_ACCESS_KEY = $env:FLOWSTORE_TEST_S3_SECRET_KEY } |
        ConvertTo-Json -Compress | Set-FlowSecret -Name AWS_CREDENTIALS
    # Where s3rver is and how to reach it; splatted into New-FlowStorage -Type S3.
    $script:S3 = @{ EndpointUrl = $script:Url; ForcePathStyle = $true; CredentialsSecret = 'AWS_CREDENTIALS' }

    function New-Bucket {
        <# Creates a bucket (s3rver accepts anonymous calls) and returns its name. #>
        $name = 'fs-' + [guid]::NewGuid().ToString('N').Substring(0, 20)
        $null = Invoke-WebRequest -Method Put -Uri "$script:Url/$name"
        $name
    }

    function Set-S3Object {
        <# Puts text at bucket/key as another party would (aws s3 cp); returns the ETag without quotes. #>
        param([string]$Bucket, [string]$Key, [string]$Text)
        $response = Invoke-WebRequest -Method Put -Uri "$script:Url/$Bucket/$Key" -ContentType 'text/plain' `
            -Body ([Text.UTF8Encoding]::new($false).GetBytes("using Flowstore;`n" + $Text))
        "$($response.Headers.ETag)".Trim('"')
    }

    function Get-S3Object {
        param([string]$Bucket, [string]$Key)
        $http = [System.Net.Http.HttpClient]::new()
        try { [Text.Encoding]::UTF8.GetString($http.GetByteArrayAsync("$script:Url/$Bucket/$Key").GetAwaiter().GetResult()) }
        finally { $http.Dispose() }
    }

    function Get-S3Key {
        <# The keys in a bucket. #>
        param([string]$Bucket)
        $list = [xml](Invoke-WebRequest -Uri "$script:Url/$Bucket/?list-type=2").Content
        @($list.ListBucketResult.Contents | ForEach-Object { $_.Key })
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

Describe 'S3 storage, StoredAsScript with a key (flow.storage = S3(bucket=..., stored_as_script=True, key=...))' {
    BeforeAll {
        $bucket = New-Bucket
        $file = New-FlowScript "$TestDrive/keyed/in_bucket.cs" (Get-LinearFlowBody -Name keyed -Message 'bucket v1')
        $etag = Set-S3Object $bucket 'flow_path/in_bucket.cs' (Get-LinearFlowBody -Name keyed -Message 'bucket v1')
    }

    It 'registers after checking the object, and a run fetches it with its ETag as provenance' {
        $registration = New-FlowStorage -Type S3 -Bucket $bucket -Key flow_path/in_bucket.cs -StoredAsScript @S3 |
            Register-Flow -Path $file -Project P
        $registration.Status | Should -Be 'Registered'
        $registration.Storage | Should -BeLike "S3 script s3://$bucket/flow_path/in_bucket.cs*"

        $result = Invoke-Run keyed
        $result.Run[0].State | Should -Be 'Success'
        $result.Text | Should -Contain '[print_data] bucket v1'
        $result.Run[0].StorageVersion | Should -Be $etag
        $storage = (Get-Flow -Name keyed -Project P).Storage
        $storage.CredentialsSecret | Should -Be 'AWS_CREDENTIALS'
        $storage.EndpointUrl | Should -Be $script:Url
        $storage.ToJson() | Should -Not -BeLike "*$env:FLOWSTORE_TEST_S3_SECRET_KEY`"*"
    }

    It 'runs the new code after the object is edited, without registering again' {
        $newTag = Set-S3Object $bucket 'flow_path/in_bucket.cs' (Get-LinearFlowBody -Name keyed -Message 'bucket v2')
        $result = Invoke-Run keyed
        $result.Text | Should -Contain '[print_data] bucket v2'
        $result.Text | Should -Not -Contain '[print_data] bucket v1'
        $result.Run[0].StorageVersion | Should -Be $newTag
        $result.Run[0].FlowVersion | Should -Be 1
        (New-FlowStorage -Type S3 -Bucket $bucket -Key flow_path/in_bucket.cs -StoredAsScript @S3 |
            Register-Flow -Path $file -Project P).Status | Should -Be 'Skipped'
    }

    It 'fails the run with StructureChanged when the object in the bucket changes the structure' {
        $null = Set-S3Object $bucket 'flow_path/in_bucket.cs' (Get-LinearFlowBody -Name keyed -Task get_data, enrich, print_data)
        $err = { Start-FlowRun -Name keyed -Project P -Wait -ErrorAction Stop 6>$null } |
            Should -Throw -ErrorId 'StructureChanged,Flowstore.Commands.StartFlowRunCommand' -PassThru
        $err.Exception.Message | Should -BeLike '*enrich*'
        $err.Exception.Message | Should -BeLike "*s3://$bucket/flow_path/in_bucket.cs*"
    }

    It 'refuses a key that is not in the bucket (StorageNotFound naming bucket and key)' {
        $err = { New-FlowStorage -Type S3 -Bucket $bucket -Key flow_path/missing.cs -StoredAsScript @S3 |
                Register-Flow -Path $file -Project P -ErrorAction Stop } |
            Should -Throw -ErrorId 'StorageNotFound,Flowstore.Commands.RegisterFlowCommand' -PassThru
        $err.Exception.Message | Should -BeLike "*s3://$bucket/flow_path/missing.cs*"
    }

    It 'refuses a bucket that does not exist (StorageNotFound naming it)' {
        $err = { New-FlowStorage -Type S3 -Bucket no-such-bucket-here -Key a.cs -StoredAsScript @S3 |
                Register-Flow -Path $file -Project P -ErrorAction Stop } |
            Should -Throw -ErrorId 'StorageNotFound,Flowstore.Commands.RegisterFlowCommand' -PassThru
        $err.Exception.Message | Should -BeLike "*'no-such-bucket-here' does not exist*"
    }
}

Describe 'S3 storage with LocalScriptPath (flow.storage = S3(bucket=..., stored_as_script=True, local_script_path=...))' {
    BeforeAll {
        $bucket = New-Bucket
        $file = New-FlowScript "$TestDrive/local/my_flow.cs" (Get-LinearFlowBody -Name localpath -Message 'uploaded v1')
    }

    It 'uploads the file at registration under a generated key (flow slug/UTC timestamp) and runs it' {
        $registration = New-FlowStorage -Type S3 -Bucket $bucket -StoredAsScript -LocalScriptPath $file @S3 |
            Register-Flow -Path $file -Project P
        $registration.Status | Should -Be 'Registered'
        $key = Get-StoredKey localpath
        $key | Should -Match '^localpath/\d{8}T\d{6}Z(-\d+)?$'
        Get-S3Object $bucket $key | Should -Be (Get-Content -Raw -LiteralPath $file)
        (Invoke-Run localpath).Text | Should -Contain '[print_data] uploaded v1'
    }

    It 'skips an unchanged file (nothing uploaded again)' {
        (New-FlowStorage -Type S3 -Bucket $bucket -StoredAsScript -LocalScriptPath $file @S3 |
            Register-Flow -Path $file -Project P).Status | Should -Be 'Skipped'
        Get-S3Key $bucket | Should -HaveCount 1
    }

    It 'runs the new code after the object is edited in the bucket, without registering again' {
        $null = Set-S3Object $bucket (Get-StoredKey localpath) (Get-LinearFlowBody -Name localpath -Message 'edited in bucket')
        $result = Invoke-Run localpath
        $result.Text | Should -Contain '[print_data] edited in bucket'
        $result.Run[0].FlowVersion | Should -Be 1
    }

    It 'fails the run with StructureChanged when the object changes the structure' {
        $null = Set-S3Object $bucket (Get-StoredKey localpath) (Get-LinearFlowBody -Name localpath -Task get_data, enrich, print_data)
        { Start-FlowRun -Name localpath -Project P -Wait -ErrorAction Stop 6>$null } |
            Should -Throw -ErrorId 'StructureChanged,Flowstore.Commands.StartFlowRunCommand'
    }

    It 'uploads an edited local file as a new version' {
        $null = New-FlowScript $file (Get-LinearFlowBody -Name localpath -Message 'uploaded v2')
        $registration = New-FlowStorage -Type S3 -Bucket $bucket -StoredAsScript -LocalScriptPath $file @S3 |
            Register-Flow -Path $file -Project P
        $registration.Status | Should -Be 'Registered'
        $registration.Version | Should -Be 2
        Get-S3Key $bucket | Should -HaveCount 2
        (Invoke-Run localpath).Text | Should -Contain '[print_data] uploaded v2'
    }

    It 'uploads to a given -Key' {
        $keyed = New-FlowScript "$TestDrive/local/keyed.cs" (Get-LinearFlowBody -Name localkeyed -Message 'at my key')
        $null = New-FlowStorage -Type S3 -Bucket $bucket -Key flows/keyed.cs -StoredAsScript -LocalScriptPath $keyed @S3 |
            Register-Flow -Path $keyed -Project P
        Get-S3Object $bucket flows/keyed.cs | Should -Be (Get-Content -Raw -LiteralPath $keyed)
        (Invoke-Run localkeyed).Text | Should -Contain '[print_data] at my key'
    }
}

Describe 'S3 storage with a generated key (Register-Flow -Path of a script-mode flow with no key)' {
    BeforeAll {
        $bucket = New-Bucket
    }

    It 'uploads the registered file, runs it, and its edited object runs without registering again' {
        $file = New-FlowScript "$TestDrive/auto/auto.cs" (Get-LinearFlowBody -Name autokey -Message 'auto v1')
        $null = New-FlowStorage -Type S3 -Bucket $bucket -StoredAsScript @S3 | Register-Flow -Path $file -Project P
        $key = Get-StoredKey autokey
        $key | Should -Match '^autokey/\d{8}T\d{6}Z(-\d+)?$'
        (Invoke-Run autokey).Text | Should -Contain '[print_data] auto v1'

        $null = Set-S3Object $bucket $key (Get-LinearFlowBody -Name autokey -Message 'auto edited')
        (Invoke-Run autokey).Text | Should -Contain '[print_data] auto edited'
        $null = Set-S3Object $bucket $key (Get-LinearFlowBody -Name autokey -Task get_data, enrich, print_data)
        { Start-FlowRun -Name autokey -Project P -Wait -ErrorAction Stop 6>$null } |
            Should -Throw -ErrorId 'StructureChanged,Flowstore.Commands.StartFlowRunCommand'
    }

    It 'takes the storage from the flow script (new S3Storage(...)), as Prefect''s example sets flow.storage' {
        $file = New-FlowScript "$TestDrive/auto/in_script.cs" (@"
var flow = new Flow("inscript");
var data = flow.Task("get_data", () => 1);
flow.Task("print_data", (int x) => Console.WriteLine("set in the script"), data);
flow.Storage = new S3Storage(
    bucket: "$bucket",
    storedAsScript: true,
    localScriptPath: "in_script.cs",
    endpointUrl: "$script:Url",
    forcePathStyle: true,
    credentialsSecret: "AWS_CREDENTIALS");
"@)
        (Register-Flow -Path $file -Project P).Status | Should -Be 'Registered'
        Get-StoredKey inscript | Should -Match '^inscript/\d{8}T\d{6}Z(-\d+)?$'
        (Invoke-Run inscript).Text | Should -Contain '[print_data] set in the script'
        (Register-Flow -Path $file -Project P).Status | Should -Be 'Skipped'
    }

    It 'without -StoredAsScript uploads the compiled flow (frozen) and runs it' {
        $file = New-FlowScript "$TestDrive/auto/frozen.cs" (Get-LinearFlowBody -Name frozen -Message 'compiled')
        $null = New-FlowStorage -Type S3 -Bucket $bucket @S3 | Register-Flow -Path $file -Project P
        Get-StoredKey frozen | Should -Match '^frozen/\d{8}T\d{6}Z(-\d+)?\.dll$'
        $null = New-FlowScript $file (Get-LinearFlowBody -Name frozen -Message 'not registered')
        (Invoke-Run frozen).Text | Should -Contain '[print_data] compiled'
    }
}

Describe 'S3 storage in a CI pipeline: New-FlowStorage | Publish-FlowScript | Register-Flow' {
    BeforeAll {
        $bucket = New-Bucket
        $file = New-FlowScript "$TestDrive/ci/pipeline.cs" (Get-LinearFlowBody -Name pipeline -Message 'published v1')
    }

    It 'publishes, registers (checking the published object) and runs' {
        $publication = New-FlowStorage -Type S3 -Bucket $bucket -Key flows/pipeline.cs -StoredAsScript @S3 |
            Publish-FlowScript -Path $file
        $publication.Location | Should -Be "s3://$bucket/flows/pipeline.cs"
        $publication.Storage.Key | Should -Be 'flows/pipeline.cs'
        $publication.Storage.LocalScriptPath | Should -BeNullOrEmpty
        $publication.StorageVersion | Should -Match '^[0-9a-f]{32}$'

        $registration = $publication | Register-Flow -Path $file -Project P
        $registration.Status | Should -Be 'Registered'
        $result = Invoke-Run pipeline
        $result.Text | Should -Contain '[print_data] published v1'
        $result.Run[0].StorageVersion | Should -Be $publication.StorageVersion
    }

    It 'runs edited code after publishing it again; registering it again is skipped' {
        $null = New-FlowScript $file (Get-LinearFlowBody -Name pipeline -Message 'published v2')
        $registration = New-FlowStorage -Type S3 -Bucket $bucket -Key flows/pipeline.cs -StoredAsScript @S3 |
            Publish-FlowScript -Path $file | Register-Flow -Path $file -Project P
        $registration.Status | Should -Be 'Skipped'
        (Invoke-Run pipeline).Text | Should -Contain '[print_data] published v2'
    }

    It 'publishes under a generated key when none is given' {
        $other = New-FlowScript "$TestDrive/ci/generated.cs" (Get-LinearFlowBody -Name generated -Message 'generated key')
        $publication = New-FlowStorage -Type S3 -Bucket $bucket -StoredAsScript @S3 | Publish-FlowScript -Path $other
        $publication.Storage.Key | Should -Match '^generated/\d{8}T\d{6}Z(-\d+)?$'
        ($publication | Register-Flow -Path $other -Project P).Status | Should -Be 'Registered'
        (Invoke-Run generated).Text | Should -Contain '[print_data] generated key'
    }

    It 'refuses to publish a frozen storage (StorageInvalid, saying to add -StoredAsScript)' {
        $err = { New-FlowStorage -Type S3 -Bucket $bucket @S3 | Publish-FlowScript -Path $file -ErrorAction Stop } |
            Should -Throw -ErrorId 'StorageInvalid,Flowstore.Commands.PublishFlowScriptCommand' -PassThru
        $err.Exception.Message | Should -BeLike '*script storage*'
        $err.ErrorDetails.RecommendedAction | Should -BeLike '*-StoredAsScript*'
    }
}

Describe 'S3 credentials: a canary secret value leaks nowhere' {
    BeforeAll {
        $bucket = New-Bucket
        $script:Canary = 'canary-' + [guid]::NewGuid().ToString('N')
        # s3rver checks only the access key: the canary is a working secret key here.
        @{ accessKeyId = $env:FLOWSTORE_TEST_S3_ACCESS_KEY; secretAccessKey = $script:Canary } | ConvertTo-Json -Compress |
            Set-FlowSecret -Name S3_CANARY
        @{ ACCESS_KEY = 'WRONG-KEY'; SECRET_ACCESS_KEY = $script:Canary } | ConvertTo-Json -Compress |
            Set-FlowSecret -Name S3_CANARY_WRONG
        $file = New-FlowScript "$TestDrive/canary/canary.cs" (Get-LinearFlowBody -Name canary -Message 'canary ran')
        $transcript = Join-Path $TestDrive 'canary.transcript.txt'
        $storage = @{ EndpointUrl = $script:Url; ForcePathStyle = $true; CredentialsSecret = 'S3_CANARY' }
        $wrong = @{ EndpointUrl = $script:Url; ForcePathStyle = $true; CredentialsSecret = 'S3_CANARY_WRONG' }

        $errorsBefore = $Error.Count
        $null = Start-Transcript -LiteralPath $transcript
        try {
            $script:Captured = & {
                $VerbosePreference = 'Continue'
                $ErrorActionPreference = 'Continue'
                New-FlowStorage -Type S3 -Bucket $bucket -Key canary.cs -StoredAsScript @storage |
                    Publish-FlowScript -Path $file -Verbose |
                    Register-Flow -Path $file -Project P -Verbose
                New-FlowStorage -Type S3 -Bucket $bucket -StoredAsScript -LocalScriptPath $file @storage |
                    Register-Flow -Path $file -Project P -Force -Verbose
                Start-FlowRun -Name canary -Project P -Wait -Verbose
                New-FlowStorage -Type S3 -Bucket $bucket -Key canary.cs -StoredAsScript @wrong |
                    Register-Flow -Path $file -Project P -Force -Verbose
                New-FlowStorage -Type S3 -Bucket $bucket -Key canary.cs -StoredAsScript @wrong | Publish-FlowScript -Path $file -Verbose
                Get-Flow -Name canary -Project P | Format-List *
                Get-FlowRun | ForEach-Object { Get-FlowRunLog -Id $_.Id }
            } *>&1
        }
        finally {
            $null = Stop-Transcript
        }
        $script:NewErrors = @($Error | Select-Object -First ($Error.Count - $errorsBefore))
    }

    It 'was used: the flow registered, ran, and the wrong key failed with StorageAccessDenied naming the secret' {
        ($script:Captured | Where-Object { $_ -is [System.Management.Automation.InformationRecord] } | ForEach-Object { "$_" }) |
            Should -Contain '[print_data] canary ran'
        $denied = @($script:NewErrors | Where-Object FullyQualifiedErrorId -Like 'StorageAccessDenied,*')
        $denied.Count | Should -BeGreaterOrEqual 2
        $denied[0].Exception.Message | Should -BeLike "*S3_CANARY_WRONG*"
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
