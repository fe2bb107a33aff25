using Microsoft.Data.Sqlite;
using Orchestrator.Results;
using Orchestrator.Specs;

namespace Orchestrator.Tests.Results;

public class StoreTests
{
    internal static string TempDb() => Path.Combine(Directory.CreateTempSubdirectory("orch-db").FullName, "t.db");

    internal static ExperimentSpec Spec(string name = "s", int seeds = 2) => SpecLoader.LoadText($$"""
        name: {{name}}
        sweep:
          seeds: {{seeds}}
          router:
            top_k: {k: 2}
            top_p: {p: [0.3, 0.4]}
        """);

    internal static JobResult Bundle(string runId, double flops, double acc, int layers = 2, int experts = 4) => new()
    {
        Kind = JobKind.Evaluate, Subject = runId,
        Provenance = { ["git_commit"] = "abc", ["device"] = "cpu" },
        Final = { ["eval_loss"] = 3.0, ["perplexity"] = Math.Exp(3), ["accuracy"] = acc, ["mean_experts_per_token"] = flops / 1000, ["flops_per_token"] = flops },
        Steps = Enumerable.Range(0, 5).Select(i => new MetricPoint("train_loss", i, 5 - i * 0.1, i, "finetune")).ToList(),
        Tasks = [new TaskEval("addition", 1, 4, 3, 0.5, 1.5), new TaskEval("addition", 2, 4, 1, 0.9, 1.8)],
        Layers = Enumerable.Range(0, layers).Select(l => new LayerStats(l, 100, 1.5 + l, [0, 50, 50, 0, 0], 0, 0, 1.2, 0.3, 0.01, 0, 0)).ToList(),
        Experts = Enumerable.Range(0, layers).SelectMany(l => Enumerable.Range(0, experts).Select(e => new ExpertLoad(l, e, 25 + e, 0.25, 0.25))).ToList(),
        Classes = [new ClassUsage(0, "content_word", 60, 1.7), new ClassUsage(0, "function_word", 40, 1.2)],
        Words = [new WordUsage("the", "function_word", 12, 1.1)],
    };

    [Fact]
    public void Registering_a_sweep_twice_keeps_one_row_per_configuration()
    {
        using var store = ResultStore.Open(TempDb());
        var spec = Spec();
        Assert.Equal(6, store.RegisterSweep(spec).Count);
        Assert.Empty(store.RegisterSweep(spec));
        Assert.Empty(store.RegisterSweep(Spec("other")));                 // same configurations, another sweep: no new runs
        Assert.Equal(6L, store.Query("SELECT count(*) FROM runs").Rows[0][0]);
        Assert.Equal(12L, store.Query("SELECT count(*) FROM sweep_runs").Rows[0][0]);
        Assert.Equal(0.3, store.Query("SELECT value_real FROM params WHERE key = 'router.p' ORDER BY value_real LIMIT 1").Rows[0][0]);
    }

