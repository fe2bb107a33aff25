using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace Orchestrator.Moe.Checkpoint;

public static partial class HfCheckpoint
{
    /// <summary>Files above this size are split into shards with an index, as transformers' save_pretrained does.
    /// </summary>
    public const long ShardBytes = 4L << 30;

    [GeneratedRegex(@"^(.+\.self_attn)\.([qv])_proj\.weight$")]
    private static partial Regex AdaptedProjection();

    /// <summary>Writes the model as a Hugging Face folder: safetensors in the model's dtype (LoRA adapters merged
    /// into W_q and W_v: W + (α/r)·B·A), config.json — the loaded checkpoint's own (`source`), or a Mixtral
    /// one for a model pretrained here — with the router under "orchestrator_router", and tokenizer.json when
    /// given.
    /// Returns the files written.</summary>
    public static IReadOnlyList<string> Export(MoeTransformer model, string folder, JsonObject? source,
        string? tokenizerJson)
    {
        Directory.CreateDirectory(folder);
        var c = model.Config;
        var config = source?.DeepClone().AsObject() ?? MixtralConfig(model);
        config["torch_dtype"] = c.DType;
        var router = new JsonObject { ["type"] = model.RouterConfig.Type };
        foreach (var (k, v) in model.RouterConfig.Knobs.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            router[k] = v switch
            {
                bool b => b, string s => s, double d => d, float f => (double)f,
                _ => Convert.ToInt64(v, CultureInfo.InvariantCulture),
            };
        config[RouterField] = router;
        File.WriteAllText(Path.Combine(folder, "config.json"),
            config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        if (tokenizerJson is not null) File.Copy(tokenizerJson, Path.Combine(folder, "tokenizer.json"), true);

        using var scope = NewDisposeScope();
        var state = model.state_dict();
        var tensors = new List<(string Name, Tensor Tensor)>();
        var attention = model.modules().OfType<Module.Attention>().ToList();
        foreach (var (name, t) in state)
        {
            if (name.Contains("_lora_", StringComparison.Ordinal)) continue;
            var merged = t;
            var proj = AdaptedProjection().Match(name);
            if (proj.Success && state.TryGetValue($"{proj.Groups[1].Value}.{proj.Groups[2].Value}_lora_A.weight",
                    out var a))
            {
                var b = state[$"{proj.Groups[1].Value}.{proj.Groups[2].Value}_lora_B.weight"];
                double scale = attention.First(m => m.LoraScale > 0).LoraScale;
                merged = t.add(Scalars.Of(scale) * b.matmul(a), Scalars.One);          // W + (α/r)·B·A, (out, in)
            }
            tensors.Add((ToHf(c, name), merged));
        }
        return WriteShards(folder, tensors);
    }

    static IReadOnlyList<string> WriteShards(string folder, List<(string Name, Tensor Tensor)> tensors)
    {
        var shards = new List<List<(string Name, Tensor Tensor)>> { new() };
        long size = 0;
        foreach (var t in tensors)
        {
            long bytes = t.Tensor.NumberOfElements * t.Tensor.ElementSize;
            if (size > 0 && size + bytes > ShardBytes) { shards.Add([]); size = 0; }
            shards[^1].Add(t);
            size += bytes;
        }
        if (shards.Count == 1)
        {
            var path = Path.Combine(folder, "model.safetensors");
            SafeTensorsFile.Write(path, shards[0]);
            return [path];
        }
        var files = new List<string>();
        var map = new JsonObject();
        for (int i = 0; i < shards.Count; i++)
        {
            var file = $"model-{i + 1:00000}-of-{shards.Count:00000}.safetensors";
            SafeTensorsFile.Write(Path.Combine(folder, file), shards[i]);
            foreach (var (name, _) in shards[i]) map[name] = file;
            files.Add(Path.Combine(folder, file));
        }
        File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"),
            new JsonObject { ["metadata"] = new JsonObject(), ["weight_map"] = map }.ToJsonString());
        return files;
    }

    /// <summary>config.json for a model pretrained here: Mixtral's fields (all-MoE layers, no shared experts).
    /// </summary>
    static JsonObject MixtralConfig(MoeTransformer model)
    {
        var c = model.Config;
        if (c.Architecture != "native" || !Enumerable.Range(0, c.Layers).All(c.IsMoeLayer) || c.SharedExperts > 0)
            throw new InvalidOperationException("only a model with every layer MoE and no shared experts can be " +
                $"written as Mixtral (this one: moe_layers {c.MoeLayers}, shared_experts {c.SharedExperts})");
        return new JsonObject
        {
            ["architectures"] = new JsonArray("MixtralForCausalLM"), ["model_type"] = "mixtral",
            ["vocab_size"] = c.VocabSize, ["hidden_size"] = c.DModel, ["intermediate_size"] = c.ExpertHidden,
            ["num_hidden_layers"] = c.Layers, ["num_attention_heads"] = c.Heads,
            ["num_key_value_heads"] = c.KeyValueHeads, ["num_local_experts"] = c.Experts,
            ["num_experts_per_tok"] = Math.Min(model.MoeBlocks[0].Router.MaxExpertsPerToken, c.Experts),
            ["max_position_embeddings"] = c.Context, ["rope_theta"] = c.RopeTheta, ["rms_norm_eps"] = c.RmsNormEps,
            ["hidden_act"] = "silu", ["tie_word_embeddings"] = false, ["sliding_window"] = null,
            ["rope_scaling"] = null, ["attention_dropout"] = 0.0,
        };
    }
}
