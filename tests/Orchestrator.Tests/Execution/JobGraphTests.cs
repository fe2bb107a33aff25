using Orchestrator.Execution;
using Orchestrator.Results;
using Orchestrator.Specs;
using Orchestrator.Tests.Results;

namespace Orchestrator.Tests.Execution;

/// <summary>The job graph on its own — built from planned runs and what is stored, walked by the runner on
/// a fake executor that trains nothing.</summary>
public class JobGraphTests
{
    // 2 routers × 2 seeds: 2 bases (one per seed), 4 fine-tunes, 4 evaluations.
    static ExperimentSpec Spec(params string[] overrides) => SpecLoader.LoadText("""
        name: graph
        sweep:
          seeds: 2
          router:
            top_k: {k: 2}
            top_p: {p: 0.4}
        """, "graph.yaml", overrides);

    sealed class Lookup(Dictionary<JobKey, JobStatus>? statuses = null, HashSet<JobKey>? intact = null) : IJobLookup
    {
        public JobStatus Status(JobKey key) => statuses?.GetValueOrDefault(key, JobStatus.Pending) ?? JobStatus.Pending;
        public bool Intact(JobKey model) => intact?.Contains(model) == true;
    }

    [Fact]
    public void A_graph_pretrains_each_base_once_and_fine_tunes_each_configuration_once()
    {
        var spec = Spec();
        var graph = JobGraph.Build(spec, new Lookup(), new GraphOptions());
        Assert.Equal(2, graph.Count(JobKind.Pretrain, NodeState.Waiting));
        Assert.Equal(4, graph.Count(JobKind.Finetune, NodeState.Waiting));
        Assert.Equal(4, graph.Count(JobKind.Evaluate, NodeState.Waiting));
        Assert.Equal("jobs: 2 base(s) to pretrain, 4 fine-tune(s) to train, 4 evaluation(s) to run", graph.Describe());
        foreach (var run in spec.Runs)
        {
            var eval = graph.Nodes.Single(n => n.Key == JobKey.Evaluate(run.ConfigHash));
            Assert.Equal(JobKey.Finetune(run.FinetuneHash), eval.DependsOn!.Key);
            Assert.Equal(JobKey.Base(run.BaseHash), eval.DependsOn.DependsOn!.Key);
            Assert.Equal(run.FinetuneHash, eval.Ticket.Input!.Hash);
        }
        // Only the bases are ready; a running base hands its fine-tunes over early only to an executor that waits itself.
        Assert.All(graph.Ready(false), n => Assert.Equal(JobKind.Pretrain, n.Kind));
        var base0 = graph.Nodes.First(n => n.Kind == JobKind.Pretrain);
        base0.State = NodeState.Running;
        Assert.DoesNotContain(graph.Ready(false), n => n.Kind == JobKind.Finetune);
        Assert.Equal(2, graph.Ready(true).Count(n => n.DependsOn == base0));
        base0.State = NodeState.Done;
        Assert.Equal(2, graph.Ready(false).Count(n => n.DependsOn == base0));
        // A failed fine-tune blocks its evaluation, and nothing else.
        var ft = graph.Nodes.First(n => n.DependsOn == base0);
        ft.State = NodeState.Failed;
        Assert.Equal(graph.Nodes.Where(n => n.DependsOn == ft), graph.Blocked());
        Assert.False(graph.Stuck);
    }

