using Orchestrator.Execution;

namespace Orchestrator.Tests.Core;

/// <summary>The worker protocol: tickets, results, messages and manifests survive their files unchanged, and a
/// worker's output is read the same way by every executor.</summary>
public class ProtocolTests
{
    [Fact]
    public void Tickets_results_and_manifests_round_trip_through_their_files()
    {
        var dir = Directory.CreateTempSubdirectory("orch-protocol").FullName;
        var ticket = new JobTicket(JobKind.Finetune, "abc", "{\"seed\":0}", dir, new ModelInput("b1", "/m/model.bin", "ff"),
            Path.Combine(dir, "out"), "x.yaml", "orchestrator sweep", "cuda", 4);
        ticket.Save();
        Assert.Equal(ticket, JobTicket.Load(Path.Combine(dir, "job.json")));
        Assert.Equal(JobKey.Finetune("abc"), ticket.Key);
        Assert.Equal("finetune-abc", ticket.Key.Folder);

        var result = new JobResult { Kind = JobKind.Evaluate, Subject = "r1", InputHash = "f1",
            Final = { ["accuracy"] = 0.25, ["nan"] = double.NaN }, Events = [new EventRow("warning", "collapse", 3)] };
        result.Save(ticket.ResultPath);
        var back = JobResult.Load(ticket.ResultPath);
        Assert.Equal((JobKind.Evaluate, "r1", "f1"), (back.Kind, back.Subject, back.InputHash));
        Assert.Equal(0.25, back.Final["accuracy"]);
        Assert.True(double.IsNaN(back.Final["nan"]));
        Assert.Equal(result.Events, back.Events);

        var checkpoint = Path.Combine(dir, "model.bin");
        File.WriteAllText(checkpoint, "weights");
        new ModelManifest(Protocol.Sha256(checkpoint), 7, new TrainingSummary(1.5, 100, null, 2)).Save(checkpoint);
        Assert.Equal(Protocol.Sha256(checkpoint), ModelManifest.TryLoad(checkpoint)!.Sha256);
        Assert.Equal(1.5, ModelManifest.TryLoad(checkpoint)!.Training!.TrainSeconds);

        File.WriteAllText(ticket.ResultPath, "{\"kind\":");                           // a truncated file
        Assert.Contains("unreadable job result", Assert.Throws<InvalidDataException>(() => JobResult.Load(ticket.ResultPath)).Message);
    }

    [Fact]
    public void Progress_and_error_messages_are_told_apart_from_log_text()
    {
        var progress = WorkerMessage.Progress("finetune", 20, 100, 2.5, 10, 1.8);
        Assert.Equal(progress, WorkerMessage.TryParse(progress.ToLine()));
        Assert.Equal("finetune 20/100 loss 2.5000 ETA 40s", progress.Describe());
        Assert.Null(WorkerMessage.TryParse("data: fortunes (1000 documents)"));
        Assert.Null(WorkerMessage.TryParse("{\"type\": broken"));
        var lines = new[] { progress.ToLine(), "plain text", WorkerMessage.Error("first\nline").ToLine(),
                            WorkerMessage.Error("loss is NaN at step 3").ToLine() };
        Assert.Equal("loss is NaN at step 3", WorkerMessage.LastError(lines));
        Assert.Equal("first line", WorkerMessage.TryParse(lines[2])!.Message);
        Assert.Equal("exit code 1: loss is NaN at step 3", WorkerExit.Reason(1, WorkerMessage.LastError(lines)));
        Assert.Equal("killed by signal 9 (SIGKILL)", WorkerExit.Reason(137, null));
    }

