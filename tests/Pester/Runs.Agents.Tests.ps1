# Issue 3's crash test: agents in separate processes. An agent killed with SIGKILL mid-run leaves no run Running
# (the run ends Failed, RunAgentLost, once its heartbeat is older than the timeout), and several agents on one
# backend never execute a run twice.

BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome
    $savedPoll = $env:FLOWSTORE_POLL_INTERVAL
    $env:FLOWSTORE_POLL_INTERVAL = '0.1'   # Wait-FlowRun (and idle agents) look again every 0.1s
    $null = New-FlowProject -Name Agents
}

AfterAll {
    $env:FLOWSTORE_POLL_INTERVAL = $savedPoll
    Exit-TestHome
}

Describe 'An agent killed with SIGKILL mid-run' {
    BeforeAll {
        $savedTimeout = $env:FLOWSTORE_HEARTBEAT_TIMEOUT

        # The first task writes its marker file, then waits for a file that never appears.
        $file = New-FlowScript "$TestDrive/hold.cs" @'
var flow = new Flow("hold");
var marker = flow.Parameter<string>("marker");
var held = flow.Task("wait_for_file", async (string m, CancellationToken ct) =>
{
    File.WriteAllText(m, "started");
    while (!File.Exists(m + ".never")) await Task.Delay(50, ct);
    return 1;
}, marker);
flow.Task("after", (int x) => Console.WriteLine("after ran"), held);
'@
        $null = Register-Flow -Path $file -Project Agents
        $marker = Join-Path $TestDrive 'hold-started'
        $queued = Start-FlowRun -Name hold -Project Agents -Parameters @{ marker = $marker }
        $agent = Start-AgentProcess -Arguments '-Name doomed' -LogFolder "$TestDrive/agents" -Environment @{
            FLOWSTORE_HEARTBEAT_INTERVAL = '0.2'
            FLOWSTORE_HEARTBEAT_TIMEOUT  = '2'
        }
    }

    AfterAll {
        Stop-AgentProcess $agent
        $env:FLOWSTORE_HEARTBEAT_TIMEOUT = $savedTimeout
    }

    It 'the agent claimed the run and its first task started' {
        Wait-Until { Test-Path -LiteralPath $marker } -Because 'the first task wrote its marker' -Process $agent -TimeoutSeconds 120
        $run = Get-FlowRun -Id $queued.Id
        $run.State | Should -Be 'Running'
        $run.Agent | Should -BeLike "doomed@*:$($agent.Id)" -Because 'the process started is the agent itself, not a launcher'
    }

    It 'is killed (SIGKILL)' {
        & /bin/kill -KILL $agent.Id
        $agent.WaitForExit(30000) | Should -BeTrue
        $agent.ExitCode | Should -Be 137 -Because 'a process ended by signal 9 exits with 128 + 9'
    }

    It 'its run ends Failed with RunAgentLost, naming the agent, after the heartbeat timeout' {
        # This process judges the run now (Wait-FlowRun fails stale runs), with the agent's 2s heartbeat timeout;
        # only now, so that a heartbeat delayed by a loaded machine could not fail the run while the agent lived.
        $env:FLOWSTORE_HEARTBEAT_TIMEOUT = '2'
        $run = Wait-FlowRun -Id $queued.Id -TimeoutSeconds 60 -ErrorAction SilentlyContinue -ErrorVariable ev
        $run.State | Should -Be 'Failed'
        $run.ErrorId | Should -Be 'RunAgentLost'
        $run.Error | Should -BeLike "*doomed@*:$($agent.Id)*"
        ($run.Ended - $run.Heartbeat).TotalSeconds | Should -BeGreaterOrEqual 2 -Because 'a run is failed only once its last heartbeat is the timeout old'
        $ev | Should -HaveCount 1
        $ev[0].FullyQualifiedErrorId | Should -Be 'RunAgentLost,Flowstore.Commands.WaitFlowRunCommand'
    }

    It 'is never left Running, and its second task never ran' {
        Get-FlowRun -State Running | Should -BeNullOrEmpty
        $run = Get-FlowRun -Id $queued.Id
        $run.State | Should -Be 'Failed'
        (Get-FlowRunLog -Run $run | Where-Object Level -EQ 'Output').Message | Should -Not -Contain 'after ran'
    }
}

