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
    /// <summary>`orchestrator worker --serve`: runs the jobs whose ticket paths arrive on stdin, one line each,
    /// one after another, saying after each that it finished (<see cref="WorkerMessage.Finished"/>). A process
    /// start costs ~0.8 s before the first step (runtime, libtorch, JIT, data) — as much as a small job's compute —
    /// and a served job starts in ~0.05 s. A failed job ends the process, so nothing runs after a failure in it;
    /// stdin closed ends it too.</summary>
    public static int Serve(TextReader input, TextWriter log)
    {
        ParentDeath.KillMeWithParent();
        ResolveNativeEntryPoints();
        // libtorch loads (~0.4 s) beside the first ticket's reading and data preparation, which do not need it. It
        // loads on a thread of its own, and no other thread or process starts until it is loaded: a starting thread
        // waits for the loader's lock that libtorch's initialisers hold, and a collection then waits for that thread
        // (WorkerExit.RuntimeSettings; strace showed a thread-pool thread for git delay the first ticket ~0.3 s).
        // So git names the commit (two processes) after the load, on this same thread.
        var loaded = new TaskCompletionSource();
        var loader = new Thread(() =>
        {
            try { defaultThreads = get_num_threads(); }
            catch (Exception e) { loaded.SetException(e); return; }
            loaded.SetResult();
            Provenance.Commit();
        }) { IsBackground = true, Name = "libtorch load" };
        loader.Start();
        torchLoaded = loaded.Task;
        while (input.ReadLine() is { } line)
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            int code = Main(line.Trim(), log);
            if (code != 0) return code;
            log.WriteLine(WorkerMessage.Finished().ToLine());
            log.Flush();
            // What a job left behind goes now, not during the next one (its tensors' native memory included).
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            // …and glibc gives the freed heap back, so that the next job's peak memory (counted from the resident set
            // at its start) does not carry this one's.
            NativeHeap.Trim();
        }
        return 0;
    }

    /// <summary>Binds, before libtorch loads, the runtime's native entry points that a first job's ticket,
    /// configuration and data need. A native entry point is bound at its first call, under the dynamic loader's
    /// lock, which libtorch's initialisers hold for the ~0.4 s of its loading: each first call (a clock read, a
    /// read from stdin, a file written or a folder listed) waited that long, and the work meant to run beside
    /// the load ran after it. The list is what a breakpoint on dlsym showed the main thread binding there.</summary>
    static void ResolveNativeEntryPoints()
    {
        _ = Stopwatch.GetTimestamp();
        using (var stdin = Console.OpenStandardInput()) _ = stdin.Read([]);     // read(2) of 0 bytes: returns at once
        using (var wait = new ManualResetEventSlim()) wait.Wait(1);            // a thread's first blocking wait
        var self = new FileInfo(typeof(Worker).Assembly.Location);
        _ = (self.Length, self.LastWriteTimeUtc, self.Attributes);
        if (Directory.Exists(self.DirectoryName))                              // stat(2), where File.Exists lstats
            foreach (var file in Directory.GetFiles(self.DirectoryName, "*.runtimeconfig.json"))
                _ = File.Exists(file) ? File.ReadAllText(file) : null;         // a file found and read
        DeviceInfo.ResetPeakMemory();                                          // a file written
    }

    /// <summary>Threads at start, for a served job whose ticket leaves them to the worker (0).</summary>
    static int? defaultThreads;

    /// <summary>A served worker's libtorch, loading in the background until the first job needs it.</summary>
    static Task? torchLoaded;

    /// <summary>Whether this worker built its result's JSON contracts while libtorch loaded.</summary>
    static bool resultContractsPrepared;

    public static int Main(string ticketPath, TextWriter log)
    {
        var clock = Stopwatch.StartNew();
        ParentDeath.KillMeWithParent();
        var ticket = JobTicket.Load(ticketPath);
        try
        {
            var (cfg, data) = Prepare(ticket);
            if (torchLoaded is { IsCompleted: false } && !resultContractsPrepared)
            {
                Protocol.PrepareResultContracts();
                resultContractsPrepared = true;
            }
            double prepared = clock.Elapsed.TotalSeconds;
            torchLoaded?.GetAwaiter().GetResult();
            Run(ticket, cfg, data, log, clock, clock.Elapsed.TotalSeconds - prepared);
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

    /// <summary>What a job needs before libtorch: its configuration and data. Nothing here may touch TorchSharp:
    /// while a served worker's libtorch loads, a first use of its types waits for that (the type's initialiser
    /// loads it), and this work would no longer run beside the load.</summary>
    static (RunConfig Cfg, Dataset Data) Prepare(JobTicket ticket)
    {
        FaultInjection.At(ticket.Subject, "start");
        var cfg = RunConfig.From(ConfigValues.FromJson(ticket.ConfigJson));
        // A served job's peak memory is its own: the process's peak resident set starts again here.
        DeviceInfo.ResetPeakMemory();
        return (cfg, Dataset.Prepare(cfg.Data, cfg.Model));
    }

    static void Run(JobTicket ticket, RunConfig cfg, Dataset data, TextWriter log, Stopwatch clock, double waited)
    {
        if ((ticket.Threads > 0 ? ticket.Threads : defaultThreads) is int threads) set_num_threads(threads);
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
        var (train, valid, test) = data.Corpus.Counts;
        log.WriteLine($"data: {data.Corpus.Source} ({train}/{valid}/{test} documents, {data.Train.Length} train " +
                      $"tokens), tokenizer {data.TokenizerPath}");
        log.WriteLine($"start-up: {clock.Elapsed.TotalSeconds:F2} s before the recipe ({data.Timings}; then " +
                      $"{waited:F2} s waiting for libtorch to load)");
        double startup = clock.Elapsed.TotalSeconds;
        Recipe.Run(new JobContext(ticket, cfg, data, device, result, log, clock));
        // The worker's own time split, for the sweep benchmark's overhead ratio (jobs.provenance_json).
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        result.Provenance["startup_seconds"] = startup.ToString("F3", inv);
        result.Provenance["recipe_seconds"] = (clock.Elapsed.TotalSeconds - startup).ToString("F3", inv);
        result.Provenance["finished_at"] = DateTime.UtcNow.ToString("O");
        Provenance.AddCommit(result.Provenance);
        result.Save(ticket.ResultPath);
    }

    /// <summary>Ends the worker process at once, its result file closed and its output flushed: the runtime's and
    /// libtorch's teardown took ~0.15 s (measured), which the sweep waited for before it could go on.</summary>
    public static void Exit(int code)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        if (OperatingSystem.IsLinux()) _exit(code);
        Environment.Exit(code);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "_exit")]
    static extern void _exit(int status);

    static string DeviceName(Device d) => d.type == DeviceType.CUDA
        ? $"cuda:{Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES") ?? "0"}"
        : $"cpu ({Environment.ProcessorCount} cores, {get_num_threads()} threads)";
}
