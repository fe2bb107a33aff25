using System.Diagnostics;
using Orchestrator.Moe;
using Orchestrator.Moe.Module;
using Orchestrator.Moe.Routing;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Orchestrator.Training;

/// <summary>Metrics of one Ada-K optimisation step.</summary>
public sealed record AdaKStep(int Step, string Phase, double Loss, double Reward, double AdvantageMean,
    double AdvantageStd,
    double[] MeanK, double ClipFraction, double Kl, double Regulariser, double WallSeconds);

/// <summary>Ada-K (Yue et al. 2024): per-layer allocators trained with PPO on a frozen MoE model.
/// Each allocator is an agent choosing every token's k; the reward is the token's log-likelihood,
/// and the advantage at layer l is A_l = γ^(L−l) · (R(Ada-K routing) − R(default top-k routing)),
/// with the baseline computed once per batch from the unchanged model (no value network).
/// L = L_RL + λ·mean_l E_π_l[k], optimised for `ppo_epochs` epochs per batch; an optional warm start
/// first trains the allocators to classify pseudo-labels (k_warm: the default k; p_warm: the smallest
/// k whose sorted cumulative router probability reaches p).</summary>
public static class AdaKTrainer
{
    /// <summary>PPO-clip: −mean(min(r·A, clip(r, 1−ε, 1+ε)·A)), r = exp(log π_θ(k) − log π_old(k)).
    /// All (T).</summary>
    public static Tensor PpoLoss(Tensor logpNew, Tensor logpOld, Tensor advantage, double epsilon)
    {
        var ratio = (logpNew - logpOld).exp();
        var clipped = ratio.clamp(Scalars.Of(1 - epsilon), Scalars.Of(1 + epsilon));
        return -minimum(ratio * advantage, clipped * advantage).mean();
    }

    /// <summary>E_π[k] = Σ_n n·π(n) per token. allocatorLogits: (T, N) → (T).</summary>
    public static Tensor ExpectedK(Tensor allocatorLogits)
    {
        var ks = arange(Scalars.Of(1), Scalars.Of(allocatorLogits.shape[1] + 1), Scalars.One,
            dtype: allocatorLogits.dtype, device: allocatorLogits.device);
        return (allocatorLogits.softmax(-1) * ks).sum(-1);
    }

    /// <summary>Warm-start pseudo-labels in 1..N. probs: (T, N) router probabilities.
    /// p_warm: the smallest k whose sorted cumulative probability reaches p; k_warm: defaultK.</summary>
    public static Tensor WarmStartLabels(Tensor probs, string mode, double p, int defaultK)
    {
        if (mode == "k_warm") return full(probs.shape[0], Scalars.Of(defaultK), dtype: ScalarType.Int64,
            device: probs.device);
        if (mode != "p_warm") throw new ArgumentException($"no labels for warm start '{mode}'");
        var cum = probs.sort(-1, descending: true).Values.cumsum(-1);                  // (T, N)
        // count of ranks whose cumulative mass is still below p, plus the one that reaches it
        var k = cum.lt(Scalars.Of(p - Router.Tolerance)).sum(-1).add(Scalars.One, Scalars.One);
        return k.clamp_max(Scalars.Of(probs.shape[1]));
    }

    /// <summary>Log-likelihood of each next token. logits: (B, S, V), target: (B, S) → (B·S).</summary>
    static Tensor TokenLogLikelihood(Tensor logits, Tensor target) =>
        logits.log_softmax(-1).gather(-1, target.unsqueeze(-1)).reshape(-1);

