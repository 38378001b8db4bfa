using System.Data.Common;
using System.Text.Json;

namespace Flowstore.Backend.Relational;

/// <summary>API keys: hashes of tokens only, never a token (what a server over the database authenticates against).</summary>
public abstract partial class RelationalFlowBackend
{
    internal const string ApiKeyColumns = "id, name, role, projects_json, created, expires, revoked, created_by, last_used";

    public Task<ApiKeyInfo> CreateApiKeyAsync(NewApiKey key, CancellationToken cancellationToken)
        => CreateApiKeyCoreAsync(key, onlyWhenEmpty: false, cancellationToken)!;

    public Task<ApiKeyInfo?> CreateFirstApiKeyAsync(NewApiKey key, CancellationToken cancellationToken)
        => CreateApiKeyCoreAsync(key, onlyWhenEmpty: true, cancellationToken);

    /// <summary>
    /// Makes "is there no key yet" and the insert one step for every process on the database, within
    /// <paramref name="transaction"/> (SQLite's write transaction already is; PostgreSQL takes an advisory lock).
    /// </summary>
    internal virtual Task LockFirstApiKeyAsync(RelationalSession session, DbTransaction transaction, CancellationToken cancellationToken)
        => Task.CompletedTask;

    private Task<ApiKeyInfo?> CreateApiKeyCoreAsync(NewApiKey key, bool onlyWhenEmpty, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        var name = ValidateName(key.Name, "API key");
        var projects = ValidateKeyProjects(key.Projects);
        ValidateTokenHash(key.TokenHash);
        var s = Dialect.Schema;
        return WithSessionAsync(async session =>
        {
            await using var transaction = await session.BeginAsync(cancellationToken);
            if (onlyWhenEmpty)
            {
                await LockFirstApiKeyAsync(session, transaction, cancellationToken);
                await using var any = session.Command(transaction, $"SELECT 1 FROM {s}api_keys LIMIT 1;");
                if (await any.ExecuteScalarAsync(cancellationToken) is not null)
                {
                    return null;
                }
            }
            await using (var existing = session.Command(transaction,
                $"SELECT name FROM {s}api_keys WHERE {Dialect.NameEquals("name", "@name")} AND revoked IS NULL;"))
            {
                Dialect.AddText(existing, "name", name);
                if (await existing.ExecuteScalarAsync(cancellationToken) is string taken)
                {
                    throw ApiKeyExists(taken);
                }
            }
            var info = new ApiKeyInfo
            {
                Id = Guid.NewGuid(),
                Name = name,
                Role = key.Role,
                Projects = projects,
                Created = Now(),
                Expires = key.Expires is { } expires ? Truncate(expires) : null,
                CreatedBy = key.CreatedBy,
            };
            await using (var insert = session.Command(transaction, $"""
                INSERT INTO {s}api_keys (id, name, role, projects_json, token_hash, created, expires, created_by)
                VALUES (@id, @name, @role, @projects, @hash, @created, @expires, @created_by);
                """))
            {
                Dialect.AddGuid(insert, "id", info.Id);
                Dialect.AddText(insert, "name", info.Name);
                Dialect.AddText(insert, "role", info.Role.ToString());
                Dialect.AddText(insert, "projects", JsonSerializer.Serialize(projects));
                Dialect.AddText(insert, "hash", key.TokenHash);
                Dialect.AddTime(insert, "created", info.Created);
                Dialect.AddTime(insert, "expires", info.Expires);
                Dialect.AddText(insert, "created_by", info.CreatedBy);
                try
                {
                    await insert.ExecuteNonQueryAsync(cancellationToken);
                }
                catch (DbException e) when (Dialect.UniqueViolation(e) is { } violated)
                {
                    // The token hash is unique too; a clash there is a caller reusing a token, never chance.
                    throw violated.Contains("token_hash", StringComparison.Ordinal)
                        ? new FlowstoreException(ErrorIds.ApiKeyExists, FlowErrorKind.ResourceExists,
                            $"Another API key already has the token given for '{name}'; make a new token.") { Target = name }
                        : ApiKeyExists(name);
                }
            }
            await CommitAnsweredAsync(session, transaction, info, cancellationToken);
            return (ApiKeyInfo?)info;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<ApiKeyInfo>> ListApiKeysAsync(CancellationToken cancellationToken)
        => WithSessionAsync<IReadOnlyList<ApiKeyInfo>>(async session =>
        {
            await using var command = session.Command(null,
                $"SELECT {ApiKeyColumns} FROM {Dialect.Schema}api_keys ORDER BY {Dialect.NameOrder("name")}, created;");
            return await ReadAllAsync(command, ReadApiKey, cancellationToken);
        }, cancellationToken);

    public Task<ApiKeyInfo?> FindApiKeyByHashAsync(string tokenHash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tokenHash);
        return WithSessionAsync(async session =>
        {
            await using var command = session.Command(null,
                $"SELECT {ApiKeyColumns}, token_hash FROM {Dialect.Schema}api_keys WHERE token_hash = @hash;");
            Dialect.AddText(command, "hash", tokenHash);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            // The index found the row; the hashes are compared once more in fixed time.
            return await reader.ReadAsync(cancellationToken) && ApiKeyToken.HashesEqual(reader.GetString(9), tokenHash)
                ? ReadApiKey(reader)
                : null;
        }, cancellationToken);
    }

    public Task<ApiKeyInfo?> RevokeApiKeyAsync(Guid id, CancellationToken cancellationToken)
        => WithSessionAsync(async session =>
        {
            await using var transaction = await session.BeginAsync(cancellationToken);
            await using (var update = session.Command(transaction,
                $"UPDATE {Dialect.Schema}api_keys SET revoked = @now WHERE id = @id AND revoked IS NULL;"))
            {
                Dialect.AddGuid(update, "id", id);
                Dialect.AddTime(update, "now", Now());
                await update.ExecuteNonQueryAsync(cancellationToken);
            }
            List<ApiKeyInfo> keys;
            await using (var select = session.Command(transaction, $"SELECT {ApiKeyColumns} FROM {Dialect.Schema}api_keys WHERE id = @id;"))
            {
                Dialect.AddGuid(select, "id", id);
                keys = await ReadAllAsync(select, ReadApiKey, cancellationToken);
            }
            await session.CommitAsync(transaction, cancellationToken);
            return keys.FirstOrDefault();
        }, cancellationToken);

    public Task TouchApiKeyAsync(Guid id, DateTimeOffset when, CancellationToken cancellationToken)
        => WithSessionAsync(async session =>
        {
            await using var update = session.Command(null,
                $"UPDATE {Dialect.Schema}api_keys SET last_used = @when WHERE id = @id AND (last_used IS NULL OR last_used < @when);");
            Dialect.AddGuid(update, "id", id);
            Dialect.AddTime(update, "when", Truncate(when));
            return await update.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    internal ApiKeyInfo ReadApiKey(DbDataReader reader) => new()
    {
        Id = Dialect.ReadGuid(reader, 0),
        Name = reader.GetString(1),
        Role = Enum.Parse<FlowRole>(reader.GetString(2)),
        Projects = JsonSerializer.Deserialize<string[]>(reader.GetString(3)) ?? Array.Empty<string>(),
        Created = Dialect.ReadTime(reader, 4),
        Expires = Dialect.ReadOptionalTime(reader, 5),
        Revoked = Dialect.ReadOptionalTime(reader, 6),
        CreatedBy = Dialect.ReadOptionalText(reader, 7),
        LastUsed = Dialect.ReadOptionalTime(reader, 8),
    };

    private static string[] ValidateKeyProjects(IReadOnlyList<string>? projects)
    {
        var result = new List<string>();
        foreach (var project in projects ?? Array.Empty<string>())
        {
            var name = ValidateName(project, "project");
            if (!result.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                result.Add(name);
            }
        }
        return result.ToArray();
    }

    private static void ValidateTokenHash(string? hash)
    {
        if (hash is null || hash.Length != 64 || !hash.All(char.IsAsciiHexDigitLower))
        {
            // Never echo what was given: a caller that passed the token here by mistake must not see it in an error.
            throw new ArgumentException("The token hash must be the 64 lower-case hex digits of ApiKeyToken.Hash (never the token itself).", nameof(hash));
        }
    }

    private FlowstoreException ApiKeyExists(string name)
        => new(ErrorIds.ApiKeyExists, FlowErrorKind.ResourceExists,
            $"An API key named '{name}' already exists and is not revoked ({Description}); key names ignore case. Revoke it first, or choose another name.")
        { Target = name };
}
