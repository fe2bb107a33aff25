using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Moe;
using Orchestrator.Moe.Checkpoint;
using Orchestrator.Results;
using Orchestrator.Training;
using Orchestrator.Training.Data;
using Orchestrator.Training.Recipes;

namespace Orchestrator.Cli;

/// <summary>`orchestrator score` (`make score`): a model — a Hugging Face folder, or a stored base, fine-tune or run
/// — and a text or token ids in; per-token log-probabilities and each token's experts per MoE layer out, as JSON.
/// </summary>
public static partial class Cli
{
    static Command ScoreCommand()
    {
        var c = new Command("score", "Per-token log-probabilities and experts per layer of a text under a model, as " +
                                     "JSON: a checkpoint folder (hf:DIR), or a stored run id, fine-tune or base hash");
        var model = Text("--model", "MODEL", "hf:<folder>, or a run id, fine-tune hash or base hash in the results " +
                                             "database");
        model.Required = true;
        var text = Text("--text", "TEXT", "the text to score (tokenized with the model's tokenizer)");
        var file = Text("--file", "FILE", "score this file's text");
        var ids = Text("--tokens", "IDS", "token ids, comma-separated (no tokenizer needed)");
        var device = Choice("--device", "where to run the model", "cpu", "cuda");
        AddOptions(c, model, text, file, ids, device);
        c.SetAction(p =>
        {
            var given = new[] { p.GetValue(text), p.GetValue(file), p.GetValue(ids) }.Count(v => v is not null);
            if (given != 1) throw new UsageException("give exactly one of --text, --file and --tokens");
            var input = p.GetValue(file) is { } f ? File.Exists(f) ? File.ReadAllText(f)
                : throw new UsageException($"--file {f}: no such file") : p.GetValue(text);
            var (loaded, tokenizer, describe, _, _) = LoadModel(p.GetValue(model)!, Device(p.GetValue(device)!));
            int[] tokens;
            if (input is null) tokens = ParseIds(p.GetValue(ids)!);
            else if (tokenizer is null) throw new UsageException($"{p.GetValue(model)} has no tokenizer.json: " +
                "score token ids with --tokens");
            else tokens = tokenizer.Encode(input);
            if (tokens.Length == 0) throw new UsageException("nothing to score: the input has no tokens");
            if (tokens.Max() >= loaded.Config.VocabSize || tokens.Min() < 0)
                throw new UsageException($"token ids must lie in [0, {loaded.Config.VocabSize})");
            if (tokens.Length > loaded.Config.Context)
                throw new UsageException($"{tokens.Length} tokens exceed the model's context {loaded.Config.Context}");
            var scored = TokenScorer.Score(loaded, tokens, tokenizer is null ? null : tokenizer.TokenText);
            var lps = scored.Where(s => s.LogProb is not null).Select(s => s.LogProb!.Value).ToList();
            describe["tokens"] = tokens.Length;
            describe["total_logprob"] = lps.Sum();
            describe["mean_logprob"] = lps.Count == 0 ? null : lps.Average();
            describe["scored"] = new JsonArray(scored.Select(s => (JsonNode)new JsonObject
            {
                ["position"] = s.Position, ["id"] = s.Id, ["text"] = s.Text, ["logprob"] = s.LogProb,
                ["experts"] = new JsonArray(s.Experts.Select(layer => (JsonNode)new JsonArray(layer.Select(e =>
                    (JsonNode)new JsonObject { ["expert"] = e.Expert, ["weight"] = e.Weight }).ToArray())).ToArray()),
            }).ToArray());
            Console.Out.WriteLine(describe.ToJsonString(new JsonSerializerOptions
            {
                WriteIndented = true, Encoder = JsonTextEncoder.Instance,
            }));
            return ExitOk;
        });
        return c;
    }

    /// <summary>`orchestrator export-hf` (`make export-hf`): a stored or loaded model written as a Hugging Face
    /// folder — safetensors, config.json with the router under "orchestrator_router", the tokenizer.json of the
    /// checkpoint it came from.</summary>
    static Command ExportHfCommand()
    {
        var c = new Command("export-hf", "Write a model (a run id, fine-tune or base hash, or hf:DIR) as a Hugging " +
                                         "Face folder: safetensors, config.json (router included), tokenizer.json");
        var model = Text("--model", "MODEL", "a run id, fine-tune hash or base hash, or hf:<folder>");
        model.Required = true;
        var output = Text("--out", "DIR", "the folder to write (created; files in it are replaced)");
        output.Required = true;
        AddOptions(c, model, output);
        c.SetAction(p =>
        {
            var loaded = LoadModel(p.GetValue(model)!, TorchSharp.torch.CPU);
            var files = HfCheckpoint.Export(loaded.Model, p.GetValue(output)!, loaded.HfConfig, loaded.TokenizerJson);
            Console.Out.WriteLine($"export-hf: {loaded.Model.RouterConfig.Type} model written to " +
                $"{Path.GetFullPath(p.GetValue(output)!)} ({files.Count} safetensors file(s), config.json" +
                (loaded.TokenizerJson is null ? "; no tokenizer.json: a model pretrained here has the bench's own " +
                    "tokenizer, not a Hugging Face one)" : ", tokenizer.json)"));
            return ExitOk;
        });
        return c;
    }

