using System.Globalization;
using System.Text;

namespace Orchestrator.Specs;

/// <summary>Composing a spec: `extends:` chains (cycles refused) and `key=value` overrides from the command
/// line.</summary>
public static partial class SpecLoader
{
    static SpecMapping? LoadWithExtends(string full, string display, HashSet<string> seen, StringBuilder texts,
        List<SpecError> errors)
    {
        if (!seen.Add(full))
        {
            errors.Add(new SpecError(new SourceMark(display, 1, 1), "extends", "circular extends"));
            return null;
        }
        if (!File.Exists(full))
        {
            errors.Add(new SpecError(new SourceMark(display, 1, 1), "", "spec file not found"));
            return null;
        }
        if (StrictText(File.ReadAllBytes(full), display, errors) is not { } text) return null;
        SpecNode node;
        try { node = SpecNode.Parse(text, display); }
        catch (SpecException e) { errors.AddRange(e.Errors); return null; }
        if (node is not SpecMapping map)
        {
            errors.Add(new SpecError(node.Mark, "", "a spec must be a mapping of keys (name, base, sweep, …)"));
            return null;
        }
        var ext = map.Get("extends");
        SpecMapping? parent = null;
        if (ext != null)
        {
            if (ext.Value is not SpecScalar s || s.IsNull)
                errors.Add(new SpecError(ext.Value.Mark, "extends", "expected a path to another spec"));
            else
            {
                var pfull = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(full)!, s.Value));
                var pdisplay = Path.Combine(Path.GetDirectoryName(display) ?? "", s.Value);
                parent = LoadWithExtends(pfull, pdisplay, seen, texts, errors);
                if (parent == null && !errors.Any(e => e.Path == "extends"))
                    errors.Add(new SpecError(ext.Value.Mark, "extends", $"cannot load '{s.Value}'"));
            }
        }
        texts.Append("# file: ").AppendLine(display).AppendLine(text);
        var own = new SpecMapping { Mark = map.Mark, Entries = map.Entries.Where(e => e.Key != "extends").ToList() };
        if (parent == null) return own;
        // A child's name and description are its own, and so is its sweep when it has one (the axes are
        // what a child spec is for: they replace the parent's); base and execution deep-merge.
        var inherited = new SpecMapping
        {
            Mark = parent.Mark,
            Entries = parent.Entries.Where(e => e.Key is not ("name" or "description") && !(e.Key == "sweep"
                && own.Get("sweep") != null)).ToList(),
        };
        return inherited.MergedWith(own);
    }

    /// <summary>`a.b.c=value`: value is YAML (so `[0,1]` is a list). Paths are relative to `base`,
    /// except `seeds` (sweep.seeds) and paths starting with name, description, sweep, base or execution.</summary>
    static SpecMapping ApplyOverride(SpecMapping root, string text, List<SpecError> errors)
    {
        int eq = text.IndexOf('=');
        var mark = new SourceMark(CommandLine, 1, 1);
        if (eq <= 0)
        {
            errors.Add(new SpecError(mark, text, "an override must look like key.path=value"));
            return root;
        }
        var path = text[..eq].Trim();
        SpecNode value;
        try { value = Remark(SpecNode.Parse(text[(eq + 1)..], CommandLine), eq + 1); }
        catch (SpecException e) { errors.AddRange(e.Errors); return root; }
        var parts = path.Split('.').ToList();
        if (parts[0] == "seeds") parts.Insert(0, "sweep");
        else if (!TopKeys.Contains(parts[0])) parts.Insert(0, "base");
        SpecNode nested = value;
        for (int i = parts.Count - 1; i >= 0; i--)
            nested = new SpecMapping { Mark = mark, Entries = [new SpecEntry(parts[i], mark, nested)] };
        return root.MergedWith((SpecMapping)nested);
    }

    static SpecNode Remark(SpecNode n, int colOffset) => n switch
    {
        SpecScalar s => new SpecScalar { Mark = s.Mark with { Column = s.Mark.Column + colOffset }, Value = s.Value,
            Quoted = s.Quoted, IsNull = s.IsNull },
        SpecSequence q => new SpecSequence { Mark = q.Mark with { Column = q.Mark.Column + colOffset },
            Items = q.Items.Select(i => Remark(i, colOffset)).ToList() },
        SpecMapping m => new SpecMapping { Mark = m.Mark with { Column = m.Mark.Column + colOffset },
            Entries = m.Entries.Select(e => e with { Value = Remark(e.Value, colOffset) }).ToList() },
        _ => n,
    };

    static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The file as UTF-8 text, or a positioned error at its first invalid byte (never a silent U+FFFD
    /// standing in for what the author wrote).</summary>
    static string? StrictText(byte[] bytes, string display, List<SpecError> errors)
    {
        int bom = bytes.AsSpan().StartsWith(Encoding.UTF8.Preamble) ? 3 : 0;
        try { return Strict.GetString(bytes, bom, bytes.Length - bom); }
        catch (DecoderFallbackException e)
        {
            int at = bom + Math.Max(0, e.Index), line = 1, lineStart = 0;
            for (int i = 0; i < at && i < bytes.Length; i++)
                if (bytes[i] == (byte)'\n') { line++; lineStart = i + 1; }
            int column = 1 + Encoding.UTF8.GetCharCount(bytes, lineStart, Math.Max(0, at - lineStart));
            var bad = e.BytesUnknown is { Length: > 0 } u ? string.Join(" ", u.Select(b => $"0x{b:X2}")) : "?";
            errors.Add(new SpecError(new SourceMark(display, line, column), "",
                $"not valid UTF-8 (byte {bad}); save the spec as UTF-8"));
            return null;
        }
    }
}
