using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Moe.Checkpoint;

/// <summary>One file of a loaded checkpoint: its sha256 (provenance) and its stamp (size and modification time,
/// which say cheaply whether the file may have changed since).</summary>
public sealed record ShardDigest(string File, long Bytes, string Sha256, string Stamp)
{
    public static string StampOf(string path)
    {
        var info = new FileInfo(path);
        return FormattableString.Invariant($"{info.Length} {info.LastWriteTimeUtc.Ticks}");
    }
}

/// <summary>A Hugging Face checkpoint folder ↔ MoeTransformer. Loading reads config.json (HfConfig), then every
/// shard tensor by tensor, mapping each Hugging Face name to ours (Mixtral's per-expert names are ours; Qwen-MoE's
/// and OLMoE's gate/up/down_proj and the packed 3-D expert tensors are renamed or split) and copying it into the
/// model in the model's dtype: one tensor in flight at a time, never a second copy of a shard. Every model tensor
/// must be filled and every file tensor used, else the load fails naming them. Export writes the inverse: the
/// architecture's per-expert layout, config.json with the router under "orchestrator_router", tokenizer.json.
/// </summary>
public static partial class HfCheckpoint
{
    public const string RouterField = "orchestrator_router";
    const string Block = "block_sparse_moe.";

    [GeneratedRegex(@"^model\.layers\.(\d+)\.(block_sparse_moe|mlp)\.(.+)$")]
    private static partial Regex FfnName();

    /// <summary>The checkpoint's files: the shards an index names, or model.safetensors.</summary>
    public static IReadOnlyList<string> Files(string folder)
    {
        var index = Path.Combine(folder, "model.safetensors.index.json");
        if (File.Exists(index))
        {
            var map = JsonNode.Parse(File.ReadAllText(index))?["weight_map"] as JsonObject
                ?? throw new InvalidDataException($"{index} has no weight_map");
            return map.Select(kv => Path.Combine(folder, kv.Value!.GetValue<string>())).Distinct().Order().ToList();
        }
        var single = Path.Combine(folder, "model.safetensors");
        if (!File.Exists(single)) throw new FileNotFoundException($"{folder} holds neither model.safetensors nor " +
            "model.safetensors.index.json (with its shards)", single);
        return [single];
    }

    /// <summary>The router a folder's model was saved with: ours (export) if config.json names one, else the
    /// checkpoint's own top-k.</summary>
    public static RouterConfig SavedRouter(HfConfig hf)
    {
        if (hf.Raw[RouterField] is not JsonObject r) return hf.Router;
        var knobs = r.Where(kv => kv.Key != "type").ToDictionary(kv => kv.Key, kv => (object)(kv.Value!
            .GetValueKind() switch
            {
                JsonValueKind.True or JsonValueKind.False => kv.Value.GetValue<bool>(),
                JsonValueKind.String => kv.Value.GetValue<string>(),
                _ => kv.Value.AsValue().TryGetValue<long>(out var whole) ? whole : kv.Value.GetValue<double>(),
            }));
        return new RouterConfig(r["type"]!.GetValue<string>(), knobs);
    }

