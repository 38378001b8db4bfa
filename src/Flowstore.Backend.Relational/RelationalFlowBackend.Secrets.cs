using System.Data.Common;

namespace Flowstore.Backend.Relational;

/// <summary>Encrypted secrets: the backend stores ciphertext only (encryption happens in the client).</summary>
public abstract partial class RelationalFlowBackend
{
    private const string SecretColumns = "name, ciphertext, created, updated";

    public Task PutSecretAsync(string name, byte[] ciphertext, CancellationToken cancellationToken)
    {
        var secretName = ValidateName(name, "secret");
        ArgumentNullException.ThrowIfNull(ciphertext);
        return WithSessionAsync(async session =>
        {
            await using var transaction = await session.BeginAsync(cancellationToken);
            await using var command = session.Command(transaction, $"""
                INSERT INTO {Dialect.Schema}secrets (name, ciphertext, created, updated) VALUES (@name, @ciphertext, @now, @now)
                ON CONFLICT ({Dialect.NameKey("name")}) DO UPDATE SET ciphertext = excluded.ciphertext, updated = excluded.updated;
                """);
            Dialect.AddText(command, "name", secretName);
            Dialect.Add(command, "ciphertext", SqlType.Blob, ciphertext);
            Dialect.AddTime(command, "now", Now());
            await command.ExecuteNonQueryAsync(cancellationToken);
            await session.CommitAsync(transaction, cancellationToken);
            return true;
        }, cancellationToken);
    }

    public Task<SecretBlob?> GetSecretAsync(string name, CancellationToken cancellationToken)
        => WithSessionAsync(async session =>
        {
            await using var command = session.Command(null,
                $"SELECT {SecretColumns} FROM {Dialect.Schema}secrets WHERE {Dialect.NameEquals("name", "@name")};");
            Dialect.AddText(command, "name", name.Trim());
            return (await ReadAllAsync(command, ReadSecret, cancellationToken)).FirstOrDefault();
        }, cancellationToken);

    public Task<IReadOnlyList<SecretBlob>> ListSecretsAsync(CancellationToken cancellationToken)
        => WithSessionAsync<IReadOnlyList<SecretBlob>>(async session =>
        {
            await using var command = session.Command(null,
                $"SELECT {SecretColumns} FROM {Dialect.Schema}secrets ORDER BY {Dialect.NameOrder("name")}, {Dialect.Exact("name")};");
            return await ReadAllAsync(command, ReadSecret, cancellationToken);
        }, cancellationToken);

    public Task<bool> DeleteSecretAsync(string name, CancellationToken cancellationToken)
        => WithSessionAsync(async session =>
        {
            await using var transaction = await session.BeginAsync(cancellationToken);
            await using var command = session.Command(transaction,
                $"DELETE FROM {Dialect.Schema}secrets WHERE {Dialect.NameEquals("name", "@name")};");
            Dialect.AddText(command, "name", name.Trim());
            var deleted = await command.ExecuteNonQueryAsync(cancellationToken) > 0;
            await session.CommitAsync(transaction, cancellationToken);
            return deleted;
        }, cancellationToken);

    internal SecretBlob ReadSecret(DbDataReader reader)
        => new(reader.GetString(0), reader.GetFieldValue<byte[]>(1), Dialect.ReadTime(reader, 2), Dialect.ReadTime(reader, 3));
}
