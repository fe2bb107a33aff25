using System.CommandLine;
using System.Text.Json.Nodes;
using Orchestrator.Moe;
using Orchestrator.Specs;
using Orchestrator.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Cli;

/// <summary>The commands that check a device: `smoke` (does it compute what the CPU computes, for every router)
/// and `bench step`'s options (the training step of a spec's model, timed on a device).</summary>
public static partial class Cli
{
    static Command SmokeCommand()
    {
        var c = new Command("smoke", "Check a device: a matmul and every router's forward and backward pass against " +
                                     "the CPU's, then in bfloat16; exit 0 when every check passes, 1 otherwise");
        var device = Choice("--device", "the device to check", "cuda", "cpu");
        var json = Text("--json", "FILE", "also write the checks as JSON to FILE");
        AddOptions(c, device, json);
        c.SetAction(p =>
        {
            var d = Device(p.GetValue(device)!);
            Console.WriteLine($"smoke: device {d}, commit {Orchestrator.Execution.Provenance.Commit().Hash}");
            var checks = DeviceSmoke.Run(d, Console.Out);
            foreach (var (k, v) in DeviceInfo.Describe(d)) Console.WriteLine($"  {k}: {v}");
            int failed = checks.Count(x => !x.Passed);
            Console.WriteLine(failed == 0 ? $"smoke: all {checks.Count} checks passed"
                : $"smoke: {failed} of {checks.Count} checks failed");
            if (p.GetValue(json) is { } file)
            {
                var o = new JsonObject
                {
                    ["device"] = d.ToString(),
                    ["machine"] = new JsonObject(DeviceInfo.Describe(d).Select(kv =>
                        KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
                    ["checks"] = new JsonArray(checks.Select(x => (JsonNode)new JsonObject
                    {
                        ["name"] = x.Name, ["passed"] = x.Passed, ["detail"] = x.Detail, ["seconds"] = x.Seconds,
                    }).ToArray()),
                };
                Bench.MoeLayerBench.Write(o, file);
            }
            return failed == 0 ? ExitOk : ExitFailure;
        });
        return c;
    }

    /// <summary>cuda (the first visible GPU) or cpu; CUDA asked for but absent is a usage error.</summary>
    static Device Device(string name)
    {
        try { return DeviceInfo.Resolve(name); }
        catch (InvalidOperationException e) { throw new UsageException(e.Message); }
    }

    /// <summary>`bench step`: --spec (its first run with --router), --device, --steps, --dtype.</summary>
    sealed record StepOptions(Option<string> Spec, Option<string> Device, Option<string> Router, Option<int?> Steps,
        Option<string?> DType, Option<string> Telemetry, Option<string> Optimizer, Option<bool> Phases)
    {
        public static StepOptions Add(Command c)
        {
            var o = new StepOptions(
                new Option<string>("--spec")
                {
                    Description = "step benchmark: the spec whose model and pretraining batch are timed",
                    HelpName = "FILE", DefaultValueFactory = _ => Path.Combine("experiments", "default.yaml"),
                },
                Choice("--device", "step benchmark: where", "cpu", "cuda"),
                new Option<string>("--router")
                {
                    Description = "step benchmark: the router (a run of the spec with it)", HelpName = "NAME",
                    DefaultValueFactory = _ => "top_k",
                },
                Integer("--steps", 1, "step benchmark: timed steps after 10 warm-up steps (40)"),
                Text("--dtype", "float32|bfloat16", "step benchmark: model.dtype instead of the spec's"),
                Choice("--telemetry", "step benchmark: the per-step routing statistics training logs (off: to " +
                                      "measure their cost)", "on", "off"),
                Choice("--optimizer", "step benchmark: flat (FlatAdamW, what training runs) or per-tensor " +
                                      "(TorchSharp's AdamW, to measure the difference)", "flat", "per-tensor"),
                new Option<bool>("--phases")
                {
                    Description = "step benchmark: also time forward, backward, optimizer and read-back apart, " +
                                  "synchronising the device between them",
                });
            AddOptions(c, o.Spec, o.Device, o.Router, o.Steps, o.DType, o.Telemetry, o.Optimizer, o.Phases);
            return o;
        }

        public string FileName(ParseResult p) => $"step_{p.GetValue(Device)}_{p.GetValue(Router)}" +
                                                 (p.GetValue(Telemetry) == "off" ? "_no_telemetry" : "") +
                                                 (p.GetValue(Optimizer) == "per-tensor" ? "_per_tensor" : "") +
                                                 (p.GetValue(Phases) ? "_phases" : "") + ".json";

        public JsonObject Run(ParseResult p)
        {
            var spec = SpecLoader.Load(p.GetValue(Spec)!, []);
            var router = p.GetValue(Router)!;
            var run = spec.Runs.FirstOrDefault(r => Equals(r.Config["router.type"], router))
                      ?? throw new UsageException($"spec {spec.Name} has no run with router {router} (it has: " +
                          string.Join(", ", spec.Runs.Select(r => r.Config["router.type"]).Distinct()) + ")");
            var dtype = p.GetValue(DType);
            if (dtype is not (null or "float32" or "bfloat16"))
                throw new UsageException($"--dtype must be float32 or bfloat16, got '{dtype}'");
            var opt = new Bench.StepBench.Options(DType: dtype, Telemetry: p.GetValue(Telemetry) == "on",
                Optimizer: p.GetValue(Optimizer) == "per-tensor" ? OptimizerKind.PerTensor : OptimizerKind.Flat,
                Phases: p.GetValue(Phases));
            if (p.GetValue(Steps) is { } n) opt = opt with { Steps = n };
            return Bench.StepBench.Run(RunConfig.From(run.Config), Cli.Device(p.GetValue(Device)!), opt, Console.Out);
        }
    }
}
