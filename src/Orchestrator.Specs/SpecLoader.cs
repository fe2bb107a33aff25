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
    static readonly string[] ExecKeys = ["devices", "jobs_per_device", "executor", "cpu_fallback", "stagger_seconds", "max_jobs", "slurm"];
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
        if (root == null) throw new SpecException([new SpecError(new SourceMark(file, 1, 1), "", "a spec must be a mapping")]);
        var all = new StringBuilder(text);
        foreach (var o in overrides ?? []) { root = ApplyOverride(root, o, errors); all.Append("\n# override: ").Append(o); }
        var spec = Build(root, file, all.ToString(), errors);
        if (errors.Count > 0) throw new SpecException(Dedupe(errors));
        return spec!;
    }

    static List<SpecError> Dedupe(List<SpecError> errors) =>
        errors.DistinctBy(e => e.ToString()).OrderBy(e => e.Mark.File).ThenBy(e => e.Mark.Line).ThenBy(e => e.Mark.Column).ToList();

    static SpecMapping? LoadWithExtends(string full, string display, HashSet<string> seen, StringBuilder texts, List<SpecError> errors)
    {
        if (!seen.Add(full))
        {
            errors.Add(new SpecError(new SourceMark(display, 1, 1), "extends", "circular extends"));
            return null;
        }
        if (!File.Exists(full))
        {
            errors.Add(new SpecError(new SourceMark(display, 1, 1), "", "spec file not found"));
            return null;
        }
        var text = File.ReadAllText(full);
        SpecNode node;
        try { node = SpecNode.Parse(text, display); }
        catch (SpecException e) { errors.AddRange(e.Errors); return null; }
        if (node is not SpecMapping map)
        {
            errors.Add(new SpecError(node.Mark, "", "a spec must be a mapping of keys (name, base, sweep, …)"));
            return null;
        }
        var ext = map.Get("extends");
        SpecMapping? parent = null;
        if (ext != null)
        {
            if (ext.Value is not SpecScalar s || s.IsNull)
                errors.Add(new SpecError(ext.Value.Mark, "extends", "expected a path to another spec"));
            else
            {
                var pfull = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(full)!, s.Value));
                var pdisplay = Path.Combine(Path.GetDirectoryName(display) ?? "", s.Value);
                parent = LoadWithExtends(pfull, pdisplay, seen, texts, errors);
                if (parent == null && !errors.Any(e => e.Path == "extends"))
                    errors.Add(new SpecError(ext.Value.Mark, "extends", $"cannot load '{s.Value}'"));
            }
        }
        texts.Append("# file: ").AppendLine(display).AppendLine(text);
        var own = new SpecMapping { Mark = map.Mark, Entries = map.Entries.Where(e => e.Key != "extends").ToList() };
        if (parent == null) return own;
        // A child's name and description are its own, and so is its sweep when it has one (the axes are
        // what a child spec is for: they replace the parent's); base and execution deep-merge.
        var inherited = new SpecMapping
        {
            Mark = parent.Mark,
            Entries = parent.Entries.Where(e => e.Key is not ("name" or "description") && !(e.Key == "sweep" && own.Get("sweep") != null)).ToList(),
        };
        return inherited.MergedWith(own);
    }

    /// <summary>`a.b.c=value`: value is YAML (so `[0,1]` is a list). Paths are relative to `base`,
    /// except `seeds` (sweep.seeds) and paths starting with name, description, sweep, base or execution.</summary>
    static SpecMapping ApplyOverride(SpecMapping root, string text, List<SpecError> errors)
    {
        int eq = text.IndexOf('=');
        var mark = new SourceMark(CommandLine, 1, 1);
        if (eq <= 0)
        {
            errors.Add(new SpecError(mark, text, "an override must look like key.path=value"));
            return root;
        }
        var path = text[..eq].Trim();
        SpecNode value;
        try { value = Remark(SpecNode.Parse(text[(eq + 1)..], CommandLine), eq + 1); }
        catch (SpecException e) { errors.AddRange(e.Errors); return root; }
        var parts = path.Split('.').ToList();
        if (parts[0] == "seeds") parts.Insert(0, "sweep");
        else if (!TopKeys.Contains(parts[0])) parts.Insert(0, "base");
        SpecNode nested = value;
        for (int i = parts.Count - 1; i >= 0; i--)
            nested = new SpecMapping { Mark = mark, Entries = [new SpecEntry(parts[i], mark, nested)] };
        return root.MergedWith((SpecMapping)nested);
    }

    static SpecNode Remark(SpecNode n, int colOffset) => n switch
    {
        SpecScalar s => new SpecScalar { Mark = s.Mark with { Column = s.Mark.Column + colOffset }, Value = s.Value, Quoted = s.Quoted, IsNull = s.IsNull },
        SpecSequence q => new SpecSequence { Mark = q.Mark with { Column = q.Mark.Column + colOffset }, Items = q.Items.Select(i => Remark(i, colOffset)).ToList() },
        SpecMapping m => new SpecMapping { Mark = m.Mark with { Column = m.Mark.Column + colOffset }, Entries = m.Entries.Select(e => e with { Value = Remark(e.Value, colOffset) }).ToList() },
        _ => n,
    };

    // ---------------------------------------------------------------------------------------------
    // Validation and expansion

    /// <summary>An assignment of one configuration key, remembered with where it was written.</summary>
    sealed record Assign(string Key, object Value, SourceMark Mark);

    static void UnknownKey(List<SpecError> errors, SourceMark mark, string path, string key, IEnumerable<string> allowed)
    {
        var hint = ConfigSchema.Suggest(key, allowed);
        errors.Add(new SpecError(mark, path, $"unknown key '{key}'" + (hint != null ? $" — did you mean '{hint}'?" : ""),
            Allowed: string.Join(", ", allowed)));
    }

    static ExperimentSpec? Build(SpecMapping root, string file, string text, List<SpecError> errors)
    {
        foreach (var e in root.Entries.Where(e => !TopKeys.Contains(e.Key)))
            UnknownKey(errors, e.KeyMark, e.Key, e.Key, TopKeys);

        string name = Scalar(root, "name", errors) ?? Path.GetFileNameWithoutExtension(file);
        if (name.Length == 0 || name.Any(c => !(char.IsLetterOrDigit(c) || c is '-' or '_' or '.')))
            errors.Add(new SpecError(root.Get("name")?.Value.Mark ?? root.Mark, "name", $"invalid sweep name '{name}'",
                Expected: "letters, digits, '-', '_' or '.'"));
        string description = Scalar(root, "description", errors) ?? "";

        // base: flatten nested mappings into dotted keys.
        var baseAssigns = new List<Assign>();
        var baseNode = root.Get("base");
        string baseRouter = "top_k";
        if (baseNode != null)
        {
            if (baseNode.Value is SpecMapping bm)
            {
                var flat = new List<(string key, SourceMark keyMark, SpecNode node)>();
                Flatten(bm, "", flat, errors, "base");
                var rt = flat.LastOrDefault(f => f.key == "router.type");
                if (rt.node is SpecScalar rts)
                {
                    var v = ConfigValues.Parse(ConfigSchema.Find("router.type", "top_k")!, rts, out var err);
                    if (v is string s) baseRouter = s;
                }
                foreach (var (key, keyMark, node) in flat)
                {
                    var def = ConfigSchema.Find(key, baseRouter);
                    if (def == null && ConfigSchema.IsKey(key))
                    {
                        errors.Add(new SpecError(keyMark, "base." + key,
                            $"'{key}' applies only to router.type {string.Join(" or ", ConfigSchema.RoutersWith(key))} (here router.type is {baseRouter})",
                            Allowed: string.Join(", ", ConfigSchema.RouterKnobs(baseRouter).Select(k => "router." + k))));
                        continue;
                    }
                    var a = ParseValue(def!, node, "base." + key, errors);
                    if (a != null) baseAssigns.Add(new Assign(key, a, node.Mark));
                }
            }
            else errors.Add(new SpecError(baseNode.Value.Mark, "base", "expected a mapping of configuration sections (model, router, data, …)"));
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
                errors.Add(new SpecError(sweepNode.Value.Mark, "sweep", "expected a mapping of axes", Allowed: string.Join(", ", SweepKeys)));
        }
        var baseSeed = baseAssigns.LastOrDefault(a => a.Key == "seed");
        if (seeds.Count == 0) seeds.Add(baseSeed ?? new Assign("seed", 0L, root.Mark));
        axes.Add(seeds.Select(s => new List<Assign> { s }).ToList());

        var exec = ParseExecution(root.Get("execution"), errors);

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
            if (excludes.Any(rule => rule.All(c => run.TryGetValue(c.key, out var rv) && c.values.Any(v => ConfigValues.Format(v) == ConfigValues.Format(rv)))))
                continue;
            var identity = RunIdentity.Of(run);
            if (!seen.Add(identity.ConfigHash)) { duplicates++; continue; }
            var axisValues = swept.Where(run.ContainsKey).ToDictionary(k => k, k => ConfigValues.Format(run[k]));
            runs.Add(new PlannedRun(identity, run, axisValues));
        }
        if (errors.Count > 0) return null;
        if (runs.Count == 0)
            errors.Add(new SpecError(root.Mark, "sweep", "the sweep expands to no runs (every combination is excluded)"));
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
    static void Flatten(SpecMapping m, string prefix, List<(string, SourceMark, SpecNode)> output, List<SpecError> errors, string where)
    {
        foreach (var e in m.Entries)
        {
            var key = prefix.Length == 0 ? e.Key : prefix + "." + e.Key;
            if (ConfigSchema.IsKey(key)) { output.Add((key, e.KeyMark, e.Value)); continue; }
            bool isSection = ConfigSchema.Keys.Any(k => k.StartsWith(key + ".", StringComparison.Ordinal));
            if (isSection && e.Value is SpecMapping child) { Flatten(child, key, output, errors, where); continue; }
            if (isSection)
            {
                errors.Add(new SpecError(e.Value.Mark, $"{where}.{key}", $"expected a mapping, got {e.Value.Describe()}",
                    Allowed: string.Join(", ", ConfigSchema.Keys.Where(k => k.StartsWith(key + ".")).Select(k => k[(key.Length + 1)..]).Distinct())));
                continue;
            }
            var siblings = ConfigSchema.Keys.Where(k => prefix.Length == 0 || k.StartsWith(prefix + ".", StringComparison.Ordinal))
                .Select(k => prefix.Length == 0 ? k.Split('.')[0] : k[(prefix.Length + 1)..].Split('.')[0]).Distinct();
            UnknownKey(errors, e.KeyMark, $"{where}.{key}", e.Key, siblings);
        }
    }

    static object? ParseValue(ParamDef def, SpecNode node, string path, List<SpecError> errors)
    {
        if (node is not SpecScalar s)
        {
            errors.Add(new SpecError(node.Mark, path, $"got {node.Describe()}", Expected: ExpectedText(def), Allowed: AllowedText(def)));
            return null;
        }
        var v = ConfigValues.Parse(def, s, out var err);
        if (v == null)
            errors.Add(new SpecError(s.Mark, path, err ?? "invalid value", Expected: ExpectedText(def), Allowed: AllowedText(def)));
        return v;
    }

    // An enum's allowed values are the whole expectation: say them once.
    static string? ExpectedText(ParamDef def) => def.Type == ParamType.Enum ? null : def.Expected;
    static string? AllowedText(ParamDef def) => def.Allowed is null ? null : string.Join(", ", def.Allowed);

    /// <summary>A key as written in a sweep axis; router knobs are valid if some router has them.</summary>
    static ParamDef? AxisDef(string key, SourceMark mark, string path, List<SpecError> errors)
    {
        if (key == "seed")
        {
            errors.Add(new SpecError(mark, path, "vary the seed with sweep.seeds, not as an axis"));
            return null;
        }
        var def = ConfigSchema.Find(key, "top_k") ?? ConfigSchema.All.FirstOrDefault(d => d.Key == key);
        if (def == null) UnknownKey(errors, mark, path, key, ConfigSchema.Keys);
        return def;
    }

    static List<SpecNode> Values(SpecNode n) => n is SpecSequence q ? q.Items : [n];

    static void ParseSweep(SpecMapping sm, List<List<List<Assign>>> axes,
        List<List<(string, List<object>, SourceMark)>> excludes, List<Assign> seeds, List<SpecError> errors)
    {
        foreach (var e in sm.Entries)
        {
            switch (e.Key)
            {
                case "seeds":
                {
                    var seedDef = ConfigSchema.Find("seed", "top_k")!;
                    if (e.Value is SpecScalar count && long.TryParse(count.Value, out var n) && n >= 1 && n <= 10_000)
                        for (long i = 0; i < n; i++) seeds.Add(new Assign("seed", i, count.Mark));
                    else if (e.Value is SpecSequence list)
                        foreach (var item in list.Items)
                        {
                            var v = ParseValue(seedDef, item, "sweep.seeds", errors);
                            if (v != null) seeds.Add(new Assign("seed", v, item.Mark));
                        }
                    else errors.Add(new SpecError(e.Value.Mark, "sweep.seeds", $"got {e.Value.Describe()}", Expected: "a list of seeds, or a count"));
                    break;
                }
                case "router":
                {
                    if (e.Value is not SpecMapping rm)
                    {
                        errors.Add(new SpecError(e.Value.Mark, "sweep.router", "expected a mapping from router type to its own parameter grid",
                            Allowed: string.Join(", ", ConfigSchema.Routers)));
                        break;
                    }
                    var options = new List<List<Assign>>();
                    foreach (var r in rm.Entries)
                    {
                        if (!ConfigSchema.Routers.Contains(r.Key)) { UnknownKey(errors, r.KeyMark, "sweep.router." + r.Key, r.Key, ConfigSchema.Routers); continue; }
                        var typeAssign = new Assign("router.type", r.Key, r.KeyMark);
                        var grid = new List<List<List<Assign>>>();
                        if (r.Value is SpecMapping knobs)
                            foreach (var k in knobs.Entries)
                            {
                                if (k.Key == "zip")
                                {
                                    // Knobs varied together, e.g. null_experts: {zip: {nulls: [8, 16], k: [3, 4]}} — (m, k) pairs.
                                    var zipped = RouterZip(r.Key, k, errors);
                                    if (zipped != null) grid.Add(zipped);
                                    continue;
                                }
                                var key = "router." + k.Key;
                                var def = ConfigSchema.Find(key, r.Key);
                                var path = $"sweep.router.{r.Key}.{k.Key}";
                                if (def == null || def.Key == "router.type")
                                {
                                    UnknownKey(errors, k.KeyMark, path, k.Key, ConfigSchema.RouterKnobs(r.Key).Concat(["balance_coef", "z_loss_coef"]));
                                    continue;
                                }
                                grid.Add(Values(k.Value).Select(v => ParseValue(def, v, path, errors) is { } x
                                    ? new List<Assign> { new(key, x, v.Mark) } : []).ToList());
                            }
                        else if (!(r.Value is SpecScalar { IsNull: true }))
                            errors.Add(new SpecError(r.Value.Mark, "sweep.router." + r.Key, $"got {r.Value.Describe()}",
                                Expected: "a mapping of this router's parameters to values or lists", Allowed: string.Join(", ", ConfigSchema.RouterKnobs(r.Key))));
                        foreach (var combo in Product(grid))
                            options.Add([typeAssign, .. combo.SelectMany(c => c)]);
                    }
                    if (options.Count > 0) axes.Add(options);
                    break;
                }
                case "grid":
                {
                    if (e.Value is not SpecMapping gm) { errors.Add(new SpecError(e.Value.Mark, "sweep.grid", "expected a mapping of key: [values]")); break; }
                    var flat = new List<(string, SourceMark, SpecNode)>();
                    FlattenLoose(gm, "", flat);
                    foreach (var (key, mark, node) in flat)
                    {
                        var def = AxisDef(key, mark, "sweep.grid." + key, errors);
                        if (def == null) continue;
                        axes.Add(Values(node).Select(v => ParseValue(def, v, "sweep.grid." + key, errors) is { } x
                            ? new List<Assign> { new(key, x, v.Mark) } : []).ToList());
                    }
                    break;
                }
                case "zip":
                {
                    var groups = e.Value is SpecSequence zs ? zs.Items : [e.Value];
                    foreach (var g in groups)
                    {
                        if (g is not SpecMapping zm) { errors.Add(new SpecError(g.Mark, "sweep.zip", "expected a mapping of key: [values], all lists of one length")); continue; }
                        var flat = new List<(string, SourceMark, SpecNode)>();
                        FlattenLoose(zm, "", flat);
                        var lists = new List<(string key, List<(object? v, SourceMark m)> vals)>();
                        foreach (var (key, mark, node) in flat)
                        {
                            var def = AxisDef(key, mark, "sweep.zip." + key, errors);
                            if (def == null) continue;
                            lists.Add((key, Values(node).Select(v => (ParseValue(def, v, "sweep.zip." + key, errors), v.Mark)).ToList()));
                        }
                        if (lists.Count == 0) continue;
                        int len = lists[0].vals.Count;
                        var bad = lists.FirstOrDefault(l => l.vals.Count != len);
                        if (bad.key != null)
                        {
                            errors.Add(new SpecError(zm.Mark, "sweep.zip", $"zipped lists differ in length: {lists[0].key} has {len}, {bad.key} has {bad.vals.Count}"));
                            continue;
                        }
                        axes.Add(Enumerable.Range(0, len).Select(i => lists.Where(l => l.vals[i].v != null)
                            .Select(l => new Assign(l.key, l.vals[i].v!, l.vals[i].m)).ToList()).ToList());
                    }
                    break;
                }
                case "points":
                {
                    if (e.Value is not SpecSequence ps) { errors.Add(new SpecError(e.Value.Mark, "sweep.points", "expected a list of partial configurations")); break; }
                    var options = new List<List<Assign>>();
                    foreach (var p in ps.Items)
                    {
                        if (p is not SpecMapping pm) { errors.Add(new SpecError(p.Mark, "sweep.points", "expected a mapping (a partial configuration)")); continue; }
                        var flat = new List<(string, SourceMark, SpecNode)>();
                        FlattenLoose(pm, "", flat);
                        var option = new List<Assign>();
                        foreach (var (key, mark, node) in flat)
                        {
                            var def = AxisDef(key, mark, "sweep.points." + key, errors);
                            if (def != null && ParseValue(def, node, "sweep.points." + key, errors) is { } v) option.Add(new Assign(key, v, node.Mark));
                        }
                        options.Add(option);
                    }
                    if (options.Count > 0) axes.Add(options);
                    break;
                }
                case "exclude":
                {
                    if (e.Value is not SpecSequence xs) { errors.Add(new SpecError(e.Value.Mark, "sweep.exclude", "expected a list of rules (key: value or [values])")); break; }
                    foreach (var x in xs.Items)
                    {
                        if (x is not SpecMapping xm) { errors.Add(new SpecError(x.Mark, "sweep.exclude", "expected a mapping of key: value")); continue; }
                        var flat = new List<(string, SourceMark, SpecNode)>();
                        FlattenLoose(xm, "", flat);
                        var rule = new List<(string, List<object>, SourceMark)>();
                        foreach (var (key, mark, node) in flat)
                        {
                            var def = key == "seed" ? ConfigSchema.Find("seed", "top_k") : AxisDef(key, mark, "sweep.exclude." + key, errors);
                            if (def == null) continue;
                            var vals = Values(node).Select(v => ParseValue(def, v, "sweep.exclude." + key, errors)).Where(v => v != null).Select(v => v!).ToList();
                            rule.Add((key, vals, mark));
                        }
                        if (rule.Count > 0) excludes.Add(rule);
                    }
                    break;
                }
                default:
                    UnknownKey(errors, e.KeyMark, "sweep." + e.Key, e.Key, SweepKeys);
                    break;
            }
        }
    }

    static List<List<Assign>>? RouterZip(string router, SpecEntry zip, List<SpecError> errors)
    {
        var path = $"sweep.router.{router}.zip";
        if (zip.Value is not SpecMapping zm)
        {
            errors.Add(new SpecError(zip.Value.Mark, path, "expected a mapping of this router's knobs to lists of one length"));
            return null;
        }
        var lists = new List<(string key, List<(object? v, SourceMark m)> vals)>();
        foreach (var e in zm.Entries)
        {
            var def = ConfigSchema.Find("router." + e.Key, router);
            if (def == null || def.Key == "router.type") { UnknownKey(errors, e.KeyMark, $"{path}.{e.Key}", e.Key, ConfigSchema.RouterKnobs(router)); continue; }
            lists.Add(("router." + e.Key, Values(e.Value).Select(v => (ParseValue(def, v, $"{path}.{e.Key}", errors), v.Mark)).ToList()));
        }
        if (lists.Count == 0) return null;
        int len = lists[0].vals.Count;
        var bad = lists.FirstOrDefault(l => l.vals.Count != len);
        if (bad.key != null)
        {
            errors.Add(new SpecError(zm.Mark, path, $"zipped lists differ in length: {lists[0].key} has {len}, {bad.key} has {bad.vals.Count}"));
            return null;
        }
        return Enumerable.Range(0, len).Select(i => lists.Where(l => l.vals[i].v != null)
            .Select(l => new Assign(l.key, l.vals[i].v!, l.vals[i].m)).ToList()).ToList();
    }

    /// <summary>Flattens nested mappings in sweep axes; dotted keys may also be written directly.</summary>
    static void FlattenLoose(SpecMapping m, string prefix, List<(string, SourceMark, SpecNode)> output)
    {
        foreach (var e in m.Entries)
        {
            var key = prefix.Length == 0 ? e.Key : prefix + "." + e.Key;
            if (e.Value is SpecMapping child && !ConfigSchema.IsKey(key)) FlattenLoose(child, key, output);
            else output.Add((key, e.KeyMark, e.Value));
        }
    }

    static ExecutionSettings ParseExecution(SpecEntry? entry, List<SpecError> errors)
    {
        var s = new ExecutionSettings();
        if (entry == null) return s;
        if (entry.Value is not SpecMapping m)
        {
            errors.Add(new SpecError(entry.Value.Mark, "execution", "expected a mapping", Allowed: string.Join(", ", ExecKeys)));
            return s;
        }
        foreach (var e in m.Entries)
        {
            var path = "execution." + e.Key;
            if (e.Key == "slurm") { s = s with { Slurm = ParseSlurm(e.Value, path, errors) }; continue; }
            if (e.Value is not SpecScalar v) { errors.Add(new SpecError(e.Value.Mark, path, $"got {e.Value.Describe()}", Expected: "a scalar")); continue; }
            switch (e.Key)
            {
                case "devices": s = s with { Devices = v.Value }; break;
                case "executor":
                    if (v.Value is "local" or "slurm") s = s with { Executor = v.Value };
                    else errors.Add(new SpecError(v.Mark, path, $"got {v.Describe()}", Allowed: "local, slurm"));
                    break;
                case "jobs_per_device" or "max_jobs":
                    if (int.TryParse(v.Value, out var n) && n >= (e.Key == "max_jobs" ? 0 : 1))
                        s = e.Key == "max_jobs" ? s with { MaxJobs = n } : s with { JobsPerDevice = n };
                    else errors.Add(new SpecError(v.Mark, path, $"got {v.Describe()}", Expected: e.Key == "max_jobs" ? "an integer ≥ 0" : "an integer ≥ 1"));
                    break;
                case "cpu_fallback":
                    if (v.Value is "true" or "false") s = s with { CpuFallback = v.Value == "true" };
                    else errors.Add(new SpecError(v.Mark, path, $"got {v.Describe()}", Expected: "true or false"));
                    break;
                case "stagger_seconds":
                    if (double.TryParse(v.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d >= 0) s = s with { StaggerSeconds = d };
                    else errors.Add(new SpecError(v.Mark, path, $"got {v.Describe()}", Expected: "a number ≥ 0"));
                    break;
                default: UnknownKey(errors, e.KeyMark, path, e.Key, ExecKeys); break;
            }
        }
        return s;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^(\d+-)?\d+(:\d{1,2}){0,2}$|^\d+-\d+$|^(infinite|UNLIMITED)$")]
    private static partial System.Text.RegularExpressions.Regex SlurmTime();

    [System.Text.RegularExpressions.GeneratedRegex(@"^\d+[KMGT]?$")]
    private static partial System.Text.RegularExpressions.Regex SlurmMemory();

    static SlurmSettings ParseSlurm(SpecNode node, string path, List<SpecError> errors)
    {
        var s = new SlurmSettings();
        if (node is not SpecMapping m)
        {
            errors.Add(new SpecError(node.Mark, path, $"got {node.Describe()}", Expected: "a mapping", Allowed: string.Join(", ", SlurmSettings.Keys)));
            return s;
        }
        foreach (var e in m.Entries)
        {
            var key = path + "." + e.Key;
            if (e.Key == "extra")
            {
                var items = e.Value is SpecSequence q ? q.Items : [e.Value];
                var lines = new List<string>();
                foreach (var item in items)
                    if (item is SpecScalar { IsNull: false } line && line.Value.StartsWith('-')) lines.Add(line.Value.Trim());
                    else errors.Add(new SpecError(item.Mark, key, $"got {item.Describe()}", Expected: "sbatch options such as \"--qos=high\" (a string or a list of them)"));
                s = s with { Extra = lines };
                continue;
            }
            if (e.Value is not SpecScalar { IsNull: false } v) { errors.Add(new SpecError(e.Value.Mark, key, $"got {e.Value.Describe()}", Expected: "a scalar")); continue; }
            switch (e.Key)
            {
                case "partition": s = s with { Partition = v.Value }; break;
                case "account": s = s with { Account = v.Value }; break;
                case "gpus_per_job" or "cpus_per_job":
                    if (int.TryParse(v.Value, out var n) && n >= (e.Key == "gpus_per_job" ? 0 : 1) && n <= 1024)
                        s = e.Key == "gpus_per_job" ? s with { GpusPerJob = n } : s with { CpusPerJob = n };
                    else errors.Add(new SpecError(v.Mark, key, $"got {v.Describe()}", Expected: e.Key == "gpus_per_job" ? "an integer in [0, 1024]" : "an integer in [1, 1024]"));
                    break;
                case "mem":
                    if (SlurmMemory().IsMatch(v.Value)) s = s with { Mem = v.Value };
                    else errors.Add(new SpecError(v.Mark, key, $"got {v.Describe()}", Expected: "sbatch --mem: megabytes, or a number with K, M, G or T (e.g. 16G)"));
                    break;
                case "time":
                    if (SlurmTime().IsMatch(v.Value)) s = s with { Time = v.Value };
                    else errors.Add(new SpecError(v.Mark, key, $"got {v.Describe()}", Expected: "sbatch --time: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS"));
                    break;
                case "poll_seconds":
                    if (double.TryParse(v.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d > 0) s = s with { PollSeconds = d };
                    else errors.Add(new SpecError(v.Mark, key, $"got {v.Describe()}", Expected: "a number > 0"));
                    break;
                default: UnknownKey(errors, e.KeyMark, key, e.Key, SlurmSettings.Keys); break;
            }
        }
        return s;
    }

    static IEnumerable<List<T>> Product<T>(List<List<T>> axes)
    {
        IEnumerable<List<T>> acc = [[]];
        foreach (var axis in axes)
        {
            var a = axis;
            acc = acc.SelectMany(prefix => a.Select(option => (List<T>)[.. prefix, option]));
        }
        return acc;
    }

    /// <summary>The canonical configuration of one combination: base, then the sweep's assignments,
    /// then every default of the resulting router; router knobs of other routers are dropped from
    /// base and refused from the sweep; cross-field constraints checked.</summary>
    static SortedDictionary<string, object>? Canonical(List<Assign> baseAssigns, string baseRouter, List<Assign> assigns,
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
            if (reported.Add(mark with { File = mark.File + "#" + message })) errors.Add(new SpecError(mark, key, message));
            ok = false;
        }
        long L(string k) => (long)run[k];
        if (L("model.d_model") % L("model.heads") != 0 || (L("model.d_model") / L("model.heads")) % 2 != 0)
            Fail("model.heads", $"d_model {L("model.d_model")} must split into {L("model.heads")} heads of even size (rotary embeddings)");
        if (L("pretrain.k") > L("model.experts")) Fail("pretrain.k", $"k {L("pretrain.k")} exceeds model.experts {L("model.experts")}");
        switch (type)
        {
            case "top_k" when L("router.k") > L("model.experts"):
                Fail("router.k", $"k {L("router.k")} exceeds model.experts {L("model.experts")}"); break;
            case "null_experts" when L("router.k") > L("model.experts") + L("router.nulls"):
                Fail("router.k", $"k {L("router.k")} exceeds experts + nulls = {L("model.experts") + L("router.nulls")}"); break;
            case "top_p" when L("router.max_experts") > L("model.experts"):
                Fail("router.max_experts", $"cap {L("router.max_experts")} exceeds model.experts {L("model.experts")}"); break;
            case "ada_k" when L("router.default_k") > L("model.experts"):
                Fail("router.default_k", $"default_k {L("router.default_k")} exceeds model.experts {L("model.experts")}"); break;
        }
        var tasks = ((string)run["data.tasks"]).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var t in tasks.Where(t => !ConfigSchema.Tasks.Contains(t)))
            Fail("data.tasks", $"unknown task '{t}' (allowed: {string.Join(", ", ConfigSchema.Tasks)})");
        return ok ? run : null;
    }
}
