using System.Text.Json;

namespace Orchestrator.Results;

public sealed record RunRow(string RunId, string Sweep, string Router, string Knobs, long Seed, string Status,
    int Attempt,
    string BaseHash, string ConfigJson, string? Error);

/// <summary>A stored model (a pretrained base or a fine-tune): its checkpoint and the sha256 recorded at
/// ingest.</summary>
public sealed record StoredModel(string? Checkpoint, string? Sha256, long? Size);

/// <summary>Sweeps, the runs they plan, and the models (bases, fine-tunes) those runs need.</summary>
public sealed partial class ResultStore
{
    /// <summary>Records the sweep, every planned run with its evaluation job, and the bases and fine-tunes they
    /// need with their jobs (new ones pending; existing ones untouched but for an unfinished run's fine-tune
    /// identity). Returns the runs that were new.</summary>
    public IReadOnlyList<string> RegisterSweep(ExperimentSpec spec)
    {
        var added = new List<string>();
        sql.InTransaction(() =>
        {
            var now = Sql.Now();
            sql.Run("""
                INSERT INTO sweeps(name, description, spec_path, spec_text, spec_hash, created_at, updated_at)
                VALUES ($n, $d, $p, $t, $h, $now, $now)
                ON CONFLICT(name) DO UPDATE SET description = $d, spec_path = $p, spec_text = $t, spec_hash = $h,
                                                updated_at = $now
                """, ("$n", spec.Name), ("$d", spec.Description), ("$p", spec.Path), ("$t", spec.Text),
                ("$h", spec.Hash), ("$now", now));
            foreach (var r in spec.Runs)
            {
                int n = sql.Run("""
                    INSERT OR IGNORE INTO run_records(run_id, sweep, config_hash, group_hash, base_hash,
                                                      finetune_hash, router, knobs, curriculum, pretrain_k, seed,
                                                      config_json, created_at)
                    VALUES ($id, $s, $id, $g, $b, $f, $r, $k, $c, $pk, $seed, $j, $now)
                    """, ("$id", r.ConfigHash), ("$s", spec.Name), ("$g", r.GroupHash), ("$b", r.BaseHash),
                    ("$f", r.FinetuneHash), ("$r", r.Router), ("$k", r.Knobs), ("$c",
                        (string)r.Config["finetune.curriculum"]),
                    ("$pk", r.Config["pretrain.k"]), ("$seed", r.Seed), ("$j", r.CanonicalJson), ("$now", now));
                Jobs.Ensure(JobKey.Evaluate(r.ConfigHash));
                // Runs stored before migration 3 learn their fine-tune's identity when planned again; a run not
                // finished takes the current one (a finished run keeps the one its evaluation used).
                if (n == 0)
                    sql.Run("""
                        UPDATE run_records SET finetune_hash = $f WHERE run_id = $id
                          AND (finetune_hash IS NULL OR (SELECT state FROM jobs WHERE job_id = $id) != 'completed')
                        """, ("$f", r.FinetuneHash), ("$id", r.ConfigHash));
                else
                {
                    added.Add(r.ConfigHash);
                    AddParams(r);
                }
                // Swept values typed as the configuration holds them: {"router.p": 0.3}, not "0.3".
                var axes = r.Axes.ToDictionary(kv => kv.Key, kv => r.Config.GetValueOrDefault(kv.Key, kv.Value));
                sql.Run("INSERT OR REPLACE INTO sweep_runs(sweep, run_id, axes_json) VALUES ($s, $id, $a)",
                    ("$s", spec.Name), ("$id", r.ConfigHash), ("$a", JsonSerializer.Serialize(axes)));
            }
            foreach (var r in spec.Runs.DistinctBy(r => r.BaseHash)) AddBase(r.BaseHash, r.Identity.BaseJson);
            foreach (var r in spec.Runs.DistinctBy(r => r.FinetuneHash))
                AddFinetune(r.FinetuneHash, r.BaseHash, r.Identity.FinetuneJson);
            if (added.Count > 0) RefreshRunConfigs();
        });
        return added;
    }

