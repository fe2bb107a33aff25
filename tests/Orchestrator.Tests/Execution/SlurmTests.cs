using System.Diagnostics;
using Orchestrator.Execution;
using Orchestrator.Results;
using Orchestrator.Specs;

namespace Orchestrator.Tests.Execution;

/// <summary>A real single-node SLURM cluster (Debian's slurm-wlm and munge: slurmctld and slurmd on
/// localhost), started once for these tests by build/slurm-local.sh. Where SLURM cannot run (not root,
/// packages missing), the tests report themselves skipped with the reason — never faked.</summary>
public sealed class LocalSlurm : IDisposable
{
    public string? WhyNot { get; }
    readonly string dir = Path.Combine(Path.GetTempPath(), $"orchestrator-slurm-{Environment.UserName}");

    public LocalSlurm()
    {
        var (rc, output) = Script("start");
        var conf = output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("SLURM_CONF="));
        if (rc != 0 || conf == null) { WhyNot = $"SLURM cannot run here: {output.Trim()}"; return; }
        Environment.SetEnvironmentVariable("SLURM_CONF", conf["SLURM_CONF=".Length..]);
    }

    (int rc, string output) Script(string command)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(Paths.RepoRoot, "build", "slurm-local.sh"), command, dir }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, o.Result + e.Result);
    }

    public void Dispose()
    {
        if (WhyNot == null) Script("stop");
    }
}

[CollectionDefinition("slurm")]
public sealed class SlurmCollection : ICollectionFixture<LocalSlurm>;

[Collection("slurm")]
public class SlurmTests(LocalSlurm slurm)
{
    static string Spec(string name, string routers, int finetuneSteps = 6) => SweepTests.TinySpec
        .Replace("name: tiny", $"name: {name}\nexecution:\n  executor: slurm\n  slurm: {{cpus_per_job: 1, time: \"00:30:00\", poll_seconds: 0.5}}")
        .Replace("finetune: {steps: 6,", $"finetune: {{steps: {finetuneSteps},")
        .Split("sweep:\n")[0] + "sweep:\n  router:\n" + routers;

    static SweepSummary Sweep(ExperimentSpec spec, ResultStore store, StringWriter log) =>
        new SweepRunner(store, log).Run(spec, new SweepOptions(WorkerCommand: $"dotnet {SweepTests.WorkerDll}", LeaseSeconds: 20));

    static long Count(ResultStore s, string sql) => (long)s.Query(sql).Rows[0][0]!;

    static string ArrayOf(object? executorId) => ((string)executorId!)["slurm:".Length..].Split('_')[0];

