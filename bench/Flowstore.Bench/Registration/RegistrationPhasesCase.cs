using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Flowstore.Bench.Harness;
using Flowstore.Engine;
using Flowstore.Scripting;
using Microsoft.CodeAnalysis;

namespace Flowstore.Bench.Registration;

/// <summary>
/// Under --profile: a first registration (fresh home, Local script storage, as in case (a)) done step by step
/// with the engine's public pieces, timing each phase. It mirrors FlowClient.PlanAsync + ApplyAsync and
/// ScriptCompiler's compile path; comparing its total with (a) shows how much of (a) the phases account for.
/// </summary>
internal sealed class RegistrationPhasesCase(RegistrationSuite suite) : BenchCase
{
    private static readonly string[] PhaseNames =
    {
        "read + SHA-256",
        "compile: Roslyn Emit",
        "assembly cache write",
        "load (collectible ALC) + build",
        "structure JSON + key + cache write",
        "db: plan query (GetFlowsAsync)",
        "db: register (one transaction)",
    };

    public override string Id => "a-phases";
    public override string Title => "(a) step by step, each phase timed (--profile)";
    public override string OperationName => "file";

    public override async Task<Sample> RunAsync(bool warmup, CancellationToken cancellationToken)
    {
        var files = suite.FilesFor(warmup);
        var home = suite.Temp.NewHome();
        try
        {
            using var client = await RegistrationSuite.NewClientWithProjectAsync(home, cancellationToken).ConfigureAwait(false);
            var loader = new FlowScriptLoader(new ScriptCompiler());
            var provider = new LocalStorageProvider(Path.Combine(home, "flows"));
            var assemblies = Path.Combine(home, "cache", "assemblies");
            var structures = Path.Combine(home, "cache", "structure");
            var ms = new double[PhaseNames.Length];
            var lap = new Stopwatch();
            void Lap(int phase)
            {
                ms[phase] += lap.Elapsed.TotalMilliseconds;
                lap.Restart();
            }

            IReadOnlyList<MetadataReference>? references = null;
            var jit = TimeSpan.Zero;
            var meter = Meter.Start();
            lap.Start();
            foreach (var file in files)
            {
                var bytes = await File.ReadAllBytesAsync(file.Path, cancellationToken).ConfigureAwait(false);
                var source = Encoding.UTF8.GetString(bytes);
                var sha = FlowStructure.Sha256Hex(source);
                Lap(0);

                references ??= ScriptCompiler.DefaultReferences();   // once per compiler instance, as in the engine
                var dll = ScriptCompiler.Emit(source, file.Path, sha, cancellationToken, references);
                Lap(1);

                WriteAtomically(Path.Combine(assemblies, $"{sha}-{ScriptCompiler.EngineKey}.dll"), dll);
                Lap(2);

                var jitBefore = System.Runtime.JitInfo.GetCompilationTime(currentThread: true);
                var loaded = loader.LoadAssembly(dll, file.Path);
                jit += System.Runtime.JitInfo.GetCompilationTime(currentThread: true) - jitBefore;
                Lap(3);

                var described = loaded.Flows.Select(f => new Described(f.Name, f.Slug, FlowStructure.FromFlow(f).CanonicalJson,
                    f.Storage?.ToJson(), f.Labels.ToArray(), f.Description)).ToArray();
                WriteAtomically(Path.Combine(structures, $"{sha}.v1.json"), JsonSerializer.SerializeToUtf8Bytes(described));
                Lap(4);

                foreach (var flow in described)
                {
                    var context = new StorageRegistrationContext(file.Path, source, sha, flow.Name, flow.Slug, client.Secrets, _ => { })
                    {
                        CompiledFlow = dll,
                    };
                    var storage = provider.Resolve(new LocalStorage(storedAsScript: true), context);
                    var structure = FlowStructure.FromJson(flow.Structure);
                    var labels = flow.Labels.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
                    var key = RegistrationKey.Compute(RegistrationSuite.ProjectName, flow.Name, structure.Hash, storage.Locator, labels);
                    Lap(4);

                    var versions = await client.Backend.GetFlowsAsync(new FlowQuery
                    {
                        Project = RegistrationSuite.ProjectName,
                        Name = flow.Name,
                        IncludeArchived = true,
                    }, cancellationToken).ConfigureAwait(false);
                    if (versions.Count != 0)
                    {
                        throw new InvalidOperationException($"Flow '{flow.Name}' is registered already in a fresh home.");
                    }
                    Lap(5);

                    var stored = (await provider.PrepareRegistrationAsync(storage, context, cancellationToken).ConfigureAwait(false)).Settings;
                    var outcome = await client.Backend.RegisterFlowAsync(new FlowRegistrationRequest
                    {
                        Project = RegistrationSuite.ProjectName,
                        Name = flow.Name,
                        StructureJson = structure.CanonicalJson,
                        StructureHash = structure.Hash,
                        RegistrationKey = key,
                        StorageType = stored.Type,
                        StorageJson = stored.ToJson(),
                        Labels = labels,
                        Description = flow.Description,
                        ScriptPath = file.Path,
                        ScriptSha256 = sha,
                    }, cancellationToken).ConfigureAwait(false);
                    if (outcome.Status != RegistrationStatus.Registered)
                    {
                        throw new InvalidOperationException($"Flow '{flow.Name}' was {outcome.Status}, not Registered.");
                    }
                    Lap(6);
                }
            }
            var phases = new Dictionary<string, double>();
            for (var i = 0; i < PhaseNames.Length; i++)
            {
                phases[PhaseNames[i]] = ms[i];
            }
            // Not a separate phase: the part of "load + build" spent JIT-compiling (the script's Main, mostly).
            phases["  of which JIT (load + build)"] = jit.TotalMilliseconds;
            return meter.Stop(files.Count, phases);
        }
        finally
        {
            suite.Temp.Delete(home);
        }
    }

    private sealed record Described(string Name, string Slug, string Structure, string? Storage, string[] Labels, string? Description);

    private static void WriteAtomically(string path, byte[] bytes)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, path, overwrite: true);
    }
}
