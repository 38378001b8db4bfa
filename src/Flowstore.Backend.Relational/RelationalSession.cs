using System.Data.Common;

namespace Flowstore.Backend.Relational;

/// <summary>One operation's connection, and whether its commit was sent (after that, a failure is not retried).</summary>
internal class RelationalSession(DbConnection connection, SqlDialect dialect)
{
    public DbConnection Connection { get; } = connection;

    public bool CommitSent { get; private set; }

    /// <summary>Starts a transaction that writes (<see cref="SqlDialect.BeginAsync"/>).</summary>
    public Task<DbTransaction> BeginAsync(CancellationToken cancellationToken) => dialect.BeginAsync(Connection, cancellationToken);

    public async Task CommitAsync(DbTransaction transaction, CancellationToken cancellationToken)
    {
        CommitSent = true;
        await transaction.CommitAsync(cancellationToken);
    }

    public DbCommand Command(DbTransaction? transaction, string sql) => RelationalFlowBackend.Command(Connection, transaction, sql);
}
