using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Orchestrator.Core;

// The worker protocol, whole: what the orchestrator hands a worker process (a JobTicket, job.json in the
// job's folder: its path on the command line, or for a served worker one line on stdin per job), what the
// worker says while it runs (WorkerMessage JSON lines on stdout: progress, one error line if it fails, and
// from a served worker one "finished" line per job), what it hands back (a JobResult, result.json, written
// atomically), and the manifest written beside every checkpoint it saves (ModelManifest, model.json). Workers
// never touch the database: the orchestrator, its only writer, ingests results exactly once.

/// <summary>A checkpoint a job reads: the model's hash (base or fine-tune), its model.bin and the sha256
/// the database recorded for it (null while the job that writes it is still queued: SLURM).</summary>
public sealed record ModelInput(string Hash, string Checkpoint, string? Sha256);

/// <summary>What one worker is asked to do. Immutable: an executor adds the device and threads it chose
/// with `with { … }`.</summary>
public sealed record JobTicket(
    JobKind Kind,
    string Subject,          // base hash, fine-tune hash or run id
    string ConfigJson,       // canonical configuration of the run that planned the job
    string Folder,           // results/jobs/<job folder>: job.json, result.json, worker.log
    ModelInput? Input,       // finetune: the base; evaluate: the fine-tuned model
    string? OutputDir,       // pretrain, finetune: where model.bin and model.json are written
    string SpecPath,
    string CommandLine,
    string Device = "cpu",
    int Threads = 0)
{
    [JsonIgnore] public JobKey Key => new(Kind, Subject);
    [JsonIgnore] public string TicketPath => Path.Combine(Folder, "job.json");
    [JsonIgnore] public string ResultPath => Path.Combine(Folder, "result.json");
    [JsonIgnore] public string LogPath => Path.Combine(Folder, "worker.log");

    public void Save() => Protocol.WriteAtomically(TicketPath, JsonSerializer.Serialize(this, Protocol.Json));

    public static JobTicket Load(string path) => Protocol.Read<JobTicket>(path, "job ticket");
}

/// <summary>Everything one job measured, for the orchestrator to ingest in one transaction.</summary>
public sealed class JobResult
{
    public required JobKind Kind { get; init; }
    public required string Subject { get; init; }
    /// <summary>The model the job read (the ticket's input), so that a run records the fine-tune it used.</summary>
    public string? InputHash { get; init; }
    public Dictionary<string, string> Provenance { get; init; } = [];
    public List<MetricPoint> Steps { get; init; } = [];
    public Dictionary<string, double> Final { get; init; } = [];
    public List<TaskEval> Tasks { get; init; } = [];
    public List<ItemResult> Items { get; init; } = [];
    public List<TaskClassUsage> TaskClasses { get; init; } = [];
    public List<LayerStats> Layers { get; init; } = [];
    public List<ExpertLoad> Experts { get; init; } = [];
    public List<ClassUsage> Classes { get; init; } = [];
    public List<WordUsage> Words { get; init; } = [];
    public List<TokenRoute> TokenRoutes { get; init; } = [];
    public List<EventRow> Events { get; init; } = [];
    public List<ArtifactRow> Artifacts { get; init; } = [];

    [JsonIgnore] public JobKey Key => new(Kind, Subject);

    /// <summary>Atomic: a result file is either complete or absent.</summary>
    public void Save(string path) => Protocol.WriteAtomically(path, JsonSerializer.Serialize(this, Protocol.Json));

    public static JobResult Load(string path) => Protocol.Read<JobResult>(path, "job result");
}

public sealed record MetricPoint(string Key, int Step, double Value, double WallSeconds, string Phase);
/// <summary>A task and difficulty's totals. Experts per token: over the whole sequence (prompt and answer) and
/// over the answer's positions (those whose predictions are the answer tokens).</summary>
public sealed record TaskEval(string Task, int Difficulty, int Samples, int Correct, double AnswerLoss,
    double MeanExpertsPerToken, double? AnswerExpertsPerToken = null);
