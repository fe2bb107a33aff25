using Orchestrator.Training.Recipes;
using Orchestrator.Specs;
using Orchestrator.Execution;
using Orchestrator.Moe;

namespace Orchestrator.Tests.Execution;

/// <summary>The device pool's CUDA fallback and the router-collapse guards.</summary>
public class GuardTests
{
    [Fact]
    public void Cuda_asked_for_but_absent_falls_back_to_the_cpu_only_when_allowed()
    {
        var pool = new DevicePool("cuda:0,cuda:1", 1, 0, cpuFallback: true, visibleGpus: () => 0);
        Assert.Equal(["cpu"], pool.Slots.Select(s => s.Device));
        Assert.Contains("cuda:0, cuda:1 requested but 0 GPU(s) are visible: falling back to the CPU", Assert.Single(pool.Warnings));
        Assert.Equal("", DevicePool.WorkerEnvironment(pool.Slots[0])["CUDA_VISIBLE_DEVICES"]);

        var e = Assert.Throws<ExecutorUnavailableException>(() => new DevicePool("cuda:0", 1, 0, cpuFallback: false, visibleGpus: () => 0));
        Assert.Contains("set execution.cpu_fallback: true", e.Message);

        // One GPU visible: cuda:0 stays (pinned with CUDA_VISIBLE_DEVICES), cuda:1 is dropped with a warning.
        var one = new DevicePool("cuda:0,cuda:1", 2, 0, cpuFallback: true, visibleGpus: () => 1);
        Assert.Equal(["cuda:0", "cuda:0"], one.Slots.Select(s => s.Device));
        Assert.Equal("0", DevicePool.WorkerEnvironment(one.Slots[0])["CUDA_VISIBLE_DEVICES"]);
        Assert.Contains("cuda:1", Assert.Single(one.Warnings));

        Assert.Throws<ArgumentException>(() => new DevicePool("tpu:0", 1, 0, true));
        var limited = new DevicePool("cpu", 4, 3, true);
        Assert.Equal(3, limited.Slots.Count);
    }

    [Fact]
    public void Auto_jobs_share_the_cores_between_the_jobs_running_and_give_a_wide_model_every_core()
    {
        var auto = new DevicePool("cpu", ExecutionSettings.AutoJobs, 0, true, modelWidth: 128, cores: 4);
        Assert.Equal(4, auto.Slots.Count);
        Assert.All(auto.Slots, s => Assert.Equal(DevicePool.Shared, s.Threads));
        Assert.Equal(4, auto.ThreadsFor(auto.Slots[0], 1));       // a job alone (the pretraining) gets every core
        Assert.Equal(2, auto.ThreadsFor(auto.Slots[0], 2));
        Assert.Equal(1, auto.ThreadsFor(auto.Slots[0], 4));
        Assert.Equal(1, auto.ThreadsFor(auto.Slots[0], 9));
        var wide = new DevicePool("cpu", ExecutionSettings.AutoJobs, 0, true, modelWidth: 512, cores: 4);
        Assert.Equal(4, Assert.Single(wide.Slots).Threads);
        var gpus = new DevicePool("cuda:0,cuda:1", ExecutionSettings.AutoJobs, 0, true, visibleGpus: () => 2);
        Assert.Equal(["cuda:0", "cuda:1"], gpus.Slots.Select(s => s.Device));
        var fixedTwo = new DevicePool("cpu", 2, 0, true, modelWidth: 128, cores: 4);
        Assert.All(fixedTwo.Slots, s => Assert.Equal(2, fixedTwo.ThreadsFor(s, 1)));
        Assert.Equal(ExecutionSettings.AutoJobs, ExecutionSettings.Default.JobsPerDevice);
        Assert.Equal(3, ExecutionSettings.ParseJobsPerDevice("3"));
    }

    [Fact]
    public void A_sweep_for_an_unreachable_slurm_says_why_and_gives_its_claims_back()
    {
        var results = SweepTests.FreshResults();
        // A well-formed configuration whose controller is not there: sbatch itself works (where it is
        // installed) and refuses the submission; where it is not installed, `sbatch --version` fails.
        var conf = Path.Combine(results, "dead-slurm.conf");
        File.WriteAllText(conf, "ClusterName=dead\nSlurmctldHost=localhost(127.0.0.1)\nSlurmctldPort=1\nAuthType=auth/munge\n" +
                                "NodeName=localhost CPUs=1\nPartitionName=debug Nodes=ALL Default=YES\n");
        var saved = Environment.GetEnvironmentVariable("SLURM_CONF");
        var (o, e) = (Console.Out, Console.Error);
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        Environment.SetEnvironmentVariable("SLURM_CONF", conf);
        Console.SetOut(stdout); Console.SetError(stderr);
        int rc;
        try { rc = Orchestrator.Cli.Cli.Run(["sweep", "--spec", Path.Combine(Paths.RepoRoot, "experiments", "default.yaml"), "--executor", "slurm", "--no-report", "sweep.router={top_k: {k: 2}}"]); }
        finally { Console.SetOut(o); Console.SetError(e); Environment.SetEnvironmentVariable("SLURM_CONF", saved); }
        Assert.Equal(2, rc);
        Assert.StartsWith("error: executor slurm: ", stderr.ToString());
        Assert.Contains("failed", stderr.ToString());
        Assert.DoesNotContain("   at ", stderr.ToString());                     // a message, not a stack trace
        using var store = Orchestrator.Results.ResultStore.OpenReadOnly(Path.Combine(results, "orchestrator.db"));
        Assert.Equal(0L, store.Query("SELECT count(*) FROM runs WHERE status != 'pending'").Rows[0][0]);
        Assert.Equal(0L, store.Query("SELECT count(*) FROM bases WHERE status = 'running'").Rows[0][0]);   // the base's claim was given back
        Assert.Equal(0L, store.Query("SELECT sum(attempt) FROM runs").Rows[0][0]);
        Assert.Equal(0L, store.Query("SELECT coalesce(sum(attempt), 0) FROM bases").Rows[0][0]);
    }

    static LayerTelemetry Layer(long[] load, int nullSlots = 0, double nullSelections = 0, long tokens = 100) => new()
    {
        Layer = 1, Experts = load.Length, Load = load, Histogram = new long[load.Length + 1], GateProbability = new double[load.Length],
        Tokens = tokens, SlotsPerToken = nullSlots, NullSelections = nullSelections,
    };

    [Fact]
    public void Router_collapse_and_a_null_rate_near_one_are_warned_about()
    {
        Assert.Equal(["router collapse at layer 1: expert 2 takes 91% of dispatches"],
            EvaluateRecipe.CollapseWarnings(Layer([5, 4, 91, 0]), 0.9));
        Assert.Empty(EvaluateRecipe.CollapseWarnings(Layer([30, 20, 25, 25]), 0.9));
        Assert.Empty(EvaluateRecipe.CollapseWarnings(Layer([0, 0, 0, 0]), 0.9));
        var nulls = EvaluateRecipe.CollapseWarnings(Layer([1, 1, 1, 1], nullSlots: 2, nullSelections: 196), 0.9).ToList();   // 196 of 200 slots
        Assert.Contains(nulls, w => w.StartsWith("null rate 98") && w.EndsWith("at layer 1: tokens almost never use a real expert"));
    }
}
