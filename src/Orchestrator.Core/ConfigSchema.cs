using System.Globalization;

namespace Orchestrator.Core;

public enum ParamType { Int, Float, Bool, Enum, String, StringList }

/// <summary>One configuration key: its type, default, allowed range and, for a router's own
/// parameters, the router it belongs to. The single home of every default in the project.</summary>
public sealed record ParamDef(
    string Key, ParamType Type, object Default, string Doc,
    double? Min = null, double? Max = null, bool MinExclusive = false,
    string[]? Allowed = null, string? Router = null, string? Pattern = null, string? PatternDoc = null)
{
    /// <summary>A key added after runs were stored: left out of a run's identity while it has its default, so
    /// that adding it changed no stored run's hash.</summary>
    public bool OmittedAtDefault { get; init; }

    public string Expected => PatternDoc ?? Type switch
    {
        ParamType.Int => "an integer" + RangeText(),
        ParamType.Float => "a number" + RangeText(),
        ParamType.Bool => "true or false",
        ParamType.Enum => "one of " + string.Join(", ", Allowed!),
        ParamType.StringList => "a string or a list of strings",
        _ => "a string",
    };

    string RangeText()
    {
        if (Min is null && Max is null) return "";
        var open = MinExclusive ? "(" : "[";
        var above = MinExclusive ? ">" : "≥";
        if (Min is not null && Max is not null) return $" in {open}{Fmt(Min.Value)}, {Fmt(Max.Value)}]";
        if (Min is not null) return $" {above} {Fmt(Min.Value)}";
        return $" ≤ {Fmt(Max!.Value)}";
    }

    static string Fmt(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>The run configuration's keys. Router parameters are conditional: `router.p` exists only
/// when `router.type` is top_p, and so on. Defaults follow ../shared/design/routers.md.</summary>
public static class ConfigSchema
{
    public static string[] Routers => RouterCatalog.Names;
    public static readonly string[] Curricula = ["none", "easy_to_hard", "adaptive_gating"];
    public static readonly string[] Tasks = ["addition", "arithmetic", "reverse", "sort", "brackets"];

    static ParamDef I(string k, long d, string doc, double? min = null, double? max = null) => Param.Int(k, d, doc,
        min, max);
    static ParamDef F(string k, double d, string doc, double? min = null, double? max = null, bool minEx = false) =>
        Param.Float(k, d, doc, min, max, minEx);
    static ParamDef E(string k, string d, string[] allowed, string doc) => Param.Enum(k, d, allowed, doc);
    static ParamDef S(string k, string d, string doc) => new(k, ParamType.String, d, doc);

    /// <summary>Every key: the run's own (below) and each registered router's knobs.</summary>
    public static IReadOnlyList<ParamDef> All => Current.All;

    static (int version, IReadOnlyList<ParamDef> All, Dictionary<string, List<ParamDef>> ByKey) cache = (-1, [], []);

    static (int version, IReadOnlyList<ParamDef> All, Dictionary<string, List<ParamDef>> ByKey) Current
    {
        get
        {
            var c = cache;
            if (c.version == RouterCatalog.Version) return c;
            var routers = RouterCatalog.All;
            // The keys in the order they are documented: model, router (type, shared keys, each router's knobs), the
            // rest.
            var all = Common.Take(RouterKeysAt).Append(E("router.type", RouterCatalog.Baseline, RouterCatalog.Names,
                "routing rule"))
                .Concat(Common.Skip(RouterKeysAt).Take(SharedRouterKeys.Length))
                .Concat(routers.SelectMany(r => r.Knobs))
                .Concat(Common.Skip(RouterKeysAt + SharedRouterKeys.Length)).ToList();
            cache = c = (RouterCatalog.Version, all, all.GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.ToList()));
            return c;
        }
    }

    /// <summary>Where router.type sits among the common keys: after the model's twelve.</summary>
    const int RouterKeysAt = 12;

    /// <summary>The router keys every router has (after router.type, before each router's own knobs).</summary>
    public static readonly string[] SharedRouterKeys = ["balance_coef", "z_loss_coef", "balance", "bias_rate",
        "target_experts", "budget_rate", "budget_calibration"];

    static readonly IReadOnlyList<ParamDef> Common =
    [
        // --- model: a Mixtral-style decoder-only MoE transformer
        I("model.layers", 4, "decoder layers", 1, 64),
        I("model.d_model", 128, "hidden size", 8, 16384),
        I("model.heads", 4, "attention heads (d_model must be divisible)", 1, 256),
        I("model.experts", 8, "routed experts per MoE layer (N)", 1, 256),
        I("model.expert_hidden", 256, "SwiGLU hidden size of each expert", 1, 65536),
        I("model.shared_experts", 0, "always-on shared experts per MoE layer", 0, 16),
        E("model.moe_layers", "all", ["all", "every_other"], "which layers are MoE (the others are dense SwiGLU)"),
        I("model.vocab_size", 512, "tokenizer vocabulary (byte-level BPE, trained on the corpus)", 260, 65536),
        I("model.context", 64, "context length in tokens", 8, 8192),
        F("model.rope_theta", 10000, "rotary embedding base", 1),
        E("model.dtype", "float32", ["float32", "bfloat16"], "weights and activations: float32, or bfloat16 " +
            "(for GPU runs: half the memory, tensor cores; losses and routing probabilities stay float32)") with
        {
            OmittedAtDefault = true,
        },
        Param.String("model.source", "native", "native: pretrained here; hf:<folder>: a Hugging Face checkpoint " +
            "(config.json, safetensors, tokenizer.json) loaded and verified instead of pretrained — its " +
            "config.json gives the model's shape", @"^(native|hf:.+)$", "native or hf:<folder>") with
        {
            OmittedAtDefault = true,
        },

        // --- router (used for fine-tuning and evaluation; pretraining uses top_k with pretrain.k); each router's
        // own knobs are declared in its file under src/Orchestrator.Moe/Routing/
        F("router.balance_coef", 0.01, "Switch balance loss coefficient α (each router's own f_i)", 0),
        F("router.z_loss_coef", 0.0, "router z-loss coefficient (0.001 is common)", 0),
        E("router.balance", "loss", ["loss", "bias"], "load balancing: the Switch loss (α = balance_coef), or " +
            "auxiliary-loss-free per-expert selection biases (Wang et al. 2024; DeepSeek-V3)") with
        {
            OmittedAtDefault = true,
        },
        F("router.bias_rate", 0.001, "balance: bias — u in b_i += u·sign(mean load − load_i) after each step", 0,
            minEx: true) with
        {
            OmittedAtDefault = true,
        },
        F("router.target_experts", 0.0, "a compute budget: mean real experts per token held at this value by a " +
            "controller on the router's own threshold (top_p: p, adaptive_gating: T, null_experts: the null " +
            "logits, relu: its L1 target); 0: off", 0) with
        {
            OmittedAtDefault = true,
        },
        F("router.budget_rate", 0.01, "target_experts: the controller's step, β += rate·sign(target − mean) per " +
            "training step", 0, minEx: true) with
        {
            OmittedAtDefault = true,
        },
        I("router.budget_calibration", 0, "target_experts: after fine-tuning, rounds of bisection of each layer's " +
            "β on held-out validation text, so that the budget holds on text rather than on the training mix; " +
            "0: off", 0, 200) with
        {
            OmittedAtDefault = true,
        },

        // --- data
        S("data.corpus", "fortunes",
            "'fortunes' (Debian package) or a path to a .txt file, a .jsonl file or a folder of .txt"),
        F("data.valid_fraction", 0.05, "held-out share for validation", 0, 0.5, minEx: true),
        F("data.test_fraction", 0.05, "held-out share for test", 0, 0.5, minEx: true),
        S("data.tasks", "addition,arithmetic,reverse,sort,brackets", "comma-separated task suites"),
        I("data.max_difficulty", 4, "difficulty levels 1..n of each task", 1, 12),
        F("data.task_mix", 0.3, "share of pretraining sequences drawn from the tasks", 0, 1),
        E("data.difficulty_mix", "uniform", ["uniform", "harmonic"],
            "how training draws task difficulty: uniformly, or with P(d) ∝ 1/d (more easy items)") with
        {
            OmittedAtDefault = true,
        },
        S("data.multiple_choice", "", "optional JSONL of {question, choices, answer} scored by log-likelihood"),

        // --- pretraining: language modelling on the corpus mixed with tasks, top_k router
        I("pretrain.steps", 300, "optimizer steps", 0, 10_000_000),
        I("pretrain.batch_size", 16, "sequences per step", 1, 65536),
        F("pretrain.lr", 3e-3, "peak AdamW learning rate", 0, minEx: true),
        I("pretrain.warmup", 30, "linear warm-up steps, then cosine decay", 0),
        F("pretrain.weight_decay", 0.1, "AdamW weight decay", 0),
        F("pretrain.grad_clip", 1.0, "gradient-norm clip (0: off)", 0),
        I("pretrain.k", 2, "top-k of the base model's router", 1, 256),
        I("pretrain.seed", -1, "seed of the base's pretraining (-1: the run's seed; a fixed value shares one base " +
            "across the sweep's seeds, which then replicate fine-tuning and evaluation)", -1, int.MaxValue) with
        {
            OmittedAtDefault = true,
        },
        I("pretrain.eval_every", 100, "evaluate validation loss every N steps (0: only at the end)", 0),

        // --- fine-tuning: task data with the run's router
        I("finetune.steps", 100, "optimizer steps (0: evaluate the converted base model directly)", 0, 10_000_000),
        I("finetune.batch_size", 16, "sequences per step", 1, 65536),
        F("finetune.lr", 1e-3, "peak AdamW learning rate", 0, minEx: true),
        I("finetune.warmup", 10, "warm-up steps", 0),
        F("finetune.weight_decay", 0.0, "AdamW weight decay", 0),
        F("finetune.grad_clip", 1.0, "gradient-norm clip (0: off)", 0),
        E("finetune.mode", "full", ["full", "router_only", "lora"], "which parameters train"),
        I("finetune.lora_rank", 8, "LoRA rank (mode lora)", 1, 1024),
        F("finetune.text_mix", 0.5, "share of fine-tuning sequences from the corpus", 0, 1),
        E("finetune.curriculum", "none", Curricula, "sample order"),
        E("finetune.pacing", "linear", ["linear", "root"], "easy_to_hard pacing function"),
        I("finetune.curriculum_pool", 256,
            "task samples in the adaptive_gating curriculum's pool (one epoch = one pass)", 8, 1_000_000),
        I("finetune.eval_every", 50, "evaluate every N steps (0: only at the end)", 0),

        // --- evaluation
        I("eval.text_batches", 8, "held-out text batches for loss and perplexity", 1),
        I("eval.task_samples", 12, "task samples per task and difficulty", 0),
        I("eval.max_answer_tokens", 16, "greedy decoding limit", 1, 1024),
        F("eval.target_loss", 0.0, "time-to-target-loss measure (0: off)", 0),
        F("eval.collapse_share", 0.9, "warn when one expert takes more than this share of tokens", 0, 1),

        // --- where and with what
        S("device", "cpu", "cpu, cuda or cuda:N"),
        I("threads", 0, "intra-op threads per worker (0: cores / jobs)", 0, 1024),
        I("seed", 0, "random seed", 0, int.MaxValue),
    ];

    static Dictionary<string, List<ParamDef>> ByKey => Current.ByKey;

    public static bool IsKey(string key) => ByKey.ContainsKey(key);

    public static IEnumerable<string> Keys => ByKey.Keys;

    /// <summary>The definition of a key under the given router type; null if the key does not apply.</summary>
    public static ParamDef? Find(string key, string routerType)
    {
        if (!ByKey.TryGetValue(key, out var defs)) return null;
        return defs.FirstOrDefault(d => d.Router == null || d.Router == routerType);
    }

    /// <summary>Router types that have this conditional key.</summary>
    public static string[] RoutersWith(string key) =>
        ByKey.TryGetValue(key, out var defs) ? defs.Where(d => d.Router != null).Select(d => d.Router!).ToArray() : [];

    /// <summary>The router's own parameter names (without the `router.` prefix), e.g. top_p → p, normalize,
    /// ….</summary>
    public static string[] RouterKnobs(string routerType) =>
        All.Where(d => d.Router == routerType).Select(d => d.Key["router.".Length..]).ToArray();

    /// <summary>All defaults for the given router type, as a flat dotted map.</summary>
    public static SortedDictionary<string, object> Defaults(string routerType)
    {
        var map = new SortedDictionary<string, object>(StringComparer.Ordinal);
        foreach (var d in All)
            if (d.Router == null || d.Router == routerType) map[d.Key] = d.Default;
        map["router.type"] = routerType;
        return map;
    }

    /// <summary>Closest known key, for did-you-mean.</summary>
    public static string? Suggest(string key, IEnumerable<string>? candidates = null)
    {
        // Ties broken by the longer common prefix, then by the nearer character where they part (top_q → top_p).
        var best = (candidates ?? Keys).Select(k => (k, d: Levenshtein(k, key)))
            .OrderBy(t => t.d).ThenByDescending(t => CommonPrefix(t.k, key)).ThenBy(t => Parting(t.k,
                key)).FirstOrDefault();
        if (best.k == null) return null;
        if (best.d <= Math.Max(2, key.Length / 3)) return best.k;
        // A shortened name (gpus → gpus_per_job): the one candidate that extends it.
        var extended = (candidates ?? Keys).Where(k => k.StartsWith(key + "_", StringComparison.Ordinal)).ToList();
        return extended.Count == 1 ? extended[0] : null;
    }

    static int CommonPrefix(string a, string b)
    {
        int i = 0;
        while (i < a.Length && i < b.Length && a[i] == b[i]) i++;
        return i;
    }

    static int Parting(string a, string b)
    {
        int i = CommonPrefix(a, b);
        return i < a.Length && i < b.Length ? Math.Abs(a[i] - b[i]) : int.MaxValue;
    }

    public static int Levenshtein(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1,
                    j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }
}

/// <summary>Shorthands for declaring keys (the schema's own and routers' knobs).</summary>
public static class Param
{
    public static ParamDef Int(string key, long d, string doc, double? min = null, double? max = null) =>
        new(key, ParamType.Int, d, doc, min, max);

    public static ParamDef Float(string key, double d, string doc, double? min = null, double? max = null,
        bool minEx = false) =>
        new(key, ParamType.Float, d, doc, min, max, minEx);

    public static ParamDef Bool(string key, bool d, string doc) => new(key, ParamType.Bool, d, doc);

    public static ParamDef Enum(string key, string d, string[] allowed, string doc) =>
        new(key, ParamType.Enum, d, doc, Allowed: allowed);

    public static ParamDef String(string key, string d, string doc, string? pattern = null,
        string? patternDoc = null) =>
        new(key, ParamType.String, d, doc, Pattern: pattern, PatternDoc: patternDoc);
}
