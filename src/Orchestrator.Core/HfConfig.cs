using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Core;

/// <summary>A checkpoint folder's config.json that cannot be loaded as it is: the file, the field and why.</summary>
public sealed class HfConfigException(string message) : Exception(message);

/// <summary>A Hugging Face MoE checkpoint's config.json, read into the model it describes. Three architectures
/// (model_type): mixtral (Mixtral-8x7B and its layout), qwen2_moe (Qwen1.5-MoE, Qwen2-MoE: shared expert with a
/// sigmoid gate, dense layers, q/k/v biases) and olmoe (q/k RMSNorm). Every field that changes the forward pass is
/// read or, where the model does not implement it, refused by name: nothing is approximated silently.</summary>
public sealed record HfConfig(string Folder, string ModelType, ModelConfig Model, int TopK, bool NormalizeTopK,
    JsonObject Raw)
{
    public const string Prefix = "hf:";
    public static readonly string[] Architectures = ["mixtral", "qwen2_moe", "olmoe"];

    /// <summary>The folder of a model.source "hf:&lt;folder&gt;" (relative paths from the repository root).</summary>
    public static string FolderOf(string source) =>
        Path.GetFullPath(source[Prefix.Length..], Paths.RepoRoot);

    /// <summary>How reports and findings name a run's model beside its router: "" for a model pretrained here, else
    /// " on &lt;folder name&gt;" — runs on two checkpoints are two configurations, never seeds of one.</summary>
    public static string Label(string source) => source.StartsWith(Prefix, StringComparison.Ordinal)
        ? " on " + Path.GetFileName(source[Prefix.Length..].TrimEnd('/')) : "";

    /// <summary>The router the checkpoint was trained with: top-k with its k and normalisation.</summary>
    public RouterConfig Router => RouterConfig.Of(RouterCatalog.Baseline, ("k", (long)TopK),
        ("normalize", NormalizeTopK));

    /// <summary>Reads folder/config.json. context: the training window (≤ max_position_embeddings); dtype: the
    /// weights' dtype in memory (float32 or bfloat16, whatever the files hold).</summary>
    public static HfConfig Read(string folder, int context, string dtype)
    {
        var path = Path.Combine(folder, "config.json");
        if (!Directory.Exists(folder)) throw new HfConfigException($"checkpoint folder {folder} does not exist");
        if (!File.Exists(path)) throw new HfConfigException($"{path} is missing (a Hugging Face checkpoint folder " +
            "holds config.json, model.safetensors or model.safetensors.index.json with its shards, tokenizer.json)");
        JsonObject json;
        try
        {
            json = JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                ?? throw new HfConfigException($"{path}: not a JSON object");
        }
        catch (JsonException e)
        {
            throw new HfConfigException($"{path}: not valid JSON ({e.Message})");
        }
        return From(json, path, folder, context, dtype);
    }

    static HfConfig From(JsonObject j, string path, string folder, int context, string dtype)
    {
        HfConfigException Bad(string field, string why) => new($"{path}: {field} {why}");
        // A field's value, null when absent or JSON null; a value of the wrong kind is an error naming it.
        JsonNode? Node(string field) => j[field] is { } n && n.GetValueKind() != JsonValueKind.Null ? n : null;
        T Typed<T>(string field, JsonValueKind[] kinds, string expected, Func<JsonNode, T> read) =>
            kinds.Contains(Node(field)!.GetValueKind()) ? read(Node(field)!)
                : throw Bad(field, $"is {Node(field)!.ToJsonString()}, expected {expected}");
        double? Num(string field) => Node(field) is null ? null
            : Typed(field, [JsonValueKind.Number], "a number", n => n.GetValue<double>());
        bool? Flag(string field) => Node(field) is null ? null
            : Typed(field, [JsonValueKind.True, JsonValueKind.False], "true or false", n => n.GetValue<bool>());
        string? Str(string field) => Node(field) is null ? null
            : Typed(field, [JsonValueKind.String], "a string", n => n.GetValue<string>());
        int Int(string field) => Num(field) is { } v ? (int)v : throw Bad(field, "is missing");

        var type = Str("model_type") ?? throw Bad("model_type", "is missing");
        if (!Architectures.Contains(type))
            throw Bad("model_type", $"is \"{type}\": not supported (supported: {string.Join(", ", Architectures)})");
        if (Str("hidden_act") is { } act && act != "silu")
            throw Bad("hidden_act", $"is \"{act}\": only silu (SwiGLU experts) is supported");
        if (Node("rope_scaling") is { } scaling)
            throw Bad("rope_scaling", $"is {scaling.ToJsonString()}: only unscaled rotary embeddings are supported");
        foreach (var field in new[] { "attention_dropout", "router_jitter_noise", "hidden_dropout" })
            if (Num(field) is { } p and not 0) throw Bad(field, $"is {p}: only 0 is supported");
        if (type == "olmoe" && Node("clip_qkv") is { } clip)
            throw Bad("clip_qkv", $"is {clip.ToJsonString()}: clipping q/k/v is not supported (null only)");
        if (type == "qwen2_moe" && Flag("use_sliding_window") == true)
            throw Bad("use_sliding_window", "is true: sliding-window attention is not supported");

        int d = Int("hidden_size"), heads = Int("num_attention_heads"), layers = Int("num_hidden_layers");
        int kv = Num("num_key_value_heads") is { } kvHeads ? (int)kvHeads : heads;
        if (d % heads != 0) throw Bad("hidden_size", $"{d} is not divisible by num_attention_heads {heads}");
        if (heads % kv != 0) throw Bad("num_key_value_heads", $"{kv} does not divide num_attention_heads {heads}");
        if (Num("head_dim") is { } hd && hd != d / heads)
            throw Bad("head_dim", $"is {Int("head_dim")}: only hidden_size / num_attention_heads ({d / heads}) " +
                "is supported");
        int maxPos = Int("max_position_embeddings");
        if (context > maxPos) throw Bad("max_position_embeddings", $"is {maxPos}: shorter than model.context " +
            $"{context}");
        if (type == "mixtral" && Num("sliding_window") is { } window && window < context)
            throw Bad("sliding_window", $"is {window}: shorter than model.context {context} (sliding-window " +
                "attention is not supported)");

        int experts = type == "mixtral" ? Int("num_local_experts") : Int("num_experts");
        int topK = Int("num_experts_per_tok");
        int expertHidden = type == "qwen2_moe" ? Int("moe_intermediate_size") : Int("intermediate_size");
        bool normalize = type == "mixtral" || (Flag("norm_topk_prob") ?? false);
        var moeLayers = "all";
        int shared = 0, sharedHidden = 0;
        if (type == "qwen2_moe")
        {
            int step = (int)(Num("decoder_sparse_step") ?? 1);
            var dense = (Node("mlp_only_layers") as JsonArray)?.Select(n => n!.GetValue<int>()).ToHashSet() ?? [];
            var moe = Enumerable.Range(0, layers).Where(i => !dense.Contains(i) && (i + 1) % step == 0).ToList();
            if (moe.Count < layers)
                moeLayers = string.Join(",", moe.Select(i => i.ToString(CultureInfo.InvariantCulture)));
            if (moe.Count == 0) throw Bad("mlp_only_layers", "leaves no MoE layer");
            sharedHidden = (int)(Num("shared_expert_intermediate_size") ?? 0);
            shared = sharedHidden > 0 ? 1 : 0;
        }
        var model = new ModelConfig(layers, d, heads, experts, expertHidden, shared, moeLayers, Int("vocab_size"),
            context, Num("rope_theta") ?? 10000, dtype)
        {
            Architecture = type,
            KvHeads = kv,
            RmsNormEps = Num("rms_norm_eps") ?? 1e-6,
            AttentionBias = type switch
            {
                "qwen2_moe" => Flag("qkv_bias") ?? true,
                "olmoe" => Flag("attention_bias") ?? false,
                _ => false,
            },
            QkNorm = type == "olmoe",
            SharedExpertHidden = sharedHidden,
            SharedExpertGate = shared > 0,
            DenseHidden = moeLayers == "all" ? 0 : Int("intermediate_size"),
            TieEmbeddings = Flag("tie_word_embeddings") ?? false,     // each architecture's config defaults to false
        };
        if (topK > experts) throw Bad("num_experts_per_tok", $"{topK} exceeds the experts ({experts})");
        return new HfConfig(folder, type, model, topK, normalize, j);
    }
}
