using System.Security.Cryptography;
using Orchestrator.Moe;
using Orchestrator.Results;
using Orchestrator.Specs;
using Orchestrator.Training;
using Orchestrator.Training.Data;
using Orchestrator.Training.Tasks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Execution;

/// <summary>The body of one job, run inside its own worker process (`orchestrator worker JOB.json`):
/// pretrain a base model, fine-tune a base with one router configuration, or evaluate a fine-tuned model.
/// Progress goes to stdout as `progress` lines; results go to the bundle file, never to the database.</summary>
public static class Worker
{
    public static int Main(string jobPath, TextWriter log)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        ParentDeath.KillMeWithParent();
        var job = JobSpec.Load(jobPath);
        FaultInjection.At(job.Id, "start");
        var flat = ConfigValues.FromJson(job.ConfigJson);
        var cfg = RunConfig.From(flat);
        if (job.Threads > 0) set_num_threads(job.Threads);
        var device = ResolveDevice(job.Device, log);
        Trainer.Seed(cfg.Seed);
        var bundle = new RunBundle
        {
            RunId = job.Id, Kind = job.Kind,
            Provenance = Provenance.Collect(job, DeviceName(device)),
        };
        bundle.Provenance["seed"] = cfg.Seed.ToString();
        var data = Dataset.Prepare(cfg.Data, cfg.Model.VocabSize);
        log.WriteLine($"data: {data.Corpus.Source} ({data.Corpus.Train.Count}/{data.Corpus.Valid.Count}/{data.Corpus.Test.Count} documents, " +
                      $"{data.Train.Length} train tokens), tokenizer {data.TokenizerPath}");
        switch (job.JobKind)
        {
            case JobKind.Pretrain: Pretrain(job, cfg, data, device, bundle, log); break;
            case JobKind.Finetune: Finetune(job, cfg, data, device, bundle, log, clock); break;
            default: Evaluate(job, cfg, data, device, bundle, log, clock); break;
        }
        bundle.Provenance["finished_at"] = DateTime.UtcNow.ToString("O");
        bundle.Save(job.BundlePath);
        return 0;
    }

    static Device ResolveDevice(string spec, TextWriter log)
    {
        if (spec.StartsWith("cuda"))
        {
            if (!cuda.is_available())
                throw new InvalidOperationException($"device {spec} requested but CUDA is not available in this build/host " +
                                                    "(build with `make ... TORCH=cuda` on a machine with an NVIDIA GPU)");
            // The scheduler pins each worker with CUDA_VISIBLE_DEVICES, so the visible GPU is always 0.
            return new Device(DeviceType.CUDA, 0);
        }
        return CPU;
    }

    static string DeviceName(Device d) => d.type == DeviceType.CUDA
        ? $"cuda:{Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES") ?? "0"}"
        : $"cpu ({Environment.ProcessorCount} cores, {get_num_threads()} threads)";

    static void Progress(TextWriter log, string phase, StepMetrics m, int total)
    {
        if (m.Step % 10 == 0 || m.Step == total - 1)
            Console.Out.WriteLine($"progress phase={phase} step={m.Step + 1} of={total} loss={m.Loss:F4} " +
                                  $"experts={m.MeanExperts:F2} tok_s={m.TokensPerSecond:F0} wall={m.WallSeconds:F1}");
        log.Flush();
    }

    static void Record(RunBundle bundle, string phase, StepMetrics m)
    {
        bundle.Steps.Add(new MetricPoint("train_loss", m.Step, m.Loss, m.WallSeconds, phase));
        bundle.Steps.Add(new MetricPoint("aux_loss", m.Step, m.AuxLoss, m.WallSeconds, phase));
        bundle.Steps.Add(new MetricPoint("lr", m.Step, m.Lr, m.WallSeconds, phase));
        bundle.Steps.Add(new MetricPoint("mean_experts_per_token", m.Step, m.MeanExperts, m.WallSeconds, phase));
        bundle.Steps.Add(new MetricPoint("tokens_per_second", m.Step, m.TokensPerSecond, m.WallSeconds, phase));
    }

    static void RecordAdaK(RunBundle bundle, AdaKStep m)
    {
        var phase = "ada_k_" + m.Phase;
        void Add(string key, double v) => bundle.Steps.Add(new MetricPoint(key, m.Step, v, m.WallSeconds, phase));
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

    static void Pretrain(JobSpec job, RunConfig cfg, Dataset data, Device device, RunBundle bundle, TextWriter log)
    {
        var model = new MoeTransformer(cfg.Model, RouterConfig.TopK(cfg.PretrainK), device);
        var rng = new Random(unchecked((int)cfg.Seed * 7919 + 1));
        int s = cfg.Model.Context + 1;
        Tensor Batch(int step)
        {
            var rows = new List<int[]>();
            for (int i = 0; i < cfg.Pretrain.BatchSize; i++)
                rows.Add(rng.NextDouble() < cfg.Data.TaskMix
                    ? data.TaskRow(cfg.Data.Tasks, 1, cfg.Data.MaxDifficulty, s, rng)
                    : Dataset.Window(data.Train, s, rng));
            return Trainer.ToBatch(rows, device);
        }
        double lastWall = 0;
        Trainer.Train(model, cfg.Pretrain, model.parameters(), Batch,
            m => { Record(bundle, "pretrain", m); Progress(log, "pretrain", m, cfg.Pretrain.Steps); lastWall = m.WallSeconds; },
            step => bundle.Steps.Add(new MetricPoint("valid_loss", step,
                Evaluator.TextLoss(model, data.Valid, cfg.Model.Context, 4), lastWall, "pretrain")));
        double valid = Evaluator.TextLoss(model, data.Valid, cfg.Model.Context, 4);
        bundle.Steps.Add(new MetricPoint("valid_loss", cfg.Pretrain.Steps, valid, lastWall, "pretrain"));
        log.WriteLine($"pretrain done: valid loss {valid:F4}");
        SaveCheckpoint(model, job, bundle);
    }

    /// <summary>model.bin in the job's output folder, written atomically, recorded with its sha256.</summary>
    static void SaveCheckpoint(MoeTransformer model, JobSpec job, RunBundle bundle)
    {
        var dir = job.OutputDir ?? throw new InvalidDataException($"job {job.JobId} has no output folder");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "model.bin");
        var tmp = path + ".tmp";
        model.save(tmp);
        var sha = Sha256(tmp);
        // The digest beside the checkpoint lets a job queued before this one finished (SLURM) verify it.
        File.WriteAllText(path + ".sha256.tmp", sha + "\n");
        File.Move(tmp, path, true);
        File.Move(path + ".sha256.tmp", path + ".sha256", true);
        bundle.Artifacts.Add(new ArtifactRow(path, "checkpoint", sha, new FileInfo(path).Length));
    }

    /// <summary>The job's input checkpoint, checked against the sha256 the database recorded for it.</summary>
    static string VerifiedInput(JobSpec job, RunBundle bundle, string kind)
    {
        var ckpt = job.InputCheckpoint ?? throw new InvalidDataException($"job {job.JobId} has no input checkpoint");
        if (!File.Exists(ckpt)) throw new FileNotFoundException($"{kind} checkpoint missing: {ckpt}");
        var sha = Sha256(ckpt);
        // Expected: what the database recorded, or (for a job queued before its input existed) the digest written beside it.
        var expected = job.InputSha256 ?? (File.Exists(ckpt + ".sha256") ? File.ReadAllText(ckpt + ".sha256").Trim() : null);
        if (expected != null && sha != expected)
            throw new InvalidDataException($"{kind} checkpoint {ckpt} has sha256 {sha}, expected {expected}");
        bundle.Artifacts.Add(new ArtifactRow(ckpt, kind + "_checkpoint", sha, new FileInfo(ckpt).Length));
        return ckpt;
    }

    public static string Sha256(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(f));
    }

    static bool IsRouting(string name) => name.Contains(".gate.") || name.Contains(".null_gate.") || name.Contains(".allocator.");

    /// <summary>Which parameters fine-tuning updates: everything; only the routing parameters; or the
    /// LoRA adapters plus the routing parameters (a router being converted must learn its new logits).</summary>
    static IEnumerable<Parameter> Trainable(MoeTransformer model, string mode, int loraRank)
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

    /// <summary>What a fine-tuning job measured that its evaluations report as their own (train.json
    /// beside the fine-tuned model.bin).</summary>
    sealed record TrainingSummary(double TrainSeconds, double TrainTokensPerSecond, double? TimeToTargetLoss, double JobSeconds);

    static readonly System.Text.Json.JsonSerializerOptions SummaryJson = new() { PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower };

    /// <summary>The base converted to the run's router, trained on tasks (full, router-only or LoRA;
    /// Ada-K's allocators with PPO), saved as a checkpoint of its own.</summary>
    static void Finetune(JobSpec job, RunConfig cfg, Dataset data, Device device, RunBundle bundle, TextWriter log,
        System.Diagnostics.Stopwatch clock)
    {
        var ckpt = VerifiedInput(job, bundle, "base");
        var model = new MoeTransformer(cfg.Model, RouterConfig.TopK(cfg.PretrainK), device);
        model.load(ckpt);
        model.ConvertRouter(cfg.Router);
        if (device.type != DeviceType.CPU) model.to(device);
        if (FaultInjection.Wants(job.Id, "nan"))
            using (no_grad()) foreach (var p in model.parameters()) p.fill_(double.NaN);

        var rng = new Random(unchecked((int)cfg.Seed * 7919 + 2));
        var curriculum = new Curriculum(cfg.Finetune.Curriculum, cfg.Finetune.Pacing, cfg.Data.MaxDifficulty, cfg.Finetune.Train.Steps);
        int s = cfg.Model.Context + 1, lastMax = 0;
        ComplexityCurriculum? ordered = null;
        if (cfg.Finetune.Curriculum == "adaptive_gating")
        {
            int per = (int)Math.Ceiling(cfg.Finetune.CurriculumPool / (double)(cfg.Data.Tasks.Length * cfg.Data.MaxDifficulty));
            ordered = new ComplexityCurriculum(TaskSuite.Samples(cfg.Data.Tasks, cfg.Data.MaxDifficulty, per, (int)cfg.Seed, stream: 2),
                data.Tokenizer, cfg.Model.Context);
        }
        Tensor Batch(int step)
        {
            if (ordered != null)
            {
                var orderedRows = new List<int[]>();
                for (int i = 0; i < cfg.Finetune.Train.BatchSize; i++)
                    orderedRows.Add(rng.NextDouble() < cfg.Finetune.TextMix ? Dataset.Window(data.Train, s, rng)
                        : ordered.NextRow(s, model, e => bundle.Events.Add(new EventRow("curriculum", e, step))));
                return Trainer.ToBatch(orderedRows, device);
            }
            var (lo, hi) = curriculum.Difficulties(step);
            if (hi != lastMax)
            {
                bundle.Events.Add(new EventRow("curriculum", $"difficulties {lo}..{hi}", step));
                lastMax = hi;
            }
            var rows = new List<int[]>();
            for (int i = 0; i < cfg.Finetune.Train.BatchSize; i++)
                rows.Add(rng.NextDouble() < cfg.Finetune.TextMix ? Dataset.Window(data.Train, s, rng) : data.TaskRow(cfg.Data.Tasks, lo, hi, s, rng));
            return Trainer.ToBatch(rows, device);
        }
        double lastWall = 0, timeToTarget = double.NaN;
        void ValidLoss(int step)
        {
            var v = Evaluator.TextLoss(model, data.Valid, cfg.Model.Context, 4);
            bundle.Steps.Add(new MetricPoint("valid_loss", step, v, lastWall, "finetune"));
            if (cfg.Eval.TargetLoss > 0 && double.IsNaN(timeToTarget) && v <= cfg.Eval.TargetLoss) timeToTarget = lastWall;
        }
        IReadOnlyList<StepMetrics> history;
        if (cfg.Router.Type == "ada_k")
        {
            // Ada-K: the model and router stay frozen; only the allocators train, with PPO (finetune.steps batches).
            var ada = AdaKTrainer.Train(model, cfg.Router, cfg.Finetune.Train.Steps, Batch, m =>
            {
                RecordAdaK(bundle, m);
                lastWall = m.WallSeconds;
                if (m.Step % 10 == 0)
                    Console.Out.WriteLine($"progress phase=ada_k_{m.Phase} step={m.Step + 1} of={(m.Phase == "warm" ? cfg.Router.WarmSteps : cfg.Finetune.Train.Steps)} " +
                                          $"loss={m.Loss:F4} mean_k={m.MeanK.Average():F2} wall={m.WallSeconds:F1}");
            });
            history = [];
        }
        else
            history = Trainer.Train(model, cfg.Finetune.Train, Trainable(model, cfg.Finetune.Mode, cfg.Finetune.LoraRank), Batch,
                m => { Record(bundle, "finetune", m); Progress(log, "finetune", m, cfg.Finetune.Train.Steps); lastWall = m.WallSeconds; },
                ValidLoss);
        ValidLoss(cfg.Finetune.Train.Steps);
        SaveCheckpoint(model, job, bundle);
        var summary = new TrainingSummary(lastWall, history.Count == 0 ? 0 : history.Average(h => h.TokensPerSecond),
            double.IsNaN(timeToTarget) ? null : timeToTarget, clock.Elapsed.TotalSeconds);
        var summaryPath = Path.Combine(job.OutputDir!, "train.json");
        File.WriteAllText(summaryPath + ".tmp", System.Text.Json.JsonSerializer.Serialize(summary, SummaryJson));
        File.Move(summaryPath + ".tmp", summaryPath, true);
        log.WriteLine($"finetune done: {cfg.Finetune.Train.Steps} steps in {lastWall:F1}s, checkpoint {job.OutputDir}");
    }

    /// <summary>A fine-tuned model from its checkpoint: the architecture is rebuilt as fine-tuning left it
    /// (router converted; LoRA adapters where fine-tuning added them) so that every parameter name matches.</summary>
    public static MoeTransformer LoadFinetuned(RunConfig cfg, string checkpoint, Device device)
    {
        var model = new MoeTransformer(cfg.Model, RouterConfig.TopK(cfg.PretrainK), device);
        model.ConvertRouter(cfg.Router);
        if (cfg.Finetune.Mode == "lora" && cfg.Router.Type != "ada_k") model.EnableLora(cfg.Finetune.LoraRank);
        model.load(checkpoint);
        if (device.type != DeviceType.CPU) model.to(device);
        return model;
    }

    /// <summary>The fine-tuned model rebuilt (router converted, LoRA adapters added, so every parameter
    /// name matches) and loaded from its checkpoint, then evaluated: held-out text, tasks by difficulty,
    /// experts per token by layer, token class and word, FLOPs; router-collapse guards.</summary>
    static void Evaluate(JobSpec job, RunConfig cfg, Dataset data, Device device, RunBundle bundle, TextWriter log,
        System.Diagnostics.Stopwatch clock)
    {
        var ckpt = VerifiedInput(job, bundle, "finetuned");
        bundle.Provenance["finetune_hash"] = job.InputId ?? throw new InvalidDataException($"job {job.JobId} does not name its fine-tune");
        var model = LoadFinetuned(cfg, ckpt, device);
        var summaryPath = Path.Combine(Path.GetDirectoryName(ckpt)!, "train.json");
        var training = File.Exists(summaryPath)
            ? System.Text.Json.JsonSerializer.Deserialize<TrainingSummary>(File.ReadAllText(summaryPath), SummaryJson)
            : null;

        Console.Out.WriteLine("progress phase=eval");
        var report = Evaluator.Evaluate(model, data, cfg);
        log.WriteLine($"eval: loss {report.Loss:F4} ppl {report.Perplexity:F2} acc {report.Accuracy:P1} experts/token {report.MeanExpertsPerToken:F3} " +
                      $"GFLOPs/token {report.FlopsPerToken / 1e9:F4}");
        var f = bundle.Final;
        f["eval_loss"] = report.Loss;
        f["perplexity"] = report.Perplexity;
        f["accuracy"] = report.Accuracy;
        f["mean_experts_per_token"] = report.MeanExpertsPerToken;
        f["flops_per_token"] = report.FlopsPerToken;
        f["activated_parameters"] = report.ActivatedParameters;
        f["inference_tokens_per_second"] = report.TokensPerSecond;
        f["total_parameters"] = model.ParameterCount();
        f["eval_seconds"] = clock.Elapsed.TotalSeconds;
        if (training != null)
        {
            f["train_seconds"] = training.TrainSeconds;
            f["train_tokens_per_second"] = training.TrainTokensPerSecond;
            if (training.TimeToTargetLoss is { } t) f["time_to_target_loss"] = t;
        }
        // A run's wall time: its fine-tuning job's and its evaluation's.
        f["job_seconds"] = clock.Elapsed.TotalSeconds + (training?.JobSeconds ?? 0);
        bundle.Tasks.AddRange(report.Tasks);
        bundle.Classes.AddRange(report.Classes);
        bundle.Words.AddRange(report.Words);
        foreach (var l in report.Usage.Layers.Values)
        {
            bundle.Layers.Add(new LayerStats(l.Layer, l.Tokens, l.MeanExpertsPerToken, l.Histogram, l.NullRate,
                l.Tokens == 0 ? 0 : l.AllNullTokens / (double)l.Tokens, l.MeanEntropy, l.MeanMargin, l.BalanceLoss, l.ZLoss, l.EntropyLoss));
            long total = l.Load.Sum();
            for (int e = 0; e < l.Experts; e++)
                bundle.Experts.Add(new ExpertLoad(l.Layer, e, l.Load[e], total == 0 ? 0 : l.Load[e] / (double)total,
                    l.Tokens == 0 ? 0 : l.GateProbability[e] / l.Tokens));
            bundle.Events.AddRange(CollapseWarnings(l, cfg.Eval.CollapseShare).Select(w => new EventRow("warning", w)));
        }
    }

    static string Percent(double share) => (share * 100).ToString("F0", System.Globalization.CultureInfo.InvariantCulture) + "%";

    /// <summary>Guards: router collapse is recorded as a warning, not fatal — one expert taking more than
    /// `collapseShare` of a layer's dispatches, or null experts taking nearly every slot.</summary>
    public static IEnumerable<string> CollapseWarnings(LayerTelemetry l, double collapseShare)
    {
        long total = l.Load.Sum();
        double maxShare = total == 0 ? 0 : l.Load.Max() / (double)total;
        if (maxShare > collapseShare)
            yield return $"router collapse at layer {l.Layer}: expert {Array.IndexOf(l.Load, l.Load.Max())} takes {Percent(maxShare)} of dispatches";
        if (l.SlotsPerToken > 0 && l.NullRate > 0.95)
            yield return $"null rate {Percent(l.NullRate)} at layer {l.Layer}: tokens almost never use a real expert";
    }
}
