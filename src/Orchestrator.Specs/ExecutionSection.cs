namespace Orchestrator.Specs;

/// <summary>`execution:` and `execution.slurm:` read against their key definitions
/// (<see cref="ExecutionSettings.Keys"/>, <see cref="SlurmSettings.Keys"/>), with the same positioned errors,
/// ranges and did-you-mean as the run configuration.</summary>
static class ExecutionSection
{
    public static ExecutionSettings Parse(SpecEntry? entry, List<SpecError> errors)
    {
        if (entry == null) return ExecutionSettings.Default;
        var allowed = ExecutionSettings.Keys.Select(k => k.Key).Append("slurm").ToList();
        SlurmSettings? slurm = null;
        var values = Section(entry.Value, "execution", ExecutionSettings.Keys, allowed, errors, e =>
        {
            if (e.Key != "slurm") return false;
            var slurmAllowed = SlurmSettings.Keys.Select(k => k.Key).ToList();
            slurm = SlurmSettings.From(Section(e.Value, "execution.slurm", SlurmSettings.Keys, slurmAllowed, errors,
                _ => false));
            return true;
        });
        return ExecutionSettings.From(values, slurm);
    }

    /// <summary>A mapping's entries parsed by their definitions; `nested` takes the entries that are sections of their
    /// own.</summary>
    static Dictionary<string, object> Section(SpecNode node, string path, IReadOnlyList<ParamDef> keys,
        List<string> allowed,
        List<SpecError> errors, Func<SpecEntry, bool> nested)
    {
        var values = new Dictionary<string, object>();
        if (node is not SpecMapping m)
        {
            errors.Add(new SpecError(node.Mark, path, $"got {node.Describe()}", Expected: "a mapping",
                Allowed: string.Join(", ", allowed)));
            return values;
        }
        foreach (var e in m.Entries)
        {
            if (nested(e)) continue;
            var key = path + "." + e.Key;
            var def = keys.FirstOrDefault(k => k.Key == e.Key);
            if (def == null) { SpecLoader.UnknownKey(errors, e.KeyMark, key, e.Key, allowed); continue; }
            var value = def.Type == ParamType.StringList ? Strings(def, e.Value, key, errors)
                : e.Value is SpecScalar { IsNull: true } ? null : SpecLoader.ParseValue(def, e.Value, key, errors);
            if (e.Value is SpecScalar { IsNull: true })
                errors.Add(new SpecError(e.Value.Mark, key, "got null", Expected: def.Expected));
            if (value != null) values[e.Key] = value;
        }
        return values;
    }

    /// <summary>A string or a list of strings, each matching the definition's pattern.</summary>
    static List<string>? Strings(ParamDef def, SpecNode node, string path, List<SpecError> errors)
    {
        var items = node is SpecSequence q ? q.Items : [node];
        var list = new List<string>();
        foreach (var item in items)
            if (item is SpecScalar { IsNull: false } s &&
                (def.Pattern == null || System.Text.RegularExpressions.Regex.IsMatch(s.Value.Trim(), def.Pattern)))
                list.Add(s.Value.Trim());
            else errors.Add(new SpecError(item.Mark, path, $"got {item.Describe()}", Expected: def.Expected));
        return list;
    }
}