    [Fact]
    public void Stored_models_and_finished_runs_are_left_out_and_options_bring_them_back()
    {
        var spec = Spec();
        var runs = spec.Runs;
        var statuses = new Dictionary<JobKey, JobStatus>
        {
            [JobKey.Evaluate(runs[0].ConfigHash)] = new(JobState.Completed),
            [JobKey.Evaluate(runs[1].ConfigHash)] = new(JobState.Failed),
            [JobKey.Evaluate(runs[2].ConfigHash)] = new(JobState.Running),                      // held elsewhere
            [JobKey.Evaluate(runs[3].ConfigHash)] = new(JobState.Running, LeaseExpired: true),  // its owner died
        };
        var intact = runs.Select(r => JobKey.Finetune(r.FinetuneHash)).Concat(runs.Select(r => JobKey.Base(r.BaseHash))).ToHashSet();
        var graph = JobGraph.Build(spec, new Lookup(statuses, intact), new GraphOptions());
        Assert.Equal(2, graph.AlreadyDone);
        Assert.Equal(2, graph.Nodes.Count);                                                    // evaluations only
        Assert.Equal(NodeState.External, graph.Nodes.Single(n => n.Key.Subject == runs[2].ConfigHash).State);
        Assert.Equal(NodeState.Waiting, graph.Nodes.Single(n => n.Key.Subject == runs[3].ConfigHash).State);
        Assert.Equal("jobs: 0 base(s) to pretrain, 0 fine-tune(s) to train, 1 evaluation(s) to run (2 from stored " +
                     "fine-tuned models); 1 held by another orchestrator (followed until they finish)", graph.Describe());
        Assert.Equal(3, JobGraph.Build(spec, new Lookup(statuses, intact), new GraphOptions(RetryFailed: true)).Nodes.Count);
        Assert.Equal(3, JobGraph.Build(spec, new Lookup(statuses, intact), new GraphOptions(Reevaluate: true)).Nodes.Count);
        Assert.Equal(10, JobGraph.Build(spec, new Lookup(statuses, intact), new GraphOptions(Force: true)).Nodes.Count);
    }

    /// <summary>An executor that trains nothing: what a job "did" is written at once (a model job's checkpoint and
    /// result), and events are reported on the next poll.</summary>
    abstract class ScriptedExecutor : IJobExecutor
    {
        protected readonly List<ExecutorEvent> events = [];
        public List<Launch> Launches { get; } = [];
        public abstract string Description { get; }
        public abstract bool WaitsOnDependencies { get; }
        public abstract int Capacity { get; }
        public abstract IReadOnlyList<Launched> Start(IReadOnlyList<Launch> jobs);

        /// <summary>The result a job leaves: for a pretraining or fine-tuning job, a checkpoint and its artifact.</summary>
        protected static JobResult Finish(JobTicket t)
        {
            var result = new JobResult { Kind = t.Kind, Subject = t.Subject, InputHash = t.Input?.Hash };
            if (t.OutputDir == null) return result;
            Directory.CreateDirectory(t.OutputDir);
            var checkpoint = Path.Combine(t.OutputDir, "model.bin");
            File.WriteAllText(checkpoint, t.Subject);
            result.Artifacts.Add(new ArtifactRow(checkpoint, "checkpoint", Protocol.Sha256(checkpoint), t.Subject.Length));
            return result;
        }

        public virtual IReadOnlyList<ExecutorEvent> Poll()
        {
            var list = events.ToList();
            events.Clear();
            return list;
        }

        public void Cancel(JobKey key) { }
        public bool TryAdopt(JobTicket ticket, string executorId) => false;
        public void Dispose() { }
    }

    /// <summary>Runs every ticket at once: a model job writes a checkpoint and a result; the jobs named in
    /// `fail` end with exit code 1 instead. Trains nothing.</summary>
    sealed class FakeExecutor(params JobKey[] fail) : ScriptedExecutor
    {
        /// <summary>Jobs whose result file is written damaged (a worker that died mid-write, a full disk).</summary>
        public HashSet<JobKey> Corrupt { get; init; } = [];
        public override string Description => "fake";
        public override bool WaitsOnDependencies => false;
        public override int Capacity => 2;