    [Fact]
    public void Views_return_what_a_hand_written_join_returns()
    {
        using var store = ResultStore.Open(TempDb());
        var spec = Spec(seeds: 1);
        store.RegisterSweep(spec);
        var topk = spec.Runs.Single(r => r.Router == "top_k").ConfigHash;
        var topp = spec.Runs.Where(r => r.Router == "top_p").Select(r => r.ConfigHash).ToList();
        foreach (var id in spec.Runs.Select(r => r.ConfigHash)) Assert.True(store.Jobs.TryClaim(JobKey.Evaluate(id), "me", 60));
        store.Ingest(Bundle(topk, 2000, 0.5));
        store.Ingest(Bundle(topp[0], 1600, 0.6));
        var summary = store.Query("SELECT run_id, router, knobs, status, accuracy, flops_per_token, speedup_vs_topk FROM run_summary ORDER BY run_id").Rows;
        var hand = store.Query("""
            SELECT r.run_id, r.router, r.knobs, r.status, a.value, f.value,
                   (SELECT bf.value FROM runs b JOIN final_metrics bf ON bf.run_id = b.run_id AND bf.key = 'flops_per_token' WHERE b.router = 'top_k') / f.value
            FROM runs r LEFT JOIN final_metrics a ON a.run_id = r.run_id AND a.key = 'accuracy'
                        LEFT JOIN final_metrics f ON f.run_id = r.run_id AND f.key = 'flops_per_token'
            ORDER BY r.run_id
            """).Rows;
        Assert.Equal(hand.Count, summary.Count);
        for (int i = 0; i < hand.Count; i++) Assert.Equal(hand[i], summary[i]);
        Assert.Equal(1.25, (double)summary.Single(r => (string)r[0]! == topp[0])[6]!, 9);
        Assert.Equal("{\"entropy_coef\":0.0001,\"max_experts\":0,\"normalize\":false,\"p\":0.3}",
            store.Query("SELECT knobs FROM run_summary WHERE run_id = $r", ("$r", topp[0])).Rows[0][0]);
        Assert.Equal(store.Query("SELECT run_id, layer, mean_experts_per_token, null_rate, entropy FROM routing_stats ORDER BY 1, 2").Rows,
                     store.Query("SELECT run_id, layer, mean_experts_per_token, null_rate, entropy FROM usage_by_layer ORDER BY 1, 2").Rows);
        Assert.Equal(0.75, store.Query("SELECT accuracy FROM usage_by_difficulty WHERE run_id = $r AND difficulty = 1", ("$r", topk)).Rows[0][0]);
        Assert.Equal(2L, store.Query("SELECT count(*) FROM usage_by_token_class WHERE run_id = $r", ("$r", topk)).Rows[0][0]);
        Assert.Equal(8L, store.Query("SELECT count(*) FROM expert_usage WHERE run_id = $r", ("$r", topk)).Rows[0][0]);
    }

    [Fact]
    public void Ingesting_the_same_bundle_twice_does_not_duplicate_rows()
    {
        using var store = ResultStore.Open(TempDb());
        var spec = Spec(seeds: 1);
        store.RegisterSweep(spec);
        var id = spec.Runs[0].ConfigHash;
        store.Ingest(Bundle(id, 1000, 0.5));
        store.Ingest(Bundle(id, 1000, 0.5));
        Assert.Equal(5L, store.Query("SELECT count(*) FROM metrics WHERE job_id = $r", ("$r", id)).Rows[0][0]);
        Assert.Equal(8L, store.Query("SELECT count(*) FROM expert_usage").Rows[0][0]);
    }

    [Fact]
    public void A_read_only_connection_refuses_updates_and_deletes()
    {
        var path = TempDb();
        using (var store = ResultStore.Open(path)) store.RegisterSweep(Spec());
        using var ro = ResultStore.OpenReadOnly(path);
        // (runs is a view of run_records and jobs since migration 5: writes go at the tables themselves.)
        foreach (var sql in new[] { "UPDATE jobs SET state = 'failed'", "DELETE FROM run_records", "DROP TABLE run_records",
                                    "INSERT INTO sweeps VALUES ('x','','','','','','')", "PRAGMA query_only = 0; DELETE FROM jobs",
                                    "SELECT 1; DELETE FROM jobs", "ATTACH 'x.db' AS x", "CREATE TABLE t(a)", "DROP VIEW runs" })
            Assert.Throws<ReadOnlyViolationException>(() => ro.QueryReadOnly(sql));
        Assert.Contains("view", Assert.Throws<SqliteException>(() => ro.QueryReadOnly("UPDATE runs SET status = 'failed'")).Message);
        // Comments cannot hide a statement from SQLite's own judgement (the authorizer and stmt_readonly).
        foreach (var sql in new[] { "/**/ ATTACH 'x.db' AS x", "/* hi */ PRAGMA query_only = 0", "-- c\nPRAGMA journal_mode = DELETE",
                                    "SELECT 1; /**/ DETACH main", "PRAGMA user_version = 7" })
            Assert.Throws<ReadOnlyViolationException>(() => ro.QueryReadOnly(sql));
        Assert.Equal(ResultStore.LatestVersion, Convert.ToInt32(ro.QueryReadOnly("PRAGMA user_version").Rows[0][0]));
        Assert.Contains("run_id", ro.QueryReadOnly("SELECT name FROM pragma_table_info('run_records')").Rows.Select(r => r[0]));
        // A query that never ends is stopped at its time limit.
        var forever = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n";
        var sw = System.Diagnostics.Stopwatch.StartNew();
        Assert.Contains("stopped after 0.5 s", Assert.Throws<QueryTimeoutException>(
            () => ro.QueryReadOnly(forever, TimeSpan.FromSeconds(0.5))).Message);
        Assert.True(sw.Elapsed.TotalSeconds < 20);
        // The connection itself refuses writes too, whatever path they take.
        Assert.Throws<SqliteException>(() => ro.Query("DELETE FROM jobs"));
        Assert.Equal(6L, ro.QueryReadOnly("SELECT count(*) FROM runs -- a comment").Rows[0][0]);
        Assert.Equal(6L, ro.Query("SELECT count(*) FROM runs WHERE status = 'pending'").Rows[0][0]);
    }

