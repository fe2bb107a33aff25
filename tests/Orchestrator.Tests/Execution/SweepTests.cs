using Orchestrator.Training.Recipes;
using System.Diagnostics;
using Orchestrator.Execution;
using Orchestrator.Reports;
using Orchestrator.Results;
using Orchestrator.Specs;

namespace Orchestrator.Tests.Execution;

/// <summary>Real sweeps: real worker child processes training a tiny MoE on the fortunes corpus.
/// Each test gets its own results folder (ORCHESTRATOR_RESULTS).</summary>
public class SweepTests
{
    internal const string TinySpec = """
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
        """;

    internal static string WorkerDll
    {
        get
        {
#if DEBUG
            const string config = "Debug";
#else
            const string config = "Release";
#endif
            return Path.Combine(Paths.RepoRoot, "src", "Orchestrator.Cli", "bin", config, "net10.0", "orchestrator.dll");
        }
    }

    internal static string FreshResults()
    {
        var dir = Directory.CreateTempSubdirectory("orch-results").FullName;
        Environment.SetEnvironmentVariable("ORCHESTRATOR_RESULTS", dir);
        Environment.SetEnvironmentVariable("ORCHESTRATOR_FAULT", null);
        return dir;
    }

    internal static SweepSummary RunSweep(ExperimentSpec spec, ResultStore store, StringWriter log, SweepOptions? opt = null) =>
        new SweepRunner(store, log).Run(spec, (opt ?? new SweepOptions()) with { WorkerCommand = $"dotnet {WorkerDll}" });

    static long Count(ResultStore s, string sql) => (long)s.Query(sql).Rows[0][0]!;

