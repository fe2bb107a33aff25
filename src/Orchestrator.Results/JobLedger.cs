
namespace Orchestrator.Results;

/// <summary>The `jobs` table: every job of every sweep's graph and its lifecycle. A job is claimed with
/// a lease that its owner renews; an expired lease means the owner died (kill -9, power loss) and the
/// job may be claimed again. States are enums here and words only in SQL.</summary>
public sealed class JobLedger
{
    readonly Sql sql;
    internal JobLedger(Sql sql) { this.sql = sql; }

    /// <summary>Records a job as pending unless it is known already. Call inside a transaction.</summary>
    internal void Ensure(JobKey key) =>
        sql.Run("INSERT OR IGNORE INTO jobs(job_id, kind, subject, created_at) VALUES ($id, $k, $s, $now)",
            ("$id", key.Id), ("$k", key.Kind.Word()), ("$s", key.Subject), ("$now", Sql.Now()));

    /// <summary>The job's status; Pending for a job never recorded. One row by primary key: the runner asks this
    /// for every job it claims or follows, many times a second.</summary>
    public JobStatus Status(JobKey key)
    {
        using var cmd = sql.Command("SELECT state, lease_expires, lease_owner FROM jobs WHERE job_id = $id",
            ("$id", key.Id));
        using var r = cmd.ExecuteReader();
        return r.Read() ? StatusOf(r, 0) : JobStatus.Pending;
    }

    /// <summary>State, lease expiry and lease owner from columns `at`, `at + 1`, `at + 2`. A lease runs out when it
    /// expires, or at once when its owner is known to have died on this host.</summary>
    static JobStatus StatusOf(Microsoft.Data.Sqlite.SqliteDataReader r, int at) =>
        new(JobWords.ParseState(r.GetString(at)), r.IsDBNull(at + 1) || r.GetDouble(at + 1) < Sql.Epoch() ||
                                                  LeaseOwner.IsDead(r.IsDBNull(at + 2) ? null : r.GetString(at + 2)));

    public bool Exists(JobKey key) => sql.Scalar("SELECT 1 FROM jobs WHERE job_id = $id", ("$id", key.Id)) != null;

