using Npgsql;

namespace Flowstore.Backend.Postgres;

/// <summary>One schema step: applied once, in order, inside the migrating transaction.</summary>
internal sealed record PostgresMigration(int Version, string Name, string Sql);

/// <summary>
/// The schema, in the PostgreSQL schema (namespace) <c>flowstore</c>, as an ordered list of migrations; each applied
/// one is a row of <c>flowstore.schema_version</c>. A released migration is never edited: a change of schema is a new
/// entry at the end. The steps mirror the SQLite backend's (SqliteMigrations): names ignore ASCII case as SQLite's
/// NOCASE does (<c>lower(name COLLATE "C")</c> in unique indexes and comparisons), timestamps are timestamptz
/// (microseconds), and runs carry an identity column for insertion order (SQLite's rowid).
/// </summary>
internal static class PostgresMigrations
{
    /// <summary>The PostgreSQL schema that holds Flowstore's tables.</summary>
    public const string SchemaName = "flowstore";

    /// <summary>"Flow" in ASCII: the advisory lock key that serializes migrations across processes.</summary>
    public const long MigrationLockKey = 0x466C6F77;

    public static IReadOnlyList<PostgresMigration> All { get; } =
    [
        new(1, "projects and flows", """
            CREATE TABLE flowstore.projects (
                id          uuid        NOT NULL PRIMARY KEY,
                name        text        NOT NULL,
                description text        NULL,
                created     timestamptz NOT NULL
            );
            CREATE UNIQUE INDEX ux_projects_name ON flowstore.projects (lower(name COLLATE "C"));

            CREATE TABLE flowstore.flows (
                id               uuid        NOT NULL PRIMARY KEY,
                project_id       uuid        NOT NULL REFERENCES flowstore.projects (id),
                name             text        NOT NULL,
                version          integer     NOT NULL CHECK (version >= 1),
                version_group_id uuid        NOT NULL,
                structure_json   text        NOT NULL,
                structure_hash   text        NOT NULL,
                registration_key text        NOT NULL,
                storage_type     text        NOT NULL,
                storage_json     text        NOT NULL,
                labels_json      text        NOT NULL DEFAULT '[]',
                archived         boolean     NOT NULL DEFAULT false,
                registered       timestamptz NOT NULL,
                description      text        NULL,
                script_path      text        NULL,
                script_sha256    text        NULL,
                UNIQUE (version_group_id, version)
            );
            CREATE UNIQUE INDEX ux_flows_project_name_version ON flowstore.flows (project_id, lower(name COLLATE "C"), version);
            CREATE INDEX ix_flows_project_archived ON flowstore.flows (project_id, archived);
            """),

        new(2, "runs, task runs and run logs", """
            CREATE TABLE flowstore.runs (
                id                     uuid        NOT NULL PRIMARY KEY,
                seq                    bigint      GENERATED ALWAYS AS IDENTITY,
                flow_id                uuid        NOT NULL REFERENCES flowstore.flows (id),
                state                  text        NOT NULL
                                       CHECK (state IN ('Scheduled', 'Running', 'Success', 'Failed', 'Cancelled')),
                parameters_json        text        NOT NULL DEFAULT '{}',
                created                timestamptz NOT NULL,
                started                timestamptz NULL,
                ended                  timestamptz NULL,
                script_sha256          text        NULL,
                storage_version        text        NULL,
                error                  text        NULL,
                error_id               text        NULL,
                agent                  text        NULL,
                heartbeat              timestamptz NULL,
                cancel_requested       boolean     NOT NULL DEFAULT false,
                pinned_storage_version text        NULL,
                pinned_from_run        uuid        NULL
            );

            -- the queue: oldest Scheduled first; stale Running runs
            CREATE INDEX ix_runs_state_created ON flowstore.runs (state, created, seq);
            -- history: runs of a flow, newest first
            CREATE INDEX ix_runs_flow_created ON flowstore.runs (flow_id, created);
            -- history: all runs, newest first (Get-FlowRun -Last n)
            CREATE INDEX ix_runs_created ON flowstore.runs (created, seq);

            CREATE TABLE flowstore.task_runs (
                run_id   uuid        NOT NULL REFERENCES flowstore.runs (id),
                slug     text        NOT NULL,
                name     text        NOT NULL,
                state    text        NOT NULL,
                attempts integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                started  timestamptz NULL,
                ended    timestamptz NULL,
                error    text        NULL,
                PRIMARY KEY (run_id, slug)
            );

            CREATE TABLE flowstore.run_logs (
                run_id  uuid        NOT NULL REFERENCES flowstore.runs (id),
                seq     bigint      NOT NULL CHECK (seq >= 1),
                time    timestamptz NOT NULL,
                task    text        NULL,
                level   text        NOT NULL,
                message text        NOT NULL,
                PRIMARY KEY (run_id, seq)
            );
            """),

        // Secrets are encrypted by the client before they reach the backend (AES-GCM, key in FLOWSTORE_HOME).
        new(3, "secrets", """
            CREATE TABLE flowstore.secrets (
                name       text        NOT NULL,
                ciphertext bytea       NOT NULL,
                created    timestamptz NOT NULL,
                updated    timestamptz NOT NULL
            );
            CREATE UNIQUE INDEX ux_secrets_name ON flowstore.secrets (lower(name COLLATE "C"));
            """),

        // API keys: the token's SHA-256 only (hex), never the token. A name is unique among keys not revoked, so a
        // revoked key's name can be given to its successor. Projects: a JSON array, empty for every project.
        // created_by on flows and runs: the name of the API key that made them (null when made without one).
        new(4, "api keys, and who made registrations and runs", """
            CREATE TABLE flowstore.api_keys (
                id            uuid        NOT NULL PRIMARY KEY,
                name          text        NOT NULL,
                role          text        NOT NULL CHECK (role IN ('Reader', 'Registrar', 'Agent', 'Admin')),
                projects_json text        NOT NULL DEFAULT '[]',
                token_hash    text        NOT NULL UNIQUE CHECK (length(token_hash) = 64),
                created       timestamptz NOT NULL,
                expires       timestamptz NULL,
                revoked       timestamptz NULL,
                created_by    text        NULL,
                last_used     timestamptz NULL
            );
            CREATE UNIQUE INDEX ux_api_keys_active_name ON flowstore.api_keys (lower(name COLLATE "C")) WHERE revoked IS NULL;

            ALTER TABLE flowstore.flows ADD COLUMN created_by text NULL;
            ALTER TABLE flowstore.runs ADD COLUMN created_by text NULL;
            """),

        new(5, "registration inputs", """
            ALTER TABLE flowstore.flows ADD COLUMN registration_input text NULL;
            ALTER TABLE flowstore.flows ADD COLUMN registration_input_flows integer NULL;
            CREATE INDEX ix_flows_registration_input ON flowstore.flows (project_id, registration_input);
            """),

        // A server's answers to requests with an Idempotency-Key (scope: a hash of caller, path and key), so a retry
        // after a server restart (or at another server over this database) is answered, not done again.
        new(6, "idempotent answers", """
            CREATE TABLE flowstore.idempotent_answers (
                scope        text        NOT NULL PRIMARY KEY,
                status       integer     NOT NULL,
                content_type text        NULL,
                body         bytea       NOT NULL,
                created      timestamptz NOT NULL,
                expires      timestamptz NOT NULL
            );
            CREATE INDEX ix_idempotent_answers_expires ON flowstore.idempotent_answers (expires);
            """),

        // The agents seen: each reports itself while it polls (name as in runs.agent, host, labels, version).
        new(7, "agents", """
            CREATE TABLE flowstore.agents (
                name        text        NOT NULL PRIMARY KEY,
                host        text        NOT NULL,
                labels_json text        NOT NULL DEFAULT '[]',
                version     text        NULL,
                first_seen  timestamptz NOT NULL,
                last_seen   timestamptz NOT NULL
            );
            """),

        // Schedules: a flow version's schedule (JSON, part of its registration key); per flow (version group) whether it
        // is paused and up to when its occurrences are done with; each occurrence a run was created for, once per flow
        // (the primary key: two servers' schedulers never create one twice).
        new(8, "schedules", """
            ALTER TABLE flowstore.flows ADD COLUMN schedule_json text NULL;

            CREATE TABLE flowstore.flow_schedules (
                version_group_id uuid        NOT NULL PRIMARY KEY,
                paused           boolean     NOT NULL DEFAULT false,
                handled_until    timestamptz NOT NULL,
                last_occurrence  timestamptz NULL,
                last_run_id      uuid        NULL,
                updated          timestamptz NOT NULL
            );

            CREATE TABLE flowstore.schedule_occurrences (
                version_group_id uuid        NOT NULL,
                occurrence       timestamptz NOT NULL,
                flow_id          uuid        NOT NULL REFERENCES flowstore.flows (id),
                run_id           uuid        NOT NULL,
                created          timestamptz NOT NULL,
                PRIMARY KEY (version_group_id, occurrence)
            );
            """),
    ];

