using Orchestrator.Analysis;

namespace Orchestrator.Reports;

/// <summary>Mean and 95% confidence interval over seeds (Student's t).</summary>
public readonly record struct MeanCi(double Mean, double HalfWidth, int N)
{
    /// <summary>"0.3261 ± 0.0125"; a large mean and its half-width both in e-notation ("2.149e6 ± 5.462e4").
    /// </summary>
    public override string ToString() => N == 0 ? "–" : N == 1 ? Fmt(Mean)
        : $"{Fmt(Mean)} ± {Fmt(HalfWidth, Math.Abs(Mean) >= 1e5)}";

    static string Fmt(double v, bool exponent = false) => exponent || Math.Abs(v) >= 1e5 || (Math.Abs(v) < 1e-3
        && v != 0) ? v.ToString("0.###e0", System.Globalization.CultureInfo.InvariantCulture)
        : v.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture);

    public static MeanCi Of(IEnumerable<double> values)
    {
        var v = values.Where(double.IsFinite).ToArray();
        if (v.Length == 0) return new MeanCi(double.NaN, double.NaN, 0);
        double mean = v.Average();
        if (v.Length == 1) return new MeanCi(mean, 0, 1);
        double sd = Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1));
        return new MeanCi(mean, TCritical(v.Length - 1) * sd / Math.Sqrt(v.Length), v.Length);
    }

    /// <summary>Two-sided 95% quantile of Student's t (0.975 one-sided), exact (MathNet.Numerics).</summary>
    public static double TCritical(int df) => Statistics.T(0.95, df);
}