    [Fact]
    public void A_sweep_trains_a_shared_base_once_stores_every_measurement_and_resumes_without_redoing_work()
    {
        FreshResults();
        var spec = SpecLoader.LoadText(TinySpec, "tiny.yaml");
        using var store = ResultStore.Open(Paths.Database);
        var log = new StringWriter();
        var summary = RunSweep(spec, store, log);
        Assert.True(summary.ExitCode == 0, log.ToString());
        Assert.Equal(2, summary.Completed);
        Assert.Single(Directory.GetDirectories(Paths.Checkpoints));                 // one base for both routers
        Assert.Equal(1, log.ToString().Split('\n').Count(l => l.Contains("start pretrain")));
        // Every ticket names the sha256 of its input checkpoint, as the database recorded it (the worker checks it).
        var tickets = Directory.GetFiles(Paths.Jobs, "job.json", SearchOption.AllDirectories).Select(JobTicket.Load)
            .Where(t => t.Input != null).ToList();
        Assert.Equal(4, tickets.Count);                                              // 2 fine-tunes, 2 evaluations
        foreach (var t in tickets)
            Assert.Equal(store.Model(t.Kind == JobKind.Finetune ? JobKey.Base(t.Input!.Hash)
                : JobKey.Finetune(t.Input!.Hash)).Sha256, t.Input!.Sha256);
        Assert.Equal(2L, Count(store, "SELECT count(*) FROM run_summary WHERE status = 'completed' AND eval_loss > 0 AND flops_per_token > 0 AND perplexity > 1"));
        Assert.Equal(4L, Count(store, "SELECT count(*) FROM usage_by_layer"));                          // 2 runs × 2 layers
        // Routing kept from the base model, measured for every layer of every run.
        Assert.Equal(0L, Count(store, "SELECT count(*) FROM routing_stats WHERE NOT stability_from_base BETWEEN 0 AND 1 " +
                                      "OR stability_from_base IS NULL"));
        // The token-level view: the first held-out window (context 32), every MoE layer, both runs; top-k: 2 each.
        Assert.Equal(2L * 32 * 2, Count(store, "SELECT count(*) FROM token_routes"));
        Assert.Equal(0L, Count(store, """
            SELECT count(*) FROM token_routes t JOIN runs r USING (run_id)
            WHERE r.router = 'top_k' AND json_array_length(t.experts) != 2
            """));
        var texts = store.Query("SELECT run_id, token FROM token_routes WHERE layer = 0 ORDER BY run_id, position").Rows
            .GroupBy(r => (string)r[0]!, r => (string)r[1]!).Select(g => string.Concat(g)).Distinct().ToList();
        Assert.Single(texts);                                                                  // the same text in each
        Assert.Equal(16L, Count(store, "SELECT count(*) FROM expert_usage"));                           // × 4 experts
        Assert.Equal(8L, Count(store, "SELECT count(*) FROM usage_by_difficulty"));                     // 2 runs × 2 tasks × 2 difficulties
        Assert.True(Count(store, "SELECT count(DISTINCT token_class) FROM usage_by_token_class") >= 4);
        // Per item, for paired statistics: 2 tasks × 2 difficulties × 2 samples and 16 held-out windows per run,
        // the same items for both routers (same seed).
        Assert.Equal(2L * (8 + 16), Count(store, "SELECT count(*) FROM item_results"));
        Assert.Equal(8L, Count(store, """
            SELECT count(*) FROM item_results a JOIN item_results b ON (a.task, a.difficulty, a.item) =
                (b.task, b.difficulty, b.item) AND a.run_id < b.run_id WHERE a.task != 'text'
            """));
        Assert.Equal(0L, Count(store, "SELECT count(*) FROM item_results WHERE answer_tokens < 1 OR answer_logprob > 0"));
        Assert.Equal(0L, Count(store, """
            SELECT count(*) FROM task_results t WHERE t.task NOT LIKE 'mc:%' AND t.correct != (SELECT sum(correct)
                FROM item_results i WHERE i.run_id = t.run_id AND i.task = t.task AND i.difficulty = t.difficulty)
            """));
        Assert.Equal(2.0, (double)store.Query("SELECT max(answer_experts) FROM item_results i JOIN runs r " +
            "ON r.run_id = i.run_id WHERE r.router = 'top_k'").Rows[0][0]!, 9);
        Assert.True(Count(store, "SELECT count(*) FROM task_class_usage WHERE token_class = 'number'") > 0);
        Assert.Equal(12L, Count(store, "SELECT count(*) FROM metrics WHERE phase = 'pretrain' AND key = 'train_loss'"));
        Assert.Equal(1.0, (double)store.Query("SELECT speedup_vs_topk FROM run_summary WHERE router = 'top_k'").Rows[0][0]!, 9);
        Assert.Equal(2.0, (double)store.Query("SELECT mean_experts_per_token FROM run_summary WHERE router = 'top_k'").Rows[0][0]!, 9);
        var prov = (string)store.Query("SELECT provenance_json FROM runs LIMIT 1").Rows[0][0]!;
        foreach (var key in new[] { "git_commit", "torchsharp", "libtorch", "dotnet", "device", "host", "seed", "command_line", "config_json" })
            Assert.Contains($"\"{key}\"", prov);
        // Workers run with the JIT's tiers and the background GC off (WorkerExit.RuntimeSettings), and say so.
        Assert.All(store.Query("SELECT json_extract(provenance_json, '$.dotnet_settings') FROM jobs").Rows,
            r => Assert.Equal("DOTNET_TieredCompilation=0 DOTNET_gcConcurrent=0; GC Batch", r[0]));
        // …and with the native heap's fixed thresholds (NativeHeap), set by the CLI every worker runs.
        Assert.All(store.Query("SELECT json_extract(provenance_json, '$.malloc_settings') FROM jobs").Rows,
            r => Assert.Equal($"mmap_threshold={NativeHeap.MmapThreshold} trim_threshold={NativeHeap.TrimThreshold}",
                r[0]));
        Assert.Equal(1L, Count(store, "SELECT count(*) FROM bases WHERE status = 'completed' AND length(checkpoint_sha256) = 64"));
        // Each router configuration's fine-tuned model is stored under results/, addressed by its hash, with its sha256.
        foreach (var run in spec.Runs)
        {
            var ftHash = run.FinetuneHash;
            var row = store.Query("SELECT checkpoint_path, checkpoint_sha256 FROM finetunes WHERE finetune_hash = $f AND status = 'completed'", ("$f", ftHash)).Rows.Single();
            Assert.Equal(Path.Combine("finetunes", ftHash, "model.bin"), (string)row[0]!);    // relative to results/
            Assert.Equal(Path.Combine(Paths.Finetunes, ftHash, "model.bin"), Paths.FromStored((string)row[0]!));
            Assert.Equal(Protocol.Sha256(Paths.FromStored((string)row[0]!)), (string)row[1]!);
        }
        Assert.Equal(6L * 2, Count(store, "SELECT count(*) FROM run_metrics WHERE phase = 'finetune' AND key = 'train_loss'"));   // 6 steps × 2 runs
        // Each run names the fine-tune its evaluation used, in its row and its provenance.
        Assert.Equal(2L, Count(store, """
            SELECT count(*) FROM runs r JOIN finetunes f ON f.finetune_hash = r.finetune_hash
            WHERE r.status = 'completed' AND f.status = 'completed' AND json_extract(r.provenance_json, '$.finetune_hash') = r.finetune_hash
            """));

        // Resume: nothing is computed twice, nothing is lost.
        var rows = Count(store, "SELECT count(*) FROM metrics");
        var again = RunSweep(spec, store, log);
        Assert.Equal(0, again.Ran);
        Assert.Equal(2, again.AlreadyDone);
        Assert.Equal(rows, Count(store, "SELECT count(*) FROM metrics"));
        Assert.Equal(2L, Count(store, "SELECT sum(attempt) FROM runs"));

        // An edited spec adds only the new run; the base is reused.
        var edited = SpecLoader.LoadText(TinySpec, "tiny.yaml", ["sweep.router.adaptive_gating.threshold=0.2"]);
        var third = RunSweep(edited, store, log);
        Assert.Equal(1, third.Completed);
        Assert.Equal(2, third.AlreadyDone);
        Assert.Equal(1, log.ToString().Split('\n').Count(l => l.Contains("start pretrain")));

        // Evaluation-only settings make new runs that are evaluated from the stored fine-tuned models: nothing retrains.
        var evalLog = new StringWriter();
        var evalOnly = SpecLoader.LoadText(TinySpec, "tiny.yaml", ["eval.task_samples=3", "eval.collapse_share=0.25"]);
        var fourth = RunSweep(evalOnly, store, evalLog);
        Assert.True(fourth.ExitCode == 0, evalLog.ToString());
        Assert.Equal(2, fourth.Completed);
        Assert.DoesNotContain("start pretrain", evalLog.ToString());
        Assert.DoesNotContain("start finetune", evalLog.ToString());
        Assert.Equal(2, evalLog.ToString().Split('\n').Count(l => l.Contains("start eval")));
        Assert.Equal(3L, Count(store, "SELECT count(*) FROM finetunes"));
        Assert.Equal(3L, Count(store, "SELECT sum(attempt) FROM finetunes"));
        Assert.Equal(12L, Count(store, "SELECT sum(samples) FROM task_results WHERE run_id = '" + evalOnly.Runs[0].ConfigHash + "'"));  // 2 tasks × 2 difficulties × 3
        // With 4 experts, some expert takes more than a quarter of a layer's dispatches: the collapse guard records it.
        Assert.True(Count(store, "SELECT count(*) FROM run_events WHERE run_id = '" + evalOnly.Runs[0].ConfigHash + "' AND kind = 'warning' AND message LIKE 'router collapse at layer %'") >= 1);

        // --reevaluate re-runs the evaluation of finished runs without retraining, and reproduces it.
        var before = store.Query("SELECT run_id, eval_loss, accuracy FROM runs WHERE sweep = 'tiny' ORDER BY run_id").Rows;
        var reLog = new StringWriter();
        var fifth = RunSweep(spec, store, reLog, new SweepOptions(Reevaluate: true));
        Assert.Equal(2, fifth.Completed);
        Assert.DoesNotContain("start finetune", reLog.ToString());
        Assert.DoesNotContain("start pretrain", reLog.ToString());
        Assert.Equal(3L, Count(store, "SELECT sum(attempt) FROM finetunes"));
        var after = store.Query("SELECT run_id, eval_loss, accuracy FROM runs WHERE sweep = 'tiny' ORDER BY run_id").Rows;
        Assert.Equal(before.Select(r => (r[0], r[1], r[2])), after.Select(r => (r[0], r[1], r[2])));
        Assert.Equal(4L, Count(store, $"SELECT sum(attempt) FROM runs WHERE run_id IN ('{spec.Runs[0].ConfigHash}', '{spec.Runs[1].ConfigHash}')"));

        // The report is built from the database.
        var report = new ReportBuilder(store).Build(["tiny"], Path.Combine(Paths.Results, "tiny"));
        var html = File.ReadAllText(report.Html);
        foreach (var id in store.Query("SELECT run_id FROM runs").Rows.Select(r => (string)r[0]!)) Assert.Contains(id, html);
    }

