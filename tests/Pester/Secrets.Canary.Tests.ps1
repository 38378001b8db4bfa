# The canary test of issue 4: a unique secret value goes through every secret cmdlet, -WhatIf, a registration,
# runs (here and now, queued for an agent, Invoke-Flow) whose tasks print it (console, stderr, Log.*) and throw it
# in an exception, and the commands that show runs and their logs. Every stream is captured (*>&1 and a
# transcript); afterwards the canary must be found nowhere: not in any output, formatted or not, not in the
# transcript, the run logs, the error records, the environment, nor in any file under FLOWSTORE_HOME.
# (Registration and publish with a storage that uses a secret come with the storage issues.)

BeforeAll {
    Import-Module "$PSScriptRoot/../../Flowstore.psd1"
    . "$PSScriptRoot/TestHelpers.ps1"
    $ErrorActionPreference = 'Stop'   # an unexpected error fails the test
    $null = Enter-TestHome

    $script:Canary = 'canary-' + [guid]::NewGuid().ToString('N')
    $script:CanarySha = [Convert]::ToHexStringLower([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($script:Canary)))
    $script:Transcript = Join-Path $TestDrive 'canary-transcript.txt'
    $script:Snapshots = Join-Path $TestDrive 'snapshots'
    $savedHeartbeat = $env:FLOWSTORE_HEARTBEAT_INTERVAL
    $env:FLOWSTORE_HEARTBEAT_INTERVAL = '0.05'   # runs flush their log to the database every 50 ms

    # The script names the secret, never holds it: scripts are compiled and cached under FLOWSTORE_HOME.
    $script:FlowPath = New-FlowScript "$TestDrive/canary.cs" @'
using System.Security.Cryptography;
using System.Text;

var flow = new Flow("canary");
var secret = flow.Parameter<string>("secret");
var printed = flow.Task("print", (string name) =>
{
    var value = Secret.Get(name);
    Console.WriteLine("console: " + value);
    Console.Error.WriteLine("stderr: " + value);
    Console.Write("in two writes: " + value.Substring(0, 7));
    Console.WriteLine(value.Substring(7));
    Log.Info("info: " + value);
    Log.Warning("warning: " + value);
    Log.Error("error: " + value);
    Console.WriteLine("sha256: " + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value))));
    return name;
}, secret);
// Copies the database files while the run is going on (open connections, so a write-ahead log exists), once
// the run's log is in the write-ahead log: what is on disk mid-run is searched too.
var snapshot = flow.Parameter("snapshot", "");
flow.Task("snapshot", (string name, string target) =>
{
    if (target.Length == 0) return;
    var home = Environment.GetEnvironmentVariable("FLOWSTORE_HOME")!;
    var wal = Path.Combine(home, "flowstore.db-wal");
    var marker = Encoding.UTF8.GetBytes("console: ***");
    var deadline = DateTime.UtcNow.AddSeconds(20);
    while (DateTime.UtcNow < deadline && !(File.Exists(wal) && ReadShared(wal).AsSpan().IndexOf(marker) >= 0))
    {
        Thread.Sleep(20);
    }
    Directory.CreateDirectory(target);
    foreach (var file in Directory.GetFiles(home, "flowstore.db*"))
    {
        File.WriteAllBytes(Path.Combine(target, Path.GetFileName(file)), ReadShared(file));
    }
}, printed, snapshot);
flow.Task("reject", (string name) =>
{
    throw new InvalidOperationException("the token " + Secret.Get(name) + " was rejected");
    return 0;
}, printed, new TaskOptions { Retries = 1 });

