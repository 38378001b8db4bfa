# A flow cannot take its agent down: Start-FlowAgent executes each run in a worker process of its own. Flows that end
# their process (Environment.Exit, a stack overflow, memory past the worker's limit) or cannot be loaded fail their own
# run, and the agent serves the next; Stop-FlowRun ends a run stuck in a loop that ignores its token by killing its
# worker after the grace period; -Limit runs several at once; -Isolation InProcess keeps runs in the agent's process.
# Nothing waits for a fixed time: conditions are polled with generous deadlines.

BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'
    $null = Enter-TestHome
    $null = New-FlowProject -Name Iso
    $savedMemory = $env:FLOWSTORE_WORKER_MEMORY_MB
    $env:FLOWSTORE_WORKER_MEMORY_MB = '384'

    $good = New-FlowScript "$TestDrive/good.cs" @'
var flow = new Flow("good");
flow.Task("hello", () => Console.WriteLine("hello from " + Environment.ProcessId));
'@
    $null = Register-Flow -Path $good -Project Iso

    function Invoke-Agent {
        <# Start-FlowAgent -Once -PassThru with the given extra parameters: the runs it output, failed ones included. #>
        param([hashtable]$With = @{})
        @(Start-FlowAgent -Once -PassThru -ErrorAction SilentlyContinue @With 6>$null)
    }
}

AfterAll {
    $env:FLOWSTORE_WORKER_MEMORY_MB = $savedMemory
    Exit-TestHome
}

