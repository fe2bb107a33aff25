using System.Text.Json;

namespace Orchestrator.Results;

/// <summary>One row of `finding_records` (see Schema.sql, migration 6).</summary>
public sealed record FindingRow(string Claim, string Subject, string Statement, string Source, string Metric,
    double? Effect, double? Low, double? High, double NullValue, int N, int Seeds, string Method, string Verdict,
    int Comparisons, string? Context, IReadOnlyList<string> RunIds);

/// <summary>Findings: a sweep's are replaced as a whole, in one transaction, whenever they are recomputed.</summary>
public sealed partial class ResultStore
{
    public void ReplaceFindings(string sweep, IReadOnlyList<FindingRow> rows) => sql.InTransaction(() =>
    {
        sql.Run("DELETE FROM finding_records WHERE sweep = $s", ("$s", sweep));
        var now = Sql.Now();
        sql.Batch("""
            INSERT INTO finding_records(sweep, claim, subject, statement, source, metric, effect, ci_low, ci_high,
                                        null_value, n, seeds, method, verdict, comparisons, context, run_ids,
                                        computed_at)
            VALUES ($sw, $c, $s, $st, $so, $m, $e, $lo, $hi, $nv, $n, $sd, $me, $v, $cm, $cx, $r, $t)
            """, ["$sw", "$c", "$s", "$st", "$so", "$m", "$e", "$lo", "$hi", "$nv", "$n", "$sd", "$me", "$v", "$cm",
                "$cx", "$r", "$t"], rows, f => [sweep, f.Claim, f.Subject, f.Statement, f.Source, f.Metric, f.Effect,
                f.Low, f.High, f.NullValue, f.N, f.Seeds, f.Method, f.Verdict, f.Comparisons, f.Context,
                JsonSerializer.Serialize(f.RunIds), now]);
    });
}
