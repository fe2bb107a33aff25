using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Moe.Checkpoint;

/// <summary>One tensor's entry in a safetensors header: dtype tag, shape and byte range in the data section.
/// </summary>
public sealed record SafeTensorInfo(string Name, string DType, long[] Shape, long Begin, long End);

/// <summary>The safetensors format (a u64 little-endian header length, a JSON header naming each tensor's dtype,
/// shape and data_offsets, then the raw little-endian bytes). Written by hand: the format is two dozen lines of
/// specification, and a reader of our own reads one tensor at a time at its offset — a shard is never held whole
/// in memory, and the name mapping and packed-expert splitting stay ours. (TorchSharp.PyBridge's reader loads a
/// whole file into a state dict under the file's own names.)</summary>
public sealed class SafeTensorsFile : IDisposable
{
    static readonly Dictionary<string, ScalarType> DTypes = new()
    {
        ["F32"] = ScalarType.Float32, ["F16"] = ScalarType.Float16, ["BF16"] = ScalarType.BFloat16,
        ["F64"] = ScalarType.Float64, ["I64"] = ScalarType.Int64, ["I32"] = ScalarType.Int32,
    };

    readonly FileStream stream;
    readonly long dataStart;

    public string Path { get; }
    public IReadOnlyList<SafeTensorInfo> Tensors { get; }

    public SafeTensorsFile(string path)
    {
        Path = path;
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint file {path} is missing", path);
        stream = File.OpenRead(path);
        var lengthBytes = new byte[8];
        stream.ReadExactly(lengthBytes);
        long n = BinaryPrimitives.ReadInt64LittleEndian(lengthBytes);
        if (n <= 0 || n > 100_000_000 || n > stream.Length - 8)
            throw new InvalidDataException($"{path} is not a safetensors file (header length {n})");
        var header = new byte[n];
        stream.ReadExactly(header);
        dataStart = 8 + n;
        var json = JsonNode.Parse(Encoding.UTF8.GetString(header)) as JsonObject
            ?? throw new InvalidDataException($"{path}: the safetensors header is not a JSON object");
        Tensors = json.Where(kv => kv.Key != "__metadata__").Select(kv =>
        {
            var o = kv.Value!.AsObject();
            var offsets = o["data_offsets"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray();
            return new SafeTensorInfo(kv.Key, o["dtype"]!.GetValue<string>(),
                o["shape"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray(), offsets[0], offsets[1]);
        }).OrderBy(t => t.Begin).ToList();
    }

    /// <summary>One tensor, read from its offset into a CPU tensor of the file's dtype.</summary>
    public Tensor Read(SafeTensorInfo info)
    {
        if (!DTypes.TryGetValue(info.DType, out var dtype))
            throw new InvalidDataException($"{Path}: tensor {info.Name} has dtype {info.DType} (supported: " +
                $"{string.Join(", ", DTypes.Keys)})");
        var t = empty(info.Shape, dtype);
        long bytes = info.End - info.Begin;
        if (bytes != t.NumberOfElements * t.ElementSize)
            throw new InvalidDataException($"{Path}: tensor {info.Name} spans {bytes} bytes, its shape " +
                $"[{string.Join(", ", info.Shape)}] and dtype {info.DType} need {t.NumberOfElements * t.ElementSize}");
        var buffer = new byte[bytes];
        stream.Seek(dataStart + info.Begin, SeekOrigin.Begin);
        stream.ReadExactly(buffer);
        t.bytes = buffer;
        return t;
    }

    public void Dispose() => stream.Dispose();

    /// <summary>Writes tensors (CPU or not; stored in their own dtype) as one safetensors file, atomically.</summary>
    public static void Write(string path, IEnumerable<(string Name, Tensor Tensor)> tensors)
    {
        var list = tensors.Select(t => (t.Name, Tensor: t.Tensor.detach().cpu().contiguous())).ToList();
        var header = new JsonObject { ["__metadata__"] = new JsonObject { ["format"] = "pt" } };
        long offset = 0;
        foreach (var (name, t) in list)
        {
            long size = t.NumberOfElements * t.ElementSize;
            header[name] = new JsonObject
            {
                ["dtype"] = DTypes.First(kv => kv.Value == t.dtype).Key,
                ["shape"] = new JsonArray(t.shape.Select(s => (JsonNode)s).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + size),
            };
            offset += size;
        }
        var text = Encoding.UTF8.GetBytes(header.ToJsonString());
        var padded = new byte[(text.Length + 7) / 8 * 8];
        Array.Fill(padded, (byte)' ');
        text.CopyTo(padded, 0);
        var tmp = path + ".tmp";
        using (var f = File.Create(tmp))
        {
            var length = new byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(length, padded.Length);
            f.Write(length);
            f.Write(padded);
            foreach (var (_, t) in list) f.Write(t.bytes);
        }
        File.Move(tmp, path, true);
    }
}
