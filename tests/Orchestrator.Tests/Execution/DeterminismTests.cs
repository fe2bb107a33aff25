using Orchestrator.Execution;
using Orchestrator.Results;
using Orchestrator.Specs;

namespace Orchestrator.Tests.Execution;

/// <summary>A sweep run twice with the same seed and the same job layout (jobs per device, hence threads per job)
/// stores bit-for-bit the same results: every loss, metric, item, routing statistic and token route. Only times
/// and throughputs differ.</summary>
public class DeterminismTests
{
    // Everything measured, nothing timed.
    static readonly string[] Tables =
    [
        "SELECT run_id, key, value FROM final_metrics WHERE key NOT IN ('eval_seconds', 'job_seconds', " +
        "'inference_tokens_per_second', 'train_seconds', 'train_tokens_per_second', 'eval_peak_memory_bytes', " +
        "'train_peak_memory_bytes') ORDER BY 1, 2",
        "SELECT job_id, phase, key, step, value FROM metrics WHERE key != 'tokens_per_second' ORDER BY 1, 2, 3, 4",
        "SELECT * FROM item_results ORDER BY 1, 2, 3, 4",
        "SELECT * FROM routing_stats ORDER BY 1, 2",
        "SELECT * FROM task_results ORDER BY 1, 2, 3",
        "SELECT * FROM token_routes ORDER BY 1, 2, 3",
        "SELECT * FROM coactivation ORDER BY 1, 2, 3, 4",
        "SELECT base_hash, checkpoint_sha256 FROM bases ORDER BY 1",
        "SELECT finetune_hash, checkpoint_sha256 FROM finetunes ORDER BY 1",
    ];

    static List<List<object?[]>> Sweep(ExperimentSpec spec) => Sweep(spec, out _);

    static List<List<object?[]>> Sweep(ExperimentSpec spec, out long workerProcesses)
    {
        var results = SweepTests.FreshResults();
        using var store = ResultStore.Open(Path.Combine(results, "orchestrator.db"));
        var summary = SweepTests.RunSweep(spec, store, new StringWriter(), new SweepOptions(JobsPerDevice: 1));
        Assert.Equal(spec.Runs.Count, summary.Completed);
        workerProcesses = (long)store.Query("SELECT count(DISTINCT executor_job_id) FROM jobs").Rows[0][0]!;
        return Tables.Select(q => store.Query(q).Rows.ToList()).ToList();
    }

    static void AssertSame(List<List<object?[]>> first, List<List<object?[]>> second)
    {
        for (int t = 0; t < Tables.Length; t++)
        {
            Assert.True(first[t].Count > 0, $"nothing stored for: {Tables[t]}");
            Assert.Equal(first[t], second[t]);
        }
    }

    /// <summary>A CPU worker serves the next job once its job finished (execution.reuse_workers): nothing a job leaves
    /// in the process (seeds, threads, the kept dataset, JIT-compiled code, libtorch's state) may change the next
    /// job's numbers.</summary>
    [Fact]
    public void A_worker_serving_job_after_job_gives_what_a_process_per_job_gives()
    {
        var spec = SpecLoader.LoadText(SweepTests.TinySpec);                // 1 base, 2 fine-tunes, 2 evaluations
        var served = Sweep(spec, out long servedBy);
        var fresh = Sweep(SpecLoader.LoadText(SweepTests.TinySpec + "\nexecution:\n  reuse_workers: false\n"),
            out long freshBy);
        Assert.Equal(1, servedBy);
        Assert.Equal(5, freshBy);
        AssertSame(served, fresh);
    }

    [Fact]
    public void The_same_seed_and_layout_give_bit_for_bit_the_same_results()
    {
        var text = SweepTests.TinySpec;
        var spec = SpecLoader.LoadText(text[..text.IndexOf("sweep:", StringComparison.Ordinal)] +
                                       "sweep:\n  router:\n    top_p: {p: 0.4}\n");
        AssertSame(Sweep(spec), Sweep(spec));
    }
}
