namespace Orchestrator.Core;

/// <summary>How fine-tuning trains a run of this router: the language-model loss plus the routers'
/// auxiliary losses over the parameters finetune.mode chooses; or a policy-gradient trainer for
/// per-layer allocators on the frozen model (Ada-K).</summary>
public enum FinetuneStrategy { Loss, AllocatorPolicy }

/// <summary>Everything the package-free stages need to know about a router: its name, its knobs (keys
/// router.&lt;knob&gt; with defaults and ranges), the knobs that name a configuration in reports, its
/// cross-field constraints, and how fine-tuning trains it. Declared in the router's own file (Moe/Routing)
/// next to its routing rule and registered with one line (Moe/Routing/Routers.cs).</summary>
public sealed class RouterDefinition
{
    public string Name { get; }
    public string Summary { get; }
    /// <summary>The router's own keys, e.g. router.p for top_p.</summary>
    public IReadOnlyList<ParamDef> Knobs { get; }
    /// <summary>The knobs that tell two configurations of this router apart in a plot legend.</summary>
    public IReadOnlyList<string> LabelKnobs { get; }
    /// <summary>The configuration every other router is compared with (top-k at the base model's k).</summary>
    public bool IsBaseline { get; init; }
    public FinetuneStrategy Finetune { get; init; } = FinetuneStrategy.Loss;
    /// <summary>Whether router.target_experts can hold this rule's mean experts per token (a variable-k rule with a
    /// threshold to move); else why not.</summary>
    public string? NoTargetExperts { get; init; }
    /// <summary>Whether router.budget_calibration can move this rule's budget after training (a rule with a β);
    /// else why not.</summary>
    public string? NoBudgetCalibration { get; init; }
    /// <summary>Cross-field checks over a run's flat configuration: (key, message) for each violation.</summary>
    public Func<IReadOnlyDictionary<string, object>, IEnumerable<(string Key,
        string Message)>> Constraints { get; init; } =
        _ => [];

    /// <summary>knobs: ParamDefs whose keys are the bare knob names ("p"); they become router.p, owned by this
    /// router.</summary>
    public RouterDefinition(string name, string summary, IEnumerable<ParamDef> knobs, params string[] labelKnobs)
    {
        Name = name;
        Summary = summary;
        Knobs = knobs.Select(k => k with { Key = "router." + k.Key, Router = name }).ToList();
        LabelKnobs = labelKnobs;
    }

    /// <summary>A check for the common case: an integer knob may not exceed another key (or a sum of keys):
    /// "{what} {value} exceeds {limitText} {limit}".</summary>
    public static IEnumerable<(string, string)> AtMost(IReadOnlyDictionary<string, object> c, string key, string what,
        string limitText, params string[] limitKeys)
    {
        long value = Convert.ToInt64(c[key]), max = limitKeys.Sum(k => Convert.ToInt64(c[k]));
        if (value > max) yield return (key, $"{what} {value} exceeds {limitText} {max}");
    }
}

/// <summary>The routers this process knows: registered at start-up (Moe/Routing/Routers.Register) and read
/// by the schema, spec validation and reports. A test may register a router of its own.</summary>
public static class RouterCatalog
{
    static readonly object Gate = new();
    static volatile RouterDefinition[] all = [];

    /// <summary>Bumped on every registration, so that the schema built from the catalog is rebuilt.</summary>
    public static int Version { get; private set; }

    /// <summary>Adds a router; disposing the returned handle removes it again (a plug-in a test brings for
    /// itself).</summary>
    public static IDisposable Register(RouterDefinition definition)
    {
        lock (Gate)
        {
            if (all.FirstOrDefault(d => d.Name == definition.Name) is { } known)
            {
                if (known == definition) return new RegistrationHandle(() => { });     // registered already: idempotent
                throw new InvalidOperationException($"a router named '{definition.Name}' is already registered");
            }
            all = [.. all, definition];
            Version++;
        }
        return new RegistrationHandle(() =>
        {
            lock (Gate)
            {
                all = all.Where(d => d != definition).ToArray();
                Version++;
            }
        });
    }

    public static IReadOnlyList<RouterDefinition> All => all.Length > 0 ? all
        : throw new InvalidOperationException("no routers registered: call " +
            "Orchestrator.Moe.Routing.Routers.Register() at start-up");

    public static string[] Names => All.Select(d => d.Name).ToArray();

    public static RouterDefinition Get(string name) => All.FirstOrDefault(d => d.Name == name)
        ?? throw new ArgumentException($"unknown router type '{name}' (allowed: {string.Join(", ", Names)})");

    /// <summary>The baseline router's name (top_k).</summary>
    public static string Baseline => All.First(d => d.IsBaseline).Name;
}

/// <summary>Undoes a registration once, when disposed.</summary>
public sealed class RegistrationHandle(Action remove) : IDisposable
{
    Action? remove = remove;
    public void Dispose() => Interlocked.Exchange(ref remove, null)?.Invoke();
}
