using System.Text.Json.Nodes;

namespace Orchestrator.Training.Data;

/// <summary>A pretrained checkpoint's tokenizer.json, run by Hugging Face's own tokenizers library (its Rust
/// implementation, through Tokenizers.DotNet) — not a re-implementation. The wrapper gives ids and text only; the
/// token → word map (for the token-class and word analyses) comes from each token's character span, found by
/// decoding: a token's text is what decoding the tokens up to it adds to decoding the tokens before it (over a
/// short window, so linear in the length).</summary>
public sealed class HfTokenizer : ITokenizer, IDisposable
{
    const int Window = 8;      // tokens of left context when decoding one token: enough for any UTF-8 character
    readonly Tokenizers.DotNet.Tokenizer inner;

    public string Path { get; }
    public int VocabSize { get; }
    public int EndOfText { get; }

    /// <param name="path">tokenizer.json</param>
    /// <param name="endOfText">the model's end-of-text id (config.json's eos_token_id)</param>
    public HfTokenizer(string path, int endOfText)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} is missing: a checkpoint scored or trained " +
            "on text needs its tokenizer.json (token ids can be scored without one: --tokens)", path);
        Path = path;
        inner = new Tokenizers.DotNet.Tokenizer(path);
        var json = JsonNode.Parse(File.ReadAllText(path))!;
        var ids = (json["model"]?["vocab"] as JsonObject)?.Select(kv => kv.Value!.GetValue<int>()) ?? [];
        var added = (json["added_tokens"] as JsonArray)?.Select(t => t!["id"]!.GetValue<int>()) ?? [];
        VocabSize = ids.Concat(added).DefaultIfEmpty(-1).Max() + 1;
        EndOfText = endOfText;
    }

    /// <summary>The end-of-text id of a checkpoint: config.json's eos_token_id (the first, when it lists several).
    /// </summary>
    public static int EndOfTextOf(JsonObject config) => config["eos_token_id"] switch
    {
        JsonArray a when a.Count > 0 => a[0]!.GetValue<int>(),
        JsonValue v => v.GetValue<int>(),
        _ => throw new InvalidDataException("config.json has no eos_token_id: the documents of the corpus cannot be " +
            "separated"),
    };

    public int[] Encode(string text) => inner.Encode(text).Select(i => (int)i).ToArray();

    public string Decode(IEnumerable<int> ids)
    {
        var a = ids.Select(i => (uint)i).ToArray();
        return a.Length == 0 ? "" : inner.Decode(a);
    }

    public string TokenText(int id) => id == EndOfText ? "<eot>" : Decode([id]);

    public TokenizedText EncodeWithWords(string text)
    {
        var ids = Encode(text);
        // The words, as our pre-tokenizer splits the text, with the character where each ends.
        var words = BpeTokenizer.PreTokens(text).ToList();
        var ends = new int[words.Count];
        for (int w = 0, at = 0; w < words.Count; w++) ends[w] = at += words[w].Length;
        var wordIndex = new int[ids.Length];
        int position = 0, word = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            int from = Math.Max(0, i - Window);
            var before = Decode(ids[from..i]);
            var upTo = Decode(ids[from..(i + 1)]);
            // A character split over tokens decodes as U+FFFD until complete: compare up to where they agree.
            int common = 0;
            while (common < before.Length && common < upTo.Length && before[common] == upTo[common]) common++;
            var piece = upTo[common..];
            // The token belongs to the word holding its first non-space character (its first, if all spaces).
            int offset = piece.TakeWhile(char.IsWhiteSpace).Count();
            int at = Math.Min(text.Length - 1, position + (offset < piece.Length ? offset : 0));
            while (word < words.Count - 1 && ends[word] <= at) word++;
            wordIndex[i] = word;
            position += Math.Max(0, upTo.Length - before.Length);
        }
        return new TokenizedText(ids, wordIndex, words);
    }

    public void Dispose() => inner.Dispose();
}
