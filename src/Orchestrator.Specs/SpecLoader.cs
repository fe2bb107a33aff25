using System.Globalization;
using System.Text;

namespace Orchestrator.Specs;

/// <summary>Reads a YAML experiment spec (with `extends` and command-line overrides), validates it
/// — reporting every error at once with file, line, column, key path, what was expected and the
/// allowed values — and expands its sweep into runs with stable identities.</summary>
public static partial class SpecLoader
{
    static readonly string[] TopKeys = ["name", "description", "extends", "base", "sweep", "execution"];
    static readonly string[] SweepKeys = ["seeds", "router", "grid", "zip", "points", "exclude"];
    const string CommandLine = "<command line>";

    public static ExperimentSpec Load(string path, IEnumerable<string>? overrides = null)
    {
        var errors = new List<SpecError>();
        var texts = new StringBuilder();
        var root = LoadWithExtends(Path.GetFullPath(path), path, [], texts, errors);
        if (root == null) throw new SpecException(errors);
        foreach (var o in overrides ?? [])
        {
            root = ApplyOverride(root, o, errors);
            texts.Append("# override: ").AppendLine(o);
        }
        var spec = Build(root, path, texts.ToString(), errors);
        if (errors.Count > 0) throw new SpecException(Dedupe(errors));
        return spec!;
    }

    public static ExperimentSpec LoadText(string text, string file = "<spec>", IEnumerable<string>? overrides = null)
    {
        var errors = new List<SpecError>();
        SpecMapping? root = null;
        try { root = SpecNode.Parse(text, file) as SpecMapping; }
        catch (SpecException e) { throw new SpecException(e.Errors); }
        if (root == null) throw new SpecException([new SpecError(new SourceMark(file, 1, 1), "",
            "a spec must be a mapping")]);
        var all = new StringBuilder(text);
        foreach (var o in overrides ?? [])
        {
            root = ApplyOverride(root, o, errors);
            all.Append("\n# override: ").Append(o);
        }
        var spec = Build(root, file, all.ToString(), errors);
        if (errors.Count > 0) throw new SpecException(Dedupe(errors));
        return spec!;
    }

    static List<SpecError> Dedupe(List<SpecError> errors) =>
        errors.DistinctBy(e => e.ToString()).OrderBy(e => e.Mark.File).ThenBy(e => e.Mark.Line).ThenBy(e
            => e.Mark.Column).ToList();

    // ---------------------------------------------------------------------------------------------
    // Validation and expansion

    /// <summary>An assignment of one configuration key, remembered with where it was written.</summary>
    sealed record Assign(string Key, object Value, SourceMark Mark);

    internal static void UnknownKey(List<SpecError> errors, SourceMark mark, string path, string key,
        IEnumerable<string> allowed)
    {
        var hint = ConfigSchema.Suggest(key, allowed);
        errors.Add(new SpecError(mark, path, $"unknown key '{key}'"
            + (hint != null ? $" — did you mean '{hint}'?" : ""),
            Allowed: string.Join(", ", allowed)));
    }

