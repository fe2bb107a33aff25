namespace Orchestrator.Specs;

public sealed record ModelConfig(int Layers, int DModel, int Heads, int Experts, int ExpertHidden, int SharedExperts,
    string MoeLayers, int VocabSize, int Context, double RopeTheta)
{
    public bool IsMoeLayer(int layer) => MoeLayers == "all" || layer % 2 == 1;
}

/// <summary>A router's settings. Knobs not used by <see cref="Type"/> keep their defaults.</summary>
public sealed record RouterConfig(string Type, int K = 2, double P = 0.4, bool Normalize = false, int MaxExperts = 0,
    double EntropyCoef = 0, double Threshold = 0.1, int Nulls = 0, double Lambda = 3e-3, int DefaultK = 2,
    double Epsilon = 0.2, double Gamma = 1.0, int PpoEpochs = 2, string WarmStart = "p_warm", double WarmP = 0.3,
    double LayerFraction = 1.0, bool Sample = false, double Lr = 1e-3, int WarmSteps = 20, double BalanceCoef = 0.01, double ZLossCoef = 0)
{
    public static RouterConfig TopK(int k, double balanceCoef = 0.01) => new("top_k", K: k, BalanceCoef: balanceCoef);

    /// <summary>The router's own parameters as JSON, e.g. {"p":0.4} — the `knobs` column.</summary>
    public static string KnobsJson(IReadOnlyDictionary<string, object> flat)
    {
        var type = (string)flat["router.type"];
        var knobs = ConfigSchema.RouterKnobs(type).Distinct().Where(k => flat.ContainsKey("router." + k))
            .ToDictionary(k => k, k => flat["router." + k]);
        return ConfigValues.CanonicalJson(knobs);
    }
}

public sealed record TrainConfig(int Steps, int BatchSize, double Lr, int Warmup, double WeightDecay, double GradClip, int EvalEvery);

public sealed record DataConfig(string Corpus, double ValidFraction, double TestFraction, string[] Tasks, int MaxDifficulty,
    double TaskMix, string MultipleChoice);

public sealed record FinetuneConfig(TrainConfig Train, string Mode, int LoraRank, double TextMix, string Curriculum, string Pacing, int CurriculumPool = 256);

public sealed record EvalConfig(int TextBatches, int TaskSamples, int MaxAnswerTokens, double TargetLoss, double CollapseShare);

/// <summary>The typed view of a canonical run configuration.</summary>
public sealed record RunConfig(ModelConfig Model, RouterConfig Router, DataConfig Data, TrainConfig Pretrain, int PretrainK,
    FinetuneConfig Finetune, EvalConfig Eval, string Device, int Threads, long Seed)
{
    public static RunConfig From(IReadOnlyDictionary<string, object> f)
    {
        var defaults = ConfigSchema.Defaults((string)f.GetValueOrDefault("router.type", "top_k"));
        object Get(string k) => f.TryGetValue(k, out var v) ? v : defaults[k];
        int I(string k) => (int)Convert.ToInt64(Get(k));
        double D(string k) => Convert.ToDouble(Get(k));
        string S(string k) => (string)Get(k);
        var type = S("router.type");
        T Opt<T>(string k, T fallback) => defaults.ContainsKey(k) ? (T)Convert.ChangeType(Get(k), typeof(T)) : fallback;

        var model = new ModelConfig(I("model.layers"), I("model.d_model"), I("model.heads"), I("model.experts"),
            I("model.expert_hidden"), I("model.shared_experts"), S("model.moe_layers"), I("model.vocab_size"),
            I("model.context"), D("model.rope_theta"));
        var router = new RouterConfig(type,
            K: Opt("router.k", 2), P: Opt("router.p", 0.4), Normalize: Opt("router.normalize", false),
            MaxExperts: Opt("router.max_experts", 0), EntropyCoef: Opt("router.entropy_coef", 0.0),
            Threshold: Opt("router.threshold", 0.1), Nulls: Opt("router.nulls", 0), Lambda: Opt("router.lambda", 3e-3),
            DefaultK: Opt("router.default_k", 2), Epsilon: Opt("router.epsilon", 0.2), Gamma: Opt("router.gamma", 1.0),
            PpoEpochs: Opt("router.ppo_epochs", 2), WarmStart: Opt("router.warm_start", "p_warm"), WarmP: Opt("router.warm_p", 0.3),
            LayerFraction: Opt("router.layer_fraction", 1.0), Sample: Opt("router.sample", false),
            Lr: Opt("router.lr", 1e-3), WarmSteps: Opt("router.warm_steps", 20),
            BalanceCoef: D("router.balance_coef"), ZLossCoef: D("router.z_loss_coef"));
        TrainConfig Train(string p) => new(I(p + ".steps"), I(p + ".batch_size"), D(p + ".lr"), I(p + ".warmup"),
            D(p + ".weight_decay"), D(p + ".grad_clip"), I(p + ".eval_every"));
        var data = new DataConfig(S("data.corpus"), D("data.valid_fraction"), D("data.test_fraction"),
            S("data.tasks").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            I("data.max_difficulty"), D("data.task_mix"), S("data.multiple_choice"));
        var ft = new FinetuneConfig(Train("finetune"), S("finetune.mode"), I("finetune.lora_rank"), D("finetune.text_mix"),
            S("finetune.curriculum"), S("finetune.pacing"), I("finetune.curriculum_pool"));
        var eval = new EvalConfig(I("eval.text_batches"), I("eval.task_samples"), I("eval.max_answer_tokens"),
            D("eval.target_loss"), D("eval.collapse_share"));
        return new RunConfig(model, router, data, Train("pretrain"), I("pretrain.k"), ft, eval, S("device"), I("threads"),
            Convert.ToInt64(Get("seed")));
    }

    /// <summary>The keys a pretrained base model depends on (but the evaluation-only ones): the base is
    /// shared by every run that agrees on them.</summary>
    public static readonly string[] BasePrefixes = ["model.", "data.", "pretrain.", "seed"];

    /// <summary>Keys that only evaluation reads: runs that differ only in these share one base and one
    /// fine-tuned model, so changing them (or re-evaluating) never retrains.</summary>
    public static readonly string[] EvalOnlyKeys = ["eval.text_batches", "eval.task_samples", "eval.max_answer_tokens", "eval.collapse_share",
        "data.multiple_choice"];

    /// <summary>The base's part of a configuration, as stored in `bases.config_json`.</summary>
    public static SortedDictionary<string, object> BasePart(IReadOnlyDictionary<string, object> flat) =>
        new(flat.Where(kv => BasePrefixes.Any(p => kv.Key.StartsWith(p, StringComparison.Ordinal)) && !EvalOnlyKeys.Contains(kv.Key))
            .ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal);

    /// <summary>Every key but the evaluation-only ones: what a fine-tuned model depends on.</summary>
    public static string FinetuneJson(IReadOnlyDictionary<string, object> flat) =>
        ConfigValues.CanonicalJson(flat.Where(kv => !EvalOnlyKeys.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value));
}
