# Team mode end to end, against the real PostgreSQL (tests/servers/Start-Postgres.ps1), the GitHub stand-in
# (tests/servers/Start-GitHosts.ps1) and the real Flowstore server process (Start-FlowServer). Every "machine" is a pwsh
# process of its own with a FLOWSTORE_HOME of its own (Start-Machine), so environment variables, module state and files
# never pass from one to another: what one machine sees of another's work came through the server.
#  - A team: an admin starts the server and makes keys, a project and a secret; CI (Registrar key in environment
#    variables only) registers examples/flows/my_flow.cs and a GitHub-stored flow and starts runs; ops (Reader key,
#    Connect-FlowServer) lists them and may not start runs; an agent (Agent key) executes the runs with the GitHub token
#    the server hands it; every machine then sees the same runs, logs and provenance.
#  - Eight machines register changes of one flow at once: versions 1..8, no gap, no duplicate.

BeforeAll {
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'
    Assert-TestServer -Variable 'FLOWSTORE_TEST_POSTGRES_CONNECTION_STRING', 'FLOWSTORE_TEST_POSTGRES_BIN', 'FLOWSTORE_TEST_POSTGRES_PORT' -StartScript 'Start-Postgres.ps1'
    $script:manifest = (Resolve-Path "$PSScriptRoot/../../Flowstore.psd1").Path
    $script:repository = (Resolve-Path "$PSScriptRoot/../..").Path
    $script:machineHomes = [System.Collections.Generic.List[string]]::new()

    function New-TestDatabase {
        <# A new, empty database on the test cluster; returns its connection string. #>
        $name = 'team_' + [guid]::NewGuid().ToString('N').Substring(0, 12)
        $output = & "$env:FLOWSTORE_TEST_POSTGRES_BIN/createdb" -h 127.0.0.1 -p $env:FLOWSTORE_TEST_POSTGRES_PORT -U postgres $name 2>&1
        if ($LASTEXITCODE -ne 0) { throw "createdb $name failed: $output" }
        $env:FLOWSTORE_TEST_POSTGRES_CONNECTION_STRING -replace 'Database=[^;]*', "Database=$name"
    }

    function New-MachineHome {
        <# A FLOWSTORE_HOME of its own for one machine (a new folder under the temp folder, removed in AfterAll). #>
        param([Parameter(Mandatory)][string]$Name)
        $path = Join-Path ([IO.Path]::GetTempPath()) ("fs-$Name-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
        $script:machineHomes.Add($path)
        $path
    }

    function Start-Machine {
        <#
        Runs -Script in a new pwsh process (the module imported, $ErrorActionPreference Stop) whose FLOWSTORE_HOME is
        -FlowstoreHome, with no FLOWSTORE_SERVER_URL or FLOWSTORE_API_KEY but those in -Environment. What the script
        outputs comes back as JSON (Receive-Machine). Returns the process.
        #>
        param(
            [Parameter(Mandatory)][string]$FlowstoreHome,
            [Parameter(Mandatory)][string]$Script,
            [hashtable]$Environment = @{},
            [string]$WorkingDirectory = $script:repository
        )
        $command = @"
`$ErrorActionPreference = 'Stop'
`$ProgressPreference = 'SilentlyContinue'
Import-Module '$($script:manifest)'
`$result = & {
$Script
}
ConvertTo-Json -InputObject @(`$result) -Depth 6 -Compress
"@
        $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($command))
        $executable = [Environment]::ProcessPath
        $arguments = @(if ([IO.Path]::GetFileNameWithoutExtension($executable) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' }) +
            @('-NoProfile', '-NonInteractive', '-EncodedCommand', $encoded)
        # Nothing of this process's Flowstore settings, test servers' tokens or storage tokens reaches the machine
        # unless -Environment gives it.
        $variables = @{}
        foreach ($name in (Get-ChildItem env: | Where-Object Name -Match '^(FLOWSTORE_|GITHUB_|GITLAB_|BITBUCKET_|GIT_TOKEN)').Name) {
            $variables[$name] = $null
        }
        $variables['FLOWSTORE_HOME'] = $FlowstoreHome
        foreach ($key in $Environment.Keys) { $variables[$key] = $Environment[$key] }
        $logs = Join-Path $TestDrive 'machines'
        $null = New-Item -ItemType Directory -Force -Path $logs
        $log = Join-Path $logs ([guid]::NewGuid().ToString('N').Substring(0, 8))
        $process = Start-Process -FilePath $executable -ArgumentList $arguments -Environment $variables -PassThru `
            -WorkingDirectory $WorkingDirectory -RedirectStandardOutput "$log.out" -RedirectStandardError "$log.err"
        $process | Add-Member -NotePropertyName LogPath -NotePropertyValue $log -PassThru
    }

    function Receive-Machine {
        <# Waits for a Start-Machine process (at most -TimeoutSeconds) and returns what its script output; throws with its errors when it failed. #>
        param([Parameter(Mandatory)]$Process, [int]$TimeoutSeconds = 300)
        if (-not $Process.WaitForExit($TimeoutSeconds * 1000)) {
            $Process.Kill($true)
            throw "The machine process $($Process.Id) did not end within $TimeoutSeconds s."
        }
        $Process.WaitForExit()
        $out = Get-Content -Raw -LiteralPath "$($Process.LogPath).out" -ErrorAction SilentlyContinue
        $err = Get-Content -Raw -LiteralPath "$($Process.LogPath).err" -ErrorAction SilentlyContinue
        Remove-Item -LiteralPath "$($Process.LogPath).out", "$($Process.LogPath).err" -ErrorAction SilentlyContinue
        if ($Process.ExitCode -ne 0) { throw "The machine process failed (exit $($Process.ExitCode)): $err $out" }
        $json = @(($out ?? '') -split "`n" | Where-Object { $_.Trim() }) | Select-Object -Last 1
        if (-not $json) { throw "The machine process output nothing: $err" }
        , @($json | ConvertFrom-Json)
    }

    function Invoke-Machine {
        <# Start-Machine, then Receive-Machine. #>
        param(
            [Parameter(Mandatory)][string]$FlowstoreHome,
            [Parameter(Mandatory)][string]$Script,
            [hashtable]$Environment = @{}
        )
        Receive-Machine (Start-Machine -FlowstoreHome $FlowstoreHome -Script $Script -Environment $Environment)
    }
}

AfterAll {
    foreach ($path in $script:machineHomes) {
        if (Test-Path -LiteralPath $path) {
            Import-Module $script:manifest
            Stop-FlowServer -Home $path -ErrorAction SilentlyContinue
            Remove-Item -LiteralPath $path -Recurse -Force -ErrorAction SilentlyContinue
        }
    }
}

Describe 'A team on one server over PostgreSQL: admin, CI, ops and an agent, each on a machine of its own' {
    BeforeAll {
        Assert-TestServer -Variable 'FLOWSTORE_TEST_GITHOSTS_URL', 'FLOWSTORE_TEST_GITHOSTS_ROOT', 'FLOWSTORE_TEST_GITHOSTS_TOKEN' -StartScript 'Start-GitHosts.ps1'
        . "$PSScriptRoot/GitHostStorage.ps1"
        $homes = [ordered]@{
            server = New-MachineHome server
            admin  = New-MachineHome admin
            ci     = New-MachineHome ci
            ops    = New-MachineHome ops
            agent  = New-MachineHome agent
        }
        $connection = New-TestDatabase
        $localFlow = Join-Path $repository 'examples/flows/my_flow.cs'
        $localSha = (Get-FileHash -Algorithm SHA256 -LiteralPath $localFlow).Hash.ToLowerInvariant()

        # The flow kept on GitHub (the stand-in): pushed by a developer; CI registers it from its checkout.
        $gitHub = Get-GitHostStorage GitHub
        $repo = New-GitHostRepository $gitHub -Prefix team
        $gitHubScript = Get-GitHostFlow $gitHub $repo -Name team_github
        $gitHubCommit = Push-TestFile $repo 'flows/my_flow.cs' $gitHubScript -Message 'Add the team flow'
        $gitHubSha = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([Text.UTF8Encoding]::new($false).GetBytes($gitHubScript))).ToLowerInvariant()

        # What every machine shows of the team's flows and runs (the same script for all).
        $view = @'
[pscustomobject]@{
    Server = (Get-FlowServer).Backend
    Flows  = @(Get-Flow -Project Team | Sort-Object Name | ForEach-Object {
        [pscustomobject]@{ Name = $_.Name; Version = $_.Version; CreatedBy = $_.CreatedBy; StorageType = $_.StorageType; ScriptSha256 = $_.ScriptSha256 } })
    Runs   = @(Get-FlowRun -Project Team | Sort-Object FlowName | ForEach-Object {
        [pscustomobject]@{
            Id = "$($_.Id)"; FlowName = $_.FlowName; State = "$($_.State)"; CreatedBy = $_.CreatedBy; Agent = $_.Agent
            ScriptSha256 = $_.ScriptSha256; StorageVersion = $_.StorageVersion; Error = $_.Error
            Log = @(Get-FlowRunLog -Id $_.Id | ForEach-Object { "[$($_.Task)] $($_.Message)" })
        } })
    FlowList = Get-Flow -Name example -Project Team | Format-List | Out-String
    RunList = Get-FlowRun -Name example -Project Team | Format-List | Out-String
}
'@
    }

    It 'the admin starts the server over PostgreSQL with API keys required, and makes the team''s keys, project and secret' {
        $script:admin = (Invoke-Machine -FlowstoreHome $homes.admin -Environment @{
                TEAM_DATABASE = $connection; TEAM_SERVER_HOME = $homes.server; TEAM_GITHUB_TOKEN = $env:FLOWSTORE_TEST_GITHOSTS_TOKEN
                Flowstore__ApiKeys = 'Required'
            } -Script @'
$server = Start-FlowServer -Backend Postgres -ConnectionString $env:TEAM_DATABASE -Home $env:TEAM_SERVER_HOME
$adminKey = if ($server.PSObject.Properties['AdminKey'] -and $server.AdminKey) { $server.AdminKey }
    else { Get-Content -Raw -LiteralPath (Join-Path $env:TEAM_SERVER_HOME 'admin.key') | ForEach-Object Trim | ConvertTo-SecureString -AsPlainText -Force }
$null = Connect-FlowServer -Url $server.Url -ApiKey $adminKey
$null = New-FlowProject -Name Team
$keys = [ordered]@{}
foreach ($k in @(@('ci', 'Registrar'), @('ops', 'Reader'), @('agent-1', 'Agent'))) {
    $keys[$k[0]] = (New-FlowApiKey -Name $k[0] -Role $k[1]).Token | ConvertFrom-SecureString -AsPlainText
}
$env:TEAM_GITHUB_TOKEN | Set-FlowSecret -Name GITHUB_ACCESS_TOKEN
[pscustomobject]@{
    Url = "$($server.Url)"; Backend = $server.Backend; ProcessId = $server.ProcessId
    Keys = [pscustomobject]$keys
    KeyList = @(Get-FlowApiKey | ForEach-Object { "$($_.Name):$($_.Role)" })
    Secrets = @(Get-FlowSecret | ForEach-Object { "$($_.Name):$($_.KeyState)" })
}
'@)[0]
        $admin.Backend | Should -Be 'Postgres'
        $admin.KeyList | Should -Contain 'ci:Registrar'
        $admin.KeyList | Should -Contain 'ops:Reader'
        $admin.KeyList | Should -Contain 'agent-1:Agent'
        $admin.Secrets | Should -Be @('GITHUB_ACCESS_TOKEN:Readable') -Because 'the secret is kept by the server, encrypted with its key'
        (Invoke-RestMethod -Uri "$($admin.Url)health").status | Should -Be 'Healthy'
        { Invoke-RestMethod -Uri "$($admin.Url)api/v1/flows" } | Should -Throw -Because 'the server requires keys'
    }

    It 'CI, with a Registrar key in FLOWSTORE_SERVER_URL and FLOWSTORE_API_KEY only, registers my_flow.cs and the GitHub flow and starts their runs' {
        $script:ci = (Invoke-Machine -FlowstoreHome $homes.ci -Environment @{
                FLOWSTORE_SERVER_URL = $admin.Url; FLOWSTORE_API_KEY = $admin.Keys.ci
                GITHUB_ACCESS_TOKEN  = $env:FLOWSTORE_TEST_GITHOSTS_TOKEN   # CI's own pipeline secret: registration reads the stored script
                TEAM_GITHUB_FLOW     = (Join-Path $repo.Work 'flows/my_flow.cs')
            } -Script @'
$server = Get-FlowServer
$registered = @(Register-Flow -Path examples/flows/my_flow.cs -Project Team) + @(Register-Flow -Path $env:TEAM_GITHUB_FLOW -Project Team)
$runs = @(Start-FlowRun -Name example -Project Team) + @(Start-FlowRun -Name team_github -Project Team)
[pscustomobject]@{
    Source = "$($server.Source)"; Backend = $server.Backend
    Registered = @($registered | ForEach-Object { "$($_.Name):$($_.Status):$($_.Version)" })
    Runs = @($runs | ForEach-Object { [pscustomobject]@{ Id = "$($_.Id)"; FlowName = $_.FlowName; State = "$($_.State)"; CreatedBy = $_.CreatedBy } })
}
'@)[0]
        $ci.Source | Should -Be 'Environment'
        $ci.Backend | Should -Be 'Http'
        $ci.Registered | Should -Be @('example:Registered:1', 'team_github:Registered:1')
        $ci.Runs.State | Should -Be @('Scheduled', 'Scheduled')
        $ci.Runs.CreatedBy | Should -Be @('ci', 'ci')
    }

    It 'ops, connected with a Reader key, lists the flows and the queued runs, and is refused Start-FlowRun with AccessDenied naming the role needed' {
        $script:ops = (Invoke-Machine -FlowstoreHome $homes.ops -Environment @{ TEAM_URL = $admin.Url; TEAM_KEY = $admin.Keys.ops } -Script @'
$key = ConvertTo-SecureString $env:TEAM_KEY -AsPlainText -Force
Remove-Item env:TEAM_KEY
$connected = Connect-FlowServer -Url $env:TEAM_URL -ApiKey $key
$flows = @(Get-Flow -Project Team | ForEach-Object { "$($_.Name):$($_.Version)" } | Sort-Object)
$runs = @(Get-FlowRun -Project Team | ForEach-Object { "$($_.FlowName):$($_.State)" } | Sort-Object)
$refused = try { $null = Start-FlowRun -Name example -Project Team; $null } catch { [pscustomobject]@{ Id = $_.FullyQualifiedErrorId; Message = $_.Exception.Message; Action = $_.ErrorDetails.RecommendedAction } }
[pscustomobject]@{
    Source = "$($connected.Source)"; Flows = $flows; Runs = $runs; Refused = $refused
    RunsAfter = @(Get-FlowRun -Project Team).Count
}
'@)[0]
        $ops.Source | Should -Be 'Connection'
        $ops.Flows | Should -Be @('example:1', 'team_github:1')
        $ops.Runs | Should -Be @('example:Scheduled', 'team_github:Scheduled')
        $ops.Refused | Should -Not -BeNullOrEmpty -Because 'a Reader may not start runs'
        $ops.Refused.Id | Should -Be 'AccessDenied,Flowstore.Commands.StartFlowRunCommand'
        $ops.Refused.Message | Should -BeLike '*Registrar*'
        $ops.Refused.Message | Should -Not -BeLike "*$($admin.Keys.ops)*"
        $ops.RunsAfter | Should -Be 2 -Because 'nothing was queued'
    }

    It 'the agent, on its own machine with an Agent key, executes the runs CI started, the GitHub token resolved from the server' {
        $script:agent = (Invoke-Machine -FlowstoreHome $homes.agent -Environment @{ TEAM_URL = $admin.Url; TEAM_KEY = $admin.Keys.'agent-1' } -Script @'
$key = ConvertTo-SecureString $env:TEAM_KEY -AsPlainText -Force
Remove-Item env:TEAM_KEY
$null = Connect-FlowServer -Url $env:TEAM_URL -ApiKey $key
@(Start-FlowAgent -Name build-box -Once -PassThru -ErrorAction Continue 2>$null | ForEach-Object {
    [pscustomobject]@{ FlowName = $_.FlowName; State = "$($_.State)"; Agent = $_.Agent; Error = $_.Error }
}) | Sort-Object FlowName
'@)
        $agent.FlowName | Should -Be @('example', 'team_github')
        foreach ($run in $agent) { $run.State | Should -Be 'Success' -Because "$($run.FlowName): $($run.Error)" }
        $agent.Agent | ForEach-Object { $_ | Should -BeLike 'build-box@*' }
    }

    It 'every machine sees the same flows, runs, logs and provenance: CreatedBy the key names, the script SHA-256 and the storage version' {
        $views = [ordered]@{}
        $views.admin = (Invoke-Machine -FlowstoreHome $homes.admin -Script $view)[0]
        $views.ci = (Invoke-Machine -FlowstoreHome $homes.ci -Environment @{ FLOWSTORE_SERVER_URL = $admin.Url; FLOWSTORE_API_KEY = $admin.Keys.ci } -Script $view)[0]
        $views.ops = (Invoke-Machine -FlowstoreHome $homes.ops -Script $view)[0]
        $views.agent = (Invoke-Machine -FlowstoreHome $homes.agent -Script $view)[0]
        foreach ($machine in $views.Keys) {
            $seen = $views[$machine]
            $seen.Server | Should -Be 'Http' -Because "$machine works through the server"
            $seen.Flows.Name | Should -Be @('example', 'team_github') -Because $machine
            $seen.Flows.CreatedBy | Should -Be @('ci', 'ci') -Because "$machine sees who registered the flows"
            $seen.Flows.ScriptSha256 | Should -Be @($localSha, $gitHubSha) -Because $machine
            $seen.Runs.FlowName | Should -Be @('example', 'team_github') -Because $machine
            $seen.Runs.State | Should -Be @('Success', 'Success') -Because $machine
            $seen.Runs.CreatedBy | Should -Be @('ci', 'ci') -Because "$machine sees who started the runs"
            $seen.Runs.Agent | ForEach-Object { $_ | Should -BeLike 'build-box@*' -Because "$machine sees which agent ran it" }
            $seen.Runs.ScriptSha256 | Should -Be @($localSha, $gitHubSha) -Because "$machine sees the SHA-256 of what ran"
            $seen.Runs[1].StorageVersion | Should -Be $gitHubCommit -Because "$machine sees the commit that ran"
            $seen.Runs[0].StorageVersion | Should -Not -BeNullOrEmpty -Because "$machine sees the local file's version"
            $seen.Runs[0].Log | Should -Contain '[print_data] 1, 2, 3, 4, 5' -Because "$machine reads the run's log"
            $seen.Runs[1].Log | Should -Contain '[print_data] 1, 2, 3, 4, 5' -Because "$machine reads the run's log"
            ($seen.Runs[1].Log -join "`n") | Should -BeLike "*$gitHubCommit*" -Because "$machine reads where the script came from"
            $seen.FlowList | Should -Match '(?m)^CreatedBy\s*: ci\s*$' -Because "$machine's Format-List of a flow shows who registered it"
            $seen.RunList | Should -Match '(?m)^CreatedBy\s*: ci\s*$' -Because "$machine's Format-List of a run shows who started it"
        }
    }

    It 'nothing of the team lives on a client machine (CI keeps no state, the others only their connection), and no file, log or database dump holds a key or the secret in clear' {
        Test-Path -LiteralPath (Join-Path $homes.ci 'flowstore.db') | Should -BeFalse -Because 'CI works from its environment only'
        Test-Path -LiteralPath (Join-Path $homes.ci 'server.connection.json') | Should -BeFalse
        foreach ($machine in 'admin', 'ops', 'agent') {
            # Connect-FlowServer keeps the key encrypted in the home's own store; everything else is on the server.
            $local = (Invoke-Machine -FlowstoreHome $homes[$machine] -Script @'
Disconnect-FlowServer
[pscustomobject]@{ Backend = (Get-FlowServer).Backend; Projects = @(Get-FlowProject).Count; Flows = @(Get-Flow).Count; Runs = @(Get-FlowRun).Count }
'@)[0]
            $local.Backend | Should -Be 'Sqlite' -Because "$machine is disconnected"
            "$($local.Projects) $($local.Flows) $($local.Runs)" | Should -Be '0 0 0' -Because "$machine kept no project, flow or run of its own"
        }
        $database = ($connection -split ';' | Where-Object { $_ -like 'Database=*' }) -replace '^Database=', ''
        $dump = (& "$env:FLOWSTORE_TEST_POSTGRES_BIN/pg_dump" -h 127.0.0.1 -p $env:FLOWSTORE_TEST_POSTGRES_PORT -U postgres $database) -join "`n"
        $LASTEXITCODE | Should -Be 0
        $dump | Should -BeLike '*api_keys*' -Because 'the dump is of the team''s database'
        foreach ($token in @($admin.Keys.ci, $admin.Keys.ops, $admin.Keys.'agent-1', $env:FLOWSTORE_TEST_GITHOSTS_TOKEN)) {
            $dump.Contains($token) | Should -BeFalse -Because 'the database keeps hashes of keys and encrypted secrets only'
        }
        # The server's home (its log, its secret key, the first admin key) holds none of the keys it made nor the secret.
        foreach ($machine in 'server', 'admin', 'ci', 'ops', 'agent') {
            foreach ($file in @(Get-ChildItem -LiteralPath $homes[$machine] -Recurse -File -ErrorAction SilentlyContinue)) {
                $bytes = [IO.File]::ReadAllBytes($file.FullName)
                $text = [Text.Encoding]::UTF8.GetString($bytes)
                foreach ($token in @($admin.Keys.ci, $admin.Keys.ops, $admin.Keys.'agent-1', $env:FLOWSTORE_TEST_GITHOSTS_TOKEN)) {
                    $text.Contains($token) | Should -BeFalse -Because "$($file.FullName) of $machine holds no key or token in clear"
                }
            }
        }
    }
}

Describe 'Eight machines register changes of one flow at once through the server over PostgreSQL' {
    BeforeAll {
        $serverHome = New-MachineHome server
        $connection = New-TestDatabase
        $server = (Invoke-Machine -FlowstoreHome $serverHome -Environment @{ TEAM_DATABASE = $connection } -Script @'
$s = Start-FlowServer -Backend Postgres -ConnectionString $env:TEAM_DATABASE
[pscustomobject]@{ Url = "$($s.Url)"; ProcessId = $s.ProcessId; Backend = $s.Backend; AdminKey = $s.AdminKey | ConvertFrom-SecureString -AsPlainText }
'@)[0]
        $gate = Join-Path $TestDrive 'go'
        $machines = foreach ($i in 1..8) {
            $file = New-FlowScript "$TestDrive/change$i/shared.cs" (Get-LinearFlowBody -Name shared -Task 'get_data', "change_$i" -Message "change $i")
            $ready = Join-Path $TestDrive "ready$i"
            # Each machine compiles its change first (Test-FlowScript fills its own home's cache), says it is ready, and
            # registers once every machine is ready: the eight registrations reach the server together.
            Start-Machine -FlowstoreHome (New-MachineHome "ci$i") -Environment @{ FLOWSTORE_SERVER_URL = $server.Url; FLOWSTORE_API_KEY = $server.AdminKey } -Script @"
`$null = Test-FlowScript -Path '$file'
Set-Content -LiteralPath '$ready' -Value ready
while (-not (Test-Path -LiteralPath '$gate')) { Start-Sleep -Milliseconds 20 }
`$r = Register-Flow -Path '$file' -Project Concurrent -CreateProject
[pscustomobject]@{ Status = "`$(`$r.Status)"; Version = `$r.Version; Id = "`$(`$r.Id)"; Local = Test-Path -LiteralPath (Join-Path `$env:FLOWSTORE_HOME 'flowstore.db') }
"@
        }
        foreach ($i in 1..8) {
            $machine = $machines[$i - 1]
            Wait-Until { Test-Path -LiteralPath (Join-Path $TestDrive "ready$i") } -Because "machine $i compiled its change" -TimeoutSeconds 300 -Process $machine
        }
        Set-Content -LiteralPath $gate -Value go
        $results = foreach ($machine in $machines) { (Receive-Machine $machine)[0] }
        $versions = Invoke-Machine -FlowstoreHome (New-MachineHome reader) -Environment @{ FLOWSTORE_SERVER_URL = $server.Url; FLOWSTORE_API_KEY = $server.AdminKey } -Script @'
Get-Flow -Name shared -Project Concurrent -AllVersions | ForEach-Object {
    [pscustomobject]@{ Version = $_.Version; Id = "$($_.Id)"; Archived = $_.Archived; Tasks = @($_.Structure.Tasks.Name) -join ',' }
}
'@
    }

    It 'the server runs over PostgreSQL' {
        $server.Backend | Should -Be 'Postgres'
    }

    It 'every machine registered a new version, and the versions are 1..8 with no gap and no duplicate' {
        @($results.Status | Sort-Object -Unique) | Should -Be @('Registered')
        @($results.Version | Sort-Object) | Should -Be (1..8)
        @($results.Local | Sort-Object -Unique) | Should -Be @($false) -Because 'nothing is written to a machine''s own database'
    }

    It 'the server holds exactly those eight versions, each with the change of the machine that registered it, only the newest not archived' {
        @($versions.Version | Sort-Object) | Should -Be (1..8)
        @($versions.Id | Sort-Object) | Should -Be @($results.Id | Sort-Object)
        @($versions.Tasks | Sort-Object -Unique).Count | Should -Be 8 -Because 'each version is one machine''s change'
        @($versions | Where-Object { -not $_.Archived }).Version | Should -Be 8
    }
}