    static ExperimentSpec? Build(SpecMapping root, string file, string text, List<SpecError> errors)
    {
        foreach (var e in root.Entries.Where(e => !TopKeys.Contains(e.Key)))
            UnknownKey(errors, e.KeyMark, e.Key, e.Key, TopKeys);

        string name = Scalar(root, "name", errors) ?? Path.GetFileNameWithoutExtension(file);
        // The name becomes a folder under results/: plain characters, starting with a letter or digit (no "..").
        if (name.Length == 0 || name.Length > 100 || !char.IsAsciiLetterOrDigit(name[0]) || name.Contains("..") ||
            name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
            errors.Add(new SpecError(root.Get("name")?.Value.Mark ?? root.Mark, "name", $"invalid sweep name '{name}'",
                Expected: "up to 100 ASCII letters, digits, '-', '_' or '.', starting with a letter or digit, " +
                          "no '..'"));
        string description = Scalar(root, "description", errors) ?? "";

        // base: flatten nested mappings into dotted keys.
        var baseAssigns = new List<Assign>();
        var baseNode = root.Get("base");
        string baseRouter = RouterCatalog.Baseline;
        if (baseNode != null)
        {
            if (baseNode.Value is SpecMapping bm)
            {
                var flat = new List<(string key, SourceMark keyMark, SpecNode node)>();
                Flatten(bm, "", flat, errors, "base");
                var rt = flat.LastOrDefault(f => f.key == "router.type");
                if (rt.node is SpecScalar rts)
                {
                    var v = SpecValues.Parse(ConfigSchema.Find("router.type", RouterCatalog.Baseline)!, rts,
                        out var err);
                    if (v is string s) baseRouter = s;
                }
                // One key set twice ("finetune.steps: 10" beside "finetune: {steps: 20}") is ambiguous: refused.
                foreach (var twice in flat.GroupBy(f => f.key).Where(g => g.Count() > 1))
                    errors.Add(new SpecError(twice.Last().keyMark, "base." + twice.Key, "set twice (also at line " +
                        $"{twice.First().keyMark.Line}, column {twice.First().keyMark.Column}): keep one"));
                foreach (var (key, keyMark, node) in flat)
                {
                    var def = ConfigSchema.Find(key, baseRouter);
                    if (def == null && ConfigSchema.IsKey(key))
                    {
                        errors.Add(new SpecError(keyMark, "base." + key,
                            $"'{key}' applies only to router.type " +
                            $"{string.Join(" or ", ConfigSchema.RoutersWith(key))} (here router.type is {baseRouter})",
                            Allowed: string.Join(", ", ConfigSchema.RouterKnobs(baseRouter).Select(k
                                => "router." + k))));
                        continue;
                    }
                    var a = ParseValue(def!, node, "base." + key, errors);
                    if (a != null) baseAssigns.Add(new Assign(key, a, node.Mark));
                }
            }
            else errors.Add(new SpecError(baseNode.Value.Mark, "base",
                "expected a mapping of configuration sections (model, router, data, …)"));
        }

        // sweep axes
        var axes = new List<List<List<Assign>>>(); // each axis: list of options; each option: assignments
        var excludes = new List<List<(string key, List<object> values, SourceMark mark)>>();
        var seeds = new List<Assign>();
        var sweepNode = root.Get("sweep");
        if (sweepNode != null)
        {
            if (sweepNode.Value is SpecMapping sm)
                ParseSweep(sm, axes, excludes, seeds, errors);
            else if (!(sweepNode.Value is SpecScalar { IsNull: true }))
                errors.Add(new SpecError(sweepNode.Value.Mark, "sweep", "expected a mapping of axes",
                    Allowed: string.Join(", ", SweepKeys)));
        }
        var baseSeed = baseAssigns.LastOrDefault(a => a.Key == "seed");
        if (seeds.Count == 0) seeds.Add(baseSeed ?? new Assign("seed", 0L, root.Mark));
        axes.Add(seeds.Select(s => new List<Assign> { s }).ToList());

        var exec = ExecutionSection.Parse(root.Get("execution"), errors);

        // The size is known before anything is made: the product of the axes (before excludes and duplicates).
        long combinations = axes.Aggregate(1L, (n, a) => n > exec.MaxRuns ? n : n * Math.Max(1, a.Count));
        if (combinations > exec.MaxRuns)
        {
            errors.Add(new SpecError(sweepNode?.Value.Mark ?? root.Mark, "sweep", FormattableString.Invariant(
                $"the axes multiply to more than {exec.MaxRuns:N0} runs (at least {combinations:N0}, counted ") +
                "before any is made); narrow the sweep or raise execution.max_runs"));
            return null;
        }

        // Expand: cartesian product over axes, then canonicalise, check, exclude and dedupe.
        var runs = new List<PlannedRun>();
        var swept = axes.SelectMany(a => a.SelectMany(o => o.Select(x => x.Key))).Distinct().ToList();
        if (!swept.Contains("seed")) swept.Add("seed");
        int duplicates = 0;
        var seen = new HashSet<string>();
        var reported = new HashSet<SourceMark>();
        foreach (var combo in Product(axes))
        {
            var assigns = combo.SelectMany(o => o).ToList();
            var run = Canonical(baseAssigns, baseRouter, assigns, errors, reported);
            if (run == null) continue;
            if (excludes.Any(rule => rule.All(c => run.TryGetValue(c.key,
                out var rv) && c.values.Any(v => ConfigValues.Format(v) == ConfigValues.Format(rv)))))
                continue;
            var identity = RunIdentity.Of(run);
            if (!seen.Add(identity.ConfigHash)) { duplicates++; continue; }
            var axisValues = swept.Where(run.ContainsKey).ToDictionary(k => k, k => ConfigValues.Format(run[k]));
            runs.Add(new PlannedRun(identity, run, axisValues));
        }
        if (errors.Count > 0) return null;
        if (runs.Count == 0)
            errors.Add(new SpecError(root.Mark, "sweep",
                "the sweep expands to no runs (every combination is excluded)"));
        return new ExperimentSpec
        {
            Name = name, Description = description, Path = file, Text = text,
            Hash = ConfigValues.Hash(text), Runs = runs, SweptKeys = swept, Execution = exec, Duplicates = duplicates,
        };
    }

    static string? Scalar(SpecMapping m, string key, List<SpecError> errors)
    {
        var e = m.Get(key);
        if (e == null) return null;
        if (e.Value is SpecScalar s) return s.IsNull ? "" : s.Value;
        errors.Add(new SpecError(e.Value.Mark, key, $"expected a string, got {e.Value.Describe()}"));
        return null;
    }

    /// <summary>Nested mappings become dotted keys; a mapping value stops at a known key.</summary>
    static void Flatten(SpecMapping m, string prefix, List<(string, SourceMark, SpecNode)> output,
        List<SpecError> errors, string where)
    {
        foreach (var e in m.Entries)
        {
            var key = prefix.Length == 0 ? e.Key : prefix + "." + e.Key;
            if (ConfigSchema.IsKey(key)) { output.Add((key, e.KeyMark, e.Value)); continue; }
            bool isSection = ConfigSchema.Keys.Any(k => k.StartsWith(key + ".", StringComparison.Ordinal));
            if (isSection && e.Value is SpecMapping child) { Flatten(child, key, output, errors, where); continue; }
            if (isSection)
            {
                errors.Add(new SpecError(e.Value.Mark, $"{where}.{key}",
                    $"expected a mapping, got {e.Value.Describe()}",
                    Allowed: string.Join(", ", ConfigSchema.Keys.Where(k => k.StartsWith(key + ".")).Select(k
                        => k[(key.Length + 1)..]).Distinct())));
                continue;
            }
            var siblings = ConfigSchema.Keys.Where(k => prefix.Length == 0 || k.StartsWith(prefix + ".",
                StringComparison.Ordinal))
                .Select(k => prefix.Length == 0 ? k.Split('.')[0] : k[(prefix.Length + 1)..].Split('.')[0]).Distinct();
            UnknownKey(errors, e.KeyMark, $"{where}.{key}", e.Key, siblings);
        }
    }

    internal static object? ParseValue(ParamDef def, SpecNode node, string path, List<SpecError> errors)
    {
        if (node is not SpecScalar s)
        {
            errors.Add(new SpecError(node.Mark, path, $"got {node.Describe()}", Expected: ExpectedText(def),
                Allowed: AllowedText(def)));
            return null;
        }
        var v = SpecValues.Parse(def, s, out var err);
        if (v == null)
            errors.Add(new SpecError(s.Mark, path, err ?? "invalid value", Expected: ExpectedText(def),
                Allowed: AllowedText(def)));
        return v;
    }

    // An enum's allowed values are the whole expectation: say them once.
    static string? ExpectedText(ParamDef def) => def.Type == ParamType.Enum ? null : def.Expected;
    static string? AllowedText(ParamDef def) => def.Allowed is null ? null : string.Join(", ", def.Allowed);

    /// <summary>The canonical configuration of one combination: base, then the sweep's assignments,
    /// then every default of the resulting router; router knobs of other routers are dropped from
    /// base and refused from the sweep; cross-field constraints checked.</summary>
    static SortedDictionary<string, object>? Canonical(List<Assign> baseAssigns, string baseRouter,
        List<Assign> assigns,
        List<SpecError> errors, HashSet<SourceMark> reported)
    {
        var type = assigns.LastOrDefault(a => a.Key == "router.type")?.Value as string ?? baseRouter;
        var run = ConfigSchema.Defaults(type);
        var origin = new Dictionary<string, SourceMark>();
        foreach (var a in baseAssigns)
        {
            if (ConfigSchema.Find(a.Key, type) is not { } def) continue;     // a knob of the base router only
            if (def.Router != null && type != baseRouter) continue;
            run[a.Key] = a.Value; origin[a.Key] = a.Mark;
        }
        bool ok = true;
        foreach (var a in assigns)
        {
            var def = ConfigSchema.Find(a.Key, type);
            if (def == null)
            {
                if (reported.Add(a.Mark))
                    errors.Add(new SpecError(a.Mark, a.Key, $"'{a.Key}' does not apply to router.type {type}",
                        Allowed: string.Join(", ", ConfigSchema.RouterKnobs(type).Select(k => "router." + k))));
                ok = false;
                continue;
            }
            // The same key may be typed differently under another router (e.g. an int), so re-coerce.
            run[a.Key] = def.Type == ParamType.Float && a.Value is long l ? (double)l : a.Value;
            origin[a.Key] = a.Mark;
        }
        if (!ok) return null;

        void Fail(string key, string message)
        {
            var mark = origin.GetValueOrDefault(key) ?? new SourceMark("<defaults>", 0, 0);
            if (reported.Add(mark with { File = mark.File + "#" + message })) errors.Add(new SpecError(mark, key,
                message));
            ok = false;
        }
        long L(string k) => (long)run[k];
        if (run["model.source"] is string source && source.StartsWith(HfConfig.Prefix, StringComparison.Ordinal))
            PretrainedShape(source, run, origin, Fail);
        if (L("model.d_model") % L("model.heads") != 0 || (L("model.d_model") / L("model.heads")) % 2 != 0)
            Fail("model.heads",
                $"d_model {L("model.d_model")} must split into {L("model.heads")} heads of even size (rotary " +
                $"embeddings)");
        if (L("pretrain.k") > L("model.experts")) Fail("pretrain.k",
            $"k {L("pretrain.k")} exceeds model.experts {L("model.experts")}");
        foreach (var (key, message) in RouterCatalog.Get(type).Constraints(run)) Fail(key, message);
        if (run.TryGetValue("router.target_experts", out var target) && Convert.ToDouble(target) > 0)
        {
            if (RouterCatalog.Get(type).NoTargetExperts is { } why)
                Fail("router.target_experts", $"{type} cannot hold a target number of experts per token: {why} " +
                    $"(target_experts applies to {string.Join(", ", RouterCatalog.All.Where(d => d.NoTargetExperts
                        is null).Select(d => d.Name))})");
            else if (Convert.ToDouble(target) > L("model.experts"))
                Fail("router.target_experts", $"target {target} exceeds model.experts {L("model.experts")}");
            if (run.TryGetValue("router.budget_calibration", out var rounds) && Convert.ToInt64(rounds) > 0
                && RouterCatalog.Get(type).NoBudgetCalibration is { } no)
                Fail("router.budget_calibration", $"{type} cannot calibrate its budget: {no}");
        }
        else if (run.TryGetValue("router.budget_calibration", out var rounds) && Convert.ToInt64(rounds) > 0)
            Fail("router.budget_calibration", "budget_calibration calibrates a compute budget: set " +
                                              "router.target_experts too");
        var tasks = ((string)run["data.tasks"]).Split(',',
            StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var t in tasks.Where(t => !ConfigSchema.Tasks.Contains(t)))
            Fail("data.tasks", $"unknown task '{t}' (allowed: {string.Join(", ", ConfigSchema.Tasks)})");
        return ok ? run : null;
    }

    /// <summary>model.source: hf:&lt;folder&gt; — the model's shape (and the base's k) come from its config.json:
    /// written into the run, and a spec key that says otherwise is an error at that key.</summary>
    static void PretrainedShape(string source, SortedDictionary<string, object> run,
        Dictionary<string, SourceMark> origin, Action<string, string> fail)
    {
        HfConfig hf;
        try
        {
            hf = HfConfig.Read(HfConfig.FolderOf(source), (int)(long)run["model.context"], (string)run["model.dtype"]);
        }
        catch (HfConfigException e)
        {
            fail("model.source", e.Message);
            return;
        }
        var m = hf.Model;
        var shape = new (string Key, object Value)[]
        {
            ("model.layers", (long)m.Layers), ("model.d_model", (long)m.DModel), ("model.heads", (long)m.Heads),
            ("model.experts", (long)m.Experts), ("model.expert_hidden", (long)m.ExpertHidden),
            ("model.shared_experts", (long)m.SharedExperts), ("model.moe_layers", m.MoeLayers),
            ("model.vocab_size", (long)m.VocabSize), ("model.rope_theta", m.RopeTheta), ("pretrain.k", (long)hf.TopK),
        };
        foreach (var (key, value) in shape)
        {
            if (origin.ContainsKey(key) && ConfigValues.Format(run[key]) != ConfigValues.Format(value))
                fail(key, $"{key} {ConfigValues.Format(run[key])} contradicts the checkpoint's config.json " +
                    $"({ConfigValues.Format(value)} in {Path.Combine(hf.Folder, "config.json")}): a pretrained " +
                    "model's shape comes from its config.json, leave the key out");
            run[key] = value;
        }
    }
}
