using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Orchestrator.Cli;

/// <summary>Typed options whose bad values read as the user typed them: "--max-jobs must be an integer ≥ 0, got
/// 'abc'", not a .NET type name. Each is checked at parse time, before a command reads or writes anything.</summary>
public static partial class Cli
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    static Option<bool> Switch(string name, string description) => new(name) { Description = description };

    static Option<string?> Text(string name, string helpName, string description) =>
        new(name) { Description = description, HelpName = helpName };

    /// <summary>An integer ≥ min; `alternative` is a word also accepted (for example "auto"), parsed to
    /// `alternativeValue`.</summary>
    static Option<int?> Integer(string name, int min, string description, string? alternative = null,
        int alternativeValue = 0) => new(name)
    {
        Description = description,
        HelpName = alternative == null ? "N" : $"N|{alternative}",
        CustomParser = r =>
        {
            var text = r.Tokens.Count == 1 ? r.Tokens[0].Value : "";
            if (alternative != null && text == alternative) return alternativeValue;
            if (int.TryParse(text, NumberStyles.Integer, Inv, out var n) && n >= min) return n;
            r.AddError($"{name} must be an integer ≥ {min}{(alternative == null ? "" : " or " + alternative)}, " +
                       $"got '{text}'");
            return null;
        },
    };

    static Option<double?> Number(string name, double min, string description) => new(name)
    {
        Description = description,
        HelpName = "X",
        CustomParser = r =>
        {
            var text = r.Tokens.Count == 1 ? r.Tokens[0].Value : "";
            if (double.TryParse(text, NumberStyles.Float, Inv, out var x) && double.IsFinite(x) && x >= min) return x;
            r.AddError($"{name} must be a number ≥ {min.ToString(Inv)}, got '{text}'");
            return null;
        },
    };

    static Option<string> Choice(string name, string description, params string[] allowed) => new(name)
    {
        Description = description,
        HelpName = string.Join("|", allowed),
        DefaultValueFactory = _ => allowed[0],
        CustomParser = r =>
        {
            var text = r.Tokens.Count == 1 ? r.Tokens[0].Value : "";
            if (allowed.Contains(text)) return text;
            var hint = ConfigSchema.Suggest(text, allowed);
            r.AddError($"{name} must be one of {string.Join(", ", allowed)}, got '{text}'" +
                       (hint != null ? $" — did you mean {hint}?" : ""));
            return allowed[0];
        },
    };

    /// <summary>How commands that print rows print them: an aligned table for people, or lossless CSV / JSON for
    /// programs (TableWriter).</summary>
    static Option<string> FormatOption() => Choice("--format", "table (aligned, rounded for reading), csv or json " +
                                                              "(lossless: numbers round-trip, JSON columns nested)",
        "table", "csv", "json");

    /// <summary>`key.path=value` overrides after a command's flags. A token that starts with `-` is a misspelt
    /// flag, not an override, and is refused with the flag it most likely meant.</summary>
    static Argument<string[]> OverridesArgument(Command command)
    {
        var arg = new Argument<string[]>("overrides")
        {
            Arity = ArgumentArity.ZeroOrMore,
            HelpName = "key.path=value",
            Description = "spec overrides relative to base:, e.g. finetune.steps=50 seeds=[0]",
        };
        RefuseFlags(arg, command);
        return arg;
    }

    /// <summary>A free argument (overrides, SQL) takes any token, so a misspelt flag would be read as one: a token
    /// shaped like a flag (`--word` or `--word=value`, no spaces; SQL comments have them) is refused instead.</summary>
    static void RefuseFlags(Argument<string[]> arg, Command command) => arg.Validators.Add(r =>
    {
        foreach (var t in r.Tokens.Where(t => FlagShaped().IsMatch(t.Value))) r.AddError(UnknownFlag(command, t.Value));
    });

    [System.Text.RegularExpressions.GeneratedRegex(@"^--?[A-Za-z][\w-]*(=\S*)?$")]
    private static partial System.Text.RegularExpressions.Regex FlagShaped();

    /// <summary>ARGS from make arrive as one string: split on spaces outside brackets.</summary>
    static List<string> Overrides(IEnumerable<string> positional)
    {
        var list = new List<string>();
        foreach (var p in positional)
        {
            int depth = 0; var cur = new System.Text.StringBuilder();
            foreach (var ch in p)
            {
                if (ch is '[' or '{') depth++;
                if (ch is ']' or '}') depth--;
                if (ch == ' ' && depth == 0) { if (cur.Length > 0) list.Add(cur.ToString()); cur.Clear(); }
                else cur.Append(ch);
            }
            if (cur.Length > 0) list.Add(cur.ToString());
        }
        return list;
    }
}
