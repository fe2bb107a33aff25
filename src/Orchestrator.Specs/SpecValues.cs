using System.Globalization;

namespace Orchestrator.Specs;

/// <summary>Scalars of a spec read as typed configuration values, checked against their definitions.</summary>
public static class SpecValues
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Parses a scalar against a key's definition; on failure returns null and an error message.</summary>
    public static object? Parse(ParamDef def, SpecScalar s, out string? error)
    {
        error = null;
        var v = s.Value.Trim();
        switch (def.Type)
        {
            case ParamType.Int:
                if (!s.Quoted && long.TryParse(v, NumberStyles.AllowLeadingSign, Inv, out var l))
                    return CheckRange(def, l, out error) ? l : null;
                error = $"got {s.Describe()}"; return null;
            case ParamType.Float:
                if (!s.Quoted && double.TryParse(v, NumberStyles.Float, Inv, out var d) && double.IsFinite(d))
                    return CheckRange(def, d, out error) ? d : null;
                error = $"got {s.Describe()}"; return null;
            case ParamType.Bool:
                if (!s.Quoted && v is "true" or "false") return v == "true";
                error = $"got {s.Describe()}"; return null;
            case ParamType.Enum:
                if (def.Allowed!.Contains(v)) return v;
                var hint = ConfigSchema.Suggest(v, def.Allowed!);
                error = $"got {s.Describe()}" + (hint != null ? $" — did you mean '{hint}'?" : "");
                return null;
            default:
                if (s.IsNull) return "";
                if (def.Pattern != null && !System.Text.RegularExpressions.Regex.IsMatch(v, def.Pattern))
                {
                    error = $"got {s.Describe()}"; return null;
                }
                return v;
        }
    }

    static bool CheckRange(ParamDef def, double x, out string? error)
    {
        error = null;
        bool ok = (def.Min is null || (def.MinExclusive ? x > def.Min : x >= def.Min))
            && (def.Max is null || x <= def.Max);
        if (!ok) error = $"got {x.ToString("R", Inv)}";
        return ok;
    }

}