    void AddParams(PlannedRun r) => sql.Batch(
        "INSERT INTO params(run_id, key, type, value_int, value_real, value_text) VALUES ($id, $k, $t, $i, $r, $s)",
        ["$id", "$k", "$t", "$i", "$r", "$s"], r.Config, kv => [
            r.ConfigHash, kv.Key,
            kv.Value switch { long => "int", double => "float", bool => "bool", _ => "string" },
            kv.Value switch { long l => l, bool b => b ? 1L : 0L, _ => null },
            kv.Value switch { double d => d, long l => (double)l, _ => null },
            ConfigValues.Format(kv.Value),
        ]);

    void AddBase(string baseHash, string configJson)
    {
        sql.Run("INSERT OR IGNORE INTO base_records(base_hash, config_json, created_at) VALUES ($b, $j, $now)",
            ("$b", baseHash), ("$j", configJson), ("$now", Sql.Now()));
        Jobs.Ensure(JobKey.Base(baseHash));
    }

    void AddFinetune(string finetuneHash, string baseHash, string configJson)
    {
        sql.Run("""
            INSERT OR IGNORE INTO finetune_records(finetune_hash, base_hash, config_json, created_at)
            VALUES ($f, $b, $j, $now)
            """, ("$f", finetuneHash), ("$b", baseHash), ("$j", configJson), ("$now", Sql.Now()));
        Jobs.Ensure(JobKey.Finetune(finetuneHash));
    }

    /// <summary>Records a fine-tuned model and its fine-tuning job (pending) unless known already.</summary>
    public void EnsureFinetune(string finetuneHash, string baseHash, string configJson) =>
        sql.InTransaction(() => AddFinetune(finetuneHash, baseHash, configJson));

    /// <summary>The checkpoint of a base (Pretrain) or fine-tune (Finetune) as its job's ingest recorded it.</summary>
    public StoredModel Model(JobKey key)
    {
        var (table, column) = key.Kind == JobKind.Pretrain ? ("base_records", "base_hash") : ("finetune_records",
            "finetune_hash");
        using var cmd = sql.Command($"""
            SELECT m.checkpoint_path, m.checkpoint_sha256, a.size FROM {table} m
            LEFT JOIN artifacts a ON a.job_id = $j AND a.path = m.checkpoint_path
            WHERE m.{column} = $id
            """, ("$id", key.Subject), ("$j", key.Id));
        using var r = cmd.ExecuteReader();
        if (!r.Read()) return new StoredModel(null, null, null);
        return new StoredModel(r.IsDBNull(0) ? null : Paths.FromStored(r.GetString(0)),
            r.IsDBNull(1) ? null : r.GetString(1),
            r.IsDBNull(2) ? null : r.GetInt64(2));
    }

    /// <summary>A completed base or fine-tune whose checkpoint is on disk with the size ingest recorded (its
    /// sha256 is checked once, by the job that reads it).</summary>
    public bool Intact(JobKey model)
    {
        if (Jobs.Status(model).State != JobState.Completed) return false;
        var m = Model(model);
        return m.Checkpoint != null && File.Exists(m.Checkpoint) &&
               (m.Size == null || new FileInfo(m.Checkpoint).Length == m.Size);
    }

    public List<RunRow> Runs(string? sweep = null)
    {
        var text = """
            SELECT r.run_id, coalesce(sr.sweep, r.sweep), r.router, r.knobs, r.seed, r.status, r.attempt, r.base_hash,
                   r.config_json, r.error
            FROM runs r LEFT JOIN sweep_runs sr ON sr.run_id = r.run_id
            """ + (sweep != null ? " WHERE sr.sweep = $s" : " GROUP BY r.run_id") +
            " ORDER BY r.router, r.knobs, r.seed, r.run_id";
        using var cmd = sql.Command(text, ("$s", sweep));
        using var rd = cmd.ExecuteReader();
        var list = new List<RunRow>();
        while (rd.Read())
            list.Add(new RunRow(rd.GetString(0), rd.GetString(1), rd.GetString(2), rd.GetString(3), rd.GetInt64(4),
                rd.GetString(5), rd.GetInt32(6), rd.GetString(7), rd.GetString(8),
                    rd.IsDBNull(9) ? null : rd.GetString(9)));
        return list;
    }
}
