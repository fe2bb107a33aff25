using Orchestrator.Moe;
using Orchestrator.Moe.Routing;
using Orchestrator.Training.Tasks;
using TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Training.Recipes;

/// <summary>Fine-tuning: the base converted to the run's router, trained on tasks mixed with text (full,
/// router-only or LoRA; Ada-K's allocators with PPO on the frozen model), in the configured curriculum;
/// saved as a checkpoint of its own with what training measured in its manifest.</summary>
public static class FinetuneRecipe
{
    public static void Run(JobContext job)
    {
        var cfg = job.Config;
        var (ckpt, _) = Checkpoints.VerifiedInput(job, "base");
        var model = new MoeTransformer(cfg.Model, RouterConfig.TopK(cfg.PretrainK), job.Device);
        model.load(ckpt);
        model.ConvertRouter(cfg.Router);
        if (job.Device.type != DeviceType.CPU) model.to(job.Device);
        if (FaultInjection.Wants(job.Ticket.Subject, "nan"))
            using (no_grad()) foreach (var p in model.parameters()) p.fill_(Scalars.Of(double.NaN));

        var batches = Batches(job, model);
        double lastWall = 0, timeToTarget = double.NaN;
        void ValidLoss(int step)
        {
            var v = Evaluator.TextLoss(model, job.Data.Valid, cfg.Model.Context, 4);
            job.Result.Steps.Add(new MetricPoint("valid_loss", step, v, lastWall, "finetune"));
            if (cfg.Eval.TargetLoss > 0 && double.IsNaN(timeToTarget)
                && v <= cfg.Eval.TargetLoss) timeToTarget = lastWall;
        }
        IReadOnlyList<StepMetrics> history = [];
        int steps = cfg.Finetune.Train.Steps;
        if (cfg.Router.Definition.Finetune == FinetuneStrategy.AllocatorPolicy)
            // Ada-K: the model and router stay frozen; only the allocators train, with PPO (finetune.steps batches).
            AdaKTrainer.Train(model, cfg.Router, steps, batches, m =>
            {
                RecordAdaK(job.Result, m);
                lastWall = m.WallSeconds;
                if (m.Step % 10 == 0)
                    job.Say(WorkerMessage.Progress("ada_k_" + m.Phase, m.Step + 1,
                        m.Phase == "warm" ? AdaKRouter.Settings.Of(cfg.Router).WarmSteps : steps, m.Loss,
                            m.WallSeconds, m.MeanK.Average()));
            });
        else
            history = Trainer.Train(model, cfg.Finetune.Train, Trainable(model, cfg.Finetune.Mode,
                cfg.Finetune.LoraRank),
                batches,
                m => { job.Record("finetune", m); job.Progress("finetune", m, steps); lastWall = m.WallSeconds; },
                ValidLoss);
        ValidLoss(steps);
        if (cfg.Router.TargetExperts > 0 && cfg.Router.BudgetCalibration > 0) CalibrateBudget(job, model);
        var training = new TrainingSummary(lastWall, history.Count == 0 ? 0 : history.Average(h => h.TokensPerSecond),
            double.IsNaN(timeToTarget) ? null : timeToTarget, job.Clock.Elapsed.TotalSeconds,
            DeviceInfo.PeakMemoryBytes(job.Device));
        Checkpoints.Save(model, job, training);
        job.Log.WriteLine($"finetune done: {steps} steps in {lastWall:F1}s, checkpoint {job.Ticket.OutputDir}");
    }

    /// <summary>router.budget_calibration: each layer's β searched on validation text (4 batches of 16 windows, split
    /// from the test text the evaluation reads), so that the budget holds on text; the means it reached are
    /// recorded as `calibrated_experts` per layer (step = layer).</summary>
    static void CalibrateBudget(JobContext job, MoeTransformer model)
    {
        var inputs = Evaluator.TextInputs(job.Data.Valid, job.Config.Model.Context, 4, model.Device);
        var means = model.CalibrateBudget(inputs, job.Config.Router.BudgetCalibration);
        foreach (var t in inputs) t.Dispose();
        for (int l = 0; l < means.Count; l++)
            job.Result.Steps.Add(new MetricPoint("calibrated_experts", l, means[l], 0, "finetune"));
        job.Log.WriteLine($"budget calibrated on validation text: {string.Join(", ", means.Select(m => $"{m:F3}"))} " +
                          $"experts per token by layer (target {job.Config.Router.TargetExperts})");
    }