static byte[] ReadShared(string path)
{
    using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
    using var copy = new MemoryStream();
    stream.CopyTo(copy);
    return copy.ToArray();
}
'@

    $errorsBefore = $Error.Count
    $null = Start-Transcript -LiteralPath $script:Transcript -IncludeInvocationHeader
    try {
        $script:Captured = & {
            $VerbosePreference = 'Continue'
            $DebugPreference = 'Continue'
            $InformationPreference = 'Continue'
            $WarningPreference = 'Continue'
            $ErrorActionPreference = 'Continue'   # failed runs write errors: capture them, go on
            $secure = ConvertTo-SecureString -String $script:Canary -AsPlainText -Force

            # Secrets: the three ways in, -PassThru, -WhatIf, listing, removing.
            $script:Canary | Set-FlowSecret -Name CANARY_TOKEN -PassThru
            Set-FlowSecret -Name CANARY_SECURE -Value $secure -PassThru
            Set-FlowSecret -Name CANARY_CREDENTIAL -Credential ([pscredential]::new('user', $secure)) -PassThru
            $script:Canary | Set-FlowSecret -Name CANARY_TOKEN -WhatIf
            Set-FlowSecret -Name CANARY_WHATIF -Value $secure -WhatIf
            Remove-FlowSecret -Name CANARY_TOKEN -WhatIf
            Remove-FlowSecret -Name CANARY_SECURE -Force
            Get-FlowSecret
            Get-FlowSecret -Name CANARY_TOKEN, CANARY_CREDENTIAL, CANARY_WHATIF, 'CANARY*'

            # Registration and runs: here and now, queued for an agent, and Invoke-Flow.
            New-FlowProject -Name Canary
            Register-Flow -Path $script:FlowPath -Project Canary
            Test-FlowScript -Path $script:FlowPath
            Start-FlowRun -Name canary -Project Canary -Parameters @{ secret = 'CANARY_TOKEN'; snapshot = "$script:Snapshots/wait" } -Wait -Verbose
            $queued = Start-FlowRun -Name canary -Project Canary -Parameters @{ secret = 'CANARY_CREDENTIAL'; snapshot = "$script:Snapshots/agent" }
            $queued
            Start-FlowAgent -Once -PassThru
            Wait-FlowRun -Id $queued.Id
            Invoke-Flow -Path $script:FlowPath -Parameters @{ secret = 'CANARY_TOKEN' }

            # What users look at afterwards.
            Get-Flow -Project Canary
            Get-FlowRun
            Get-FlowRun | Format-List *
            Get-FlowRun | ForEach-Object { Get-FlowRunLog -Id $_.Id }
        } *>&1
    }
    finally {
        $null = Stop-Transcript
        $env:FLOWSTORE_HEARTBEAT_INTERVAL = $savedHeartbeat
    }
    # Objects (Format-List output inside the capture is formatting data, which only Out-String can take again).
    $script:Objects = @($script:Captured | Where-Object { $_.GetType().Namespace -ne 'Microsoft.PowerShell.Commands.Internal.Format' })
    $script:NewErrors = @($Error | Select-Object -First ($Error.Count - $errorsBefore))
    $script:Runs = @(Get-FlowRun)
    $script:Logs = @($script:Runs | ForEach-Object { Get-FlowRunLog -Id $_.Id })

    # Text of an object in every form a user could see it.
    function ConvertTo-AllText([object[]]$InputObject) {
        $InputObject | Out-String -Width 500
        $InputObject | Format-List * -Force | Out-String -Width 500
        foreach ($item in $InputObject) {
            if ($item -is [System.Management.Automation.ErrorRecord]) {
                $item.Exception.ToString()
                $item.Exception | Format-List * -Force | Out-String -Width 500
                for ($e = $item.Exception; $e; $e = $e.InnerException) { $e.Message }
                "$($item.ErrorDetails)"
                $item.InvocationInfo | Format-List * | Out-String -Width 500
                $item.ScriptStackTrace
                "$($item.TargetObject)"
            }
            elseif ($item -is [System.Management.Automation.InformationRecord]) {
                "$($item.MessageData)"
            }
            elseif ($item.GetType().Namespace -ne 'Microsoft.PowerShell.Commands.Internal.Format') {
                $item | ConvertTo-Json -Depth 4 -WarningAction SilentlyContinue
            }
        }
    }

    # Files holding the canary (read shared: the database may still be open in this process), with the encoding.
    function Find-CanaryInFiles([IO.FileInfo[]]$File) {
        foreach ($f in $File) {
            $stream = [IO.FileStream]::new($f.FullName, 'Open', 'Read', 'ReadWrite, Delete')
            try {
                $copy = [IO.MemoryStream]::new()
                $stream.CopyTo($copy)
                foreach ($encoding in Find-CanaryBytes $copy.ToArray()) { "$($f.FullName) ($encoding)" }
            }
            finally { $stream.Dispose() }
        }
    }

    # Occurrences of the canary in a byte array: UTF-8 and UTF-16 (Latin-1 maps bytes to chars one to one).
    function Find-CanaryBytes([byte[]]$Bytes) {
        $text = [Text.Encoding]::Latin1.GetString($Bytes)
        foreach ($encoding in [Text.Encoding]::UTF8, [Text.Encoding]::Unicode, [Text.Encoding]::BigEndianUnicode) {
            if ($text.Contains([Text.Encoding]::Latin1.GetString($encoding.GetBytes($script:Canary)), [StringComparison]::Ordinal)) { $encoding.WebName }
        }
    }
}

AfterAll {
    Exit-TestHome
}

