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

    public static SpecNode FromYaml(YamlNode node, string file) => node switch
    {
        YamlScalarNode s => new SpecScalar
        {
            Mark = MarkOf(s, file), Value = s.Value ?? "",
            Quoted = s.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted,
            IsNull = s.Style == ScalarStyle.Plain && (s.Value is null or "" or "~" or "null"),
        },
        YamlSequenceNode q => new SpecSequence { Mark = MarkOf(q, file), Items = q.Children.Select(c => FromYaml(c,
            file)).ToList() },
        YamlMappingNode m => new SpecMapping
        {
            Mark = MarkOf(m, file),
            Entries = m.Children.Select(kv => new SpecEntry(
                ((YamlScalarNode)kv.Key).Value ?? "", MarkOf(kv.Key, file), FromYaml(kv.Value, file))).ToList(),
        },
        _ => throw new SpecException([new SpecError(MarkOf(node, file), "",
            "unsupported YAML node (aliases and tags are not allowed)")]),
    };

    static SourceMark MarkOf(YamlNode n, string file) => new(file, (int)n.Start.Line, (int)n.Start.Column);

    /// <summary>Parses YAML text into a tree; syntax errors become SpecErrors with their position.</summary>
    public static SpecNode Parse(string text, string file)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(text)); }
        catch (YamlException e)
        {
            var msg = e.InnerException?.Message ?? e.Message;
            throw new SpecException([new SpecError(new SourceMark(file, (int)e.Start.Line, (int)e.Start.Column), "",
                "YAML syntax error: " + msg)]);
        }
        if (stream.Documents.Count == 0)
            return new SpecMapping { Mark = new SourceMark(file, 1, 1), Entries = [] };
        return FromYaml(stream.Documents[0].RootNode, file);
    }

    public abstract string Describe();
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
