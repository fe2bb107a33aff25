using Orchestrator.Execution;
using Orchestrator.Results;

namespace Orchestrator.Cli;

/// <summary>`make status`: one row per run of each sweep with the stage it is in, the job it waits on, a stale
/// lease, the first line of its error, and for SLURM jobs their live state.</summary>
public static class StatusQuery
{
    const string Sql = """
        SELECT r.run_id, sr.sweep, r.router, r.knobs, r.seed, r.status,
               CASE WHEN r.status = 'completed' THEN 'evaluated'
                    WHEN coalesce(f.status, '') != 'completed' AND b.status = 'running' THEN 'pretraining'
                    WHEN f.status = 'running' THEN 'fine-tuning'
                    WHEN r.status = 'running' THEN 'evaluating'
                    WHEN f.status = 'completed' THEN 'fine-tuned'
                    ELSE coalesce(f.status, '') END AS stage,
               r.attempt,
               CASE WHEN (r.status = 'running' AND r.lease_expires < unixepoch('subsec'))
                      OR (f.status = 'running' AND f.lease_expires < unixepoch('subsec'))
                      OR (b.status = 'running' AND b.lease_expires < unixepoch('subsec'))
                    THEN 'stale lease' ELSE '' END AS note,
               -- the job the run waits on now (SLURM queues an evaluation before its fine-tune ends)
               CASE WHEN r.status = 'completed' THEN coalesce(r.executor_job_id, '')
                    WHEN coalesce(f.status, '') != 'completed' AND b.status = 'running' THEN b.executor_job_id
                    WHEN f.status = 'running' THEN f.executor_job_id
                    WHEN r.status = 'running' THEN r.executor_job_id
                    ELSE coalesce(r.executor_job_id, '') END AS job,
               substr(coalesce(r.error, ''), 1, 80) AS error
        FROM runs r JOIN sweep_runs sr ON sr.run_id = r.run_id
        LEFT JOIN finetunes f ON f.finetune_hash = r.finetune_hash
        LEFT JOIN bases b ON b.base_hash = r.base_hash
        WHERE $s IS NULL OR sr.sweep = $s
        ORDER BY sr.sweep, r.router, r.knobs, r.seed
        """;

    public static QueryResult Read(ResultStore s, string? sweep)
    {
        var q = s.Query(Sql, ("$s", sweep));
        // SLURM jobs: their live state from squeue (or how they ended, from scontrol/sacct).
        int jobCol = q.Columns.ToList().IndexOf("job");
        var slurmIds = q.Rows.Select(r => r[jobCol] as string).Where(x
            => x != null && x.StartsWith("slurm:")).Select(x => x![6..]).ToList();
        if (slurmIds.Count == 0) return q;
        var states = Slurm.States(slurmIds);
        var columns = q.Columns.Append("slurm_state").ToList();
        var rows = q.Rows.Select(r => r.Append(r[jobCol] is string j && j.StartsWith("slurm:")
            && r[5] is not "completed" ? states.GetValueOrDefault(j[6..], "") : "").ToArray()).ToList();
        return new QueryResult(columns, rows);
    }
}
