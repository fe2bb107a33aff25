using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.Moe.Checkpoint;
using Orchestrator.Specs;

namespace Orchestrator.Tests.Pretrained;

/// <summary>What cannot be loaded says what and where: a missing shard, an unsupported dtype or architecture, a
/// field the model does not implement, a spec key that contradicts config.json.</summary>
public class HfErrorTests
{
    static void EditConfig(string folder, Action<JsonObject> edit)
    {
        var path = Path.Combine(folder, "config.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(json);
        File.WriteAllText(path, json.ToJsonString());
    }

    [Fact]
    public void A_missing_shard_is_named()
    {
        var folder = HfTiny.Write("mixtral", shards: 2);
        File.Delete(Path.Combine(folder, "model-00002-of-00002.safetensors"));
        var e = Assert.Throws<FileNotFoundException>(() => HfCheckpoint.Load(HfLoadTests.Config(folder)));
        Assert.Contains("model-00002-of-00002.safetensors is missing", e.Message);
        File.Delete(Path.Combine(folder, "model.safetensors.index.json"));
        e = Assert.Throws<FileNotFoundException>(() => HfCheckpoint.Load(HfLoadTests.Config(folder)));
        Assert.Contains("holds neither model.safetensors nor model.safetensors.index.json", e.Message);
    }

    [Fact]
    public void A_tensor_of_an_unsupported_dtype_is_named()
    {
        var folder = HfTiny.Write("olmoe");
        var path = Path.Combine(folder, "model.safetensors");
        var bytes = File.ReadAllBytes(path);
        var header = Encoding.UTF8.GetString(bytes, 8, 4096);
        int at = header.IndexOf("\"F32\"", StringComparison.Ordinal);
        Encoding.UTF8.GetBytes("\"I8\" ").CopyTo(bytes, 8 + at);           // same length: the header stays valid
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => HfCheckpoint.Load(HfLoadTests.Config(folder)));
        Assert.Matches(@"tensor model\.\S+ has dtype I8 \(supported: F32, F16, BF16", e.Message);
    }

    [Theory]
    [InlineData("model_type", "\"deepseek_v2\"", "model_type is \"deepseek_v2\": not supported (supported: mixtral, " +
        "qwen2_moe, olmoe)")]
    [InlineData("hidden_act", "\"gelu\"", "hidden_act is \"gelu\": only silu")]
    [InlineData("rope_scaling", "{\"type\": \"linear\", \"factor\": 2}", "rope_scaling is {\"type\":\"linear\"")]
    [InlineData("sliding_window", "16", "sliding_window is 16: shorter than model.context 32")]
    [InlineData("num_key_value_heads", "3", "num_key_value_heads 3 does not divide num_attention_heads 4")]
    [InlineData("num_local_experts", "\"eight\"", "num_local_experts is \"eight\", expected a number")]
    public void An_unsupported_or_malformed_field_is_refused_by_name(string field, string value, string expected)
    {
        var folder = HfTiny.Write("mixtral");
        EditConfig(folder, j => j[field] = JsonNode.Parse(value));
        var e = Assert.Throws<HfConfigException>(() => HfLoadTests.Config(folder));
        Assert.Contains(Path.Combine(folder, "config.json") + ": " + expected, e.Message);
    }

    [Fact]
    public void A_spec_key_that_contradicts_config_json_is_a_positioned_error()
    {
        var folder = HfTiny.Write("qwen2_moe");
        var yaml = $"""
            name: t
            base:
              model:
                source: hf:{folder}
                context: 32
                experts: 16
              pretrain: {"{k: 4}"}
            sweep:
              router:
                top_k: {"{k: 2}"}
            """;
        var errors = Assert.Throws<SpecException>(() => SpecLoader.LoadText(yaml, "t.yaml")).Errors;
        var experts = errors.Single(e => e.Path == "model.experts");
        Assert.Equal((6, 14), (experts.Mark.Line, experts.Mark.Column));
        Assert.Contains("model.experts 16 contradicts the checkpoint's config.json (8 in ", experts.Message);
        Assert.Contains(errors, e => e.Path == "pretrain.k" && e.Message.Contains("pretrain.k 4 contradicts"));
        // Left out, the shape comes from config.json.
        var ok = SpecLoader.LoadText(yaml.Replace("    experts: 16\n", "").Replace("{k: 4}", "{steps: 1}"), "t.yaml");
        var run = ok.Runs.Single().Config;
        Assert.Equal((8L, 64L, "0,2", 2L), ((long)run["model.experts"], (long)run["model.d_model"],
            (string)run["model.moe_layers"], (long)run["pretrain.k"]));
    }

    [Fact]
    public void A_source_folder_that_is_missing_is_an_error_at_model_source()
    {
        var yaml = "name: t\nbase:\n  model: {source: hf:/nonexistent/checkpoint}\nsweep:\n  router:\n    top_k: {k: 2}\n";
        var error = Assert.Throws<SpecException>(() => SpecLoader.LoadText(yaml, "t.yaml")).Errors.Single();
        Assert.Equal(("model.source", 3), (error.Path, error.Mark.Line));
        Assert.Contains("checkpoint folder /nonexistent/checkpoint does not exist", error.Message);
    }
}

/// <summary>The shipped paper recipes (experiments/papers/): valid specs once the checkpoint is in place (a tiny
/// checkpoint of the same architecture stands in), and a plain positioned error naming the folder before.</summary>
public class PaperSpecTests
{
    [Theory]
    [InlineData("adamoe-mixtral.yaml", "mixtral", new[] { "top_k", "null_experts" })]
    [InlineData("ada-k-qwen.yaml", "qwen2_moe", new[] { "top_k", "ada_k" })]
    public void A_paper_recipe_is_valid_on_its_architecture_and_says_where_the_checkpoint_goes(string file,
        string arch, string[] routers)
    {
        var path = Path.Combine(Paths.RepoRoot, "experiments", "papers", file);
        var missing = Assert.Throws<SpecException>(() => SpecLoader.Load(path)).Errors.Single();
        Assert.Equal("model.source", missing.Path);
        Assert.Contains(Path.Combine(Paths.RepoRoot, "checkpoints") + "/", missing.Message);
        Assert.Contains("does not exist", missing.Message);
        var spec = SpecLoader.Load(path, ["model.source=hf:" + HfTiny.Write(arch), "model.context=64"]);
        Assert.Equal(routers.Order(), spec.Runs.Select(r => (string)r.Config["router.type"]).Distinct().Order());
        Assert.All(spec.Runs, r => Assert.Equal("bfloat16", r.Config["model.dtype"]));
    }
}
