using System.Globalization;
using System.Text;
using System.Text.Json;
using Orchestrator.Results;

namespace Orchestrator.Cli;

/// <summary>Prints a query result as an aligned table, CSV or JSON.</summary>
public static class TableWriter
{
    public static string Cell(object? v) => v switch
    {
        null => "",
        double d => Math.Abs(d) >= 1e6 || (Math.Abs(d) < 1e-4 && d != 0) ? d.ToString("0.####e0",
            CultureInfo.InvariantCulture) : d.ToString("0.######", CultureInfo.InvariantCulture),
        byte[] b => $"<{b.Length} bytes>",
        _ => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "",
    };

    public static void Write(QueryResult q, string format, TextWriter o)
    {
        switch (format)
        {
            case "csv":
                o.WriteLine(string.Join(",", q.Columns.Select(Csv)));
                foreach (var r in q.Rows) o.WriteLine(string.Join(",", r.Select(v => Csv(Cell(v)))));
                break;
            case "json":
                o.WriteLine(JsonSerializer.Serialize(q.Rows.Select(r => q.Columns.Select((c, i) => (c,
                    v: r[i])).ToDictionary(x => x.c, x => x.v)),
                    new JsonSerializerOptions { WriteIndented = true }));
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

    static string Csv(string s) => s.IndexOfAny([',', '"', '\n']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
}
