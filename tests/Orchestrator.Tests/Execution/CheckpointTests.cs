using Orchestrator.Training.Recipes;
using Orchestrator.Execution;
using Orchestrator.Moe;
using Orchestrator.Specs;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Execution;

/// <summary>An evaluation job rebuilds the fine-tuned model from its checkpoint alone: the rebuilt model
/// must compute exactly what the fine-tuned one did, for every router and fine-tuning mode.</summary>
public class CheckpointTests
{
    [Theory]
    [InlineData("top_p", "full")]
    [InlineData("null_experts", "lora")]
    [InlineData("ada_k", "router_only")]
    [InlineData("adaptive_gating", "lora")]
    [InlineData("relu", "full")]
    [InlineData("top_p", "full", "target_experts")]
    [InlineData("null_experts", "lora", "target_experts")]
    [InlineData("adaptive_gating", "full", "bias")]
    [InlineData("relu", "router_only", "bias")]
    [InlineData("null_experts", "full", "moe++")]
    public void A_finetuned_checkpoint_reloads_to_the_same_outputs(string router, string mode, string variant = "")
    {
        var flat = new Dictionary<string, object>
        {
            ["router.type"] = router, ["finetune.mode"] = mode, ["finetune.lora_rank"] = 4L,
            ["model.layers"] = 2L, ["model.d_model"] = 32L, ["model.heads"] = 2L, ["model.experts"] = 4L,
            ["model.expert_hidden"] = 32L, ["model.vocab_size"] = 300L, ["model.context"] = 16L,
        };
        if (variant == "target_experts") flat["router.target_experts"] = 1.5;
        if (variant == "bias") flat["router.balance"] = "bias";
        if (variant == "moe++")
            foreach (var (k, v) in new (string, object)[] { ("router.nulls", 2L), ("router.copies", 1L),
                         ("router.constants", 2L), ("router.gating_residual", true), ("router.k", 3L) })
                flat[k] = v;
        var cfg = RunConfig.From(flat);
        manual_seed(5);
        var model = new MoeTransformer(cfg.Model, RouterConfig.TopK(cfg.PretrainK));
        model.ConvertRouter(cfg.Router);
        if (mode == "lora") model.EnableLora(cfg.Finetune.LoraRank);
        using (no_grad())
        {
            foreach (var p in model.parameters()) p.add_(randn_like(p) * 0.05);   // as if fine-tuned: every weight moved, LoRA B included
            foreach (var block in model.MoeBlocks)                                 // and the controllers' state
            {
                block.ExpertBudget?.fill_(0.05);
                block.ExpertBias?.add_(randn_like(block.ExpertBias) * 0.05);
            }
        }
        Assert.Equal(variant == "target_experts", model.MoeBlocks.All(b => b.ExpertBudget is not null));
        Assert.Equal(variant == "bias", model.MoeBlocks.All(b => b.ExpertBias is not null));
        var dir = Directory.CreateTempSubdirectory("orch-ckpt").FullName;
        var path = Path.Combine(dir, "model.bin");
        model.save(path);

        var loaded = Checkpoints.LoadFinetuned(cfg, path, CPU);
        var tokens = randint(0, 300, [2, 16]);
        using var _ = no_grad();
        var a = model.Forward(tokens, TelemetryLevel.Summary);
        var b = loaded.Forward(tokens, TelemetryLevel.Summary);
        Assert.Equal(0f, (a.Logits - b.Logits).abs().max().item<float>());
        Assert.Equal(a.Telemetry.Select(t => t.MeanExpertsPerToken), b.Telemetry.Select(t => t.MeanExpertsPerToken));
        Assert.Equal(model.ParameterCount(), loaded.ParameterCount());
    }
}
