using Orchestrator.Training;
using Orchestrator.Training.Data;
using Orchestrator.Training.Tasks;

namespace Orchestrator.Tests.Training;

public class DataTests
{
    static readonly string[] Docs =
    [
        "The cat sat on the mat, and the dog sat on the log.",
        "A fortune: 42 is the answer to life, the universe and everything!",
        "Ünïcödé text survives a round trip — naïve café.",
    ];

    [Fact]
    public void Tokenizer_round_trips_text_and_maps_every_token_to_its_word()
    {
        var tok = BpeTokenizer.Train(Enumerable.Repeat(Docs, 20).SelectMany(d => d), 300);
        Assert.Equal(300, tok.VocabSize);
        foreach (var d in Docs) Assert.Equal(d, tok.Decode(tok.Encode(d)));
        var enc = tok.EncodeWithWords("The cat sat, 42 times.");
        Assert.Equal(["The", " cat", " sat", ",", " 4", "2", " times", "."], enc.Words);
        Assert.Equal(enc.Ids.Length, enc.WordIndex.Length);
        // Concatenating each word's tokens gives back the word.
        for (int w = 0; w < enc.Words.Count; w++)
            Assert.Equal(enc.Words[w], tok.Decode(enc.Ids.Where((_, i) => enc.WordIndex[i] == w)));
        // Frequent words become single tokens.
        Assert.Single(tok.Encode(" the"));
    }

    [Fact]
    public void Tokenizer_training_is_deterministic_and_survives_save_and_load()
    {
        var a = BpeTokenizer.Train(Docs.Concat(Docs), 280);
        var b = BpeTokenizer.Train(Docs.Reverse().Concat(Docs), 280);
        Assert.Equal(a.Encode(Docs[1]), b.Encode(Docs[1]));
        var path = Path.Combine(Directory.CreateTempSubdirectory().FullName, "bpe.json");
        a.Save(path);
        Assert.Equal(a.Encode(Docs[0]), BpeTokenizer.Load(path).Encode(Docs[0]));
    }

    [Theory]
    [InlineData(" the", TokenClass.FunctionWord)]
    [InlineData("And", TokenClass.FunctionWord)]
    [InlineData(" universe", TokenClass.ContentWord)]
    [InlineData(" 4", TokenClass.Number)]
    [InlineData("!", TokenClass.Punctuation)]
    [InlineData(" —", TokenClass.Punctuation)]
    [InlineData("\n\n", TokenClass.Whitespace)]
    public void Token_classes(string word, TokenClass expected) => Assert.Equal(expected, BpeTokenizer.Classify(word));

    [Fact]
    public void Tasks_are_deterministic_and_their_answers_correct()
    {
        var a = TaskSuite.Samples(["addition", "arithmetic", "reverse", "sort", "brackets"], 4, 5, seed: 3, stream: 1);
        var b = TaskSuite.Samples(["addition", "arithmetic", "reverse", "sort", "brackets"], 4, 5, seed: 3, stream: 1);
        Assert.Equal(a, b);
        Assert.NotEqual(a, TaskSuite.Samples(["addition", "arithmetic", "reverse", "sort", "brackets"], 4, 5, seed: 4, stream: 1));
        Assert.Equal(5 * 4 * 5, a.Count);
        foreach (var s in a)
        {
            switch (s.Task)
            {
                case "addition":
                {
                    var parts = s.Prompt.TrimEnd('=').Split('+');
                    Assert.All(parts, p => Assert.True(p.Length == s.Difficulty || (s.Difficulty == 1 && p.Length == 1)));
                    Assert.Equal(long.Parse(parts[0]) + long.Parse(parts[1]), long.Parse(s.Answer));
                    break;
                }
                case "arithmetic":
                {
                    var expr = s.Prompt["calc ".Length..].TrimEnd('=');
                    Assert.Equal(s.Difficulty, expr.Count(c => c is '+' or '-'));
                    var dt = new System.Data.DataTable();
                    Assert.Equal(Convert.ToInt64(dt.Compute(expr, null)), long.Parse(s.Answer));
                    break;
                }
                case "reverse":
                    Assert.Equal(string.Join(' ', s.Prompt["reverse ".Length..].TrimEnd(':').Split(' ').Reverse()), s.Answer.Trim());
                    break;
                case "sort":
                    Assert.Equal(string.Join(' ', s.Prompt["sort ".Length..].TrimEnd(':').Split(' ').Select(int.Parse).Order()), s.Answer.Trim());
                    break;
                case "brackets":
                    var open = s.Prompt["close ".Length..].TrimEnd(':');
                    Assert.Equal(s.Difficulty, open.Length);
                    Assert.Equal(new string(open.Reverse().Select(c => ")]}>"["([{<".IndexOf(c)]).ToArray()), s.Answer.Trim());
                    break;
            }
        }
    }

