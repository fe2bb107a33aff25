using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Orchestrator.Specs;

/// <summary>Where a value came from: a file (or the command line), line and column, 1-based.</summary>
public sealed record SourceMark(string File, int Line, int Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}";
}

/// <summary>A YAML node that remembers where it was written, so every error can point at it.
/// Specs are parsed into this tree, merged (extends, overrides) and then validated.</summary>
public abstract class SpecNode
{
    public required SourceMark Mark { get; init; }

    /// <summary>Limits that keep a hostile spec from exhausting the stack or memory: nesting depth, and the
    /// number of nodes once aliases are expanded (an alias bomb grows exponentially).</summary>
    public const int MaxDepth = 64, MaxNodes = 100_000;

    public static SpecNode FromYaml(YamlNode node, string file)
    {
        int count = 0;
        return Convert(node, file, 0, ref count);
    }

    static SpecNode Convert(YamlNode node, string file, int depth, ref int count)
    {
        if (depth > MaxDepth) throw Error(node, file, $"nested deeper than {MaxDepth} levels");
        if (++count > MaxNodes) throw Error(node, file,
            $"more than {MaxNodes:N0} values (are aliases multiplying it?)");
        switch (node)
        {
            case YamlScalarNode s:
                return new SpecScalar
                {
                    Mark = MarkOf(s, file), Value = s.Value ?? "",
                    Quoted = s.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted,
                    IsNull = s.Style == ScalarStyle.Plain && (s.Value is null or "" or "~" or "null"),
                };
            case YamlSequenceNode q:
                var items = new List<SpecNode>();
                foreach (var c in q.Children) items.Add(Convert(c, file, depth + 1, ref count));
                return new SpecSequence { Mark = MarkOf(q, file), Items = items };
            case YamlMappingNode m:
                var entries = new List<SpecEntry>();
                foreach (var (k, v) in m.Children)
                {
                    if (k is not YamlScalarNode key) throw Error(k, file,
                        "a key must be a plain name, not a list or mapping");
                    entries.Add(new SpecEntry(key.Value ?? "", MarkOf(k, file), Convert(v, file, depth + 1,
                        ref count)));
                }
                return new SpecMapping { Mark = MarkOf(m, file), Entries = entries };
            default:
                throw Error(node, file, "unsupported YAML node (aliases and tags are not allowed)");
        }
    }

    static SpecException Error(YamlNode node, string file, string message) =>
        new([new SpecError(MarkOf(node, file), "", message)]);

    static SourceMark MarkOf(YamlNode n, string file) => new(file, (int)n.Start.Line, (int)n.Start.Column);

    /// <summary>Parses YAML text into a tree; syntax errors become SpecErrors with their position.</summary>
    public static SpecNode Parse(string text, string file)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(text)); }
        catch (YamlException e)
        {
            var msg = e.InnerException?.Message ?? e.Message;
            var mark = new SourceMark(file, (int)e.Start.Line, (int)e.Start.Column);
            // YAML forbids tabs in indentation; the parser reports the mapping they break, not the tab itself.
            if (msg.Contains("tab", StringComparison.OrdinalIgnoreCase) && FirstIndentTab(text) is (int line, int col))
                mark = new SourceMark(file, line, col);
            // An unknown alias is reported at the document's start: point at its first use instead.
            if (e is AnchorNotFoundException && SpecText.AnchorName().Match(msg) is { Success: true } m
                && SpecText.Position(text, "*" + m.Groups[1].Value) is (int aline, int acol))
                mark = new SourceMark(file, aline, acol);
            throw new SpecException([new SpecError(mark, "", "YAML syntax error: " + msg)]);
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
            throw new SpecException([new SpecError(new SourceMark(file, 1, 1), "",
                "the spec is empty (a spec names its sweep and what it varies: name:, base:, sweep:)")]);
        if (stream.Documents.Count > 1)
            throw new SpecException([new SpecError(MarkOf(stream.Documents[1].RootNode, file), "",
                "a second YAML document ('---'): a spec is one document")]);
        return FromYaml(stream.Documents[0].RootNode, file);
    }

    public abstract string Describe();

    /// <summary>Line and column (1-based) of the first tab in a line's indentation, if any.</summary>
    static (int, int)? FirstIndentTab(string text)
    {
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var indent = lines[i].Length - lines[i].TrimStart(' ', '\t').Length;
            int tab = lines[i].IndexOf('\t', 0, indent);
            if (tab >= 0) return (i + 1, tab + 1);
        }
        return null;
    }
}

public sealed class SpecScalar : SpecNode
{
    public required string Value { get; init; }
    public bool Quoted { get; init; }
    public bool IsNull { get; init; }
    public override string Describe() => IsNull ? "null" : Quoted ? $"\"{Value}\"" : Value;
}

public sealed class SpecSequence : SpecNode
{
    public required List<SpecNode> Items { get; init; }
    public override string Describe() => "a list";
}

public sealed record SpecEntry(string Key, SourceMark KeyMark, SpecNode Value);

public sealed class SpecMapping : SpecNode
{
    public required List<SpecEntry> Entries { get; init; }
    public SpecEntry? Get(string key) => Entries.LastOrDefault(e => e.Key == key);
    public override string Describe() => "a mapping";

    /// <summary>Deep merge: mappings merge key by key, anything else in `over` replaces `this`.</summary>
    public SpecMapping MergedWith(SpecMapping over)
    {
        var result = Entries.ToList();
        foreach (var e in over.Entries)
        {
            int i = result.FindIndex(x => x.Key == e.Key);
            if (i < 0) { result.Add(e); continue; }
            result[i] = result[i].Value is SpecMapping a && e.Value is SpecMapping b
                ? e with { Value = a.MergedWith(b) }
                : e;
        }
        return new SpecMapping { Mark = Mark, Entries = result };
    }
}

public sealed record SpecError(SourceMark Mark, string Path, string Message, string? Expected = null,
    string? Allowed = null)
{
    public override string ToString()
    {
        var s = $"{Mark}: {(Path.Length > 0 ? Path + ": " : "")}{Message}";
        if (Expected != null) s += $" (expected {Expected})";
        if (Allowed != null) s += $"; allowed: {Allowed}";
        return s;
    }
}

public sealed class SpecException(IReadOnlyList<SpecError> errors)
    : Exception(string.Join(Environment.NewLine, errors.Select(e => e.ToString())))
{
    public IReadOnlyList<SpecError> Errors { get; } = errors;

}

/// <summary>Positions in a spec's text for errors whose parser gives none.</summary>
static partial class SpecText
{
    [System.Text.RegularExpressions.GeneratedRegex("anchor '([^']+)'")]
    public static partial System.Text.RegularExpressions.Regex AnchorName();

    /// <summary>1-based line and column of the first occurrence of `needle`, if any.</summary>
    public static (int, int)? Position(string text, string needle)
    {
        int at = text.IndexOf(needle, StringComparison.Ordinal);
        if (at < 0) return null;
        int line = 1 + text.AsSpan(0, at).Count('\n');
        return (line, at - (text.LastIndexOf('\n', Math.Max(0, at - 1)) + 1) + 1);
    }
}