        public override IReadOnlyList<Launched> Start(IReadOnlyList<Launch> jobs)
        {
            foreach (var l in jobs.Take(Capacity))
            {
                Launches.Add(l);
                var t = l.Ticket;
                t.Save();
                if (fail.Contains(t.Key))
                {
                    events.Add(new JobEnded(t.Key, JobEndKind.Failed, 1, "exit code 1: out of memory", "tail"));
                    continue;
                }
                var result = Finish(t);
                if (t.OutputDir == null) result.Final["accuracy"] = 0.5;
                result.Save(t.ResultPath);
                if (Corrupt.Contains(t.Key)) File.WriteAllText(t.ResultPath, "{\"kind\": \"evalu");
                events.Add(new JobProgressed(t.Key, WorkerMessage.Progress("x", 1, 1)));
                events.Add(new JobEnded(t.Key, JobEndKind.Succeeded, 0));
            }
            return jobs.Take(Capacity).Select(l => new Launched(l.Ticket.Key, "fake:" + l.Ticket.Subject, "cpu")).ToList();
        }

    }

    [Fact]
    public void The_runner_walks_the_graph_on_an_executor_and_a_failed_fine_tune_fails_its_runs_with_its_reason()
    {
        Tests.Execution.SweepTests.FreshResults();
        var spec = Spec();
        using var store = ResultStore.Open(Paths.Database);
        var failing = JobKey.Finetune(spec.Runs.First(r => r.Router == "top_p").FinetuneHash);
        var executor = new FakeExecutor(failing);
        var log = new StringWriter();
        var summary = new SweepRunner(store, log, live: false).Run(spec, new SweepOptions(), () => executor);
        Assert.Equal(3, summary.Completed);
        Assert.Equal(1, summary.Failed);                                  // the failing fine-tune's one run
        Assert.Equal(9, executor.Launches.Count);                         // 2 bases, 4 fine-tunes, 3 evaluations
        // Dependencies first: no job was handed over before the job it depends on had finished.
        var order = executor.Launches.Select(l => l.Ticket.Key).ToList();
        var graph = JobGraph.Build(spec, StoreLookup.Empty, new GraphOptions());
        foreach (var n in graph.Nodes.Where(n => n.DependsOn != null && order.Contains(n.Key)))
            Assert.True(order.IndexOf(n.DependsOn!.Key) < order.IndexOf(n.Key));
        var failedRun = spec.Runs.First(r => r.Router == "top_p").ConfigHash;
        Assert.Equal(new object?[] { "failed", "fine-tune: exit code 1: out of memory", 1L, "tail" },
            store.Query("SELECT status, error, exit_code, stderr_tail FROM runs WHERE run_id = $r", ("$r", failedRun)).Rows.Single());
        Assert.Equal(8L, store.Query("SELECT count(*) FROM jobs WHERE state = 'completed'").Rows[0][0]);
        Assert.Equal(2L, store.Query("SELECT count(*) FROM jobs WHERE state = 'failed'").Rows[0][0]);
        Assert.Equal(3L, store.Query("SELECT count(*) FROM runs WHERE accuracy = 0.5").Rows[0][0]);
        Assert.Equal(9L, store.Query("SELECT count(*) FROM jobs WHERE executor_job_id LIKE 'fake:%'").Rows[0][0]);

        // Resume: nothing finished is handed over again; --retry-failed re-runs the failed fine-tune and its run.
        var again = new FakeExecutor();
        new SweepRunner(store, log, live: false).Run(spec, new SweepOptions(), () => again);
        Assert.Empty(again.Launches);
        new SweepRunner(store, log, live: false).Run(spec, new SweepOptions(RetryFailed: true), () => again);
        Assert.Equal(new[] { failing, JobKey.Evaluate(failedRun) }, again.Launches.Select(l => l.Ticket.Key));
        Assert.Equal(0L, store.Query("SELECT count(*) FROM jobs WHERE state != 'completed'").Rows[0][0]);
    }

