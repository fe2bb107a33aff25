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
}