    static int[] ParseIds(string text)
    {
        try
        {
            return text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(t => int.Parse(t, CultureInfo.InvariantCulture)).ToArray();
        }
        catch (FormatException)
        {
            throw new UsageException($"--tokens {text}: expected comma-separated integers, e.g. 1,2,3");
        }
    }

    /// <summary>A model named on the command line: a checkpoint folder, or a stored run, fine-tune or base.</summary>
    /// <param name="Tokenizer">null when it has none</param>
    /// <param name="Describe">what it is, for the output</param>
    /// <param name="HfConfig">the config.json of the checkpoint it comes from (null: pretrained here)</param>
    /// <param name="TokenizerJson">that checkpoint's tokenizer.json, when it has one</param>
    sealed record LoadedModel(MoeTransformer Model, ITokenizer? Tokenizer, JsonObject Describe, JsonObject? HfConfig,
        string? TokenizerJson);

    static LoadedModel LoadModel(string name, TorchSharp.torch.Device device)
    {
        if (string.IsNullOrWhiteSpace(name))
            throw new UsageException("--model is empty: give hf:<folder>, a run id, a fine-tune hash or a base hash");
        if (name.StartsWith(HfConfig.Prefix, StringComparison.Ordinal))
        {
            var folder = HfConfig.FolderOf(name);
            HfConfig hf;
            try
            {
                // The context the rotary tables cover: the checkpoint's whole window.
                var max = HfConfig.Read(folder, 1, "float32").Raw["max_position_embeddings"]!.GetValue<int>();
                hf = HfConfig.Read(folder, max, "float32");
            }
            catch (HfConfigException e) { throw new UsageException(e.Message); }
            var (model, shards) = HfCheckpoint.Load(hf, device);
            var tokenizerPath = Path.Combine(folder, "tokenizer.json");
            ITokenizer? tok = File.Exists(tokenizerPath)
                ? new HfTokenizer(tokenizerPath, HfTokenizer.EndOfTextOf(hf.Raw)) : null;
            return new LoadedModel(model, tok, new JsonObject
            {
                ["model"] = name, ["architecture"] = hf.ModelType, ["router"] = model.RouterConfig.Type,
                ["files"] = new JsonArray(shards.Select(s => (JsonNode)new JsonObject
                    { ["file"] = s.File, ["sha256"] = s.Sha256 }).ToArray()),
            }, hf.Raw, tok is null ? null : tokenizerPath);
        }
        using var store = File.Exists(Paths.Database) ? ResultStore.OpenReadOnly(Paths.Database)
            : throw new UsageException($"--model {name}: not hf:<folder>, and there is no results database " +
                                       $"({Paths.Database}) to look it up in");
        var (kind, configJson, checkpoint) = StoredModel(store, name);
        var cfg = RunConfig.From(ConfigValues.FromJson(configJson));
        var loaded = kind == "base"
            ? LoadBase(cfg, checkpoint, device)
            : Checkpoints.LoadFinetuned(cfg, checkpoint, device);
        var data = Dataset.Prepare(cfg.Data, cfg.Model);
        var source = cfg.Model.Pretrained
            ? HfConfig.Read(HfConfig.FolderOf(cfg.Model.Source), cfg.Model.Context, cfg.Model.DType) : null;
        return new LoadedModel(loaded, data.Tokenizer, new JsonObject
        {
            ["model"] = name, ["kind"] = kind, ["architecture"] = cfg.Model.Architecture,
            ["router"] = loaded.RouterConfig.Type, ["checkpoint"] = checkpoint,
        }, source?.Raw, source is null ? null : data.TokenizerPath);
    }

    static MoeTransformer LoadBase(RunConfig cfg, string checkpoint, TorchSharp.torch.Device device)
    {
        var m = new MoeTransformer(cfg.Model, RouterConfig.TopK(cfg.PretrainK), device);
        m.load(checkpoint);
        return m;
    }

    /// <summary>A run id, fine-tune hash or base hash → which it is, its configuration and its checkpoint.</summary>
    static (string Kind, string ConfigJson, string Checkpoint) StoredModel(ResultStore store, string id)
    {
        var finetune = store.Query("SELECT finetune_hash FROM runs WHERE run_id = $id", ("$id", id)).Rows
            .Select(r => r[0] as string).FirstOrDefault() ?? id;
        foreach (var (kind, table, column) in new[] { ("finetune", "finetune_records", "finetune_hash"),
                     ("base", "base_records", "base_hash") })
        {
            var row = store.Query($"SELECT config_json, checkpoint_path FROM {table} WHERE {column} = $id",
                ("$id", kind == "finetune" ? finetune : id)).Rows.FirstOrDefault();
            if (row is null) continue;
            if (row[1] is not string path || !File.Exists(Paths.FromStored(path)))
                throw new UsageException($"--model {id}: the {kind} has no checkpoint on disk (not trained yet, or " +
                                         "its file was removed)");
            return (kind, (string)row[0]!, Paths.FromStored(path));
        }
        throw new UsageException($"--model {id}: no run id, fine-tune hash or base hash in {Paths.Database} " +
                                 "(make query SQL=\"SELECT run_id, finetune_hash, base_hash FROM runs\")");
    }
}
