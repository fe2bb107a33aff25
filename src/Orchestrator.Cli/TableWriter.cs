using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Orchestrator.Results;

namespace Orchestrator.Cli;

/// <summary>Prints rows as an aligned table (rounded, for reading), or losslessly for programs: CSV (RFC 4180,
/// numbers in their shortest round-trip form, NULL an empty field and the empty string `""`) and JSON (an
/// array of objects, JSON columns nested as objects, UTF-8 unescaped, numbers round-trip).</summary>
public static class TableWriter
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>A cell for the screen: doubles rounded to what a reader compares.</summary>
    public static string Cell(object? v) => v switch
    {
        null => "",
        double d => Math.Abs(d) >= 1e6 || (Math.Abs(d) < 1e-4 && d != 0) ? d.ToString("0.####e0", Inv)
            : d.ToString("0.######", Inv),
        byte[] b => $"<{b.Length} bytes>",
        _ => Convert.ToString(v, Inv) ?? "",
    };

    /// <summary>A cell for a program: exactly the stored value ("R" is the shortest string that parses back to the
    /// same double; infinities as `Infinity`, which Python and .NET both read).</summary>
    public static string Exact(object? v) => v switch
    {
        null => "",
        double d => d.ToString("R", Inv),
        float f => f.ToString("R", Inv),
        byte[] b => Convert.ToBase64String(b),
        _ => Convert.ToString(v, Inv) ?? "",
    };

    public static void Write(QueryResult q, string format, TextWriter o)
    {
        switch (format)
        {
            case "csv":
                o.Write(string.Join(",", q.Columns.Select(c => Csv(c, false))) + "\r\n");
                foreach (var r in q.Rows) o.Write(string.Join(",", r.Select(v => Csv(Exact(v), v is string))) + "\r\n");
                break;
            case "json":
                o.WriteLine(Json(q));
                break;
            default:
                var cells = q.Rows.Select(r => r.Select(Cell).ToArray()).ToList();
                var widths = q.Columns.Select((c, i) => Math.Min(60, Math.Max(c.Length,
                    cells.Count == 0 ? 0 : cells.Max(r => r[i].Length)))).ToArray();
                string Line(IEnumerable<string> xs) => string.Join(" | ", xs.Select((x,
                    i) => (x.Length > widths[i] ? x[..(widths[i] - 1)] + "…" : x).PadRight(widths[i]))).TrimEnd();
                o.WriteLine(Line(q.Columns));
                o.WriteLine(string.Join("-+-", widths.Select(w => new string('-', w))));
                foreach (var r in cells) o.WriteLine(Line(r));
                o.WriteLine($"({q.Rows.Count} row{(q.Rows.Count == 1 ? "" : "s")})");
                break;
        }
    }

    /// <summary>RFC 4180: a field with a comma, quote, CR or LF is quoted with its quotes doubled; an empty text
    /// is `""` so that it differs from NULL (an empty field).</summary>
    static string Csv(string s, bool isText) =>
        s.IndexOfAny([',', '"', '\n', '\r']) >= 0 || (isText && s.Length == 0) || s != s.Trim()
            ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;

    static string Json(QueryResult q)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions
                   { Indented = true, Encoder = JsonTextEncoder.Instance }))
        {
            w.WriteStartArray();
            foreach (var row in q.Rows)
            {
                w.WriteStartObject();
                for (int i = 0; i < row.Length; i++)
                {
                    w.WritePropertyName(q.Columns[i]);
                    WriteValue(w, q.Columns[i], row[i]);
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    static void WriteValue(Utf8JsonWriter w, string column, object? v)
    {
        switch (v)
        {
            case null: w.WriteNullValue(); break;
            case long l: w.WriteNumberValue(l); break;
            case double d when double.IsFinite(d): w.WriteNumberValue(d); break;
            case double d: w.WriteStringValue(d.ToString("R", Inv)); break;     // JSON has no infinities
            case string s when ResultStore.IsJsonColumn(column) && TryParse(s) is { } doc:
                using (doc) doc.RootElement.WriteTo(w);
                break;
            case byte[] b: w.WriteBase64StringValue(b); break;
            default: w.WriteStringValue(Convert.ToString(v, Inv)); break;
        }
    }

    static JsonDocument? TryParse(string s)
    {
        try { return JsonDocument.Parse(s); }
        catch (JsonException) { return null; }
    }
}
