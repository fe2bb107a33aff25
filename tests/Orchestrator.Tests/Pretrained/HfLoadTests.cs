using Orchestrator.Moe;
using Orchestrator.Moe.Checkpoint;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Pretrained;

/// <summary>Loading Hugging Face checkpoints: for each architecture and layout, our forward equals the reference
/// forward (tools/hf_tiny.py, NumPy, written from the published modeling code) within 1e-4 on several prompts.
/// </summary>
public class HfLoadTests
{
    static readonly int[][] Prompts =
    [
        [1, 2, 3, 4, 5, 6, 7, 8],
        [200, 17, 17, 300, 42, 9, 100, 101, 250, 3, 77, 0],
        [5],
        [90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20],
    ];

    internal static HfConfig Config(string folder, string dtype = "float32") => HfConfig.Read(folder, 32, dtype);

    /// <summary>The largest |ours − reference| over every prompt, position and vocabulary entry.</summary>
    internal static double MaxDifference(MoeTransformer model, string folder)
    {
        var reference = HfTiny.Logits(folder, Prompts);
        model.eval();
        using var _ = no_grad();
        double worst = 0;
        for (int i = 0; i < Prompts.Length; i++)
        {
            using var scope = NewDisposeScope();
            var ours = model.Forward(tensor(Prompts[i].Select(t => (long)t).ToArray(), [1, Prompts[i].Length]))
                .Logits[0].to(ScalarType.Float64);
            var theirs = tensor(reference[i].SelectMany(r => r).ToArray(),
                [reference[i].Length, reference[i][0].Length], ScalarType.Float64);
            worst = Math.Max(worst, (ours - theirs).abs().max().item<double>());
        }
        return worst;
    }

    [Theory]
    [InlineData("mixtral", "per_expert", 1)]
    [InlineData("mixtral", "packed", 3)]
    [InlineData("qwen2_moe", "per_expert", 2)]
    [InlineData("olmoe", "per_expert", 1)]
    [InlineData("olmoe", "packed", 1)]
    public void Forward_equals_the_reference(string arch, string layout, int shards)
    {
        var folder = HfTiny.Write(arch, layout, shards: shards);
        var hf = Config(folder);
        Assert.Equal(arch, hf.ModelType);
        var (model, digests) = HfCheckpoint.Load(hf);
        Assert.Equal(shards, digests.Count);
        Assert.All(digests, d => Assert.Equal(64, d.Sha256.Length));
        double diff = MaxDifference(model, folder);
        Assert.True(diff < 1e-4, $"{arch} ({layout}, {shards} shard(s)): max |Δlogit| = {diff:E2}");
    }

    /// <summary>bf16 and fp16 files load into a float32 model exactly as stored (the reference reads the same
    /// rounded values); into a bfloat16 model they stay within bfloat16's precision of the reference.</summary>
    [Theory]
    [InlineData("bfloat16")]
    [InlineData("float16")]
    public void Half_precision_files_load(string fileDtype)
    {
        var folder = HfTiny.Write("mixtral", dtype: fileDtype, shards: 2);
        var (model, _) = HfCheckpoint.Load(Config(folder));
        Assert.Equal(ScalarType.Float32, model.parameters().First().dtype);
        double diff = MaxDifference(model, folder);
        Assert.True(diff < 1e-4, $"{fileDtype} file, float32 model: max |Δlogit| = {diff:E2}");
        var (bf16, _) = HfCheckpoint.Load(Config(folder, "bfloat16"));
        Assert.Equal(ScalarType.BFloat16, bf16.parameters().First().dtype);
        double loose = MaxDifference(bf16, folder);
        Assert.True(loose < 0.5, $"{fileDtype} file, bfloat16 model: max |Δlogit| = {loose:E2}");
    }
}
