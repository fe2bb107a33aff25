using System.Globalization;
using Parquet;
using Parquet.Schema;

namespace Orchestrator.Results;

/// <summary>`orchestrator export`: every table and view of the result history as one Parquet file each
/// (Parquet.Net), for pandas, DuckDB, Spark or a notebook. A column's Parquet type is what its stored values
/// are: int64 when every value is an integer, double when they are numbers, bytes for blobs, otherwise
/// UTF-8 text (numbers in a mixed column written exactly, as `query --format csv` writes them). NULL stays null.
/// Rows stream in row groups of <see cref="RowGroupRows"/>, so memory does not grow with the history.</summary>
public static class ParquetExport
{
    public const int RowGroupRows = 65_536;

    public sealed record Written(string Name, string Path, long Rows);

    enum Kind { Integer, Real, Text, Blob }

    public static IReadOnlyList<Written> Write(ResultStore store, string folder)
    {
        Directory.CreateDirectory(folder);
        var names = store.Query("""
            SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name
            """).Rows.Select(r => (string)r[0]!).ToList();
        return names.Select(n => WriteOne(store, n, System.IO.Path.Combine(folder, n + ".parquet"))
            .GetAwaiter().GetResult()).ToList();
    }

    static async Task<Written> WriteOne(ResultStore store, string name, string path)
    {
        var columns = store.Query($"SELECT name FROM pragma_table_info('{name}') ORDER BY cid").Rows
            .Select(r => (string)r[0]!).ToList();
        var kinds = Kinds(store, name, columns);
        var fields = columns.Select((c, i) => new DataField(c, kinds[i] switch
        {
            Kind.Integer => typeof(long), Kind.Real => typeof(double), Kind.Blob => typeof(byte[]), _ => typeof(string),
        }, isNullable: true)).ToArray();
        var tmp = path + ".tmp";
        long rows = 0;
        await using (var file = File.Create(tmp))
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), file))
        {
            var batch = new List<object?[]>(RowGroupRows);
            foreach (var row in store.Stream($"SELECT * FROM \"{name}\""))
            {
                batch.Add(row);
                if (batch.Count < RowGroupRows) continue;
                await RowGroup(writer, fields, kinds, batch);
                rows += batch.Count;
                batch.Clear();
            }
            if (batch.Count > 0 || rows == 0) { await RowGroup(writer, fields, kinds, batch); rows += batch.Count; }
        }
        File.Move(tmp, path, overwrite: true);      // a half-written file never takes the name of a whole one
        return new Written(name, path, rows);
    }

    /// <summary>One scan per table: the storage classes each column holds (SQLite's typeof).</summary>
    static List<Kind> Kinds(ResultStore store, string name, List<string> columns)
    {
        var select = string.Join(", ", columns.Select(c => $"group_concat(DISTINCT typeof(\"{c}\"))"));
        var found = store.Query($"SELECT {select} FROM \"{name}\"").Rows[0];
        return found.Select(v => ((v as string) ?? "").Split(',').Where(t => t is not ("null" or "")).ToHashSet())
            .Select(t => t.Count == 0 ? Kind.Text
                : t.SetEquals(["integer"]) ? Kind.Integer
                : t.IsSubsetOf(["integer", "real"]) ? Kind.Real
                : t.SetEquals(["blob"]) ? Kind.Blob
                : Kind.Text).ToList();
    }

    static async Task RowGroup(ParquetWriter writer, DataField[] fields, List<Kind> kinds, List<object?[]> rows)
    {
        using var group = writer.CreateRowGroup();
        for (int i = 0; i < fields.Length; i++)
        {
            switch (kinds[i])
            {
                case Kind.Integer:
                    await group.WriteAsync<long>(fields[i], rows.Select(r => r[i] is null ? (long?)null
                        : Convert.ToInt64(r[i], CultureInfo.InvariantCulture)).ToArray());
                    break;
                case Kind.Real:
                    await group.WriteAsync<double>(fields[i], rows.Select(r => r[i] is null ? (double?)null
                        : Convert.ToDouble(r[i], CultureInfo.InvariantCulture)).ToArray());
                    break;
                case Kind.Blob:
                    await group.WriteAsync(fields[i], rows.Select(r => r[i] as byte[]).ToArray());
                    break;
                default:
                    await group.WriteAsync(fields[i], rows.Select(r => Text(r[i])).ToArray());
                    break;
            }
        }
    }

    /// <summary>A value in a text column: text as is, numbers in their shortest round-trip form.</summary>
    static string? Text(object? v) => v switch
    {
        null => null,
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        byte[] b => Convert.ToBase64String(b),
        _ => Convert.ToString(v, CultureInfo.InvariantCulture),
    };
}