    /// <summary>Loads a checkpoint folder (its weights with the router they were saved with) onto `device`.
    /// Returns the model and each file's sha256.</summary>
    public static (MoeTransformer Model, IReadOnlyList<ShardDigest> Shards) Load(HfConfig hf, Device? device = null)
    {
        var files = Files(hf.Folder);
        foreach (var f in files)
            if (!File.Exists(f)) throw new FileNotFoundException($"checkpoint shard {f} is missing (named by " +
                "model.safetensors.index.json)", f);
        // Built as the checkpoint's top-k, then converted: routers' own modules (null logits, Ada-K's allocators on
        // the layers it asks for, MoE++'s experts) exist exactly where conversion puts them, and are read below.
        var model = new MoeTransformer(hf.Model, hf.Router, initialize: false);
        if (hf.Raw[RouterField] is JsonObject) model.ConvertRouter(SavedRouter(hf));
        var targets = model.state_dict();
        var filled = new HashSet<string>();
        var digests = new List<ShardDigest>();
        using (no_grad())
            foreach (var file in files)
            {
                using var reader = new SafeTensorsFile(file);
                foreach (var info in reader.Tensors)
                {
                    using var scope = NewDisposeScope();
                    // A tied checkpoint may store the head too (the same matrix): the embedding is the one read.
                    if (hf.Model.TieEmbeddings && info.Name == "lm_head.weight") continue;
                    var source = reader.Read(info);
                    foreach (var (name, part) in FromHf(hf.Model, info.Name, source))
                    {
                        if (!targets.TryGetValue(name, out var target))
                            throw new InvalidDataException($"{file}: tensor {info.Name} has no place in a " +
                                $"{hf.ModelType} model of this config (mapped to {name})");
                        if (!target.shape.SequenceEqual(part.shape))
                            throw new InvalidDataException($"{file}: tensor {info.Name} has shape " +
                                $"[{string.Join(", ", part.shape)}], config.json implies " +
                                $"[{string.Join(", ", target.shape)}]");
                        target.copy_(part.to(target.dtype));
                        filled.Add(name);
                    }
                }
                digests.Add(new ShardDigest(Path.GetFileName(file), new FileInfo(file).Length, Protocol.Sha256(file),
                    ShardDigest.StampOf(file)));
            }
        var missing = targets.Keys.Where(k => !filled.Contains(k)).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"{hf.Folder}: the checkpoint lacks {missing.Count} tensor(s) the model " +
                $"needs, e.g. {string.Join(", ", missing.Take(3).Select(n => ToHf(hf.Model, n)))}");
        if (device is not null && device.type != DeviceType.CPU) model.to(device);
        return (model, digests);
    }

    /// <summary>Our name(s) for a Hugging Face tensor, with the part of it each takes. Packed experts
    /// (experts.gate_up_proj: (E, 2I, d); experts.down_proj: (E, d, I)) split into each expert's w1, w3 and w2.
    /// </summary>
    static IEnumerable<(string Name, Tensor Part)> FromHf(ModelConfig c, string hfName, Tensor t)
    {
        var m = FfnName().Match(hfName);
        if (!m.Success) { yield return (hfName, t); yield break; }
        int layer = int.Parse(m.Groups[1].Value);
        var rest = m.Groups[3].Value;
        var prefix = $"model.layers.{layer}.";
        if (!c.IsMoeLayer(layer))
        {
            yield return (prefix + "mlp." + Swiglu(rest), t);
            yield break;
        }
        if (rest == "experts.gate_up_proj")
        {
            long half = t.shape[1] / 2;
            for (int e = 0; e < t.shape[0]; e++)
            {
                yield return ($"{prefix}{Block}experts.{e}.w1.weight", t[e].narrow(0, 0, half));
                yield return ($"{prefix}{Block}experts.{e}.w3.weight", t[e].narrow(0, half, half));
            }
            yield break;
        }
        if (rest == "experts.down_proj")
        {
            for (int e = 0; e < t.shape[0]; e++) yield return ($"{prefix}{Block}experts.{e}.w2.weight", t[e]);
            yield break;
        }
        rest = rest.StartsWith("shared_expert.", StringComparison.Ordinal)
            ? "shared_experts.0." + Swiglu(rest["shared_expert.".Length..]) : Swiglu(rest);
        yield return (prefix + Block + rest, t);
    }

    /// <summary>gate_proj/up_proj/down_proj (Llama naming) → w1/w3/w2 (Mixtral's), anywhere in a name.</summary>
    static string Swiglu(string name) => name.Replace("gate_proj", "w1").Replace("up_proj", "w3")
        .Replace("down_proj", "w2");

    /// <summary>The Hugging Face name of one of our tensors, in the architecture's per-expert layout.</summary>
    public static string ToHf(ModelConfig c, string name)
    {
        if (c.Architecture is "native" or "mixtral") return name;
        var m = FfnName().Match(name);
        if (!m.Success) return name;
        var rest = m.Groups[3].Value.Replace("shared_experts.0.", "shared_expert.");
        rest = Regex.Replace(rest, @"\bw1\b", "gate_proj");
        rest = Regex.Replace(rest, @"\bw3\b", "up_proj");
        rest = Regex.Replace(rest, @"\bw2\b", "down_proj");
        return $"model.layers.{m.Groups[1].Value}.mlp.{rest}";
    }
}
