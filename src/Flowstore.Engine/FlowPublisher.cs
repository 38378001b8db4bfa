using Flowstore.Scripting;

namespace Flowstore.Engine;

/// <summary>Publishing: puts a script (or its compiled flow) into a storage on its own, as a step before registration.</summary>
public sealed class FlowPublisher(FlowScriptLoader loader, StorageProviders providers, SecretResolver secrets)
{
    /// <summary>
    /// Publishes a script to a storage on its own (a CI step before registration): upload, commit, or build and
    /// push, through the storage's provider. The storage defaults to the one the script's flow sets.
    /// </summary>
    public async Task<FlowPublication> PublishAsync(string path, PublishOptions options, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        log ??= _ => { };
        var full = Path.GetFullPath(path);
        var loaded = await loader.LoadFileAsync(full, cancellationToken).ConfigureAwait(false);
        var flow = loaded.SelectOne(options.Name);
        var storage = options.Storage ?? flow.Storage
            ?? throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidArgument,
                $"Flow '{flow.Name}' in '{full}' sets no storage, so there is nowhere to publish it; name a storage to publish to.") { Target = full, Hint = FlowHint.PublishStorage(full) };
        var provider = providers.For(storage);
        var source = System.Text.Encoding.UTF8.GetString(await File.ReadAllBytesAsync(full, cancellationToken).ConfigureAwait(false));
        var context = new StoragePublishContext(full, source, loaded.Compiled.Sha256, flow.Name, FlowNames.ToAsciiSlug(flow.Slug), secrets, log)
        {
            CompiledFlow = loaded.Compiled.AssemblyBytes,
            Message = options.Message,
            Branch = options.Branch,
            Progress = options.Progress,
            OnWarning = options.OnWarning,
        };
        var published = await provider.PublishAsync(storage, context, cancellationToken).ConfigureAwait(false);
        return new FlowPublication
        {
            Flow = flow.Name,
            Path = full,
            ScriptSha256 = loaded.Compiled.Sha256,
            Storage = published.Storage,
            StorageVersion = published.StorageVersion,
            Location = published.Location,
        };
    }
}
