using Microsoft.Data.Sqlite;
using Orchestrator.Execution;
using Orchestrator.Results;
using Orchestrator.Specs;

namespace Orchestrator.Tests.Results;

/// <summary>A database written by the previous release (schema 4: lifecycle columns in runs, bases and
/// finetunes) migrates to the job ledger with nothing lost, and a resumed sweep finds its work done.</summary>
public class MigrationTests
{
    static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "Results", "Fixtures", "release-ce62c3c.sql");

    static List<object?[]> Rows(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        var rows = new List<object?[]>();
        while (r.Read())
        {
            var row = new object?[r.FieldCount];
            for (int i = 0; i < row.Length; i++) row[i] = r.IsDBNull(i) ? null : r.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }

    // Every column the previous release had, in its order (`runs`, `bases`, `finetunes` were tables then).
    const string RunColumns = "run_id, sweep, config_hash, group_hash, base_hash, router, knobs, curriculum, pretrain_k, seed, " +
        "status, attempt, config_json, error, exit_code, stderr_tail, lease_owner, lease_expires, created_at, started_at, " +
        "finished_at, provenance_json, eval_loss, perplexity, accuracy, mean_experts_per_token, flops_per_token, " +
        "duration_seconds, finetune_hash, executor_job_id";
    const string ModelColumns = "status, attempt, config_json, checkpoint_path, checkpoint_sha256, error, exit_code, stderr_tail, " +
        "lease_owner, lease_expires, created_at, started_at, finished_at, provenance_json, executor_job_id";

    static readonly string[] Queries =
    [
        $"SELECT {RunColumns} FROM runs ORDER BY run_id",
        $"SELECT base_hash, {ModelColumns} FROM bases ORDER BY base_hash",
        $"SELECT finetune_hash, base_hash, {ModelColumns} FROM finetunes ORDER BY finetune_hash",
        "SELECT job_id, phase, key, step, value, wall_seconds FROM metrics ORDER BY 1, 2, 3, 4",
        "SELECT job_id, kind, message, step FROM events ORDER BY id",
        "SELECT * FROM final_metrics ORDER BY 1, 2", "SELECT * FROM params ORDER BY 1, 2",
        "SELECT * FROM artifacts ORDER BY 1, 2", "SELECT sweep, run_id FROM sweep_runs ORDER BY 1, 2",
        "SELECT * FROM expert_usage ORDER BY 1, 2, 3", "SELECT * FROM word_usage ORDER BY 1, 2",
        "SELECT run_id, sweep, router, knobs, curriculum, seed, status, eval_loss, perplexity, accuracy, " +
        "mean_experts_per_token, flops_per_token, speedup_vs_topk, group_hash, config_hash, base_hash, attempt, " +
        "finished_at, duration_seconds FROM run_summary ORDER BY run_id",
    ];

    [Fact]
    public void A_previous_release_database_migrates_to_the_job_ledger_with_nothing_lost()
    {
        var path = StoreTests.TempDb();
        var before = new List<List<object?[]>>();
        using (var c = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            c.Open();
            using (var cmd = c.CreateCommand())
            {
                cmd.CommandText = File.ReadAllText(Fixture);
                cmd.ExecuteNonQuery();
            }
            Assert.Equal(4L, Rows(c, "PRAGMA user_version")[0][0]);
            before.AddRange(Queries.Select(q => Rows(c, q)));
        }
        Assert.Equal(3, before[0].Count);                  // three runs, one failed
        Assert.True(before[3].Count > 100);                // per-step metrics

        using var store = ResultStore.Open(path);
        Assert.Equal(ResultStore.LatestVersion, store.Version);
        for (int i = 0; i < Queries.Length; i++)
            Assert.Equal(before[i], store.Query(Queries[i]).Rows);
        // Swept values, stored as text before migration 7, are typed as the run's params are.
        Assert.Equal([0.4, 2L], store.Query("""
            SELECT json_extract(axes_json, '$."router.p"') FROM sweep_runs WHERE run_id = '06699423b5dc70e7'
            UNION ALL SELECT json_extract(axes_json, '$."router.k"') FROM sweep_runs WHERE run_id = '34331f0175b77966'
            """).Rows.Select(r => r[0]));
        // One job per run, base and fine-tune, holding what the old tables held.
        Assert.Equal(7L, store.Query("SELECT count(*) FROM jobs").Rows[0][0]);
        Assert.Equal(new object?[] { "evaluate", "failed", 1L },
            store.Query("SELECT kind, state, attempt FROM jobs WHERE job_id = '6005c41c4f0482cd'").Rows.Single());
        Assert.Contains("injected failure", (string)store.Query("SELECT error FROM jobs WHERE kind = 'evaluate' AND state = 'failed'").Rows[0][0]!);
        Assert.Equal(4L, store.Query("SELECT count(*) FROM jobs WHERE kind IN ('pretrain', 'finetune') AND state = 'completed'").Rows[0][0]);
        // The lifecycle lives in jobs alone.
        foreach (var table in new[] { "run_records", "base_records", "finetune_records" })
            Assert.DoesNotContain("status", store.Query($"SELECT name FROM pragma_table_info('{table}')").Rows.Select(r => (string)r[0]!));

        // Resume: the same spec registers nothing new and its graph holds no job; --retry-failed re-runs
        // just the failed evaluation.
        var spec = SpecLoader.LoadText("""
            name: tiny
            base:
              model: {layers: 2, d_model: 32, heads: 2, experts: 4, expert_hidden: 32, vocab_size: 300, context: 32}
              data: {tasks: "addition,brackets", max_difficulty: 2}
              pretrain: {steps: 12, batch_size: 4, eval_every: 0}
              finetune: {steps: 6, batch_size: 4, eval_every: 0}
              eval: {text_batches: 1, task_samples: 2, max_answer_tokens: 4}
            sweep:
              router:
                top_k: {k: 2}
                top_p: {p: 0.4}
                adaptive_gating: {threshold: 0.1}
            """, "tiny.yaml");
        Assert.Empty(store.RegisterSweep(spec));
        Assert.Equal(7L, store.Query("SELECT count(*) FROM jobs").Rows[0][0]);
        var graph = JobGraph.Build(spec, new StoreLookup(store, spec.Runs), new GraphOptions());
        Assert.Empty(graph.Nodes);
        Assert.Equal(3, graph.AlreadyDone);
        var retry = JobGraph.Build(spec, new StoreLookup(store, spec.Runs), new GraphOptions(RetryFailed: true));
        Assert.Equal(JobKey.Evaluate("6005c41c4f0482cd"), retry.Nodes.Single(n => n.Kind == JobKind.Evaluate).Key);
    }
}