    [Fact]
    public void A_failing_job_is_recorded_and_the_others_still_run()
    {
        FreshResults();
        var spec = SpecLoader.LoadText(TinySpec, "tiny.yaml", ["sweep.router.null_experts.nulls=2"]);
        var ids = spec.Runs.ToDictionary(r => r.Router, r => r.ConfigHash);
        var ft = spec.Runs.ToDictionary(r => r.Router, r => r.FinetuneHash);
        // top_p's evaluation throws; null_experts' fine-tuning worker dies from SIGKILL; top_k's fine-tuning diverges.
        Environment.SetEnvironmentVariable("ORCHESTRATOR_FAULT", $"{ids["top_p"]}:throw,{ft["null_experts"]}:signal,{ft["top_k"]}:nan");
        using var store = ResultStore.Open(Paths.Database);
        var log = new StringWriter();
        var summary = RunSweep(spec, store, log);
        Environment.SetEnvironmentVariable("ORCHESTRATOR_FAULT", null);
        Assert.Equal(3, summary.Failed);
        Assert.NotEqual(0, summary.ExitCode);
        string Error(string router) => (string)store.Query("SELECT error FROM runs WHERE run_id = $r", ("$r", ids[router])).Rows[0][0]!;
        Assert.Contains("injected failure", Error("top_p"));
        Assert.Contains("killed by signal 9 (SIGKILL)", Error("null_experts"));
        Assert.Contains("diverged", Error("top_k"));
        Assert.StartsWith("fine-tune: ", Error("top_k"));
        Assert.Contains("injected failure", (string)store.Query("SELECT stderr_tail FROM runs WHERE run_id = $r", ("$r", ids["top_p"])).Rows[0][0]!);
        Assert.Equal(137L, store.Query("SELECT exit_code FROM runs WHERE run_id = $r", ("$r", ids["null_experts"])).Rows[0][0]);
        Assert.Equal(3L, Count(store, "SELECT count(*) FROM runs WHERE status = 'failed'"));
        Assert.Equal(2L, Count(store, "SELECT count(*) FROM finetunes WHERE status = 'failed'"));
        Assert.Equal(1L, Count(store, "SELECT count(*) FROM finetunes WHERE status = 'completed'"));    // top_p's: only its evaluation failed
        // A failed job ends its worker process: no job ran after it in the same process (served workers, CPU).
        Assert.Equal(0L, Count(store, "SELECT count(*) FROM jobs f JOIN jobs j ON j.executor_job_id = f.executor_job_id " +
                                      "AND j.started_at > f.started_at WHERE f.state = 'failed'"));
        Assert.True(Count(store, "SELECT count(*) FROM jobs") > Count(store, "SELECT count(DISTINCT executor_job_id) FROM jobs"),
            "no worker served a second job");
        // --retry-failed runs them again (the faults are gone now).
        var retry = RunSweep(spec, store, log, new SweepOptions(RetryFailed: true));
        Assert.Equal(3, retry.Completed);
        Assert.Equal(1, log.ToString().Split('\n').Count(l => l.Contains("start finetune top_p")));   // top_p's fine-tune is reused
        Assert.Equal(4L, Count(store, "SELECT sum(attempt) FROM runs"));        // top_p evaluated twice, the others once
        Assert.Equal(5L, Count(store, "SELECT sum(attempt) FROM finetunes"));
        // The report names failures that are in the history (events keep them).
        Assert.Equal(3L, Count(store, "SELECT count(*) FROM events WHERE kind = 'failure'"));
    }

