using Orchestrator.Execution;
using Orchestrator.Cli;
using Orchestrator.Results;
using Orchestrator.Specs;
using Orchestrator.Tests.Results;

namespace Orchestrator.Tests.Execution;

public class PlanTests
{
    [Fact]
    public void Plan_reads_finished_failed_and_running_runs_from_the_database()
    {
        using var store = ResultStore.Open(StoreTests.TempDb());
        var spec = StoreTests.Spec(seeds: 1);              // top_k, top_p 0.3, top_p 0.4
        store.RegisterSweep(spec);
        var ids = spec.Runs.Select(r => r.ConfigHash).ToList();
        store.Jobs.TryClaim(JobKey.Evaluate(ids[0]), "me", 60);
        store.Ingest(StoreTests.Bundle(ids[0], 1000, 0.5));
        store.Jobs.TryClaim(JobKey.Evaluate(ids[1]), "me", 60);
        store.Jobs.Fail(JobKey.Evaluate(ids[1]), "boom", 1, null);
        store.Jobs.TryClaim(JobKey.Evaluate(ids[2]), "other", 60);
        // The other orchestrator holds that run's fine-tune too (as it would while training it).
        store.EnsureFinetune(spec.Runs[2].FinetuneHash, spec.Runs[2].BaseHash, "{}");
        store.Jobs.TryClaim(JobKey.Finetune(spec.Runs[2].FinetuneHash), "other", 60);
        // Edited spec: one more router; its run is new.
        var edited = SpecLoader.LoadText("""
            name: s
            sweep:
              seeds: 1
              router:
                top_k: {k: 2}
                top_p: {p: [0.3, 0.4]}
                adaptive_gating: {threshold: 0.2}
            """);
        var o = new StringWriter();
        PlanPrinter.Print(edited, new StoreLookup(store, edited.Runs), new GraphOptions(), "table", o);
        var lines = o.ToString().Split('\n');
        Assert.StartsWith("sweep s: 4 runs", lines[0]);
        Assert.Contains(lines, l => l.StartsWith(ids[0]) && l.Contains("| done ") && l.Contains("top_k"));
        Assert.Contains(lines, l => l.StartsWith(ids[1]) && l.Contains("| failed ") && l.Contains("0.3"));
        Assert.Contains(lines, l => l.StartsWith(ids[2]) && l.Contains("| running ") && l.Contains("0.4"));
        Assert.Contains(lines, l => l.Contains("| new ") && l.Contains("adaptive_gating") && l.Contains("0.2"));
        Assert.Contains("counts: 1 done, 1 failed, 1 new, 1 running", o.ToString());
        Assert.Contains("jobs: 1 base(s) to pretrain, 1 fine-tune(s) to train, 1 evaluation(s) to run; " +
                        "2 held by another orchestrator", o.ToString());

        // Evaluation-only edits: new runs evaluated from a stored fine-tuned model (top_k's is stored).
        var ft = spec.Runs[0].FinetuneHash;
        store.EnsureFinetune(ft, spec.Runs[0].BaseHash, "{}");
        Assert.True(store.Jobs.TryClaim(JobKey.Finetune(ft), "me", 60));
        var checkpoint = Path.Combine(Path.GetDirectoryName(store.Path)!, "model.bin");
        File.WriteAllBytes(checkpoint, [1]);
        store.Ingest(new JobResult { Kind = JobKind.Finetune, Subject = ft,
            Artifacts = [new ArtifactRow(checkpoint, "checkpoint", new string('a', 64), 1)] });
        var evalOnly = SpecLoader.LoadText("name: s\nsweep:\n  seeds: 1\n  router:\n    top_k: {k: 2}\n    top_p: {p: 0.3}\n", "s.yaml", ["eval.task_samples=3"]);
        var o2 = new StringWriter();
        PlanPrinter.Print(evalOnly, new StoreLookup(store, evalOnly.Runs), new GraphOptions(), "table", o2);
        Assert.Contains(o2.ToString().Split('\n'), l => l.Contains("| new ") && l.Contains("| stored ") && l.Contains("top_k"));
        Assert.Contains(o2.ToString().Split('\n'), l => l.Contains("| new ") && l.Contains("| to train ") && l.Contains("top_p"));
        Assert.Contains("1 fine-tune(s) to train, 2 evaluation(s) to run (1 from stored fine-tuned models)", o2.ToString());
    }
}
