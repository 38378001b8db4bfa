# Docker storage against the dockerd and docker-registry that tests/servers/Start-Docker.ps1 started: Prefect's
# "Script based Docker storage" snippets as flow scripts and as New-FlowStorage (case a: Path + Files +
# StoredAsScript, the build copies the file in; case b: an image that already holds the file), each registered and
# run; new code pushed under the same tag runs without re-registration; an agent without a Docker engine reads the
# script from the registry; a structure change in a pushed image fails the run with the diff; the errors a user meets.

BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    Assert-TestServer -Variable 'FLOWSTORE_TEST_DOCKER_HOST', 'FLOWSTORE_TEST_REGISTRY_URL', 'FLOWSTORE_TEST_REGISTRY_AUTH_URL',
        'FLOWSTORE_TEST_REGISTRY_USER', 'FLOWSTORE_TEST_REGISTRY_PASSWORD' -StartScript 'Start-Docker.ps1'
    $null = Enter-TestHome
    $null = New-FlowProject -Name P
    $env:FLOWSTORE_POLL_INTERVAL = '0.1'
    # The engine comes from DOCKER_HOST here (no -DockerHost): an agent started with another DOCKER_HOST has none.
    $script:PreviousDockerHost = $env:DOCKER_HOST
    $env:DOCKER_HOST = $env:FLOWSTORE_TEST_DOCKER_HOST
    $script:Registry = $env:FLOWSTORE_TEST_REGISTRY_URL
    $script:RegistryHost = ([uri]$script:Registry).Authority
    $script:Docker = @{ RegistryUrl = $script:Registry }
    "$($env:FLOWSTORE_TEST_REGISTRY_USER):$($env:FLOWSTORE_TEST_REGISTRY_PASSWORD)" | Set-FlowSecret -Name REGISTRY_CREDENTIALS
    $script:NoEngine = 'unix:///nonexistent-flowstore-test/docker.sock'

    function New-ImageName {
        param([string]$Prefix = 'pester')
        "flowstore-tests/$Prefix-" + [guid]::NewGuid().ToString('N').Substring(0, 12)
    }

    function Get-RegistryDigest {
        <# The digest the registry gives repository:tag now (what a run should record as its storage version). #>
        param([string]$Repository, [string]$Tag)
        $response = Invoke-WebRequest -Method Head -Uri "$script:Registry/v2/$Repository/manifests/$Tag" -Headers @{
            Accept = 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json'
        }
        "$($response.Headers['Docker-Content-Digest'])"
    }

    function Get-StoredDocker {
        param([string]$Name)
        # The saved settings with their bookkeeping (image digest, generated tag), as JSON on request.
        (Get-Flow -Name $Name -Project P).Storage.ToJson() | ConvertFrom-Json
    }
}

AfterAll {
    $env:DOCKER_HOST = $script:PreviousDockerHost
    Remove-Item Env:FLOWSTORE_POLL_INTERVAL -ErrorAction SilentlyContinue
    Exit-TestHome
}

