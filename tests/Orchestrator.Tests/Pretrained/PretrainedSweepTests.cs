using System.Text.Json;
using Orchestrator.Execution;
using Orchestrator.Results;
using Orchestrator.Specs;
using Orchestrator.Tests.Execution;

namespace Orchestrator.Tests.Pretrained;

/// <summary>A checkpoint folder through the whole loop: a sweep whose base is loaded and verified, and
/// `orchestrator score` on the folder and on the stored runs.</summary>
public class PretrainedSweepTests
{
    [Fact]
    public void Score_gives_the_reference_log_probabilities_and_each_tokens_experts()
    {
        SweepTests.FreshResults();
        var folder = HfTiny.Write("qwen2_moe");
        int[] ids = [5, 60, 61, 300, 2, 2, 17];
        var (rc, stdout, stderr) = Cli.CommandLineTests.Run("score", "--model", "hf:" + folder, "--tokens",
            string.Join(",", ids));
        Assert.True(rc == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var scored = doc.RootElement.GetProperty("scored").EnumerateArray().ToList();
        Assert.Equal(ids.Length, scored.Count);
        var reference = HfTiny.Logits(folder, [ids])[0];
        for (int t = 1; t < ids.Length; t++)
        {
            var row = reference[t - 1];
            double max = row.Max(), logZ = max + Math.Log(row.Sum(v => Math.Exp(v - max)));
            Assert.Equal(row[ids[t]] - logZ, scored[t].GetProperty("logprob").GetDouble(), 4);
        }
        // Qwen2-MoE layers 0 and 2 are MoE (layer 1 is dense), top-2 of 8: two experts per token per MoE layer.
        Assert.All(scored, s => Assert.Equal([2, 2], s.GetProperty("experts").EnumerateArray()
            .Select(l => l.GetArrayLength()).ToArray()));
        (rc, _, stderr) = Cli.CommandLineTests.Run("score", "--model", "hf:" + folder, "--tokens", "1,x");
        // (Under make, a hint naming the make variable follows: the message is the line's start.)
        Assert.Equal(2, rc);
        Assert.StartsWith("error: --tokens 1,x: expected comma-separated integers, e.g. 1,2,3", stderr);
        // Without tokenizer.json: token ids still score, text is refused with what to do instead.
        File.Delete(Path.Combine(folder, "tokenizer.json"));
        (rc, var again, _) = Cli.CommandLineTests.Run("score", "--model", "hf:" + folder, "--tokens",
            string.Join(",", ids));
        Assert.Equal(0, rc);
        Assert.Equal(doc.RootElement.GetProperty("total_logprob").GetDouble(),
            JsonDocument.Parse(again).RootElement.GetProperty("total_logprob").GetDouble());
        (rc, _, stderr) = Cli.CommandLineTests.Run("score", "--model", "hf:" + folder, "--text", "hello");
        Assert.Equal(2, rc);
        Assert.StartsWith($"error: hf:{folder} has no tokenizer.json: score token ids with --tokens", stderr);
    }

    /// <summary>A completed base is reused only while the files it loaded are unchanged: a touched file with the
    /// same bytes passes (its sha256 is checked again), replaced weights of the same size stop the sweep before
    /// anything runs, naming the file.</summary>
    [Fact]
    public void A_base_is_not_reused_once_its_checkpoint_files_changed()
    {
        SweepTests.FreshResults();
        var folder = HfTiny.Write("mixtral");
        string Yaml(string routers) => $$"""
            name: changed
            base:
              model: {source: "hf:{{folder}}", context: 32}
              data: {tasks: "addition", max_difficulty: 2}
              finetune: {steps: 2, batch_size: 4, eval_every: 0}
              eval: {text_batches: 1, task_samples: 1, max_answer_tokens: 2}
            sweep:
              router:
            {{routers}}
            """;
        using var store = ResultStore.Open(Paths.Database);
        var log = new StringWriter();
        Assert.Equal(0, SweepTests.RunSweep(SpecLoader.LoadText(Yaml("    top_k: {k: 2}"), "c.yaml"), store, log)
            .ExitCode);
        var weights = Path.Combine(folder, "model.safetensors");
        File.SetLastWriteTimeUtc(weights, DateTime.UtcNow.AddMinutes(5));         // touched, same bytes: reused
        var more = SpecLoader.LoadText(Yaml("    top_k: {k: 2}\n    top_p: {p: 0.5}"), "c.yaml");
        Assert.True(SweepTests.RunSweep(more, store, log).ExitCode == 0, log.ToString());
        Assert.Equal(1, log.ToString().Split('\n').Count(l => l.Contains("start pretrain")));
        // Other weights, same names and shapes (so the same size), written over the file.
        var other = HfTiny.Write("mixtral", seed: 7);
        File.Copy(Path.Combine(other, "model.safetensors"), weights, true);
        var third = SpecLoader.LoadText(Yaml("    top_k: {k: 2}\n    null_experts: {nulls: 2, k: 3}"), "c.yaml");
        var e = Assert.Throws<InvalidDataException>(() => SweepTests.RunSweep(third, store, log));
        Assert.StartsWith($"{weights} changed since base ", e.Message);
        Assert.Contains("give the new checkpoint a folder of its own", e.Message);
        Assert.Equal(0L, store.Query("SELECT count(*) FROM runs WHERE router = 'null_experts'").Rows[0][0]);
    }

    [Fact]
    public void A_sweep_on_a_checkpoint_folder_loads_it_once_records_its_digest_and_scores_its_runs()
    {
        SweepTests.FreshResults();
        var folder = HfTiny.Write("mixtral", shards: 2);
        var spec = SpecLoader.LoadText($$"""
            name: pretrained
            base:
              model: {source: "hf:{{folder}}", context: 32}
              data: {tasks: "addition", max_difficulty: 2}
              finetune: {steps: 4, batch_size: 4, eval_every: 0}
              eval: {text_batches: 1, task_samples: 2, max_answer_tokens: 4}
            sweep:
              router:
                top_k: {k: 2}
                null_experts: {nulls: 2, k: 3}
            """, "pretrained.yaml");
        using var store = ResultStore.Open(Paths.Database);
        var log = new StringWriter();
        var summary = SweepTests.RunSweep(spec, store, log);
        Assert.True(summary.ExitCode == 0, log.ToString());
        Assert.Equal(2, summary.Completed);
        Assert.Equal(1, log.ToString().Split('\n').Count(l => l.Contains("start pretrain")));
        var shards = store.Query("SELECT path, sha256 FROM artifacts WHERE kind = 'hf_checkpoint' ORDER BY path").Rows;
        Assert.Equal(2, shards.Count);
        Assert.Equal(Protocol.Sha256(Path.Combine(folder, "model-00001-of-00002.safetensors")), shards[0][1]);
        var provenance = (string)store.Query("SELECT provenance_json FROM jobs WHERE kind = 'pretrain'").Rows[0][0]!;
        Assert.Contains("\"hf_model_type\":\"mixtral\"", provenance.Replace(" ", ""));
        Assert.Equal(2L, store.Query("SELECT count(*) FROM run_summary WHERE status = 'completed' AND eval_loss > 0")
            .Rows[0][0]);
        // Findings name the checkpoint beside the router: runs on two checkpoints are never seeds of one configuration.
        var findings = Orchestrator.Analysis.Findings.Refresh(store, "pretrained");
        Assert.NotEmpty(findings);
        Assert.All(findings, f => Assert.EndsWith(" on " + Path.GetFileName(folder), f.Subject));
        // The stored null-experts run scores through its run id, with its converted router.
        var run = (string)store.Query("SELECT run_id FROM runs WHERE router = 'null_experts'").Rows[0][0]!;
        var (rc, stdout, stderr) = Cli.CommandLineTests.Run("score", "--model", run, "--text", "Hello there.");
        Assert.True(rc == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal(("finetune", "null_experts"), (doc.RootElement.GetProperty("kind").GetString(),
            doc.RootElement.GetProperty("router").GetString()));
        Assert.Equal("Hello there.", string.Concat(doc.RootElement.GetProperty("scored").EnumerateArray()
            .Select(s => s.GetProperty("text").GetString())));
        // Exported as a Hugging Face folder, it scores the same text to the same log-probabilities.
        var exported = Path.Combine(Paths.Results, "exported");
        (rc, _, stderr) = Cli.CommandLineTests.Run("export-hf", "--model", run, "--out", exported);
        Assert.True(rc == 0, stderr);
        (rc, var again, stderr) = Cli.CommandLineTests.Run("score", "--model", "hf:" + exported, "--text",
            "Hello there.");
        Assert.True(rc == 0, stderr);
        using var reloaded = JsonDocument.Parse(again);
        Assert.Equal(("null_experts", doc.RootElement.GetProperty("total_logprob").GetDouble()),
            (reloaded.RootElement.GetProperty("router").GetString(),
                reloaded.RootElement.GetProperty("total_logprob").GetDouble()));
    }
}