    /// <summary>Runs nothing itself: on its first poll, the evaluation another orchestrator holds ends with a
    /// result, as that orchestrator's ingest would leave it.</summary>
    sealed class OtherOrchestratorFinishes(ResultStore store, JobKey held) : ScriptedExecutor
    {
        bool finished;
        public override string Description => "other";
        public override bool WaitsOnDependencies => false;
        public override int Capacity => 2;

        public override IReadOnlyList<Launched> Start(IReadOnlyList<Launch> jobs)
        {
            Launches.AddRange(jobs);
            return [];
        }

        public override IReadOnlyList<ExecutorEvent> Poll()
        {
            if (!finished)
                store.Ingest(new JobResult { Kind = held.Kind, Subject = held.Subject, Final = { ["accuracy"] = 0.25 } });
            finished = true;
            return base.Poll();
        }
    }

    [Fact]
    public void A_run_another_orchestrator_finishes_while_it_is_followed_is_counted_in_the_summary()
    {
        Tests.Execution.SweepTests.FreshResults();
        var spec = Spec();
        using var store = ResultStore.Open(Paths.Database);
        new SweepRunner(store, new StringWriter(), live: false).Run(spec, new SweepOptions(), () => new FakeExecutor());
        // Its evaluation is re-run by another orchestrator, alive (this very process, another lease).
        var held = JobKey.Evaluate(spec.Runs[0].ConfigHash);
        Assert.True(store.Jobs.TryClaim(held, (LeaseOwner.Current with { Nonce = "other" }).ToString(), 600, force: true));
        var log = new StringWriter();
        var executor = new OtherOrchestratorFinishes(store, held);
        var summary = new SweepRunner(store, log, live: false).Run(spec, new SweepOptions(), () => executor);
        Assert.Empty(executor.Launches);
        int others = spec.Runs.Count - 1;
        Assert.Equal((0, 0, others, 1, 0), (summary.Completed, summary.Failed, summary.AlreadyDone, summary.ByOthers,
            summary.ExitCode));
        Assert.Contains($"summary: 0 completed, 0 failed, 0 skipped, {others} already done, 1 done by another " +
                        "orchestrator", log.ToString());
        Assert.Equal(0.25, store.Query("SELECT accuracy FROM runs WHERE run_id = $r", ("$r", held.Subject)).Rows[0][0]);
    }

    [Fact]
    public void A_damaged_result_file_fails_that_job_only_and_the_sweep_goes_on()
    {
        Tests.Execution.SweepTests.FreshResults();
        var spec = Spec();
        using var store = ResultStore.Open(Paths.Database);
        var damaged = JobKey.Evaluate(spec.Runs[0].ConfigHash);
        var log = new StringWriter();
        var summary = new SweepRunner(store, log, live: false).Run(spec, new SweepOptions(),
            () => new FakeExecutor { Corrupt = [damaged] });
        Assert.Equal(3, summary.Completed);
        Assert.Equal(1, summary.Failed);
        var row = store.Query("SELECT status, error FROM runs WHERE run_id = $r", ("$r", damaged.Subject)).Rows.Single();
        Assert.Equal("failed", row[0]);
        Assert.Contains("result unusable: unreadable job result", (string)row[1]!);
        // A plain resume leaves it failed; --retry-failed runs it again.
        var again = new FakeExecutor();
        new SweepRunner(store, log, live: false).Run(spec, new SweepOptions(RetryFailed: true), () => again);
        Assert.Equal([damaged], again.Launches.Select(l => l.Ticket.Key));
        Assert.Equal("completed", store.Query("SELECT status FROM runs WHERE run_id = $r", ("$r", damaged.Subject)).Rows[0][0]);
    }

    /// <summary>Like SLURM after `make cancel`: jobs are handed over before their dependency ends, and a queued
    /// evaluation and its running fine-tune are both cancelled — the evaluation's end seen first.</summary>
    sealed class CancellingExecutor : ScriptedExecutor
    {
        public override string Description => "cancelling";
        public override bool WaitsOnDependencies => true;
        public override int Capacity => 100;