    /// <summary>The schema version this code creates and understands.</summary>
    public static int LatestVersion => All[^1].Version;

    /// <summary>
    /// Brings the database up to <paramref name="targetVersion"/> (default: <see cref="LatestVersion"/>) in one
    /// transaction. Safe from several processes at once: the version is read after taking an advisory lock, so only
    /// one of them migrates and the others find the work done. <see cref="ErrorIds.BackendSchemaTooNew"/> when the
    /// database has a newer schema than this code knows.
    /// </summary>
    public static async Task ApplyAsync(NpgsqlConnection connection, string description, CancellationToken cancellationToken,
        int? targetVersion = null)
    {
        var target = targetVersion ?? LatestVersion;
        if (await ReadVersionAsync(connection, null, cancellationToken) is { } seen)
        {
            CheckNotTooNew(seen, description);
            if (seen >= target)
            {
                return;
            }
        }

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, transaction, $"SELECT pg_advisory_xact_lock({MigrationLockKey});", cancellationToken);
        await ExecuteAsync(connection, transaction, $"""
            CREATE SCHEMA IF NOT EXISTS {SchemaName};
            CREATE TABLE IF NOT EXISTS {SchemaName}.schema_version (
                version integer     NOT NULL PRIMARY KEY,
                name    text        NOT NULL,
                applied timestamptz NOT NULL DEFAULT now()
            );
            """, cancellationToken);
        var current = await ReadVersionAsync(connection, transaction, cancellationToken) ?? 0;
        CheckNotTooNew(current, description);
        foreach (var migration in All)
        {
            if (migration.Version <= current || migration.Version > target)
            {
                continue;
            }
            try
            {
                await ExecuteAsync(connection, transaction, migration.Sql, cancellationToken);
                await using var record = new NpgsqlCommand(
                    $"INSERT INTO {SchemaName}.schema_version (version, name) VALUES (@version, @name);", connection, transaction);
                record.Parameters.AddWithValue("version", migration.Version);
                record.Parameters.AddWithValue("name", migration.Name);
                await record.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (PostgresException e) when (!PostgresFlowBackend.IsConnectionFailure(e) && e.SqlState is not "42501")
            {
                throw new FlowstoreException(ErrorIds.BackendUnavailable, FlowErrorKind.InvalidData,
                    $"Cannot migrate the Flowstore database ({description}) to schema version {migration.Version} " +
                    $"({migration.Name}): {e.MessageText}", e) { Target = description };
            }
        }
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>The highest applied migration; null when the database has no Flowstore schema yet.</summary>
    public static async Task<int?> ReadVersionAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction,
        CancellationToken cancellationToken)
    {
        await using (var exists = new NpgsqlCommand($"SELECT to_regclass('{SchemaName}.schema_version') IS NOT NULL;",
            connection, transaction))
        {
            if (await exists.ExecuteScalarAsync(cancellationToken) is not true)
            {
                return null;
            }
        }
        await using var max = new NpgsqlCommand($"SELECT COALESCE(MAX(version), 0) FROM {SchemaName}.schema_version;",
            connection, transaction);
        return Convert.ToInt32(await max.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void CheckNotTooNew(int current, string description)
    {
        if (current > LatestVersion)
        {
            throw new FlowstoreException(ErrorIds.BackendSchemaTooNew, FlowErrorKind.InvalidOperation,
                $"The Flowstore database ({description}) has schema version {current}, newer than this version of " +
                $"Flowstore understands ({LatestVersion}). Update Flowstore, or use another database.")
            { Target = description };
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