Describe 'Start-FlowAgent isolation' {
    It 'a flow that <Case> fails its own run with RunProcessCrashed (<Why>), and the agent runs the next one' -TestCases @(
        @{ Case = 'calls Environment.Exit(3)'; Name = 'quitter'; Why = 'exit code 3'; Body = @'
var flow = new Flow("quitter");
flow.Task("quit", () => { Environment.Exit(3); return 0; });
'@ }
        @{ Case = 'recurses without end'; Name = 'bottomless'; Why = 'signal SIGABRT'; Body = @'
static int Down(int n) => Down(n + 1) + 1;
var flow = new Flow("bottomless");
flow.Task("recurse", () => Down(0));
'@ }
        @{ Case = 'allocates without end'; Name = 'hoarder'; Why = 'ran out of memory'; Body = @'
var flow = new Flow("hoarder");
flow.Task("hoard", () =>
{
    var kept = new List<byte[]>();
    for (var i = 0; i < int.MaxValue; i++) kept.Add(new byte[1 << 20]);
    return kept.Count;
});
'@ }
    ) {
        param($Case, $Name, $Why, $Body)
        $null = Register-Flow -Path (New-FlowScript "$TestDrive/$Name.cs" $Body) -Project Iso
        $crashing = Start-FlowRun -Name $Name -Project Iso
        $next = Start-FlowRun -Name good -Project Iso

        $runs = Invoke-Agent

        $runs.Id | Should -Be @($crashing.Id, $next.Id)
        $failed = Get-FlowRun -Id $crashing.Id
        $failed.State | Should -Be 'Failed'
        $failed.ErrorId | Should -Be 'RunProcessCrashed'
        $failed.Error | Should -BeLike "*run $($crashing.Id) of flow '$Name'*$Why*"
        (Get-FlowRun -Id $next.Id).State | Should -Be 'Success'
    }

    It 'a corrupted compiled flow fails its own run with FlowLoadFailed, and the agent runs the next one' {
        $frozen = Join-Path $TestDrive 'frozen'
        $script = New-FlowScript "$TestDrive/frozen.cs" @'
var flow = new Flow("frozen");
flow.Task("hello", () => Console.WriteLine("hello"));
'@
        $null = New-FlowStorage -Type Local -Directory $frozen | Register-Flow -Path $script -Project Iso
        $artifact = @(Get-ChildItem -LiteralPath $frozen -Filter *.dll -Recurse -File)
        $artifact | Should -HaveCount 1
        [IO.File]::WriteAllBytes($artifact[0].FullName, [byte[]](1..4096 | ForEach-Object { 0x5A }))
        $broken = Start-FlowRun -Name frozen -Project Iso
        $next = Start-FlowRun -Name good -Project Iso

        $runs = Invoke-Agent

        $runs.Id | Should -Be @($broken.Id, $next.Id)
        (Get-FlowRun -Id $broken.Id).ErrorId | Should -Be 'FlowLoadFailed'
        (Get-FlowRun -Id $next.Id).State | Should -Be 'Success'
    }

    It 'runs in a worker process by default and in the agent''s own process with -Isolation InProcess' {
        $isolated = Start-FlowRun -Name good -Project Iso
        $null = Invoke-Agent
        $inProcess = Start-FlowRun -Name good -Project Iso
        $null = Invoke-Agent -With @{ Isolation = 'InProcess' }

        $pidOf = { param($run) [int](@(Get-FlowRunLog -Id $run.Id | Where-Object Message -Like 'hello from *')[0].Message -replace '^hello from ', '') }
        & $pidOf $isolated | Should -Not -Be $PID
        & $pidOf $inProcess | Should -Be $PID
    }

    It '-Limit 2 runs two runs at once' {
        $dir = Join-Path $TestDrive 'pair'
        $null = New-Item -ItemType Directory -Path $dir
        # Each run marks that it started and waits until both did; one at a time, the first would wait alone and fail.
        $pair = New-FlowScript "$TestDrive/pair.cs" @"
var flow = new Flow("pair");
var n = flow.Parameter<int>("n");
flow.Task("meet", async (int i, CancellationToken ct) =>
{
    var dir = @"$dir";
    File.WriteAllText(Path.Combine(dir, i + ".started"), "");
    var deadline = DateTime.UtcNow.AddSeconds(60);
    while (Directory.GetFiles(dir, "*.started").Length < 2)
    {
        if (DateTime.UtcNow > deadline) throw new TimeoutException("run " + i + " waited alone");
        await Task.Delay(20, ct);
    }
    return i;
}, n);
"@
        $null = Register-Flow -Path $pair -Project Iso
        $queued = 1, 2 | ForEach-Object { Start-FlowRun -Name pair -Project Iso -Parameters @{ n = $_ } }

        $runs = Invoke-Agent -With @{ Limit = 2 }

        @($runs.Id | Sort-Object) | Should -Be @($queued.Id | Sort-Object)
        $runs.State | Should -Be @('Success', 'Success')
    }

    It 'Stop-FlowRun of a run stuck in a loop that ignores its token kills its worker after the grace period; the agent goes on' {
        $pidFile = Join-Path $TestDrive 'spinner.pid'
        $spinner = New-FlowScript "$TestDrive/spinner.cs" @"
var flow = new Flow("spinner");
flow.Task("spin", () =>
{
    File.WriteAllText(@"$pidFile", Environment.ProcessId.ToString());
    var turns = 0L;
    while (turns >= 0) turns++;
    return turns;
});
"@
        $null = Register-Flow -Path $spinner -Project Iso
        $agent = Start-AgentProcess -LogFolder (Join-Path $TestDrive 'agent') -Environment @{
            FLOWSTORE_STOP_GRACE_PERIOD = '3'; FLOWSTORE_HEARTBEAT_INTERVAL = '0.2'; FLOWSTORE_POLL_INTERVAL = '0.2'
        }
        try {
            $stuck = Start-FlowRun -Name spinner -Project Iso
            Wait-Until { Test-Path -LiteralPath $pidFile } -Because 'the spinning task started' -Process $agent -TimeoutSeconds 180
            $worker = [int](Get-Content -LiteralPath $pidFile -Raw)
            $worker | Should -Not -Be $agent.Id

            $null = Stop-FlowRun -Id $stuck.Id
            $stopped = Wait-FlowRun -Id $stuck.Id -Timeout 180 -ErrorAction SilentlyContinue

            $stopped.State | Should -Be 'Cancelled'
            $stopped.ErrorId | Should -Be 'FlowRunCancelled'
            $stopped.Error | Should -BeLike '*did not stop within the grace period of 3 s, so its worker process was killed*'
            Get-Process -Id $worker -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $agent.HasExited | Should -BeFalse

            $next = Start-FlowRun -Name good -Project Iso
            (Wait-FlowRun -Id $next.Id -Timeout 180).State | Should -Be 'Success'
        }
        finally {
            Stop-AgentProcess $agent
        }
    }
}
