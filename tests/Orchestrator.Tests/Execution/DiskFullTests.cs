using System.Diagnostics;
using Orchestrator.Results;
using Orchestrator.Specs;

namespace Orchestrator.Tests.Execution;

/// <summary>A full disk and a kill inside an ingest transaction: each loses nothing that was stored, says so in one
/// line (never a stack trace), and a plain resume finishes the sweep without redoing finished work.</summary>
public class DiskFullTests
{
    static string SpecFile(string dir, string routers)
    {
        var text = SweepTests.TinySpec;
        text = text[..text.IndexOf("sweep:", StringComparison.Ordinal)] + "sweep:\n  router:\n" + routers;
        var path = Path.Combine(dir, "tiny.yaml");
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>The orchestrator as a child process; its exit code, stdout and stderr.</summary>
    static (int rc, string stdout, string stderr) Orchestrate(string spec, string results, string? fault = null)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = Paths.RepoRoot,
        };
        foreach (var a in new[] { SweepTests.WorkerDll, "sweep", "--spec", spec, "--no-report" }) psi.ArgumentList.Add(a);
        psi.Environment["ORCHESTRATOR_RESULTS"] = results;
        if (fault != null) psi.Environment["ORCHESTRATOR_FAULT"] = fault;
        else psi.Environment.Remove("ORCHESTRATOR_FAULT");
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(5)), "the sweep did not finish");
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    static List<(string job, string state, long attempt, string? finished)> Jobs(string results)
    {
        using var s = ResultStore.OpenReadOnly(Path.Combine(results, "orchestrator.db"));
        Assert.Equal("ok", s.Query("PRAGMA integrity_check").Rows[0][0]);
        return s.Query("SELECT job_id, state, attempt, finished_at FROM jobs ORDER BY job_id").Rows
            .Select(r => ((string)r[0]!, (string)r[1]!, (long)r[2]!, r[3] as string)).ToList();
    }

    static void AssertOneErrorLine(string stderr, string contains)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, stderr);
        Assert.StartsWith("error: no space left on device (", lines[0]);
        Assert.Contains(contains, lines[0]);
        Assert.EndsWith("nothing stored was lost: free space and run `make sweep` again to resume", lines[0]);
        Assert.DoesNotContain("Unhandled exception", stderr);
    }

    [Fact]
    public void A_job_that_meets_a_full_disk_is_interrupted_not_failed_and_a_plain_resume_finishes_it()
    {
        var results = SweepTests.FreshResults();
        var spec = SpecFile(results, "    top_k: {k: 2}\n");
        var finetune = SpecLoader.Load(spec).Runs.Single().FinetuneHash;

        var (rc, stdout, stderr) = Orchestrate(spec, results, $"{finetune}:enospc");
        Assert.Equal(1, rc);
        AssertOneErrorLine(stderr, Path.Combine(results, "finetunes", finetune, "model.bin.tmp"));
        Assert.False(File.Exists(Path.Combine(results, "finetunes", finetune, "model.bin.tmp")));
        var jobs = Jobs(results);
        Assert.Contains(jobs, j => j.job.StartsWith("base:") && j.state == "completed");
        Assert.Contains(jobs, j => j.job == $"finetune:{finetune}" && j.state == "pending");     // given back
        Assert.DoesNotContain(jobs, j => j.state == "failed");
        Assert.Contains("STOP  finetune top_k", stdout);

        (rc, stdout, stderr) = Orchestrate(spec, results);                 // space freed: a plain resume
        Assert.True(rc == 0, stdout + stderr);
        var after = Jobs(results);
        Assert.All(after, j => Assert.Equal("completed", j.state));
        var base1 = jobs.Single(j => j.job.StartsWith("base:"));
        Assert.Contains(after, j => j == base1);                        // the base was not trained again
    }

    [SkippableFact]
    public void A_real_full_filesystem_loses_nothing_and_a_resume_after_freeing_space_finishes()
    {
        Skip.IfNot(Environment.UserName == "root" || Environment.GetEnvironmentVariable("USER") == "root",
            "mounting a small tmpfs needs root; the injected full disk above covers the rest");
        var mount = Directory.CreateTempSubdirectory("orch-full").FullName;
        var (mrc, _, merr) = Shell("mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", mount);
        Skip.If(mrc != 0, $"cannot mount a tmpfs here: {merr.Trim()}");
        try
        {
            var results = Path.Combine(mount, "results");
            Directory.CreateDirectory(results);
            var specDir = Directory.CreateTempSubdirectory("orch-spec").FullName;
            // Phase 1 with room: one router, finished.
            var spec = SpecFile(specDir, "    top_k: {k: 2}\n");
            var (rc, stdout, stderr) = Orchestrate(spec, results);
            Assert.True(rc == 0, stdout + stderr);
            var phase1 = Jobs(results);

            // Phase 2 on a full disk, twice: not a byte left (SQLite meets it first), then a few hundred KiB
            // (room for the database and tickets, not for a job's files).
            spec = SpecFile(specDir, "    top_k: {k: 2}\n    top_p: {p: 0.4}\n");
            var filler = Path.Combine(mount, "filler");
            foreach (var leave in new[] { 0L, 256 * 1024 })
            {
                File.Delete(filler);
                Fill(filler, leave);
                (rc, stdout, stderr) = Orchestrate(spec, results);
                Assert.True(rc == 1, $"{leave} bytes left: rc {rc}\n{stdout}{stderr}");
                Assert.Contains("error: no space left on device (", stderr);
                Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
                Assert.DoesNotContain("   at ", stderr);
                var during = Jobs(results);
                foreach (var j in phase1) Assert.Contains(during, d => d == j);          // nothing stored was lost
                Assert.DoesNotContain(during, j => j.state == "failed");
            }

            // Space freed: a plain resume finishes, and phase 1's jobs are not run again.
            File.Delete(filler);
            (rc, stdout, stderr) = Orchestrate(spec, results);
            Assert.True(rc == 0, stdout + stderr);
            var after = Jobs(results);
            Assert.All(after, j => Assert.Equal("completed", j.state));
            Assert.Equal(2, after.Count(j => !j.job.Contains(':')));                       // two evaluated runs
            foreach (var j in phase1) Assert.Contains(after, a => a == j);
        }
        finally
        {
            Shell("umount", "-l", mount);
        }
    }

    /// <summary>Writes zeros until only `leave` bytes are free (tmpfs allocates what is written, not what is
    /// sized).</summary>
    static void Fill(string path, long leave)
    {
        var drive = new DriveInfo(Path.GetDirectoryName(path)!);
        using var f = File.Create(path);
        try
        {
            for (long free; (free = drive.AvailableFreeSpace) > leave;)
            {
                f.Write(new byte[(int)Math.Min(free - leave, 1 << 20)]);
                f.Flush();
            }
        }
        catch (IOException) { }     // full
    }

    static (int rc, string stdout, string stderr) Shell(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEnd();
        var e = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, o, e);
    }

    [Fact]
    public void A_kill_inside_an_ingest_transaction_leaves_no_partial_rows_and_a_resume_redoes_only_that_job()
    {
        var results = SweepTests.FreshResults();
        var spec = SpecFile(results, "    top_k: {k: 2}\n    top_p: {p: 0.4}\n");
        var runs = SpecLoader.Load(spec).Runs;
        var victim = runs.Single(r => r.Router == "top_p").ConfigHash;

        var (rc, stdout, stderr) = Orchestrate(spec, results, $"{victim}:ingest_kill");
        Assert.Equal(137, rc);                                           // SIGKILL, inside the transaction
        Assert.DoesNotContain("Unhandled exception", stdout + stderr);
        using (var s = ResultStore.OpenReadOnly(Path.Combine(results, "orchestrator.db")))
        {
            Assert.Equal("ok", s.Query("PRAGMA integrity_check").Rows[0][0]);
            Assert.Equal("running", s.Query("SELECT state FROM jobs WHERE job_id = $r", ("$r", victim)).Rows[0][0]);
            foreach (var table in new[] { "final_metrics", "routing_stats", "item_results", "task_results" })
                Assert.Equal(0L, s.Query($"SELECT count(*) FROM {table} WHERE run_id = $r", ("$r", victim)).Rows[0][0]);
            Assert.Equal(0L, s.Query("SELECT count(*) FROM metrics WHERE job_id = $r", ("$r", victim)).Rows[0][0]);
        }
        var before = Jobs(results);

        (rc, stdout, stderr) = Orchestrate(spec, results);
        Assert.True(rc == 0, stdout + stderr);
        Assert.DoesNotContain("every run is already done", stdout);
        var after = Jobs(results);
        Assert.All(after, j => Assert.Equal("completed", j.state));
        foreach (var j in before.Where(j => j.state == "completed")) Assert.Contains(after, a => a == j);  // not redone
        Assert.Equal(2, after.Single(j => j.job == victim).attempt);
    }
}
