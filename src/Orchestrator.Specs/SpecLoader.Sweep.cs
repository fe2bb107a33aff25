using System.Globalization;
using System.Text;

namespace Orchestrator.Specs;

/// <summary>The `sweep:` axes — seeds, per-router knob grids and zips, grid, zip, points, exclude — and their
/// cartesian product.</summary>
public static partial class SpecLoader
{
    /// <summary>A key as written in a sweep axis; router knobs are valid if some router has them.</summary>
    static ParamDef? AxisDef(string key, SourceMark mark, string path, List<SpecError> errors)
    {
        if (key == "seed")
        {
            errors.Add(new SpecError(mark, path, "vary the seed with sweep.seeds, not as an axis"));
            return null;
        }
        var def = ConfigSchema.Find(key, RouterCatalog.Baseline) ?? ConfigSchema.All.FirstOrDefault(d => d.Key == key);
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
                    var seedDef = ConfigSchema.Find("seed", RouterCatalog.Baseline)!;
                    if (e.Value is SpecScalar count && long.TryParse(count.Value, out var n) && n >= 1 && n <= 10_000)
                        for (long i = 0; i < n; i++) seeds.Add(new Assign("seed", i, count.Mark));
                    else if (e.Value is SpecSequence list)
                        foreach (var item in list.Items)
                        {
                            var v = ParseValue(seedDef, item, "sweep.seeds", errors);
                            if (v != null) seeds.Add(new Assign("seed", v, item.Mark));
                        }
                    else errors.Add(new SpecError(e.Value.Mark, "sweep.seeds", $"got {e.Value.Describe()}",
                        Expected: "a list of seeds, or a count from 1 to 10,000"));
                    break;
                }
                case "router":
                {
                    if (e.Value is not SpecMapping rm)
                    {
                        errors.Add(new SpecError(e.Value.Mark, "sweep.router",
                            "expected a mapping from router type to its own parameter grid",
                            Allowed: string.Join(", ", ConfigSchema.Routers)));
                        break;
                    }
                    if (rm.Entries.Count == 0)
                    {
                        errors.Add(new SpecError(rm.Mark, "sweep.router", "no router named: name at least one",
                            Allowed: string.Join(", ", ConfigSchema.Routers)));
                        break;
                    }
                    var options = new List<List<Assign>>();
                    foreach (var r in rm.Entries)
                    {
                        if (!ConfigSchema.Routers.Contains(r.Key)) { UnknownKey(errors, r.KeyMark,
                            "sweep.router." + r.Key, r.Key, ConfigSchema.Routers); continue; }
                        var typeAssign = new Assign("router.type", r.Key, r.KeyMark);
                        var grid = new List<List<List<Assign>>>();
                        if (r.Value is SpecMapping knobs)
                            foreach (var k in knobs.Entries)
                            {
                                if (k.Key == "zip")
                                {
                                    // Knobs varied together, e.g. null_experts: {zip: {nulls: [8, 16], k: [3, 4]}} —
                                    // (m, k) pairs.
                                    var zipped = RouterZip(r.Key, k, errors);
                                    if (zipped != null) grid.Add(zipped);
                                    continue;
                                }
                                var key = "router." + k.Key;
                                var def = ConfigSchema.Find(key, r.Key);
                                var path = $"sweep.router.{r.Key}.{k.Key}";
                                if (def == null || def.Key == "router.type")
                                {
                                    UnknownKey(errors, k.KeyMark, path, k.Key,
                                        ConfigSchema.RouterKnobs(r.Key).Concat(ConfigSchema.SharedRouterKeys));
                                    continue;
                                }
                                grid.Add(Values(k.Value).Select(v => ParseValue(def, v, path, errors) is { } x
                                    ? new List<Assign> { new(key, x, v.Mark) } : []).ToList());
                            }
                        else if (!(r.Value is SpecScalar { IsNull: true }))
                            errors.Add(new SpecError(r.Value.Mark, "sweep.router." + r.Key, $"got {r.Value.Describe()}",
                                Expected: "a mapping of this router's parameters to values or lists",
                                    Allowed: string.Join(", ", ConfigSchema.RouterKnobs(r.Key))));
                        foreach (var combo in Product(grid))
                            options.Add([typeAssign, .. combo.SelectMany(c => c)]);
                    }
                    if (options.Count > 0) axes.Add(options);
                    break;
                }
                case "grid":
                {
                    if (e.Value is not SpecMapping gm) { errors.Add(new SpecError(e.Value.Mark, "sweep.grid",
                        "expected a mapping of key: [values]")); break; }
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
                        if (g is not SpecMapping zm) { errors.Add(new SpecError(g.Mark, "sweep.zip",
                            "expected a mapping of key: [values], all lists of one length")); continue; }
                        var flat = new List<(string, SourceMark, SpecNode)>();
                        FlattenLoose(zm, "", flat);
                        var lists = new List<(string key, List<(object? v, SourceMark m)> vals)>();
                        foreach (var (key, mark, node) in flat)
                        {
                            var def = AxisDef(key, mark, "sweep.zip." + key, errors);
                            if (def == null) continue;
                            lists.Add((key, Values(node).Select(v => (ParseValue(def, v, "sweep.zip." + key, errors),
                                v.Mark)).ToList()));
                        }
                        if (lists.Count == 0) continue;
                        int len = lists[0].vals.Count;
                        var bad = lists.FirstOrDefault(l => l.vals.Count != len);
                        if (bad.key != null)
                        {
                            errors.Add(new SpecError(zm.Mark, "sweep.zip",
                                $"zipped lists differ in length: {lists[0].key} has {len}, {bad.key} has " +
                                $"{bad.vals.Count}"));
                            continue;
                        }
                        axes.Add(Enumerable.Range(0, len).Select(i => lists.Where(l => l.vals[i].v != null)
                            .Select(l => new Assign(l.key, l.vals[i].v!, l.vals[i].m)).ToList()).ToList());
                    }
                    break;
                }
                case "points":
                {
                    if (e.Value is not SpecSequence ps) { errors.Add(new SpecError(e.Value.Mark, "sweep.points",
                        "expected a list of partial configurations")); break; }
                    var options = new List<List<Assign>>();
                    foreach (var p in ps.Items)
                    {
                        if (p is not SpecMapping pm) { errors.Add(new SpecError(p.Mark, "sweep.points",
                            "expected a mapping (a partial configuration)")); continue; }
                        var flat = new List<(string, SourceMark, SpecNode)>();
                        FlattenLoose(pm, "", flat);
                        var option = new List<Assign>();
                        foreach (var (key, mark, node) in flat)
                        {
                            var def = AxisDef(key, mark, "sweep.points." + key, errors);
                            if (def != null && ParseValue(def, node, "sweep.points." + key,
                                errors) is { } v) option.Add(new Assign(key, v, node.Mark));
                        }
                        options.Add(option);
                    }
                    if (options.Count > 0) axes.Add(options);
                    break;
                }
                case "exclude":
                {
                    if (e.Value is not SpecSequence xs) { errors.Add(new SpecError(e.Value.Mark, "sweep.exclude",
                        "expected a list of rules (key: value or [values])")); break; }
                    foreach (var x in xs.Items)
                    {
                        if (x is not SpecMapping xm) { errors.Add(new SpecError(x.Mark, "sweep.exclude",
                            "expected a mapping of key: value")); continue; }
                        var flat = new List<(string, SourceMark, SpecNode)>();
                        FlattenLoose(xm, "", flat);
                        var rule = new List<(string, List<object>, SourceMark)>();
                        foreach (var (key, mark, node) in flat)
                        {
                            var def = key == "seed" ? ConfigSchema.Find("seed", RouterCatalog.Baseline) : AxisDef(key,
                                mark, "sweep.exclude." + key, errors);
                            if (def == null) continue;
                            var vals = Values(node).Select(v => ParseValue(def, v, "sweep.exclude." + key,
                                errors)).Where(v => v != null).Select(v => v!).ToList();
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
            errors.Add(new SpecError(zip.Value.Mark, path,
                "expected a mapping of this router's knobs to lists of one length"));
            return null;
        }
        var lists = new List<(string key, List<(object? v, SourceMark m)> vals)>();
        foreach (var e in zm.Entries)
        {
            var def = ConfigSchema.Find("router." + e.Key, router);
            if (def == null || def.Key == "router.type") { UnknownKey(errors, e.KeyMark, $"{path}.{e.Key}", e.Key,
                ConfigSchema.RouterKnobs(router)); continue; }
            lists.Add(("router." + e.Key, Values(e.Value).Select(v => (ParseValue(def, v, $"{path}.{e.Key}", errors),
                v.Mark)).ToList()));
        }
        if (lists.Count == 0) return null;
        int len = lists[0].vals.Count;
        var bad = lists.FirstOrDefault(l => l.vals.Count != len);
        if (bad.key != null)
        {
            errors.Add(new SpecError(zm.Mark, path,
                $"zipped lists differ in length: {lists[0].key} has {len}, {bad.key} has {bad.vals.Count}"));
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
}
