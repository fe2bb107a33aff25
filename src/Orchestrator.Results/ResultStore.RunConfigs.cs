namespace Orchestrator.Results;

/// <summary>The `run_configs` view: one row per sweep membership with every configuration key as a column named
/// by the key itself (`"finetune.steps"`, `"router.p"`), typed as its params row is (int, float, bool as 0/1,
/// text). SQL cannot pivot over keys it does not know, so the view is generated from the keys the stored runs
/// have, and regenerated inside the transaction that stores runs with a key it lacks.</summary>
public sealed partial class ResultStore
{
    /// <summary>Call inside a write transaction.</summary>
    void RefreshRunConfigs()
    {
        var keys = Query("SELECT DISTINCT key FROM params ORDER BY key").Rows.Select(r => (string)r[0]!).ToList();
        var ddl = RunConfigsSql(keys);
        if (Scalar("SELECT sql FROM sqlite_master WHERE type = 'view' AND name = 'run_configs'") as string == ddl)
            return;
        Exec(db, "DROP VIEW IF EXISTS run_configs");
        Exec(db, ddl);
    }

    static string RunConfigsSql(IReadOnlyList<string> keys)
    {
        var columns = keys.Select(k =>
        {
            var literal = k.Replace("'", "''");
            return $",\n       max(CASE WHEN p.key = '{literal}' THEN CASE p.type WHEN 'string' THEN p.value_text " +
                   $"WHEN 'float' THEN p.value_real ELSE p.value_int END END) AS \"{k.Replace("\"", "\"\"")}\"";
        });
        return "CREATE VIEW run_configs AS\nSELECT sr.sweep, sr.run_id, j.state AS status" + string.Concat(columns) +
               "\nFROM sweep_runs sr JOIN jobs j ON j.job_id = sr.run_id LEFT JOIN params p ON p.run_id = sr.run_id" +
               "\nGROUP BY sr.sweep, sr.run_id";
    }
}
