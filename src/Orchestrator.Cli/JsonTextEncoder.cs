using System.Text.Encodings.Web;

namespace Orchestrator.Cli;

/// <summary>JSON output for programs keeps text as it is: only what JSON requires is escaped (quote, backslash,
/// control characters). The library's relaxed encoder still escapes characters outside the Basic Multilingual
/// Plane (𝔘 as \uD835\uDD18) and a few others, which is valid JSON but not the UTF-8 a reader greps for.</summary>
sealed unsafe class JsonTextEncoder : JavaScriptEncoder
{
    public static readonly JsonTextEncoder Instance = new();

    public override int MaxOutputCharactersPerInputCharacter => 6;     // \uXXXX

    public override bool WillEncode(int unicodeScalar) => unicodeScalar is < 0x20 or '"' or '\\';

    public override int FindFirstCharacterToEncode(char* text, int textLength)
    {
        for (int i = 0; i < textLength; i++)
            if (WillEncode(text[i])) return i;
        return -1;
    }

    public override bool TryEncodeUnicodeScalar(int unicodeScalar, char* buffer, int bufferLength,
        out int numberOfCharactersWritten)
    {
        var escaped = unicodeScalar switch
        {
            '"' => "\\\"", '\\' => "\\\\", '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", '\b' => "\\b", '\f' => "\\f",
            < 0x20 => $"\\u{unicodeScalar:X4}",
            _ => char.ConvertFromUtf32(unicodeScalar),
        };
        numberOfCharactersWritten = 0;
        if (escaped.Length > bufferLength) return false;
        for (int i = 0; i < escaped.Length; i++) buffer[i] = escaped[i];
        numberOfCharactersWritten = escaped.Length;
        return true;
    }
}
