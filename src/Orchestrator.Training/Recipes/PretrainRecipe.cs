using Orchestrator.Moe;

namespace Orchestrator.Training.Recipes;

/// <summary>Pretraining a base: a top-k MoE language model on the corpus mixed with task samples
/// (data.task_mix), every parameter trained; saved as the checkpoint every run on this base starts from.</summary>
public static class PretrainRecipe
{
    public static void Run(JobContext job)
    {
        var cfg = job.Config;
        var model = new MoeTransformer(cfg.Model, RouterConfig.TopK(cfg.PretrainK), job.Device);
        var rng = new Random(unchecked((int)cfg.PretrainSeed * 7919 + 1));
        int s = cfg.Model.Context + 1;
        double lastWall = 0;
        double Valid() => Evaluator.TextLoss(model, job.Data.Valid, cfg.Model.Context, 4);
        Trainer.Train(model, cfg.Pretrain, model.parameters(),
            _ => job.MixedBatch(cfg.Pretrain.BatchSize, rng, u => !(u < cfg.Data.TaskMix),
                () => job.Data.TaskRow(cfg.Data.Tasks, 1, cfg.Data.MaxDifficulty, s, rng, cfg.Data.DifficultyMix)),
            m => { job.Record("pretrain", m); job.Progress("pretrain", m,
                cfg.Pretrain.Steps); lastWall = m.WallSeconds; },
            step => job.Result.Steps.Add(new MetricPoint("valid_loss", step, Valid(), lastWall, "pretrain")));
        double valid = Valid();
        job.Result.Steps.Add(new MetricPoint("valid_loss", cfg.Pretrain.Steps, valid, lastWall, "pretrain"));
        job.Log.WriteLine($"pretrain done: valid loss {valid:F4}");
        Checkpoints.Save(model, job);
    }
}
