using System.Text.Json.Nodes;
using Orchestrator.Moe;
using Orchestrator.Moe.Checkpoint;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Pretrained;

/// <summary>Export → load reproduces the model: converted routers with their own modules, a model pretrained here,
/// LoRA adapters merged into the weights.</summary>
public class HfExportTests
{
    static Tensor Logits(MoeTransformer model)
    {
        model.eval();
        using var _ = no_grad();
        var g = new Random(3);
        var tokens = tensor(Enumerable.Range(0, 2 * 24).Select(_ => (long)g.Next(model.Config.VocabSize)).ToArray(),
            [2, 24]);
        return model.Forward(tokens).Logits.detach().clone();
    }

    /// <summary>Moves every parameter off its loaded value, so that a tensor the export dropped or misnamed would
    /// show in the logits.</summary>
    static void Perturb(MoeTransformer model, int seed)
    {
        manual_seed(seed);
        using var _ = no_grad();
        foreach (var p in model.parameters()) p.add_(randn_like(p) * 0.05);
    }

    [Theory]
    [InlineData("qwen2_moe", "null_experts")]
    [InlineData("olmoe", "ada_k")]
    [InlineData("mixtral", "top_p")]
    public void A_converted_model_round_trips_exactly(string arch, string router)
    {
        var folder = HfTiny.Write(arch);
        var (model, _) = HfCheckpoint.Load(HfLoadTests.Config(folder));
        model.ConvertRouter(TestRouters.Config(router, ("nulls", 2L), ("k", 2L), ("p", 0.5), ("target_experts", 1.5)));
        Perturb(model, 1);
        var before = Logits(model);
        var outDir = folder + "-export";
        HfCheckpoint.Export(model, outDir, HfConfig.Read(folder, 32, "float32").Raw,
            Path.Combine(folder, "tokenizer.json"));
        Assert.True(File.Exists(Path.Combine(outDir, "tokenizer.json")));
        var saved = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "config.json")))!;
        Assert.Equal(router, saved[HfCheckpoint.RouterField]!["type"]!.GetValue<string>());
        var (loaded, _) = HfCheckpoint.Load(HfLoadTests.Config(outDir));
        Assert.Equal(router, loaded.RouterConfig.Type);
        var after = Logits(loaded);
        Assert.True(before.allclose(after, rtol: 0, atol: 0),
            $"{arch}/{router}: the reloaded logits differ by up to {(before - after).abs().max().item<float>():E2}");
    }

    /// <summary>LoRA on a grouped-query model: W_v is narrower than d (2 key/value heads of 4), and its adapter
    /// follows; export merges both adapters.</summary>
    [Fact]
    public void LoRA_on_a_grouped_query_checkpoint_trains_and_merges()
    {
        var folder = HfTiny.Write("mixtral");
        var (model, _) = HfCheckpoint.Load(HfLoadTests.Config(folder));
        model.EnableLora(4);
        Perturb(model, 3);
        var before = Logits(model);
        var outDir = folder + "-lora";
        HfCheckpoint.Export(model, outDir, HfConfig.Read(folder, 32, "float32").Raw, null);
        var (loaded, _) = HfCheckpoint.Load(HfLoadTests.Config(outDir));
        double diff = (before - Logits(loaded)).abs().max().item<float>();
        Assert.True(diff < 1e-5, $"max |Δlogit| after merging LoRA: {diff:E2}");
    }

    [Fact]
    public void A_model_pretrained_here_exports_as_Mixtral_and_LoRA_is_merged()
    {
        var c = Moe.ModelTests.Tiny with { VocabSize = 80, Context = 32 };
        var model = new MoeTransformer(c, RouterConfig.TopK(2));
        model.EnableLora(4);
        Perturb(model, 2);                           // B ≠ 0: the adapters change the output
        var before = Logits(model);
        var outDir = Path.Combine(Path.GetTempPath(), $"export-native-{Guid.NewGuid():N}");
        HfCheckpoint.Export(model, outDir, null, null);
        var hf = HfConfig.Read(outDir, 32, "float32");
        Assert.Equal("mixtral", hf.ModelType);
        var (loaded, _) = HfCheckpoint.Load(hf);
        Assert.DoesNotContain(loaded.state_dict().Keys, k => k.Contains("lora"));
        double diff = (before - Logits(loaded)).abs().max().item<float>();
        Assert.True(diff < 1e-5, $"max |Δlogit| after merging LoRA: {diff:E2}");
    }
}
