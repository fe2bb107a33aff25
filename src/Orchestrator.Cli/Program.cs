using Orchestrator.Cli;
using Orchestrator.Analysis;
using Orchestrator.Execution;
using Orchestrator.Reports;
using Orchestrator.Results;
using Orchestrator.Specs;

// orchestrator <command> [options]; see `orchestrator help`.
return Cli.Run(args);

namespace Orchestrator.Cli
{
    public static partial class Cli
    {
        const string Usage = """
            usage: orchestrator <command> [options]
              sweep  [--spec FILE] [--retry-failed] [--reevaluate] [--force] [--devices cpu|cuda:0,cuda:1]
                     [--jobs-per-device N] [--max-jobs N] [--lease-seconds S] [--executor local|slurm] [--no-report]
                     [key=value …]
                     --reevaluate: evaluate finished runs again from their stored fine-tuned models (no retraining)
                     --force: recompute everything, bases and fine-tunes included
              plan   [--spec FILE] [--retry-failed] [--reevaluate] [--force] [key=value …]
                     the runs with their status and the job graph a sweep would run; runs nothing
              status [--sweep NAME]                     a sweep's state from the database (SLURM job ids and states)
              cancel --sweep NAME                       scancel the sweep's SLURM jobs (`make sweep` again re-runs them)
              query  SQL | --name NAME [--format table|csv|json] [--timeout S]   read-only SQL (stopped after S s, 30)
              report --sweep NAME | --sweeps "A B"      results/<sweep>/report.html from the database
              worker JOB.json                           run one job (started by `sweep`)
              bench  [moe|store|all] [--rounds N]       benchmarks; figures to results/bench/*.json
            overrides: key.path=value (relative to base:), e.g. finetune.steps=50 seeds=[0]
            """;

        public static int Run(string[] args)
        {
            Orchestrator.Moe.Routing.Routers.Register();
            if (args.Length == 0
                || args[0] is "help" or "--help" or "-h") { Console.WriteLine(Usage); return args.Length == 0 ? 2 : 0; }
            var rest = args[1..];
            try
            {
                return args[0] switch
                {
                    "sweep" => Sweep(rest),
                    "plan" => Plan(rest),
                    "status" => Status(rest),
                    "cancel" => Cancel(rest),
                    "query" => Query(rest),
                    "report" => Report(rest),
                    "worker" => WorkerMain(rest),
                    "bench" => Bench(rest),
                    _ => Fail($"unknown command '{args[0]}'\n{Usage}"),
                };
            }
            catch (SpecException e)
            {
                Console.Error.WriteLine($"invalid spec: {e.Errors.Count} error{(e.Errors.Count == 1 ? "" : "s")}");
                foreach (var err in e.Errors) Console.Error.WriteLine("  " + err);
                return 2;
            }
            catch (UsageException e) { return Fail(e.Message); }
            catch (ExecutorUnavailableException e) { return Fail(e.Message); }
            catch (Exception e) { return Failure(e); }
        }

        sealed class UsageException(string m) : Exception(m);

        static int Fail(string message)
        {
            Console.Error.WriteLine("error: " + message);
            return 2;
        }

        sealed record Options(Dictionary<string, string?> Flags, List<string> Positional);

        /// <summary>Switches (flags without a value) each command takes; any other flag is a usage error.</summary>
        static readonly string[] SweepSwitches = ["retry-failed", "force", "reevaluate", "no-report"];

        static Options Parse(string[] args, params string[] flagsWithValue) => Parse(args, [], flagsWithValue);

