using System.Text.Json;
using Orchestrator.Results;

namespace Orchestrator.Execution;

/// <summary>What a worker process is asked to do; written as JSON next to the job's log.</summary>
public sealed record JobSpec(
    string Kind,              // pretrain, finetune or evaluate (JobIds.Word)
    string Id,                // base hash, fine-tune hash or run id
    string ConfigJson,        // canonical configuration of the run that planned the job
    string BundlePath,        // where the worker writes its results
    string? InputId,          // finetune: the base hash; evaluate: the fine-tune hash
    string? InputCheckpoint,  // finetune: the base's model.bin; evaluate: the fine-tuned model.bin
    string? InputSha256,      // the input checkpoint's expected sha256 (from the database)
    string? OutputDir,        // pretrain, finetune: where model.bin (and train.json) are written
    string Device,
    int Threads,
    string SpecPath,
    string CommandLine)
{
    static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

    public void Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, JsonSerializer.Serialize(this, Options));
    }

    public static JobSpec Load(string path) =>
        JsonSerializer.Deserialize<JobSpec>(File.ReadAllText(path)) ?? throw new InvalidDataException($"empty job file {path}");

    public JobKind JobKind => JobIds.KindOf(Kind);
    public bool IsBase => JobKind == JobKind.Pretrain;
    public string JobId => JobIds.Of(JobKind, Id);
}
