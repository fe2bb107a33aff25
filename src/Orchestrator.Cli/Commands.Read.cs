using System.CommandLine;
using Orchestrator.Analysis;
using Orchestrator.Execution;
using Orchestrator.Reports;
using Orchestrator.Results;

namespace Orchestrator.Cli;

/// <summary>The commands that read the result history: status, cancel, query, report and export. Each opens the
/// database read-only (report refreshes the findings it shows) and refuses a sweep name it does not hold.</summary>
public static partial class Cli
{
    static T WithReadOnly<T>(Func<ResultStore, T> f)
    {
        using var s = ResultStore.OpenReadOnly(Paths.Database);
        return f(s);
    }

    static Option<string?> SweepOption(string description) => Text("--sweep", "NAME", description);

    /// <summary>A sweep the store does not hold is a usage error naming the ones it does.</summary>
    static void RequireSweeps(ResultStore s, IReadOnlyCollection<string> sweeps)
    {
        var known = s.Query("SELECT name FROM sweeps ORDER BY name").Rows.Select(r => (string)r[0]!).ToList();
        var missing = sweeps.Where(x => !known.Contains(x)).ToList();
        if (missing.Count > 0)
            throw new UsageException($"unknown sweep{(missing.Count == 1 ? "" : "s")} {string.Join(", ", missing)} " +
                                     $"(known: {(known.Count == 0 ? "none yet" : string.Join(", ", known))})");
    }

    static Command StatusCommand()
    {
        var c = new Command("status", "Each run's state and stage from the database (SLURM job ids and states too)");
        var sweep = SweepOption("only this sweep's runs");
        var format = FormatOption();
        AddOptions(c, sweep, format);
        c.SetAction(p => WithReadOnly(s =>
        {
            var name = p.GetValue(sweep);
            if (name != null) RequireSweeps(s, [name]);
            var q = StatusQuery.Read(s, name);
            TableWriter.Write(q, p.GetValue(format)!, Console.Out);
            if (p.GetValue(format) == "table")
                Console.WriteLine("counts: " + string.Join(", ", q.Rows.GroupBy(r => (string)r[5]!)
                    .Select(g => $"{g.Count()} {g.Key}")));
            return ExitOk;
        }));
        return c;
    }

    /// <summary>`make cancel SWEEP=x`: scancel every SLURM job the sweep has queued or running. The
    /// orchestrator following them records them as interrupted; `make sweep` again re-runs them.</summary>
    static Command CancelCommand()
    {
        var c = new Command("cancel", "scancel a sweep's queued and running SLURM jobs (make sweep re-runs them)");
        var sweep = SweepOption("the sweep whose SLURM jobs to cancel");
        sweep.Required = true;
        c.Options.Add(sweep);
        c.SetAction(p =>
        {
            var name = p.GetValue(sweep)!;
            var active = WithReadOnly(s =>
            {
                RequireSweeps(s, [name]);
                return s.Jobs.ActiveExecutorIds(name);
            });
            var slurm = active.Where(a => a.executorId.StartsWith("slurm:")).Select(a
                => a.executorId[6..]).Distinct().ToList();
            if (active.Count > slurm.Count)
                Console.WriteLine($"{active.Count - slurm.Count} local job(s) are running: stop their orchestrator " +
                                  $"(Ctrl-C) instead");
            if (slurm.Count == 0) { Console.WriteLine($"sweep {name}: no SLURM job queued or running"); return ExitOk; }
            var (rc, _, err) = Slurm.Run("scancel", [.. slurm]);
            if (rc != 0) { Console.Error.WriteLine($"error: scancel failed (exit {rc}): {err.Trim()}"); return 1; }
            Console.WriteLine($"sweep {name}: cancelled SLURM job(s) {string.Join(" ", slurm)}; `make sweep` again " +
                              $"re-runs them");
            return ExitOk;
        });
        return c;
    }