        static Options Parse(string[] args, string[] switches, params string[] flagsWithValue)
        {
            var flags = new Dictionary<string, string?>();
            var pos = new List<string>();
            for (int i = 0; i < args.Length; i++)
            {
                if (args[i].StartsWith("--"))
                {
                    var name = args[i][2..];
                    int eq = name.IndexOf('=');
                    var bare = eq >= 0 ? name[..eq] : name;
                    if (!flagsWithValue.Contains(bare) && !switches.Contains(bare))
                    {
                        var known = flagsWithValue.Concat(switches).ToList();
                        var hint = ConfigSchema.Suggest(bare, known);
                        var didYouMean = hint != null ? $" — did you mean --{hint}?" : "";
                        var list = string.Join(", ", known.Select(k => "--" + k));
                        throw new UsageException($"unknown flag --{bare}{didYouMean}" +
                                                 (known.Count > 0 ? $" (known: {list})" : ""));
                    }
                    if (eq >= 0) flags[name[..eq]] = name[(eq + 1)..];
                    else if (flagsWithValue.Contains(name))
                    {
                        if (i + 1 >= args.Length) throw new UsageException($"--{name} needs a value");
                        flags[name] = args[++i];
                    }
                    else flags[name] = null;
                }
                else pos.Add(args[i]);
            }
            return new Options(flags, pos);
        }

        static string SpecPath(Options o) => o.Flags.GetValueOrDefault("spec") ?? Path.Combine("experiments",
            "default.yaml");

        /// <summary>ARGS from make arrive as one string: split on spaces outside brackets.</summary>
        static List<string> Overrides(IEnumerable<string> positional)
        {
            var list = new List<string>();
            foreach (var p in positional)
            {
                int depth = 0; var cur = new System.Text.StringBuilder();
                foreach (var ch in p)
                {
                    if (ch is '[' or '{') depth++;
                    if (ch is ']' or '}') depth--;
                    if (ch == ' ' && depth == 0) { if (cur.Length > 0) list.Add(cur.ToString()); cur.Clear(); }
                    else cur.Append(ch);
                }
                if (cur.Length > 0) list.Add(cur.ToString());
            }
            return list;
        }

        static int Sweep(string[] args)
        {
            var o = Parse(args, SweepSwitches, "spec", "devices", "jobs-per-device", "max-jobs", "worker",
                "lease-seconds",
                "executor");
            if (o.Flags.GetValueOrDefault("executor") is { } ex && ex is not ("local" or "slurm"))
                throw new UsageException($"--executor must be local or slurm, got '{ex}'");
            // Flag values are checked before anything is read or written.
            int? jobsPerDevice = o.Flags.GetValueOrDefault("jobs-per-device") == "auto" ? ExecutionSettings.AutoJobs
                : IntFlag(o, "jobs-per-device", 1, "or auto"), maxJobs = IntFlag(o, "max-jobs", 0);
            double lease = NumberFlag(o, "lease-seconds", 1) ?? 60;
            var spec = SpecLoader.Load(SpecPath(o), Overrides(o.Positional));
            using var store = ResultStore.Open(Paths.Database);
            var runner = new SweepRunner(store, Console.Out);
            var summary = runner.Run(spec, new SweepOptions(
                RetryFailed: o.Flags.ContainsKey("retry-failed"), Force: o.Flags.ContainsKey("force"),
                Reevaluate: o.Flags.ContainsKey("reevaluate"), Executor: o.Flags.GetValueOrDefault("executor"),
                Devices: o.Flags.GetValueOrDefault("devices"), JobsPerDevice: jobsPerDevice, MaxJobs: maxJobs,
                WorkerCommand: o.Flags.GetValueOrDefault("worker"), LeaseSeconds: lease));
            // The findings are the sweep's answer: recomputed from the store whatever became of its jobs.
            var findings = Findings.Refresh(store, spec.Name);
            if (findings.Count > 0)
                Console.WriteLine($"findings: {findings.Count} claims checked — " + string.Join(", ",
                    Enum.GetValues<Verdict>().Select(v => $"{findings.Count(f => f.Verdict == v)} {Finding.Word(v)}")) +
                    $" (make query SQL=\"SELECT * FROM findings WHERE sweep = '{spec.Name}'\")");
            if (!o.Flags.ContainsKey("no-report"))
            {
                var report = new ReportBuilder(store).Build([spec.Name], Paths.Sweep(spec.Name));
                Console.WriteLine($"report: {report.Html}");
            }
            Console.WriteLine($"database: {Paths.Database}");
            return summary.ExitCode;
        }

