using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Flowstore.Backend.Sqlite;

/// <summary>API keys: hashes of tokens only, never a token (what a server over this file authenticates against).</summary>
public sealed partial class SqliteFlowBackend : IApiKeyStore
{
    private const string ApiKeyColumns = "id, name, role, projects_json, created, expires, revoked, created_by, last_used";

    public Task<ApiKeyInfo> CreateApiKeyAsync(NewApiKey key, CancellationToken cancellationToken)
        => CreateApiKeyCoreAsync(key, onlyWhenEmpty: false, cancellationToken)!;

    public Task<ApiKeyInfo?> CreateFirstApiKeyAsync(NewApiKey key, CancellationToken cancellationToken)
        => CreateApiKeyCoreAsync(key, onlyWhenEmpty: true, cancellationToken);

    private Task<ApiKeyInfo?> CreateApiKeyCoreAsync(NewApiKey key, bool onlyWhenEmpty, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        var name = ValidateName(key.Name, "API key");
        var projects = ValidateKeyProjects(key.Projects, name);
        ValidateTokenHash(key.TokenHash);
        return RunAsync(async connection =>
        {
            // BEGIN IMMEDIATE: the emptiness check and the insert are one step for every process on the file.
            await using var transaction = connection.BeginTransaction(deferred: false);
            if (onlyWhenEmpty)
            {
                await using var any = Command(connection, transaction, "SELECT 1 FROM api_keys LIMIT 1;");
                if (await any.ExecuteScalarAsync(cancellationToken) is not null)
                {
                    return null;
                }
            }
            await using (var existing = Command(connection, transaction, "SELECT name FROM api_keys WHERE name = $name AND revoked IS NULL;"))
            {
                existing.Parameters.AddWithValue("$name", name);
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
            await using (var insert = Command(connection, transaction, """
                INSERT INTO api_keys (id, name, role, projects_json, token_hash, created, expires, created_by)
                VALUES ($id, $name, $role, $projects, $hash, $created, $expires, $created_by);
                """))
            {
                var p = insert.Parameters;
                p.AddWithValue("$id", GuidText(info.Id));
                p.AddWithValue("$name", info.Name);
                p.AddWithValue("$role", info.Role.ToString());
                p.AddWithValue("$projects", JsonSerializer.Serialize(projects));
                p.AddWithValue("$hash", key.TokenHash);
                p.AddWithValue("$created", TimestampText(info.Created));
                p.AddWithValue("$expires", info.Expires is { } x ? TimestampText(x) : DBNull.Value);
                p.AddWithValue("$created_by", (object?)info.CreatedBy ?? DBNull.Value);
                try
                {
                    await insert.ExecuteNonQueryAsync(cancellationToken);
                }
                catch (SqliteException e) when (e.SqliteExtendedErrorCode == 2067 /* SQLITE_CONSTRAINT_UNIQUE */)
                {
                    // The token hash is unique too; a clash there is a caller reusing a token, never chance.
                    throw e.Message.Contains("token_hash", StringComparison.Ordinal)
                        ? new FlowstoreException(ErrorIds.ApiKeyExists, FlowErrorKind.ResourceExists,
                            $"Another API key already has the token given for '{name}'; make a new token.") { Target = name }
                        : ApiKeyExists(name);
                }
            }
            await transaction.CommitAsync(cancellationToken);
            return (ApiKeyInfo?)info;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<ApiKeyInfo>> ListApiKeysAsync(CancellationToken cancellationToken)
        => RunAsync<IReadOnlyList<ApiKeyInfo>>(async connection =>
        {
            await using var command = Command(connection, null, $"SELECT {ApiKeyColumns} FROM api_keys ORDER BY name COLLATE NOCASE, created;");
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var keys = new List<ApiKeyInfo>();
            while (await reader.ReadAsync(cancellationToken))
            {
                keys.Add(ReadApiKey(reader));
            }
            return keys;
        }, cancellationToken);

    public Task<ApiKeyInfo?> FindApiKeyByHashAsync(string tokenHash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tokenHash);
        return RunAsync(async connection =>
        {
            await using var command = Command(connection, null, $"SELECT {ApiKeyColumns}, token_hash FROM api_keys WHERE token_hash = $hash;");
            command.Parameters.AddWithValue("$hash", tokenHash);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            // The index found the row; the hashes are compared once more in fixed time.
            return await reader.ReadAsync(cancellationToken) && ApiKeyToken.HashesEqual(reader.GetString(9), tokenHash)
                ? ReadApiKey(reader)
                : null;
        }, cancellationToken);
    }

    public Task<ApiKeyInfo?> RevokeApiKeyAsync(Guid id, CancellationToken cancellationToken)
        => RunAsync(async connection =>
        {
            await using var transaction = connection.BeginTransaction(deferred: false);
            await using (var update = Command(connection, transaction, "UPDATE api_keys SET revoked = $now WHERE id = $id AND revoked IS NULL;"))
            {
                update.Parameters.AddWithValue("$id", GuidText(id));
                update.Parameters.AddWithValue("$now", TimestampText(Now()));
                await update.ExecuteNonQueryAsync(cancellationToken);
            }
            ApiKeyInfo? key;
            await using (var select = Command(connection, transaction, $"SELECT {ApiKeyColumns} FROM api_keys WHERE id = $id;"))
            {
                select.Parameters.AddWithValue("$id", GuidText(id));
                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                key = await reader.ReadAsync(cancellationToken) ? ReadApiKey(reader) : null;
            }
            await transaction.CommitAsync(cancellationToken);
            return key;
        }, cancellationToken);

    public Task TouchApiKeyAsync(Guid id, DateTimeOffset when, CancellationToken cancellationToken)
        => RunAsync(async connection =>
        {
            await using var update = Command(connection, null,
                "UPDATE api_keys SET last_used = $when WHERE id = $id AND (last_used IS NULL OR last_used < $when);");
            update.Parameters.AddWithValue("$id", GuidText(id));
            update.Parameters.AddWithValue("$when", TimestampText(Truncate(when)));
            return await update.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    private static ApiKeyInfo ReadApiKey(SqliteDataReader reader) => new()
    {
        Id = ParseGuid(reader.GetString(0)),
        Name = reader.GetString(1),
        Role = Enum.Parse<FlowRole>(reader.GetString(2)),
        Projects = JsonSerializer.Deserialize<string[]>(reader.GetString(3)) ?? Array.Empty<string>(),
        Created = ParseTimestamp(reader.GetString(4)),
        Expires = reader.IsDBNull(5) ? null : ParseTimestamp(reader.GetString(5)),
        Revoked = reader.IsDBNull(6) ? null : ParseTimestamp(reader.GetString(6)),
        CreatedBy = reader.IsDBNull(7) ? null : reader.GetString(7),
        LastUsed = reader.IsDBNull(8) ? null : ParseTimestamp(reader.GetString(8)),
    };

    private static string[] ValidateKeyProjects(IReadOnlyList<string>? projects, string keyName)
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
