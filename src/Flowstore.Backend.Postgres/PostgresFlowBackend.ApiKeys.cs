using System.Data.Common;
using Flowstore.Backend.Relational;

namespace Flowstore.Backend.Postgres;

// API keys (RelationalFlowBackend.ApiKeys.cs): PostgreSQL makes "create the first key" one step for every server on the
// database with a transaction-scoped advisory lock.
public sealed partial class PostgresFlowBackend
{
    /// <summary>"Keys" in ASCII: the advisory lock that makes "create the first key" one step for every server on the database.</summary>
    private const long FirstKeyLockKey = 0x4B657973;

    internal override async Task LockFirstApiKeyAsync(RelationalSession session, DbTransaction transaction, CancellationToken cancellationToken)
    {
        await using var lockCommand = session.Command(transaction, $"SELECT pg_advisory_xact_lock({FirstKeyLockKey});");
        await lockCommand.ExecuteNonQueryAsync(cancellationToken);
    }
}
