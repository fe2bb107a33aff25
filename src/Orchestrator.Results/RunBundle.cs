using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestrator.Results;

/// <summary>Everything one job measured. Workers never write the database: they write a bundle file,
/// and the orchestrator — the only writer — ingests it in one transaction, exactly once.</summary>
public sealed class RunBundle
{
    public required string RunId { get; init; }
    /// <summary>"pretrain" (a shared base model) or "run" (fine-tune + evaluate one configuration).</summary>
    public required string Kind { get; init; }
    public Dictionary<string, string> Provenance { get; init; } = [];
    public List<MetricPoint> Steps { get; init; } = [];
    public Dictionary<string, double> Final { get; init; } = [];
    public List<TaskEval> Tasks { get; init; } = [];
    public List<LayerStats> Layers { get; init; } = [];
    public List<ExpertLoad> Experts { get; init; } = [];
    public List<ClassUsage> Classes { get; init; } = [];
    public List<WordUsage> Words { get; init; } = [];
    public List<EventRow> Events { get; init; } = [];
    public List<ArtifactRow> Artifacts { get; init; } = [];

    static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = false, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public void Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(this, Options));
        File.Move(tmp, path, true);   // atomic: a bundle is either complete or absent
    }

    public static RunBundle Load(string path) =>
        JsonSerializer.Deserialize<RunBundle>(File.ReadAllText(path), Options) ?? throw new InvalidDataException($"empty bundle {path}");
}

public sealed record MetricPoint(string Key, int Step, double Value, double WallSeconds, string Phase);
public sealed record TaskEval(string Task, int Difficulty, int Samples, int Correct, double AnswerLoss, double MeanExpertsPerToken);
public sealed record LayerStats(int Layer, long Tokens, double MeanExpertsPerToken, long[] Histogram, double NullRate,
    double AllNullRate, double Entropy, double Margin, double BalanceLoss, double ZLoss, double EntropyLoss);
public sealed record ExpertLoad(int Layer, int Expert, long Tokens, double Share, double MeanGateProbability);
public sealed record ClassUsage(int Layer, string TokenClass, long Tokens, double MeanExpertsPerToken);
public sealed record WordUsage(string Word, string TokenClass, long Tokens, double MeanExpertsPerToken);
public sealed record EventRow(string Kind, string Message, int? Step = null);
public sealed record ArtifactRow(string Path, string Kind, string Sha256, long Size);
