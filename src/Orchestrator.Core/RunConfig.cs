namespace Orchestrator.Core;

public sealed record ModelConfig(int Layers, int DModel, int Heads, int Experts, int ExpertHidden, int SharedExperts,
    string MoeLayers, int VocabSize, int Context, double RopeTheta, string DType = "float32")
{
    public bool BFloat16 => DType == "bfloat16";

    /// <summary>"all", "every_other" (odd layers), or the MoE layers' indices ("0,2,3": a loaded checkpoint's).
    /// </summary>
    public bool IsMoeLayer(int layer) => MoeLayers switch
    {
        "all" => true,
        "every_other" => layer % 2 == 1,
        _ => MoeLayers.Split(',').Contains(layer.ToString(System.Globalization.CultureInfo.InvariantCulture)),
    };

    // What a Hugging Face checkpoint's config.json can set beyond the native model (HfConfig reads them); the
    // defaults are the native model's.
    /// <summary>model.source: "native" (pretrained here) or "hf:&lt;folder&gt;" (a Hugging Face checkpoint).</summary>
    public string Source { get; init; } = "native";
    public bool Pretrained => Source.StartsWith(HfConfig.Prefix, StringComparison.Ordinal);
    /// <summary>The checkpoint's architecture (config.json's model_type), or "native".</summary>
    public string Architecture { get; init; } = "native";
    /// <summary>Key/value heads of grouped-query attention; 0: as many as query heads.</summary>
    public int KvHeads { get; init; }
    public double RmsNormEps { get; init; } = 1e-6;
    /// <summary>Biases on the query, key and value projections (Qwen2-MoE).</summary>
    public bool AttentionBias { get; init; }
    /// <summary>RMSNorm on the projected queries and keys (OLMoE).</summary>
    public bool QkNorm { get; init; }
    /// <summary>Hidden size of the shared experts; 0: expert_hidden.</summary>
    public int SharedExpertHidden { get; init; }
    /// <summary>The shared experts' output scaled by sigmoid(h·w) (Qwen2-MoE's shared_expert_gate).</summary>
    public bool SharedExpertGate { get; init; }
    /// <summary>Hidden size of the dense SwiGLU in non-MoE layers; 0: expert_hidden.</summary>
    public int DenseHidden { get; init; }
    /// <summary>The LM head is the embedding matrix (tie_word_embeddings).</summary>
    public bool TieEmbeddings { get; init; }

    public int KeyValueHeads => KvHeads > 0 ? KvHeads : Heads;
    public int SharedHidden => SharedExpertHidden > 0 ? SharedExpertHidden : ExpertHidden;
    public int DenseFfnHidden => DenseHidden > 0 ? DenseHidden : ExpertHidden;
}

/// <summary>A router's settings: its type and its knobs (bare names: "p", "k", "balance_coef", …), every one
/// present — those not given take their defaults from the router's definition. Each router reads the knobs
/// it declares, typed, in its constructor.</summary>
public sealed class RouterConfig
{
    public string Type { get; }
    public IReadOnlyDictionary<string, object> Knobs { get; }

    public RouterConfig(string type, IReadOnlyDictionary<string, object> knobs)
    {
        Type = type;
        var defaults = ConfigSchema.Defaults(type).Where(kv => kv.Key.StartsWith("router.", StringComparison.Ordinal)
                                                             && kv.Key != "router.type")
            .ToDictionary(kv => kv.Key["router.".Length..], kv => kv.Value);
        foreach (var (k, v) in knobs)
        {
            if (!defaults.ContainsKey(k))
                throw new ArgumentException($"router {type} has no knob '{k}' (known: " +
                    $"{string.Join(", ", defaults.Keys.Order())})");
            defaults[k] = v;
        }
        Knobs = defaults;
    }

    /// <summary>RouterConfig.Of("top_p", ("p", 0.4), ("normalize", true)).</summary>
    public static RouterConfig Of(string type, params (string Knob, object Value)[] knobs) =>
        new(type, knobs.ToDictionary(k => k.Knob, k => k.Value));

    /// <summary>The top-k router pretraining uses (α = 0.01, no z-loss).</summary>
    public static RouterConfig TopK(int k) => Of(RouterCatalog.Baseline, ("k", (long)k));

