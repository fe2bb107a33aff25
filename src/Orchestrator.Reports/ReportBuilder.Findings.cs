using System.Globalization;
using System.Text;
using Orchestrator.Analysis;

namespace Orchestrator.Reports;

/// <summary>The report's first section: each published claim checked on the sweep (the `findings` view), and
/// each configuration's task accuracy with its Wilson interval and item count.</summary>
public sealed partial class ReportBuilder
{
    const string FindingsSql = """
        SELECT sweep, claim, subject, statement, effect, ci_low, ci_high, n, seeds, verdict, metric, method,
               comparisons, context
        FROM findings WHERE sweep IN (%IN%)
        """;

    void Findings(StringBuilder sb, IReadOnlyList<string> sweeps)
    {
        var args = sweeps.Select((s, i) => ("$f" + i, (object?)s)).ToArray();
        var rows = store.Query(FindingsSql.Replace("%IN%", string.Join(",", args.Select(a => a.Item1))), args).Rows;
        sb.AppendLine("## Findings").AppendLine();
        if (rows.Count == 0)
        {
            sb.AppendLine("No findings: they need completed runs (and, for the comparisons with top-k, a top-k run " +
                          "with the base's k on the same base and seed).").AppendLine();
            return;
        }
        foreach (var sweep in rows.GroupBy(r => (string)r[0]!))
        {
            int comparisons = Convert.ToInt32(sweep.First()[12], CultureInfo.InvariantCulture);
            var verdicts = sweep.GroupBy(r => (string)r[9]!).ToDictionary(g => g.Key, g => g.Count());
            if (sweeps.Count > 1) sb.AppendLine($"### {sweep.Key}").AppendLine();
            sb.AppendLine($"{sweep.Count()} claims checked: {verdicts.GetValueOrDefault("supported")} supported, " +
                $"{verdicts.GetValueOrDefault("contradicted")} contradicted, " +
                $"{verdicts.GetValueOrDefault("inconclusive")} inconclusive. Each verdict follows from a 95% " +
                $"interval; with {comparisons} intervals computed, about " +
                (comparisons * 0.05).ToString("0.#", CultureInfo.InvariantCulture) + " of them would " +
                "exclude the null value by chance alone, so read a lone verdict among many with care.")
                .AppendLine();
            sb.AppendLine("| verdict | claim | configuration | effect [95% CI] | n | seeds | measure | method | " +
                          "beside |");
            sb.AppendLine("|---|---|---|---|---|---|---|---|---|");
            foreach (var r in sweep)
            {
                string effect = r[4] == null ? "–" : $"{Num(r[4])} [{Num(r[5])}, {Num(r[6])}]";
                sb.AppendLine($"| **{r[9]}** | {r[3]} | {Label((string)r[2]!)} | {effect} | {r[7]} | {r[8]} | " +
                              $"{r[10]} | {r[11]} | {r[13]} |");
            }
            sb.AppendLine();
        }
        sb.AppendLine("Verdicts: *supported* — the interval excludes the null value on the side the paper claims; " +
                      "*contradicted* — it excludes it on the other side (or, for \"differ\", lies within a " +
                      "negligible margin of it); *inconclusive* — it spans the null value, or there are too few " +
                      "seeds for an interval. `SELECT * FROM findings` gives the same rows.").AppendLine();
    }

    /// <summary>A stored subject ("top_p {"p":0.4} [easy_to_hard]") as the report labels configurations.</summary>
    static string Label(string subject)
    {
        int brace = subject.IndexOf(' ');
        if (brace < 0 || !subject[(brace + 1)..].StartsWith('{')) return subject;
        int close = subject.LastIndexOf('}');
        return ConfigLabel(subject[..brace], subject[(brace + 1)..(close + 1)]) + subject[(close + 1)..];
    }

    static string Num(object? v) => v == null ? "–" : Convert.ToDouble(v, CultureInfo.InvariantCulture) switch
    {
        var d when Math.Abs(d) >= 100 => d.ToString("0.#", CultureInfo.InvariantCulture),
        var d => d.ToString("0.####", CultureInfo.InvariantCulture),
    };

