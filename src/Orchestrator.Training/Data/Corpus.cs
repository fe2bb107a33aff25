using System.Text;
using System.Text.Json;

namespace Orchestrator.Training.Data;

/// <summary>A text corpus split deterministically into train / valid / test documents.</summary>
public sealed class Corpus
{
    public required string Source { get; init; }
    public required IReadOnlyList<string> Train { get; init; }
    public required IReadOnlyList<string> Valid { get; init; }
    public required IReadOnlyList<string> Test { get; init; }
    /// <summary>Content hash of all documents (what a tokenizer and cached data are keyed by).</summary>
    public required string Hash { get; init; }

    /// <summary>Where the Debian `fortunes` package puts its English text; `make setup` installs it
    /// (or, without root, unpacks the .deb into .cache/fortunes).</summary>
    public static IEnumerable<string> FortuneDirs()
    {
        var env = Environment.GetEnvironmentVariable("ORCHESTRATOR_FORTUNES_DIR");
        if (!string.IsNullOrEmpty(env)) yield return env;
        yield return "/usr/share/games/fortunes";
        yield return Path.Combine(Paths.RepoRoot, ".cache", "fortunes", "usr", "share", "games", "fortunes");
    }

    // ASCII-art collections are drawings, not language.
    static readonly HashSet<string> SkipFortunes = ["art", "ascii-art"];

    public static Corpus Load(string source, double validFraction, double testFraction)
    {
        var docs = source == "fortunes" ? LoadFortunes() : LoadPath(source);
        docs = docs.Select(d => d.Replace("\r\n", "\n").Trim()).Where(d => d.Length > 0).Distinct().ToList();
        if (docs.Count < 10)
            throw new InvalidDataException($"corpus '{source}' has only {docs.Count} documents; at least 10 are " +
                $"needed");
        // Split by a hash of each document's text: stable under reordering of files and documents.
        var train = new List<string>(); var valid = new List<string>(); var test = new List<string>();
        foreach (var d in docs.OrderBy(Fnv, Comparer<ulong>.Default).ThenBy(d => d, StringComparer.Ordinal))
        {
            double u = (Fnv(d) % 1_000_000) / 1_000_000.0;
            (u < testFraction ? test : u < testFraction + validFraction ? valid : train).Add(d);
        }
        if (valid.Count == 0 || test.Count == 0)
            throw new InvalidDataException($"corpus '{source}' is too small for the requested valid/test fractions");
        var all = string.Join("\u0001", docs.OrderBy(d => d, StringComparer.Ordinal));
        return new Corpus { Source = source, Train = train, Valid = valid, Test = test, Hash = Sha(all) };
    }

    static List<string> LoadFortunes()
    {
        var dir = FortuneDirs().FirstOrDefault(Directory.Exists)
            ?? throw new FileNotFoundException("the fortunes corpus is missing: run `make setup` (installs Debian's " +
                "`fortunes` package) " +
                                               "or set data.corpus to your own .txt/.jsonl file");
        var docs = new List<string>();
        // A fortune file is text with a `.dat` index beside it; documents are separated by lines holding `%`.
        foreach (var dat in Directory.GetFiles(dir, "*.dat").OrderBy(f => f, StringComparer.Ordinal))
        {
            var txt = dat[..^4];
            if (SkipFortunes.Contains(Path.GetFileName(txt)) || !File.Exists(txt)) continue;
            docs.AddRange(SplitOn(File.ReadAllText(txt, Encoding.UTF8), "\n%\n"));
        }
        if (docs.Count == 0) throw new InvalidDataException($"no fortune files found in {dir}");
        return docs;
    }

    static IEnumerable<string> SplitOn(string text, string sep) => text.Replace("\r\n", "\n").Split(sep);

    static List<string> LoadPath(string path)
    {
        if (Directory.Exists(path))
            return Directory.GetFiles(path, "*.txt", SearchOption.AllDirectories).OrderBy(f => f,
                StringComparer.Ordinal)
                .SelectMany(f => SplitOn(File.ReadAllText(f), "\n\n")).ToList();
        if (!File.Exists(path)) throw new FileNotFoundException($"corpus file not found: {path}");
        if (path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase))
        {
            var docs = new List<string>();
            int line = 0;
            foreach (var l in File.ReadLines(path))
            {
                line++;
                if (string.IsNullOrWhiteSpace(l)) continue;
                using var j = JsonDocument.Parse(l);
                if (!j.RootElement.TryGetProperty("text", out var t) || t.ValueKind != JsonValueKind.String)
                    throw new InvalidDataException($"{path}:{line}: expected an object with a string field \"text\"");
                docs.Add(t.GetString()!);
            }
            return docs;
        }
        return SplitOn(File.ReadAllText(path), "\n\n").ToList();
    }

    internal static ulong Fnv(string s)
    {
        ulong h = 1469598103934665603;
        foreach (var b in Encoding.UTF8.GetBytes(s)) { h ^= b; h *= 1099511628211; }
        return h;
    }

    internal static string Sha(string s) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(s)))[..16];
}
