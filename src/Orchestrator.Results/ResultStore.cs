using System.Data;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Orchestrator.Specs;

namespace Orchestrator.Results;

/// <summary>A user query that would write to the results database.</summary>
public sealed class ReadOnlyViolationException(string message) : Exception(message);

public sealed record QueryResult(IReadOnlyList<string> Columns, IReadOnlyList<object?[]> Rows);

public sealed record RunRow(string RunId, string Sweep, string Router, string Knobs, long Seed, string Status, int Attempt,
    string BaseHash, string ConfigJson, string? Error);

/// <summary>The SQLite results store: the narrow interface through which everything is written and
/// read. The orchestrator process is the only writer (workers hand it bundles); WAL and a busy
/// timeout let readers and a second orchestrator work alongside. All DML lives in this class, all
/// DDL in Schema.sql.</summary>
public sealed partial class ResultStore : IDisposable
{
    readonly SqliteConnection db;
    public string Path { get; }

    ResultStore(SqliteConnection db, string path) { this.db = db; Path = path; }

    public static int LatestVersion => Migrations.Max(m => m.version);

    static readonly Lazy<(List<(int version, string sql)> migrations, string views)> Schema = new(() =>
    {
        using var s = Assembly.GetExecutingAssembly().GetManifestResourceStream("Orchestrator.Results.Schema.sql")!;
        var text = new StreamReader(s).ReadToEnd();
        int v = text.IndexOf("\n-- views\n", StringComparison.Ordinal);
        var migrations = MigrationMarker().Split(text[..v]).Skip(1).Chunk(2)
            .Select(c => (int.Parse(c[0], CultureInfo.InvariantCulture), c[1])).ToList();
        return (migrations, text[v..]);
    });

    static List<(int version, string sql)> Migrations => Schema.Value.migrations;

    /// <summary>The DDL of one migration, for tests that build an older database.</summary>
    public static string MigrationSql(int version) => Migrations.Single(m => m.version == version).sql;

    [GeneratedRegex(@"^-- migration: (\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex MigrationMarker();

    [GeneratedRegex(@"CREATE VIEW (\w+)")]
    private static partial Regex ViewName();

    /// <summary>Opens (creating if needed) and migrates to the latest schema version.</summary>
    public static ResultStore Open(string path)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, DefaultTimeout = 30 }.ToString());
        db.Open();
        Exec(db, "PRAGMA busy_timeout = 30000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
        // Switching to WAL needs a moment with no other connection reading: retry until it takes.
        for (int attempt = 0; ; attempt++)
        {
            using var cmd = db.CreateCommand();
            cmd.CommandText = "PRAGMA journal_mode = WAL";
            if (string.Equals(cmd.ExecuteScalar() as string, "wal", StringComparison.OrdinalIgnoreCase)) break;
            if (attempt >= 200) throw new InvalidOperationException($"cannot switch {path} to WAL mode: another process keeps it busy");
            Thread.Sleep(50);
        }
        var store = new ResultStore(db, path);
        store.Migrate();
        return store;
    }

