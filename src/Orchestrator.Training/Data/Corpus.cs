using System.Text;
using System.Text.Json;

namespace Orchestrator.Training.Data;

/// <summary>A text corpus split deterministically into train / valid / test documents. Its hash and split sizes
/// are remembered by the files' names, sizes and modification times (results/data/corpora/), so that a job whose
/// tokenizer and token streams are cached never reads the documents (that took ~0.15 s a job for fortunes: read,
/// deduplicate, sort, hash); they are read when first asked for.</summary>
public sealed class Corpus
{
    public required string Source { get; init; }
    /// <summary>Content hash of all documents (what a tokenizer and cached data are keyed by).</summary>
    public required string Hash { get; init; }
    /// <summary>Documents in each split, known without reading them.</summary>
    public required (int Train, int Valid, int Test) Counts { get; init; }

    public IReadOnlyList<string> Train => documents.Value.Train;
    public IReadOnlyList<string> Valid => documents.Value.Valid;
    public IReadOnlyList<string> Test => documents.Value.Test;

    /// <summary>Whether the documents have been read (false when the digest answered and nobody asked since).</summary>
    public bool DocumentsRead => documents.IsValueCreated;

    readonly Lazy<Splits> documents;

    Corpus(Lazy<Splits> documents) => this.documents = documents;

    internal sealed record Splits(List<string> Train, List<string> Valid, List<string> Test, string Hash);

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

    /// <summary>The corpus at `source` ("fortunes", a .txt/.jsonl file or a folder of .txt files), split by the
    /// given fractions. Throws FileNotFoundException or InvalidDataException (naming the file) for a missing or
    /// unusable corpus.</summary>
    public static Corpus Load(string source, double validFraction, double testFraction)
    {
        var files = SourceFiles(source);
        var fingerprint = Fingerprint(source, files, validFraction, testFraction);
        // Named by a 64-bit FNV of the fingerprint, which the file repeats, so a collision reads as "not known".
        var digest = Path.Combine(Paths.DataCache, "corpora", $"{Fnv(fingerprint):x16}.txt");
        if (ReadDigest(digest, fingerprint, files) is var (hash, counts))
            return new Corpus(new(() =>
            {
                var s = Split(source, files, validFraction, testFraction);
                if (s.Hash == hash) return s;
                File.Delete(digest);
                throw new InvalidDataException($"corpus '{source}' changed without its files' sizes or times " +
                    "changing; its remembered hash is dropped: run again");
            }))
            {
                Source = source, Hash = hash, Counts = counts,
            };
        var splits = Split(source, files, validFraction, testFraction);
        var (train, valid, test) = (splits.Train.Count, splits.Valid.Count, splits.Test.Count);
        Protocol.WriteAtomically(digest,
            FormattableString.Invariant($"{splits.Hash} {train} {valid} {test}\n{fingerprint}\n"));
        return new Corpus(new(splits)) { Source = source, Hash = splits.Hash, Counts = (train, valid, test) };
    }

    /// <summary>What identifies a corpus without reading it, as make and git do: each file's path, size and
    /// modification time (100 ns), and the split fractions.</summary>
    static string Fingerprint(string source, IReadOnlyList<string> files, double validFraction, double testFraction)
    {
        var text = new StringBuilder(FormattableString.Invariant($"{source}|{validFraction:R}|{testFraction:R}"));
        foreach (var f in files)
        {
            var info = new FileInfo(f);
            text.Append(FormattableString.Invariant($"|{Path.GetFullPath(f)}|{info.Length}|"))
                .Append(info.LastWriteTimeUtc.Ticks);
        }
        return text.ToString();
    }

    /// <summary>A digest file: "hash train valid test", then the fingerprint it was made for. As git does with
    /// its index, a digest is not trusted for a file modified within 2 s before the digest was written: a file
    /// system stamps times in steps (ext4 ~4 ms, FAT 2 s), so a quick rewrite of the same size may keep its
    /// time.</summary>
    static (string Hash, (int, int, int) Counts)? ReadDigest(string path, string fingerprint,
        IReadOnlyList<string> files)
    {
        if (!File.Exists(path)) return null;
        var written = File.GetLastWriteTimeUtc(path);
        if (files.Any(f => File.GetLastWriteTimeUtc(f) >= written - TimeSpan.FromSeconds(2))) return null;
        var lines = File.ReadAllText(path).Split('\n');
        if (lines.Length < 2 || lines[1] != fingerprint) return null;
        var f = lines[0].Split(' ');
        return f.Length == 4 && int.TryParse(f[1], out var a) && int.TryParse(f[2], out var b) &&
               int.TryParse(f[3], out var c) ? (f[0], (a, b, c)) : null;
    }

    static Splits Split(string source, IReadOnlyList<string> files, double validFraction, double testFraction)
    {
        var read = source == "fortunes"
            ? files.SelectMany(f => SplitOn(File.ReadAllText(f, Encoding.UTF8), "\n%\n")) : ReadPath(source, files);
        var docs = read.Select(d => d.Replace("\r\n", "\n").Trim()).Where(d => d.Length > 0).Distinct().ToList();
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
        return new Splits(train, valid, test, Sha(all));
    }

    /// <summary>The files a corpus is read from, in reading order.</summary>
    static IReadOnlyList<string> SourceFiles(string source)
    {
        if (source == "fortunes") return FortuneFiles();
        if (Directory.Exists(source))
            return Directory.GetFiles(source, "*.txt", SearchOption.AllDirectories)
                .OrderBy(f => f, StringComparer.Ordinal).ToList();
        if (!File.Exists(source)) throw new FileNotFoundException($"corpus file not found: {source}");
        return [source];
    }

    static List<string> FortuneFiles()
    {
        var dir = FortuneDirs().FirstOrDefault(Directory.Exists)
            ?? throw new FileNotFoundException("the fortunes corpus is missing: run `make setup` (installs Debian's " +
                "`fortunes` package) or set data.corpus to your own .txt/.jsonl file");
        // A fortune file is text with a `.dat` index beside it; documents are separated by lines holding `%`.
        var files = Directory.GetFiles(dir, "*.dat").OrderBy(f => f, StringComparer.Ordinal).Select(dat => dat[..^4])
            .Where(txt => !SkipFortunes.Contains(Path.GetFileName(txt)) && File.Exists(txt)).ToList();
        return files.Count > 0 ? files : throw new InvalidDataException($"no fortune files found in {dir}");
    }

    static IEnumerable<string> SplitOn(string text, string sep) => text.Replace("\r\n", "\n").Split(sep);

    /// <summary>A folder's .txt files or a .txt file: documents separated by blank lines; a .jsonl file: one
    /// {"text": …} object a line.</summary>
    static List<string> ReadPath(string path, IReadOnlyList<string> files)
    {
        if (Directory.Exists(path)) return files.SelectMany(f => SplitOn(File.ReadAllText(f), "\n\n")).ToList();
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
