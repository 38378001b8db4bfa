using Microsoft.Data.Sqlite;

namespace Flowstore.Backend.Sqlite;

/// <summary>One schema step: applied once, in order, inside the migrating transaction.</summary>
internal sealed record SqliteMigration(int Version, string Name, string Sql);

/// <summary>
/// The schema, as an ordered list of migrations tracked with <c>PRAGMA user_version</c>. A released migration is
/// never edited: a change of schema is a new entry at the end.
/// </summary>
internal static class SqliteMigrations
{
    /// <summary>"Flow" in ASCII: marks a SQLite file as a Flowstore database (<c>PRAGMA application_id</c>).</summary>
    public const int ApplicationId = 0x466C6F77;

    public static IReadOnlyList<SqliteMigration> All { get; } =
    [
        new(1, "projects and flows", $"""
            PRAGMA application_id = {ApplicationId};

            CREATE TABLE projects (
                id          TEXT NOT NULL PRIMARY KEY,
                name        TEXT NOT NULL COLLATE NOCASE UNIQUE,
                description TEXT NULL,
                created     TEXT NOT NULL
            );

            CREATE TABLE flows (
                id               TEXT    NOT NULL PRIMARY KEY,
                project_id       TEXT    NOT NULL REFERENCES projects (id),
                name             TEXT    NOT NULL COLLATE NOCASE,
                version          INTEGER NOT NULL CHECK (version >= 1),
                version_group_id TEXT    NOT NULL,
                structure_json   TEXT    NOT NULL,
                structure_hash   TEXT    NOT NULL,
                registration_key TEXT    NOT NULL,
                storage_type     TEXT    NOT NULL,
                storage_json     TEXT    NOT NULL,
                labels_json      TEXT    NOT NULL DEFAULT '[]',
                archived         INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
                registered       TEXT    NOT NULL,
                description      TEXT    NULL,
                script_path      TEXT    NULL,
                script_sha256    TEXT    NULL,
                UNIQUE (version_group_id, version),
                UNIQUE (project_id, name COLLATE NOCASE, version)
            );

            CREATE INDEX ix_flows_project_archived ON flows (project_id, archived);
            """),

        // Run states are stored by name (RunState / TaskRunState); timestamps as fixed-width ISO UTC text, so text
        // comparison is time order. Run ids are not foreign keys of runs they were pinned from (history may be pruned).
        new(2, "runs, task runs and run logs", """
            CREATE TABLE runs (
                id                     TEXT    NOT NULL PRIMARY KEY,
                flow_id                TEXT    NOT NULL REFERENCES flows (id),
                state                  TEXT    NOT NULL
                                       CHECK (state IN ('Scheduled', 'Running', 'Success', 'Failed', 'Cancelled')),
                parameters_json        TEXT    NOT NULL DEFAULT '{}',
                created                TEXT    NOT NULL,
                started                TEXT    NULL,
                ended                  TEXT    NULL,
                script_sha256          TEXT    NULL,
                storage_version        TEXT    NULL,
                error                  TEXT    NULL,
                error_id               TEXT    NULL,
                agent                  TEXT    NULL,
                heartbeat              TEXT    NULL,
                cancel_requested       INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
                pinned_storage_version TEXT    NULL,
                pinned_from_run        TEXT    NULL
            );

            -- the queue: oldest Scheduled first; stale Running runs
            CREATE INDEX ix_runs_state_created ON runs (state, created);
            -- history: runs of a flow, newest first
            CREATE INDEX ix_runs_flow_created ON runs (flow_id, created);
            -- history: all runs, newest first (Get-FlowRun -Last n)
            CREATE INDEX ix_runs_created ON runs (created);

            CREATE TABLE task_runs (
                run_id   TEXT    NOT NULL REFERENCES runs (id),
                slug     TEXT    NOT NULL,
                name     TEXT    NOT NULL,
                state    TEXT    NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                started  TEXT    NULL,
                ended    TEXT    NULL,
                error    TEXT    NULL,
                PRIMARY KEY (run_id, slug)
            );

            CREATE TABLE run_logs (
                run_id  TEXT    NOT NULL REFERENCES runs (id),
                seq     INTEGER NOT NULL CHECK (seq >= 1),
                time    TEXT    NOT NULL,
                task    TEXT    NULL,
                level   TEXT    NOT NULL,
                message TEXT    NOT NULL,
                PRIMARY KEY (run_id, seq)
            );
            """),

        // Secrets are encrypted by the client before they reach the backend (AES-GCM, key in FLOWSTORE_HOME).
        new(3, "secrets", """
            CREATE TABLE secrets (
                name       TEXT NOT NULL COLLATE NOCASE PRIMARY KEY,
                ciphertext BLOB NOT NULL,
                created    TEXT NOT NULL,
                updated    TEXT NOT NULL
            );
            """),

        // API keys: the token's SHA-256 only (hex), never the token. A name is unique among keys not revoked, so a
        // revoked key's name can be given to its successor. Projects: a JSON array, empty for every project.
        // created_by on flows and runs: the name of the API key that made them (null when made locally).
        new(4, "api keys, and who made registrations and runs", """
            CREATE TABLE api_keys (
                id            TEXT NOT NULL PRIMARY KEY,
                name          TEXT NOT NULL COLLATE NOCASE,
                role          TEXT NOT NULL CHECK (role IN ('Reader', 'Registrar', 'Agent', 'Admin')),
                projects_json TEXT NOT NULL DEFAULT '[]',
                token_hash    TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
                created       TEXT NOT NULL,
                expires       TEXT NULL,
                revoked       TEXT NULL,
                created_by    TEXT NULL,
                last_used     TEXT NULL
            );

            CREATE UNIQUE INDEX ux_api_keys_active_name ON api_keys (name COLLATE NOCASE) WHERE revoked IS NULL;

            ALTER TABLE flows ADD COLUMN created_by TEXT NULL;
            ALTER TABLE runs ADD COLUMN created_by TEXT NULL;
            """),

        // What each registration was made from, known without compiling (script SHA-256, path and options), and how
        // many flows it registered: a registration with the same input is answered Skipped before compiling.
        new(5, "registration inputs", """
            ALTER TABLE flows ADD COLUMN registration_input TEXT NULL;
            ALTER TABLE flows ADD COLUMN registration_input_flows INTEGER NULL;
            CREATE INDEX ix_flows_registration_input ON flows (project_id, registration_input);
            """),

        // A server's answers to requests with an Idempotency-Key (scope: a hash of caller, path and key), so a retry
        // after a server restart is answered, not done again; forgotten after they expire.
        new(6, "idempotent answers", """
            CREATE TABLE idempotent_answers (
                scope        TEXT    NOT NULL PRIMARY KEY,
                status       INTEGER NOT NULL,
                content_type TEXT    NULL,
                body         BLOB    NOT NULL,
                created      TEXT    NOT NULL,
                expires      TEXT    NOT NULL
            );
            CREATE INDEX ix_idempotent_answers_expires ON idempotent_answers (expires);
            """),

        // The agents seen: each reports itself while it polls (name as in runs.agent, host, labels, version).
        new(7, "agents", """
            CREATE TABLE agents (
                name        TEXT NOT NULL PRIMARY KEY,
                host        TEXT NOT NULL,
                labels_json TEXT NOT NULL DEFAULT '[]',
                version     TEXT NULL,
                first_seen  TEXT NOT NULL,
                last_seen   TEXT NOT NULL
            );
            """),

        // Schedules: a flow version's schedule (JSON, part of its registration key); per flow (version group) whether it
        // is paused and up to when its occurrences are done with; each occurrence a run was created for, once per flow.
        new(8, "schedules", """
            ALTER TABLE flows ADD COLUMN schedule_json TEXT NULL;

            CREATE TABLE flow_schedules (
                version_group_id TEXT    NOT NULL PRIMARY KEY,
                paused           INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
                handled_until    TEXT    NOT NULL,
                last_occurrence  TEXT    NULL,
                last_run_id      TEXT    NULL,
                updated          TEXT    NOT NULL
            );

            CREATE TABLE schedule_occurrences (
                version_group_id TEXT NOT NULL,
                occurrence       TEXT NOT NULL,
                flow_id          TEXT NOT NULL REFERENCES flows (id),
                run_id           TEXT NOT NULL,
                created          TEXT NOT NULL,
                PRIMARY KEY (version_group_id, occurrence)
            );
            """),
    ];

