using Orchestrator.Moe;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Training.Recipes;

/// <summary>Checkpoints as jobs write and read them: model.bin written atomically and hashed once, with its
/// manifest (model.json) beside it; a checkpoint read is verified once, against the sha256 the database
/// recorded (or, for a job queued before its input existed, the manifest's).</summary>
public static class Checkpoints
{
    public static void Save(MoeTransformer model, JobContext job, TrainingSummary? training = null)
    {
        var dir = job.Ticket.OutputDir ?? throw new InvalidDataException($"job {job.Ticket.Key} has no output folder");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "model.bin");
        var tmp = path + ".tmp";
        try
        {
            FaultInjection.DiskFullAt(job.Ticket.Subject, tmp);
            model.save(tmp);
        }
        catch (IOException)
        {
            File.Delete(tmp);       // a full disk keeps no half-written checkpoint (and gets its space back)
            throw;
        }
        var sha = Protocol.Sha256(tmp);
        var size = new FileInfo(tmp).Length;
        File.Move(tmp, path, true);
        new ModelManifest(sha, size, training).Save(path);
        job.Result.Artifacts.Add(new ArtifactRow(path, "checkpoint", sha, size));
    }

    /// <summary>The job's input checkpoint, verified; its manifest (null for a model stored before
    /// manifests).</summary>
    public static (string path, ModelManifest? manifest) VerifiedInput(JobContext job, string what)
    {
        var input = job.Ticket.Input ?? throw new InvalidDataException($"job {job.Ticket.Key} has no input model");
        if (!File.Exists(input.Checkpoint)) throw new FileNotFoundException($"{what} checkpoint missing: " +
            $"{input.Checkpoint}");
        var manifest = ModelManifest.TryLoad(input.Checkpoint);
        var expected = input.Sha256 ?? manifest?.Sha256;
        var sha = Protocol.Sha256(input.Checkpoint);
        if (expected != null && sha != expected)
            throw new InvalidDataException($"{what} checkpoint {input.Checkpoint} has sha256 {sha}, expected " +
                $"{expected}");
        job.Result.Artifacts.Add(new ArtifactRow(input.Checkpoint, what + "_checkpoint", sha,
            new FileInfo(input.Checkpoint).Length));
        return (input.Checkpoint, manifest);
    }

    /// <summary>A fine-tuned model from its checkpoint: the architecture is rebuilt as fine-tuning left it
    /// (router converted; LoRA adapters where fine-tuning added them) so that every parameter name matches.</summary>
    public static MoeTransformer LoadFinetuned(RunConfig cfg, string checkpoint, Device device)
    {
        var model = new MoeTransformer(cfg.Model, RouterConfig.TopK(cfg.PretrainK), device);
        model.ConvertRouter(cfg.Router);
        // Allocator-trained routers (Ada-K) leave the model frozen: no adapters were added.
        if (cfg.Finetune.Mode == "lora" && cfg.Router.Definition.Finetune == FinetuneStrategy.Loss)
            model.EnableLora(cfg.Finetune.LoraRank);
        model.load(checkpoint);
        if (device.type != DeviceType.CPU) model.to(device);
        return model;
    }
}
