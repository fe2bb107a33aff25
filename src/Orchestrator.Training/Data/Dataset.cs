using Orchestrator.Training.Tasks;

namespace Orchestrator.Training.Data;

/// <summary>The corpus, its tokenizer (trained once per corpus and vocabulary size, then reused from
/// results/data) and the token streams of each split; documents are joined with end-of-text.</summary>
public sealed record Dataset
{
    public required Corpus Corpus { get; init; }
    public required ITokenizer Tokenizer { get; init; }
    public required int[] Train { get; init; }
    public required int[] Valid { get; init; }
    public required TokenizedText Test { get; init; }
    public required string TokenizerPath { get; init; }

    /// <summary>What preparing took, for the worker log: reading the corpus, the tokenizer, the token streams
    /// (and whether they came from the cache).</summary>
    public string Timings { get; private init; } = "";

    /// <summary>The model's data: our tokenizer for a model pretrained here (trained on the corpus at the model's
    /// vocabulary size), the checkpoint's tokenizer.json for a pretrained one (model.source: hf:…). A served
    /// worker (Worker.Serve) keeps the last dataset it prepared for the next job that asks for the same.</summary>
    public static Dataset Prepare(DataConfig data, ModelConfig model)
    {
        // The data cache's folder is part of the key: a process that moves to another results folder (the sweep
        // benchmark's rounds) prepares that folder's cache instead of leaving it empty for its workers.
        var key = FormattableString.Invariant($"{data.Corpus}|{data.ValidFraction:R}|{data.TestFraction:R}|") +
                  $"{model.Source}|{model.VocabSize}|{model.Context}|{model.DType}|{Paths.DataCache}";
        if (last is { } p && p.Key == key) return p.Data with { Timings = "kept from the worker's previous job" };
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var corpus = Corpus.Load(data.Corpus, data.ValidFraction, data.TestFraction);
        double read = clock.Elapsed.TotalSeconds;
        ITokenizer tok;
        string path, streamsKey;
        if (model.Pretrained)
        {
            var hf = HfConfig.Read(HfConfig.FolderOf(model.Source), model.Context, model.DType);
            path = Path.Combine(hf.Folder, "tokenizer.json");
            var hfTok = new HfTokenizer(path, HfTokenizer.EndOfTextOf(hf.Raw));
            if (hfTok.VocabSize > model.VocabSize)
                throw new InvalidDataException($"{path} has {hfTok.VocabSize} tokens, more than config.json's " +
                    $"vocab_size {model.VocabSize}");
            tok = hfTok;
            streamsKey = "hf-" + Protocol.Sha256(path)[..16];
        }
        else
        {
            path = Path.Combine(Paths.DataCache, corpus.Hash, $"bpe-{model.VocabSize}.json");
            if (File.Exists(path)) tok = BpeTokenizer.Load(path);
            else
            {
                var bpe = BpeTokenizer.Train(corpus.Train, model.VocabSize);
                bpe.Save(path);
                tok = bpe;
            }
            streamsKey = model.VocabSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        double tokenizer = clock.Elapsed.TotalSeconds;
        // The token streams of a corpus, split and tokenizer are the same for every job: encoded once, then read
        // back as one binary block (encoding the 1.2M training tokens of fortunes took 1.1–1.4 s per job).
        var cache = Path.Combine(Paths.DataCache, corpus.Hash, FormattableString.Invariant(
            $"tokens-{streamsKey}-{data.ValidFraction:R}-{data.TestFraction:R}.bin"));
        bool cached = TokenCache.TryLoad(cache, out var streams);
        if (!cached)
        {
            int[] Join(IEnumerable<string> docs) => docs.SelectMany(d
                => tok.Encode(d).Append(tok.EndOfText)).ToArray();
            streams = new TokenStreams(Join(corpus.Train), Join(corpus.Valid),
                tok.EncodeWithWords(string.Join("\n\n", corpus.Test)));
            TokenCache.Save(cache, streams);
        }
        double total = clock.Elapsed.TotalSeconds;
        var dataset = new Dataset { Corpus = corpus, Tokenizer = tok, Train = streams!.Train, Valid = streams.Valid,
            Test = streams.Test, TokenizerPath = path, Timings = FormattableString.Invariant(
                $"corpus {read:F2} s, tokenizer {tokenizer - read:F2} s, tokens {total - tokenizer:F2} s ") +
                (cached ? "(cached)" : "(encoded, now cached)") };
        last = (key, dataset);
        return dataset;
    }

    /// <summary>The dataset this process prepared last, by what it was prepared from (read-only to the recipes).
    /// </summary>
    static (string Key, Dataset Data)? last;

    /// <summary>A row of `length` tokens of task samples (each "prompt answer\n"), drawn with difficulty in
    /// [minDifficulty, maxDifficulty]: uniformly, or (mix "harmonic") with P(d) ∝ 1/d, so that the easy
    /// levels a small model can learn are seen often enough to be learnt.</summary>
    public int[] TaskRow(IReadOnlyList<string> tasks, int minDifficulty, int maxDifficulty, int length, Random rng,
        string mix = "uniform")
    {
        var row = new List<int>(length + 32);
        while (row.Count < length)
        {
            var task = tasks[rng.Next(tasks.Count)];
            var s = TaskSuite.Generate(task, Difficulty(minDifficulty, maxDifficulty, mix, rng), rng);
            row.AddRange(Tokenizer.Encode(s.Text));
        }
        return row.Take(length).ToArray();
    }

    /// <summary>A difficulty in [lo, hi]: uniform, or harmonic — d with probability (1/d) / Σ 1/j.</summary>
    public static int Difficulty(int lo, int hi, string mix, Random rng)
    {
        if (mix != "harmonic") return rng.Next(lo, hi + 1);
        double total = 0;
        for (int d = lo; d <= hi; d++) total += 1.0 / d;
        double u = rng.NextDouble() * total;
        for (int d = lo; d < hi; d++)
            if ((u -= 1.0 / d) < 0) return d;
        return hi;
    }

    public static int[] Window(int[] stream, int length, Random rng)
    {
        if (stream.Length <= length) throw new InvalidDataException($"token stream of {stream.Length} is shorter " +
            $"than a window of {length}");
        int start = rng.Next(stream.Length - length);
        return stream.AsSpan(start, length).ToArray();
    }
}
