using System.Data.Common;
using Flowstore.Backend.Relational;

namespace Flowstore.Backend.Postgres;

// Schedules: one scheduler pass at a time over the whole database, whichever process (server) runs it.
public sealed partial class PostgresFlowBackend
{
    /// <summary>The advisory lock key of scheduler passes ("FlowSchd" in ASCII).</summary>
    internal const long SchedulerLockKey = 0x466C6F7753636864;

    /// <summary>
    /// Tries the scheduler's transaction-level advisory lock: held by one pass at a time across every process on the
    /// database, let go at commit or rollback (also when the process dies). Another pass skips its turn instead of waiting.
    /// </summary>
    internal override async Task<bool> TryLockSchedulerAsync(RelationalSession session, DbTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = session.Command(transaction, "SELECT pg_try_advisory_xact_lock(@key);");
        var key = command.CreateParameter();
        key.ParameterName = "key";
        key.Value = SchedulerLockKey;
        command.Parameters.Add(key);
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }
}