Describe 'Docker case (a): flow.storage = Docker(path=..., files={...}, stored_as_script=True)' {
    BeforeAll {
        $image = New-ImageName seeda
        $file = New-FlowScript "$TestDrive/a/my_flow.cs" ((Get-LinearFlowBody -Name seeda -Message 'built v1') + @"
flow.Storage = new DockerStorage(
    path: "/flows/my_flow.cs",
    files: new Dictionary<string, string> { ["my_flow.cs"] = "/flows/my_flow.cs" },
    storedAsScript: true,
    registryUrl: "$script:Registry",
    imageName: "$image");
"@)
    }

    It 'registers by building and pushing an image with the file, and the run reads the script out of it' {
        $registration = Register-Flow -Path $file -Project P
        $registration.Status | Should -Be 'Registered'
        $registration.Storage | Should -BeLike "Docker script $script:Registry/$image`:*/flows/my_flow.cs"
        $stored = Get-StoredDocker seeda
        $stored.imageTag | Should -Match '^\d{8}T\d{6}Z$'
        $stored.imageDigest | Should -Be (Get-RegistryDigest $image $stored.imageTag)

        $result = Invoke-Run seeda
        $result.Run[0].State | Should -Be 'Success'
        $result.Text | Should -Contain '[print_data] built v1'
        $result.Run[0].StorageVersion | Should -Be $stored.imageDigest
    }

    It 'skips the unchanged script (the generated tag does not make it new); a changed script is built as version 2' {
        (Register-Flow -Path $file -Project P).Status | Should -Be 'Skipped'
        $null = New-FlowScript $file ((Get-Content -Raw -LiteralPath $file).Replace('using Flowstore;', '').Replace('built v1', 'built v2'))
        $registration = Register-Flow -Path $file -Project P
        $registration.Status | Should -Be 'Registered'
        $registration.Version | Should -Be 2
        (Invoke-Run seeda).Text | Should -Contain '[print_data] built v2'
    }

    It 'does the same from New-FlowStorage -Path -Files -StoredAsScript, naming the image after the flow' {
        $other = New-FlowScript "$TestDrive/a2/flow.cs" (Get-LinearFlowBody -Name seeda2 -Message 'from the command line')
        $registration = New-FlowStorage -Type Docker -Path /flows/flow.cs -Files @{ $other = '/flows/flow.cs' } -StoredAsScript @Docker |
            Register-Flow -Path $other -Project P
        $registration.Status | Should -Be 'Registered'
        (Get-StoredDocker seeda2).imageName | Should -Be 'flowstore/seeda2'
        (Invoke-Run seeda2).Text | Should -Contain '[print_data] from the command line'
    }
}

Describe 'Docker case (b): flow.storage = Docker(path="/location/in/image/...", stored_as_script=True) on an image that holds the file' {
    BeforeAll {
        $image = New-ImageName seedb
        $body = Get-LinearFlowBody -Name seedb -Message 'image v1'
        # Another pipeline made the image: Publish-FlowScript builds and pushes it under the tag 'stable'.
        $source = New-FlowScript "$TestDrive/b/source/my_flow.cs" $body
        $script:Publication = New-FlowStorage -Type Docker -ImageName $image -ImageTag stable -Path /location/in/image/my_flow.cs -StoredAsScript @Docker |
            Publish-FlowScript -Path $source
        $file = New-FlowScript "$TestDrive/b/my_flow.cs" ($body + @"
flow.Storage = new DockerStorage(
    path: "/location/in/image/my_flow.cs",
    storedAsScript: true,
    registryUrl: "$script:Registry",
    imageName: "$image",
    imageTag: "stable");
"@)
    }

    It 'publishes the image: Location, tag and digest' {
        $script:Publication.Location | Should -Be "$script:RegistryHost/$image`:stable:/location/in/image/my_flow.cs"
        $script:Publication.Storage.ImageTag | Should -Be 'stable'
        $script:Publication.StorageVersion | Should -Be (Get-RegistryDigest $image stable)
    }

    It 'registers without a build (the file is checked in the image) and runs' {
        $registration = Register-Flow -Path $file -Project P -WarningVariable warnings -WarningAction SilentlyContinue
        $registration.Status | Should -Be 'Registered'
        # The image's script has other task code than the local file (it was published from another file).
        "$warnings" | Should -BeLike "*$image`:stable:/location/in/image/my_flow.cs differs*"
        (Get-StoredDocker seedb).files | Should -BeNullOrEmpty
        $result = Invoke-Run seedb
        $result.Run[0].State | Should -Be 'Success'
        $result.Text | Should -Contain '[print_data] image v1'
        $result.Run[0].StorageVersion | Should -Be $script:Publication.StorageVersion
    }

    It 'runs new code from a new image pushed under the same tag, without registering again' {
        $changed = New-FlowScript "$TestDrive/b/v2/my_flow.cs" (Get-LinearFlowBody -Name seedb -Message 'image v2')
        $v2 = New-FlowStorage -Type Docker -ImageName $image -ImageTag stable -Path /location/in/image/my_flow.cs -StoredAsScript @Docker |
            Publish-FlowScript -Path $changed
        $v2.StorageVersion | Should -Not -Be $script:Publication.StorageVersion
        $result = Invoke-Run seedb
        $result.Text | Should -Contain '[print_data] image v2'
        $result.Text | Should -Not -Contain '[print_data] image v1'
        $result.Run[0].FlowVersion | Should -Be 1
        $result.Run[0].StorageVersion | Should -Be $v2.StorageVersion
        (Register-Flow -Path $file -Project P).Status | Should -Be 'Skipped'
    }

    It 'runs on an agent with no Docker engine, reading the script from the registry' {
        $queued = Start-FlowRun -Name seedb -Project P
        $agent = Start-AgentProcess -Arguments '-Once' -LogFolder "$TestDrive/agents" -Environment @{ DOCKER_HOST = $script:NoEngine }
        try {
            $run = Wait-FlowRun -Id $queued.Id -TimeoutSeconds 120
            $run.State | Should -Be 'Success' -Because (Get-AgentProcessOutput $agent)
            $run.StorageVersion | Should -Be (Get-RegistryDigest $image stable)
            (Get-FlowRunLog -Id $queued.Id | Where-Object Task -EQ print_data).Message | Should -Contain 'image v2'
            $null = $agent.WaitForExit(60000)
            $agent.ExitCode | Should -Be 0
        }
        finally {
            Stop-AgentProcess $agent
        }
    }

    It 'fails the run with StructureChanged and the diff when a pushed image changes the structure' {
        $changed = New-FlowScript "$TestDrive/b/v3/my_flow.cs" (Get-LinearFlowBody -Name seedb -Task get_data, enrich, print_data)
        $null = New-FlowStorage -Type Docker -ImageName $image -ImageTag stable -Path /location/in/image/my_flow.cs -StoredAsScript @Docker |
            Publish-FlowScript -Path $changed
        $err = { Start-FlowRun -Name seedb -Project P -Wait -ErrorAction Stop 6>$null } |
            Should -Throw -ErrorId 'StructureChanged,Flowstore.Commands.StartFlowRunCommand' -PassThru
        $err.Exception.Message | Should -BeLike '*enrich*'
        $err.Exception.Message | Should -BeLike "*$image`:stable:/location/in/image/my_flow.cs*"
    }
}

Describe 'Docker storage without -StoredAsScript (frozen): the compiled flow goes into the image' {
    It 'registers, and runs the compiled flow even after the local file changed' {
        $file = New-FlowScript "$TestDrive/frozen/frozen.cs" (Get-LinearFlowBody -Name frozen -Message 'compiled')
        $registration = New-FlowStorage -Type Docker -ImageName (New-ImageName frozen) @Docker | Register-Flow -Path $file -Project P
        $registration.Status | Should -Be 'Registered'
        $registration.Storage | Should -BeLike 'Docker frozen *'
        (Get-StoredDocker frozen).path | Should -Be '/flowstore/frozen.dll'
        $null = New-FlowScript $file (Get-LinearFlowBody -Name frozen -Message 'not registered')
        (Invoke-Run frozen).Text | Should -Contain '[print_data] compiled'
    }
}

Describe 'Docker storage errors leave nothing registered' {
    BeforeAll {
        $file = New-FlowScript "$TestDrive/errors/broken.cs" (Get-LinearFlowBody -Name broken -Message 'never')
        $image = New-ImageName errors
        $null = New-FlowStorage -Type Docker -ImageName $image -ImageTag '1.0' -Path /flows/broken.cs -StoredAsScript @Docker |
            Publish-FlowScript -Path $file
    }

    AfterEach {
        Get-Flow -Name broken -Project P -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'a path that is not in the image: StorageNotFound naming image and path' {
        $err = { New-FlowStorage -Type Docker -ImageName $image -ImageTag '1.0' -Path /flows/missing.cs -StoredAsScript @Docker |
                Register-Flow -Path $file -Project P -ErrorAction Stop } |
            Should -Throw -ErrorId 'StorageNotFound,Flowstore.Commands.RegisterFlowCommand' -PassThru
        $err.Exception.Message | Should -BeLike "*$image`:1.0*'/flows/missing.cs'*"
    }

    It 'an image that is not in the registry: StorageNotFound naming it' {
        $err = { New-FlowStorage -Type Docker -ImageName $image -ImageTag 'no-such-tag' -Path /flows/broken.cs -StoredAsScript @Docker |
                Register-Flow -Path $file -Project P -ErrorAction Stop } |
            Should -Throw -ErrorId 'StorageNotFound,Flowstore.Commands.RegisterFlowCommand' -PassThru
        $err.Exception.Message | Should -BeLike "*$image`:no-such-tag*"
    }

    It 'no Docker engine and no registry: StorageUnavailable naming the engine' {
        $err = { New-FlowStorage -Type Docker -ImageName $image -ImageTag '1.0' -Path /flows/broken.cs -StoredAsScript -DockerHost $script:NoEngine |
                Register-Flow -Path $file -Project P -ErrorAction Stop } |
            Should -Throw -ErrorId 'StorageUnavailable,Flowstore.Commands.RegisterFlowCommand' -PassThru
        $err.Exception.Message | Should -BeLike "*$script:NoEngine*no registry*"
    }

    It 'a push the registry denies: StorageAccessDenied, nothing pushed' {
        $protected = @{ RegistryUrl = $env:FLOWSTORE_TEST_REGISTRY_AUTH_URL }
        $err = { New-FlowStorage -Type Docker -ImageName $image -ImageTag denied -Files @{ $file = '/flows/broken.cs' } -StoredAsScript @protected |
                Register-Flow -Path $file -Project P -ErrorAction Stop } |
            Should -Throw -ErrorId 'StorageAccessDenied,Flowstore.Commands.RegisterFlowCommand' -PassThru
        $err.Exception.Message | Should -BeLike '*RegistryCredentialsSecret*'
        $basic = [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes("$($env:FLOWSTORE_TEST_REGISTRY_USER):$($env:FLOWSTORE_TEST_REGISTRY_PASSWORD)"))
        $tags = Invoke-WebRequest -SkipHttpErrorCheck -Uri "$($protected.RegistryUrl)/v2/$image/tags/list" -Headers @{ Authorization = "Basic $basic" }
        $tags.StatusCode | Should -Be 404 -Because 'the repository must not exist after a denied push'

        # With the credentials secret the same push works (and is published, not registered, here).
        $publication = New-FlowStorage -Type Docker -ImageName $image -ImageTag allowed -Path /flows/broken.cs -StoredAsScript @protected -RegistryCredentialsSecret REGISTRY_CREDENTIALS |
            Publish-FlowScript -Path $file
        $publication.StorageVersion | Should -Match '^sha256:[0-9a-f]{64}$'
        "$publication" | Should -Not -BeLike "*$env:FLOWSTORE_TEST_REGISTRY_PASSWORD*"
    }

    It 'a failing build: StoragePublishFailed naming the step' {
        $dockerfile = Join-Path $TestDrive 'errors/image/Dockerfile'
        $null = New-Item -ItemType Directory -Force -Path (Split-Path $dockerfile)
        Set-Content -LiteralPath $dockerfile -Value "FROM scratch`nCOPY no-such-file /somewhere"
        $err = { New-FlowStorage -Type Docker -ImageName $image -ImageTag built -Dockerfile $dockerfile -StoredAsScript @Docker |
                Register-Flow -Path $file -Project P -ErrorAction Stop } |
            Should -Throw -ErrorId 'StoragePublishFailed,Flowstore.Commands.RegisterFlowCommand' -PassThru
        $err.Exception.Message | Should -BeLike '*Step 2/*COPY no-such-file*'
    }

    It 'both -Dockerfile and -BaseImage: StorageInvalid' {
        { New-FlowStorage -Type Docker -Dockerfile ./Dockerfile -BaseImage debian -StoredAsScript } |
            Should -Throw -ErrorId 'StorageInvalid,Flowstore.Commands.NewFlowStorageCommand'
    }
}
