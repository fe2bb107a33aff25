
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Orchestrator.Training.Data;

public enum TokenClass { FunctionWord, ContentWord, Punctuation, Number, Whitespace }

/// <summary>Text encoded to ids, with each token mapped back to the word (pre-token) it belongs to.</summary>
public sealed record TokenizedText(int[] Ids, int[] WordIndex, IReadOnlyList<string> Words);

/// <summary>Byte-level BPE trained on the corpus. Text is first split GPT-2 style into pre-tokens
/// (words with their leading space, single digits, punctuation runs, whitespace); merges never cross
/// a pre-token, so every token belongs to exactly one word. Ids 0–255 are bytes, 256 is end-of-text,
/// 257+ are merges in rank order.</summary>
public sealed partial class BpeTokenizer : ITokenizer
{
    public const int EndOfText = 256;
    int ITokenizer.EndOfText => EndOfText;
    const int FirstMerge = 257;

    [GeneratedRegex(@"'(?:s|t|re|ve|m|ll|d)| ?\p{L}+| ?\p{N}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")]
    private static partial Regex PreTokenizer();

    private readonly List<(int a, int b)> merges;
    private readonly Dictionary<(int, int), int> rank = [];
    private readonly byte[][] bytesOf;
    private readonly Dictionary<string, int[]> cache = [];

    public int VocabSize => FirstMerge + merges.Count;

    private BpeTokenizer(List<(int a, int b)> merges)
    {
        this.merges = merges;
        bytesOf = new byte[FirstMerge + merges.Count][];
        for (int i = 0; i < 256; i++) bytesOf[i] = [(byte)i];
        bytesOf[EndOfText] = [];
        for (int r = 0; r < merges.Count; r++)
        {
            rank[merges[r]] = r;
            bytesOf[FirstMerge + r] = [.. bytesOf[merges[r].a], .. bytesOf[merges[r].b]];
        }
    }

    public static IEnumerable<string> PreTokens(string text) => PreTokenizer().Matches(text).Select(m => m.Value);