Describe 'What a run did survives the loss of its agent' {
    BeforeAll {
        $savedTimeout = $env:FLOWSTORE_HEARTBEAT_TIMEOUT
        # The first task prints and ends; the second logs a line, then waits for a file that never appears.
        $file = New-FlowScript "$TestDrive/lossy.cs" @'
var flow = new Flow("lossy");
var marker = flow.Parameter<string>("marker");
var first = flow.Task("first", () => { Console.WriteLine("first ran"); return 1; });
flow.Task("hold", async (int x, string m, CancellationToken ct) =>
{
    Log.Info("holding");
    while (!File.Exists(m)) await Task.Delay(50, ct);
}, first, marker);
'@
        $null = Register-Flow -Path $file -Project Agents
        $queued = Start-FlowRun -Name lossy -Project Agents -Parameters @{ marker = (Join-Path $TestDrive 'never') }
        # Heartbeats ten minutes apart: only the batched writes while the run goes can keep its lines and states.
        $agent = Start-AgentProcess -Arguments '-Name lossy' -LogFolder "$TestDrive/agents" -Environment @{
            FLOWSTORE_HEARTBEAT_INTERVAL = '600'
            FLOWSTORE_HEARTBEAT_TIMEOUT  = '1200'
        }
    }

    AfterAll {
        Stop-AgentProcess $agent
        $env:FLOWSTORE_HEARTBEAT_TIMEOUT = $savedTimeout
    }

    It 'the running run''s log lines and task states reach the store within about a second' {
        Wait-Until -Because 'the second task''s log line is in the store' -Process $agent -TimeoutSeconds 120 -Condition {
            @(Get-FlowRunLog -Id $queued.Id | Where-Object { $_.Task -eq 'hold' -and $_.Message -eq 'holding' }).Count -eq 1
        }
        $run = Get-FlowRun -Id $queued.Id
        $run.State | Should -Be 'Running'
        ($run.Tasks | Where-Object Name -EQ 'first').State | Should -Be 'Success'
    }

    It 'after a SIGKILL and a sweep, the lost run shows its task runs and log lines up to the loss' {
        & /bin/kill -KILL $agent.Id
        $agent.WaitForExit(30000) | Should -BeTrue
        $env:FLOWSTORE_HEARTBEAT_TIMEOUT = '1'
        $run = Wait-FlowRun -Id $queued.Id -TimeoutSeconds 60 -ErrorAction SilentlyContinue
        $run.State | Should -Be 'Failed'
        $run.ErrorId | Should -Be 'RunAgentLost'
        ($run.Tasks | Where-Object Name -EQ 'first').State | Should -Be 'Success'
        $hold = $run.Tasks | Where-Object Name -EQ 'hold'
        $hold.State | Should -Be 'Failed' -Because 'it was running when its agent died'
        $hold.Started | Should -Not -BeNullOrEmpty
        $log = Get-FlowRunLog -Id $queued.Id
        $log[0].Message | Should -BeLike "Downloading flow 'lossy' version 1 from Local storage - Local script $file*"
        ($log | Where-Object { $_.Task -eq 'first' -and $_.Level -eq 'Output' }).Message | Should -Be 'first ran'
        ($log | Where-Object { $_.Task -eq 'hold' -and $_.Level -eq 'Info' }).Message | Should -Be 'holding'
    }
}

Describe 'Many runs, three agents in separate processes' {
    BeforeAll {
        $count = 30
        $shared = Join-Path $TestDrive 'values.txt'
        $go = Join-Path $TestDrive 'go'
        # Each run appends its value to one shared file (under an exclusive lock: several processes append).
        # A run first waits for the go file, which the test writes once every agent holds a run: so all three
        # agents are used however fast one of them starts.
        $file = New-FlowScript "$TestDrive/shared.cs" @"
var flow = new Flow("shared");
var value = flow.Parameter<int>("value");
flow.Task("append", async (int v, CancellationToken ct) =>
{
    while (!File.Exists(@"$go")) await Task.Delay(20, ct);
    var line = System.Text.Encoding.UTF8.GetBytes(v + "\n");
    while (true)
    {
        try
        {
            using var stream = new FileStream(@"$shared", FileMode.Append, FileAccess.Write, FileShare.None);
            await stream.WriteAsync(line, ct);
            return;
        }
        catch (IOException) { await Task.Delay(5, ct); }
    }
}, value);
"@
        $null = Register-Flow -Path $file -Project Agents
        $queued = foreach ($v in 1..$count) { Start-FlowRun -Name shared -Project Agents -Parameters @{ value = $v } }
        $agents = foreach ($i in 1..3) {
            Start-AgentProcess -Arguments "-Once -Name agent$i" -LogFolder "$TestDrive/agents" -Environment @{ FLOWSTORE_HEARTBEAT_INTERVAL = '0.5' }
        }
    }

    AfterAll {
        Stop-AgentProcess $agents
    }

    It 'every agent claims a run' {
        $queued | Should -HaveCount $count
        Wait-Until -Because 'each of the three agents holds a run' -TimeoutSeconds 120 -Condition {
            $exited = @($agents | Where-Object HasExited)
            if ($exited) { throw "Agent process $($exited[0].Id) exited early: $(Get-AgentProcessOutput $exited[0])" }
            @((Get-FlowRun -State Running -Name shared).Agent | Sort-Object -Unique).Count -eq 3
        }
        $null = New-Item -ItemType File -Path $go
    }

    It 'the agents drain the queue (-Once) and exit' {
        foreach ($agent in $agents) {
            $agent.WaitForExit(120000) | Should -BeTrue -Because "agent $($agent.Id) drains the queue"
            $agent.ExitCode | Should -Be 0 -Because (Get-AgentProcessOutput $agent)
        }
    }

    It 'every run succeeded' {
        $runs = @(Get-FlowRun -Name shared -Project Agents)
        $runs | Should -HaveCount $count
        $runs.State | Sort-Object -Unique | Should -Be 'Success'
    }

    It 'each run executed exactly once' {
        $values = @(Get-Content -LiteralPath $shared | ForEach-Object { [int]$_ })
        $values | Should -HaveCount $count
        $values | Sort-Object | Should -Be @(1..$count)
    }

    It 'the runs were shared among the three agents' {
        $used = @((Get-FlowRun -Name shared -Project Agents).Agent | Sort-Object -Unique)
        $used | Should -HaveCount 3
        $expected = $agents | ForEach-Object -Begin { $i = 0 } -Process { $i++; "agent$i@*:$($_.Id)" }
        foreach ($pattern in $expected) {
            @($used | Where-Object { $_ -like $pattern }) | Should -HaveCount 1 -Because "agent $pattern ran runs"
        }
    }
}