    public Dictionary<JobKey, JobStatus> Statuses(IEnumerable<JobKey> keys)
    {
        var wanted = keys.ToHashSet();
        var result = new Dictionary<JobKey, JobStatus>();
        if (wanted.Count == 0) return result;
        var kinds = wanted.Select(k => k.Kind.Word()).Distinct().ToList();
        var inKinds = string.Join(", ", kinds.Select((_, i) => "$k" + i));
        using var cmd = sql.Command(
            $"SELECT kind, subject, state, lease_expires, lease_owner FROM jobs WHERE kind IN ({inKinds})",
            kinds.Select((k, i) => ("$k" + i, (object?)k)).ToArray());
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            var key = new JobKey(JobWords.ParseKind(r.GetString(0)), r.GetString(1));
            if (!wanted.Contains(key)) continue;
            result[key] = StatusOf(r, 2);
        }
        return result;
    }

    /// <summary>Claims a job for `owner` if it is pending, skipped, stale (lease expired, or its owner known
    /// dead), failed when retrying, or completed when forced. Taking over a dead orchestrator's job records an
    /// 'adopted' event.</summary>
    public bool TryClaim(JobKey key, string owner, double leaseSeconds, bool retryFailed = false, bool force = false)
    {
        int n = 0;
        sql.InTransaction(() =>
        {
            var previous = sql.Scalar("SELECT lease_owner FROM jobs WHERE job_id = $id AND state = 'running'",
                ("$id", key.Id)) as string;
            var dead = LeaseOwner.IsDead(previous) ? previous : null;
            n = sql.Run("""
                UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_owner = $o, lease_expires = $e,
                       started_at = $now, finished_at = NULL, error = NULL, exit_code = NULL, stderr_tail = NULL
                WHERE job_id = $id AND (state IN ('pending', 'skipped')
                       OR (state = 'running' AND (lease_expires IS NULL OR lease_expires < $t OR lease_owner = $dead))
                       OR (state = 'failed' AND $retry) OR (state = 'completed' AND $force))
                """, ("$o", owner), ("$e", Sql.Epoch() + leaseSeconds), ("$now", Sql.Now()), ("$id", key.Id),
                ("$t", Sql.Epoch()), ("$retry", retryFailed || force), ("$force", force), ("$dead", dead));
            if (n == 1 && previous != null)
                AddEvent(key, "adopted", $"lease of orchestrator {previous} taken over " +
                                         (dead != null ? "at once: it is no longer running" : "after it expired"));
        });
        return n == 1;
    }

    public void Heartbeat(IEnumerable<JobKey> keys, string owner, double leaseSeconds) => sql.InTransaction(() =>
    {
        foreach (var key in keys)
            sql.Run("UPDATE jobs SET lease_expires = $e WHERE job_id = $id AND lease_owner = $o AND state = 'running'",
                ("$e", Sql.Epoch() + leaseSeconds), ("$id", key.Id), ("$o", owner));
    });

    public void Fail(JobKey key, string error, int? exitCode, string? stderrTail) => sql.InTransaction(() =>
    {
        sql.Run("""
            UPDATE jobs SET state = 'failed', error = $err, exit_code = $code, stderr_tail = $tail,
                   finished_at = $now, lease_owner = NULL, lease_expires = NULL
            WHERE job_id = $id
            """, ("$err", error), ("$code", exitCode), ("$tail", stderrTail), ("$now", Sql.Now()), ("$id", key.Id));
        AddEvent(key, "failure", error);
    });

    /// <summary>A job that will not run because a job it depends on failed or was interrupted (one this
    /// orchestrator had already claimed and handed over included).</summary>
    public void Skip(JobKey key, string reason, string? owner = null) => sql.InTransaction(() =>
    {
        sql.Run("""
            UPDATE jobs SET state = 'skipped', error = $e, finished_at = $now, lease_owner = NULL, lease_expires = NULL
            WHERE job_id = $id AND state != 'completed' AND (state != 'running' OR lease_owner = $o)
            """, ("$e", reason), ("$now", Sql.Now()), ("$id", key.Id), ("$o", owner));
        AddEvent(key, "skipped", reason);
    });

    /// <summary>A job fails because the job it depends on failed: that job's reason (prefixed), exit code
    /// and stderr tail become its own (a fine-tune belongs to the runs that differ only in evaluation).</summary>
    public void FailWith(JobKey key, JobKey cause, string? owner = null) => sql.InTransaction(() =>
    {
        sql.Run("""
            UPDATE jobs SET state = 'failed', finished_at = $now, lease_owner = NULL, lease_expires = NULL,
                   error = (SELECT $prefix || error FROM jobs WHERE job_id = $c),
                   exit_code = (SELECT exit_code FROM jobs WHERE job_id = $c),
                   stderr_tail = (SELECT stderr_tail FROM jobs WHERE job_id = $c)
            WHERE job_id = $id AND state != 'completed' AND (state != 'running' OR lease_owner = $o)
            """, ("$now", Sql.Now()), ("$id", key.Id), ("$c", cause.Id), ("$o", owner),
            ("$prefix", cause.Kind == JobKind.Finetune ? "fine-tune: " : cause.Kind.Word() + ": "));
    });

    /// <summary>Gives a claimed job back: pending again, to be claimed by the next sweep. Without a reason
    /// it never started (the claim is undone); with one (a SLURM job cancelled, timed out or preempted
    /// without a result), it counts as an attempt and an 'interrupted' event says why.</summary>
    public void Release(JobKey key, string owner, string? reason) => sql.InTransaction(() =>
    {
        sql.Run("""
            UPDATE jobs SET state = 'pending', lease_owner = NULL, lease_expires = NULL, error = $e, finished_at = $now,
                   attempt = attempt - ($e IS NULL)      -- a claim never started is not an attempt
            WHERE job_id = $id AND state = 'running' AND lease_owner = $o
            """, ("$e", reason), ("$now", Sql.Now()), ("$id", key.Id), ("$o", owner));
        if (reason != null) AddEvent(key, "interrupted", reason);
    });

    /// <summary>A claimed job turned out to be still queued or running under the executor (its
    /// orchestrator died): following it is not a new attempt, and an 'adopted' event says so.</summary>
    public void Adopt(JobKey key, string owner, string executorId) => sql.InTransaction(() =>
    {
        sql.Run("UPDATE jobs SET attempt = max(attempt - 1, 1) WHERE job_id = $id AND lease_owner = $o",
            ("$id", key.Id), ("$o", owner));
        AddEvent(key, "adopted", $"followed {executorId} after its orchestrator stopped");
    });

    /// <summary>The job ended with a result: completed, with the provenance of the attempt. Call inside
    /// the ingest transaction.</summary>
    internal void Complete(JobKey key, string provenanceJson) =>
        sql.Run("""
            UPDATE jobs SET state = 'completed', finished_at = $now, provenance_json = $prov, lease_owner = NULL,
                   lease_expires = NULL, error = NULL, exit_code = 0
            WHERE job_id = $id
            """, ("$now", Sql.Now()), ("$prov", provenanceJson), ("$id", key.Id));

    public void SetExecutorId(JobKey key, string? executorId) => sql.InTransaction(() =>
        sql.Run("UPDATE jobs SET executor_job_id = $x WHERE job_id = $id", ("$x", executorId), ("$id", key.Id)));

    public string? ExecutorId(JobKey key) =>
        sql.Scalar("SELECT executor_job_id FROM jobs WHERE job_id = $id", ("$id", key.Id)) as string;

    /// <summary>The failure reason recorded for a job.</summary>
    public string? Error(JobKey key) => sql.Scalar("SELECT error FROM jobs WHERE job_id = $id", ("$id",
        key.Id)) as string;

    /// <summary>Executor ids of the jobs of a sweep that an orchestrator holds (its runs' evaluations, their
    /// fine-tunes and bases), for `orchestrator cancel`.</summary>
    public List<(JobKey key, string executorId)> ActiveExecutorIds(string sweep)
    {
        var list = new List<(JobKey, string)>();
        using var cmd = sql.Command("""
            WITH mine AS (SELECT r.run_id, r.finetune_hash, r.base_hash FROM run_records r
                          JOIN sweep_runs s ON s.run_id = r.run_id WHERE s.sweep = $s)
            SELECT kind, subject, executor_job_id FROM jobs
            WHERE state = 'running' AND executor_job_id IS NOT NULL
              AND (job_id IN (SELECT run_id FROM mine)
                   OR job_id IN (SELECT 'finetune:' || finetune_hash FROM mine)
                   OR job_id IN (SELECT 'base:' || base_hash FROM mine))
            """, ("$s", sweep));
        using var r = cmd.ExecuteReader();
        while (r.Read()) list.Add((new JobKey(JobWords.ParseKind(r.GetString(0)), r.GetString(1)), r.GetString(2)));
        return list;
    }

    internal void AddEvent(JobKey key, string kind, string message, int? step = null) =>
        sql.Run("INSERT INTO events(job_id, time, kind, message, step) VALUES ($j, $t, $k, $m, $s)",
            ("$j", key.Id), ("$t", Sql.Now()), ("$k", kind), ("$m", message), ("$s", step));
}