    public int Int(string knob) => (int)Convert.ToInt64(Knobs[knob]);
    public double Double(string knob) => Convert.ToDouble(Knobs[knob]);
    public bool Bool(string knob) => (bool)Knobs[knob];
    public string String(string knob) => (string)Knobs[knob];

    /// <summary>α of the Switch balance loss; 0 under auxiliary-loss-free balancing (balance: bias).</summary>
    public double BalanceCoef => BiasBalancing ? 0 : Double("balance_coef");
    /// <summary>balance: bias — per-expert selection biases instead of the balance loss (Moe/Routing/Router.cs).
    /// </summary>
    public bool BiasBalancing => String("balance") == "bias";
    public double BiasRate => Double("bias_rate");
    /// <summary>The compute budget (mean real experts per token) a controller holds; 0: none.</summary>
    public double TargetExperts => Double("target_experts");
    public double BudgetRate => Double("budget_rate");
    /// <summary>Rounds of budget calibration on validation text after fine-tuning; 0: none.</summary>
    public int BudgetCalibration => Knobs.TryGetValue("budget_calibration", out var v) ? Convert.ToInt32(v) : 0;
    public double ZLossCoef => Double("z_loss_coef");
    public RouterDefinition Definition => RouterCatalog.Get(Type);

    /// <summary>The router's own parameters as JSON, e.g. {"p":0.4} — the `knobs` column.</summary>
    public static string KnobsJson(IReadOnlyDictionary<string, object> flat)
    {
        var type = (string)flat["router.type"];
        // Options added to a router later (MoE++'s copies, constants, gating_residual) are left out at their
        // defaults, as they are from the run identity, so that knobs of runs stored before them are unchanged.
        bool AtOmittedDefault(string k) => ConfigSchema.Find("router." + k, type) is { OmittedAtDefault: true } d
            && ConfigValues.Format(d.Default) == ConfigValues.Format(flat["router." + k]);
        var knobs = ConfigSchema.RouterKnobs(type).Distinct()
            .Where(k => flat.ContainsKey("router." + k) && !AtOmittedDefault(k))
            .ToDictionary(k => k, k => flat["router." + k]);
        // Bias balancing changes how a router selects: named in its knobs when on (absent at the default, so the
        // knobs of every run stored before it are unchanged).
        if (flat.TryGetValue("router.balance", out var b) && (string)b == "bias")
        {
            knobs["balance"] = b;
            knobs["bias_rate"] = flat["router.bias_rate"];
        }
        // So is a compute budget: a budgeted and an unbudgeted run of one rule are two configurations.
        if (flat.TryGetValue("router.target_experts", out var target) && Convert.ToDouble(target) > 0)
        {
            knobs["target_experts"] = target;
            knobs["budget_rate"] = flat["router.budget_rate"];
            if (flat.TryGetValue("router.budget_calibration", out var rounds) && Convert.ToInt64(rounds) > 0)
                knobs["budget_calibration"] = rounds;
        }
        return ConfigValues.CanonicalJson(knobs);
    }
}

public sealed record TrainConfig(int Steps, int BatchSize, double Lr, int Warmup, double WeightDecay, double GradClip,
    int EvalEvery);

public sealed record DataConfig(string Corpus, double ValidFraction, double TestFraction, string[] Tasks,
    int MaxDifficulty,
    double TaskMix, string MultipleChoice, string DifficultyMix = "uniform");

public sealed record FinetuneConfig(TrainConfig Train, string Mode, int LoraRank, double TextMix, string Curriculum,
    string Pacing, int CurriculumPool);

public sealed record EvalConfig(int TextBatches, int TaskSamples, int MaxAnswerTokens, double TargetLoss,
    double CollapseShare);

