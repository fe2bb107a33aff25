using System.Collections.Concurrent;
using System.Diagnostics;

namespace Orchestrator.Execution;

/// <summary>Runs each job in a worker child process of this orchestrator (`orchestrator worker JOB.json`)
/// on a slot of the device pool: CUDA workers pinned with CUDA_VISIBLE_DEVICES, CPU workers given their
/// share of the cores, starts staggered. A worker dies with the orchestrator (PR_SET_PDEATHSIG).</summary>
public sealed class LocalExecutor(DevicePool pool, string? workerCommand, double staggerSeconds = 0.5) : IJobExecutor
{
    sealed class Worker
    {
        public required JobTicket Ticket { get; init; }
        public required Process Process { get; init; }
        public required DevicePool.Slot Slot { get; init; }
        public required Task<string> Stderr { get; init; }
        public volatile string? LastError;
    }

    readonly Queue<DevicePool.Slot> free = new(pool.Slots);
    readonly Dictionary<JobKey, Worker> running = [];
    readonly ConcurrentQueue<ExecutorEvent> events = new();
    DateTime lastStart = DateTime.MinValue;

    public string Description =>
        "local pool: " + string.Join(", ", pool.Slots.GroupBy(s => s.Device).Select(g => $"{g.Key} ×{g.Count()}" +
            (g.First().Threads == DevicePool.Shared ? $" (auto: {pool.Cores} cores shared by the jobs running)"
                : g.First().Threads > 0 ? $" ({g.First().Threads} threads each)" : "")));
    public bool WaitsOnDependencies => false;
    public int Capacity => free.Count;

    public IReadOnlyList<Launched> Start(IReadOnlyList<Launch> jobs)
    {
        var started = new List<Launched>();
        // CPU jobs running once these have started: shared slots split the cores between them.
        int cpuJobs = running.Values.Count(w => w.Slot.Device == "cpu") +
                      free.Take(jobs.Count).Count(s => s.Device == "cpu");
        foreach (var launch in jobs)
        {
            if (free.Count == 0) break;
            var wait = staggerSeconds - (DateTime.UtcNow - lastStart).TotalSeconds;
            if (wait > 0) Thread.Sleep(TimeSpan.FromSeconds(wait));
            var slot = free.Dequeue();
            var ticket = launch.Ticket with { Device = slot.Device, Threads = pool.ThreadsFor(slot, cpuJobs) };
            ticket.Save();
            var worker = StartWorker(ticket, slot);
            running[ticket.Key] = worker;
            lastStart = DateTime.UtcNow;
            started.Add(new Launched(ticket.Key, $"local:{worker.Process.Id}", slot.Device));
        }
        return started;
    }

    public IReadOnlyList<ExecutorEvent> Poll()
    {
        foreach (var (key, w) in running.ToList())
        {
            if (!w.Process.HasExited) continue;
            w.Process.WaitForExit();      // the output handlers have run to the end
            running.Remove(key);
            free.Enqueue(w.Slot);
            var stderr = w.Stderr.Result;
            File.AppendAllText(w.Ticket.LogPath, stderr);
            int code = w.Process.ExitCode;
            w.Process.Dispose();
            events.Enqueue(WorkerExit.Ended(w.Ticket, code, w.LastError, WorkerExit.Tail(stderr)));
        }
        var list = new List<ExecutorEvent>();
        while (events.TryDequeue(out var e)) list.Add(e);
        return list;
    }

    public void Cancel(JobKey key)
    {
        if (running.TryGetValue(key, out var w) && !w.Process.HasExited) w.Process.Kill(entireProcessTree: true);
    }

    /// <summary>A local worker never outlives its orchestrator, so there is nothing to adopt.</summary>
    public bool TryAdopt(JobTicket ticket, string executorId) => false;

    Worker StartWorker(JobTicket ticket, DevicePool.Slot slot)
    {
        var (file, prefix) = WorkerExit.Command(workerCommand);
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = Paths.RepoRoot,
        };
        foreach (var a in prefix) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("worker");
        psi.ArgumentList.Add(ticket.TicketPath);
        foreach (var (k, v) in DevicePool.WorkerEnvironment(slot)) psi.Environment[k] = v;
        psi.Environment["ORCHESTRATOR_RESULTS"] = Paths.Results;
        psi.Environment["ORCHESTRATOR_PARENT_PID"] = Environment.ProcessId.ToString();
        var proc = Process.Start(psi)!;
        var worker = new Worker { Ticket = ticket, Process = proc, Slot = slot,
            Stderr = proc.StandardError.ReadToEndAsync() };
        var log = new StreamWriter(ticket.LogPath, append: false) { AutoFlush = true };
        proc.OutputDataReceived += (_, e) =>
        {
            if (e.Data == null)
            {
                try { log.Dispose(); }
                catch (IOException) { }
                return;
            }
            // A full disk must not kill the orchestrator from this thread: the worker meets it too and says so.
            try { lock (log) log.WriteLine(e.Data); }
            catch (IOException) { }
            switch (WorkerMessage.TryParse(e.Data))
            {
                case { IsError: true } error: worker.LastError = error.Message; break;
                case { } progress: events.Enqueue(new JobProgressed(ticket.Key, progress)); break;
            }
        };
        proc.BeginOutputReadLine();
        return worker;
    }

    public void Dispose()
    {
        foreach (var w in running.Values)
            if (!w.Process.HasExited) w.Process.Kill(entireProcessTree: true);
    }
}
