using System.Reflection;
using System.Reflection.Emit;
using Orchestrator.Moe;
using Orchestrator.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Moe;

/// <summary>No number reaches native code through a Scalar that nothing keeps alive (Scalars.cs says why): the
/// compiled product code is scanned for TorchSharp's implicit conversions, and the scan itself is checked on code
/// that has them.</summary>
public class ScalarsTests
{
    static readonly Type[] Numbers =
        [typeof(double), typeof(float), typeof(int), typeof(long), typeof(short), typeof(byte), typeof(sbyte)];

    static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    /// <summary>"Type.Method → TorchSharp member" for every call in the method bodies of `types` that makes a Scalar
    /// from a .NET number on the spot: Scalar's implicit conversion, or a Tensor operator taking a number (which
    /// converts inside TorchSharp).</summary>
    static List<string> ImplicitScalars(IEnumerable<Type> types)
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance |
                                 BindingFlags.Static | BindingFlags.DeclaredOnly;
        var found = new List<string>();
        foreach (var type in types)
            foreach (var method in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)))
                foreach (var callee in Callees(method).Where(MakesAScalar))
                    found.Add($"{type.Name}.{method.Name} → {callee.DeclaringType!.Name}.{callee.Name}" +
                              $"({string.Join(", ", callee.GetParameters().Select(p => p.ParameterType.Name))})");
        return found;
    }

    /// <summary>Every method or constructor a method's body calls, in order.</summary>
    static IEnumerable<MethodBase> Callees(MethodBase method)
    {
        byte[]? il;
        try { il = method.GetMethodBody()?.GetILAsByteArray(); }
        catch (Exception e) when (e is BadImageFormatException or FileNotFoundException) { yield break; }
        if (il is null) yield break;
        for (int at = 0; at < il.Length;)
        {
            short value = il[at] == 0xFE ? (short)(0xFE00 | il[at + 1]) : il[at];
            var op = OpCodesByValue[value];
            at += op.Size;
            var callee = op.OperandType == OperandType.InlineMethod ? Callee(method, BitConverter.ToInt32(il, at)) : null;
            at += op.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, at),
                _ => 4,
            };
            if (callee is not null) yield return callee;
        }
    }

    static MethodBase? Callee(MethodBase caller, int token)
    {
        try
        {
            return caller.Module.ResolveMethod(token,
                caller.DeclaringType?.IsGenericType == true ? caller.DeclaringType.GetGenericArguments() : null,
                caller.IsGenericMethod ? caller.GetGenericArguments() : null);
        }
        catch (Exception e) when (e is ArgumentException or FileNotFoundException or TypeLoadException) { return null; }
    }

    static bool MakesAScalar(MethodBase m) =>
        (m.DeclaringType == typeof(Scalar) && m.Name == "op_Implicit") ||
        (m.DeclaringType == typeof(Tensor) && m.Name.StartsWith("op_", StringComparison.Ordinal) &&
         m.Name != "op_Implicit" && m.GetParameters().Any(p => Numbers.Contains(p.ParameterType))) ||
        MakeOneInside.Value.Contains(m);

    /// <summary>TorchSharp members that make a Scalar inside the call and leave it to the finalizer (`a + b` passes
    /// a fresh Scalar 1 as libtorch's alpha, arange(stop) its start and step), and every TorchSharp member that calls
    /// one: found in TorchSharp's own compiled code, so a new TorchSharp's are found too.</summary>
    static readonly Lazy<HashSet<MethodBase>> MakeOneInside = new(() =>
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance |
                                 BindingFlags.Static | BindingFlags.DeclaredOnly;
        Type[] types;
        try { types = typeof(Scalar).Assembly.GetTypes(); }
        catch (ReflectionTypeLoadException e) { types = e.Types.OfType<Type>().ToArray(); }
        var calls = types.Where(t => t != typeof(Scalar) && t != typeof(ScalarExtensionMethods))
            .SelectMany(t => t.GetMethods(all).Cast<MethodBase>().Concat(t.GetConstructors(all)))
            .ToDictionary(m => m, m => Callees(m).ToList());
        static bool Makes(MethodBase c) => c.DeclaringType == typeof(Scalar) && c.Name == "op_Implicit" ||
                                           c.DeclaringType == typeof(ScalarExtensionMethods) && c.Name == "ToScalar";
        static bool Disposes(MethodBase c) => c.DeclaringType == typeof(Scalar) && c.Name == "Dispose";
        var found = calls.Where(kv => kv.Value.Any(Makes) && !kv.Value.Any(Disposes)).Select(kv => kv.Key).ToHashSet();
        for (bool grew = true; grew;)
        {
            var callers = calls.Where(kv => !found.Contains(kv.Key) && kv.Value.Any(found.Contains)).ToList();
            found.UnionWith(callers.Select(kv => kv.Key));
            grew = callers.Count > 0;
        }
        return found;
    });

    [Fact]
    public void The_product_code_makes_no_Scalar_that_native_code_could_read_after_it_is_freed()
    {
        var assemblies = new[] { typeof(MoeTransformer).Assembly, typeof(Trainer).Assembly,
            typeof(Orchestrator.Cli.Bench.SweepBench).Assembly };
        var found = ImplicitScalars(assemblies.SelectMany(a => a.GetTypes()));
        Assert.True(found.Count == 0, "implicit Scalars (use Scalars.Of, or ToScalar() under using):\n" +
                                      string.Join("\n", found));
    }

    /// <summary>Code as it was written before Scalars: a division by a double, a clamp at a double literal, an int
    /// subtracted, a double times a tensor, a sum of tensors (TorchSharp makes its alpha inside), arange(stop).
    /// </summary>
    static Tensor Implicit(Tensor t) => (t / 2.0).clamp_min(1e-9) - 1 + 0.5 * t + arange(Scalars.Of(t.shape[0]));

    static Tensor Explicit(Tensor t) => (t / Scalars.Of(2.0)).clamp_min(Scalars.Of(1e-9)).sub(Scalars.Of(1))
        .add(Scalars.Of(0.5) * t, Scalars.One).add(Scalars.Arange(t.shape[0]), Scalars.One);

    [Fact]
    public void The_scan_finds_each_implicit_Scalar_and_the_explicit_form_computes_the_same_bits()
    {
        var found = ImplicitScalars([typeof(ScalarsTests)]).Where(f => f.StartsWith("ScalarsTests.Implicit ")).ToList();
        // op_Division, op_Implicit (clamp_min), op_Subtraction, op_Multiply, op_Addition twice, arange
        Assert.Equal(7, found.Count);
        Assert.Contains(found, f => f.EndsWith("Scalar.op_Implicit(Double)"));
        Assert.Contains(found, f => f.EndsWith("Tensor.op_Division(Tensor, Double)"));
        Assert.Equal(2, found.Count(f => f.EndsWith("Tensor.op_Addition(Tensor, Tensor)")));
        Assert.Contains(found, f => f.Contains("torch.arange(Scalar, "));
        Assert.DoesNotContain(ImplicitScalars([typeof(ScalarsTests)]), f => f.StartsWith("ScalarsTests.Explicit "));
        using var scope = NewDisposeScope();
        manual_seed(3);
        var t = randn(257);
        Assert.Equal(Implicit(t).data<float>().ToArray(), Explicit(t).data<float>().ToArray());
    }

    [Fact]
    public void A_cached_Scalar_is_one_object_per_value_with_the_type_and_value_the_implicit_conversion_gives()
    {
        Assert.Same(Scalars.Of(1e-9), Scalars.Of(1e-9));
        Assert.Same(Scalars.Of(2), Scalars.Of(2L));
        Assert.NotSame(Scalars.Of(0.0), Scalars.Of(-0.0));                 // −0.0 == 0.0, but not the same number
        Assert.True(double.IsNegative(Scalars.Of(-0.0).ToDouble()));
        using Scalar fromDouble = 0.5, fromInt = 2;
        Assert.Equal(fromDouble.Type, Scalars.Of(0.5).Type);
        Assert.Equal(fromInt.Type, Scalars.Of(2).Type);
        Assert.Equal(0.5, Scalars.Of(0.5).ToDouble());
        Assert.Equal(2L, Scalars.Of(2).ToInt64());
    }
}
