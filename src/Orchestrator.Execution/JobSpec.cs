using System.Text.Json;

namespace Orchestrator.Execution;

/// <summary>What a worker process is asked to do; written as JSON next to the job's log.</summary>
public sealed record JobSpec(
    string Kind,              // "pretrain" or "run"
    string Id,                // base hash or run id
    string ConfigJson,        // canonical configuration
    string BundlePath,        // where the worker writes its results
    string CheckpointDir,     // pretrain: where to save; run: where the base checkpoint lives
    string? BaseSha256,       // run: the base checkpoint's expected sha256
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

    public bool IsBase => Kind == "pretrain";
    public string JobId => IsBase ? "base:" + Id : Id;
}