    /// <summary>Learns vocabSize − 257 merges from word counts: each merge is the most frequent adjacent pair, ties
    /// broken by the smaller pair, so training is deterministic. Pair counts are kept up to date incrementally — a
    /// merge re-counts only the words that contain its pair — and the best pair comes from a heap whose stale
    /// entries are skipped (recounting every pair of every word for each merge took 29 s for 4,096 tokens).</summary>
    public static BpeTokenizer Train(IEnumerable<string> documents, int vocabSize)
    {
        if (vocabSize < FirstMerge) throw new ArgumentOutOfRangeException(nameof(vocabSize),
            $"vocabulary must be ≥ {FirstMerge}");
        var counts = new Dictionary<string, long>();
        foreach (var doc in documents)
            foreach (var w in PreTokens(doc)) counts[w] = counts.GetValueOrDefault(w) + 1;
        var words = counts.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => (ids: System.Text.Encoding.UTF8.GetBytes(kv.Key).Select(b => (int)b).ToList(),
                n: kv.Value)).ToList();
        var pairs = new Dictionary<(int, int), long>();                   // weighted count of each adjacent pair
        var where = new Dictionary<(int, int), HashSet<int>>();          // words that contain (or contained) it
        // Max count first, then the smaller pair: the heap's order is the order merges are chosen in.
        var heap = new PriorityQueue<(int, int), (long, int, int)>(Comparer<(long, int, int)>.Create((x, y) =>
            x.Item1 != y.Item1 ? y.Item1.CompareTo(x.Item1) : x.Item2 != y.Item2 ? x.Item2.CompareTo(y.Item2)
                : x.Item3.CompareTo(y.Item3)));
        var touched = new HashSet<(int, int)>();
        void Count(int w, int sign)
        {
            var (ids, n) = words[w];
            for (int i = 0; i + 1 < ids.Count; i++)
            {
                var pair = (ids[i], ids[i + 1]);
                pairs[pair] = pairs.GetValueOrDefault(pair) + sign * n;
                touched.Add(pair);
                if (sign < 0) continue;
                if (!where.TryGetValue(pair, out var set)) where[pair] = set = [];
                set.Add(w);
            }
        }
        void Requeue()
        {
            foreach (var pair in touched)
                if (pairs[pair] > 0) heap.Enqueue(pair, (pairs[pair], pair.Item1, pair.Item2));
            touched.Clear();
        }
        for (int w = 0; w < words.Count; w++) Count(w, +1);
        Requeue();
        var merges = new List<(int, int)>();
        while (FirstMerge + merges.Count < vocabSize && heap.TryDequeue(out var best, out var priority))
        {
            if (pairs[best] != priority.Item1) continue;          // a stale entry: the pair's count has changed since
            int id = FirstMerge + merges.Count;
            merges.Add(best);
            foreach (var w in where[best].ToArray())
            {
                Count(w, -1);
                var ids = words[w].ids;
                for (int i = 0; i + 1 < ids.Count; i++)
                    if (ids[i] == best.Item1 && ids[i + 1] == best.Item2) { ids[i] = id; ids.RemoveAt(i + 1); }
                Count(w, +1);
            }
            Requeue();
        }
        return new BpeTokenizer(merges);
    }

    int[] EncodeWord(string word)
    {
        if (cache.TryGetValue(word, out var hit)) return hit;
        var ids = System.Text.Encoding.UTF8.GetBytes(word).Select(b => (int)b).ToList();
        while (ids.Count > 1)
        {
            int bestAt = -1, bestRank = int.MaxValue;
            for (int i = 0; i + 1 < ids.Count; i++)
                if (rank.TryGetValue((ids[i], ids[i + 1]), out var r) && r < bestRank) { bestRank = r; bestAt = i; }
            if (bestAt < 0) break;
            ids[bestAt] = FirstMerge + bestRank;
            ids.RemoveAt(bestAt + 1);
        }
        var result = ids.ToArray();
        if (cache.Count < 200_000) cache[word] = result;
        return result;
    }

    public int[] Encode(string text) => PreTokens(text).SelectMany(EncodeWord).ToArray();

    /// <summary>Encodes and records, for every token, the index of the word it came from.</summary>
    public TokenizedText EncodeWithWords(string text)
    {
        var ids = new List<int>(); var wordIndex = new List<int>(); var words = new List<string>();
        foreach (var w in PreTokens(text))
        {
            foreach (var id in EncodeWord(w)) { ids.Add(id); wordIndex.Add(words.Count); }
            words.Add(w);
        }
        return new TokenizedText(ids.ToArray(), wordIndex.ToArray(), words);
    }

    public string Decode(IEnumerable<int> ids)
    {
        var bytes = new List<byte>();
        foreach (var id in ids)
            bytes.AddRange(id == EndOfText ? System.Text.Encoding.UTF8.GetBytes("\n\n") : bytesOf[id]);
        return System.Text.Encoding.UTF8.GetString(bytes.ToArray());
    }

    public string TokenText(int id) => id == EndOfText ? "<eot>" : System.Text.Encoding.UTF8.GetString(bytesOf[id]);

    public void Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(new { format = "orchestrator-bpe-1",
            merges = merges.Select(m => new[] { m.a, m.b }) }));
        File.Move(tmp, path, true);
    }

    public static BpeTokenizer Load(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var merges = doc.RootElement.GetProperty("merges").EnumerateArray()
            .Select(m => (m[0].GetInt32(), m[1].GetInt32())).ToList();
        return new BpeTokenizer(merges);
    }

    // A small closed-class list: determiners, pronouns, prepositions, conjunctions, auxiliaries.
    static readonly HashSet<string> FunctionWords = new(StringComparer.OrdinalIgnoreCase)
    {
        "a", "an", "the", "this", "that", "these", "those", "my", "your", "his", "her", "its", "our", "their", "some",
        "any", "no", "every",
        "i", "me", "you", "he", "him", "she", "it", "we", "us", "they", "them", "who", "whom", "whose", "which", "what",
        "myself", "yourself", "itself",
        "of", "in", "on", "at", "by", "for", "with", "about", "against", "between", "into", "through", "during",
        "before", "after", "above", "below",
        "to", "from", "up", "down", "out", "off", "over", "under", "as", "than", "like", "upon", "within", "without",
        "onto", "toward", "towards",
        "and", "or", "but", "nor", "so", "yet", "if", "because", "while", "although", "though", "unless", "since",
        "when", "where", "whether", "then",
        "is", "am", "are", "was", "were", "be", "been", "being", "have", "has", "had", "having", "do", "does", "did",
        "will", "would", "shall", "should",
        "can", "could", "may", "might", "must", "not", "there", "here", "s", "t", "re", "ve", "m", "ll", "d", "all",
        "each", "both", "either", "neither",
    };

    /// <summary>function word / content word / punctuation / number / whitespace, from a word's text.</summary>
    public static TokenClass Classify(string word)
    {
        var w = word.Trim().TrimStart('\'');
        if (w.Length == 0) return TokenClass.Whitespace;
        if (w.All(char.IsDigit)) return TokenClass.Number;
        if (!w.Any(char.IsLetterOrDigit)) return TokenClass.Punctuation;
        return FunctionWords.Contains(w) ? TokenClass.FunctionWord : TokenClass.ContentWord;
    }

    public static string ClassName(TokenClass c) => c switch
    {
        TokenClass.FunctionWord => "function_word",
        TokenClass.ContentWord => "content_word",
        TokenClass.Punctuation => "punctuation",
        TokenClass.Number => "number",
        _ => "whitespace",
    };
}
