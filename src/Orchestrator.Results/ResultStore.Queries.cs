using Microsoft.Data.Sqlite;

namespace Orchestrator.Results;

/// <summary>A user query that would write to the results database.</summary>
public sealed class ReadOnlyViolationException(string message) : Exception(message);

/// <summary>The read-only query sandbox behind `make query`.</summary>
public sealed partial class ResultStore
{
    static readonly string[] RefusedFirstWords = ["PRAGMA", "ATTACH", "DETACH", "VACUUM", "REINDEX", "ANALYZE"];

    /// <summary>Runs SQL typed by a user: every statement must be one that SQLite itself reports as
    /// read-only (sqlite3_stmt_readonly), and settings (PRAGMA, ATTACH, …) are refused, so a query can
    /// never change the database — not even by turning query_only off first.</summary>
    public QueryResult QueryReadOnly(string sql)
    {
        var handle = db.Handle!;
        var remaining = sql;
        while (!string.IsNullOrWhiteSpace(remaining))
        {
            int rc = SQLitePCL.raw.sqlite3_prepare_v2(handle, remaining, out var stmt, out var tail);
            if (rc != SQLitePCL.raw.SQLITE_OK)
                throw new SqliteException(SQLitePCL.raw.sqlite3_errmsg(handle).utf8_to_string(), rc);
            using (stmt)
            {
                if (stmt.IsInvalid) break;    // only comments or whitespace left
                var text = SQLitePCL.raw.sqlite3_sql(stmt).utf8_to_string().TrimStart();
                var first = new string(text.TakeWhile(char.IsLetter).ToArray()).ToUpperInvariant();
                if (SQLitePCL.raw.sqlite3_stmt_readonly(stmt) == 0 || RefusedFirstWords.Contains(first))
                    throw new ReadOnlyViolationException($"refused: queries are read-only and this statement would " +
                        $"change the database or its settings: {Shorten(text)}");
            }
            remaining = tail;
        }
        return Query(sql);
    }

    static string Shorten(string s) => s.Length <= 80 ? s : s[..77] + "...";

}