    /// <summary>Task accuracy of a configuration pooled over its seeds: correct / items, Wilson 95% interval.
    /// </summary>
    static Interval PooledAccuracy(ReportData data, IEnumerable<RunInfo> runs)
    {
        var counts = runs.SelectMany(r => data.TaskCounts[r.RunId]).ToList();
        return Statistics.Wilson(counts.Sum(c => c.Correct), counts.Sum(c => c.Samples));
    }

    static string WithInterval(Interval i) => i.N == 0 ? "–"
        : FormattableString.Invariant($"{i.Estimate:0.000} [{i.Low:0.000}, {i.High:0.000}] (n={i.N})");

    /// <summary>Accuracy by task and difficulty per configuration (its seeds pooled): correct/items and the
    /// accuracy with its Wilson interval.</summary>
    static void AccuracyByTask(StringBuilder sb, ReportData data) => DifficultyTable(sb,
        "Accuracy by task and difficulty",
        "Correct / items over the configuration's seeds, and the accuracy with its Wilson 95% interval.", "task",
        // pooled by label: configurations that differ only in what labels omit share a row, as before
        data.Groups.SelectMany(g => g.SelectMany(r => data.TaskCounts[r.RunId]).Select(c => (g.First().Config, c)))
            .GroupBy(x => (x.Config, x.c.Task, x.c.Difficulty))
            .Select(x => (x.Key.Config, x.Key.Task, x.Key.Difficulty,
                Cell(x.Sum(y => y.c.Correct), x.Sum(y => y.c.Samples)))).ToList());

    static string Cell(long correct, long n)
    {
        var ci = Statistics.Wilson(correct, n);
        return FormattableString.Invariant($"{correct}/{n}: {ci.Estimate:0.00} [{ci.Low:0.00}, {ci.High:0.00}]");
    }

    /// <summary>Experts per token by token class within each difficulty (task sequences, seeds pooled): a
    /// difficulty effect that holds within every class is not a change of token mix.</summary>
    static void ExpertsByClassAndDifficulty(StringBuilder sb, ReportData data) => DifficultyTable(sb,
        "Experts per token by token class and difficulty",
        "Task sequences (prompt and answer), the configuration's seeds pooled; tokens counted in brackets. If " +
        "experts per token change with difficulty within every class, the change is not a change of token mix.",
        "token class",
        data.Groups.SelectMany(g => g.SelectMany(r => data.TaskClasses[r.RunId]).Select(c => (g.First().Config, c)))
            .GroupBy(x => (x.Config, x.c.Class, x.c.Difficulty)).Where(x => x.Sum(y => y.c.Tokens) > 0)
            .Select(x => (x.Key.Config, x.Key.Class, x.Key.Difficulty, FormattableString.Invariant(
                $"{x.Sum(y => y.c.Tokens * y.c.Experts) / x.Sum(y => y.c.Tokens):0.000} ({x.Sum(y => y.c.Tokens)})")))
            .ToList());

    /// <summary>A section with one row per configuration and name (task, token class) and one column per
    /// difficulty level; a missing cell is "–".</summary>
    static void DifficultyTable(StringBuilder sb, string title, string intro, string nameColumn,
        List<(string Config, string Name, int Level, string Cell)> cells)
    {
        if (cells.Count == 0) return;
        var levels = cells.Select(c => c.Level).Distinct().Order().ToList();
        sb.AppendLine().AppendLine($"## {title}").AppendLine().AppendLine(intro).AppendLine();
        sb.AppendLine($"| configuration | {nameColumn} | " + string.Join(" | ", levels.Select(l => $"difficulty {l}")) +
                      " |");
        sb.AppendLine("|---|---|" + string.Concat(levels.Select(_ => "---|")));
        foreach (var row in cells.GroupBy(c => (c.Config, c.Name)))
        {
            var byLevel = row.ToDictionary(c => c.Level, c => c.Cell);
            sb.AppendLine($"| {row.Key.Config} | {row.Key.Name} | " + string.Join(" | ", levels.Select(l =>
                byLevel.GetValueOrDefault(l, "–"))) + " |");
        }
    }
}
