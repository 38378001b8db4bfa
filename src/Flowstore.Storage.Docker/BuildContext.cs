using System.Formats.Tar;
using System.Text;
using System.Text.Json;

namespace Flowstore.Storage.Docker;

/// <summary>
/// The build context of a Docker storage image, made in memory: a generated Dockerfile (FROM the base image, or the
/// user's Dockerfile's instructions) that COPYs each file in, plus the files; with a user Dockerfile, its folder too.
/// </summary>
internal static class BuildContext
{
    /// <summary>The generated Dockerfile's name inside the context (never clashes with the user's files).</summary>
    public const string DockerfileName = ".flowstore/Dockerfile";

    /// <summary>One file to put into the image.</summary>
    public sealed record ImageFile(string Source, byte[] Content, string Destination);

    /// <summary>Writes the context tar; <paramref name="files"/> go to their absolute destinations in the image.</summary>
    public static async Task<MemoryStream> CreateAsync(DockerStorage storage, IReadOnlyList<ImageFile> files, string flowSlug, CancellationToken cancellationToken)
    {
        var dockerfile = new StringBuilder();
        var stream = new MemoryStream();
        await using (var writer = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true))
        {
            if (storage.Dockerfile is { } userDockerfile)
            {
                if (!File.Exists(userDockerfile))
                {
                    throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.ObjectNotFound,
                        $"The Dockerfile '{userDockerfile}' of Docker storage does not exist.") { Target = userDockerfile };
                }
                dockerfile.Append(await File.ReadAllTextAsync(userDockerfile, cancellationToken).ConfigureAwait(false)).Append('\n');
                var folder = Path.GetDirectoryName(userDockerfile)!;
                foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
                {
                    var relative = Path.GetRelativePath(folder, file).Replace('\\', '/');
                    if (relative.StartsWith(".git/", StringComparison.Ordinal) || relative.StartsWith(".flowstore/", StringComparison.Ordinal))
                    {
                        continue;
                    }
                    await AddAsync(writer, relative, await File.ReadAllBytesAsync(file, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
                }
            }
            else
            {
                dockerfile.Append("FROM ").Append(storage.BaseImage ?? "scratch").Append('\n');
            }
            for (var i = 0; i < files.Count; i++)
            {
                var name = $".flowstore/files/{i}";
                await AddAsync(writer, name, files[i].Content, cancellationToken).ConfigureAwait(false);
                // The JSON form keeps destinations with spaces whole.
                dockerfile.Append("COPY ").Append(JsonSerializer.Serialize(new[] { name, files[i].Destination })).Append('\n');
            }
            dockerfile.Append("LABEL org.flowstore.flow=").Append(JsonSerializer.Serialize(flowSlug)).Append('\n');
            if (storage.Dockerfile is null && storage.BaseImage is null)
            {
                // FROM scratch has no command; the engine wants one to create a container (never started).
                dockerfile.Append("CMD [\"/flowstore\"]\n");
            }
            await AddAsync(writer, DockerfileName, Encoding.UTF8.GetBytes(dockerfile.ToString()), cancellationToken).ConfigureAwait(false);
        }
        stream.Position = 0;
        return stream;
    }

    private static async Task AddAsync(TarWriter writer, string name, byte[] content, CancellationToken cancellationToken)
    {
        var entry = new PaxTarEntry(TarEntryType.RegularFile, name)
        {
            DataStream = new MemoryStream(content, writable: false),
            Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            ModificationTime = DateTimeOffset.UnixEpoch,
        };
        await writer.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
    }
}
