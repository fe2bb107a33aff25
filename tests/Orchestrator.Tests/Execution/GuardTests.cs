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

        var e = Assert.Throws<InvalidOperationException>(() => new DevicePool("cuda:0", 1, 0, cpuFallback: false, visibleGpus: () => 0));
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

    static LayerTelemetry Layer(long[] load, int nullSlots = 0, double nullSelections = 0, long tokens = 100) => new()
    {
        Layer = 1, Experts = load.Length, Load = load, Histogram = new long[load.Length + 1], GateProbability = new double[load.Length],
        Tokens = tokens, SlotsPerToken = nullSlots, NullSelections = nullSelections,
    };

    [Fact]
    public void Router_collapse_and_a_null_rate_near_one_are_warned_about()
    {
        Assert.Equal(["router collapse at layer 1: expert 2 takes 91% of dispatches"],
            Worker.CollapseWarnings(Layer([5, 4, 91, 0]), 0.9));
        Assert.Empty(Worker.CollapseWarnings(Layer([30, 20, 25, 25]), 0.9));
        Assert.Empty(Worker.CollapseWarnings(Layer([0, 0, 0, 0]), 0.9));
        var nulls = Worker.CollapseWarnings(Layer([1, 1, 1, 1], nullSlots: 2, nullSelections: 196), 0.9).ToList();   // 196 of 200 slots
        Assert.Contains(nulls, w => w.StartsWith("null rate 98") && w.EndsWith("at layer 1: tokens almost never use a real expert"));
    }
}
