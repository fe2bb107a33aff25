namespace Orchestrator.Moe.Routing;

/// <summary>The routers this build knows: each a plug-in — one file (its routing rule and its
/// <see cref="RouterDefinition"/>: knobs, defaults, ranges, constraints, report label, trainer) plus one
/// line below. Call <see cref="Register"/> once at start-up (the CLI does); a test may add its own.</summary>
public static class Routers
{
    static readonly Dictionary<string, Func<RouterConfig, int, Router>> Factories = [];

    public static void Register()
    {
        Add(TopKRouter.Definition, (c, n) => new TopKRouter(c, n));
        Add(TopPRouter.Definition, (c, n) => new TopPRouter(c, n));
        Add(AdaptiveGatingRouter.Definition, (c, n) => new AdaptiveGatingRouter(c, n));
        Add(NullExpertRouter.Definition, (c, n) => new NullExpertRouter(c, n));
        Add(AdaKRouter.Definition, (c, n) => new AdaKRouter(c, n));
        Add(ReluRouter.Definition, (c, n) => new ReluRouter(c, n));
    }

    /// <summary>Registers a router: its definition for the schema, validation and reports, its factory for models.
    /// Disposing the returned handle unregisters it.</summary>
    public static IDisposable Add(RouterDefinition definition, Func<RouterConfig, int, Router> create)
    {
        lock (Factories)
        {
            var registration = RouterCatalog.Register(definition);
            Factories[definition.Name] = create;
            return new RegistrationHandle(() =>
            {
                lock (Factories) Factories.Remove(definition.Name);
                registration.Dispose();
            });
        }
    }

    /// <summary>The routing rule for a configuration over N real experts.</summary>
    public static Router Create(RouterConfig config, int experts)
    {
        Func<RouterConfig, int, Router>? create;
        lock (Factories) Factories.TryGetValue(config.Type, out create);
        return (create ?? throw new ArgumentException(
            $"unknown router type '{config.Type}' (allowed: {string.Join(", ", RouterCatalog.Names)})"))(config,
                experts);
    }
}
