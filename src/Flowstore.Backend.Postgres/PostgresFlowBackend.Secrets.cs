using Npgsql;
using NpgsqlTypes;

namespace Flowstore.Backend.Postgres;

/// <summary>Encrypted secrets: the backend stores ciphertext only (encryption happens in the client).</summary>
public sealed partial class PostgresFlowBackend
{
    public Task PutSecretAsync(string name, byte[] ciphertext, CancellationToken cancellationToken)
    {
        var secretName = ValidateName(name, "secret");
        ArgumentNullException.ThrowIfNull(ciphertext);
        return ExecuteAsync(async session =>
        {
            await using var transaction = await session.Connection.BeginTransactionAsync(cancellationToken);
            await using var command = Command(session.Connection, transaction, """
                INSERT INTO flowstore.secrets (name, ciphertext, created, updated) VALUES (@name, @ciphertext, @now, @now)
                ON CONFLICT (lower(name COLLATE "C")) DO UPDATE SET ciphertext = excluded.ciphertext, updated = excluded.updated;
                """);
            AddText(command, "name", secretName);
            command.Parameters.Add(new NpgsqlParameter("ciphertext", NpgsqlDbType.Bytea) { Value = ciphertext });
            AddTime(command, "now", Now());
            await command.ExecuteNonQueryAsync(cancellationToken);
            await session.CommitAsync(transaction, cancellationToken);
            return true;
        }, cancellationToken);
    }

    public Task<SecretBlob?> GetSecretAsync(string name, CancellationToken cancellationToken)
        => ExecuteAsync(async session =>
        {
            await using var command = Command(session.Connection, null, """
                SELECT name, ciphertext, created, updated FROM flowstore.secrets
                WHERE lower(name COLLATE "C") = lower(@name COLLATE "C");
                """);
            AddText(command, "name", name.Trim());
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? ReadSecret(reader) : null;
        }, cancellationToken);

    public Task<IReadOnlyList<SecretBlob>> ListSecretsAsync(CancellationToken cancellationToken)
        => ExecuteAsync<IReadOnlyList<SecretBlob>>(async session =>
        {
            await using var command = Command(session.Connection, null, """
                SELECT name, ciphertext, created, updated FROM flowstore.secrets
                ORDER BY lower(name COLLATE "C"), name COLLATE "C";
                """);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var secrets = new List<SecretBlob>();
            while (await reader.ReadAsync(cancellationToken))
            {
                secrets.Add(ReadSecret(reader));
            }
            return secrets;
        }, cancellationToken);

    public Task<bool> DeleteSecretAsync(string name, CancellationToken cancellationToken)
        => ExecuteAsync(async session =>
        {
            await using var transaction = await session.Connection.BeginTransactionAsync(cancellationToken);
            await using var command = Command(session.Connection, transaction,
                """DELETE FROM flowstore.secrets WHERE lower(name COLLATE "C") = lower(@name COLLATE "C");""");
            AddText(command, "name", name.Trim());
            var deleted = await command.ExecuteNonQueryAsync(cancellationToken) > 0;
            await session.CommitAsync(transaction, cancellationToken);
            return deleted;
        }, cancellationToken);

    private static SecretBlob ReadSecret(NpgsqlDataReader reader) => new(
        reader.GetString(0), reader.GetFieldValue<byte[]>(1), ReadTime(reader, 2), ReadTime(reader, 3));
}
