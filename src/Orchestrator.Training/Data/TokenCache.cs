using System.Runtime.InteropServices;

namespace Orchestrator.Training.Data;

/// <summary>A corpus's token streams: training and validation ids, and the test split with each token's word.
/// </summary>
public sealed record TokenStreams(int[] Train, int[] Valid, TokenizedText Test);

/// <summary>Token streams on disk as one binary block (little-endian int32 arrays, then the test split's words
/// as UTF-8 strings), written atomically so that concurrent workers never read half a file. A file that does
/// not read back whole is ignored and encoded again.</summary>
public static class TokenCache
{
    const int Magic = 0x4F4B5431;   // "1TKO": format version 1

    public static bool TryLoad(string path, out TokenStreams? streams)
    {
        streams = null;
        if (!File.Exists(path)) return false;
        try
        {
            using var r = new BinaryReader(File.OpenRead(path));
            if (r.ReadInt32() != Magic) return false;
            // Read straight into the array, uninitialised: one copy and no zeroing of ~10 MB (for fortunes).
            int[] Ints()
            {
                long n = r.ReadInt32();
                if (n < 0 || n * sizeof(int) > r.BaseStream.Length - r.BaseStream.Position)
                    throw new EndOfStreamException();                    // a damaged length: encoded again
                var a = GC.AllocateUninitializedArray<int>((int)n);
                r.BaseStream.ReadExactly(MemoryMarshal.AsBytes(a.AsSpan()));
                return a;
            }
            var (train, valid, ids, wordIndex) = (Ints(), Ints(), Ints(), Ints());
            var words = new string[r.ReadInt32()];
            for (int i = 0; i < words.Length; i++) words[i] = r.ReadString();
            if (r.BaseStream.Position != r.BaseStream.Length || ids.Length != wordIndex.Length) return false;
            streams = new TokenStreams(train, valid, new TokenizedText(ids, wordIndex, words));
            return true;
        }
        catch (EndOfStreamException) { return false; }
    }

    public static void Save(string path, TokenStreams s)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var tmp = $"{path}.{Environment.ProcessId}.tmp";
        using (var w = new BinaryWriter(File.Create(tmp)))
        {
            w.Write(Magic);
            foreach (var a in new[] { s.Train, s.Valid, s.Test.Ids, s.Test.WordIndex })
            {
                w.Write(a.Length);
                w.Write(MemoryMarshal.AsBytes(a.AsSpan()));
            }
            w.Write(s.Test.Words.Count);
            foreach (var word in s.Test.Words) w.Write(word);
        }
        File.Move(tmp, path, overwrite: true);
    }
}