    [Fact]
    public void An_older_schema_migrates_with_its_data_intact()
    {
        var path = TempDb();
        using (var c = new SqliteConnection($"Data Source={path}"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            // A version-1 database with one finished run in it.
            cmd.CommandText = ResultStore.MigrationSql(1) + """
                PRAGMA user_version = 1;
                INSERT INTO sweeps VALUES ('old', '', 'x.yaml', 'name: old', 'h', '2026-01-01', '2026-01-01');
                INSERT INTO runs(run_id, sweep, config_hash, group_hash, base_hash, router, knobs, curriculum, pretrain_k, seed, status, config_json, created_at)
                VALUES ('r1', 'old', 'r1', 'g1', 'b1', 'top_k', '{"k":2}', 'none', 2, 0, 'completed', '{}', '2026-01-01');
                INSERT INTO final_metrics VALUES ('r1', 'accuracy', 0.42);
                UPDATE runs SET accuracy = 0.42 WHERE run_id = 'r1';
                """;
            cmd.ExecuteNonQuery();
        }
        using var store = ResultStore.Open(path);
        Assert.Equal(ResultStore.LatestVersion, store.Version);
        Assert.True(ResultStore.LatestVersion >= 2);
        var row = store.Query("SELECT run_id, status, accuracy, duration_seconds FROM run_summary").Rows.Single();
        Assert.Equal(new object?[] { "r1", "completed", 0.42, null }, row);
    }

    [Fact]
    public void Leases_let_one_owner_claim_and_an_expired_lease_be_claimed_again()
    {
        using var store = ResultStore.Open(TempDb());
        var spec = Spec(seeds: 1);
        store.RegisterSweep(spec);
        var id = spec.Runs[0].ConfigHash;
        Assert.True(store.Jobs.TryClaim(JobKey.Evaluate(id), "a", 60));
        Assert.False(store.Jobs.TryClaim(JobKey.Evaluate(id), "b", 60));                 // held
        Assert.Equal(JobState.Running, store.Jobs.Status(JobKey.Evaluate(id)).State);
        Assert.True(store.Jobs.TryClaim(JobKey.Evaluate(spec.Runs[1].ConfigHash), "a", -1)); // a lease already expired: its owner is dead
        Assert.True(store.Jobs.Status(JobKey.Evaluate(spec.Runs[1].ConfigHash)).IsStale);
        Assert.True(store.Jobs.TryClaim(JobKey.Evaluate(spec.Runs[1].ConfigHash), "b", 60));
        Assert.Equal(2L, store.Query("SELECT attempt FROM runs WHERE run_id = $r", ("$r", spec.Runs[1].ConfigHash)).Rows[0][0]);
        store.Jobs.Fail(JobKey.Evaluate(id), "boom", 1, "tail");
        Assert.False(store.Jobs.TryClaim(JobKey.Evaluate(id), "b", 60));
        Assert.True(store.Jobs.TryClaim(JobKey.Evaluate(id), "b", 60, retryFailed: true));
    }
}
