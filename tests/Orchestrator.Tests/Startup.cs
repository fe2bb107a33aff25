using System.Runtime.CompilerServices;

namespace Orchestrator.Tests;

/// <summary>What the CLI does at start-up, done once for the test assembly: the native heap's thresholds are set and
/// the routers are registered.</summary>
static class Startup
{
    [ModuleInitializer]
    internal static void Start()
    {
        Orchestrator.Execution.NativeHeap.Configure();
        Orchestrator.Moe.Routing.Routers.Register();
    }
}

/// <summary>Router configurations for tests that sweep several routers with one set of knobs.</summary>
static class TestRouters
{
    /// <summary>The knobs the router declares, taken from the given ones (the others ignored). top_p's entropy
    /// loss and adaptive gating's renormalisation are off unless given, as these tests were written.</summary>
    public static RouterConfig Config(string type, params (string Knob, object Value)[] knobs)
    {
        var declared = RouterCatalog.Get(type).Knobs.Select(k => k.Key["router.".Length..])
            .Concat(ConfigSchema.SharedRouterKeys).ToHashSet();
        var given = knobs.Where(k => declared.Contains(k.Knob)).ToList();
        if (type == "top_p" && !given.Any(k => k.Knob == "entropy_coef")) given.Add(("entropy_coef", 0.0));
        if (type == "adaptive_gating" && !given.Any(k => k.Knob == "normalize")) given.Add(("normalize", false));
        return RouterConfig.Of(type, [.. given]);
    }
}
