using Orchestrator.Analysis;

namespace Orchestrator.Tests.Analysis;

public class StatisticsTests
{
    [Theory]
    // Newcombe (1998), Statistics in Medicine 17:857–872, Table I, method 3 (Wilson score, no continuity
    // correction).
    [InlineData(81, 263, 0.2553, 0.3662)]
    [InlineData(15, 148, 0.0624, 0.1605)]
    [InlineData(0, 20, 0.0000, 0.1611)]
    [InlineData(1, 29, 0.0061, 0.1718)]
    public void Wilson_intervals_match_published_values(int k, int n, double low, double high)
    {
        var ci = Statistics.Wilson(k, n);
        Assert.Equal(low, ci.Low, 4);
        Assert.Equal(high, ci.High, 4);
        Assert.Equal(k / (double)n, ci.Estimate, 12);
        Assert.Equal(n, ci.N);
    }

    [Fact]
    public void Quantiles_are_exact_not_tabled()
    {
        Assert.Equal(1.959963984540054, Statistics.Z(0.95), 12);
        Assert.Equal(4.302652729749464, Statistics.T(0.95, 2), 9);
        Assert.Equal(2.262157162798205, Statistics.T(0.95, 9), 9);
        var mean = Statistics.MeanT([1.0, 2.0, 3.0]);
        Assert.Equal(2.0 - 4.302652729749464 / Math.Sqrt(3), mean.Low, 9);
        Assert.False(Statistics.MeanT([1.0]).IsDefined);
    }

    /// <summary>Items × seeds of 0/1 outcomes for a baseline and a treatment whose success rate is higher by
    /// `effect`, with a per-seed shift (seeds differ) and per-item difficulty shared by both (the pairing).</summary>
    static List<double[]> PairedAccuracy(Random rng, double effect, int seeds = 3, int items = 400)
    {
        var list = new List<double[]>();
        for (int s = 0; s < seeds; s++)
        {
            double shift = (rng.NextDouble() - 0.5) * 0.1;
            list.Add(Enumerable.Range(0, items).Select(_ =>
            {
                double p = Math.Clamp(0.2 + 0.6 * rng.NextDouble() + shift, 0, 1);
                double u = rng.NextDouble();
                return (u < Math.Min(1, p + effect) ? 1.0 : 0) - (u < p ? 1.0 : 0);
            }).ToArray());
        }
        return list;
    }

    [Fact]
    public void Paired_bootstrap_detects_a_planted_effect_and_covers_it()
    {
        var rng = new Random(1);
        int covered = 0, detected = 0;
        for (int rep = 0; rep < 40; rep++)
        {
            var ci = Statistics.PairedBootstrap(PairedAccuracy(rng, 0.1), replicates: 1000, seed: rep);
            if (ci.Spans(0.1)) covered++;
            if (ci.Low > 0) detected++;
        }
        Assert.True(detected >= 38, $"detected in {detected}/40");
        Assert.True(covered >= 34, $"covered in {covered}/40");
    }

    [Fact]
    public void Paired_bootstrap_without_an_effect_is_inconclusive_in_most_repetitions()
    {
        var rng = new Random(2);
        int spans = 0;
        for (int rep = 0; rep < 60; rep++)
            if (Statistics.PairedBootstrap(PairedAccuracy(rng, 0), replicates: 1000, seed: rep).Spans(0)) spans++;
        Assert.True(spans >= 51, $"interval spanned 0 in {spans}/60 (nominal 95%)");
    }

    static List<(double, double, string)> Slope(Random rng, double slope, int perCell = 30)
    {
        var pts = new List<(double, double, string)>();
        foreach (var task in new[] { "a", "b", "c" })
        {
            double offset = task[0] - 'a';                       // tasks differ in level, not in slope
            for (int d = 1; d <= 4; d++)
                for (int i = 0; i < perCell; i++)
                    pts.Add((d, 1.5 + offset + slope * d + Normal(rng) * 0.3, task));
        }
        return pts;
    }

    static double Normal(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    [Fact]
    public void Slope_interval_detects_a_planted_slope_and_covers_it()
    {
        var rng = new Random(3);
        int covered = 0, detected = 0, nulls = 0;
        for (int rep = 0; rep < 50; rep++)
        {
            var ci = Statistics.Slope(Slope(rng, 0.05));
            if (ci.Spans(0.05)) covered++;
            if (ci.Low > 0) detected++;
            if (Statistics.Slope(Slope(rng, 0)).Spans(0)) nulls++;
        }
        Assert.True(detected >= 45, $"detected in {detected}/50");
        Assert.True(covered >= 44, $"covered in {covered}/50");
        Assert.True(nulls >= 44, $"no effect: inconclusive in {nulls}/50");
        // The task fixed effect: levels that differ by task and difficulty mix do not pass for a slope.
        var confounded = new List<(double, double, string)>
        {
            (1, 1.0, "easy"), (1, 1.1, "easy"), (2, 0.9, "easy"), (2, 1.0, "easy"),
            (3, 3.0, "hard"), (3, 3.1, "hard"), (4, 2.9, "hard"), (4, 3.0, "hard"),
        };
        Assert.True(Statistics.Slope(confounded).Estimate < 0);
    }

    [Theory]
    // By hand, B ~ Binomial(n, ½): n = 15, P(B ≤ 3) = 576/2¹⁵ = 0.0176 ≤ 0.025 < P(B ≤ 4) = 0.059, so
    // [x(4), x(12)] (coverage 96.5%); n = 10, P(B ≤ 1) = 11/1024 ≤ 0.025 < P(B ≤ 2) = 56/1024, so [x(2), x(9)];
    // n = 6, P(B ≤ 0) = 1/64, so [x(1), x(6)].
    [InlineData(15, 4, 12)]
    [InlineData(10, 2, 9)]
    [InlineData(6, 1, 6)]
    public void Median_intervals_come_from_binomial_order_statistics(int n, int low, int high)
    {
        var values = Enumerable.Range(1, n).Reverse().Select(i => (double)i).ToList();      // order must not matter
        var ci = Statistics.MedianInterval(values);
        Assert.Equal((n + 1) / 2.0, ci.Estimate);
        Assert.Equal(low, ci.Low);
        Assert.Equal(high, ci.High);
        Assert.Equal(n, ci.N);
    }

    [Fact]
    public void Five_values_are_too_few_for_a_95_percent_median_interval()
    {
        var ci = Statistics.MedianInterval([3.0, 1, 2, 5, 4]);
        Assert.Equal(3, ci.Estimate);
        Assert.False(ci.IsDefined);
    }
}
