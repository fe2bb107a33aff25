using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Moe.Module;

/// <summary>One expert (Mixtral naming): y = w2(silu(w1·x) ⊙ w3·x). x: (T, d) → (T, d).</summary>
public sealed class SwiGluExpert : nn.Module<Tensor, Tensor>
{
    private readonly Linear w1, w2, w3;

    public SwiGluExpert(int dModel, int hidden) : base(nameof(SwiGluExpert))
    {
        w1 = nn.Linear(dModel, hidden, hasBias: false);
        w2 = nn.Linear(hidden, dModel, hasBias: false);
        w3 = nn.Linear(dModel, hidden, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => w2.forward(nn.functional.silu(w1.forward(x)) * w3.forward(x));

    /// <summary>Parameters of one expert: 3 · d · hidden.</summary>
    public static long ParameterCount(int dModel, int hidden) => 3L * dModel * hidden;
}
