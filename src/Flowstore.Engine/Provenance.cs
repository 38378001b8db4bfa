namespace Flowstore.Engine;

/// <summary>
/// The lines every run's log starts with, saying where its script came from (after Prefect's "Downloading flow
/// from GitHub storage - repo ..., path ..." / "Flow successfully downloaded. Using commit: ..."): the storage and
/// its location, the requested ref, then the version the storage resolved it to and the SHA-256 of what ran.
/// Level Info (the verbose stream of a run started here); never a secret: settings hold secret names only.
/// </summary>
public static class Provenance
{
    /// <summary>Before the fetch: flow, storage type, location and requested ref.</summary>
    public static string Fetching(FlowRecord flow, StorageSettings storage, string? pinnedVersion)
    {
        var requested = pinnedVersion is not null ? $"pinned version {pinnedVersion}"
            : storage.RequestedRef ?? (storage.IsScript ? "the current script" : "the current compiled flow");
        return $"Downloading flow '{flow.Name}' version {flow.Version} from {storage.Type} storage - {storage}; requested: {requested}.";
    }

    /// <summary>After the fetch: where it came from, the resolved version and the SHA-256.</summary>
    public static string Fetched(FetchedFlowSource source)
        => $"Flow successfully downloaded from {source.Origin}. Using version: {source.StorageVersion}; " +
           $"{(source.ScriptText is null ? "compiled flow" : "script")} SHA-256: {source.Sha256}.";

    /// <summary>A run of a script file here and now (no storage).</summary>
    public static string LocalFile(string path, string sha256)
        => $"Running flow from local file {path}; script SHA-256: {sha256}.";
}