        static int? IntFlag(Options o, string name, int min, string? alternative = null)
        {
            if (!o.Flags.TryGetValue(name, out var v)) return null;
            if (int.TryParse(v, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= min) return n;
            throw new UsageException($"--{name} must be an integer ≥ {min}" +
                                     (alternative == null ? "" : " " + alternative) + $", got '{v}'");
        }

        static double? NumberFlag(Options o, string name, double min)
        {
            if (!o.Flags.TryGetValue(name, out var v)) return null;
            var inv = System.Globalization.CultureInfo.InvariantCulture;
            if (double.TryParse(v, System.Globalization.NumberStyles.Float, inv, out var x) && x >= min) return x;
            throw new UsageException($"--{name} must be a number ≥ {min.ToString(inv)}, got '{v}'");
        }

        static int Plan(string[] args)
        {
            var o = Parse(args, ["retry-failed", "force", "reevaluate"], "spec");
            var spec = SpecLoader.Load(SpecPath(o), Overrides(o.Positional));
            var opt = new GraphOptions(RetryFailed: o.Flags.ContainsKey("retry-failed"),
                Force: o.Flags.ContainsKey("force"),
                Reevaluate: o.Flags.ContainsKey("reevaluate"));
            if (!File.Exists(Paths.Database))
            {
                PlanPrinter.Print(spec, StoreLookup.Empty, opt, Console.Out);
                return 0;
            }
            return WithReadOnly(s =>
            {
                PlanPrinter.Print(spec, new StoreLookup(s, spec.Runs), opt, Console.Out);
                return 0;
            });
        }

        static T WithReadOnly<T>(Func<ResultStore, T> f)
        {
            using var s = ResultStore.OpenReadOnly(Paths.Database);
            return f(s);
        }

        static int Status(string[] args)
        {
            var o = Parse(args, "sweep");
            var sweep = o.Flags.GetValueOrDefault("sweep");
            return WithReadOnly(s =>
            {
                var sql = """
                    SELECT r.run_id, sr.sweep, r.router, r.knobs, r.seed, r.status,
                           CASE WHEN r.status = 'completed' THEN 'evaluated'
                                WHEN coalesce(f.status, '') != 'completed' AND b.status = 'running' THEN 'pretraining'
                                WHEN f.status = 'running' THEN 'fine-tuning'
                                WHEN r.status = 'running' THEN 'evaluating'
                                WHEN f.status = 'completed' THEN 'fine-tuned'
                                ELSE coalesce(f.status, '') END AS stage,
                           r.attempt,
                           CASE WHEN (r.status = 'running' AND r.lease_expires < unixepoch('subsec'))
                                  OR (f.status = 'running' AND f.lease_expires < unixepoch('subsec'))
                                  OR (b.status = 'running' AND b.lease_expires < unixepoch('subsec'))
                                THEN 'stale lease' ELSE '' END AS note,
                           -- the job the run waits on now (SLURM queues an evaluation before its fine-tune ends)
                           CASE WHEN r.status = 'completed' THEN coalesce(r.executor_job_id, '')
                                WHEN coalesce(f.status, '') != 'completed' AND b.status = 'running'
                                  THEN b.executor_job_id
                                WHEN f.status = 'running' THEN f.executor_job_id
                                WHEN r.status = 'running' THEN r.executor_job_id
                                ELSE coalesce(r.executor_job_id, '') END AS job,
                           substr(coalesce(r.error, ''), 1, 80) AS error
                    FROM runs r JOIN sweep_runs sr ON sr.run_id = r.run_id
                    LEFT JOIN finetunes f ON f.finetune_hash = r.finetune_hash
                    LEFT JOIN bases b ON b.base_hash = r.base_hash
                    """ + (sweep != null ? " WHERE sr.sweep = $s" : "") +
                    " ORDER BY sr.sweep, r.router, r.knobs, r.seed";
                var q = s.Query(sql, ("$s", sweep));
                // SLURM jobs: their live state from squeue (or how they ended, from scontrol/sacct).
                int jobCol = q.Columns.ToList().IndexOf("job");
                var slurmIds = q.Rows.Select(r => r[jobCol] as string).Where(x
                    => x != null && x.StartsWith("slurm:")).Select(x => x![6..]).ToList();
                if (slurmIds.Count > 0)
                {
                    var states = Slurm.States(slurmIds);
                    var columns = q.Columns.Append("slurm_state").ToList();
                    var rows = q.Rows.Select(r => r.Append(r[jobCol] is string j && j.StartsWith("slurm:")
                        && r[5] is not "completed"
                        ? states.GetValueOrDefault(j[6..], "") : "").ToArray()).ToList();
                    q = new QueryResult(columns, rows);
                }
                TableWriter.Write(q, "table", Console.Out);
                var counts = q.Rows.GroupBy(r => (string)r[5]!).Select(g => $"{g.Count()} {g.Key}");
                Console.WriteLine("counts: " + string.Join(", ", counts));
                return 0;
            });
        }

        /// <summary>`make cancel SWEEP=x`: scancel every SLURM job the sweep has queued or running. The
        /// orchestrator following them records them as interrupted; `make sweep` again re-runs them.</summary>
        static int Cancel(string[] args)
        {
            var o = Parse(args, "sweep");
            var sweep = o.Flags.GetValueOrDefault("sweep") ?? throw new UsageException("cancel needs --sweep NAME");
            var active = WithReadOnly(s => s.Jobs.ActiveExecutorIds(sweep));
            var slurm = active.Where(a => a.executorId.StartsWith("slurm:")).Select(a
                => a.executorId[6..]).Distinct().ToList();
            if (active.Count > slurm.Count)
                Console.WriteLine($"{active.Count - slurm.Count} local job(s) are running: stop their orchestrator " +
                    $"(Ctrl-C) instead");
            if (slurm.Count == 0) { Console.WriteLine($"sweep {sweep}: no SLURM job queued or running"); return 0; }
            var (rc, _, err) = Slurm.Run("scancel", [.. slurm]);
            if (rc != 0) { Console.Error.WriteLine($"error: scancel failed (exit {rc}): {err.Trim()}"); return 1; }
            Console.WriteLine($"sweep {sweep}: cancelled SLURM job(s) {string.Join(" ", slurm)}; `make sweep` again " +
                $"re-runs them");
            return 0;
        }

        static int Query(string[] args)
        {
            var o = Parse(args, "format", "name", "timeout");
            var timeout = TimeSpan.FromSeconds(NumberFlag(o, "timeout", 0.1) ?? 30);
            var format = o.Flags.GetValueOrDefault("format") ?? "table";
            if (format is not ("table" or "csv" or "json")) throw new UsageException($"--format must be table, csv " +
                $"or json, got '{format}'");
            string sql;
            if (o.Flags.TryGetValue("name", out var name))
            {
                var file = Path.Combine(Paths.RepoRoot, "experiments", "queries", name + ".sql");
                if (!File.Exists(file))
                {
                    var folder = Path.GetDirectoryName(file)!;
                    var known = Directory.Exists(folder)
                        ? Directory.GetFiles(folder, "*.sql").Select(Path.GetFileNameWithoutExtension) : [];
                    throw new UsageException($"no named query '{name}' (known: {string.Join(", ", known)})");
                }
                sql = File.ReadAllText(file);
            }
            else sql = string.Join(" ", o.Positional);
            if (string.IsNullOrWhiteSpace(sql)) throw new UsageException("give a SQL statement or --name NAME");
            return WithReadOnly(s =>
            {
                try { TableWriter.Write(s.QueryReadOnly(sql, timeout), format, Console.Out); return 0; }
                catch (Exception e) when (e is ReadOnlyViolationException or QueryTimeoutException
                                              or Microsoft.Data.Sqlite.SqliteException)
                {
                    Console.Error.WriteLine("error: " + e.Message);
                    return 1;
                }
            });
        }

        static int Report(string[] args)
        {
            var o = Parse(args, "sweep", "sweeps", "out");
            var sweeps = (o.Flags.GetValueOrDefault("sweeps") ?? o.Flags.GetValueOrDefault("sweep") ?? "")
                .Split(' ', ',', StringSplitOptions.RemoveEmptyEntries).ToList();
            if (sweeps.Count == 0) throw new UsageException("report needs --sweep NAME or --sweeps \"A B\"");
            return WithReadOnly(s =>
            {
                var known = s.Query("SELECT name FROM sweeps").Rows.Select(r => (string)r[0]!).ToHashSet();
                var missing = sweeps.Where(x => !known.Contains(x)).ToList();
                if (missing.Count > 0) throw new UsageException($"unknown sweep(s): {string.Join(", ", missing)} " +
                    $"(known: {string.Join(", ", known.Order())})");
                using (var writable = ResultStore.Open(Paths.Database))
                    foreach (var sweep in sweeps) Findings.Refresh(writable, sweep);
                var dir = o.Flags.GetValueOrDefault("out")
                    ?? Paths.Sweep(sweeps.Count == 1 ? sweeps[0] : string.Join("+", sweeps));
                var r = new ReportBuilder(s).Build(sweeps, dir);
                Console.WriteLine($"report: {r.Html}\nmarkdown: {r.Markdown}\nplots: {r.Plots.Count}");
                return 0;
            });
        }

        static int Bench(string[] args)
        {
            var o = Parse(args, "rounds", "tokens", "runs", "gate-scale");
            var what = o.Positional.FirstOrDefault() ?? "all";
            if (what is not ("moe" or "store" or "sweep" or "all"))
                throw new UsageException($"bench what? moe, store, sweep or all (got '{what}')");
            if (what is "moe" or "all")
            {
                var opt = new Orchestrator.Cli.Bench.MoeLayerBench.Options();
                if (o.Flags.TryGetValue("rounds", out var r)) opt = opt with { Rounds = int.Parse(r!) };
                if (o.Flags.TryGetValue("tokens", out var t)) opt = opt with { Tokens = int.Parse(t!) };
                if (o.Flags.TryGetValue("gate-scale", out var g)) opt = opt with { GateScale = double.Parse(g!,
                    System.Globalization.CultureInfo.InvariantCulture) };
                var result = Orchestrator.Cli.Bench.MoeLayerBench.Run(opt, Console.Out);
                var path = Path.Combine(Paths.Bench, "moe_layer.json");
                Orchestrator.Cli.Bench.MoeLayerBench.Write(result, path);
                Console.WriteLine($"written: {path}");
            }
            if (what is "sweep" or "all")
            {
                var path = Path.Combine(Paths.Bench, "sweep.json");
                Orchestrator.Cli.Bench.MoeLayerBench.Write(Orchestrator.Cli.Bench.SweepBench.Run(Console.Out), path);
                Console.WriteLine($"written: {path}");
            }
            if (what is "store" or "all")
            {
                int runs = o.Flags.TryGetValue("runs", out var n) ? int.Parse(n!) : 10_000;
                var result = Orchestrator.Cli.Bench.StoreBench.Run(runs, Console.Out);
                var path = Path.Combine(Paths.Bench, "store.json");
                Orchestrator.Cli.Bench.MoeLayerBench.Write(result, path);
                Console.WriteLine($"written: {path}");
            }
            return 0;
        }

        static int WorkerMain(string[] args)
        {
            if (args.Length != 1) throw new UsageException("worker needs exactly one JOB.json");
            try
            {
                return Worker.Main(args[0], Console.Out);
            }
            catch (Exception e)       // the ticket itself could not be read
            {
                Console.Error.WriteLine(e);
                Console.Out.WriteLine(Orchestrator.Core.WorkerMessage.Error(e.Message).ToLine());
                return 1;
            }
        }
    }
}