    static (int rc, string output) Cli(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Paths.RepoRoot };
        psi.ArgumentList.Add(SweepTests.WorkerDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, o.Result + e.Result);
    }

    [SkippableFact]
    public void A_sweep_submitted_as_job_arrays_with_dependencies_completes_and_its_results_are_in_the_database()
    {
        Skip.If(slurm.WhyNot != null, slurm.WhyNot);
        SweepTests.FreshResults();
        var spec = SpecLoader.LoadText(Spec("on-slurm", "    top_k: {k: 2}\n    top_p: {p: 0.4}\n    adaptive_gating: {threshold: 0.2}\n"), "on-slurm.yaml");
        using var store = ResultStore.Open(Paths.Database);
        var log = new StringWriter();
        var summary = Sweep(spec, store, log);
        Assert.True(summary.ExitCode == 0, log.ToString());
        Assert.Equal(3, summary.Completed);
        Assert.Contains("executor: slurm", log.ToString());
        Assert.Equal(3L, Count(store, "SELECT count(*) FROM run_summary WHERE status = 'completed' AND eval_loss > 0 AND flops_per_token > 0"));
        Assert.Equal(6L, Count(store, "SELECT count(*) FROM usage_by_layer"));
        // Every job ran under SLURM: one array for the base, one for the three fine-tunes (afterok on the
        // base), one for the three evaluations (aftercorr on the fine-tunes' array).
        var baseJob = store.Query("SELECT executor_job_id FROM bases").Rows.Single()[0];
        var ft = store.Query("SELECT executor_job_id FROM finetunes").Rows.Select(r => r[0]).ToList();
        var ev = store.Query("SELECT executor_job_id FROM runs").Rows.Select(r => r[0]).ToList();
        Assert.StartsWith("slurm:", (string)baseJob!);
        Assert.Single(ft.Select(ArrayOf).Distinct());
        Assert.Single(ev.Select(ArrayOf).Distinct());
        Assert.Equal(3, new[] { ArrayOf(baseJob), ArrayOf(ft[0]), ArrayOf(ev[0]) }.Distinct().Count());
        // The fine-tunes' and evaluations' task ids correspond (aftercorr).
        Assert.Equal(
            store.Query("SELECT f.executor_job_id FROM runs r JOIN finetunes f USING (finetune_hash) ORDER BY r.run_id").Rows.Select(r => ((string)r[0]!).Split('_')[1]),
            store.Query("SELECT executor_job_id FROM runs ORDER BY run_id").Rows.Select(r => ((string)r[0]!).Split('_')[1]));
        var script = File.ReadAllText(Directory.GetFiles(Paths.SlurmBatches("on-slurm"), "*-evaluate.sbatch").Single());
        Assert.Contains("--requeue", script);
        Assert.Contains("#SBATCH --cpus-per-task=1", script);
        Assert.Contains("#SBATCH --time=00:30:00", script);
        // The workers' .NET settings (WorkerExit.RuntimeSettings) reach the nodes, and the runs record them.
        Assert.Contains("export DOTNET_TieredCompilation=${DOTNET_TieredCompilation:-0}\n", script);
        Assert.Contains("export DOTNET_gcConcurrent=${DOTNET_gcConcurrent:-0}\n", script);
        Assert.All(store.Query("SELECT json_extract(provenance_json, '$.dotnet_settings') FROM runs").Rows,
            r => Assert.Equal("DOTNET_TieredCompilation=0 DOTNET_gcConcurrent=0; GC Batch", r[0]));
        Assert.Empty(Slurm.Queue()!.Keys.Where(k => ev.Concat(ft).Any(id => (string)id! == "slurm:" + k)));

        // make status shows the SLURM job ids.
        var (rc, status) = Cli("status", "--sweep", "on-slurm");
        Assert.True(rc == 0, status);
        foreach (var id in ev) Assert.Contains((string)id!, status);

        // Resume: nothing is submitted again.
        var again = Sweep(spec, store, new StringWriter());
        Assert.Equal(3, again.AlreadyDone);
        Assert.Equal(0, again.Ran);

        // --reevaluate submits the evaluations again (a finished job's old exit code and bundle are not
        // mistaken for a new result) and reproduces their numbers.
        var before = store.Query("SELECT run_id, eval_loss, accuracy FROM runs ORDER BY run_id").Rows.Select(r => (r[0], r[1], r[2])).ToList();
        var reLog = new StringWriter();
        var re = new SweepRunner(store, reLog).Run(spec, new SweepOptions(WorkerCommand: $"dotnet {SweepTests.WorkerDll}", LeaseSeconds: 20, Reevaluate: true));
        Assert.True(re.ExitCode == 0, reLog.ToString());
        Assert.Equal(3, re.Completed);
        Assert.Equal(3, reLog.ToString().Split('\n').Count(l => l.Contains("start eval")));
        Assert.DoesNotContain("adopt", reLog.ToString());
        Assert.Equal(2, Directory.GetFiles(Paths.SlurmBatches("on-slurm"), "*-evaluate.sbatch").Length);
        Assert.Equal(before, store.Query("SELECT run_id, eval_loss, accuracy FROM runs ORDER BY run_id").Rows.Select(r => (r[0], r[1], r[2])).ToList());
        Assert.All(store.Query("SELECT executor_job_id FROM runs").Rows, r => Assert.NotEqual(ArrayOf(ev[0]), ArrayOf(r[0])));
    }

    [SkippableFact]
    public void A_job_cancelled_mid_run_is_re_run_on_resume_and_finished_ones_never_are()
    {
        Skip.If(slurm.WhyNot != null, slurm.WhyNot);
        SweepTests.FreshResults();
        var spec = SpecLoader.LoadText(Spec("cancelled", "    top_k: {k: 2}\n    top_p: {p: 0.4}\n", finetuneSteps: 1500), "cancelled.yaml");
        using var store = ResultStore.Open(Paths.Database);
        var log = new StringWriter();
        var sweep = Task.Run(() => Sweep(spec, store, log));
        // Wait until a fine-tune is running under SLURM, then cancel that one job.
        var victim = WaitForRunningFinetune(() => sweep.IsCompleted, () => log.ToString());
        // make status: the run's stage, its current SLURM job and that job's live state.
        var (statusRc, status) = Cli("status", "--sweep", "cancelled");
        Assert.True(statusRc == 0, status);
        var line = status.Split('\n').Single(l => l.Contains($"slurm:{victim}"));
        Assert.Contains("fine-tuning", line);
        Assert.Contains("RUNNING", line);
        Assert.Equal(0, Slurm.Run("scancel", victim!).rc);
        var first = sweep.Result;
        Assert.Equal(1, first.Interrupted);
        Assert.Equal(1, first.Completed);
        Assert.Equal(1, first.Skipped);                       // the cancelled fine-tune's evaluation
        Assert.NotEqual(0, first.ExitCode);
        Assert.Contains($"SLURM job {victim} ended CANCELLED", log.ToString());
        var ftHash = FinetuneOf(store, victim!);
        Assert.Equal("pending", store.Query("SELECT status FROM finetunes WHERE finetune_hash = $f", ("$f", ftHash)).Rows[0][0]);
        Assert.Equal(1L, Count(store, "SELECT count(*) FROM events WHERE kind = 'interrupted'"));
        var done = store.Query("SELECT run_id, finished_at FROM runs WHERE status = 'completed'").Rows.Single();

        // Resume: only the cancelled fine-tune and its evaluation run; the finished run is untouched.
        var resumeLog = new StringWriter();
        var second = Sweep(spec, store, resumeLog);
        Assert.True(second.ExitCode == 0, resumeLog.ToString());
        Assert.Equal(1, second.Completed);
        Assert.Equal(1, second.AlreadyDone);
        Assert.DoesNotContain("start pretrain", resumeLog.ToString());
        Assert.Equal(2L, Count(store, $"SELECT attempt FROM finetunes WHERE finetune_hash = '{ftHash}'"));
        Assert.Equal(1L, Count(store, $"SELECT count(*) FROM events WHERE job_id = 'finetune:{ftHash}' AND kind = 'interrupted'"));   // history kept
        Assert.Equal(1L, Count(store, $"SELECT attempt FROM finetunes WHERE finetune_hash != '{ftHash}'"));
        Assert.Equal(1L, Count(store, "SELECT attempt FROM bases"));
        Assert.Equal(done[1], store.Query("SELECT finished_at FROM runs WHERE run_id = $r", ("$r", done[0])).Rows[0][0]);
        Assert.Equal(2 * 1500L, Count(store, "SELECT count(*) FROM run_metrics WHERE phase = 'finetune' AND key = 'train_loss'"));
    }

    /// <summary>Waits (up to 2 minutes, while the sweep goes on) for a fine-tune that SLURM runs and that has
    /// started training; its SLURM id.</summary>
    static string WaitForRunningFinetune(Func<bool> sweepEnded, Func<string> context)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < 120 && !sweepEnded())
        {
            Thread.Sleep(300);
            if (!File.Exists(Paths.Database)) continue;
            try { if (RunningFinetune() is { } id) return id; }
            catch (Microsoft.Data.Sqlite.SqliteException) { }        // the database is being created
        }
        Assert.Fail("no fine-tune was seen running: " + context());
        return "";
    }

    static string? RunningFinetune()
    {
        using var ro = ResultStore.OpenReadOnly(Paths.Database);
        var running = ro.Query("SELECT executor_job_id FROM finetunes WHERE status = 'running' AND executor_job_id IS NOT NULL").Rows
            .Select(r => ((string)r[0]!)["slurm:".Length..]).ToList();
        var queue = Slurm.Queue() ?? [];
        return running.FirstOrDefault(id =>
        {
            var log = Path.Combine(Paths.Jobs, "finetune-" + FinetuneOf(ro, id), "worker.log");
            return queue.GetValueOrDefault(id) == "RUNNING" && File.Exists(log) &&
                   File.ReadAllText(log).Split('\n').Any(l => WorkerMessage.TryParse(l)?.Phase == "finetune");
        });
    }

    [SkippableFact]
    public void Kill_9_of_the_orchestrator_then_resume_adopts_the_queued_and_running_slurm_jobs_instead_of_resubmitting()
    {
        Skip.If(slurm.WhyNot != null, slurm.WhyNot);
        var results = SweepTests.FreshResults();
        var file = Path.Combine(results, "adopted.yaml");
        File.WriteAllText(file, Spec("adopted", "    top_k: {k: 2}\n    top_p: {p: 0.4}\n", finetuneSteps: 1500));
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Paths.RepoRoot };
        foreach (var a in new[] { SweepTests.WorkerDll, "sweep", "--spec", file, "--no-report", "--lease-seconds", "2" }) psi.ArgumentList.Add(a);
        psi.Environment["ORCHESTRATOR_RESULTS"] = results;
        var orchestrator = Process.Start(psi)!;
        var output = orchestrator.StandardOutput.ReadToEndAsync();
        var running = WaitForRunningFinetune(() => orchestrator.HasExited, () => orchestrator.HasExited ? output.Result : "");
        orchestrator.Kill();                                   // SIGKILL: its SLURM jobs go on, its leases are left behind
        orchestrator.WaitForExit();
        Dictionary<string, string> Ids(string table, string key)
        {
            using var ro = ResultStore.OpenReadOnly(Paths.Database);
            return ro.Query($"SELECT {key}, executor_job_id FROM {table}").Rows.ToDictionary(r => (string)r[0]!, r => (string)r[1]!);
        }
        var ftBefore = Ids("finetunes", "finetune_hash");
        var evBefore = Ids("runs", "run_id");
        Thread.Sleep(2500);                                    // the dead orchestrator's leases expire

        using var store = ResultStore.Open(Paths.Database);
        var log = new StringWriter();
        var summary = Sweep(SpecLoader.Load(file), store, log);
        Assert.True(summary.ExitCode == 0, log.ToString());
        Assert.Equal(2, summary.Completed);
        Assert.Contains($"as slurm:{running}", log.ToString());
        Assert.DoesNotContain("start ", log.ToString());       // nothing submitted again
        Assert.Equal(ftBefore, Ids("finetunes", "finetune_hash"));
        Assert.Equal(evBefore, Ids("runs", "run_id"));
        Assert.Equal(3, Directory.GetFiles(Paths.SlurmBatches("adopted"), "*.sbatch").Length);   // base, fine-tunes, evaluations
        Assert.Equal(2L, Count(store, "SELECT count(*) FROM runs WHERE status = 'completed'"));
        Assert.Equal(2 * 1500L, Count(store, "SELECT count(*) FROM run_metrics WHERE phase = 'finetune' AND key = 'train_loss'"));
        // Following an adopted job is not a new attempt: every job ran once.
        Assert.Equal(1L, Count(store, "SELECT max(attempt) FROM (SELECT attempt FROM runs UNION ALL SELECT attempt FROM finetunes UNION ALL SELECT attempt FROM bases)"));
        Assert.True(Count(store, "SELECT count(*) FROM events WHERE kind = 'adopted'") >= 3);   // the running fine-tune, the other fine-tune, the two evaluations
    }

    [SkippableFact]
    public void Make_cancel_scancels_every_queued_and_running_job_of_the_sweep()
    {
        Skip.If(slurm.WhyNot != null, slurm.WhyNot);
        SweepTests.FreshResults();
        var spec = SpecLoader.LoadText(Spec("to-cancel", "    top_k: {k: 2}\n", finetuneSteps: 1500), "to-cancel.yaml");
        using var store = ResultStore.Open(Paths.Database);
        var log = new StringWriter();
        var sweep = Task.Run(() => Sweep(spec, store, log));
        var running = WaitForRunningFinetune(() => sweep.IsCompleted, () => log.ToString());
        string evalJob;
        using (var ro = ResultStore.OpenReadOnly(Paths.Database))
            evalJob = ((string)ro.Query("SELECT executor_job_id FROM runs").Rows.Single()[0]!)["slurm:".Length..];
        var (rc, output) = Cli("cancel", "--sweep", "to-cancel");
        Assert.True(rc == 0, output);
        Assert.Contains(running!, output);
        Assert.Contains(evalJob, output);                      // the queued evaluation too
        var summary = sweep.Result;
        Assert.NotEqual(0, summary.ExitCode);
        Assert.Equal(0, summary.Completed);
        Assert.Equal(1, summary.Interrupted);
        Assert.Equal(1, summary.Skipped);
        Assert.Equal("pending", store.Query("SELECT status FROM finetunes").Rows.Single()[0]);
        Assert.Equal("skipped", store.Query("SELECT status FROM runs").Rows.Single()[0]);
        Assert.Empty((Slurm.Queue() ?? []).Keys.Where(k => k == running || k == evalJob));
    }

    static string FinetuneOf(ResultStore s, string slurmId) =>
        (string)s.Query("SELECT finetune_hash FROM finetunes WHERE executor_job_id = $x", ("$x", "slurm:" + slurmId)).Rows[0][0]!;

    [SkippableFact]
    public void A_failed_jobs_stderr_tail_reaches_the_database()
    {
        Skip.If(slurm.WhyNot != null, slurm.WhyNot);
        SweepTests.FreshResults();
        var spec = SpecLoader.LoadText(Spec("failing", "    top_k: {k: 2}\n    top_p: {p: 0.4}\n"), "failing.yaml");
        var topP = spec.Runs.Single(r => r.Router == "top_p").ConfigHash;
        // The fault reaches the SLURM job through sbatch's exported environment.
        Environment.SetEnvironmentVariable("ORCHESTRATOR_FAULT", $"{topP}:throw");
        using var store = ResultStore.Open(Paths.Database);
        var log = new StringWriter();
        SweepSummary summary;
        try { summary = Sweep(spec, store, log); }
        finally { Environment.SetEnvironmentVariable("ORCHESTRATOR_FAULT", null); }
        Assert.Equal(1, summary.Completed);
        Assert.Equal(1, summary.Failed);
        var row = store.Query("SELECT status, error, exit_code, stderr_tail, executor_job_id FROM runs WHERE run_id = $r", ("$r", topP)).Rows.Single();
        Assert.Equal("failed", row[0]);
        Assert.StartsWith($"exit code 1: injected failure in job {topP}", (string)row[1]!);
        Assert.Contains($"(SLURM job {((string)row[4]!)["slurm:".Length..]})", (string)row[1]!);
        Assert.Equal(1L, row[2]);
        Assert.Contains("InvalidOperationException: injected failure", (string)row[3]!);

        // make cancel on a sweep with nothing queued says so.
        var (rc, output) = Cli("cancel", "--sweep", "failing");
        Assert.True(rc == 0, output);
        Assert.Contains("no SLURM job queued or running", output);
    }
}
