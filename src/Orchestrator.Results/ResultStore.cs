using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace Orchestrator.Results;

public sealed record QueryResult(IReadOnlyList<string> Columns, IReadOnlyList<object?[]> Rows);

/// <summary>The SQLite results store, opened and migrated (this file); its parts, one job each: the job
/// ledger (<see cref="JobLedger"/>, `store.Jobs`), sweep registration (ResultStore.Sweeps.cs), ingest of
/// job results (ResultStore.Ingest.cs) and the read-only query sandbox (ResultStore.Queries.cs). The
/// orchestrator process is the only writer (workers hand it results); WAL and a busy timeout let readers
/// and a second orchestrator work alongside. All DDL lives in Schema.sql.</summary>
public sealed partial class ResultStore : IDisposable
{
    readonly SqliteConnection db;
    readonly Sql sql;
    public string Path { get; }
    /// <summary>Every job's lifecycle: claims, leases, failures, skips, adoption.</summary>
    public JobLedger Jobs { get; }

    ResultStore(SqliteConnection db, string path)
    {
        this.db = db;
        sql = new Sql(db);
        Path = path;
        Jobs = new JobLedger(sql);
    }

    public static int LatestVersion => Migrations.Max(m => m.version);

    /// <summary>Columns whose text is JSON (an object or a list): `knobs`, every `*_json`, the experts histogram
    /// and a finding's run ids. Output meant for programs nests them instead of quoting them.</summary>
    public static bool IsJsonColumn(string column) =>
        column.EndsWith("_json", StringComparison.Ordinal) || column is "knobs" or "experts_histogram" or "run_ids";

    static readonly Lazy<(List<(int version, string sql)> migrations, string views)> Schema = new(() =>
    {
        using var s = Assembly.GetExecutingAssembly().GetManifestResourceStream("Orchestrator.Results.Schema.sql")!;
        var text = new StreamReader(s).ReadToEnd();
        int v = text.IndexOf("\n-- views\n", StringComparison.Ordinal);
        var migrations = MigrationMarker().Split(text[..v]).Skip(1).Chunk(2)
            .Select(c => (int.Parse(c[0], CultureInfo.InvariantCulture), c[1])).ToList();
        return (migrations, text[v..]);
    });

    static List<(int version, string sql)> Migrations => Schema.Value.migrations;

    /// <summary>The DDL of one migration, for tests that build an older database.</summary>
    public static string MigrationSql(int version) => Migrations.Single(m => m.version == version).sql;

    [GeneratedRegex(@"^-- migration: (\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex MigrationMarker();

    /// <summary>Opens (creating if needed) and migrates to the latest schema version.</summary>
    public static ResultStore Open(string path)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false,
            DefaultTimeout = 30 }.ToString());
        db.Open();
        Exec(db, "PRAGMA busy_timeout = 30000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
        // Switching to WAL needs a moment with no other connection reading: retry until it takes.
        for (int attempt = 0; ; attempt++)
        {
            using var cmd = db.CreateCommand();
            cmd.CommandText = "PRAGMA journal_mode = WAL";
            if (string.Equals(cmd.ExecuteScalar() as string, "wal", StringComparison.OrdinalIgnoreCase)) break;
            if (attempt >= 200) throw new InvalidOperationException($"cannot switch {path} to WAL mode: another " +
                $"process keeps it busy");
            Thread.Sleep(50);
        }
        var store = new ResultStore(db, path);
        try { store.Migrate(); }
        catch { store.Dispose(); throw; }
        return store;
    }

    /// <summary>Read-only, twice over: the file is opened SQLITE_OPEN_READONLY with PRAGMA query_only,
    /// and user SQL is also checked statement by statement before it runs (<see cref="QueryReadOnly"/>).</summary>
    public static ResultStore OpenReadOnly(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"no results database at {path}: run `make sweep` " +
            $"first");
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path,
            Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        db.Open();
        Exec(db, "PRAGMA busy_timeout = 30000; PRAGMA query_only = 1;");
        var store = new ResultStore(db, path);
        try { store.RefuseNewer(); }
        catch { store.Dispose(); throw; }
        return store;
    }

    public int Version => Convert.ToInt32(Scalar("PRAGMA user_version"), CultureInfo.InvariantCulture);

    /// <summary>A database written by a newer build has tables this one does not know: refused, not guessed
    /// at.</summary>
    void RefuseNewer()
    {
        if (Version > LatestVersion)
            throw new InvalidDataException($"results database {Path} has schema version {Version}, newer than this " +
                                           $"build's {LatestVersion}: update Orchestrator (git pull) to read it");
    }

    void Migrate()
    {
        RefuseNewer();
        if (Version >= LatestVersion) return;
        sql.InTransaction(() =>
        {
            int current = Version;    // re-read under the write lock: another process may have migrated
            if (current >= LatestVersion) return;
            // Every view goes (a migration may turn a table into a view of the same name: runs in 5).
            var views = Query("SELECT name FROM sqlite_master WHERE type = 'view'").Rows.Select(r => (string)r[0]!);
            foreach (var view in views.ToList()) Exec(db, $"DROP VIEW IF EXISTS \"{view}\"");
            foreach (var (version, ddl) in Migrations.Where(m => m.version > current))
            {
                Exec(db, ddl);
                Exec(db, $"PRAGMA user_version = {version}");
            }
            Exec(db, Schema.Value.views);
            RefreshRunConfigs();
        });
    }

    static void Exec(SqliteConnection c, string text)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = text;
        cmd.ExecuteNonQuery();
    }

    object? Scalar(string text, params (string, object?)[] args) => sql.Scalar(text, args);

    public QueryResult Query(string text, params (string, object?)[] args)
    {
        using var cmd = sql.Command(text, args);
        using var r = cmd.ExecuteReader();
        var cols = Enumerable.Range(0, r.FieldCount).Select(r.GetName).ToList();
        var rows = new List<object?[]>();
        while (r.Read())
        {
            var row = new object?[r.FieldCount];
            for (int i = 0; i < row.Length; i++) row[i] = r.IsDBNull(i) ? null : r.GetValue(i);
            rows.Add(row);
        }
        return new QueryResult(cols, rows);
    }

    /// <summary>Rows one at a time, for readers of whole tables (export) that should not hold them all.</summary>
    public IEnumerable<object?[]> Stream(string text)
    {
        using var cmd = sql.Command(text);
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            var row = new object?[r.FieldCount];
            for (int i = 0; i < row.Length; i++) row[i] = r.IsDBNull(i) ? null : r.GetValue(i);
            yield return row;
        }
    }

    public void Dispose()
    {
        db.Close();
        db.Dispose();
    }
}
