using System.Globalization;
using System.Text.Json;
using DuckDB.NET.Data;
using Microsoft.Data.Sqlite;
using Orchestrator.Results;

namespace Orchestrator.Tests.Cli;

/// <summary>What leaves the store for other programs leaves it exactly: CSV and JSON from `query --format`, and the
/// Parquet files of `export`, each read back by an independent reader (DuckDB; System.Text.Json) and compared cell
/// by cell with SQLite.</summary>
public class ExportTests
{
    // A row of the values that lose something when printed for people: the largest and smallest doubles, a sum
    // that is not its rounding, integers at the ends of int64, text with every CSV metacharacter, non-ASCII, the
    // empty string beside NULL, and a JSON column.
    const string Extremes = """
        SELECT 1.7976931348623157e308 AS big, 4.9406564584124654e-324 AS tiny, 0.1 + 0.2 AS sum, 2302976.0 AS wide,
               3.141592653589793 AS pi, -0.000123456789012345 AS small, 9223372036854775807 AS max_int,
               -9223372036854775808 AS min_int, 'a,"b"' || char(10) || 'c' || char(13) AS text, ' spaced ' AS spaced,
               'ünïcödé ✓ 𝔘' AS unicode, '' AS empty, NULL AS missing, '{"k":[1,2.5],"name":"ü"}' AS knobs
        """;

    static (string results, string db) StoreWithARun()
    {
        var results = Tests.Execution.SweepTests.FreshResults();
        var db = Path.Combine(results, "orchestrator.db");
        using var s = ResultStore.Open(db);
        var spec = Tests.Results.StoreTests.Spec(seeds: 1);
        s.RegisterSweep(spec);
        var run = spec.Runs[0].ConfigHash;
        Assert.True(s.Jobs.TryClaim(JobKey.Evaluate(run), "me", 60));
        s.Ingest(Tests.Results.StoreTests.Bundle(run, 2000, 0.5));
        return (results, db);
    }

    static List<object?[]> DuckRows(string sql)
    {
        using var c = new DuckDBConnection("Data Source=:memory:");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        var rows = new List<object?[]>();
        while (r.Read())
            rows.Add(Enumerable.Range(0, r.FieldCount).Select(i => r.IsDBNull(i) ? null : r.GetValue(i)).ToArray());
        return rows;
    }

    [Fact]
    public void Csv_round_trips_every_value_through_an_independent_reader()
    {
        var (results, _) = StoreWithARun();
        var (rc, csv, stderr) = CommandLineTests.Run("query", "--format", "csv", Extremes);
        Assert.Equal(0, rc);
        Assert.Equal("", stderr);
        var file = Path.Combine(results, "extremes.csv");
        File.WriteAllText(file, csv);
        var row = DuckRows($"SELECT * FROM read_csv('{file}', header = true, all_varchar = true, " +
                           "allow_quoted_nulls = false)").Single();
        double D(object? v) => double.Parse((string)v!, CultureInfo.InvariantCulture);
        Assert.Equal(double.MaxValue, D(row[0]));
        Assert.Equal(double.Epsilon, D(row[1]));
        Assert.Equal(0.1 + 0.2, D(row[2]));                        // 0.30000000000000004, not 0.3
        Assert.Equal(2302976.0, D(row[3]));
        Assert.Equal(Math.PI, D(row[4]));
        Assert.Equal(-0.000123456789012345, D(row[5]));
        Assert.Equal(long.MaxValue.ToString(CultureInfo.InvariantCulture), row[6]);
        Assert.Equal(long.MinValue.ToString(CultureInfo.InvariantCulture), row[7]);
        Assert.Equal("a,\"b\"\nc\r", row[8]);
        Assert.Equal(" spaced ", row[9]);
        Assert.Equal("ünïcödé ✓ 𝔘", row[10]);
        Assert.Equal("", row[11]);                                 // the empty string …
        Assert.Null(row[12]);                                      // … is not NULL
        Assert.Equal("{\"k\":[1,2.5],\"name\":\"ü\"}", row[13]);
    }