    /// <summary>The schema version this code creates and understands.</summary>
    public static int LatestVersion => All[^1].Version;

    /// <summary>
    /// Brings the database up to <see cref="LatestVersion"/>. Safe to call from several processes at once: the
    /// version is read again after taking the write lock (BEGIN IMMEDIATE), so only one of them migrates.
    /// </summary>
    public static void Apply(SqliteConnection connection, string databasePath)
    {
        var current = ReadUserVersion(connection, null);
        CheckNotTooNew(current, databasePath);
        if (current == LatestVersion)
        {
            return;
        }

        using var transaction = connection.BeginTransaction(deferred: false);
        current = ReadUserVersion(connection, transaction);
        CheckNotTooNew(current, databasePath);
        foreach (var migration in All)
        {
            if (migration.Version <= current)
            {
                continue;
            }
            try
            {
                Execute(connection, transaction, migration.Sql);
                Execute(connection, transaction, $"PRAGMA user_version = {migration.Version};");
            }
            catch (SqliteException e) when (e.SqliteErrorCode is 13 /* SQLITE_FULL */ or 10 /* SQLITE_IOERR */ or 8 /* SQLITE_READONLY */ or 5 /* SQLITE_BUSY */)
            {
                // The file, not the migration, is at fault: say what is wrong with it.
                throw SqliteFlowBackend.Unavailable(e, databasePath);
            }
            catch (SqliteException e)
            {
                throw new FlowstoreException(ErrorIds.BackendUnavailable, FlowErrorKind.InvalidData,
                    $"Cannot migrate the Flowstore database '{databasePath}' to schema version {migration.Version} " +
                    $"({migration.Name}): {e.Message}", e) { Target = databasePath };
            }
        }
        transaction.Commit();
    }

    public static int ReadUserVersion(SqliteConnection connection, SqliteTransaction? transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "PRAGMA user_version;";
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void CheckNotTooNew(int current, string databasePath)
    {
        if (current > LatestVersion)
        {
            throw new FlowstoreException(ErrorIds.BackendSchemaTooNew, FlowErrorKind.InvalidOperation,
                $"The Flowstore database '{databasePath}' has schema version {current}, newer than this version of " +
                $"Flowstore understands ({LatestVersion}). Update Flowstore, or point FLOWSTORE_HOME at another folder.")
            { Target = databasePath };
        }
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
