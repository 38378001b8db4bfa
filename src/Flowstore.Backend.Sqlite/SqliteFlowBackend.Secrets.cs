using Microsoft.Data.Sqlite;

namespace Flowstore.Backend.Sqlite;

/// <summary>Encrypted secrets: the backend stores ciphertext only (encryption happens in the client).</summary>
public sealed partial class SqliteFlowBackend
{
    public Task PutSecretAsync(string name, byte[] ciphertext, CancellationToken cancellationToken)
    {
        var secretName = ValidateName(name, "secret");
        ArgumentNullException.ThrowIfNull(ciphertext);
        return RunAsync(async connection =>
        {
            var now = TimestampText(Now());
            await using var command = Command(connection, null, """
                INSERT INTO secrets (name, ciphertext, created, updated) VALUES ($name, $ciphertext, $now, $now)
                ON CONFLICT (name) DO UPDATE SET ciphertext = excluded.ciphertext, updated = excluded.updated;
                """);
            command.Parameters.AddWithValue("$name", secretName);
            command.Parameters.Add("$ciphertext", SqliteType.Blob).Value = ciphertext;
            command.Parameters.AddWithValue("$now", now);
            await command.ExecuteNonQueryAsync(cancellationToken);
            return true;
        }, cancellationToken);
    }

    public Task<SecretBlob?> GetSecretAsync(string name, CancellationToken cancellationToken)
        => RunAsync(async connection =>
        {
            await using var command = Command(connection, null, "SELECT name, ciphertext, created, updated FROM secrets WHERE name = $name;");
            command.Parameters.AddWithValue("$name", name.Trim());
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? ReadSecret(reader) : null;
        }, cancellationToken);

    public Task<IReadOnlyList<SecretBlob>> ListSecretsAsync(CancellationToken cancellationToken)
        => RunAsync<IReadOnlyList<SecretBlob>>(async connection =>
        {
            await using var command = Command(connection, null, "SELECT name, ciphertext, created, updated FROM secrets ORDER BY name COLLATE NOCASE, name;");
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var secrets = new List<SecretBlob>();
            while (await reader.ReadAsync(cancellationToken))
            {
                secrets.Add(ReadSecret(reader));
            }
            return secrets;
        }, cancellationToken);

    public Task<bool> DeleteSecretAsync(string name, CancellationToken cancellationToken)
        => RunAsync(async connection =>
        {
            await using var command = Command(connection, null, "DELETE FROM secrets WHERE name = $name;");
            command.Parameters.AddWithValue("$name", name.Trim());
            return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
        }, cancellationToken);

    private static SecretBlob ReadSecret(SqliteDataReader reader) => new(
        reader.GetString(0), (byte[])reader.GetValue(1), ParseTimestamp(reader.GetString(2)), ParseTimestamp(reader.GetString(3)));
}