    /// <summary>Read-only, twice over: the file is opened SQLITE_OPEN_READONLY with PRAGMA query_only,
    /// and user SQL is also checked statement by statement before it runs (<see cref="QueryReadOnly"/>).</summary>
    public static ResultStore OpenReadOnly(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"no results database at {path}: run `make sweep` first");
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        db.Open();
        Exec(db, "PRAGMA busy_timeout = 30000; PRAGMA query_only = 1;");
        return new ResultStore(db, path);
    }

    static readonly string[] RefusedFirstWords = ["PRAGMA", "ATTACH", "DETACH", "VACUUM", "REINDEX", "ANALYZE"];

    /// <summary>Runs SQL typed by a user: every statement must be one that SQLite itself reports as
    /// read-only (sqlite3_stmt_readonly), and settings (PRAGMA, ATTACH, …) are refused, so a query can
    /// never change the database — not even by turning query_only off first.</summary>
    public QueryResult QueryReadOnly(string sql)
    {
        var handle = db.Handle!;
        var remaining = sql;
        while (!string.IsNullOrWhiteSpace(remaining))
        {
            int rc = SQLitePCL.raw.sqlite3_prepare_v2(handle, remaining, out var stmt, out var tail);
            if (rc != SQLitePCL.raw.SQLITE_OK)
                throw new SqliteException(SQLitePCL.raw.sqlite3_errmsg(handle).utf8_to_string(), rc);
            using (stmt)
            {
                if (stmt.IsInvalid) break;    // only comments or whitespace left
                var text = SQLitePCL.raw.sqlite3_sql(stmt).utf8_to_string().TrimStart();
                var first = new string(text.TakeWhile(char.IsLetter).ToArray()).ToUpperInvariant();
                if (SQLitePCL.raw.sqlite3_stmt_readonly(stmt) == 0 || RefusedFirstWords.Contains(first))
                    throw new ReadOnlyViolationException($"refused: queries are read-only and this statement would change the database or its settings: {Shorten(text)}");
            }
            remaining = tail;
        }
        return Query(sql);
    }

    static string Shorten(string s) => s.Length <= 80 ? s : s[..77] + "...";

    public int Version => Convert.ToInt32(Scalar("PRAGMA user_version"), CultureInfo.InvariantCulture);

    void Migrate()
    {
        if (Version >= LatestVersion) return;
        InTransaction(() =>
        {
            int current = Version;    // re-read under the write lock: another process may have migrated
            if (current >= LatestVersion) return;
            foreach (var view in ViewName().Matches(Schema.Value.views).Select(m => m.Groups[1].Value))
                Exec(db, $"DROP VIEW IF EXISTS {view}");
            foreach (var (version, sql) in Migrations.Where(m => m.version > current))
            {
                Exec(db, sql);
                Exec(db, $"PRAGMA user_version = {version}");
            }
            Exec(db, Schema.Value.views);
        });
    }

    static void Exec(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    object? Scalar(string sql, params (string, object?)[] args)
    {
        using var cmd = Command(sql, args);
        return cmd.ExecuteScalar();
    }

    SqliteCommand Command(string sql, params (string name, object? value)[] args)
    {
        var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v ?? DBNull.Value);
        return cmd;
    }

    int Run(string sql, params (string, object?)[] args)
    {
        using var cmd = Command(sql, args);
        return cmd.ExecuteNonQuery();
    }

    /// <summary>BEGIN IMMEDIATE takes the write lock up front, so two writers queue on the busy
    /// timeout instead of failing with "database is locked" on lock upgrade.</summary>
    public void InTransaction(Action body)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                Exec(db, "BEGIN IMMEDIATE");
                break;
            }
            catch (SqliteException e) when (e.SqliteErrorCode == 5 && attempt < 100) { Thread.Sleep(50 + attempt * 10); }
        }
        try { body(); Exec(db, "COMMIT"); }
        catch { Exec(db, "ROLLBACK"); throw; }
    }

    static string Now() => DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
    static double Epoch() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    // ------------------------------------------------------------------------------------------
    // Sweeps and runs

    /// <summary>Records the sweep and every planned run (new runs as pending; existing runs untouched).
    /// Returns the runs that were new.</summary>
    public IReadOnlyList<string> RegisterSweep(ExperimentSpec spec)
    {
        var added = new List<string>();
        InTransaction(() =>
        {
            var now = Now();
            Run("""
                INSERT INTO sweeps(name, description, spec_path, spec_text, spec_hash, created_at, updated_at)
                VALUES ($n, $d, $p, $t, $h, $now, $now)
                ON CONFLICT(name) DO UPDATE SET description = $d, spec_path = $p, spec_text = $t, spec_hash = $h, updated_at = $now
                """, ("$n", spec.Name), ("$d", spec.Description), ("$p", spec.Path), ("$t", spec.Text), ("$h", spec.Hash), ("$now", now));
            foreach (var r in spec.Runs)
            {
                var finetuneHash = RunConfig.FinetuneHash(r.Config);
                int n = Run("""
                    INSERT OR IGNORE INTO runs(run_id, sweep, config_hash, group_hash, base_hash, finetune_hash, router, knobs, curriculum,
                                               pretrain_k, seed, status, config_json, created_at)
                    VALUES ($id, $s, $id, $g, $b, $f, $r, $k, $c, $pk, $seed, 'pending', $j, $now)
                    """, ("$id", r.ConfigHash), ("$s", spec.Name), ("$g", r.GroupHash), ("$b", RunConfig.BaseHash(r.Config)),
                    ("$f", finetuneHash),
                    ("$r", r.Router), ("$k", RouterConfig.KnobsJson(r.Config)), ("$c", (string)r.Config["finetune.curriculum"]),
                    ("$pk", r.Config["pretrain.k"]), ("$seed", r.Seed), ("$j", r.CanonicalJson), ("$now", now));
                // Runs stored before migration 3 learn their fine-tune's identity when planned again; a run not
                // finished takes the current one (a finished run keeps the one its evaluation used).
                if (n == 0)
                    Run("UPDATE runs SET finetune_hash = $f WHERE run_id = $id AND (finetune_hash IS NULL OR status != 'completed')",
                        ("$f", finetuneHash), ("$id", r.ConfigHash));
                if (n > 0)
                {
                    added.Add(r.ConfigHash);
                    foreach (var (key, value) in r.Config)
                        Run("INSERT INTO params(run_id, key, type, value_int, value_real, value_text) VALUES ($id, $k, $t, $i, $r, $s)",
                            ("$id", r.ConfigHash), ("$k", key),
                            ("$t", value switch { long => "int", double => "float", bool => "bool", _ => "string" }),
                            ("$i", value is long l ? l : value is bool b ? (b ? 1 : 0) : null), ("$r", value is double d ? d : value is long l2 ? l2 : null),
                            ("$s", ConfigValues.Format(value)));
                }
                Run("INSERT OR REPLACE INTO sweep_runs(sweep, run_id, axes_json) VALUES ($s, $id, $a)",
                    ("$s", spec.Name), ("$id", r.ConfigHash), ("$a", JsonSerializer.Serialize(r.Axes)));
            }
        });
        return added;
    }

    public Dictionary<string, string> RunStatuses(IEnumerable<string> runIds)
    {
        var wanted = runIds.ToHashSet();
        var result = new Dictionary<string, string>();
        using var cmd = Command("SELECT run_id, status, lease_expires FROM runs");
        using var r = cmd.ExecuteReader();
        double now = Epoch();
        while (r.Read())
        {
            var id = r.GetString(0);
            if (!wanted.Contains(id)) continue;
            var status = r.GetString(1);
            // A 'running' row whose lease ran out belongs to an orchestrator that died.
            if (status == "running" && (r.IsDBNull(2) || r.GetDouble(2) < now)) status = "stale";
            result[id] = status;
        }
        return result;
    }

    /// <summary>Status of the given fine-tunes ('stale' for a running one whose lease ran out); absent: never planned.</summary>
    public Dictionary<string, string> FinetuneStatuses(IEnumerable<string> hashes) =>
        hashes.Distinct().Select(h => (h, st: ModelState(JobKind.Finetune, h).status)).Where(x => x.st != "missing").ToDictionary(x => x.h, x => x.st);

    public List<RunRow> Runs(string? sweep = null)
    {
        var sql = """
            SELECT r.run_id, coalesce(sr.sweep, r.sweep), r.router, r.knobs, r.seed, r.status, r.attempt, r.base_hash, r.config_json, r.error
            FROM runs r LEFT JOIN sweep_runs sr ON sr.run_id = r.run_id
            """ + (sweep != null ? " WHERE sr.sweep = $s" : " GROUP BY r.run_id") + " ORDER BY r.router, r.knobs, r.seed, r.run_id";
        using var cmd = Command(sql, ("$s", sweep));
        using var rd = cmd.ExecuteReader();
        var list = new List<RunRow>();
        while (rd.Read())
            list.Add(new RunRow(rd.GetString(0), rd.GetString(1), rd.GetString(2), rd.GetString(3), rd.GetInt64(4), rd.GetString(5),
                rd.GetInt32(6), rd.GetString(7), rd.GetString(8), rd.IsDBNull(9) ? null : rd.GetString(9)));
        return list;
    }

    // ------------------------------------------------------------------------------------------
    // Leases: a job is claimed with a lease that the owner renews; an expired lease means the
    // owner died (kill -9, power loss) and the job may be claimed again.

    static string Table(JobKind kind) => kind switch { JobKind.Pretrain => "bases", JobKind.Finetune => "finetunes", _ => "runs" };
    static string IdColumn(JobKind kind) => kind switch { JobKind.Pretrain => "base_hash", JobKind.Finetune => "finetune_hash", _ => "run_id" };

    /// <summary>Claims a job for `owner` if it is pending, stale (lease expired), or failed when retrying.</summary>
    public bool TryClaim(JobKind kind, string id, string owner, double leaseSeconds, bool retryFailed = false, bool force = false)
    {
        int n = 0;
        InTransaction(() =>
        {
            n = Run($"""
                UPDATE {Table(kind)} SET status = 'running', attempt = attempt + 1, lease_owner = $o, lease_expires = $e,
                       started_at = $now, finished_at = NULL, error = NULL, exit_code = NULL, stderr_tail = NULL
                WHERE {IdColumn(kind)} = $id AND (status = 'pending' OR status = 'skipped'
                       OR (status = 'running' AND (lease_expires IS NULL OR lease_expires < $t))
                       OR (status = 'failed' AND $retry) OR (status = 'completed' AND $force))
                """, ("$o", owner), ("$e", Epoch() + leaseSeconds), ("$now", Now()), ("$id", id), ("$t", Epoch()),
                ("$retry", retryFailed || force), ("$force", force));
        });
        return n == 1;
    }

    public void Heartbeat(JobKind kind, IEnumerable<string> ids, string owner, double leaseSeconds)
    {
        InTransaction(() =>
        {
            foreach (var id in ids)
                Run($"UPDATE {Table(kind)} SET lease_expires = $e WHERE {IdColumn(kind)} = $id AND lease_owner = $o AND status = 'running'",
                    ("$e", Epoch() + leaseSeconds), ("$id", id), ("$o", owner));
        });
    }

    public void MarkFailed(JobKind kind, string id, string error, int? exitCode, string? stderrTail)
    {
        InTransaction(() =>
        {
            Run($"""
                UPDATE {Table(kind)} SET status = 'failed', error = $err, exit_code = $code, stderr_tail = $tail,
                       finished_at = $now, lease_owner = NULL, lease_expires = NULL
                WHERE {IdColumn(kind)} = $id
                """, ("$err", error), ("$code", exitCode), ("$tail", stderrTail), ("$now", Now()), ("$id", id));
            Run("INSERT INTO events(job_id, time, kind, message) VALUES ($j, $t, 'failure', $m)",
                ("$j", JobIds.Of(kind, id)), ("$t", Now()), ("$m", error));
        });
    }

    /// <summary>A job that will not run because a job it depends on failed or was interrupted (one
    /// this orchestrator had already claimed and handed over included).</summary>
    public void MarkSkipped(JobKind kind, string id, string reason, string? owner = null)
    {
        InTransaction(() =>
        {
            Run($"""
                UPDATE {Table(kind)} SET status = 'skipped', error = $e, finished_at = $now, lease_owner = NULL, lease_expires = NULL
                WHERE {IdColumn(kind)} = $id AND status != 'completed' AND (status != 'running' OR lease_owner = $o)
                """, ("$e", reason), ("$now", Now()), ("$id", id), ("$o", owner));
            Run("INSERT INTO events(job_id, time, kind, message) VALUES ($j, $t, 'skipped', $m)",
                ("$j", JobIds.Of(kind, id)), ("$t", Now()), ("$m", reason));
        });
    }

    /// <summary>A run whose own fine-tuning job failed has failed too: the fine-tune's reason, exit
    /// code and stderr tail are its own (a fine-tune belongs to the runs that differ only in evaluation).</summary>
    public void MarkFailedByFinetune(string runId, string finetuneHash, string? owner = null)
    {
        InTransaction(() =>
        {
            Run("""
                UPDATE runs SET status = 'failed', finished_at = $now, lease_owner = NULL, lease_expires = NULL,
                       error = (SELECT 'fine-tune: ' || error FROM finetunes WHERE finetune_hash = $f),
                       exit_code = (SELECT exit_code FROM finetunes WHERE finetune_hash = $f),
                       stderr_tail = (SELECT stderr_tail FROM finetunes WHERE finetune_hash = $f)
                WHERE run_id = $id AND status != 'completed' AND (status != 'running' OR lease_owner = $o)
                """, ("$now", Now()), ("$id", runId), ("$f", finetuneHash), ("$o", owner));
        });
    }

    /// <summary>Gives a claimed job back: pending again, to be claimed by the next sweep. Without a reason
    /// it never started (the claim is undone); with one (a SLURM job cancelled, timed out or preempted
    /// without a result), it counts as an attempt and an 'interrupted' event says why.</summary>
    public void Release(JobKind kind, string id, string owner, string? reason)
    {
        InTransaction(() =>
        {
            Run($"""
                UPDATE {Table(kind)} SET status = 'pending', lease_owner = NULL, lease_expires = NULL, error = $e, finished_at = $now,
                       attempt = attempt - ($e IS NULL)      -- a claim never started is not an attempt
                WHERE {IdColumn(kind)} = $id AND status = 'running' AND lease_owner = $o
                """, ("$e", reason), ("$now", Now()), ("$id", id), ("$o", owner));
            if (reason != null)
                Run("INSERT INTO events(job_id, time, kind, message) VALUES ($j, $t, 'interrupted', $m)",
                    ("$j", JobIds.Of(kind, id)), ("$t", Now()), ("$m", reason));
        });
    }

    /// <summary>A claimed job turned out to be still queued or running under the executor (its
    /// orchestrator died): following it is not a new attempt, and an 'adopted' event says so.</summary>
    public void Adopted(JobKind kind, string id, string owner, string executorId)
    {
        InTransaction(() =>
        {
            Run($"UPDATE {Table(kind)} SET attempt = max(attempt - 1, 1) WHERE {IdColumn(kind)} = $id AND lease_owner = $o",
                ("$id", id), ("$o", owner));
            Run("INSERT INTO events(job_id, time, kind, message) VALUES ($j, $t, 'adopted', $m)",
                ("$j", JobIds.Of(kind, id)), ("$t", Now()), ("$m", $"followed {executorId} after its orchestrator stopped"));
        });
    }

    public void SetExecutorId(JobKind kind, string id, string? executorId) =>
        InTransaction(() => Run($"UPDATE {Table(kind)} SET executor_job_id = $x WHERE {IdColumn(kind)} = $id", ("$x", executorId), ("$id", id)));

    public string? ExecutorId(JobKind kind, string id) =>
        Scalar($"SELECT executor_job_id FROM {Table(kind)} WHERE {IdColumn(kind)} = $id", ("$id", id)) as string;

    /// <summary>Executor ids of the jobs of a sweep that an orchestrator holds (runs, their fine-tunes
    /// and bases), for `orchestrator cancel`.</summary>
    public List<(JobKind kind, string id, string executorId)> ActiveExecutorIds(string sweep)
    {
        var list = new List<(JobKind, string, string)>();
        using var cmd = Command("""
            SELECT 2, r.run_id, r.executor_job_id FROM runs r JOIN sweep_runs s ON s.run_id = r.run_id
              WHERE s.sweep = $s AND r.status = 'running' AND r.executor_job_id IS NOT NULL
            UNION SELECT 1, f.finetune_hash, f.executor_job_id FROM finetunes f
              WHERE f.status = 'running' AND f.executor_job_id IS NOT NULL
                AND f.finetune_hash IN (SELECT r.finetune_hash FROM runs r JOIN sweep_runs s ON s.run_id = r.run_id WHERE s.sweep = $s)
            UNION SELECT 0, b.base_hash, b.executor_job_id FROM bases b
              WHERE b.status = 'running' AND b.executor_job_id IS NOT NULL
                AND b.base_hash IN (SELECT r.base_hash FROM runs r JOIN sweep_runs s ON s.run_id = r.run_id WHERE s.sweep = $s)
            """, ("$s", sweep));
        using var r = cmd.ExecuteReader();
        while (r.Read()) list.Add(((JobKind)r.GetInt32(0), r.GetString(1), r.GetString(2)));
        return list;
    }

    /// <summary>State of a pretraining or fine-tuning job; a 'running' one whose lease ran out is 'stale'.</summary>
    public (string status, string? checkpoint, string? sha256, string? error) ModelState(JobKind kind, string id)
    {
        using var cmd = Command($"SELECT status, checkpoint_path, checkpoint_sha256, error, lease_expires FROM {Table(kind)} WHERE {IdColumn(kind)} = $b", ("$b", id));
        using var r = cmd.ExecuteReader();
        if (!r.Read()) return ("missing", null, null, null);
        var status = r.GetString(0);
        if (status == "running" && (r.IsDBNull(4) || r.GetDouble(4) < Epoch())) status = "stale";
        return (status, r.IsDBNull(1) ? null : r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3));
    }

    // ------------------------------------------------------------------------------------------
    // Bases

    public void EnsureBase(string baseHash, string configJson)
    {
        InTransaction(() => Run("INSERT OR IGNORE INTO bases(base_hash, config_json, created_at) VALUES ($b, $j, $now)",
            ("$b", baseHash), ("$j", configJson), ("$now", Now())));
    }

    public void EnsureFinetune(string finetuneHash, string baseHash, string configJson)
    {
        InTransaction(() => Run("INSERT OR IGNORE INTO finetunes(finetune_hash, base_hash, config_json, created_at) VALUES ($f, $b, $j, $now)",
            ("$f", finetuneHash), ("$b", baseHash), ("$j", configJson), ("$now", Now())));
    }

    // ------------------------------------------------------------------------------------------
    // Ingest: one bundle, one transaction; re-ingesting the same bundle replaces its rows.

    public void Ingest(RunBundle b)
    {
        var kind = JobIds.KindOf(b.Kind);
        string jobId = JobIds.Of(kind, b.RunId);
        InTransaction(() =>
        {
            // Rows of an earlier attempt are replaced; the history (failures, retries, skips, interruptions, adoptions) is kept.
            Run("DELETE FROM metrics WHERE job_id = $j", ("$j", jobId));
            Run("DELETE FROM artifacts WHERE job_id = $j", ("$j", jobId));
            Run("DELETE FROM events WHERE job_id = $j AND kind NOT IN ('failure', 'retry', 'skipped', 'interrupted', 'adopted')", ("$j", jobId));
            if (kind == JobKind.Evaluate)
                foreach (var t in new[] { "final_metrics", "task_results", "expert_usage", "routing_stats", "token_class_usage", "word_usage" })
                    Run($"DELETE FROM {t} WHERE run_id = $j", ("$j", b.RunId));

            using (var cmd = Command("INSERT OR REPLACE INTO metrics(job_id, phase, key, step, value, wall_seconds) VALUES ($j, $p, $k, $s, $v, $w)"))
            {
                var ps = new[] { "$j", "$p", "$k", "$s", "$v", "$w" }.Select(n => cmd.Parameters.Add(new SqliteParameter(n, null))).ToArray();
                cmd.Prepare();
                foreach (var m in b.Steps)
                {
                    ps[0].Value = jobId; ps[1].Value = m.Phase; ps[2].Value = m.Key; ps[3].Value = m.Step;
                    ps[4].Value = double.IsFinite(m.Value) ? m.Value : DBNull.Value; ps[5].Value = m.WallSeconds;
                    cmd.ExecuteNonQuery();
                }
            }
            foreach (var e in b.Events)
                Run("INSERT INTO events(job_id, time, kind, message, step) VALUES ($j, $t, $k, $m, $s)",
                    ("$j", jobId), ("$t", Now()), ("$k", e.Kind), ("$m", e.Message), ("$s", e.Step));
            foreach (var a in b.Artifacts)
                Run("INSERT OR REPLACE INTO artifacts(job_id, path, kind, sha256, size) VALUES ($j, $p, $k, $h, $s)",
                    ("$j", jobId), ("$p", a.Path), ("$k", a.Kind), ("$h", a.Sha256), ("$s", a.Size));
            var provenance = JsonSerializer.Serialize(b.Provenance);

            if (kind != JobKind.Evaluate)
            {
                var ckpt = b.Artifacts.FirstOrDefault(a => a.Kind == "checkpoint");
                Run($"""
                    UPDATE {Table(kind)} SET status = 'completed', checkpoint_path = $p, checkpoint_sha256 = $h, finished_at = $now,
                           provenance_json = $prov, lease_owner = NULL, lease_expires = NULL, error = NULL, exit_code = 0
                    WHERE {IdColumn(kind)} = $b
                    """, ("$p", ckpt?.Path), ("$h", ckpt?.Sha256), ("$now", Now()), ("$prov", provenance), ("$b", b.RunId));
                return;
            }

            foreach (var (k, v) in b.Final)
                Run("INSERT INTO final_metrics(run_id, key, value) VALUES ($r, $k, $v)", ("$r", b.RunId), ("$k", k), ("$v", double.IsFinite(v) ? v : null));
            foreach (var t in b.Tasks)
                Run("""
                    INSERT INTO task_results(run_id, task, difficulty, samples, correct, accuracy, answer_loss, mean_experts_per_token)
                    VALUES ($r, $t, $d, $n, $c, $a, $l, $m)
                    """, ("$r", b.RunId), ("$t", t.Task), ("$d", t.Difficulty), ("$n", t.Samples), ("$c", t.Correct),
                    ("$a", t.Samples == 0 ? 0.0 : t.Correct / (double)t.Samples), ("$l", t.AnswerLoss), ("$m", t.MeanExpertsPerToken));
            using (var cmd = Command("INSERT INTO expert_usage(run_id, layer, expert, tokens, share, mean_gate_probability) VALUES ($r, $l, $e, $t, $s, $g)"))
            {
                var ps = new[] { "$r", "$l", "$e", "$t", "$s", "$g" }.Select(n => cmd.Parameters.Add(new SqliteParameter(n, null))).ToArray();
                foreach (var x in b.Experts)
                {
                    ps[0].Value = b.RunId; ps[1].Value = x.Layer; ps[2].Value = x.Expert; ps[3].Value = x.Tokens; ps[4].Value = x.Share;
                    ps[5].Value = x.MeanGateProbability;
                    cmd.ExecuteNonQuery();
                }
            }
            foreach (var l in b.Layers)
                Run("""
                    INSERT INTO routing_stats(run_id, layer, tokens, mean_experts_per_token, experts_histogram, null_rate, all_null_rate,
                                              entropy, margin, balance_loss, z_loss, entropy_loss)
                    VALUES ($r, $l, $t, $m, $h, $n, $an, $e, $mg, $b, $z, $el)
                    """, ("$r", b.RunId), ("$l", l.Layer), ("$t", l.Tokens), ("$m", l.MeanExpertsPerToken), ("$h", JsonSerializer.Serialize(l.Histogram)),
                    ("$n", l.NullRate), ("$an", l.AllNullRate), ("$e", l.Entropy), ("$mg", l.Margin), ("$b", l.BalanceLoss), ("$z", l.ZLoss), ("$el", l.EntropyLoss));
            foreach (var c in b.Classes)
                Run("INSERT INTO token_class_usage(run_id, layer, token_class, tokens, mean_experts_per_token) VALUES ($r, $l, $c, $t, $m)",
                    ("$r", b.RunId), ("$l", c.Layer), ("$c", c.TokenClass), ("$t", c.Tokens), ("$m", c.MeanExpertsPerToken));
            using (var cmd = Command("INSERT INTO word_usage(run_id, word, token_class, tokens, mean_experts_per_token) VALUES ($r, $w, $c, $t, $m)"))
            {
                var ps = new[] { "$r", "$w", "$c", "$t", "$m" }.Select(n => cmd.Parameters.Add(new SqliteParameter(n, null))).ToArray();
                foreach (var w in b.Words)
                {
                    ps[0].Value = b.RunId; ps[1].Value = w.Word; ps[2].Value = w.TokenClass; ps[3].Value = w.Tokens; ps[4].Value = w.MeanExpertsPerToken;
                    cmd.ExecuteNonQuery();
                }
            }
            Run("""
                UPDATE runs SET status = 'completed', finished_at = $now, provenance_json = $prov, lease_owner = NULL, lease_expires = NULL,
                       error = NULL, exit_code = 0, duration_seconds = $dur, finetune_hash = coalesce($ft, finetune_hash),
                       eval_loss = $l, perplexity = $p, accuracy = $a, mean_experts_per_token = $m, flops_per_token = $f
                WHERE run_id = $r
                """, ("$now", Now()), ("$prov", provenance), ("$r", b.RunId), ("$dur", Final(b, "job_seconds")),
                ("$ft", b.Provenance.GetValueOrDefault("finetune_hash")),
                ("$l", Final(b, "eval_loss")), ("$p", Final(b, "perplexity")), ("$a", Final(b, "accuracy")),
                ("$m", Final(b, "mean_experts_per_token")), ("$f", Final(b, "flops_per_token")));
        });
    }

    static double? Final(RunBundle b, string key) => b.Final.TryGetValue(key, out var v) && double.IsFinite(v) ? v : null;

    public void AddEvent(string jobId, string kind, string message, int? step = null) =>
        InTransaction(() => Run("INSERT INTO events(job_id, time, kind, message, step) VALUES ($j, $t, $k, $m, $s)",
            ("$j", jobId), ("$t", Now()), ("$k", kind), ("$m", message), ("$s", step)));

    // ------------------------------------------------------------------------------------------
    // Queries

    public QueryResult Query(string sql, params (string, object?)[] args)
    {
        using var cmd = Command(sql, args);
        using var r = cmd.ExecuteReader();
        var cols = Enumerable.Range(0, r.FieldCount).Select(r.GetName).ToList();
        var rows = new List<object?[]>();
        while (r.Read())
        {
            var row = new object?[r.FieldCount];
            for (int i = 0; i < row.Length; i++) row[i] = r.IsDBNull(i) ? null : r.GetValue(i);
            rows.Add(row);
        }
        return new QueryResult(cols, rows);
    }

    public void Dispose()
    {
        db.Close();
        db.Dispose();
    }
}
