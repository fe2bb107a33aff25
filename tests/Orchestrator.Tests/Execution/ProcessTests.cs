using System.Diagnostics;
using Orchestrator.Results;
using Orchestrator.Specs;

namespace Orchestrator.Tests.Execution;

/// <summary>The orchestrator itself as a child process: killed with SIGKILL mid-sweep, and two of
/// them sharing one database.</summary>
public class ProcessTests
{
    static string SpecFile(string name, string routers, int finetuneSteps = 6)
    {
        var dir = Directory.CreateTempSubdirectory("orch-spec").FullName;
        var text = SweepTests.TinySpec.Replace("name: tiny", $"name: {name}").Replace("finetune: {steps: 6,", $"finetune: {{steps: {finetuneSteps},");
        text = text[..text.IndexOf("sweep:", StringComparison.Ordinal)] + "sweep:\n  router:\n" + routers;
        var path = Path.Combine(dir, name + ".yaml");
        File.WriteAllText(path, text);
        return path;
    }

    static Process StartOrchestrator(string spec, string results, double leaseSeconds = 60)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Paths.RepoRoot };
        foreach (var a in new[] { SweepTests.WorkerDll, "sweep", "--spec", spec, "--no-report", "--lease-seconds", leaseSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            psi.ArgumentList.Add(a);
        psi.Environment["ORCHESTRATOR_RESULTS"] = results;
        psi.Environment.Remove("ORCHESTRATOR_FAULT");
        return Process.Start(psi)!;
    }

    static List<(string id, string status, long attempt, string? finished)> Runs(string db, string table = "runs")
    {
        using var s = ResultStore.OpenReadOnly(db);
        var id = table == "runs" ? "run_id" : "finetune_hash";
        return s.Query($"SELECT {id}, status, attempt, finished_at FROM {table} ORDER BY {id}").Rows
            .Select(r => ((string)r[0]!, (string)r[1]!, (long)r[2]!, r[3] as string)).ToList();
    }

    /// <summary>Until the database shows a job running, the orchestrator has exited, or the time is up.</summary>
    static void WaitForARunningJob(string db, Process proc, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (!proc.HasExited && clock.Elapsed < limit)
        {
            try
            {
                using var ro = File.Exists(db) ? ResultStore.OpenReadOnly(db) : null;
                if (ro is not null && (long)ro.Query("SELECT count(*) FROM jobs WHERE state = 'running'").Rows[0][0]! > 0)
                    return;
            }
            catch (Microsoft.Data.Sqlite.SqliteException) { }                  // the schema is still being created
            Thread.Sleep(100);
        }
    }

    [Fact]
    public void Ten_kill_9s_at_random_moments_lose_nothing_and_the_resumes_finish_the_sweep()
    {
        var results = SweepTests.FreshResults();
        var spec = SpecFile("kill-loop", "    top_k: {k: 2}\n    top_p: {p: 0.4}\n    adaptive_gating: {threshold: 0.2}\n",
            finetuneSteps: 160);     // long enough that served workers (no start-up per job) are still busy at kill 10
        var db = Path.Combine(results, "orchestrator.db");
        var rng = new Random(2026);
        var outputs = new List<string>();
        for (int kill = 0; kill < 10; kill++)
        {
            var proc = StartOrchestrator(spec, results, leaseSeconds: 600);
            var stdout = proc.StandardOutput.ReadToEndAsync();
            var stderr = proc.StandardError.ReadToEndAsync();
            // At a random moment while a job runs (pretraining, fine-tuning, evaluation): waiting for one to run
            // first, so that where the kills land does not depend on how fast the machine starts a process.
            WaitForARunningJob(db, proc, TimeSpan.FromSeconds(60));
            Thread.Sleep(TimeSpan.FromSeconds(0.5 + rng.NextDouble() * 3));
            if (!proc.HasExited) proc.Kill(entireProcessTree: true);            // SIGKILL, workers included
            proc.WaitForExit();
            outputs.Add(stdout.Result + stderr.Result);
            if (!File.Exists(db)) continue;
            using var ro = ResultStore.OpenReadOnly(db);
            Assert.Equal("ok", ro.Query("PRAGMA integrity_check").Rows[0][0]);
            // A run is completed only with every row of its evaluation (ingest is one transaction).
            Assert.Equal(0L, ro.Query("""
                SELECT count(*) FROM runs r WHERE r.status = 'completed' AND (
                  NOT EXISTS (SELECT 1 FROM routing_stats s WHERE s.run_id = r.run_id) OR
                  NOT EXISTS (SELECT 1 FROM item_results i WHERE i.run_id = r.run_id))
                """).Rows[0][0]);
        }
        Assert.All(outputs, o => Assert.DoesNotContain("Unhandled exception", o));
        // A last resume finishes what is left, says so honestly, and redoes nothing that was finished.
        var doneBefore = File.Exists(db) ? Runs(db).Where(r => r.status == "completed").ToList() : [];
        var last = StartOrchestrator(spec, results, leaseSeconds: 600);
        var output = last.StandardOutput.ReadToEndAsync();
        var errors = last.StandardError.ReadToEndAsync();
        Assert.True(last.WaitForExit(TimeSpan.FromMinutes(5)), "the final resume did not finish");
        Assert.True(last.ExitCode == 0, output.Result + errors.Result);
        Assert.Contains($"{doneBefore.Count} already done", output.Result);
        if (doneBefore.Count < 3) Assert.DoesNotContain("every run is already done", output.Result);
        var after = Runs(db);
        Assert.Equal(3, after.Count(r => r.status == "completed"));
        foreach (var d in doneBefore) Assert.Contains(after, r => r.id == d.id && r.finished == d.finished);
        using var store = ResultStore.OpenReadOnly(db);
        Assert.Equal(1L, store.Query("SELECT count(*) FROM bases WHERE status = 'completed'").Rows[0][0]);
        // The kills landed on running jobs, each taken over at once by the next resume (here: 2 pretrainings,
        // 3 fine-tunes and an evaluation; which ones depends on the machine's speed).
        var adopted = store.Query("SELECT j.kind FROM events e JOIN jobs j USING (job_id) WHERE e.kind = 'adopted'")
            .Rows.Select(r => (string)r[0]!).ToList();
        Assert.True(adopted.Count >= 3, $"adopted after kills: {string.Join(", ", adopted)}");
        Assert.Equal(3 * 160L, store.Query("SELECT count(*) FROM metrics WHERE phase = 'finetune' AND key = 'train_loss'")
            .Rows[0][0]);
    }

    [Fact]
    public void Kill_9_of_the_orchestrator_then_resume_reruns_only_the_interrupted_job()
    {
        var results = SweepTests.FreshResults();
        // Long enough runs (200 steps) that the kill lands while one of them is running.
        // One job at a time (jobs_per_device auto would run two side by side on 2 cores): one interrupted job.
        var spec = SpecFile("killed", "    top_k: {k: 2}\n    top_p: {p: 0.4}\n    adaptive_gating: {threshold: 0.2}\n" +
            "execution:\n  jobs_per_device: 1\n", finetuneSteps: 200);
        var db = Path.Combine(results, "orchestrator.db");
        // A long lease: only knowing that its owner died lets the resume take the interrupted job at once.
        var proc = StartOrchestrator(spec, results, leaseSeconds: 600);
        var clock = Stopwatch.StartNew();
        List<(string id, string status, long attempt, string? finished)> before = [], ftBefore = [];
        var seen = new List<string>();
        while (clock.Elapsed.TotalSeconds < 180)
        {
            Thread.Sleep(150);
            if (!File.Exists(db)) continue;
            try { before = Runs(db); ftBefore = Runs(db, "finetunes"); } catch (Microsoft.Data.Sqlite.SqliteException) { continue; }      // not created yet
            seen.Add(string.Join(",", before.Select(r => r.status)) + "/" + string.Join(",", ftBefore.Select(r => r.status)));
            // One run finished and a fine-tune (or an evaluation) in the middle of its work.
            if (before.Count(r => r.status == "completed") >= 1 && (ftBefore.Any(r => r.status == "running") || before.Any(r => r.status == "running"))) break;
            if (proc.HasExited)
                Assert.Fail($"the sweep ended (exit {proc.ExitCode}) before it could be interrupted; seen {string.Join(" | ", seen)}: " +
                            proc.StandardOutput.ReadToEnd() + proc.StandardError.ReadToEnd());
        }
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db}")) { c.Open(); using var cmd = c.CreateCommand(); cmd.CommandText = "PRAGMA journal_mode"; Assert.Equal("wal", cmd.ExecuteScalar()); }
        proc.Kill();                                           // SIGKILL: no cleanup, leases left behind
        proc.WaitForExit();
        before = Runs(db);
        ftBefore = Runs(db, "finetunes");
        var done = before.Where(r => r.status == "completed").ToList();
        var ftDone = ftBefore.Where(r => r.status == "completed").ToList();
        var interrupted = before.Where(r => r.status == "running").Select(r => r.id)
            .Concat(ftBefore.Where(r => r.status == "running").Select(r => r.id)).ToList();
        Assert.NotEmpty(done);
        Assert.Single(interrupted);                             // one worker at a time

        // Resumed at once: the dead orchestrator's 600 s lease is taken over without waiting, and nothing is
        // reported done that is not.
        using (var store = ResultStore.Open(db))
        {
            var log = new StringWriter();
            var resume = Stopwatch.StartNew();
            var summary = SweepTests.RunSweep(SpecLoader.Load(spec), store, log);
            Assert.True(summary.ExitCode == 0, log.ToString());
            Assert.True(resume.Elapsed.TotalSeconds < 300, log.ToString());
            Assert.Equal(3 - done.Count, summary.Completed);
            Assert.Equal(done.Count, summary.AlreadyDone);
            Assert.DoesNotContain("held by another orchestrator", log.ToString());
            Assert.DoesNotContain("every run is already done", log.ToString());
            Assert.Contains("no longer running", (string)store.Query(
                "SELECT message FROM events WHERE kind = 'adopted' AND job_id IN ($r, 'finetune:' || $r)",
                ("$r", interrupted[0])).Rows.Single()[0]!);
        }
        var after = Runs(db);
        Assert.Equal(3, after.Count(r => r.status == "completed"));
        var ftAfter = Runs(db, "finetunes");
        foreach (var d in done) Assert.Contains(after, r => r.id == d.id && r.attempt == 1 && r.finished == d.finished);   // untouched
        foreach (var d in ftDone) Assert.Contains(ftAfter, r => r.id == d.id && r.attempt == 1 && r.finished == d.finished);
        // The interrupted job (a fine-tune or an evaluation) ran again, once; every other job ran once.
        var rerun = after.Concat(ftAfter).Single(r => r.id == interrupted[0]);
        Assert.Equal(2, rerun.attempt);
        Assert.Equal(6 + 1, after.Concat(ftAfter).Sum(r => r.attempt));
        using var ro = ResultStore.OpenReadOnly(db);
        Assert.Equal(3 * 200L, (long)ro.Query("SELECT count(*) FROM metrics WHERE phase = 'finetune' AND key = 'train_loss'").Rows[0][0]!);
        Assert.Equal(3L, (long)ro.Query("SELECT count(DISTINCT run_id) FROM routing_stats").Rows[0][0]!);
    }

    [Fact]
    public void Two_orchestrators_on_one_database_lose_no_write_and_compute_nothing_twice()
    {
        var results = SweepTests.FreshResults();
        var a = SpecFile("alpha", "    top_k: {k: 2}\n    top_p: {p: 0.4}\n");
        var b = SpecFile("beta", "    top_p: {p: 0.4}\n    adaptive_gating: {threshold: 0.2}\n");
        var pa = StartOrchestrator(a, results);
        var pb = StartOrchestrator(b, results);
        var outA = pa.StandardOutput.ReadToEndAsync(); var errA = pa.StandardError.ReadToEndAsync();
        var outB = pb.StandardOutput.ReadToEndAsync(); var errB = pb.StandardError.ReadToEndAsync();
        // Meanwhile a user asks questions of the same database, as `make query` does, over and over.
        var db = Path.Combine(results, "orchestrator.db");
        int answered = 0;
        var queryErrors = new List<string>();
        while (!(pa.HasExited && pb.HasExited))
        {
            Thread.Sleep(100);
            if (!File.Exists(db)) continue;
            try
            {
                using var reader = ResultStore.OpenReadOnly(db);
                if (reader.Version < ResultStore.LatestVersion) continue;   // the first orchestrator is creating it
                reader.QueryReadOnly("SELECT status, count(*) FROM runs GROUP BY status");
                reader.QueryReadOnly("SELECT count(*) FROM item_results JOIN runs USING (run_id)");
                answered++;
            }
            catch (Exception e) { queryErrors.Add(e.Message); }
        }
        Assert.True(pa.WaitForExit(240_000) && pb.WaitForExit(240_000), "orchestrators did not finish");
        Assert.Empty(queryErrors);
        Assert.True(answered > 10, $"{answered} queries answered");
        var all = outA.Result + errA.Result + outB.Result + errB.Result;
        Assert.True(pa.ExitCode == 0 && pb.ExitCode == 0, all);
        Assert.DoesNotContain("database is locked", all);
        // Each summary accounts for both runs of its sweep: computed, already done, or done by the other.
        foreach (var o in new[] { outA.Result, outB.Result })
        {
            var m = System.Text.RegularExpressions.Regex.Match(o,
                @"summary: (\d+) completed, 0 failed, 0 skipped, (\d+) already done(?:, (\d+) done by another orchestrator)?");
            Assert.True(m.Success, o);
            Assert.Equal(2, int.Parse(m.Groups[1].Value) + int.Parse(m.Groups[2].Value) +
                            (m.Groups[3].Success ? int.Parse(m.Groups[3].Value) : 0));
        }
        var runs = Runs(db);
        Assert.Equal(3, runs.Count);                            // top_p is shared by both sweeps: one run
        Assert.All(runs, r => { Assert.Equal("completed", r.status); Assert.Equal(1, r.attempt); });
        using var ro = ResultStore.OpenReadOnly(db);
        Assert.Equal(1L, (long)ro.Query("SELECT count(*) FROM bases").Rows[0][0]!);
        Assert.Equal(1L, (long)ro.Query("SELECT attempt FROM bases").Rows[0][0]!);              // the base was trained once
        Assert.Equal(3L, (long)ro.Query("SELECT sum(attempt) FROM finetunes WHERE status = 'completed'").Rows[0][0]!);   // each fine-tune once
        Assert.Equal(4L, (long)ro.Query("SELECT count(*) FROM sweep_runs").Rows[0][0]!);
        Assert.Equal(3 * 6L, (long)ro.Query("SELECT count(*) FROM metrics WHERE phase = 'finetune' AND key = 'train_loss'").Rows[0][0]!);
    }
}
