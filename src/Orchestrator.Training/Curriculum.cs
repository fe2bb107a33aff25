namespace Orchestrator.Training;

/// <summary>Which task difficulties fine-tuning may draw at a given step.
/// none: all; easy_to_hard: difficulties 1 … ⌈D·pace(t/T)⌉ with pace(x) = x (linear) or √x (root).</summary>
public sealed class Curriculum(string kind, string pacing, int maxDifficulty, int steps)
{
    public (int min, int max) Difficulties(int step)
    {
        if (kind != "easy_to_hard" || steps <= 0) return (1, maxDifficulty);
        double x = Math.Clamp((step + 1) / (double)steps, 0, 1);
        double pace = pacing == "root" ? Math.Sqrt(x) : x;
        return (1, Math.Clamp((int)Math.Ceiling(pace * maxDifficulty), 1, maxDifficulty));
    }
}
