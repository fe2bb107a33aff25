using System.Diagnostics;
using Orchestrator.Training;
using Orchestrator.Training.Data;
using Orchestrator.Training.Recipes;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Execution;

/// <summary>A worker process (`orchestrator worker JOB.json`): a thin adapter that reads its ticket, sets up
/// threads, device, seed and data, runs the job's recipe (Training/Recipes) and writes the result file.
/// Progress and a failure's reason go to stdout as protocol messages; the database is never touched.</summary>
public static class Worker
{
    public static int Main(string ticketPath, TextWriter log)
    {
        var clock = Stopwatch.StartNew();
        ParentDeath.KillMeWithParent();
        var ticket = JobTicket.Load(ticketPath);
        try
        {
            FaultInjection.At(ticket.Subject, "start");
            var cfg = RunConfig.From(ConfigValues.FromJson(ticket.ConfigJson));
            if (ticket.Threads > 0) set_num_threads(ticket.Threads);
            var device = DeviceInfo.Resolve(ticket.Device);
            // A base pretrains with its own seed (pretrain.seed, when fixed, is shared by every seed of the sweep).
            long seed = ticket.Kind == JobKind.Pretrain ? cfg.PretrainSeed : cfg.Seed;
            Trainer.Seed(seed);
            var result = new JobResult
            {
                Kind = ticket.Kind, Subject = ticket.Subject, InputHash = ticket.Input?.Hash,
                Provenance = Provenance.Collect(ticket, DeviceName(device)),
            };
            result.Provenance["seed"] = seed.ToString();
            foreach (var (k, v) in DeviceInfo.Describe(device)) result.Provenance[k] = v;
            // Where the loaded libtorch does not say its version (the build's copy), the package the build used does.
            result.Provenance.TryAdd("libtorch", result.Provenance["libtorch_package"]);
            // The model the job started from, by its hash: a run's provenance names the fine-tune it evaluated.
            if (ticket.Input is { } input)
                result.Provenance[ticket.Kind == JobKind.Evaluate ? "finetune_hash" : "base_hash"] = input.Hash;
            var data = Dataset.Prepare(cfg.Data, cfg.Model);
            log.WriteLine($"data: {data.Corpus.Source} ({data.Corpus.Train.Count}/{data.Corpus.Valid.Count}/" +
                          $"{data.Corpus.Test.Count} documents, {data.Train.Length} train tokens), tokenizer " +
                          $"{data.TokenizerPath}");
            log.WriteLine($"start-up: {clock.Elapsed.TotalSeconds:F2} s before the recipe ({data.Timings})");
            double startup = clock.Elapsed.TotalSeconds;
            Recipe.Run(new JobContext(ticket, cfg, data, device, result, log, clock));
            // The worker's own time split, for the sweep benchmark's overhead ratio (jobs.provenance_json).
            var inv = System.Globalization.CultureInfo.InvariantCulture;
            result.Provenance["startup_seconds"] = startup.ToString("F3", inv);
            result.Provenance["recipe_seconds"] = (clock.Elapsed.TotalSeconds - startup).ToString("F3", inv);
            result.Provenance["finished_at"] = DateTime.UtcNow.ToString("O");
            result.Save(ticket.ResultPath);
            return 0;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine(e);
            log.WriteLine(WorkerMessage.Error(e.Message).ToLine());
            log.Flush();
            return 1;
        }
    }

    static string DeviceName(Device d) => d.type == DeviceType.CUDA
        ? $"cuda:{Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES") ?? "0"}"
        : $"cpu ({Environment.ProcessorCount} cores, {get_num_threads()} threads)";
}