Describe 'Secrets canary: a secret value leaks nowhere' {
    Context 'the canary was really used' {
        It 'the runs resolved the secret and its tasks printed it (as ***)' {
            $script:Runs | Should -HaveCount 2 -Because 'Start-FlowRun -Wait and the queued run'
            foreach ($run in $script:Runs) {
                $run.State | Should -Be 'Failed'
                ($run.Tasks | Where-Object Name -EQ print).State | Should -Be 'Success'
                ($run.Tasks | Where-Object Name -EQ reject).State | Should -Be 'Failed'
                ($run.Tasks | Where-Object Name -EQ reject).Attempts | Should -Be 2
                $run.Error | Should -BeLike '*the token *** was rejected*'
                $log = Get-FlowRunLog -Id $run.Id
                $log.Message | Should -Contain "sha256: $script:CanarySha" -Because 'the task got the value'
                $log.Message | Should -Contain 'console: ***'
                $log.Message | Should -Contain 'stderr: ***'
                $log.Message | Should -Contain 'in two writes: ***'
                $log.Message | Should -Contain 'info: ***'
                $log.Message | Should -Contain 'warning: ***'
                $log.Message | Should -Contain 'error: ***'
            }
            $invoked = $script:Captured | Where-Object { $_.PSObject.TypeNames -contains 'Flowstore.Engine.FlowRunResult' }
            $invoked | Should -HaveCount 1
            $invoked.Log.Message | Should -Contain "sha256: $script:CanarySha"
        }

        It 'every stream was captured (output, errors, warnings, verbose, information, What if text)' {
            $types = $script:Captured | ForEach-Object { $_.GetType().Name } | Sort-Object -Unique
            $types | Should -Contain 'ErrorRecord'
            $types | Should -Contain 'WarningRecord'
            $types | Should -Contain 'VerboseRecord'
            $types | Should -Contain 'InformationRecord'
            $script:Captured | Where-Object { $_.PSObject.TypeNames -contains 'Flowstore.SecretInfo' } | Should -Not -BeNullOrEmpty
            Get-Content -LiteralPath $script:Transcript -Raw | Should -BeLike '*What if: Performing the operation "Set (encrypted in the Flowstore secret store)" on target "secret ''CANARY_TOKEN''"*'
            Get-Content -LiteralPath $script:Transcript -Raw | Should -BeLike '*What if: Performing the operation "Remove from the Flowstore secret store"*'
            (($script:NewErrors | ForEach-Object FullyQualifiedErrorId) -join ' ') | Should -BeLike '*FlowRunFailed*'
        }
    }

    Context 'zero hits' {
        It 'in all captured output (Out-String -Width 500)' {
            $script:Captured | Out-String -Width 500 | Should -Not -BeLike "*$script:Canary*"
        }

        It 'in all captured output (Format-List * and the records inside)' {
            $script:Objects | Format-List * | Out-String -Width 500 | Should -Not -BeLike "*$script:Canary*"
            ConvertTo-AllText $script:Objects | Out-String -Width 500 | Should -Not -BeLike "*$script:Canary*"
        }

        It 'in the transcript' {
            Get-Content -LiteralPath $script:Transcript -Raw | Should -Not -BeLike "*$script:Canary*"
            Find-CanaryBytes ([IO.File]::ReadAllBytes($script:Transcript)) | Should -BeNullOrEmpty
        }

        It 'in the run logs and the run records' {
            $script:Logs | Should -Not -BeNullOrEmpty
            $script:Logs | Format-List * | Out-String -Width 500 | Should -Not -BeLike "*$script:Canary*"
            ConvertTo-AllText $script:Runs | Out-String -Width 500 | Should -Not -BeLike "*$script:Canary*"
        }

        It 'in the error records ($Error), including exception messages' {
            $script:NewErrors | Should -Not -BeNullOrEmpty
            ConvertTo-AllText $script:NewErrors | Out-String -Width 500 | Should -Not -BeLike "*$script:Canary*"
            ConvertTo-AllText @($Error) | Out-String -Width 500 | Should -Not -BeLike "*$script:Canary*"
        }

        It 'in the environment of the process' {
            Get-ChildItem env: | Where-Object { "$($_.Value)".Contains($script:Canary) } | Should -BeNullOrEmpty
        }

        It 'in any file under FLOWSTORE_HOME (database, key, cache), as UTF-8 or UTF-16' {
            $files = @(Get-ChildItem -LiteralPath $env:FLOWSTORE_HOME -Recurse -Force -File)
            $names = $files | ForEach-Object { [IO.Path]::GetRelativePath($env:FLOWSTORE_HOME, $_.FullName) }
            $names | Should -Contain 'flowstore.db'
            $names | Should -Contain 'secret.key'
            @($names | Where-Object { $_ -like 'cache*' }).Count | Should -BeGreaterThan 0 -Because 'compiled scripts and structures are cached'
            Find-CanaryInFiles $files | Should -BeNullOrEmpty
        }

        It 'in the database files copied while a run was going on (flowstore.db, -wal, -shm), as UTF-8 or UTF-16' {
            foreach ($run in 'wait', 'agent') {
                $files = @(Get-ChildItem -LiteralPath (Join-Path $script:Snapshots $run) -Force -File)
                $files.Name | Should -Contain 'flowstore.db'
                $files.Name | Should -Contain 'flowstore.db-wal'
                $files.Name | Should -Contain 'flowstore.db-shm'
                $wal = [Text.Encoding]::Latin1.GetString([IO.File]::ReadAllBytes((Join-Path $script:Snapshots $run 'flowstore.db-wal')))
                $wal | Should -BeLike '*console: `*`*`**' -Because 'the redacted log was in the write-ahead log when it was copied'
                Find-CanaryInFiles $files | Should -BeNullOrEmpty
            }
        }
    }
}
