# Faults of team mode at the cmdlet level, with the real server process (Start-FlowServer) and a PostgreSQL cluster of
# this file's own (initdb + pg_ctl on a free port), so stopping the database never touches the shared test cluster.
BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'
    $script:pgBin = if ($env:FLOWSTORE_TEST_POSTGRES_BIN) { $env:FLOWSTORE_TEST_POSTGRES_BIN } else { '/usr/lib/postgresql/15/bin' }
    $script:runAs = if ((& id -u) -eq '0') { 'postgres' } else { $null } # PostgreSQL refuses to run as root

    function Invoke-ClusterOwner([string]$Command, [string[]]$Arguments) {
        $output = if ($script:runAs) { & runuser -u $script:runAs -- "$script:pgBin/$Command" @Arguments 2>&1 } else { & "$script:pgBin/$Command" @Arguments 2>&1 }
        if ($LASTEXITCODE -ne 0) { throw "$Command $($Arguments -join ' ') exited with ${LASTEXITCODE}: $($output -join "`n")" }
    }

    function New-TestCluster {
        $root = Join-Path ([IO.Path]::GetTempPath()) ('fs-pg-' + [guid]::NewGuid().ToString('N').Substring(0, 12))
        $null = New-Item -ItemType Directory -Path $root
        if ($script:runAs) { & chown "$($script:runAs):" $root }
        $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $listener.Start(); $port = $listener.LocalEndpoint.Port; $listener.Stop()
        $cluster = [pscustomobject]@{ Root = $root; Data = Join-Path $root 'data'; Port = $port
            ConnectionString = "Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres;Timeout=5" }
        Invoke-ClusterOwner initdb @('-D', $cluster.Data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync')
        Start-TestCluster $cluster
        $cluster
    }
    function Start-TestCluster($Cluster) {
        Invoke-ClusterOwner pg_ctl @('-D', $Cluster.Data, '-l', (Join-Path $Cluster.Root 'postgres.log'), '-w', '-t', '60',
            '-o', "-c listen_addresses=127.0.0.1 -p $($Cluster.Port) -k $($Cluster.Root) -c fsync=off", 'start')
    }
    function Stop-TestCluster($Cluster) {
        Invoke-ClusterOwner pg_ctl @('-D', $Cluster.Data, '-m', 'fast', '-w', '-t', '60', 'stop')
    }
    function Remove-TestCluster($Cluster) {
        if (Test-Path -LiteralPath (Join-Path $Cluster.Data 'postmaster.pid')) { Stop-TestCluster $Cluster }
        Remove-Item -LiteralPath $Cluster.Root -Recurse -Force -ErrorAction SilentlyContinue
    }

    function Wait-ServerHealth([string]$Url, [string]$Status = 'Healthy') {
        # Waits on the condition with a deadline, never a fixed time.
        $deadline = [DateTime]::UtcNow.AddSeconds(90)
        $last = $null
        while ([DateTime]::UtcNow -lt $deadline) {
            try {
                $last = Invoke-RestMethod -Uri "${Url}health" -SkipHttpErrorCheck -TimeoutSec 10
                if ($last.status -eq $Status) { return }
            }
            catch { $last = $_.Exception.Message }
            Start-Sleep -Milliseconds 50
        }
        throw "The server at $Url did not report $Status within 90 s (last: $($last | ConvertTo-Json -Compress))."
    }
}

Describe 'PostgreSQL restarts while the server runs' {
    BeforeAll {
        $script:cluster = New-TestCluster
        $script:serverHome = Join-Path ([IO.Path]::GetTempPath()) ('fs-server-' + [guid]::NewGuid())
        $script:server = Start-FlowServer -Home $serverHome -Backend Postgres -ConnectionString $cluster.ConnectionString
        $null = Enter-TestHome
        $env:FLOWSTORE_SERVER_URL = $server.Url
        $env:FLOWSTORE_API_KEY = $server.AdminKey | ConvertFrom-SecureString -AsPlainText # the server requires keys
        $null = New-FlowProject -Name Team
    }
    AfterAll {
        Remove-Item env:FLOWSTORE_SERVER_URL, env:FLOWSTORE_API_KEY -ErrorAction SilentlyContinue
        Exit-TestHome
        Stop-FlowServer -Home $serverHome -ErrorAction SilentlyContinue
        Remove-Item -LiteralPath $serverHome -Recurse -Force -ErrorAction SilentlyContinue
        Remove-TestCluster $cluster
    }

    It 'a cmdlet fails with BackendUnavailable naming the database during the outage, and works again afterwards without restarting the server' {
        Stop-TestCluster $cluster

        $err = { Get-FlowProject -Name Team } | Should -Throw -ErrorId 'BackendUnavailable,Flowstore.Commands.GetFlowProjectCommand' -PassThru
        $err.CategoryInfo.Category | Should -Be 'ConnectionError'
        $err.TargetObject | Should -Be "PostgreSQL 127.0.0.1:$($cluster.Port)/postgres"
        $err.Exception.Message | Should -BeLike "*127.0.0.1:$($cluster.Port)/postgres*"
        $write = { New-FlowProject -Name Other } | Should -Throw -ErrorId 'BackendUnavailable,Flowstore.Commands.NewFlowProjectCommand' -PassThru
        $write.CategoryInfo.Category | Should -Be 'ConnectionError'

        Start-TestCluster $cluster
        Wait-ServerHealth $server.Url

        (Get-FlowProject -Name Team).Name | Should -Be 'Team'
        (New-FlowProject -Name Other).Name | Should -Be 'Other'
        (Get-Process -Id $server.ProcessId).HasExited | Should -BeFalse # the same server process throughout
    }
}

Describe 'The server stops and starts again while Start-FlowAgent executes a run' {
    BeforeAll {
        $script:serverHome = Join-Path ([IO.Path]::GetTempPath()) ('fs-server-' + [guid]::NewGuid())
        $script:server = Start-FlowServer -Home $serverHome -NoApiKeys # an open server: the outage, not keys, is what this test is about
        $script:port = ([uri]$server.Url).Port
        $script:started = Join-Path $TestDrive 'started'
        $script:go = Join-Path $TestDrive 'go'
        $script:agentLog = Join-Path $TestDrive 'agent.log'
        $file = New-FlowScript "$TestDrive/outage.cs" @"
var flow = new Flow("outage");
var before = flow.Task("before", () => { Console.WriteLine("before the outage"); System.IO.File.WriteAllText(@"$started", "x"); return 1; });
var during = flow.Task("during", (int x) =>
{
    while (!System.IO.File.Exists(@"$go")) { System.Threading.Thread.Sleep(20); }
    Console.WriteLine("during the outage");
    return x + 1;
}, before);
flow.Task("after", (int x) => Console.WriteLine("after the outage " + x), during);
"@
        $null = Enter-TestHome
        $env:FLOWSTORE_SERVER_URL = $server.Url
        $null = Register-Flow -Path $file -Project Team -CreateProject
        $script:run = Start-FlowRun -Name outage -Project Team

        # The agent: a pwsh of its own with a home of its own, reaching the server through FLOWSTORE_SERVER_URL; its
        # warnings and the run it outputs go to a file line by line, as they come.
        $agentHome = Join-Path ([IO.Path]::GetTempPath()) ('fs-agent-' + [guid]::NewGuid())
        $manifest = (Resolve-Path "$PSScriptRoot/../../Flowstore.psd1").Path
        $child = @"
`$ErrorActionPreference = 'Stop'
`$env:FLOWSTORE_HOME = '$agentHome'
`$env:FLOWSTORE_SERVER_URL = '$($server.Url)'
`$env:FLOWSTORE_RECONNECT_MAX_DELAY = '0.5'
`$env:FLOWSTORE_LOG_FLUSH_INTERVAL = '0.1'
Import-Module '$manifest'
try {
    Start-FlowAgent -Once -PassThru 3>&1 | ForEach-Object {
        `$line = if (`$_ -is [System.Management.Automation.WarningRecord]) { "WARNING: `$(`$_.Message)" } else { "RUN: `$(`$_.Id) `$(`$_.State)" }
        Add-Content -LiteralPath '$agentLog' -Value `$line
    }
    Add-Content -LiteralPath '$agentLog' -Value 'AGENT-DONE'
}
catch { Add-Content -LiteralPath '$agentLog' -Value "AGENT-FAILED: `$(`$_.FullyQualifiedErrorId) `$_" }
"@
        $executable = [Environment]::ProcessPath
        $prefix = @(if ([IO.Path]::GetFileNameWithoutExtension($executable) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
        $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($child))
        $script:agent = Start-Process -FilePath $executable -ArgumentList (@($prefix) + @('-NoProfile', '-NonInteractive', '-EncodedCommand', $encoded)) -PassThru `
            -RedirectStandardOutput (Join-Path $TestDrive 'agent.out') -RedirectStandardError (Join-Path $TestDrive 'agent.err')

        function Wait-Condition([scriptblock]$Condition, [string]$What) {
            $deadline = [DateTime]::UtcNow.AddSeconds(180)
            while (-not (& $Condition)) {
                if ([DateTime]::UtcNow -gt $deadline) {
                    $said = if (Test-Path -LiteralPath $agentLog) { Get-Content -Raw -LiteralPath $agentLog } else { '(nothing)' }
                    throw "Still waiting after 180 s for $What. The agent said: $said"
                }
                Start-Sleep -Milliseconds 50
            }
        }
        function Get-AgentLog { if (Test-Path -LiteralPath $agentLog) { @(Get-Content -LiteralPath $agentLog) } else { @() } }
    }
    AfterAll {
        if ($agent -and -not $agent.HasExited) { $agent.Kill($true) }
        Remove-Item env:FLOWSTORE_SERVER_URL -ErrorAction SilentlyContinue
        Exit-TestHome
        Stop-FlowServer -Home $serverHome -ErrorAction SilentlyContinue
        Remove-Item -LiteralPath $serverHome -Recurse -Force -ErrorAction SilentlyContinue
    }

    It 'the agent warns, keeps trying, reconnects, and the run ends Success with the log lines of the outage' {
        Wait-Condition { (Test-Path -LiteralPath $started) -or $agent.HasExited } 'the run to start'
        $null = Stop-FlowServer -Home $serverHome
        Set-Content -LiteralPath $go -Value 'go' # the run goes on, and ends, while the server is away
        Wait-Condition { (Get-AgentLog) -match 'trying again' -or $agent.HasExited } 'the agent to say it keeps trying'
        $agent.HasExited | Should -BeFalse -Because ((Get-AgentLog) -join "`n")

        $again = Start-FlowServer -Home $serverHome -Port $port -NoApiKeys
        $again.Url | Should -Be $server.Url
        Wait-Condition { $agent.HasExited } 'the agent to finish its run and return (-Once)'

        $said = Get-AgentLog
        $said | Should -Contain 'AGENT-DONE' -Because ($said -join "`n")
        $said | Should -Contain "RUN: $($run.Id) Success"
        ($said -match '^WARNING: .*does not answer \(ServerUnreachable') | Should -Not -BeNullOrEmpty
        ($said -match '^WARNING: .*answers again') | Should -Not -BeNullOrEmpty

        $recorded = Get-FlowRun -Id $run.Id
        $recorded.State | Should -Be 'Success'
        $messages = (Get-FlowRunLog -Id $run.Id).Message
        $messages | Should -Contain 'before the outage'
        $messages | Should -Contain 'during the outage'
        $messages | Should -Contain 'after the outage 2'
    }
}
