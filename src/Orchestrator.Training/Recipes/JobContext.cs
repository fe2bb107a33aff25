using System.Diagnostics;
using Orchestrator.Training.Data;
using static TorchSharp.torch;

namespace Orchestrator.Training.Recipes;

/// <summary>What a recipe works with: the ticket, its typed configuration, the prepared data, the device,
/// the result it fills in, and the worker's output (log text and protocol messages).</summary>
public sealed record JobContext(JobTicket Ticket, RunConfig Config, Dataset Data, Device Device, JobResult Result,
    TextWriter Log, Stopwatch Clock)
{
    public void Say(WorkerMessage message)
    {
        Log.WriteLine(message.ToLine());
        Log.Flush();
    }

    /// <summary>Every tenth step and the last, a progress message.</summary>
    public void Progress(string phase, StepMetrics m, int total)
    {
        if (m.Step % 10 == 0 || m.Step == total - 1)
            Say(WorkerMessage.Progress(phase, m.Step + 1, total, m.Loss, m.WallSeconds, m.MeanExperts));
    }

    public void Record(string phase, StepMetrics m)
    {
        var steps = Result.Steps;
        steps.Add(new MetricPoint("train_loss", m.Step, m.Loss, m.WallSeconds, phase));
        steps.Add(new MetricPoint("aux_loss", m.Step, m.AuxLoss, m.WallSeconds, phase));
        steps.Add(new MetricPoint("lr", m.Step, m.Lr, m.WallSeconds, phase));
        steps.Add(new MetricPoint("mean_experts_per_token", m.Step, m.MeanExperts, m.WallSeconds, phase));
        steps.Add(new MetricPoint("tokens_per_second", m.Step, m.TokensPerSecond, m.WallSeconds, phase));
        foreach (var (key, value) in m.Routing ?? new Dictionary<string, double>())
            steps.Add(new MetricPoint(key, m.Step, value, m.WallSeconds, phase));
    }

    /// <summary>A batch of (B, S + 1) token ids on the device: for each row one uniform draw u decides
    /// between a window of corpus text (isText(u)) and a task sample drawn by `task`.</summary>
    public Tensor MixedBatch(int rows, Random rng, Func<double, bool> isText, Func<int[]> task)
    {
        int s = Config.Model.Context + 1;
        var list = new List<int[]>(rows);
        for (int i = 0; i < rows; i++)
            list.Add(isText(rng.NextDouble()) ? Dataset.Window(Data.Train, s, rng) : task());
        return Trainer.ToBatch(list, Device);
    }
}

/// <summary>The body of each kind of job, as its worker runs it.</summary>
public static class Recipe
{
    public static void Run(JobContext job)
    {
        switch (job.Ticket.Kind)
        {
            case JobKind.Pretrain: PretrainRecipe.Run(job); break;
            case JobKind.Finetune: FinetuneRecipe.Run(job); break;
            default: EvaluateRecipe.Run(job); break;
        }
    }
}
