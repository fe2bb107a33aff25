using System.Collections.Concurrent;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Moe;

/// <summary>TorchSharp Scalars that stay reachable while native code reads them: every number an op takes
/// (`t / 2.0`, `clamp_min(1e-9)`, `pow(2)`) goes through here.</summary>
/// <remarks>Why by hand: TorchSharp turns a .NET number into a Scalar (a native c10::Scalar owned by a finalizer) and
/// hands native code only its pointer. Nothing keeps the object alive during the call and dispose scopes do not track
/// Scalars, so a garbage collection that another thread starts meanwhile can finalize it and free the c10::Scalar
/// while the op reads it: "Expected false to be true" from c10::Scalar::toDouble, or in principle a wrong number.
/// Measured (`t / 3.0` on 4,096 floats, one other thread allocating): 26 and 47 failures in ~290k and ~470k ops,
/// none with a Scalar kept reachable; a test run met it once in a fine-tune-length loop. Cached Scalars live as long
/// as the process (they are few: constants and shape-derived numbers); a value that changes every step (a learning
/// rate, a budget β) is made with <see cref="ScalarExtensionMethods"/>.ToScalar() under `using`, which keeps it
/// alive to the end of its block. A test scans the compiled product code for implicit conversions.</remarks>
public static class Scalars
{
    static readonly ConcurrentDictionary<long, Scalar> Floats = new(), Integers = new();

    /// <summary>A float64 Scalar, as the implicit conversion from double makes (keyed by its bits: −0.0 is not 0.0).
    /// </summary>
    public static Scalar Of(double value) =>
        Floats.GetOrAdd(BitConverter.DoubleToInt64Bits(value), bits => BitConverter.Int64BitsToDouble(bits).ToScalar());

    /// <summary>An integral Scalar, as the implicit conversion from int or long makes.</summary>
    public static Scalar Of(long value) => Integers.GetOrAdd(value, v => v.ToScalar());

    /// <summary>1, libtorch's alpha in a plain sum: a + b is written a.add(b, Scalars.One) (and a + s, a += b
    /// likewise). TorchSharp's `+` (add(b), add_(b), add(s), s − t) passes a Scalar 1 it makes inside the call, where
    /// nothing keeps it alive; the test's scan of TorchSharp finds every member that makes one so.</summary>
    public static Scalar One => Of(1L);

    /// <summary>torch.arange(stop): 0, 1, …, stop − 1. TorchSharp's one- and two-argument arange make their start
    /// and step inside the call.</summary>
    public static Tensor Arange(long stop, ScalarType? dtype = null, Device? device = null) =>
        torch.arange(Of(0L), Of(stop), One, dtype, device);
}
