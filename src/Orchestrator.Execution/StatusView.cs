using System.Globalization;

namespace Orchestrator.Execution;

/// <summary>What the runner says: on a terminal one status line redrawn in place (running jobs' phase,
/// step, loss, ETA; overall counts), when output is redirected timestamped lines and a progress line
/// every 30 s.</summary>
public sealed class StatusView(TextWriter output, bool? live = null)
{
    readonly bool liveView = live ?? (output == Console.Out && !Console.IsOutputRedirected);
    DateTime lastProgress = DateTime.MinValue;

    static string Clock() => DateTime.Now.ToString("HH:mm:ss", CultureInfo.InvariantCulture);

    public void Say(string line)
    {
        if (liveView) output.Write("\r\u001b[2K");
        output.WriteLine($"{Clock()} {line}");
    }

    public void Show(JobGraph graph)
    {
        var now = DateTime.UtcNow;
        if ((now - lastProgress).TotalSeconds < (liveView ? 1 : 30)) return;
        lastProgress = now;
        var counts = $"{graph.Count(NodeState.Done)} done, {graph.Count(NodeState.Running)} running, " +
                     $"{graph.Count(NodeState.Failed)} failed, " +
                     $"{graph.Count(NodeState.Waiting) + graph.Count(NodeState.External)} pending";
        var running = string.Join(" | ", graph.Nodes.Where(n => n.State == NodeState.Running).Select(Part));
        if (liveView)
        {
            var line = $"[{counts}] {running}";
            int width = Console.IsOutputRedirected || Console.WindowWidth < 40 ? 160 : Console.WindowWidth - 1;
            output.Write("\r\u001b[2K" + (line.Length > width ? line[..width] : line));
        }
        else output.WriteLine($"{Clock()} progress: {counts}; {running}");
    }

    static string Part(JobNode n)
    {
        var name = n.Label.Split(" {")[0];
        var queued = n.ExecutorId?.StartsWith("slurm:") == true ? "queued" : "starting";
        return $"{name} {n.Progress?.Describe() ?? queued}";
    }

    public void Finish()
    {
        if (liveView) output.Write("\r\u001b[2K");
    }
}
