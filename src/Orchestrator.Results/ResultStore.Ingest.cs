using System.Text.Json;

namespace Orchestrator.Results;

/// <summary>Ingest: one job result, one transaction; ingesting the same result again replaces its rows.</summary>
public sealed partial class ResultStore
{
    static readonly string[] RunTables =
        ["final_metrics", "task_results", "item_results", "task_class_usage", "expert_usage", "routing_stats",
         "token_class_usage", "word_usage", "coactivation", "token_routes"];

    /// <summary>Kinds of event that are the job's history rather than its result, kept across attempts.</summary>
    const string HistoryEvents = "'failure', 'retry', 'skipped', 'interrupted', 'adopted'";

    public void Ingest(JobResult b)
    {
        var key = b.Key;
        sql.InTransaction(() =>
        {
            // Rows of an earlier attempt are replaced; the history (failures, retries, skips, …) is kept.
            sql.Run("DELETE FROM metrics WHERE job_id = $j", ("$j", key.Id));
            sql.Run("DELETE FROM artifacts WHERE job_id = $j", ("$j", key.Id));
            sql.Run($"DELETE FROM events WHERE job_id = $j AND kind NOT IN ({HistoryEvents})", ("$j", key.Id));
            sql.Batch("INSERT OR REPLACE INTO metrics(job_id, phase, key, step, value, wall_seconds) VALUES ($j, $p, " +
                "$k, $s, $v, $w)",
                ["$j", "$p", "$k", "$s", "$v", "$w"], b.Steps,
                m => [key.Id, m.Phase, m.Key, m.Step, double.IsFinite(m.Value) ? m.Value : null, m.WallSeconds]);
            FaultInjection.KillDuringIngest(key.Subject);          // tests: the transaction is half written
            foreach (var e in b.Events) Jobs.AddEvent(key, e.Kind, e.Message, e.Step);
            sql.Batch("INSERT OR REPLACE INTO artifacts(job_id, path, kind, sha256, size) VALUES ($j, $p, $k, $h, $s)",
                ["$j", "$p", "$k", "$h", "$s"], b.Artifacts, a => [key.Id, Paths.ToStored(a.Path), a.Kind, a.Sha256,
                    a.Size]);
            Jobs.Complete(key, JsonSerializer.Serialize(b.Provenance));
            if (key.Kind == JobKind.Evaluate) IngestEvaluation(b);
            else IngestModel(key, b.Artifacts.FirstOrDefault(a => a.Kind == "checkpoint"));
        });
    }

    void IngestModel(JobKey key, ArtifactRow? checkpoint)
    {
        var (table, column) = key.Kind == JobKind.Pretrain ? ("base_records", "base_hash") : ("finetune_records",
            "finetune_hash");
        sql.Run($"UPDATE {table} SET checkpoint_path = $p, checkpoint_sha256 = $h WHERE {column} = $id",
            ("$p", checkpoint == null ? null : Paths.ToStored(checkpoint.Path)), ("$h", checkpoint?.Sha256),
            ("$id", key.Subject));
    }

