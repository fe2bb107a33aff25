using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Core;

/// <summary>Typed configuration values (long, double, bool, string), their canonical JSON and hashes.</summary>
public static class ConfigValues
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Format(object v) => v switch
    {
        double d => d.ToString("R", Inv),
        long l => l.ToString(Inv),
        int i => i.ToString(Inv),
        bool b => b ? "true" : "false",
        _ => v.ToString() ?? "",
    };

    /// <summary>Canonical JSON of a flat dotted configuration: nested objects, keys sorted ordinally,
    /// numbers in round-trip form. Key order, number formatting and comments in the YAML do not matter.</summary>
    public static string CanonicalJson(IReadOnlyDictionary<string, object> flat)
    {
        var root = new SortedDictionary<string, object>(StringComparer.Ordinal);
        foreach (var (key, value) in flat)
        {
            var parts = key.Split('.');
            var node = root;
            for (int i = 0; i < parts.Length - 1; i++)
            {
                if (!node.TryGetValue(parts[i], out var child))
                    node[parts[i]] = child = new SortedDictionary<string, object>(StringComparer.Ordinal);
                node = (SortedDictionary<string, object>)child;
            }
            node[parts[^1]] = value;
        }
        var sb = new StringBuilder();
        Write(sb, root);
        return sb.ToString();
    }

    static void Write(StringBuilder sb, object v)
    {
        switch (v)
        {
            case SortedDictionary<string, object> m:
                sb.Append('{');
                bool first = true;
                foreach (var (k, x) in m)
                {
                    if (!first) sb.Append(',');
                    first = false;
                    sb.Append(JsonSerializer.Serialize(k)).Append(':');
                    Write(sb, x);
                }
                sb.Append('}');
                break;
            case string s: sb.Append(JsonSerializer.Serialize(s)); break;
            case double d:
                // Always mark floats as floats so 1 (int) and 1.0 (float) never collide across types.
                var t = d.ToString("R", Inv);
                sb.Append(t.Contains('.') || t.Contains('E') || t.Contains('e') ? t : t + ".0");
                break;
            default: sb.Append(Format(v)); break;
        }
    }

    public static string Hash(string canonicalJson)
    {
        var bytes = SHA256.HashData(Encoding.UTF8.GetBytes(canonicalJson));
        return Convert.ToHexStringLower(bytes)[..16];
    }

    /// <summary>Back from canonical JSON to a flat dotted map (for workers and stored runs).</summary>
    public static SortedDictionary<string, object> FromJson(string json)
    {
        var flat = new SortedDictionary<string, object>(StringComparer.Ordinal);
        void Walk(JsonNode? n, string prefix)
        {
            if (n is JsonObject o) { foreach (var (k, c) in o) Walk(c,
                prefix.Length == 0 ? k : prefix + "." + k); return; }
            var e = n!.GetValue<JsonElement>();
            flat[prefix] = e.ValueKind switch
            {
                JsonValueKind.String => e.GetString()!,
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                JsonValueKind.Number when e.GetRawText().IndexOfAny(['.', 'e', 'E']) < 0 => e.GetInt64(),
                JsonValueKind.Number => e.GetDouble(),
                _ => throw new FormatException($"unsupported value at {prefix}"),
            };
        }
        Walk(JsonNode.Parse(json), "");
        return flat;
    }
}