    [Fact]
    public void Lora_fine_tuning_the_adaptive_gating_curriculum_and_multiple_choice_run_end_to_end()
    {
        FreshResults();
        var spec = SpecLoader.LoadText(SweepTests.TinySpec, "tiny.yaml", [
            "finetune.mode=lora", "finetune.curriculum=adaptive_gating", "finetune.curriculum_pool=8", "finetune.steps=12",
            "data.multiple_choice=experiments/data/arithmetic-mc.jsonl", "sweep.router={adaptive_gating: {threshold: 0.2}}"]);
        using var store = ResultStore.Open(Paths.Database);
        var log = new StringWriter();
        var summary = RunSweep(spec, store, log);
        Assert.True(summary.ExitCode == 0, log.ToString());
        var id = spec.Runs.Single(r => r.Router == "adaptive_gating").ConfigHash;
        Assert.True(Count(store, $"SELECT count(*) FROM run_events WHERE run_id = '{id}' AND kind = 'curriculum' AND message LIKE 'epoch %'") >= 2);
        Assert.Equal(3L, Count(store, $"SELECT count(*) FROM task_results WHERE run_id = '{id}' AND task = 'mc:arithmetic-mc'"));   // difficulties 1–3
        Assert.Equal(36L, Count(store, $"SELECT sum(samples) FROM task_results WHERE run_id = '{id}' AND task = 'mc:arithmetic-mc'"));
    }

