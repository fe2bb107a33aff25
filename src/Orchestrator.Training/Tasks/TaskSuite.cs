using System.Text;

namespace Orchestrator.Training.Tasks;

/// <summary>One task sample: the model reads <see cref="Prompt"/> and must produce <see cref="Answer"/>
/// followed by a newline. Difficulty 1 is the easiest.</summary>
public sealed record TaskSample(string Task, int Difficulty, string Prompt, string Answer)
{
    public string Text => Prompt + Answer + "\n";
}

/// <summary>Task suites of graded difficulty, generated deterministically from a seed:
/// addition (n-digit operands), arithmetic (n operations, left to right), reverse (n letters),
/// sort (n digits), brackets (close an opening sequence of depth n).</summary>
public static class TaskSuite
{
    public static TaskSample Generate(string task, int difficulty, Random rng)
    {
        if (difficulty < 1) throw new ArgumentOutOfRangeException(nameof(difficulty));
        switch (task)
        {
            case "addition":
            {
                long lo = difficulty == 1 ? 0 : Pow10(difficulty - 1), hi = Pow10(difficulty);
                long a = rng.NextInt64(lo, hi), b = rng.NextInt64(lo, hi);
                return new(task, difficulty, $"{a}+{b}=", (a + b).ToString());
            }
            case "arithmetic":
            {
                var sb = new StringBuilder();
                long acc = rng.Next(1, 10);
                sb.Append(acc);
                for (int i = 0; i < difficulty; i++)
                {
                    int x = rng.Next(1, 10);
                    bool plus = rng.Next(2) == 0;
                    acc = plus ? acc + x : acc - x;
                    sb.Append(plus ? '+' : '-').Append(x);
                }
                return new(task, difficulty, $"calc {sb}=", acc.ToString());
            }
            case "reverse":
            {
                var letters = Enumerable.Range(0, difficulty + 1).Select(_ => (char)('a' + rng.Next(26))).ToArray();
                return new(task, difficulty, $"reverse {string.Join(' ', letters)}:", " " + string.Join(' ',
                    letters.Reverse()));
            }
            case "sort":
            {
                var digits = Enumerable.Range(0, difficulty + 1).Select(_ => rng.Next(10)).ToArray();
                return new(task, difficulty, $"sort {string.Join(' ', digits)}:", " " + string.Join(' ',
                    digits.Order()));
            }
            case "brackets":
            {
                const string open = "([{<", close = ")]}>";
                var seq = Enumerable.Range(0, difficulty).Select(_ => rng.Next(4)).ToArray();
                return new(task, difficulty, $"close {new string(seq.Select(i => open[i]).ToArray())}:",
                    " " + new string(seq.Reverse().Select(i => close[i]).ToArray()));
            }
            default:
                throw new ArgumentException($"unknown task '{task}' (allowed: addition, arithmetic, reverse, sort, " +
                    $"brackets)");
        }
    }

    static long Pow10(int n) { long r = 1; for (int i = 0; i < n; i++) r *= 10; return r; }

    /// <summary>A deterministic stream: sample i of (seed, stream) never depends on other samples.</summary>
    public static List<TaskSample> Samples(IReadOnlyList<string> tasks, int maxDifficulty, int perTaskAndDifficulty,
        int seed, int stream)
    {
        var list = new List<TaskSample>();
        foreach (var task in tasks)
            for (int d = 1; d <= maxDifficulty; d++)
            {
                var rng = new Random(HashCode(seed, stream, task, d));
                for (int i = 0; i < perTaskAndDifficulty; i++) list.Add(Generate(task, d, rng));
            }
        return list;
    }

    static int HashCode(int seed, int stream, string task, int d)
    {
        unchecked
        {
            int h = (int)2166136261;
            foreach (var x in $"{seed}|{stream}|{task}|{d}") h = (h ^ x) * 16777619;
            return h & int.MaxValue;
        }
    }
}
