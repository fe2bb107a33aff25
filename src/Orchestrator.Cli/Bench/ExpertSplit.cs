using System.Text.Json.Nodes;
using Orchestrator.Analysis;

namespace Orchestrator.Cli.Bench;

/// <summary>Where a router's wall-clock saving goes, from one block's inference forwards (telemetry on) beside
/// top-k's: T (forward ms) split into E, the routed experts' FFNs (MoeBlock.ExpertClock), and T − E, the rest.
/// With ρ = the router's expert FLOPs ÷ top-k's (per token, from the experts its tokens used):
///   T_R = (T_k − (1 − ρ)·E_k)  +  (E_R − ρ·E_k)  +  ((T_R − E_R) − (T_k − E_k))
///         what FLOPs promise       expert scaling      the time it adds outside its experts
/// The first term alone gives the router's **efficiency ceiling**: the efficiency it would reach if its experts'
/// time fell exactly with their FLOPs and it added nothing outside them — not 1, because the experts' share of the
/// time (E_k / T_k) is smaller than their share of the FLOPs: a router that saves expert FLOPs (ρ &lt; 1) saves less
/// of the time (ceiling &lt; 1), one that spends more (ρ &gt; 1) loses less of it (ceiling &gt; 1).</summary>
public static class ExpertSplit
{
    /// <summary>One block's figures: forward and expert ms of top-k (k) and the router (r), the expert FLOPs ratio ρ
    /// and the FLOPs speed-up F (whole forward).</summary>
    public sealed record Block(double TopMs, double TopExpertMs, double Ms, double ExpertMs, double Rho, double Flops)
    {
        /// <summary>(T_R − E_R) − (T_k − E_k): what the router adds outside its experts (routing, dispatch,
        /// zero-computation experts), ms.</summary>
        public double OutsideExpertsMs => Ms - ExpertMs - (TopMs - TopExpertMs);

        /// <summary>E_R ÷ (ρ·E_k): 1 when the experts' time falls exactly with their FLOPs, above 1 when an expert
        /// that gets fewer tokens runs further from the matrix multiply's peak.</summary>
        public double ExpertTimeOverFlops => ExpertMs / (Rho * TopExpertMs);

        /// <summary>(T_k ÷ (T_k − (1 − ρ)·E_k)) ÷ F.</summary>
        public double Ceiling => TopMs / (TopMs - (1 - Rho) * TopExpertMs) / Flops;

        /// <summary>(T_k ÷ (T_R − what it adds outside its experts)) ÷ F: the efficiency left when routing,
        /// dispatch and zero-computation experts cost exactly what top-k's do, and its experts run as they do.
        /// </summary>
        public double WithNothingOutside => TopMs / (Ms - OutsideExpertsMs) / Flops;
    }

    /// <summary>The medians over rounds (each with the ceiling's 95% interval), for the figures file.</summary>
    public static JsonObject Summarise(IReadOnlyList<Block> blocks, out Interval ceiling)
    {
        static double Median(IEnumerable<double> v) => Statistics.Quantile(v.Order().ToArray(), 0.5);
        ceiling = Statistics.MedianInterval(blocks.Select(b => b.Ceiling).ToList());
        return new JsonObject
        {
            ["expert_ms"] = Math.Round(Median(blocks.Select(b => b.ExpertMs)), 3),
            ["top_k_expert_ms"] = Math.Round(Median(blocks.Select(b => b.TopExpertMs)), 3),
            ["expert_share_of_top_k_time"] = Math.Round(Median(blocks.Select(b => b.TopExpertMs / b.TopMs)), 4),
            ["expert_flops_ratio"] = Math.Round(Median(blocks.Select(b => b.Rho)), 4),
            ["expert_time_over_flops"] = Math.Round(Median(blocks.Select(b => b.ExpertTimeOverFlops)), 4),
            ["outside_experts_ms"] = Math.Round(Median(blocks.Select(b => b.OutsideExpertsMs)), 3),
            ["efficiency_ceiling"] = Math.Round(ceiling.Estimate, 4),
            ["efficiency_ceiling_interval"] = BenchGoal.Bounds(ceiling),
            ["efficiency_with_nothing_outside_experts"] =
                Math.Round(Median(blocks.Select(b => b.WithNothingOutside)), 4),
        };
    }

    /// <summary>The log's words for it.</summary>
    public static string Describe(JsonObject split, Interval ceiling) =>
        $"experts {(double)split["expert_ms"]!:F2} ms (top-k {(double)split["top_k_expert_ms"]!:F2}, " +
        $"{(double)split["expert_share_of_top_k_time"]!:P0} of its time): " +
        $"×{(double)split["expert_time_over_flops"]!:F3}" +
        $" of FLOPs-proportional; {(double)split["outside_experts_ms"]!:+0.00;-0.00} ms outside them (efficiency " +
        $"{(double)split["efficiency_with_nothing_outside_experts"]!:F3} without); ceiling {ceiling.Estimate:F3} " +
        BenchGoal.Show(ceiling);
}
