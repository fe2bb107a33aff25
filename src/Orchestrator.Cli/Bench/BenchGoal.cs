using System.Text.Json.Nodes;
using Orchestrator.Analysis;

namespace Orchestrator.Cli.Bench;

/// <summary>How a benchmark judges a goal: from the 95% interval of a median over rounds
/// (<see cref="Statistics.MedianInterval"/>), never from the median alone, because on a noisy machine a median
/// moves by more than the distance between it and the goal.</summary>
public static class BenchGoal
{
    /// <summary>"met" when the whole interval is on the goal's side, "not_met" when it is all on the other side,
    /// "inconclusive" when it spans the goal or there is none.</summary>
    public static string Verdict(Interval ci, double goal, bool atLeast) =>
        !ci.IsDefined || ci.Spans(goal) ? "inconclusive"
        : (atLeast ? ci.Low > goal : ci.High < goal) ? "met" : "not_met";

    /// <summary>[low, high] for the JSON figures files; null without an interval.</summary>
    public static JsonNode? Bounds(Interval ci, int digits = 4) =>
        ci.IsDefined ? new JsonArray(Math.Round(ci.Low, digits), Math.Round(ci.High, digits)) : null;

    /// <summary>The interval as the logs print it.</summary>
    public static string Show(Interval ci, bool percent = false) =>
        !ci.IsDefined ? "[n < 6]" : percent ? $"[{SignedPercent(ci.Low)}, {SignedPercent(ci.High)}]"
            : $"[{ci.Low:F2}, {ci.High:F2}]";

    /// <summary>+1.2%, −0.4%, and 0.0% for what rounds to zero (a two-section format would print a tiny negative
    /// as "-+0.0%").</summary>
    public static string SignedPercent(double x) => x.ToString("+0.0%;-0.0%;0.0%");
}
