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

    # The script names the secret, never holds it: scripts are compiled and cached under FLOWSTORE_HOME. Between its
    # tasks "use" and "reject", one that copies the database files while the run is going on (open connections, so a
    # write-ahead log exists), once the run's log is in the write-ahead log: what is on disk mid-run is searched too.
    $snapshotTask = @'
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
}, used, snapshot);

static byte[] ReadShared(string path)
{
    using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
    using var copy = new MemoryStream();
    stream.CopyTo(copy);
    return copy.ToArray();
}

'@
    $fixture = Get-FlowFixture secretive.cs
    $reject = $fixture.IndexOf('flow.Task("reject"', [StringComparison]::Ordinal)
    if ($reject -lt 0) { throw 'tests/Fixtures/secretive.cs has no "reject" task any more' }
    $script:FlowPath = Join-Path $TestDrive 'secretive.cs'
    [IO.File]::WriteAllText($script:FlowPath, $fixture.Insert($reject, $snapshotTask), [Text.UTF8Encoding]::new($false))

    try {
        $script:Capture = Invoke-CanaryCapture -TranscriptPath $script:Transcript -Commands {
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
            Start-FlowRun -Name secretive -Project Canary -Parameters @{ secret = 'CANARY_TOKEN'; snapshot = "$script:Snapshots/wait" } -Wait -Verbose
            $queued = Start-FlowRun -Name secretive -Project Canary -Parameters @{ secret = 'CANARY_CREDENTIAL'; snapshot = "$script:Snapshots/agent" }
            $queued
            Start-FlowAgent -Once -PassThru
            Wait-FlowRun -Id $queued.Id
            Invoke-Flow -Path $script:FlowPath -Parameters @{ secret = 'CANARY_TOKEN' }

            # What users look at afterwards.
            Get-Flow -Project Canary
            Get-FlowRun
            Get-FlowRun | Format-List *
            Get-FlowRun | ForEach-Object { Get-FlowRunLog -Id $_.Id }
        }
    }
    finally {
        $env:FLOWSTORE_HEARTBEAT_INTERVAL = $savedHeartbeat
    }
    $script:Runs = @(Get-FlowRun)
    $script:Logs = @($script:Runs | ForEach-Object { Get-FlowRunLog -Id $_.Id })
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
                ($run.Tasks | Where-Object Name -EQ use).State | Should -Be 'Success'
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
            $invoked = $Capture.Captured | Where-Object { $_.PSObject.TypeNames -contains 'Flowstore.Engine.FlowRunResult' }
            $invoked | Should -HaveCount 1
            $invoked.Log.Message | Should -Contain "sha256: $script:CanarySha"
        }

        It 'every stream was captured (output, errors, warnings, verbose, information, What if text)' {
            $types = $Capture.Captured | ForEach-Object { $_.GetType().Name } | Sort-Object -Unique
            $types | Should -Contain 'ErrorRecord'
            $types | Should -Contain 'WarningRecord'
            $types | Should -Contain 'VerboseRecord'
            $types | Should -Contain 'InformationRecord'
            $Capture.Captured | Where-Object { $_.PSObject.TypeNames -contains 'Flowstore.SecretInfo' } | Should -Not -BeNullOrEmpty
            Get-Content -LiteralPath $script:Transcript -Raw | Should -BeLike '*What if: Performing the operation "Set (encrypted in the Flowstore secret store)" on target "secret ''CANARY_TOKEN''"*'
            Get-Content -LiteralPath $script:Transcript -Raw | Should -BeLike '*What if: Performing the operation "Remove from the Flowstore secret store"*'
            (($Capture.NewErrors | ForEach-Object FullyQualifiedErrorId) -join ' ') | Should -BeLike '*FlowRunFailed*'
        }
    }

    Context 'zero hits' {
        It 'in all captured output (Out-String -Width 500)' {
            $Capture.Captured | Out-String -Width 500 | Should -Not -BeLike "*$script:Canary*"
        }

        It 'in all captured output (Format-List * and the records inside)' {
            $Capture.Objects | Format-List * | Out-String -Width 500 | Should -Not -BeLike "*$script:Canary*"
            ConvertTo-AllText $Capture.Objects | Out-String -Width 500 | Should -Not -BeLike "*$script:Canary*"
        }

        It 'in the transcript' {
            Get-Content -LiteralPath $script:Transcript -Raw | Should -Not -BeLike "*$script:Canary*"
            Find-CanaryBytes ([IO.File]::ReadAllBytes($script:Transcript)) -Canary $script:Canary | Should -BeNullOrEmpty
        }

        It 'in the run logs and the run records' {
            $script:Logs | Should -Not -BeNullOrEmpty
            $script:Logs | Format-List * | Out-String -Width 500 | Should -Not -BeLike "*$script:Canary*"
            ConvertTo-AllText $script:Runs | Out-String -Width 500 | Should -Not -BeLike "*$script:Canary*"
        }

        It 'in the error records ($Error), including exception messages' {
            $Capture.NewErrors | Should -Not -BeNullOrEmpty
            ConvertTo-AllText $Capture.NewErrors | Out-String -Width 500 | Should -Not -BeLike "*$script:Canary*"
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
            Find-CanaryInFiles $files -Canary $script:Canary | Should -BeNullOrEmpty
        }

        It 'in the database files copied while a run was going on (flowstore.db, -wal, -shm), as UTF-8 or UTF-16' {
            foreach ($run in 'wait', 'agent') {
                $files = @(Get-ChildItem -LiteralPath (Join-Path $script:Snapshots $run) -Force -File)
                $files.Name | Should -Contain 'flowstore.db'
                $files.Name | Should -Contain 'flowstore.db-wal'
                $files.Name | Should -Contain 'flowstore.db-shm'
                $wal = [Text.Encoding]::Latin1.GetString([IO.File]::ReadAllBytes((Join-Path $script:Snapshots $run 'flowstore.db-wal')))
                $wal | Should -BeLike '*console: `*`*`**' -Because 'the redacted log was in the write-ahead log when it was copied'
                Find-CanaryInFiles $files -Canary $script:Canary | Should -BeNullOrEmpty
            }
        }
    }
}
