using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Orchestrator.Results;

/// <summary>The one connection of a store and the few ways its classes talk to it: parameterised
/// statements and IMMEDIATE transactions.</summary>
internal sealed class Sql(SqliteConnection db)
{
    public SqliteConnection Connection => db;

    public static string Now() => DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
    public static double Epoch() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    public void Exec(string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    public SqliteCommand Command(string sql, params (string name, object? value)[] args)
    {
        var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v ?? DBNull.Value);
        return cmd;
    }

    public int Run(string sql, params (string, object?)[] args)
    {
        using var cmd = Command(sql, args);
        return cmd.ExecuteNonQuery();
    }

    public object? Scalar(string sql, params (string, object?)[] args)
    {
        using var cmd = Command(sql, args);
        return cmd.ExecuteScalar();
    }

    /// <summary>A prepared statement run once per row: `bind` sets the parameters, in the given order.</summary>
    public void Batch<T>(string sql, string[] names, IEnumerable<T> rows, Func<T, object?[]> bind)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        var ps = names.Select(n => cmd.Parameters.Add(new SqliteParameter(n, null))).ToArray();
        cmd.Prepare();
        foreach (var row in rows)
        {
            var values = bind(row);
            for (int i = 0; i < ps.Length; i++) ps[i].Value = values[i] ?? DBNull.Value;
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>BEGIN IMMEDIATE takes the write lock up front, so two writers queue on the busy
    /// timeout instead of failing with "database is locked" on lock upgrade.</summary>
    public void InTransaction(Action body)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                Exec("BEGIN IMMEDIATE");
                break;
            }
            catch (SqliteException e) when (e.SqliteErrorCode == 5
                && attempt < 100) { Thread.Sleep(50 + attempt * 10); }
        }
        try { body(); Exec("COMMIT"); }
        catch
        {
            // SQLite may have rolled back already (SQLITE_FULL does): the original error is the one to report.
            try { Exec("ROLLBACK"); }
            catch (SqliteException) { }
            throw;
        }
    }
}
