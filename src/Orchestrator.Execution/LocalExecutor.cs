using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;

namespace Orchestrator.Execution;

/// <summary>Runs jobs in worker child processes of this orchestrator (`orchestrator worker --serve`) on the
/// slots of the device pool: CUDA workers pinned with CUDA_VISIBLE_DEVICES, CPU workers given their share of
/// the cores, process starts staggered. A worker dies with the orchestrator (PR_SET_PDEATHSIG).
/// A CPU worker that finished its job serves the next job of a CPU slot: a process start costs ~0.8 s before
/// the first step, as much as a small job's compute. A job that fails ends its process, so no job runs after a
/// failure in the same process; a GPU worker runs one job (its memory, as NVML reports it, is then the job's).
/// `execution.reuse_workers: false` gives every job its own process.</summary>
public sealed class LocalExecutor(DevicePool pool, string? workerCommand, double staggerSeconds = 0.5,
    bool reuseWorkers = true) : IJobExecutor
{
    sealed class Worker
    {
        public required Process Process { get; init; }
        public required string Device { get; init; }
        public required bool Reusable { get; init; }
        public DevicePool.Slot? Slot;
        public JobTicket? Ticket;
        public StreamWriter? Log;
        public readonly StringBuilder Stderr = new();
        public volatile string? LastError;
        public volatile bool Finished;
    }

    readonly Queue<DevicePool.Slot> free = new(pool.Slots);
    readonly Dictionary<JobKey, Worker> running = [];
    /// <summary>Workers that finished a job and wait for the next (CPU only).</summary>
    readonly List<Worker> idle = [];
    readonly ConcurrentQueue<ExecutorEvent> events = new();
    /// <summary>Released when a worker exits or finishes a job, so that the runner wakes at once.</summary>
    readonly SemaphoreSlim ended = new(0);
    DateTime lastSpawn = DateTime.MinValue;

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
        int cpuJobs = running.Values.Count(w => w.Slot!.Device == "cpu") +
                      free.Take(jobs.Count).Count(s => s.Device == "cpu");
        foreach (var launch in jobs)
        {
            if (free.Count == 0) break;
            var slot = free.Dequeue();
            var ticket = launch.Ticket with { Device = slot.Device, Threads = pool.ThreadsFor(slot, cpuJobs) };
            ticket.Save();
            var worker = Hand(ticket, slot);
            running[ticket.Key] = worker;
            started.Add(new Launched(ticket.Key, $"local:{worker.Process.Id}", slot.Device));
        }
        return started;
    }

    public void Wait(TimeSpan timeout) => ended.Wait(timeout);

    /// <summary>Starts workers ahead, for jobs not yet ready: up to one per free slot, waiting idle until a job
    /// comes (a process start is ~0.4 s of runtime and libtorch before its first job can begin). Never waits for
    /// the stagger: a start it would delay is left to the next call.</summary>
    public void Anticipate(int pending)
    {
        var spare = free.ToList();
        foreach (var w in idle)
            if (spare.FirstOrDefault(s => s.Device == w.Device) is { } taken) spare.Remove(taken);
        foreach (var slot in spare.Take(Math.Max(0, pending - idle.Count)))
        {
            if ((DateTime.UtcNow - lastSpawn).TotalSeconds < staggerSeconds) return;
            idle.Add(Spawn(slot));
            lastSpawn = DateTime.UtcNow;
        }
    }

    public IReadOnlyList<ExecutorEvent> Poll()
    {
        foreach (var (key, w) in running.ToList())
        {
            bool served = w.Finished && w.Reusable;
            if (!served && !w.Process.HasExited) continue;
            if (!served) w.Process.WaitForExit();      // the output handlers have run to the end
            running.Remove(key);
            free.Enqueue(w.Slot!);
            var ticket = w.Ticket!;
            string stderr;
            lock (w)
            {
                stderr = w.Stderr.ToString();
                w.Stderr.Clear();
                w.Log?.Dispose();
                (w.Log, w.Ticket, w.Slot, w.Finished) = (null, null, null, false);
            }
            if (stderr.Length > 0) File.AppendAllText(ticket.LogPath, stderr);
            int code = served ? 0 : w.Process.ExitCode;
            if (served) idle.Add(w);
            else w.Process.Dispose();
            events.Enqueue(WorkerExit.Ended(ticket, code, w.LastError, WorkerExit.Tail(stderr)));
            w.LastError = null;
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

    /// <summary>The job goes to an idle worker of its device, or to a new one: its ticket's path is the line the
    /// worker reads next.</summary>
    Worker Hand(JobTicket ticket, DevicePool.Slot slot)
    {
        while (idle.FirstOrDefault(w => w.Device == slot.Device) is { } w)
        {
            idle.Remove(w);
            if (TryAssign(w, ticket, slot)) return w;
            Discard(w);        // it died waiting
        }
        // Process starts are staggered (execution.stagger_seconds); a served job starts at once.
        var wait = staggerSeconds - (DateTime.UtcNow - lastSpawn).TotalSeconds;
        if (wait > 0) Thread.Sleep(TimeSpan.FromSeconds(wait));
        var fresh = Spawn(slot);
        lastSpawn = DateTime.UtcNow;
        TryAssign(fresh, ticket, slot);     // if it died already, its exit is the job's end
        return fresh;
    }

    static bool TryAssign(Worker w, JobTicket ticket, DevicePool.Slot slot)
    {
        if (w.Process.HasExited) return false;
        lock (w) (w.Ticket, w.Slot, w.Log) = (ticket, slot, new StreamWriter(ticket.LogPath) { AutoFlush = true });
        try
        {
            w.Process.StandardInput.WriteLine(ticket.TicketPath);
            w.Process.StandardInput.Flush();
            if (!w.Reusable) w.Process.StandardInput.Close();
            return true;
        }
        catch (IOException) { return false; }    // it died between the check and the write
    }

    static void Discard(Worker w)
    {
        try { if (!w.Process.HasExited) w.Process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { }
        w.Process.Dispose();
    }

    Worker Spawn(DevicePool.Slot slot)
    {
        var (file, prefix) = WorkerExit.Command(workerCommand);
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
            UseShellExecute = false, WorkingDirectory = Paths.RepoRoot,
        };
        foreach (var a in prefix) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("worker");
        psi.ArgumentList.Add("--serve");
        foreach (var (k, v) in DevicePool.WorkerEnvironment(slot)) psi.Environment[k] = v;
        psi.Environment["ORCHESTRATOR_RESULTS"] = Paths.Results;
        foreach (var (name, value) in WorkerExit.RuntimeSettings) psi.Environment[name] = value;
        psi.Environment["ORCHESTRATOR_PARENT_PID"] = Environment.ProcessId.ToString();
        var proc = new Process { StartInfo = psi, EnableRaisingEvents = true };
        proc.Exited += (_, _) => ended.Release();
        proc.Start();
        var worker = new Worker
        {
            Process = proc, Device = slot.Device, Reusable = reuseWorkers && slot.Device == "cpu",
        };
        proc.OutputDataReceived += (_, e) => Output(worker, e.Data);
        proc.ErrorDataReceived += (_, e) =>
        {
            if (e.Data != null) lock (worker) worker.Stderr.AppendLine(e.Data);
        };
        proc.BeginOutputReadLine();
        proc.BeginErrorReadLine();
        return worker;
    }

    /// <summary>A line of the worker's stdout: into its job's log, and parsed as a protocol message.</summary>
    void Output(Worker worker, string? line)
    {
        if (line == null) return;
        StreamWriter? log;
        JobTicket? ticket;
        lock (worker) (log, ticket) = (worker.Log, worker.Ticket);
        var message = WorkerMessage.TryParse(line);
        // A full disk must not kill the orchestrator from this thread: the worker meets it too and says so.
        if (log != null && message is not { IsFinished: true })
        {
            try { lock (log) log.WriteLine(line); }
            catch (Exception e) when (e is IOException or ObjectDisposedException) { }
        }
        switch (message)
        {
            case { IsError: true } error: worker.LastError = error.Message; break;
            case { IsFinished: true }:
                worker.Finished = true;
                ended.Release();
                break;
            case { } progress when ticket != null: events.Enqueue(new JobProgressed(ticket.Key, progress)); break;
        }
    }

    public void Dispose()
    {
        foreach (var w in idle) Discard(w);
        foreach (var w in running.Values)
            if (!w.Process.HasExited) w.Process.Kill(entireProcessTree: true);
    }
}
