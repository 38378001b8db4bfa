using System.Text;

namespace Flowstore.Scripting;

/// <summary>
/// How Flowstore starts its child processes (the build worker, the run worker): `dotnet exec` of a program next to the
/// engine's assemblies, on the framework this process runs on.
/// </summary>
internal static class ChildProcessHost
{
    internal static string DotnetHost()
    {
        var name = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        if (Environment.ProcessPath is { } self && string.Equals(Path.GetFileName(self), name, StringComparison.OrdinalIgnoreCase))
        {
            return self;
        }
        // <root>/shared/Microsoft.NETCore.App/<version>/ -> <root>/dotnet
        var runtime = System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory();
        var root = Path.GetFullPath(Path.Combine(runtime, "..", "..", ".."));
        var candidate = Path.Combine(root, name);
        if (File.Exists(candidate))
        {
            return candidate;
        }
        return Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : name;
    }

    // The worker runs on the framework this process runs on. Its runtimeconfig.json is written next to it when
    // the build did not put one there, else to the temp folder. The build worker runs with invariant globalization (it
    // only builds flows); a run worker runs tasks, which see this machine's cultures as they would in process.
    internal static string RuntimeConfig(string hostPath, bool invariantGlobalization = true)
    {
        var beside = Path.ChangeExtension(hostPath, ".runtimeconfig.json");
        if (File.Exists(beside))
        {
            return beside;
        }
        var version = Environment.Version;
        var directory = Path.Combine(Path.GetTempPath(), "flowstore-buildhost");
        var path = Path.Combine(directory, $"Flowstore.{(invariantGlobalization ? "BuildHost" : "RunHost")}.{version}.runtimeconfig.json");
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(directory);
            var fx = $"{version.Major}.{version.Minor}.{version.Build}";
            var json = "{\"runtimeOptions\":{\"tfm\":\"net" + version.Major + "." + version.Minor + "\",\"framework\":{\"name\":\"Microsoft.NETCore.App\",\"version\":\"" + fx +
                "\"},\"configProperties\":{\"System.Globalization.Invariant\":" + (invariantGlobalization ? "true" : "false") + ",\"System.GC.Server\":false}}}";
            AtomicFile.Write(path, Encoding.UTF8.GetBytes(json));
        }
        return path;
    }
}