    public static List<AdaKStep> Train(MoeTransformer model, RouterConfig rc, int steps, Func<int, Tensor> nextBatch,
        Action<AdaKStep>? onStep = null)
    {
        var set = AdaKRouter.Settings.Of(rc);
        var blocks = model.MoeBlocks;
        var agents = blocks.Select((b, i) => (block: b, moeIndex: i)).Where(a => a.block.HasAllocator).ToList();
        if (agents.Count == 0) throw new InvalidOperationException("ada_k training needs allocators: convert the " +
            "model to router ada_k first");
        int lastMoe = blocks.Count - 1;
        var ada = Routers.Create(rc, model.Config.Experts);
        var topk = Routers.Create(RouterConfig.TopK(set.DefaultK), model.Config.Experts);

        // Only the allocators train: the model and its router stay frozen.
        foreach (var p in model.parameters()) p.requires_grad = false;
        var weights = agents.Select(a => a.block.Allocator!.weight!).ToList();
        foreach (var w in weights) w.requires_grad = true;
        using var optimizer = optim.AdamW(weights, lr: set.Lr, weight_decay: 0);
        model.eval();
        var history = new List<AdaKStep>();
        var clock = Stopwatch.StartNew();

        void Use(Router r)
        {
            foreach (var b in blocks) b.SetRouter(r, b.HasAllocator);
        }

        try
        {
            // 1. Warm start: classify pseudo-labels.
            int warm = set.WarmStart == "random" ? 0 : set.WarmSteps;
            for (int step = 0; step < warm; step++)
            {
                using var scope = NewDisposeScope();
                var batch = nextBatch(step);
                Use(ada);
                ModelOutput output;
                using (no_grad()) output = model.Forward(batch.narrow(1, 0, batch.shape[1] - 1));
                optimizer.zero_grad();
                var losses = agents.Select(a =>
                {
                    var routed = output.Routing[a.moeIndex];
                    var labels = WarmStartLabels(routed.Routing.Probs.narrow(1, 0, model.Config.Experts), set.WarmStart,
                        set.WarmP, set.DefaultK);
                    var allocatorLogits = a.block.Allocator!.forward(routed.RouterInput.detach());
                    return nn.functional.cross_entropy(allocatorLogits.to(ScalarType.Float32), labels - Scalars.Of(1));
                }).ToList();
                var loss = stack(losses).mean();
                loss.backward();
                optimizer.step();
                var meanK = agents.Select(a
                    => (double)output.Routing[a.moeIndex].Routing.ChosenK!.to(ScalarType.Float32)
                    .mean().item<float>()).ToArray();
                var m = new AdaKStep(step, "warm", loss.item<float>(), 0, 0, 0, meanK, 0, 0, 0,
                    clock.Elapsed.TotalSeconds);
                history.Add(m);
                onStep?.Invoke(m);
            }

            // 2. PPO.
            for (int step = 0; step < steps; step++)
            {
                using var scope = NewDisposeScope();
                var batch = nextBatch(warm + step);
                long s = batch.shape[1] - 1;
                var input = batch.narrow(1, 0, s);
                var target = batch.narrow(1, 1, s);
                Tensor rBase, r;
                var rollout = new List<(Tensor h, Tensor k, Tensor logpOld, Tensor piOld, double discount)>();
                using (no_grad())
                {
                    Use(topk);
                    // baseline: unchanged top-k model
                    rBase = TokenLogLikelihood(model.Forward(input).Logits, target);
                    Use(ada);
                    var sampled = model.Forward(input, sampleAllocators: true);
                    // reward under sampled k
                    r = TokenLogLikelihood(sampled.Logits, target);
                    foreach (var (block, moeIndex) in agents)
                    {
                        var ro = sampled.Routing[moeIndex].Routing;
                        var logp = ro.AllocatorLogits!.log_softmax(-1);
                        rollout.Add((sampled.Routing[moeIndex].RouterInput.detach(), ro.ChosenK!,
                            logp.gather(1, (ro.ChosenK! - Scalars.Of(1)).unsqueeze(1)).squeeze(1), logp.exp(),
                            Math.Pow(set.Gamma, lastMoe - moeIndex)));
                    }
                }
                // R(Ada-K) − R(top-k), (T)
                var gain = r - rBase;
                double lossValue = 0, regValue = 0, clipFraction = 0, kl = 0;
                for (int epoch = 0; epoch < set.PpoEpochs; epoch++)
                {
                    optimizer.zero_grad();
                    var rl = new List<Tensor>(); var reg = new List<Tensor>();
                    double clip = 0, klSum = 0;
                    for (int j = 0; j < agents.Count; j++)
                    {
                        var (h, k, logpOld, piOld, discount) = rollout[j];
                        var logits = agents[j].block.Allocator!.forward(h).to(ScalarType.Float32);             // (T, N)
                        var logp = logits.log_softmax(-1);
                        var logpK = logp.gather(1, (k - Scalars.Of(1)).unsqueeze(1)).squeeze(1);
                        rl.Add(PpoLoss(logpK, logpOld, Scalars.Of(discount) * gain, set.Epsilon));
                        reg.Add(ExpectedK(logits).mean());
                        using (no_grad())
                        {
                            clip += (logpK - logpOld).exp().sub(Scalars.Of(1)).abs().gt(Scalars.Of(set.Epsilon))
                                .to(ScalarType.Float32).mean().item<float>();
                            // KL(π_old ‖ π)
                            var logOld = piOld.clamp_min(Scalars.Of(1e-12)).log();
                            klSum += (piOld * (logOld - logp)).sum(-1).mean().item<float>();
                        }
                    }
                    var lossRl = stack(rl).mean();
                    // mean over layers of E_π[k]
                    var lossReg = stack(reg).mean();
                    var loss = lossRl.add(Scalars.Of(set.Lambda) * lossReg, Scalars.One);
                    loss.backward();
                    optimizer.step();
                    lossValue = loss.item<float>(); regValue = lossReg.item<float>();
                    clipFraction = clip / agents.Count; kl = klSum / agents.Count;
                }
                var meanK = rollout.Select(x => (double)x.k.to(ScalarType.Float32).mean().item<float>()).ToArray();
                var m = new AdaKStep(step, "ppo", lossValue, r.mean().item<float>(), gain.mean().item<float>(),
                    gain.std().item<float>(),
                    meanK, clipFraction, kl, regValue, clock.Elapsed.TotalSeconds);
                history.Add(m);
                onStep?.Invoke(m);
            }
        }
        finally
        {
            Use(ada);
            foreach (var w in weights) w.requires_grad = false;
        }
        return history;
    }
}