    [Fact]
    public void Runs_whose_base_fails_are_skipped_and_named()
    {
        FreshResults();
        var spec = SpecLoader.LoadText(TinySpec, "tiny.yaml");
        Environment.SetEnvironmentVariable("ORCHESTRATOR_FAULT", spec.Runs[0].BaseHash + ":throw");
        try
        {
            using var store = ResultStore.Open(Paths.Database);
            var log = new StringWriter();
            var summary = RunSweep(spec, store, log);
            Assert.Equal(2, summary.Skipped);
            Assert.Equal(1, summary.Failed);
            Assert.Contains("injected failure", (string)store.Query("SELECT error FROM bases").Rows[0][0]!);
            Assert.Equal(2L, Count(store, "SELECT count(*) FROM runs WHERE status = 'skipped' AND error LIKE 'base % failed'"));
            var report = new ReportBuilder(store).Build(["tiny"], Path.Combine(Paths.Results, "tiny"));
            var md = File.ReadAllText(report.Markdown);
            Assert.Contains("skipped: base", md);
        }
        finally { Environment.SetEnvironmentVariable("ORCHESTRATOR_FAULT", null); }
    }

    [Theory]
    [InlineData("data.corpus=/nonexistent/corpus.txt", "corpus file not found: /nonexistent/corpus.txt")]
    [InlineData("data.multiple_choice=/nonexistent/mc.jsonl", "multiple-choice file not found: /nonexistent/mc.jsonl")]
    [InlineData("data.multiple_choice=%BAD%", "bad.jsonl:2: not JSON")]
    [InlineData("data.corpus=%EMPTY%", "has only 0 documents")]
    public void A_missing_or_bad_data_file_stops_the_sweep_before_anything_is_written(string setting, string expected)
    {
        var dir = FreshResults();
        var bad = Path.Combine(dir, "bad.jsonl");
        File.WriteAllText(bad, "{\"question\": \"q\", \"choices\": [\"a\", \"b\"], \"answer\": 0}\n{oops\n");
        var empty = Path.Combine(dir, "empty.txt");
        File.WriteAllText(empty, "");
        var spec = SpecLoader.LoadText(TinySpec, "tiny.yaml", [setting.Replace("%BAD%", bad).Replace("%EMPTY%", empty)]);
        using var store = ResultStore.Open(Paths.Database);
        var e = Assert.ThrowsAny<Exception>(() => RunSweep(spec, store, new StringWriter()));
        Assert.True(e is FileNotFoundException or InvalidDataException, e.ToString());   // exit code 1, one line
        Assert.Contains(expected, e.Message);
        Assert.Equal(0L, Count(store, "SELECT count(*) FROM sweeps"));
        Assert.Equal(0L, Count(store, "SELECT count(*) FROM jobs"));
        Assert.False(Directory.Exists(Paths.Jobs) && Directory.EnumerateFileSystemEntries(Paths.Jobs).Any());
    }
}
