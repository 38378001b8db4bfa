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
        $null = New-FlowProject -Name Team
    }
    AfterAll {
        Remove-Item env:FLOWSTORE_SERVER_URL -ErrorAction SilentlyContinue
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