    /// <summary>The batch for each step: text mixed with task samples, in the configured curriculum —
    /// difficulties widening with the step (easy_to_hard), or samples ordered by the model's own routing
    /// complexity (adaptive_gating, reordered every epoch).</summary>
    static Func<int, Tensor> Batches(JobContext job, MoeTransformer model)
    {
        var cfg = job.Config;
        var rng = new Random(unchecked((int)cfg.Seed * 7919 + 2));
        int s = cfg.Model.Context + 1, rows = cfg.Finetune.Train.BatchSize;
        bool IsText(double u) => u < cfg.Finetune.TextMix;
        if (cfg.Finetune.Curriculum == "adaptive_gating")
        {
            int cells = cfg.Data.Tasks.Length * cfg.Data.MaxDifficulty;       // one pool slice per task and difficulty
            int per = (int)Math.Ceiling(cfg.Finetune.CurriculumPool / (double)cells);
            var ordered = new ComplexityCurriculum(
                TaskSuite.Samples(cfg.Data.Tasks, cfg.Data.MaxDifficulty, per, (int)cfg.Seed, stream: 2),
                job.Data.Tokenizer, cfg.Model.Context);
            return step => job.MixedBatch(rows, rng, IsText,
                () => ordered.NextRow(s, model, e => job.Result.Events.Add(new EventRow("curriculum", e, step))));
        }
        var curriculum = new Curriculum(cfg.Finetune.Curriculum, cfg.Finetune.Pacing, cfg.Data.MaxDifficulty,
            cfg.Finetune.Train.Steps);
        int lastMax = 0;
        return step =>
        {
            var (lo, hi) = curriculum.Difficulties(step);
            if (hi != lastMax)
            {
                job.Result.Events.Add(new EventRow("curriculum", $"difficulties {lo}..{hi}", step));
                lastMax = hi;
            }
            return job.MixedBatch(rows, rng, IsText, () => job.Data.TaskRow(cfg.Data.Tasks, lo, hi, s, rng,
                cfg.Data.DifficultyMix));
        };
    }

    static bool IsRouting(string name) =>
        name.Contains(".gate.") || name.Contains(".null_gate.") || name.Contains(".allocator.");

    /// <summary>Which parameters fine-tuning updates: everything; only the routing parameters; or the
    /// LoRA adapters plus the routing parameters (a router being converted must learn its new logits).</summary>
    public static IEnumerable<Parameter> Trainable(MoeTransformer model, string mode, int loraRank)
    {
        if (mode == "lora") model.EnableLora(loraRank);
        var named = model.named_parameters().ToList();
        Func<string, bool> trains = mode switch
        {
            "full" => _ => true,
            "router_only" => IsRouting,
            "lora" => n => IsRouting(n) || n.Contains("_lora_"),
            _ => throw new ArgumentException($"unknown finetune.mode '{mode}' (allowed: full, router_only, lora)"),
        };
        // Frozen weights get no gradient at all (cheaper backward), and stay bit-identical.
        foreach (var (name, p) in named) p.requires_grad = trains(name);
        return named.Where(p => trains(p.name)).Select(p => p.parameter).ToList();
    }

    static void RecordAdaK(JobResult result, AdaKStep m)
    {
        var phase = "ada_k_" + m.Phase;
        void Add(string key, double v) => result.Steps.Add(new MetricPoint(key, m.Step, v, m.WallSeconds, phase));
        Add("loss", m.Loss);
        for (int l = 0; l < m.MeanK.Length; l++) Add($"mean_k_agent_{l}", m.MeanK[l]);
        Add("mean_k", m.MeanK.Average());
        if (m.Phase != "ppo") return;
        Add("reward", m.Reward);
        Add("advantage_mean", m.AdvantageMean);
        Add("advantage_std", m.AdvantageStd);
        Add("clip_fraction", m.ClipFraction);
        Add("kl_old_new", m.Kl);
        Add("regulariser", m.Regulariser);
    }
}