/// <summary>The typed view of a canonical run configuration.</summary>
public sealed record RunConfig(ModelConfig Model, RouterConfig Router, DataConfig Data, TrainConfig Pretrain,
    int PretrainK,
    FinetuneConfig Finetune, EvalConfig Eval, string Device, int Threads, long Seed, long PretrainSeed)
{
    public static RunConfig From(IReadOnlyDictionary<string, object> f)
    {
        var type = (string)f.GetValueOrDefault("router.type", RouterCatalog.Baseline);
        var defaults = ConfigSchema.Defaults(type);
        object Get(string k) => f.TryGetValue(k, out var v) ? v : defaults[k];
        int I(string k) => (int)Convert.ToInt64(Get(k));
        double D(string k) => Convert.ToDouble(Get(k));
        string S(string k) => (string)Get(k);

        var source = S("model.source");
        var model = source.StartsWith(HfConfig.Prefix, StringComparison.Ordinal)
            ? HfConfig.Read(HfConfig.FolderOf(source), I("model.context"), S("model.dtype")).Model with
            {
                Source = source,
            }
            : new ModelConfig(I("model.layers"), I("model.d_model"), I("model.heads"), I("model.experts"),
                I("model.expert_hidden"), I("model.shared_experts"), S("model.moe_layers"), I("model.vocab_size"),
                I("model.context"), D("model.rope_theta"), S("model.dtype"));
        var router = new RouterConfig(type, defaults.Keys
            .Where(k => k.StartsWith("router.", StringComparison.Ordinal) && k != "router.type")
            .ToDictionary(k => k["router.".Length..], Get));
        TrainConfig Train(string p) => new(I(p + ".steps"), I(p + ".batch_size"), D(p + ".lr"), I(p + ".warmup"),
            D(p + ".weight_decay"), D(p + ".grad_clip"), I(p + ".eval_every"));
        var data = new DataConfig(S("data.corpus"), D("data.valid_fraction"), D("data.test_fraction"),
            S("data.tasks").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            I("data.max_difficulty"), D("data.task_mix"), S("data.multiple_choice"), S("data.difficulty_mix"));
        var ft = new FinetuneConfig(Train("finetune"), S("finetune.mode"), I("finetune.lora_rank"),
            D("finetune.text_mix"), S("finetune.curriculum"), S("finetune.pacing"), I("finetune.curriculum_pool"));
        var eval = new EvalConfig(I("eval.text_batches"), I("eval.task_samples"), I("eval.max_answer_tokens"),
            D("eval.target_loss"), D("eval.collapse_share"));
        return new RunConfig(model, router, data, Train("pretrain"), I("pretrain.k"), ft, eval, S("device"),
            I("threads"), Convert.ToInt64(Get("seed")),
            Convert.ToInt64(Get("pretrain.seed")) is >= 0 and var fixedSeed ? fixedSeed : Convert.ToInt64(Get("seed")));
    }

    /// <summary>The keys a pretrained base model depends on (but the evaluation-only ones): the base is
    /// shared by every run that agrees on them.</summary>
    public static readonly string[] BasePrefixes = ["model.", "data.", "pretrain.", "seed"];

    /// <summary>Keys that only evaluation reads: runs that differ only in these share one base and one
    /// fine-tuned model, so changing them (or re-evaluating) never retrains.</summary>
    public static readonly string[] EvalOnlyKeys = ["eval.text_batches", "eval.task_samples", "eval.max_answer_tokens",
        "eval.collapse_share",
        "data.multiple_choice"];

    /// <summary>The base's part of a configuration, as stored in `bases.config_json`. With a fixed
    /// `pretrain.seed` the run's seed is not part of it: every seed of the sweep shares one base.</summary>
    public static SortedDictionary<string, object> BasePart(IReadOnlyDictionary<string, object> flat)
    {
        bool fixedSeed = flat.TryGetValue("pretrain.seed", out var ps) && Convert.ToInt64(ps) >= 0;
        return new(flat.Where(kv => BasePrefixes.Any(p => kv.Key.StartsWith(p,
                StringComparison.Ordinal)) && !EvalOnlyKeys.Contains(kv.Key) && !(fixedSeed && kv.Key == "seed"))
            .ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal);
    }

    /// <summary>Every key but the evaluation-only ones: what a fine-tuned model depends on.</summary>
    public static string FinetuneJson(IReadOnlyDictionary<string, object> flat) =>
        ConfigValues.CanonicalJson(flat.Where(kv => !EvalOnlyKeys.Contains(kv.Key)).ToDictionary(kv => kv.Key,
            kv => kv.Value));
}
