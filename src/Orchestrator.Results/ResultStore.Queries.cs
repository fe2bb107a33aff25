using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Orchestrator.Results;

/// <summary>A user query that would write to the results database or change its settings.</summary>
public sealed class ReadOnlyViolationException(string message) : Exception(message);

/// <summary>A user query stopped because it ran longer than its time limit.</summary>
public sealed class QueryTimeoutException(string message) : Exception(message);

/// <summary>The read-only query sandbox behind `make query`.</summary>
public sealed partial class ResultStore
{
    // Pragmas that only read; with an argument only where the argument names what to read (table_info(x)).
    static readonly HashSet<string> ReadingPragmas = ["table_info", "table_xinfo", "table_list", "index_list",
        "index_info", "index_xinfo", "foreign_key_list", "database_list", "compile_options", "function_list",
        "pragma_list", "collation_list", "module_list"];
    static readonly HashSet<string> ReadingPragmasWithoutArgument = ["user_version", "schema_version", "page_count",
        "page_size", "journal_mode", "encoding", "freelist_count", "application_id"];

    /// <summary>Runs SQL typed by a user, with SQLite itself as the judge: every statement must be one it
    /// reports read-only (sqlite3_stmt_readonly), and an authorizer refuses ATTACH, DETACH and every PRAGMA
    /// but those that only read — wherever they stand, comments or not — on a connection opened read-only.
    /// A query running past `timeout` is interrupted (sqlite3_interrupt).</summary>
    public QueryResult QueryReadOnly(string sql, TimeSpan? timeout = null)
    {
        var handle = db.Handle!;
        raw.sqlite3_set_authorizer(handle, Authorize, null);
        try
        {
            var remaining = sql;
            while (!string.IsNullOrWhiteSpace(remaining))
            {
                int rc = raw.sqlite3_prepare_v2(handle, remaining, out var stmt, out var tail);
                if (rc == raw.SQLITE_AUTH)
                    throw new ReadOnlyViolationException("refused: queries are read-only, and this one would " +
                        $"attach a database or change a setting ({raw.sqlite3_errmsg(handle).utf8_to_string()})");
                if (rc != raw.SQLITE_OK) throw new SqliteException(raw.sqlite3_errmsg(handle).utf8_to_string(), rc);
                using (stmt)
                {
                    if (stmt.IsInvalid) break;    // only comments or whitespace left
                    if (raw.sqlite3_stmt_readonly(stmt) == 0)
                        throw new ReadOnlyViolationException("refused: queries are read-only and this statement " +
                            $"would change the database: {Shorten(raw.sqlite3_sql(stmt).utf8_to_string().Trim())}");
                }
                remaining = tail;
            }
            using var timer = timeout is { } t
                ? new Timer(_ => raw.sqlite3_interrupt(handle), null, t, Timeout.InfiniteTimeSpan) : null;
            try { return Query(sql); }
            catch (SqliteException e) when (e.SqliteErrorCode == raw.SQLITE_INTERRUPT && timeout != null)
            {
                throw new QueryTimeoutException($"query stopped after {timeout.Value.TotalSeconds:0.#} s (--timeout)");
            }
        }
        finally { raw.sqlite3_set_authorizer(handle, (strdelegate_authorizer?)null, null); }
    }

    static int Authorize(object userData, int action, string param0, string param1, string dbName, string trigger) =>
        action switch
        {
            raw.SQLITE_ATTACH or raw.SQLITE_DETACH => raw.SQLITE_DENY,
            raw.SQLITE_PRAGMA when ReadingPragmas.Contains(param0?.ToLowerInvariant() ?? "") => raw.SQLITE_OK,
            raw.SQLITE_PRAGMA when param1 == null &&
                                   ReadingPragmasWithoutArgument.Contains(param0?.ToLowerInvariant() ?? "")
                                       => raw.SQLITE_OK,
            raw.SQLITE_PRAGMA => raw.SQLITE_DENY,
            _ => raw.SQLITE_OK,
        };

    static string Shorten(string s) => s.Length <= 80 ? s : s[..77] + "...";
}
