namespace Orchestrator.Training.Data;

/// <summary>What training and evaluation need of a tokenizer: ours (BpeTokenizer, trained on the corpus) or a
/// pretrained checkpoint's tokenizer.json (HfTokenizer).</summary>
public interface ITokenizer
{
    int VocabSize { get; }
    /// <summary>The id that separates documents (and starts prompts).</summary>
    int EndOfText { get; }
    int[] Encode(string text);
    /// <summary>Encodes and records, for every token, the index of the word it came from.</summary>
    TokenizedText EncodeWithWords(string text);
    string Decode(IEnumerable<int> ids);
    string TokenText(int id);
}