        public override IReadOnlyList<Launched> Start(IReadOnlyList<Launch> jobs)
        {
            foreach (var l in jobs)
            {
                Launches.Add(l);
                var t = l.Ticket;
                t.Save();
                if (t.Kind != JobKind.Pretrain) continue;
                Finish(t).Save(t.ResultPath);
                events.Add(new JobEnded(t.Key, JobEndKind.Succeeded, 0));
            }
            var eval = Launches.FirstOrDefault(x => x.Ticket.Kind == JobKind.Evaluate);
            var finetune = Launches.FirstOrDefault(x => x.Ticket.Kind == JobKind.Finetune);
            if (eval != null && finetune != null && jobs.Contains(eval))
            {
                events.Add(new JobEnded(eval.Ticket.Key, JobEndKind.Interrupted, Reason: "SLURM job 2_0 ended CANCELLED"));
                events.Add(new JobEnded(finetune.Ticket.Key, JobEndKind.Interrupted, Reason: "SLURM job 1_0 ended CANCELLED"));
            }
            return jobs.Select(l => new Launched(l.Ticket.Key, "fake:" + l.Ticket.Subject, "cpu")).ToList();
        }

    }

    [Fact]
    public void A_queued_job_cancelled_with_its_dependency_is_skipped_whichever_end_is_seen_first()
    {
        Tests.Execution.SweepTests.FreshResults();
        var spec = SpecLoader.LoadText("name: c\nsweep:\n  router:\n    top_k: {k: 2}\n", "c.yaml");
        using var store = ResultStore.Open(Paths.Database);
        var executor = new CancellingExecutor();
        var summary = new SweepRunner(store, new StringWriter(), live: false).Run(spec, new SweepOptions(), () => executor);
        Assert.Equal((0, 1, 1), (summary.Completed, summary.Interrupted, summary.Skipped));
        Assert.Single(executor.Launches, l => l.Ticket.Kind == JobKind.Evaluate);        // not handed over again
        Assert.Equal(new object?[] { "skipped", 0L }, store.Query("SELECT status, attempt FROM runs").Rows.Single());
        Assert.Equal("pending", store.Query("SELECT status FROM finetunes").Rows.Single()[0]);
    }

    [Fact]
    public void A_results_folder_moved_elsewhere_keeps_its_stored_models()
    {
        var first = Tests.Execution.SweepTests.FreshResults();
        var spec = Spec();
        using (var store = ResultStore.Open(Paths.Database))
            new SweepRunner(store, new StringWriter(), live: false).Run(spec, new SweepOptions(), () => new FakeExecutor());
        var moved = Path.Combine(Directory.CreateTempSubdirectory("orch-moved").FullName, "results");
        Directory.Move(first, moved);                              // the original is gone
        Environment.SetEnvironmentVariable("ORCHESTRATOR_RESULTS", moved);
        using var again = ResultStore.Open(Paths.Database);
        Assert.Equal("finetunes", ((string)again.Query("SELECT checkpoint_path FROM finetunes LIMIT 1").Rows[0][0]!)
            .Split(Path.DirectorySeparatorChar)[0]);
        var lookup = new StoreLookup(again, spec.Runs);
        Assert.All(spec.Runs, r => Assert.True(lookup.Intact(JobKey.Finetune(r.FinetuneHash))));
        Assert.Empty(JobGraph.Build(spec, lookup, new GraphOptions()).Nodes);
        var reevaluate = JobGraph.Build(spec, lookup, new GraphOptions(Reevaluate: true));
        Assert.Equal((0, 0, 4), (reevaluate.Count(JobKind.Pretrain, NodeState.Waiting),
            reevaluate.Count(JobKind.Finetune, NodeState.Waiting), reevaluate.Count(JobKind.Evaluate, NodeState.Waiting)));
    }
}

