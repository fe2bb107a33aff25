using System.CommandLine;
using Orchestrator.Analysis;
using Orchestrator.Execution;
using Orchestrator.Reports;
using Orchestrator.Results;
using Orchestrator.Specs;

namespace Orchestrator.Cli;

/// <summary>The commands that run work: sweep, plan (what a sweep would run), worker (one job) and bench.
/// </summary>
public static partial class Cli
{
    /// <summary>The spec a sweep or plan reads: --spec FILE and the key.path=value overrides after the flags.</summary>
    sealed record SpecInput(Option<string> Spec, Argument<string[]> Overrides)
    {
        public static SpecInput Add(Command c)
        {
            var input = new SpecInput(new Option<string>("--spec")
            {
                Description = "the experiment spec", HelpName = "FILE",
                DefaultValueFactory = _ => Path.Combine("experiments", "default.yaml"),
            }, OverridesArgument(c));
            c.Options.Add(input.Spec);
            c.Arguments.Add(input.Overrides);
            return input;
        }

        public ExperimentSpec Load(ParseResult p) =>
            SpecLoader.Load(p.GetValue(Spec)!, Cli.Overrides(p.GetValue(Overrides) ?? []));
    }

    static void AddOptions(Command c, params Option[] options)
    {
        foreach (var o in options) c.Options.Add(o);
    }

    /// <summary>The options that decide which jobs a sweep (or its plan) runs.</summary>
    sealed record GraphFlags(Option<bool> RetryFailed, Option<bool> Reevaluate, Option<bool> Force)
    {
        public static GraphFlags Add(Command c)
        {
            var f = new GraphFlags(
                Switch("--retry-failed", "run failed runs and their failed fine-tunes again"),
                Switch("--reevaluate", "evaluate finished runs again from their stored fine-tuned models"),
                Switch("--force", "recompute everything, bases and fine-tunes included"));
            AddOptions(c, f.RetryFailed, f.Reevaluate, f.Force);
            return f;
        }

        public GraphOptions Read(ParseResult p) => new(RetryFailed: p.GetValue(RetryFailed), Force: p.GetValue(Force),
            Reevaluate: p.GetValue(Reevaluate));
    }

    static Command SweepCommand()
    {
        var c = new Command("sweep", "Run a spec's sweep: pretrain each base once, fine-tune per router, evaluate " +
                                     "each run; resumes where a previous sweep stopped. Then findings and report.");
        var spec = SpecInput.Add(c);
        var executor = Choice("--executor", "where jobs run (default: the spec's execution.executor)",
            "local", "slurm");
        executor.DefaultValueFactory = null;
        var devices = Text("--devices", "cpu|cuda:0,cuda:1", "devices jobs are placed on");
        var jobs = Integer("--jobs-per-device", 1, "concurrent jobs per device (auto: by model size and cores)",
            "auto", ExecutionSettings.AutoJobs);
        var maxJobs = Integer("--max-jobs", 0, "stop after starting this many jobs (0: no limit)");
        var lease = Number("--lease-seconds", 1, "how long a job's lease lasts without a heartbeat (60)");
        var worker = Text("--worker", "COMMAND", "the worker command line (tests)");
        worker.Hidden = true;
        var noReport = Switch("--no-report", "skip the HTML/Markdown report");
        AddOptions(c, executor, devices, jobs, maxJobs, lease, worker, noReport);
        var graph = GraphFlags.Add(c);
        c.SetAction(p =>
        {
            var loaded = spec.Load(p);
            using var store = ResultStore.Open(Paths.Database);
            var g = graph.Read(p);
            var summary = new SweepRunner(store, Console.Out).Run(loaded, new SweepOptions(
                RetryFailed: g.RetryFailed, Force: g.Force, Reevaluate: g.Reevaluate, Executor: p.GetValue(executor),
                Devices: p.GetValue(devices), JobsPerDevice: p.GetValue(jobs), MaxJobs: p.GetValue(maxJobs),
                WorkerCommand: p.GetValue(worker), LeaseSeconds: p.GetValue(lease) ?? 60));
            // The findings are the sweep's answer: recomputed from the store whatever became of its jobs.
            var findings = Findings.Refresh(store, loaded.Name);
            if (findings.Count > 0)
                Console.WriteLine($"findings: {findings.Count} claims checked — " + string.Join(", ",
                    Enum.GetValues<Verdict>().Select(v => $"{findings.Count(f => f.Verdict == v)} {Finding.Word(v)}")) +
                    $" (make query SQL=\"SELECT * FROM findings WHERE sweep = '{loaded.Name}'\")");
            if (!p.GetValue(noReport))
            {
                var report = new ReportBuilder(store).Build([loaded.Name], Paths.Sweep(loaded.Name));
                Console.WriteLine($"report: {report.Html}");
            }
            Console.WriteLine($"database: {Paths.Database}");
            return summary.ExitCode;
        });
        return c;
    }

