using MathNet.Numerics.Distributions;

namespace Orchestrator.Analysis;

/// <summary>An estimate with its two-sided interval, the number of observations behind it and the method.</summary>
public readonly record struct Interval(double Estimate, double Low, double High, int N, string Method)
{
    public bool Spans(double value) => Low <= value && value <= High;
    public double HalfWidth => (High - Low) / 2;
    public bool IsDefined => double.IsFinite(Low) && double.IsFinite(High);

    public static Interval Undefined(double estimate, int n, string method) =>
        new(estimate, double.NaN, double.NaN, n, method);
}

/// <summary>The statistics findings are computed with. Quantiles come from MathNet.Numerics' distributions
/// (no tables); the bootstrap is written here because it resamples this project's own nesting (items
/// within seeds), which no kept library offers.</summary>
public static class Statistics
{
    /// <summary>z such that P(|Z| ≤ z) = level (1.95996… for 0.95).</summary>
    public static double Z(double level) => Normal.InvCDF(0, 1, 1 - (1 - level) / 2);

    /// <summary>t such that P(|T_df| ≤ t) = level.</summary>
    public static double T(double level, int df) => StudentT.InvCDF(0, 1, df, 1 - (1 - level) / 2);

    /// <summary>Wilson score interval for a proportion k/n (Wilson 1927; Newcombe 1998, method 3):
    /// centre (p̂ + z²/2n) / (1 + z²/n), half-width z·√(p̂(1−p̂)/n + z²/4n²) / (1 + z²/n).</summary>
    public static Interval Wilson(long successes, long n, double level = 0.95)
    {
        if (n <= 0) return Interval.Undefined(double.NaN, 0, "wilson");
        if (successes < 0 || successes > n) throw new ArgumentOutOfRangeException(nameof(successes));
        double z = Z(level), p = successes / (double)n, z2n = z * z / n;
        double centre = (p + z2n / 2) / (1 + z2n);
        double half = z * Math.Sqrt(p * (1 - p) / n + z2n / (4 * n)) / (1 + z2n);
        return new Interval(p, Math.Max(0, centre - half), Math.Min(1, centre + half), (int)n, "wilson");
    }

    /// <summary>Mean with Student's t interval: x̄ ± t(df = n − 1)·s/√n. One value: no interval.</summary>
    public static Interval MeanT(IReadOnlyList<double> values, double level = 0.95)
    {
        var v = values.Where(double.IsFinite).ToArray();
        if (v.Length == 0) return Interval.Undefined(double.NaN, 0, "t");
        double mean = v.Average();
        if (v.Length == 1) return Interval.Undefined(mean, 1, "t");
        double sd = Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1));
        double half = T(level, v.Length - 1) * sd / Math.Sqrt(v.Length);
        return new Interval(mean, mean - half, mean + half, v.Length, "t");
    }

    /// <summary>Distribution-free interval for a median from order statistics (Conover, Practical
    /// Nonparametric Statistics, §3.2): [x(j), x(n + 1 − j)] with j the largest rank such that
    /// P(B ≤ j − 1) ≤ (1 − level)/2 for B ~ Binomial(n, ½); its coverage is 1 − 2·P(B ≤ j − 1), at
    /// least the level. It assumes only independent draws, which timings on a noisy machine are closer to than to a
    /// normal law. Too few values for the level (n &lt; 6 at 95%): no interval.</summary>
    public static Interval MedianInterval(IReadOnlyList<double> values, double level = 0.95)
    {
        const string method = "median, order statistics";
        var v = values.Where(double.IsFinite).Order().ToArray();
        if (v.Length == 0) return Interval.Undefined(double.NaN, 0, method);
        double median = Quantile(v, 0.5);
        int j = 0;
        while (j + 1 <= v.Length / 2 && Binomial.CDF(0.5, v.Length, j) <= (1 - level) / 2) j++;
        return j == 0 ? Interval.Undefined(median, v.Length, method)
            : new Interval(median, v[j - 1], v[v.Length - j], v.Length, method);
    }

    /// <summary>Paired bootstrap of a mean difference with items nested in seeds: each replicate draws seeds
    /// with replacement, then items with replacement within each drawn seed, and averages the differences
    /// (so seed-to-seed variation widens the interval as it should). Percentile interval.</summary>
    /// <param name="differences">per seed, the per-item differences (treatment − baseline) on shared items</param>
    public static Interval PairedBootstrap(IReadOnlyList<double[]> differences, int replicates = 2000,
        double level = 0.95, int seed = 12345)
    {
        var groups = differences.Where(g => g.Length > 0).ToArray();
        int n = groups.Sum(g => g.Length);
        if (n == 0) return Interval.Undefined(double.NaN, 0, "paired bootstrap");
        double estimate = groups.SelectMany(g => g).Average();
        if (n == 1) return Interval.Undefined(estimate, 1, "paired bootstrap");
        var rng = new Random(seed);
        var stats = new double[replicates];
        for (int r = 0; r < replicates; r++)
        {
            double sum = 0; long count = 0;
            for (int s = 0; s < groups.Length; s++)
            {
                var g = groups[rng.Next(groups.Length)];
                for (int i = 0; i < g.Length; i++) sum += g[rng.Next(g.Length)];
                count += g.Length;
            }
            stats[r] = sum / count;
        }
        Array.Sort(stats);
        double alpha = 1 - level;
        return new Interval(estimate, Quantile(stats, alpha / 2), Quantile(stats, 1 - alpha / 2), n,
            "paired bootstrap");
    }

    /// <summary>Linear interpolation between order statistics (type 7, R's default) of sorted values.</summary>
    public static double Quantile(double[] sorted, double q)
    {
        double h = (sorted.Length - 1) * q;
        int lo = (int)Math.Floor(h), hi = Math.Min(sorted.Length - 1, lo + 1);
        return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    }

    /// <summary>Least-squares slope of y on x with its t interval, se = √(Σr² / (n − g − 1) / Σ(x − x̄)²).
    /// With groups, x and y are centred within each group first (a fixed effect per group: here, per task, so
    /// that a task with longer answers does not pass for a difficulty effect), and each group costs one degree
    /// of freedom.</summary>
    public static Interval Slope(IReadOnlyList<(double x, double y, string group)> points, double level = 0.95)
    {
        var pts = points.Where(p => double.IsFinite(p.x) && double.IsFinite(p.y)).ToList();
        var centred = pts.GroupBy(p => p.group).SelectMany(g =>
        {
            double mx = g.Average(p => p.x), my = g.Average(p => p.y);
            return g.Select(p => (x: p.x - mx, y: p.y - my));
        }).ToList();
        int groups = pts.Select(p => p.group).Distinct().Count();
        int df = centred.Count - 1 - groups;
        double sxx = centred.Sum(p => p.x * p.x), sxy = centred.Sum(p => p.x * p.y);
        if (sxx <= 0) return Interval.Undefined(double.NaN, centred.Count, "OLS slope");
        double b = sxy / sxx;
        if (df < 1) return Interval.Undefined(b, centred.Count, "OLS slope");
        double rss = centred.Sum(p => (p.y - b * p.x) * (p.y - b * p.x));
        double se = Math.Sqrt(rss / df / sxx), half = T(level, df) * se;
        return new Interval(b, b - half, b + half, centred.Count, "OLS slope");
    }
}