    void IngestEvaluation(JobResult b)
    {
        var run = b.Subject;
        foreach (var t in RunTables) sql.Run($"DELETE FROM {t} WHERE run_id = $j", ("$j", run));
        sql.Batch("INSERT INTO final_metrics(run_id, key, value) VALUES ($r, $k, $v)", ["$r", "$k", "$v"], b.Final,
            kv => [run, kv.Key, double.IsFinite(kv.Value) ? kv.Value : null]);
        sql.Batch("""
            INSERT INTO task_results(run_id, task, difficulty, samples, correct, accuracy, answer_loss,
                                     mean_experts_per_token, answer_experts_per_token)
            VALUES ($r, $t, $d, $n, $c, $a, $l, $m, $ae)
            """, ["$r", "$t", "$d", "$n", "$c", "$a", "$l", "$m", "$ae"], b.Tasks, t => [run, t.Task, t.Difficulty,
            t.Samples, t.Correct, t.Samples == 0 ? 0.0 : t.Correct / (double)t.Samples, t.AnswerLoss,
            t.MeanExpertsPerToken, t.AnswerExpertsPerToken]);
        sql.Batch("""
            INSERT INTO item_results(run_id, task, difficulty, item, correct, answer_logprob, answer_tokens,
                                     answer_experts, sequence_experts)
            VALUES ($r, $t, $d, $i, $c, $l, $n, $ae, $se)
            """, ["$r", "$t", "$d", "$i", "$c", "$l", "$n", "$ae", "$se"], b.Items, i => [run, i.Task, i.Difficulty,
            i.Item, i.Correct is { } c ? (c ? 1 : 0) : null, i.AnswerLogProb, i.AnswerTokens, i.AnswerExperts,
            i.SequenceExperts]);
        sql.Batch("""
            INSERT INTO task_class_usage(run_id, task, difficulty, token_class, tokens, mean_experts_per_token)
            VALUES ($r, $t, $d, $c, $n, $m)
            """, ["$r", "$t", "$d", "$c", "$n", "$m"], b.TaskClasses, c => [run, c.Task, c.Difficulty, c.TokenClass,
            c.Tokens, c.MeanExpertsPerToken]);
        sql.Batch("""
            INSERT INTO expert_usage(run_id, layer, expert, tokens, share, mean_gate_probability)
            VALUES ($r, $l, $e, $t, $s, $g)
            """, ["$r", "$l", "$e", "$t", "$s", "$g"], b.Experts,
            x => [run, x.Layer, x.Expert, x.Tokens, x.Share, x.MeanGateProbability]);
        sql.Batch("""
            INSERT INTO routing_stats(run_id, layer, tokens, mean_experts_per_token, experts_histogram, null_rate,
                                      all_null_rate, entropy, margin, balance_loss, z_loss, entropy_loss, max_vio,
                                      max_vio_batch, dead_experts, usage_entropy, stability_from_base)
            VALUES ($r, $l, $t, $m, $h, $n, $an, $e, $mg, $b, $z, $el, $mv, $mvb, $d, $ue, $sb)
            """,
            ["$r", "$l", "$t", "$m", "$h", "$n", "$an", "$e", "$mg", "$b", "$z", "$el", "$mv", "$mvb", "$d", "$ue",
             "$sb"],
            b.Layers,
            l => [run, l.Layer, l.Tokens, l.MeanExpertsPerToken, JsonSerializer.Serialize(l.Histogram), l.NullRate,
                  l.AllNullRate, l.Entropy, l.Margin, l.BalanceLoss, l.ZLoss, l.EntropyLoss, l.MaxVio, l.MaxVioBatch,
                  l.DeadShare, l.UsageEntropy, l.StabilityFromBase]);
        // Co-activation: the upper triangle with the diagonal (the matrix is symmetric), pairs that occurred.
        var pairs = b.Layers.Where(l => l.CoActivation != null).SelectMany(l =>
        {
            int n = (int)Math.Round(Math.Sqrt(l.CoActivation!.Length));
            return Enumerable.Range(0, n).SelectMany(i => Enumerable.Range(i, n - i)
                .Where(j => l.CoActivation[i * n + j] > 0)
                .Select(j => (l.Layer, A: i, B: j, Tokens: l.CoActivation[i * n + j])));
        }).ToList();
        sql.Batch("INSERT INTO coactivation(run_id, layer, expert_a, expert_b, tokens) VALUES ($r, $l, $a, $b, $t)",
            ["$r", "$l", "$a", "$b", "$t"], pairs, x => [run, x.Layer, x.A, x.B, x.Tokens]);
        sql.Batch("""
            INSERT INTO token_class_usage(run_id, layer, token_class, tokens, mean_experts_per_token)
            VALUES ($r, $l, $c, $t, $m)
            """, ["$r", "$l", "$c", "$t", "$m"], b.Classes,
            c => [run, c.Layer, c.TokenClass, c.Tokens, c.MeanExpertsPerToken]);
        sql.Batch("""
            INSERT INTO word_usage(run_id, word, token_class, tokens, mean_experts_per_token)
            VALUES ($r, $w, $c, $t, $m)
            """, ["$r", "$w", "$c", "$t", "$m"], b.Words,
            w => [run, w.Word, w.TokenClass, w.Tokens, w.MeanExpertsPerToken]);
        sql.Batch("INSERT INTO token_routes(run_id, position, layer, token, experts) VALUES ($r, $p, $l, $t, $e)",
            ["$r", "$p", "$l", "$t", "$e"], b.TokenRoutes,
            t => [run, t.Position, t.Layer, t.Token, JsonSerializer.Serialize(t.Experts)]);
        // The headline metrics, copied into the run's row so that run_summary is one scan; and the fine-tune
        // the evaluation read (a re-evaluated run takes the current one).
        sql.Run("""
            UPDATE run_records SET duration_seconds = $dur, finetune_hash = coalesce($ft, finetune_hash),
                   eval_loss = $l, perplexity = $p, accuracy = $a, mean_experts_per_token = $m, flops_per_token = $f
            WHERE run_id = $r
            """, ("$r", run), ("$dur", Final(b, "job_seconds")), ("$ft", b.InputHash),
            ("$l", Final(b, "eval_loss")), ("$p", Final(b, "perplexity")), ("$a", Final(b, "accuracy")),
            ("$m", Final(b, "mean_experts_per_token")), ("$f", Final(b, "flops_per_token")));
    }

    static double? Final(JobResult b, string key) => b.Final.TryGetValue(key,
        out var v) && double.IsFinite(v) ? v : null;

    public void AddEvent(JobKey key, string kind, string message, int? step = null) =>
        sql.InTransaction(() => Jobs.AddEvent(key, kind, message, step));
}