    static Command PlanCommand()
    {
        var c = new Command("plan", "The runs a spec expands to, with their status, and the job graph a sweep with " +
                                    "the same options would run. Runs nothing.");
        var spec = SpecInput.Add(c);
        var format = FormatOption();
        c.Options.Add(format);
        var graph = GraphFlags.Add(c);
        c.SetAction(p =>
        {
            var loaded = spec.Load(p);
            if (!File.Exists(Paths.Database))
            {
                PlanPrinter.Print(loaded, StoreLookup.Empty, graph.Read(p), p.GetValue(format)!, Console.Out);
                return ExitOk;
            }
            using var s = ResultStore.OpenReadOnly(Paths.Database);
            PlanPrinter.Print(loaded, new StoreLookup(s, loaded.Runs), graph.Read(p), p.GetValue(format)!, Console.Out);
            return ExitOk;
        });
        return c;
    }

    static Command WorkerCommand()
    {
        var c = new Command("worker", "Run one job from its ticket, or (--serve) the jobs whose ticket paths " +
                                      "arrive on stdin (started by sweep)") { Hidden = true };
        var ticket = new Argument<string?>("ticket") { HelpName = "JOB.json", Arity = ArgumentArity.ZeroOrOne };
        var serve = new Option<bool>("--serve") { Description = "read ticket paths from stdin, one job per line" };
        c.Arguments.Add(ticket);
        c.Options.Add(serve);
        c.Validators.Add(r =>
        {
            if (r.GetValue(serve) == (r.GetValue(ticket) != null))
                r.AddError("worker needs a ticket (JOB.json) or --serve, not both");
        });
        c.SetAction(p =>
        {
            int code;
            try
            {
                code = p.GetValue(serve) ? Worker.Serve(Console.In, Console.Out)
                    : Worker.Main(p.GetValue(ticket)!, Console.Out);
            }
            catch (Exception e)       // the ticket itself could not be read
            {
                Console.Error.WriteLine(e);
                Console.Out.WriteLine(WorkerMessage.Error(e.Message).ToLine());
                code = ExitFailure;
            }
            Worker.Exit(code);
            return code;
        });
        return c;
    }

    static Command BenchCommand()
    {
        var c = new Command("bench", "Benchmarks, interleaved rounds, figures written to results/bench/*.json");
        var what = new Argument<string>("what")
        {
            Description = "moe (one MoE layer), model (whole model per router: speed-ups against FLOPs, telemetry, " +
                          "MFU), sweep (orchestration overhead), store (SQLite), all of these, or step (the " +
                          "training step of --spec's model on --device, for comparison with tools/gpu/twin.py)",
            DefaultValueFactory = _ => "all", HelpName = "moe|model|sweep|store|all|step",
        };
        what.Validators.Add(r =>
        {
            var text = r.Tokens.Count == 1 ? r.Tokens[0].Value : "all";
            if (FlagShaped().IsMatch(text)) r.AddError(UnknownFlag(c, text));
            else if (text is not ("moe" or "model" or "sweep" or "store" or "all" or "step"))
                r.AddError($"bench what? moe, model, sweep, store, all or step, got '{text}'");
        });
        var rounds = Integer("--rounds", 1, "rounds of the MoE layer, model and sweep benchmarks");
        var tokens = Integer("--tokens", 1, "tokens per MoE layer forward");
        var gate = Number("--gate-scale", 0, "scale of the random gate weights");
        var runs = Integer("--runs", 1, "runs in the store benchmark (10,000)");
        var small = Switch("--default-size-only", "model benchmark: skip the larger model");
        var step = StepOptions.Add(c);
        AddOptions(c, rounds, tokens, gate, runs, small);
        c.Arguments.Add(what);
        c.SetAction(p =>
        {
            var w = p.GetValue(what);
            void Write(System.Text.Json.Nodes.JsonObject result, string file)
            {
                var path = Path.Combine(Paths.Bench, file);
                Bench.MoeLayerBench.Write(result, path);
                Console.WriteLine($"written: {path}");
            }
            if (w is "moe" or "all")
            {
                var opt = new Bench.MoeLayerBench.Options();
                if (p.GetValue(rounds) is { } r) opt = opt with { Rounds = r };
                if (p.GetValue(tokens) is { } t) opt = opt with { Tokens = t };
                if (p.GetValue(gate) is { } g) opt = opt with { GateScale = g };
                Write(Bench.MoeLayerBench.Run(opt, Console.Out), "moe_layer.json");
            }
            if (w is "model" or "all")
            {
                var opt = new Bench.MoeModelBench.Options(Large: !p.GetValue(small));
                if (p.GetValue(rounds) is { } r) opt = opt with { Rounds = r };
                Write(Bench.MoeModelBench.Run(opt, Console.Out), "moe_model.json");
            }
            if (w is "sweep" or "all")
                Write(Bench.SweepBench.Run(Console.Out, p.GetValue(rounds) ?? 7), "sweep.json");
            if (w is "store" or "all")
                Write(Bench.StoreBench.Run(p.GetValue(runs) ?? 10_000, Console.Out), "store.json");
            if (w is "step") Write(step.Run(p), step.FileName(p));
            return ExitOk;
        });
        return c;
    }
}
