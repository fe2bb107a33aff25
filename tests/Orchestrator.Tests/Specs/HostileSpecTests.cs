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