    [Fact]
    public void Json_round_trips_numbers_nests_json_columns_and_keeps_utf8_unescaped()
    {
        StoreWithARun();
        var (rc, json, _) = CommandLineTests.Run("query", "--format", "json", Extremes);
        Assert.Equal(0, rc);
        Assert.Contains("ünïcödé ✓ 𝔘", json);                     // written as UTF-8, not \u escapes
        var row = JsonDocument.Parse(json).RootElement.EnumerateArray().Single();
        Assert.Equal(double.MaxValue, row.GetProperty("big").GetDouble());
        Assert.Equal(double.Epsilon, row.GetProperty("tiny").GetDouble());
        Assert.Equal(0.1 + 0.2, row.GetProperty("sum").GetDouble());
        Assert.Equal(2302976.0, row.GetProperty("wide").GetDouble());
        Assert.Equal(Math.PI, row.GetProperty("pi").GetDouble());
        Assert.Equal(long.MaxValue, row.GetProperty("max_int").GetInt64());
        Assert.Equal(long.MinValue, row.GetProperty("min_int").GetInt64());
        Assert.Equal("a,\"b\"\nc\r", row.GetProperty("text").GetString());
        Assert.Equal("", row.GetProperty("empty").GetString());
        Assert.Equal(JsonValueKind.Null, row.GetProperty("missing").ValueKind);
        var knobs = row.GetProperty("knobs");                      // a JSON column is an object, not a string
        Assert.Equal(JsonValueKind.Object, knobs.ValueKind);
        Assert.Equal(2.5, knobs.GetProperty("k")[1].GetDouble());
        Assert.Equal("ü", knobs.GetProperty("name").GetString());
    }

    [Fact]
    public void Export_writes_every_table_and_view_as_parquet_that_duckdb_reads_back_cell_for_cell()
    {
        var (results, db) = StoreWithARun();
        // Extreme values in a real table, beside what a run stores.
        using (var c = new SqliteConnection($"Data Source={db};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = """
                INSERT INTO metrics(job_id, phase, key, step, value, wall_seconds) VALUES
                  ('x', 'ünï ✓', 'a,"b"' || char(10), 9223372036854775807, 1.7976931348623157e308, 4.9406564584124654e-324),
                  ('x', '', 'neg', -9223372036854775808, 0.1 + 0.2, NULL);
                """;
            cmd.ExecuteNonQuery();
        }
        var outDir = Path.Combine(results, "parquet");
        var (rc, stdout, stderr) = CommandLineTests.Run("export", "--out", outDir);
        Assert.Equal(0, rc);
        Assert.Equal("", stderr);

        using var store = ResultStore.OpenReadOnly(db);
        var objects = store.Query("""
            SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name
            """).Rows.Select(r => (string)r[0]!).ToList();
        Assert.Contains("run_configs", objects);
        Assert.Equal(objects.Select(o => o + ".parquet").Order(),
            Directory.GetFiles(outDir).Select(Path.GetFileName).Order());
        Assert.Contains($"exported {objects.Count} tables and views to {outDir}", stdout);
        int cells = 0;
        foreach (var name in objects)
        {
            var expected = store.Query($"SELECT * FROM \"{name}\"").Rows;
            var actual = DuckRows($"SELECT * FROM read_parquet('{Path.Combine(outDir, name + ".parquet")}')");
            Assert.Equal(expected.Count, actual.Count);
            for (int r = 0; r < expected.Count; r++)
                for (int i = 0; i < expected[r].Length; i++, cells++)
                    Assert.True(Same(expected[r][i], actual[r][i]),
                        $"{name} row {r} column {i}: SQLite {expected[r][i]} ({expected[r][i]?.GetType().Name}), " +
                        $"Parquet {actual[r][i]} ({actual[r][i]?.GetType().Name})");
        }
        Assert.True(cells > 1000, $"only {cells} cells compared");
        // Numbers stay numbers: a REAL column is DOUBLE, an INTEGER one BIGINT.
        var types = DuckRows($"DESCRIBE SELECT value, step, key FROM read_parquet('{Path.Combine(outDir, "metrics.parquet")}')")
            .Select(r => (string)r[1]!).ToList();
        Assert.Equal(["DOUBLE", "BIGINT", "VARCHAR"], types);
    }

    /// <summary>The same value: numbers exactly (an integer in a column that also holds reals comes back as that
    /// double; one in a column that also holds text, as its invariant text), text and NULL as they are.</summary>
    static bool Same(object? sqlite, object? parquet) => (sqlite, parquet) switch
    {
        (null, null) => true,
        (long a, long b) => a == b,
        (long a, double b) => a == b,
        (double a, double b) => a.Equals(b),
        (long a, string b) => a.ToString(CultureInfo.InvariantCulture) == b,
        (double a, string b) => a.ToString("R", CultureInfo.InvariantCulture) == b,
        (string a, string b) => a == b,
        _ => false,
    };
}