/// <summary>One evaluated item, for paired statistics: items are drawn from the run's seed, so every run on a
/// base and seed scores the same ones. Held-out text windows are items of task "text" (Correct null).</summary>
public sealed record ItemResult(string Task, int Difficulty, int Item, bool? Correct, double AnswerLogProb,
    int AnswerTokens, double AnswerExperts, double SequenceExperts);
/// <summary>Experts per token of one token class within a task and difficulty (whole sequences).</summary>
public sealed record TaskClassUsage(string Task, int Difficulty, string TokenClass, long Tokens,
    double MeanExpertsPerToken);
/// <summary>A layer's routing over an evaluation; MaxVio over all of it and averaged over its batches, the share of
/// dead experts, the load entropy / log N, CoActivation[i·N + j] = tokens that used experts i and j, and the share
/// of the base model's top-k experts the run's router still uses (Training/RoutingStability).</summary>
public sealed record LayerStats(int Layer, long Tokens, double MeanExpertsPerToken, long[] Histogram, double NullRate,
    double AllNullRate, double Entropy, double Margin, double BalanceLoss, double ZLoss, double EntropyLoss,
    double? MaxVio = null, double? MaxVioBatch = null, double? DeadShare = null, double? UsageEntropy = null,
    long[]? CoActivation = null, double? StabilityFromBase = null);
public sealed record ExpertLoad(int Layer, int Expert, long Tokens, double Share, double MeanGateProbability);
public sealed record ClassUsage(int Layer, string TokenClass, long Tokens, double MeanExpertsPerToken);
public sealed record WordUsage(string Word, string TokenClass, long Tokens, double MeanExpertsPerToken);
/// <summary>Which real experts one position of the fixed held-out sample (the first text window, the same for every
/// run on a tokenizer) used at one MoE layer, with the token's text.</summary>
public sealed record TokenRoute(int Position, string Token, int Layer, int[] Experts);
public sealed record EventRow(string Kind, string Message, int? Step = null);
public sealed record ArtifactRow(string Path, string Kind, string Sha256, long Size);

/// <summary>One line a worker writes on stdout: progress while it runs (phase, step of total, loss, wall
/// seconds, experts per token), the error that ends it, or (served) that it finished. Any other line is plain log
/// text.</summary>
public sealed record WorkerMessage(
    string Type, string? Phase = null, int? Step = null, int? Of = null, double? Loss = null, double? Wall = null,
    double? Experts = null, string? Message = null)
{
    public static WorkerMessage Progress(string phase, int step = 0, int of = 0, double? loss = null,
        double? wall = null, double? experts = null) => new("progress", phase, step, of, loss, wall, experts);

    public static WorkerMessage Error(string message) => new("error", Message: message.Replace('\n', ' '));

    /// <summary>A served worker (`worker --serve`) finished its job, result file written, and waits for the next.
    /// </summary>
    public static WorkerMessage Finished() => new("finished");

    [JsonIgnore] public bool IsError => Type == "error";
    [JsonIgnore] public bool IsFinished => Type == "finished";

    public string ToLine() => JsonSerializer.Serialize(this, Protocol.Json);

    /// <summary>The message on a line of worker output, or null for plain log text.</summary>
    public static WorkerMessage? TryParse(string line)
    {
        if (!line.StartsWith("{\"type\":", StringComparison.Ordinal)) return null;
        try { return JsonSerializer.Deserialize<WorkerMessage>(line, Protocol.Json); }
        catch (JsonException) { return null; }
    }

    /// <summary>The error a worker reported last among these lines, if any.</summary>
    public static string? LastError(IEnumerable<string> lines) =>
        lines.Select(TryParse).LastOrDefault(m => m is { IsError: true })?.Message;

    /// <summary>"pretrain 120/800 loss 3.21 ETA 40s" for status lines.</summary>
    public string Describe()
    {
        var text = Phase ?? Type;
        if (Step is > 0 && Of is > 0) text += $" {Step}/{Of}";
        if (Loss is { } l) text += $" loss {l:F4}";
        if (Step is { } s and > 0 && Of is { } total && Wall is { } w) text += $" ETA {w / s * (total - s):F0}s";
        return text;
    }
}

