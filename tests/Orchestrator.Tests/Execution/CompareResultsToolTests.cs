using Microsoft.Data.Sqlite;
using Orchestrator.Results;

namespace Orchestrator.Tests.Execution;

/// <summary>tools/compare-results.py, which tools/sweep-old-new.sh runs on the two builds' databases of a round: equal
/// results pass whatever their timings, and one float that moved by one ulp is found and its table named.</summary>
public class CompareResultsToolTests
{
    static readonly string Tool = Path.Combine(Paths.RepoRoot, "tools", "compare-results.py");

    /// <summary>A database with two evaluated runs (metrics, final metrics, items, routing), closed.</summary>
    static string Database()
    {
        var path = Tests.Results.StoreTests.TempDb();
        using var store = ResultStore.Open(path);
        var spec = Tests.Results.StoreTests.Spec("s", seeds: 1);
        store.RegisterSweep(spec);
        foreach (var run in spec.Runs.Take(2))
        {
            Assert.True(store.Jobs.TryClaim(JobKey.Evaluate(run.ConfigHash), "me", 60));
            var bundle = Tests.Results.StoreTests.Bundle(run.ConfigHash, 2000, 0.5);
            bundle.Final["eval_seconds"] = 1.5;
            for (int item = 0; item < 10; item++)
                bundle.Items.Add(new ItemResult("addition", 1, item, item % 3 == 0, -0.1 * item, 2, 1.5, 1.6));
            store.Ingest(bundle);
        }
        return path;
    }

    /// <summary>The database as another folder would hold it: its pooled connections closed, so that the write-ahead
    /// log is checkpointed into the file, which is then copied.</summary>
    static string Copy(string db)
    {
        SqliteConnection.ClearAllPools();
        var copy = Tests.Results.StoreTests.TempDb();
        File.Copy(db, copy);
        if (File.Exists(db + "-wal")) File.Copy(db + "-wal", copy + "-wal");
        return copy;
    }

    /// <summary>Changes exactly one row; doubles are bound as parameters (no decimal text in between).</summary>
    static void Change(string db, string sql, params (string Name, double Value)[] values)
    {
        using var c = new SqliteConnection($"Data Source={db};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, value) in values) cmd.Parameters.AddWithValue(name, value);
        Assert.Equal(1, cmd.ExecuteNonQuery());
    }

    static (int Code, string Output) Compare(string a, string b)
    {
        using var p = System.Diagnostics.Process.Start(DebianPython.StartInfo(Tool, a, b))!;
        p.StandardInput.Close();
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output);
    }

    [Fact]
    public void Equal_results_pass_whatever_their_timings_and_a_float_one_ulp_off_is_found()
    {
        var old = Database();
        var same = Copy(old);
        // Timings differ between any two runs: left out.
        Change(same, "UPDATE final_metrics SET value = 2.5 WHERE key = 'eval_seconds' AND rowid = " +
                     "(SELECT min(rowid) FROM final_metrics WHERE key = 'eval_seconds')");
        var (code, output) = Compare(old, same);
        Assert.True(code == 0, output);
        Assert.Contains("item_results: 20 and 20 rows, equal", output);
        Assert.EndsWith("bit for bit (timings aside)", output.Trim());

        var moved = Copy(old);
        double logProb = -0.1 * 3;                                          // item 3's, as the bundle computed it
        double next = BitConverter.Int64BitsToDouble(BitConverter.DoubleToInt64Bits(logProb) + 1);
        Change(moved, "UPDATE item_results SET answer_logprob = $next WHERE rowid = " +
                      "(SELECT min(rowid) FROM item_results WHERE item = 3 AND answer_logprob = $old)",
            ("$next", next), ("$old", logProb));
        (code, output) = Compare(old, moved);
        Assert.True(code == 1, output);
        Assert.Contains("item_results: 20 and 20 rows, 1 only in the old, 1 only in the new", output);
        Assert.Matches(@"final_metrics: (\d+) and \1 rows, equal", output);
        Assert.EndsWith("DIFFERENT", output.Trim());

        // A metric that is not a timing names its key.
        var loss = Copy(old);
        Change(loss, "UPDATE metrics SET value = value + 1 WHERE key = 'train_loss' AND rowid = " +
                     "(SELECT min(rowid) FROM metrics WHERE key = 'train_loss')");
        (code, output) = Compare(old, loss);
        Assert.Equal(1, code);
        Assert.Contains("only in the new: train_loss", output);
    }

    [Fact]
    public void A_missing_file_or_one_that_is_no_database_is_a_one_line_error()
    {
        var db = Database();
        var (code, output) = Compare(db, db + ".missing");
        Assert.Equal(2, code);
        Assert.Equal($"error: no results database at {db}.missing", output.Trim());
        var junk = Tests.Results.StoreTests.TempDb();
        File.WriteAllText(junk, "not a database, but long enough to be read as one's header and rejected\n");
        (code, output) = Compare(db, junk);
        Assert.Equal(2, code);
        Assert.StartsWith("error: ", output.Trim());
        Assert.DoesNotContain("Traceback", output);
        Assert.Single(output.Trim().Split('\n'));
    }
}
