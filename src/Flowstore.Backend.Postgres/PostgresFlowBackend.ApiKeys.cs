using System.Text.Json;
using Npgsql;

namespace Flowstore.Backend.Postgres;

/// <summary>API keys: hashes of tokens only, never a token (what a server over this database authenticates against).</summary>
public sealed partial class PostgresFlowBackend : IApiKeyStore
{
    /// <summary>"Keys" in ASCII: the advisory lock that makes "create the first key" one step for every server on the database.</summary>
    private const long FirstKeyLockKey = 0x4B657973;

    private const string ApiKeyColumns = "id, name, role, projects_json, created, expires, revoked, created_by, last_used";

    public Task<ApiKeyInfo> CreateApiKeyAsync(NewApiKey key, CancellationToken cancellationToken)
        => CreateApiKeyCoreAsync(key, onlyWhenEmpty: false, cancellationToken)!;

    public Task<ApiKeyInfo?> CreateFirstApiKeyAsync(NewApiKey key, CancellationToken cancellationToken)
        => CreateApiKeyCoreAsync(key, onlyWhenEmpty: true, cancellationToken);

    private Task<ApiKeyInfo?> CreateApiKeyCoreAsync(NewApiKey key, bool onlyWhenEmpty, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        var name = ValidateName(key.Name, "API key");
        var projects = ValidateKeyProjects(key.Projects);
        ValidateTokenHash(key.TokenHash);
        return ExecuteAsync(async session =>
        {
            var connection = session.Connection;
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            if (onlyWhenEmpty)
            {
                await using (var lockCommand = Command(connection, transaction, $"SELECT pg_advisory_xact_lock({FirstKeyLockKey});"))
                {
                    await lockCommand.ExecuteNonQueryAsync(cancellationToken);
                }
                await using var any = Command(connection, transaction, "SELECT 1 FROM flowstore.api_keys LIMIT 1;");
                if (await any.ExecuteScalarAsync(cancellationToken) is not null)
                {
                    return null;
                }
            }
            await using (var existing = Command(connection, transaction,
                """SELECT name FROM flowstore.api_keys WHERE lower(name COLLATE "C") = lower(@name COLLATE "C") AND revoked IS NULL;"""))
            {
                AddText(existing, "name", name);
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
                Expires = key.Expires is { } expires ? TruncateTime(expires) : null,
                CreatedBy = key.CreatedBy,
            };
            await using (var insert = Command(connection, transaction, """
                INSERT INTO flowstore.api_keys (id, name, role, projects_json, token_hash, created, expires, created_by)
                VALUES (@id, @name, @role, @projects, @hash, @created, @expires, @created_by);
                """))
            {
                AddUuid(insert, "id", info.Id);
                AddText(insert, "name", info.Name);
                AddText(insert, "role", info.Role.ToString());
                AddText(insert, "projects", JsonSerializer.Serialize(projects));
                AddText(insert, "hash", key.TokenHash);
                AddTime(insert, "created", info.Created);
                AddTime(insert, "expires", info.Expires);
                AddText(insert, "created_by", info.CreatedBy);
                try
                {
                    await insert.ExecuteNonQueryAsync(cancellationToken);
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
                {
                    throw e.ConstraintName?.Contains("token_hash", StringComparison.Ordinal) == true
                        ? new FlowstoreException(ErrorIds.ApiKeyExists, FlowErrorKind.ResourceExists,
                            $"Another API key already has the token given for '{name}'; make a new token.") { Target = name }
                        : ApiKeyExists(name);
                }
            }
            await session.CommitAsync(transaction, cancellationToken);
            return (ApiKeyInfo?)info;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<ApiKeyInfo>> ListApiKeysAsync(CancellationToken cancellationToken)
        => ExecuteAsync<IReadOnlyList<ApiKeyInfo>>(async session =>
        {
            await using var command = Command(session.Connection, null,
                $"""SELECT {ApiKeyColumns} FROM flowstore.api_keys ORDER BY lower(name COLLATE "C"), created;""");
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
        return ExecuteAsync(async session =>
        {
            await using var command = Command(session.Connection, null, $"SELECT {ApiKeyColumns}, token_hash FROM flowstore.api_keys WHERE token_hash = @hash;");
            AddText(command, "hash", tokenHash);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            // The index found the row; the hashes are compared once more in fixed time.
            return await reader.ReadAsync(cancellationToken) && ApiKeyToken.HashesEqual(reader.GetString(9), tokenHash)
                ? ReadApiKey(reader)
                : null;
        }, cancellationToken);
    }

    public Task<ApiKeyInfo?> RevokeApiKeyAsync(Guid id, CancellationToken cancellationToken)
        => ExecuteAsync(async session =>
        {
            var connection = session.Connection;
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var update = Command(connection, transaction, "UPDATE flowstore.api_keys SET revoked = @now WHERE id = @id AND revoked IS NULL;"))
            {
                AddUuid(update, "id", id);
                AddTime(update, "now", Now());
                await update.ExecuteNonQueryAsync(cancellationToken);
            }
            ApiKeyInfo? key;
            await using (var select = Command(connection, transaction, $"SELECT {ApiKeyColumns} FROM flowstore.api_keys WHERE id = @id;"))
            {
                AddUuid(select, "id", id);
                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                key = await reader.ReadAsync(cancellationToken) ? ReadApiKey(reader) : null;
            }
            await session.CommitAsync(transaction, cancellationToken);
            return key;
        }, cancellationToken);

    public Task TouchApiKeyAsync(Guid id, DateTimeOffset when, CancellationToken cancellationToken)
        => ExecuteAsync(async session =>
        {
            await using var update = Command(session.Connection, null,
                "UPDATE flowstore.api_keys SET last_used = @when WHERE id = @id AND (last_used IS NULL OR last_used < @when);");
            AddUuid(update, "id", id);
            AddTime(update, "when", TruncateTime(when));
            return await update.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    private static ApiKeyInfo ReadApiKey(NpgsqlDataReader reader) => new()
    {
        Id = reader.GetGuid(0),
        Name = reader.GetString(1),
        Role = Enum.Parse<FlowRole>(reader.GetString(2)),
        Projects = JsonSerializer.Deserialize<string[]>(reader.GetString(3)) ?? Array.Empty<string>(),
        Created = ReadTime(reader, 4),
        Expires = ReadOptionalTime(reader, 5),
        Revoked = ReadOptionalTime(reader, 6),
        CreatedBy = ReadOptionalText(reader, 7),
        LastUsed = ReadOptionalTime(reader, 8),
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

    /// <summary>A time at PostgreSQL's precision (microseconds, UTC).</summary>
    private static DateTimeOffset TruncateTime(DateTimeOffset value)
    {
        var ticks = value.UtcTicks;
        return new DateTimeOffset(ticks - ticks % 10, TimeSpan.Zero);
    }
}
