// MSBuild inline task (see Directory.Build.targets): lets TorchSharp's native library load on hosts
// whose libstdc++ predates GLIBCXX_3.4.32, by weakening that one version requirement in the copy of
// libLibTorchSharp.so in a build output folder. Idempotent; a no-op where the host has 3.4.32.
using System;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class GlibcxxCompat : Task
{
    [Required] public string Directory { get; set; } = "";

    const string Needed = "GLIBCXX_3.4.32";
    const string MarkerSymbol = "_ZSt21ios_base_library_initv";

    public override bool Execute()
    {
        if (!System.IO.Directory.Exists(Directory)) return true;
        var libs = System.IO.Directory.GetFiles(Directory, "libLibTorchSharp.so", SearchOption.AllDirectories);
        if (libs.Length == 0) return true;
        if (HostHasVersion())
        {
            Log.LogMessage(MessageImportance.Low, "GlibcxxCompat: host libstdc++ provides " + Needed + "; nothing to do.");
            return true;
        }
        foreach (var lib in libs)
        {
            string result;
            try { result = Patch(lib); }
            catch (Exception e) { Log.LogError("GlibcxxCompat: cannot patch " + lib + ": " + e.Message); return false; }
            Log.LogMessage(MessageImportance.Normal, "GlibcxxCompat: " + lib + ": " + result);
        }
        return !Log.HasLoggedErrors;
    }

    static bool HostHasVersion()
    {
        string[] candidates = {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6" };
        var path = candidates.FirstOrDefault(File.Exists);
        if (path == null) return false;
        var bytes = File.ReadAllBytes(path);
        return IndexOf(bytes, Encoding.ASCII.GetBytes(Needed + "\0")) >= 0;
    }

    static int IndexOf(byte[] hay, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= hay.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && hay[i + j] == needle[j]) j++;
            if (j == needle.Length) return i;
        }
        return -1;
    }

    static int FindSection(int count, Func<int, uint> type, uint wanted)
    {
        for (int i = 0; i < count; i++) if (type(i) == wanted) return i;
        return -1;
    }

    // ELF64 little-endian only (x86_64 / aarch64 Linux).
    static string Patch(string path)
    {
        var b = File.ReadAllBytes(path);
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[4] != 2 || b[5] != 1)
            throw new InvalidDataException("not an ELF64 little-endian file");
        long shoff = BitConverter.ToInt64(b, 0x28);
        int shentsize = BitConverter.ToUInt16(b, 0x3a), shnum = BitConverter.ToUInt16(b, 0x3c);
        Func<int, long> secOff = i => shoff + (long)i * shentsize;
        Func<int, uint> secType = i => BitConverter.ToUInt32(b, (int)secOff(i) + 4);
        Func<int, long> secFileOff = i => BitConverter.ToInt64(b, (int)secOff(i) + 24);
        Func<int, long> secSize = i => BitConverter.ToInt64(b, (int)secOff(i) + 32);
        Func<int, int> secLink = i => (int)BitConverter.ToUInt32(b, (int)secOff(i) + 40);
        Func<long, string> cstr = o => { int e = (int)o; while (b[e] != 0) e++; return Encoding.ASCII.GetString(b, (int)o, e - (int)o); };

        const uint SHT_GNU_verneed = 0x6ffffffe, SHT_DYNSYM = 11, SHT_RELA = 4;
        int verneed = FindSection(shnum, secType, SHT_GNU_verneed);
        if (verneed < 0) return "no version requirements";
        long strtab = secFileOff(secLink(verneed));

        // Refuse if some dynamic relocation actually binds the marker symbol: weakening alone would not be enough.
        int dynsym = FindSection(shnum, secType, SHT_DYNSYM);
        if (dynsym >= 0)
        {
            long dynstr = secFileOff(secLink(dynsym));
            for (int s = 0; s < shnum; s++)
            {
                if (secType(s) != SHT_RELA || secLink(s) != dynsym) continue;
                for (long r = secFileOff(s); r < secFileOff(s) + secSize(s); r += 24)
                {
                    long info = BitConverter.ToInt64(b, (int)r + 8);
                    long symIndex = info >> 32;
                    if (symIndex == 0) continue;
                    long sym = secFileOff(dynsym) + symIndex * 24;
                    if (cstr(dynstr + BitConverter.ToUInt32(b, (int)sym)) == MarkerSymbol)
                        throw new InvalidDataException("a relocation refers to " + MarkerSymbol + "; a shim library defining it is required");
                }
            }
        }

        long o = secFileOff(verneed);
        while (true)
        {
            int cnt = BitConverter.ToUInt16(b, (int)o + 2);
            uint aux = BitConverter.ToUInt32(b, (int)o + 8), next = BitConverter.ToUInt32(b, (int)o + 12);
            long a = o + aux;
            for (int j = 0; j < cnt; j++)
            {
                ushort flags = BitConverter.ToUInt16(b, (int)a + 4);
                uint name = BitConverter.ToUInt32(b, (int)a + 8), anext = BitConverter.ToUInt32(b, (int)a + 12);
                if (cstr(strtab + name) == Needed)
                {
                    if ((flags & 0x2) != 0) return Needed + " already weak";
                    var nf = BitConverter.GetBytes((ushort)(flags | 0x2));
                    // Write the two flag bytes in place; write to a temp file and rename so a crash never leaves a torn library.
                    b[a + 4] = nf[0]; b[a + 5] = nf[1];
                    var tmp = path + ".glibcxx-tmp";
                    File.WriteAllBytes(tmp, b);
                    File.Copy(tmp, path, true);
                    File.Delete(tmp);
                    return "marked " + Needed + " weak";
                }
                a += anext;
            }
            if (next == 0) break;
            o += next;
        }
        return "does not require " + Needed;
    }
}
