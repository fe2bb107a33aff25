namespace Orchestrator.Reports;

/// <summary>Mean and 95% confidence interval over seeds (Student's t).</summary>
public readonly record struct MeanCi(double Mean, double HalfWidth, int N)
{
    public override string ToString() => N == 0 ? "–" : N == 1 ? Fmt(Mean) : $"{Fmt(Mean)} ± {Fmt(HalfWidth)}";

    static string Fmt(double v) => Math.Abs(v) >= 1e5 || (Math.Abs(v) < 1e-3
        && v != 0) ? v.ToString("0.###e0") : v.ToString("0.####");

    public static MeanCi Of(IEnumerable<double> values)
    {
        var v = values.Where(double.IsFinite).ToArray();
        if (v.Length == 0) return new MeanCi(double.NaN, double.NaN, 0);
        double mean = v.Average();
        if (v.Length == 1) return new MeanCi(mean, 0, 1);
        double sd = Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1));
        return new MeanCi(mean, TCritical(v.Length - 1) * sd / Math.Sqrt(v.Length), v.Length);
    }

    /// <summary>Two-sided 97.5% quantile of Student's t.</summary>
    public static double TCritical(int df) => df switch
    {
        1 => 12.706, 2 => 4.303, 3 => 3.182, 4 => 2.776, 5 => 2.571, 6 => 2.447, 7 => 2.365, 8 => 2.306, 9 => 2.262,
        10 => 2.228, <= 15 => 2.131, <= 20 => 2.086, <= 30 => 2.042, <= 60 => 2.000, _ => 1.960,
    };
}
