using Orchestrator.Moe;
using Orchestrator.Moe.Checkpoint;

namespace Orchestrator.Training.Recipes;

/// <summary>Pretraining a base: a top-k MoE language model on the corpus mixed with task samples
/// (data.task_mix), every parameter trained; saved as the checkpoint every run on this base starts from. For a
/// pretrained model (model.source: hf:…) the base is loaded and verified instead.</summary>
public static class PretrainRecipe
{
    public static void Run(JobContext job)
    {
        var cfg = job.Config;
        if (cfg.Model.Pretrained)
        {
            LoadAndVerify(job);
            return;
        }
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

    /// <summary>The base of a pretrained model: its checkpoint folder loaded (every tensor mapped, shapes checked
    /// against config.json), each file's sha256 recorded as provenance and as an artifact, its held-out loss
    /// measured on the corpus with its own tokenizer, and saved as the checkpoint the runs start from.</summary>
    static void LoadAndVerify(JobContext job)
    {
        var cfg = job.Config;
        var hf = HfConfig.Read(HfConfig.FolderOf(cfg.Model.Source), cfg.Model.Context, cfg.Model.DType);
        var (model, shards) = HfCheckpoint.Load(hf, job.Device);
        foreach (var s in shards)
        {
            job.Result.Artifacts.Add(new ArtifactRow(Path.Combine(hf.Folder, s.File), "hf_checkpoint", s.Sha256,
                s.Bytes));
            job.Result.Provenance["hf_sha256:" + s.File] = s.Sha256;
            job.Result.Provenance["hf_stamp:" + s.File] = s.Stamp;
        }
        job.Result.Provenance["hf_model_type"] = hf.ModelType;
        double valid = Evaluator.TextLoss(model, job.Data.Valid, cfg.Model.Context, 4);
        job.Result.Steps.Add(new MetricPoint("valid_loss", 0, valid, 0, "pretrain"));
        job.Log.WriteLine($"loaded {hf.ModelType} from {hf.Folder}: {shards.Count} file(s), " +
            $"{model.ParameterCount():N0} parameters, valid loss {valid:F4}");
        Checkpoints.Save(model, job);
    }
}