/// <summary>Written beside every checkpoint (model.json next to model.bin), after it: the checkpoint's
/// sha256 — computed once, when written — so that a job queued before this one finished (SLURM) can
/// verify it, and what training measured that the model's evaluations report as their own.</summary>
public sealed record ModelManifest(string Sha256, long Size, TrainingSummary? Training = null)
{
    public static string PathFor(string checkpoint) => Path.Combine(Path.GetDirectoryName(checkpoint)!, "model.json");

    public void Save(string checkpoint) =>
        Protocol.WriteAtomically(PathFor(checkpoint), JsonSerializer.Serialize(this, Protocol.Json));

    public static ModelManifest? TryLoad(string checkpoint) =>
        File.Exists(PathFor(checkpoint)) ? Protocol.Read<ModelManifest>(PathFor(checkpoint), "model manifest") : null;
}

/// <summary>What fine-tuning measured: training wall time and throughput, time to eval.target_loss, job time, and
/// the job's peak memory (bytes; the process's on the CPU, NVML's for the process on a GPU).</summary>
public sealed record TrainingSummary(double TrainSeconds, double TrainTokensPerSecond, double? TimeToTargetLoss,
    double JobSeconds, double? PeakMemoryBytes = null);

/// <summary>The protocol's JSON contracts generated at build time: a worker reads its ticket and writes its result
/// without building them by reflection first (~0.1 s at every process start, measured). Same names and rules as
/// <see cref="Protocol.Json"/>, whose options they are used with.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(JobTicket))]
[JsonSerializable(typeof(JobResult))]
[JsonSerializable(typeof(WorkerMessage))]
[JsonSerializable(typeof(ModelManifest))]
internal sealed partial class ProtocolContracts : JsonSerializerContext;

public static class Protocol
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        // The generated contracts first; any other type by reflection, as before.
        TypeInfoResolver = JsonTypeInfoResolver.Combine(ProtocolContracts.Default, new DefaultJsonTypeInfoResolver()),
    };

    /// <summary>Builds the JSON contracts of a job's result (fifteen types) by a round trip of one with an element
    /// in each list. The first real result paid for that: ~0.06 s in the worker that wrote it and ~0.08 s in the
    /// orchestrator that read it, measured, while both waited. Called where a process has time to spare (a worker
    /// while libtorch loads, the orchestrator while the first job runs).</summary>
    public static void PrepareResultContracts()
    {
        string? One(Type t) => !t.IsGenericType ? null
            : t.GetGenericTypeDefinition() == typeof(List<>) ? "[{}]"
            : t == typeof(Dictionary<string, string>) ? "{\"k\":\"v\"}"
            : t == typeof(Dictionary<string, double>) ? "{\"k\":1}" : null;
        var members = typeof(JobResult).GetProperties().Where(p => One(p.PropertyType) != null)
            .Select(p => $"\"{Json.PropertyNamingPolicy!.ConvertName(p.Name)}\":{One(p.PropertyType)}");
        var text = $"{{\"kind\":\"pretrain\",\"subject\":\"-\",{string.Join(",", members)}}}";
        JsonSerializer.Serialize(JsonSerializer.Deserialize<JobResult>(text, Json), Json);
    }

    /// <summary>Writes a file whole or not at all. The temporary file is this writer's own: two processes writing
    /// the same file at once (two orchestrators recording one corpus) each rename a complete copy.</summary>
    public static void WriteAtomically(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var tmp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, true);
    }

    public static T Read<T>(string path, string what)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllText(path), Json)
                   ?? throw new InvalidDataException($"empty {what} {path}");
        }
        catch (JsonException e) { throw new InvalidDataException($"unreadable {what} {path}: {e.Message}"); }
    }

    public static string Sha256(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(f));
    }
}
