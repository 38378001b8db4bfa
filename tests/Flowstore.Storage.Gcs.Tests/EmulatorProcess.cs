using System.Diagnostics;

namespace Flowstore.Storage.Gcs.Tests;

/// <summary>An emulator of the test's own (the same command Start-Gcs.ps1 runs), so a test can stop it.</summary>
internal sealed class EmulatorProcess : IDisposable
{
    private readonly Process _process;
    private readonly string _data;

    private EmulatorProcess(Process process, string data, string url)
    {
        _process = process;
        _data = data;
        Url = url;
    }

    public string Url { get; }

    public static async Task<EmulatorProcess> StartAsync()
    {
        var data = Path.Combine(Path.GetTempPath(), "flowstore-gcs-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(data);
        var start = new ProcessStartInfo(GcsTestEnvironment.Node)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { GcsTestEnvironment.EmulatorScript, GcsTestEnvironment.Modules, data, "0" })
        {
            start.ArgumentList.Add(argument);
        }
        var process = Process.Start(start)!;
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            var line = await process.StandardOutput.ReadLineAsync(deadline.Token)
                ?? throw new InvalidOperationException($"The GCS emulator exited ({(process.WaitForExit(5000) ? process.ExitCode : -1)}) before it listened.");
            if (line.StartsWith("listening ", StringComparison.Ordinal))
            {
                // Keep draining its output so it never blocks on a full pipe.
                _ = Task.Run(async () =>
                {
                    while (await process.StandardOutput.ReadLineAsync() is not null)
                    {
                    }
                });
                return new EmulatorProcess(process, data, line["listening ".Length..].Trim());
            }
        }
    }

    /// <summary>Stops the emulator and waits until it is gone.</summary>
    public void Stop()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
    }

    public void Dispose()
    {
        Stop();
        _process.Dispose();
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
