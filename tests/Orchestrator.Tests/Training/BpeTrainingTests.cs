using Orchestrator.Training.Data;

namespace Orchestrator.Tests.Training;

/// <summary>The incremental BPE trainer against the textbook one: recount every adjacent pair of every word for
/// each merge, take the most frequent (ties: the smaller pair), merge it left to right in every word.</summary>
public class BpeTrainingTests
{
    /// <summary>The textbook algorithm, written out here as the reference: (a, b) merge pairs in order.</summary>
    static List<(int, int)> ReferenceMerges(IEnumerable<string> documents, int vocabSize)
    {
        var counts = new Dictionary<string, long>();
        foreach (var doc in documents)
            foreach (var w in BpeTokenizer.PreTokens(doc)) counts[w] = counts.GetValueOrDefault(w) + 1;
        var words = counts.Select(kv => (ids: System.Text.Encoding.UTF8.GetBytes(kv.Key).Select(b => (int)b).ToList(),
            n: kv.Value)).ToList();
        var merges = new List<(int, int)>();
        while (257 + merges.Count < vocabSize)
        {
            var pairs = new Dictionary<(int, int), long>();
            foreach (var (ids, n) in words)
                for (int i = 0; i + 1 < ids.Count; i++)
                    pairs[(ids[i], ids[i + 1])] = pairs.GetValueOrDefault((ids[i], ids[i + 1])) + n;
            if (pairs.Count == 0) break;
            var best = pairs.OrderByDescending(p => p.Value).ThenBy(p => p.Key.Item1).ThenBy(p => p.Key.Item2)
                .First().Key;
            int id = 257 + merges.Count;
            merges.Add(best);
            foreach (var (ids, _) in words)
                for (int i = 0; i + 1 < ids.Count; i++)
                    if (ids[i] == best.Item1 && ids[i + 1] == best.Item2) { ids[i] = id; ids.RemoveAt(i + 1); }
        }
        return merges;
    }

    static List<(int, int)> Merges(BpeTokenizer tok)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("bpe-").FullName, "bpe.json");
        tok.Save(path);
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.GetProperty("merges").EnumerateArray()
            .Select(m => (m[0].GetInt32(), m[1].GetInt32())).ToList();
    }

    [Fact]
    public void Incremental_training_learns_exactly_the_textbook_merges_on_real_text()
    {
        var docs = Corpus.Load("fortunes", 0.05, 0.05).Train.Take(1500).ToList();
        var tok = BpeTokenizer.Train(docs, 700);
        Assert.Equal(700, tok.VocabSize);
        Assert.Equal(ReferenceMerges(docs, 700), Merges(tok));
    }

    [Fact]
    public void Repeated_symbols_and_an_exhausted_vocabulary_match_the_textbook_too()
    {
        // "aaaa" merges (a, a) left to right into [aa, aa], then (aa, aa); training stops when no pair is left.
        string[] docs = ["aaaa aaa aa a", "abab ba", "zzzzzzzz"];
        var tok = BpeTokenizer.Train(docs, 400);
        Assert.Equal(ReferenceMerges(docs, 400), Merges(tok));
        Assert.True(tok.VocabSize < 400);
    }
}