    static Command QueryCommand()
    {
        var c = new Command("query", "Read-only SQL over the result history (SQLite judges every statement; ATTACH " +
                                     "and PRAGMA writes are refused)");
        var sqlArg = new Argument<string[]>("sql") { Arity = ArgumentArity.ZeroOrMore, HelpName = "SQL" };
        var name = Text("--name", "NAME", "a named query: experiments/queries/NAME.sql");
        var format = FormatOption();
        var timeout = Number("--timeout", 0.1, "stop the query after this many seconds (30)");
        c.Arguments.Add(sqlArg);
        RefuseFlags(sqlArg, c);
        AddOptions(c, name, format, timeout);
        c.SetAction(p =>
        {
            string sql;
            if (p.GetValue(name) is { } n)
            {
                var file = Path.Combine(Paths.RepoRoot, "experiments", "queries", n + ".sql");
                if (!File.Exists(file))
                {
                    var folder = Path.GetDirectoryName(file)!;
                    var known = Directory.Exists(folder)
                        ? Directory.GetFiles(folder, "*.sql").Select(Path.GetFileNameWithoutExtension).Order().ToList()
                        : [];
                    throw new UsageException($"no named query '{n}' for --name (known: {string.Join(", ", known)})");
                }
                sql = File.ReadAllText(file);
            }
            else sql = string.Join(" ", p.GetValue(sqlArg) ?? []);
            if (string.IsNullOrWhiteSpace(sql)) throw new UsageException("give a SQL statement or --name NAME");
            var limit = TimeSpan.FromSeconds(p.GetValue(timeout) ?? 30);
            return WithReadOnly(s =>
            {
                try { TableWriter.Write(s.QueryReadOnly(sql, limit), p.GetValue(format)!, Console.Out); return 0; }
                catch (Exception e) when (e is ReadOnlyViolationException or QueryTimeoutException
                                              or Microsoft.Data.Sqlite.SqliteException)
                {
                    Console.Error.WriteLine("error: " + e.Message);
                    return ExitFailure;
                }
            });
        });
        return c;
    }

    static Command ReportCommand()
    {
        var c = new Command("report", "results/<sweep>/report.html and report.md from the database (findings " +
                                      "refreshed first); several sweeps side by side with --sweeps");
        var sweep = SweepOption("the sweep to report");
        var several = Text("--sweeps", "\"A B\"", "sweeps to compare in one report");
        var output = Text("--out", "DIR", "where to write the report (default results/<sweep>/)");
        AddOptions(c, sweep, several, output);
        c.SetAction(p =>
        {
            var sweeps = (p.GetValue(several) ?? p.GetValue(sweep) ?? "")
                .Split(' ', ',', StringSplitOptions.RemoveEmptyEntries).ToList();
            if (sweeps.Count == 0) throw new UsageException("report needs --sweep NAME or --sweeps \"A B\"");
            return WithReadOnly(s =>
            {
                RequireSweeps(s, sweeps);
                using (var writable = ResultStore.Open(Paths.Database))
                    foreach (var x in sweeps) Findings.Refresh(writable, x);
                var dir = p.GetValue(output) ?? Paths.Sweep(sweeps.Count == 1 ? sweeps[0] : string.Join("+", sweeps));
                var r = new ReportBuilder(s).Build(sweeps, dir);
                Console.WriteLine($"report: {r.Html}\nmarkdown: {r.Markdown}\nplots: {r.Plots.Count}");
                return ExitOk;
            });
        });
        return c;
    }

    static Command ExportCommand()
    {
        var c = new Command("export", "The result history as Parquet files, one per table and view, for pandas, " +
                                      "DuckDB, Spark or a notebook");
        var output = Text("--out", "DIR", "where to write (default results/export/)");
        c.Options.Add(output);
        c.SetAction(p => WithReadOnly(s =>
        {
            var dir = p.GetValue(output) ?? Path.Combine(Paths.Results, "export");
            var written = ParquetExport.Write(s, dir);
            foreach (var f in written) Console.WriteLine($"{f.Rows,9:N0} rows  {f.Path}");
            Console.WriteLine($"exported {written.Count} tables and views to {dir}");
            return ExitOk;
        }));
        return c;
    }
}