    [Fact]
    public void The_generated_contracts_write_and_read_what_reflection_does()
    {
        // The options of Protocol.Json without its generated contracts: contracts built by reflection, as before.
        var reflection = new System.Text.Json.JsonSerializerOptions(Protocol.Json)
        {
            TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(),
        };
        var ticket = new JobTicket(JobKind.Pretrain, "b1", "{\"seed\":3}", "/j", null, "/o", "s.yaml",
            "orchestrator sweep", "cpu", 0);
        var result = new JobResult
        {
            Kind = JobKind.Finetune, Subject = "f1", InputHash = "b1", Provenance = { ["seed"] = "3" },
            Steps = [new MetricPoint("loss", 10, 2.5, 1.25, "finetune")], Final = { ["inf"] = double.PositiveInfinity },
            Tasks = [new TaskEval("addition", 2, 8, 5, 0.7, 1.9)],
            Items = [new ItemResult("addition", 2, 0, true, -0.3, 2, 1.5, 1.75)],
            Layers = [new LayerStats(0, 64, 1.8, [0, 10, 54], 0.1, 0, 0.9, 0.3, 0.01, 4.5, 0, MaxVio: 0.2,
                CoActivation: [1, 2, 3, 4])],
            Experts = [new ExpertLoad(0, 1, 30, 0.25, 0.4)], TokenRoutes = [new TokenRoute(0, "the", 1, [2, 5])],
            Events = [new EventRow("warning", "collapse")], Artifacts = [new ArtifactRow("m.bin", "model", "ab", 9)],
        };
        var manifest = new ModelManifest("ab", 9, new TrainingSummary(1, 2, null, 3, 4e6));
        var messages = new[] { WorkerMessage.Progress("finetune", 3, 9, 2.5, 1, 1.5), WorkerMessage.Error("x"),
            WorkerMessage.Finished() };
        string Both<T>(T value)
        {
            var generated = System.Text.Json.JsonSerializer.Serialize(value, Protocol.Json);
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize(value, reflection), generated);
            return generated;
        }
        Assert.Contains("\"kind\":\"pretrain\"", Both(ticket));
        Assert.Contains("\"input_hash\":\"b1\"", Both(result));
        Assert.Contains("\"inf\":\"Infinity\"", Both(result));
        Both(manifest);
        foreach (var m in messages) Assert.Equal(m, WorkerMessage.TryParse(Both(m)));
        Assert.Equal(ticket, System.Text.Json.JsonSerializer.Deserialize<JobTicket>(Both(ticket), reflection));
        var back = System.Text.Json.JsonSerializer.Deserialize<JobResult>(Both(result), Protocol.Json)!;
        Assert.Equal(Both(result), System.Text.Json.JsonSerializer.Serialize(back, reflection));
    }

    [Fact]
    public void Result_contracts_are_built_ahead_from_an_element_of_every_list()
    {
        // Every collection member of a result takes part (a list, by one element; a dictionary, by one entry), so a
        // member of another kind would be left out; a list whose elements cannot be read from {} fails here, not
        // in a worker's first job.
        var collections = typeof(JobResult).GetProperties().Select(p => p.PropertyType)
            .Where(t => t.IsGenericType).ToList();
        Assert.Equal(13, collections.Count);
        Assert.All(collections, t => Assert.True(t.GetGenericTypeDefinition() == typeof(List<>) ||
            t == typeof(Dictionary<string, string>) || t == typeof(Dictionary<string, double>), t.Name));
        Protocol.PrepareResultContracts();
        var text = System.Text.Json.JsonSerializer.Serialize(new JobResult { Kind = JobKind.Evaluate, Subject = "e" },
            Protocol.Json);
        Assert.Equal("e", System.Text.Json.JsonSerializer.Deserialize<JobResult>(text, Protocol.Json)!.Subject);
    }

    [Fact]
    public void Writers_of_one_file_at_once_each_leave_it_whole()
    {
        // Two orchestrators on one results folder record the same corpus digest at the same moment: with one shared
        // temporary name, one writer's rename took the other's file away from under it ("Could not find file").
        var dir = Directory.CreateTempSubdirectory("orch-atomic").FullName;
        var path = Path.Combine(dir, "digest.txt");
        var texts = Enumerable.Range(0, 8).Select(i => new string((char)('a' + i), 100_000)).ToArray();
        Parallel.For(0, 400, new ParallelOptions { MaxDegreeOfParallelism = 4 },
            i => Protocol.WriteAtomically(path, texts[i % texts.Length]));
        Assert.Contains(File.ReadAllText(path), texts);
        Assert.Equal(["digest.txt"], Directory.GetFiles(dir).Select(Path.GetFileName));
    }
}