    [Fact]
    public void Corpus_split_is_deterministic_and_disjoint()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var file = Path.Combine(dir, "c.txt");
        File.WriteAllText(file, string.Join("\n\n", Enumerable.Range(0, 400).Select(i => $"Document number {i} says something about item {i * 7}.")));
        var a = Corpus.Load(file, 0.1, 0.1);
        var b = Corpus.Load(file, 0.1, 0.1);
        Assert.Equal(a.Train, b.Train);
        Assert.Equal(a.Test, b.Test);
        Assert.Equal(400, a.Train.Count + a.Valid.Count + a.Test.Count);
        Assert.Empty(a.Train.Intersect(a.Test));
        Assert.InRange(a.Test.Count, 20, 65);
        // Reordering documents does not move any document to another split.
        File.WriteAllText(file, string.Join("\n\n", Enumerable.Range(0, 400).Reverse().Select(i => $"Document number {i} says something about item {i * 7}.")));
        Assert.Equal(a.Test.Order(), Corpus.Load(file, 0.1, 0.1).Test.Order());
    }

    /// <summary>A process keeps the last dataset it prepared (a served worker's next job); moved to another results
    /// folder (the sweep benchmark's rounds), it prepares that folder's data cache instead of leaving it empty for
    /// the workers it starts there.</summary>
    [Fact]
    public void A_kept_dataset_is_prepared_again_when_the_results_folder_changes()
    {
        var previous = Environment.GetEnvironmentVariable("ORCHESTRATOR_RESULTS");
        try
        {
            var run = Orchestrator.Specs.SpecLoader.LoadText("name: d\nbase:\n  model: {vocab_size: 300, context: 32}\n" +
                "sweep:\n  router:\n    top_k: {k: 2}\n", "d.yaml").Runs[0].Typed;
            string MoveTo()
            {
                var folder = Directory.CreateTempSubdirectory("orch-data").FullName;
                Environment.SetEnvironmentVariable("ORCHESTRATOR_RESULTS", folder);
                return folder;
            }
            MoveTo();
            var first = Dataset.Prepare(run.Data, run.Model);
            Assert.Equal("kept from the worker's previous job", Dataset.Prepare(run.Data, run.Model).Timings);
            var second = MoveTo();
            var again = Dataset.Prepare(run.Data, run.Model);
            Assert.NotEqual("kept from the worker's previous job", again.Timings);
            Assert.Single(Directory.GetFiles(Path.Combine(second, "data"), "tokens-*.bin", SearchOption.AllDirectories));
            Assert.Single(Directory.GetFiles(Path.Combine(second, "data"), "bpe-300.json", SearchOption.AllDirectories));
            Assert.Equal(first.Train, again.Train);
        }
        finally { Environment.SetEnvironmentVariable("ORCHESTRATOR_RESULTS", previous); }
    }

    [Fact]
    public void A_corpus_hash_and_split_sizes_are_remembered_by_its_files_sizes_and_times()
    {
        var previous = Environment.GetEnvironmentVariable("ORCHESTRATOR_RESULTS");
        var dir = Directory.CreateTempSubdirectory().FullName;
        Environment.SetEnvironmentVariable("ORCHESTRATOR_RESULTS", Path.Combine(dir, "results"));
        try
        {
            var file = Path.Combine(dir, "c.txt");
            string Text(int n, string word) => string.Join("\n\n", Enumerable.Range(0, n)
                .Select(i => $"Document {i:D3} says {word} about item {i * 7:D4}."));
            var old = DateTime.UtcNow.AddMinutes(-10);
            File.WriteAllText(file, Text(300, "something"));
            File.SetLastWriteTimeUtc(file, old);
            var first = Corpus.Load(file, 0.1, 0.1);
            Assert.True(first.DocumentsRead);
            Assert.Equal((first.Train.Count, first.Valid.Count, first.Test.Count), first.Counts);

            // Known again without reading a document; the documents, when asked for, are the same.
            var again = Corpus.Load(file, 0.1, 0.1);
            Assert.False(again.DocumentsRead);
            Assert.Equal(first.Hash, again.Hash);
            Assert.Equal(first.Counts, again.Counts);
            Assert.Equal(first.Test, again.Test);
            Assert.True(again.DocumentsRead);
            // Other fractions are another split of the same documents.
            var other = Corpus.Load(file, 0.2, 0.1);
            Assert.True(other.DocumentsRead);
            Assert.Equal(first.Hash, other.Hash);
            Assert.NotEqual(first.Counts, other.Counts);

            // More documents: another size, another hash.
            File.WriteAllText(file, Text(301, "something"));
            File.SetLastWriteTimeUtc(file, old.AddSeconds(1));
            var grown = Corpus.Load(file, 0.1, 0.1);
            Assert.True(grown.DocumentsRead);
            Assert.NotEqual(first.Hash, grown.Hash);
            Assert.Equal(301, grown.Counts.Train + grown.Counts.Valid + grown.Counts.Test);

            // Same size and time, other text (a rewrite that kept both): the remembered hash is found wrong when
            // the documents are read, dropped, and the next load hashes the text anew.
            File.WriteAllText(file, Text(301, "otherwise"));
            File.SetLastWriteTimeUtc(file, old.AddSeconds(1));
            var stale = Corpus.Load(file, 0.1, 0.1);
            Assert.Equal(grown.Hash, stale.Hash);
            var e = Assert.Throws<InvalidDataException>(() => stale.Train);
            Assert.Contains("changed without its files' sizes or times changing", e.Message);
            var fresh = Corpus.Load(file, 0.1, 0.1);
            Assert.True(fresh.DocumentsRead);
            Assert.NotEqual(grown.Hash, fresh.Hash);

            // A file written just now is not trusted yet (its time may not have moved since the last write).
            File.WriteAllText(file, Text(300, "anew"));
            Corpus.Load(file, 0.1, 0.1);
            Assert.True(Corpus.Load(file, 0.1, 0.1).DocumentsRead);
        }
        finally { Environment.SetEnvironmentVariable("ORCHESTRATOR_RESULTS", previous); }
    }

    [Fact]
    public void Jsonl_corpus_errors_name_the_line()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "c.jsonl");
        File.WriteAllText(file, "{\"text\": \"ok\"}\n{\"body\": \"no text field\"}\n");
        var e = Assert.Throws<InvalidDataException>(() => Corpus.Load(file, 0.1, 0.1));
        Assert.Contains("c.jsonl:2", e.Message);
    }

    [Fact]
    public void Multiple_choice_files_load_and_errors_name_the_line()
    {
        var items = MultipleChoice.Load(Path.Combine(Paths.RepoRoot, "experiments", "data", "arithmetic-mc.jsonl"));
        Assert.Equal(36, items.Count);
        Assert.All(items, i => Assert.Equal(long.Parse(i.Question[8..^1].Split('+')[0]) + long.Parse(i.Question[8..^1].Split('+')[1]), long.Parse(i.Choices[i.Answer])));
        var file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "mc.jsonl");
        File.WriteAllText(file, "{\"question\": \"q\", \"choices\": [\"a\", \"b\"], \"answer\": 1}\n{\"question\": \"q\", \"choices\": [\"a\", \"b\"], \"answer\": 2}\n");
        var e = Assert.Throws<InvalidDataException>(() => MultipleChoice.Load(file));
        Assert.Contains("mc.jsonl:2: expected \"answer\": an index into choices (0 … 1)", e.Message);
    }

    [Fact]
    public void Easy_to_hard_curriculum_paces_difficulty()
    {
        var linear = new Curriculum("easy_to_hard", "linear", 4, 100);
        Assert.Equal((1, 1), linear.Difficulties(0));
        Assert.Equal((1, 2), linear.Difficulties(49));
        Assert.Equal((1, 4), linear.Difficulties(99));
        var root = new Curriculum("easy_to_hard", "root", 4, 100);
        Assert.Equal((1, 3), root.Difficulties(49));      // ⌈4·√0.5⌉ = 3
        Assert.Equal((1, 4), new Curriculum("none", "linear", 4, 100).Difficulties(0));
    }

    [Fact]
    public void Harmonic_difficulty_mix_draws_level_d_with_probability_proportional_to_one_over_d()
    {
        var rng = new Random(4);
        var counts = new int[5];
        const int N = 200_000;
        for (int i = 0; i < N; i++) counts[Orchestrator.Training.Data.Dataset.Difficulty(1, 4, "harmonic", rng)]++;
        double h = 1 + 1 / 2.0 + 1 / 3.0 + 1 / 4.0;
        for (int d = 1; d <= 4; d++) Assert.Equal(1.0 / d / h, counts[d] / (double)N, 2);
        // uniform stays the draw it always was (stored runs reproduce)
        var (a, b) = (new Random(9), new Random(9));
        for (int i = 0; i < 100; i++) Assert.Equal(b.Next(2, 5), Orchestrator.Training.Data.Dataset.Difficulty(2, 4, "uniform", a));
    }

    [Fact]
    public void Token_streams_read_back_from_the_cache_exactly_and_a_damaged_cache_is_ignored()
    {
        var tok = Orchestrator.Training.Data.BpeTokenizer.Train(["the cat sat on the mat", "a dog, a log!"], 280);
        var test = tok.EncodeWithWords("the dog sat on a log — twice");
        var streams = new Orchestrator.Training.Data.TokenStreams([1, 2, 3, 256], [], test);
        var path = Path.Combine(Directory.CreateTempSubdirectory("tokens").FullName, "d", "tokens.bin");
        Orchestrator.Training.Data.TokenCache.Save(path, streams);
        Assert.True(Orchestrator.Training.Data.TokenCache.TryLoad(path, out var back));
        Assert.Equal(streams.Train, back!.Train);
        Assert.Empty(back.Valid);
        Assert.Equal(test.Ids, back.Test.Ids);
        Assert.Equal(test.WordIndex, back.Test.WordIndex);
        Assert.Equal(test.Words, back.Test.Words);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^3]);                                   // cut short: encoded again
        Assert.False(Orchestrator.Training.Data.TokenCache.TryLoad(path, out _));
        File.WriteAllBytes(path, [.. bytes, 0]);                                 // trailing bytes: likewise
        Assert.False(Orchestrator.Training.Data.TokenCache.TryLoad(path, out _));
        foreach (var length in new[] { -1, int.MaxValue })                      // a damaged length: likewise
        {
            var damaged = bytes.ToArray();
            BitConverter.GetBytes(length).CopyTo(damaged, 4);                    // the train stream's length
            File.WriteAllBytes(path, damaged);
            Assert.False(Orchestrator.Training.Data.TokenCache.TryLoad(path, out _));
        }
        Assert.False(Orchestrator.Training.Data.TokenCache.TryLoad(path + ".absent", out _));
    }
}
