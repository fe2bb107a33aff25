using Orchestrator.Specs;

namespace Orchestrator.Tests.Specs;

/// <summary>Specs that used to run the wrong thing, crash or exhaust memory: each is refused at load time with
/// its position, before anything is written.</summary>
public class HostileSpecTests
{
    static string Error(string yaml)
    {
        var e = Assert.Throws<SpecException>(() => SpecLoader.LoadText(yaml, "h.yaml"));
        return string.Join("\n", e.Errors.Select(x => x.ToString()));
    }

    [Theory]
    [InlineData("", "h.yaml:1:1: the spec is empty")]
    [InlineData("# only a comment\n", "h.yaml:1:1: the spec is empty")]
    [InlineData("name: a\n---\nname: b\n", "h.yaml:3:1: a second YAML document")]
    [InlineData("name: a\nsweep:\n  router: {}\n", "h.yaml:3:11: sweep.router: no router named")]
    [InlineData("name: a\n? [x, y]\n: 1\n", "h.yaml:2:3: a key must be a plain name")]
    [InlineData("name: \"..\"\n", "h.yaml:1:7: name: invalid sweep name '..'")]
    [InlineData("name: ../up\n", "invalid sweep name '../up'")]
    [InlineData("name: a/b\n", "invalid sweep name 'a/b'")]
    [InlineData("name: a\nexecution:\n  devices: gpu:banana\n", "h.yaml:3:12: execution.devices: got gpu:banana")]
    [InlineData("name: a\nbase:\n  data:\n\tcorpus: x\n", "h.yaml:4:1: YAML syntax error")]
    public void A_malformed_spec_is_refused_with_its_position(string yaml, string expected) =>
        Assert.Contains(expected, Error(yaml));

    [Fact]
    public void A_sweep_larger_than_the_run_limit_is_refused_before_any_run_is_made()
    {
        // 3 axes of 60 values × 100 seeds = 21.6 million combinations: refused at once, with the count.
        string Axis(string key) => $"    {key}: [{string.Join(", ", Enumerable.Range(1, 60))}]\n";
        var yaml = "name: big\nsweep:\n  seeds: 100\n  grid:\n" + Axis("finetune.steps") + Axis("pretrain.steps") +
                   Axis("finetune.batch_size");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var message = Error(yaml);
        Assert.Contains("h.yaml:3:3: sweep: the axes multiply to more than 100,000 runs (at least 216,000", message);
        Assert.Contains("raise execution.max_runs", message);
        // The limit is the spec's to raise: 60 × 60 = 3,600 runs pass under a limit of 5,000, not under 1,000.
        var small = "name: s\nsweep:\n  grid:\n" + Axis("finetune.steps") + Axis("pretrain.steps");
        Assert.Equal(3600, SpecLoader.LoadText(small + "execution: {max_runs: 5000}\n", "h.yaml").Runs.Count);
        Assert.Contains("more than 1,000 runs (at least", Error(small + "execution: {max_runs: 1000}\n"));
    }

    [Fact]
    public void Invalid_utf8_is_an_error_at_its_byte_not_a_silent_replacement()
    {
        var dir = Directory.CreateTempSubdirectory("utf8").FullName;
        var file = Path.Combine(dir, "latin1.yaml");
        // "café" written in Latin-1: the lone 0xE9 is not UTF-8.
        File.WriteAllBytes(file, [.. "name: a\nbase:\n  data: {corpus: caf"u8, 0xE9, .. "}\n"u8]);
        var e = Assert.Throws<SpecException>(() => SpecLoader.Load(file));
        var error = Assert.Single(e.Errors).ToString();
        Assert.Contains("latin1.yaml:3:21: ", error);
        Assert.Contains("not valid UTF-8 (byte 0xE9)", error);
        // The same text in UTF-8, with or without a byte-order mark, loads.
        File.WriteAllBytes(file, [.. "name: a\nbase:\n  data: {corpus: café}\n"u8]);
        Assert.Equal("café", SpecLoader.Load(file).Runs[0].Config["data.corpus"]);
        File.WriteAllBytes(file, [0xEF, 0xBB, 0xBF, .. "name: a\n"u8]);
        Assert.Equal("a", SpecLoader.Load(file).Name);
    }

    [Fact]
    public void Deep_nesting_and_alias_bombs_are_bounded()
    {
        Assert.Contains($"nested deeper than {SpecNode.MaxDepth} levels",
            Error("name: a\nx: " + new string('[', 20_000) + new string(']', 20_000) + "\n"));
        // Nine levels of ten aliases each: 10⁹ values once expanded.
        var bomb = new System.Text.StringBuilder("name: a\nl0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (int i = 1; i <= 9; i++)
            bomb.Append($"l{i}: &l{i} [{string.Join(", ", Enumerable.Repeat($"*l{i - 1}", 10))}]\n");
        Assert.Contains("more than 100,000 values", Error(bomb.ToString()));
    }

    [Fact]
    public void Devices_that_are_valid_still_load()
    {
        var spec = SpecLoader.LoadText("name: a\nexecution:\n  devices: cuda:0, cuda:1\n", "h.yaml");
        Assert.Equal("cuda:0, cuda:1", spec.Execution.Devices);
    }
}
