using System.Diagnostics;
using Orchestrator.Results;
using Orchestrator.Tests.Results;

namespace Orchestrator.Tests.Execution;

/// <summary>Leases that know their owner: an orchestrator that died on this host frees its jobs at once.</summary>
public class LeaseTests
{
    static int DeadPid()
    {
        using var p = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        p.WaitForExit();
        return p.Id;
    }

    [Fact]
    public void An_owner_is_dead_when_its_process_on_this_host_is_gone_and_unknown_elsewhere()
    {
        var me = LeaseOwner.Current;
        Assert.Equal(me, LeaseOwner.Parse(me.ToString()));
        Assert.False(me.IsKnownDead);
        Assert.True((me with { Pid = DeadPid() }).IsKnownDead);
        Assert.True((me with { StartTicks = me.StartTicks + 1 }).IsKnownDead);        // the PID was reused
        Assert.False((me with { Host = "another-host", Pid = DeadPid() }).IsKnownDead);  // only its lease can tell
        Assert.Null(LeaseOwner.Parse("host:123:abcdef0123"));                            // an older release's owner
        Assert.False(LeaseOwner.IsDead("host:123:abcdef0123"));
    }

    [Fact]
    public void A_job_held_by_a_dead_orchestrator_is_taken_over_at_once_and_a_live_ones_is_not()
    {
        using var store = ResultStore.Open(StoreTests.TempDb());
        var spec = StoreTests.Spec(seeds: 1);
        store.RegisterSweep(spec);
        var (a, b) = (JobKey.Evaluate(spec.Runs[0].ConfigHash), JobKey.Evaluate(spec.Runs[1].ConfigHash));
        var dead = (LeaseOwner.Current with { Pid = DeadPid() }).ToString();
        var alive = (LeaseOwner.Current with { Nonce = "other" }).ToString();
        Assert.True(store.Jobs.TryClaim(a, dead, leaseSeconds: 600));
        Assert.True(store.Jobs.TryClaim(b, alive, leaseSeconds: 600));
        Assert.True(store.Jobs.Status(a).IsStale);
        Assert.False(store.Jobs.Status(b).IsStale);
        Assert.True(store.Jobs.TryClaim(a, LeaseOwner.Current.ToString(), 60));
        Assert.False(store.Jobs.TryClaim(b, LeaseOwner.Current.ToString(), 60));
        Assert.Equal(new object?[] { "adopted", 2L }, store.Query(
            "SELECT e.kind, j.attempt FROM events e JOIN jobs j ON j.job_id = e.job_id WHERE e.job_id = $j",
            ("$j", a.Id)).Rows.Single());
    }

    [Fact]
    public void Bad_lease_and_job_counts_are_usage_errors_that_write_nothing()
    {
        var results = SweepTests.FreshResults();
        foreach (var (flag, value, expected) in new[] { ("--lease-seconds", "0", "--lease-seconds must be a number ≥ 1, got '0'"),
                     ("--lease-seconds", "abc", "got 'abc'"), ("--max-jobs", "-1", "--max-jobs must be an integer ≥ 0"),
                     ("--jobs-per-device", "x", "--jobs-per-device must be an integer ≥ 1 or auto, got 'x'") })
        {
            var err = new StringWriter();
            var old = Console.Error;
            Console.SetError(err);
            int rc;
            try { rc = Orchestrator.Cli.Cli.Run(["sweep", flag, value]); }
            finally { Console.SetError(old); }
            Assert.Equal(2, rc);
            Assert.Contains(expected, err.ToString());
        }
        Assert.False(File.Exists(Path.Combine(results, "orchestrator.db")));
    }
}
