namespace Orchestrator.Reports;

/// <summary>ScottPlot's Linux Skia build ignores fontconfig, so text would silently vanish on a
/// headless machine. We register a real TTF (DejaVu Sans, from Debian's fonts-dejavu-core, which
/// `make setup` installs) and make it the default for every plot.</summary>
public static class PlotFonts
{
    public const string Family = "DejaVu Sans";
    static readonly string[] Candidates =
    [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    ];
    static bool registered;

    public static string? FontFile => Environment.GetEnvironmentVariable("ORCHESTRATOR_FONT") is { Length: > 0 } f
        && File.Exists(f)
        ? f : Candidates.FirstOrDefault(File.Exists);

    public static void Register()
    {
        if (registered) return;
        var file = FontFile ?? throw new FileNotFoundException(
            "no TTF font for plot text: install Debian's fonts-dejavu-core (`make setup` does) or set " +
            "ORCHESTRATOR_FONT to a .ttf file");
        ScottPlot.Fonts.AddFontFile(Family, file, bold: false, italic: false);
        var bold = file.Replace("DejaVuSans.ttf", "DejaVuSans-Bold.ttf");
        if (File.Exists(bold)) ScottPlot.Fonts.AddFontFile(Family, bold, bold: true, italic: false);
        ScottPlot.Fonts.Default = Family;
        ScottPlot.Fonts.Sans = Family;
        registered = true;
    }
}
