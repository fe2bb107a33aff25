using System.Globalization;
using Orchestrator.Moe;

namespace Orchestrator.Training.Recipes;

/// <summary>Evaluating a run: its fine-tuned model rebuilt and loaded, then held-out text, tasks by
/// difficulty, multiple choice, experts per token by layer, token class and word, FLOPs; router-collapse
/// guards as warnings.</summary>
public static class EvaluateRecipe
{
    public static void Run(JobContext job)
    {
        var cfg = job.Config;
        var (ckpt, manifest) = Checkpoints.VerifiedInput(job, "finetuned");
        var model = Checkpoints.LoadFinetuned(cfg, ckpt, job.Device);
        job.Say(WorkerMessage.Progress("eval"));
        var report = Evaluator.Evaluate(model, job.Data, cfg);
        job.Log.WriteLine($"eval: loss {report.Loss:F4} ppl {report.Perplexity:F2} acc {report.Accuracy:P1} " +
                          $"experts/token {report.MeanExpertsPerToken:F3} GFLOPs/token " +
                          $"{report.FlopsPerToken / 1e9:F4}");
        var f = job.Result.Final;
        f["eval_loss"] = report.Loss;
        f["perplexity"] = report.Perplexity;
        f["accuracy"] = report.Accuracy;
        f["mean_experts_per_token"] = report.MeanExpertsPerToken;
        f["flops_per_token"] = report.FlopsPerToken;
        f["activated_parameters"] = report.ActivatedParameters;
        f["inference_tokens_per_second"] = report.TokensPerSecond;
        // Throughput is comparable only between runs measured with the same number of threads.
        f["threads"] = TorchSharp.torch.get_num_threads();
        f["total_parameters"] = model.ParameterCount();
        f["eval_seconds"] = job.Clock.Elapsed.TotalSeconds;
        // Bytes: the evaluation process's peak resident set, or on a GPU what NVML attributes to it.
        if (DeviceInfo.PeakMemoryBytes(job.Device) is { } peak) f["eval_peak_memory_bytes"] = peak;
        var training = manifest?.Training;
        if (training != null)
        {
            f["train_seconds"] = training.TrainSeconds;
            f["train_tokens_per_second"] = training.TrainTokensPerSecond;
            if (training.TimeToTargetLoss is { } t) f["time_to_target_loss"] = t;
            if (training.PeakMemoryBytes is { } m) f["train_peak_memory_bytes"] = m;
        }
        // A run's wall time: its fine-tuning job's and its evaluation's.
        f["job_seconds"] = job.Clock.Elapsed.TotalSeconds + (training?.JobSeconds ?? 0);
        job.Result.Tasks.AddRange(report.Tasks);
        job.Result.Items.AddRange(report.Items);
        job.Result.TaskClasses.AddRange(report.TaskClasses);
        job.Result.Classes.AddRange(report.Classes);
        job.Result.Words.AddRange(report.Words);
        job.Result.TokenRoutes.AddRange(report.TokenRoutes);
        var stability = StabilityFromBase(job, model);
        foreach (var l in report.Usage.Layers.Values)
        {
            job.Result.Layers.Add(new LayerStats(l.Layer, l.Tokens, l.MeanExpertsPerToken, l.Histogram, l.NullRate,
                l.Tokens == 0 ? 0 : l.AllNullTokens / (double)l.Tokens, l.MeanEntropy, l.MeanMargin, l.BalanceLoss,
                l.ZLoss, l.EntropyLoss, l.MaxVio, l.MeanBatchMaxVio, l.DeadShare, l.UsageEntropy, l.CoActivation,
                stability?.GetValueOrDefault(l.Layer)));
            long total = l.Load.Sum();
            for (int e = 0; e < l.Experts; e++)
                job.Result.Experts.Add(new ExpertLoad(l.Layer, e, l.Load[e], total == 0 ? 0 : l.Load[e] / (double)total,
                    l.Tokens == 0 ? 0 : l.GateProbability[e] / l.Tokens));
            job.Result.Events.AddRange(CollapseWarnings(l, cfg.Eval.CollapseShare).Select(w => new EventRow("warning",
                w)));
        }
    }

    static string Percent(double share) => (share * 100).ToString("F0", CultureInfo.InvariantCulture) + "%";

    /// <summary>Guards: router collapse is recorded as a warning, not fatal — one expert taking more than
    /// `collapseShare` of a layer's dispatches, or null experts taking nearly every slot.</summary>
    public static IEnumerable<string> CollapseWarnings(LayerTelemetry l, double collapseShare)
    {
        long total = l.Load.Sum();
        double maxShare = total == 0 ? 0 : l.Load.Max() / (double)total;
        if (maxShare > collapseShare)
            yield return $"router collapse at layer {l.Layer}: expert {Array.IndexOf(l.Load, l.Load.Max())} " +
                         $"takes {Percent(maxShare)} of dispatches";
        if (l.SlotsPerToken > 0 && l.NullRate > 0.95)
            yield return $"null rate {Percent(l.NullRate)} at layer {l.Layer}: tokens almost never use a real expert";
    }

    /// <summary>Routing kept from the base model, per layer (RoutingStability), on the first held-out batch. The base
    /// checkpoint is read where its pretraining job wrote it and checked against its manifest; where it is gone
    /// (deleted, or on another machine's scratch) the measure is left out and the log says so.</summary>
    static Dictionary<int, double>? StabilityFromBase(JobContext job, MoeTransformer tuned)
    {
        var cfg = job.Config;
        var baseHash = RunIdentity.Of(ConfigValues.FromJson(job.Ticket.ConfigJson)).BaseHash;
        var path = Path.Combine(Paths.Checkpoints, baseHash, "model.bin");
        var manifest = ModelManifest.TryLoad(path);
        if (!File.Exists(path) || manifest == null || Protocol.Sha256(path) != manifest.Sha256)
        {
            job.Log.WriteLine($"routing stability: base checkpoint {path} missing or not its manifest's; left out");
            return null;
        }
        var baseModel = new MoeTransformer(cfg.Model, RouterConfig.TopK(cfg.PretrainK), job.Device);
        baseModel.load(path);
        var tokens = Evaluator.FirstTextBatch(job.Data, cfg.Model.Context, job.Device);
        return RoutingStability.PerLayer(baseModel, tuned, tokens, cfg.PretrainK).ToDictionary(x => x.Layer,
            x => x.Stability);
    }
}
