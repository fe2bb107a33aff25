using Orchestrator.Results;

namespace Orchestrator.Tests.Results;

/// <summary>The views answer the usual questions without joins: one row per sweep membership (a run shared by two
/// sweeps is in both), router/knobs/sweep on the usage views, every configuration key a typed column.</summary>
public class ViewTests
{
    [Fact]
    public void A_run_shared_by_two_sweeps_is_found_under_each_in_every_view()
    {
        using var store = ResultStore.Open(StoreTests.TempDb());
        var first = StoreTests.Spec("first", seeds: 1);
        store.RegisterSweep(first);
        store.RegisterSweep(StoreTests.Spec("second", seeds: 1));             // the same three configurations
        var run = first.Runs.Single(r => r.Router == "top_k").ConfigHash;
        Assert.True(store.Jobs.TryClaim(JobKey.Evaluate(run), "me", 60));
        store.Ingest(StoreTests.Bundle(run, 2000, 0.5, layers: 2));
        foreach (var sweep in new[] { "first", "second" })
        {
            Assert.Equal(3L, store.Query("SELECT count(*) FROM run_summary WHERE sweep = $s", ("$s", sweep)).Rows[0][0]);
            Assert.Equal(3L, store.Query("SELECT count(*) FROM run_configs WHERE sweep = $s", ("$s", sweep)).Rows[0][0]);
            Assert.Equal(new object?[] { "top_k", "{\"k\":2}", 0L, 2L },
                store.Query("SELECT router, knobs, seed, count(*) FROM usage_by_layer WHERE sweep = $s GROUP BY 1, 2, 3",
                    ("$s", sweep)).Rows.Single());
            Assert.Equal(2L, store.Query("SELECT count(*) FROM usage_by_difficulty WHERE sweep = $s AND router = 'top_k'",
                ("$s", sweep)).Rows[0][0]);
            Assert.Equal(2L, store.Query("SELECT count(*) FROM usage_by_token_class WHERE sweep = $s AND seed = 0",
                ("$s", sweep)).Rows[0][0]);
        }
    }

    [Fact]
    public void Run_configs_has_every_key_as_a_column_typed_as_its_params_and_swept_values_are_typed()
    {
        using var store = ResultStore.Open(StoreTests.TempDb());
        var spec = StoreTests.Spec("s", seeds: 1);
        store.RegisterSweep(spec);
        var q = store.Query("""
            SELECT "router.type", "router.p", typeof("router.p"), "finetune.steps", typeof("finetune.steps"), seed
            FROM run_configs WHERE "router.type" = 'top_p' ORDER BY "router.p"
            """);
        Assert.Equal([0.3, 0.4], q.Rows.Select(r => r[1]));
        Assert.All(q.Rows, r => Assert.Equal(new object?[] { "real", "integer" }, new[] { r[2], r[4] }));
        var keys = store.Query("SELECT DISTINCT key FROM params").Rows.Select(r => (string)r[0]!).ToList();
        var columns = store.Query("SELECT name FROM pragma_table_info('run_configs')").Rows.Select(r => (string)r[0]!)
            .ToList();
        Assert.Equal(["sweep", "run_id", "status", .. keys.Order(StringComparer.Ordinal)], columns);
        foreach (var r in spec.Runs)
        {
            var config = (IDictionary<string, object>)r.Config;
            var row = store.Query($"SELECT {string.Join(", ", keys.Select(k => $"\"{k}\""))} FROM run_configs " +
                                  "WHERE run_id = $r", ("$r", r.ConfigHash)).Rows.Single();
            for (int i = 0; i < keys.Count; i++)
                Assert.Equal(config.TryGetValue(keys[i], out var v) ? v switch { bool b => b ? 1L : 0L, _ => v } : null,
                    row[i]);          // a key another router has is NULL for this one
        }
        Assert.Equal(0.4, store.Query("""
            SELECT json_extract(axes_json, '$."router.p"') FROM sweep_runs WHERE json_extract(axes_json, '$."router.p"') > 0.35
            """).Rows.Single()[0]);
    }
}
