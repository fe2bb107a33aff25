using Orchestrator.Specs;

namespace Orchestrator.Tests.Specs;

public class SpecTests
{
    static ExperimentSpec Load(string yaml, params string[] overrides) => SpecLoader.LoadText(yaml, "t.yaml", overrides);

    static IReadOnlyList<SpecError> Errors(string yaml, params string[] overrides)
    {
        var e = Assert.Throws<SpecException>(() => Load(yaml, overrides));
        return e.Errors;
    }

    [Fact]
    public void Grid_zip_points_router_seeds_and_exclude_expand_to_golden_counts()
    {
        Assert.Single(Load("name: a").Runs);
        Assert.Equal(6, Load("name: a\nsweep:\n  grid:\n    finetune.lr: [1e-3, 2e-3, 3e-3]\n    finetune.curriculum: [none, easy_to_hard]").Runs.Count);
        Assert.Equal(3, Load("name: a\nsweep:\n  zip:\n    finetune.lr: [1e-3, 2e-3, 3e-3]\n    finetune.steps: [10, 20, 30]").Runs.Count);
        Assert.Equal(2, Load("name: a\nsweep:\n  points:\n    - {router.type: top_k, router.k: 1}\n    - {router: {type: top_p, p: 0.3}}").Runs.Count);
        // conditional: top_k × 2 k, top_p × 3 p, null_experts × (2 m × 2 k) = 2 + 3 + 4
        var cond = Load("""
            name: a
            sweep:
              router:
                top_k: {k: [1, 2]}
                top_p: {p: [0.2, 0.3, 0.4]}
                null_experts: {nulls: [4, 8], k: [2, 3]}
            """);
        Assert.Equal(9, cond.Runs.Count);
        // (m, k) pairs: a zip inside a router's own grid, crossed with its other knobs.
        var pairs = Load("name: a\nsweep:\n  router:\n    null_experts:\n      zip: {nulls: [8, 16, 48], k: [3, 4, 8]}\n      balance_coef: [0.01, 0.02]");
        Assert.Equal(6, pairs.Runs.Count);
        Assert.Equal(["8/3", "16/4", "48/8"], pairs.Runs.Select(r => $"{r.Config["router.nulls"]}/{r.Config["router.k"]}").Distinct());
        Assert.Equal(9 * 3 * 2, Load("""
            name: a
            sweep:
              seeds: [0, 1, 2]
              grid: {finetune.curriculum: [none, easy_to_hard]}
              router:
                top_k: {k: [1, 2]}
                top_p: {p: [0.2, 0.3, 0.4]}
                null_experts: {nulls: [4, 8], k: [2, 3]}
            """).Runs.Count);
        var excluded = Load("""
            name: a
            sweep:
              seeds: 2
              grid: {finetune.curriculum: [none, easy_to_hard]}
              router: {top_k: {k: [1, 2]}, top_p: {p: [0.3, 0.4]}}
              exclude:
                - {router.type: top_p, finetune.curriculum: easy_to_hard}
                - {router.k: 1, seed: 1}
            """);
        Assert.Equal(16 - 4 - 2, excluded.Runs.Count);
        Assert.Empty(excluded.Runs.Where(r => r.Router == "top_p" && (string)r.Config["finetune.curriculum"] == "easy_to_hard"));
    }

    [Fact]
    public void Router_knobs_exist_only_for_their_router_and_every_default_is_filled()
    {
        var s = Load("name: a\nsweep:\n  router:\n    top_p: {p: 0.3}\n    adaptive_gating: {}");
        var topP = s.Runs.Single(r => r.Router == "top_p").Config;
        Assert.Equal(0.3, topP["router.p"]);
        Assert.Equal(false, topP["router.normalize"]);
        Assert.False(topP.ContainsKey("router.threshold"));
        Assert.False(topP.ContainsKey("router.k"));
        var ag = s.Runs.Single(r => r.Router == "adaptive_gating").Config;
        Assert.Equal(0.1, ag["router.threshold"]);
        Assert.Equal(true, ag["router.normalize"]);      // each router's own default
        Assert.Equal(ConfigSchema.All.Count(d => d.Router == null) + ConfigSchema.RouterKnobs("adaptive_gating").Length, ag.Count);
    }

    [Fact]
    public void Hash_ignores_key_order_number_format_and_comments_and_the_group_hash_ignores_the_seed()
    {
        var a = Load("name: a\nbase:\n  model: {layers: 2, d_model: 64}\n  finetune: {lr: 0.001}\n");
        var b = Load("# comment\nname: b\nbase:\n  finetune:\n    lr: 1.0e-3   # same number\n  model:\n    d_model: 64\n    layers: 2\n");
        Assert.Equal(a.Runs[0].ConfigHash, b.Runs[0].ConfigHash);
        var c = Load("name: a\nbase:\n  model: {layers: 2, d_model: 64}\n  finetune: {lr: 0.002}\n");
        Assert.NotEqual(a.Runs[0].ConfigHash, c.Runs[0].ConfigHash);
        var seeds = Load("name: a\nsweep: {seeds: [0, 1]}");
        Assert.NotEqual(seeds.Runs[0].ConfigHash, seeds.Runs[1].ConfigHash);
        Assert.Equal(seeds.Runs[0].GroupHash, seeds.Runs[1].GroupHash);
        // Writing a default explicitly is the same run.
        Assert.Equal(Load("name: a").Runs[0].ConfigHash, Load("name: z\nbase: {router: {type: top_k, k: 2}}").Runs[0].ConfigHash);
    }

    [Fact]
    public void Evaluation_only_keys_change_the_run_but_neither_its_base_nor_its_fine_tune()
    {
        var a = Load("name: a\nsweep:\n  router: {top_p: {p: 0.4}}\n").Runs.Single();
        var evalOnly = Load("name: a\nbase: {eval: {task_samples: 50}, data: {multiple_choice: x.jsonl}}\nsweep:\n  router: {top_p: {p: 0.4}}\n").Runs.Single();
        var training = Load("name: a\nbase: {finetune: {steps: 7}}\nsweep:\n  router: {top_p: {p: 0.4}}\n").Runs.Single();
        var data = Load("name: a\nbase: {data: {task_mix: 0.5}}\nsweep:\n  router: {top_p: {p: 0.4}}\n").Runs.Single();
        Assert.NotEqual(a.ConfigHash, evalOnly.ConfigHash);
        Assert.Equal(a.FinetuneHash, evalOnly.FinetuneHash);
        Assert.Equal(a.BaseHash, evalOnly.BaseHash);
        Assert.NotEqual(a.FinetuneHash, training.FinetuneHash);
        Assert.Equal(a.BaseHash, training.BaseHash);
        Assert.NotEqual(a.BaseHash, data.BaseHash);
        Assert.DoesNotContain("data.multiple_choice", RunConfig.BasePart(a.Config).Keys);
    }

    [Fact]
    public void The_same_configuration_twice_in_a_sweep_is_one_run()
    {
        var s = Load("name: a\nsweep:\n  points:\n    - {router.type: top_k, router.k: 2}\n    - {router: {type: top_k}}");
        Assert.Single(s.Runs);
        Assert.Equal(1, s.Duplicates);
    }

    [Fact]
    public void Every_error_is_reported_at_once_with_line_column_path_expected_and_allowed()
    {
        var errors = Errors("""
            name: a
            base:
              model:
                layerz: 3
                d_model: -5
              router:
                type: top_q
            sweep:
              router:
                top_p: {p: [0.4, 1.5]}
                adaptive_gating: {threshold: -0.1}
                null_experts: {nulls: 2, k: 20}
              grid:
                finetune.curriculum: [none, hardest_first]
            """);
        string Find(string path) => errors.Single(e => e.Path == path).ToString();
        Assert.Equal("t.yaml:4:5: base.model.layerz: unknown key 'layerz' — did you mean 'layers'?; allowed: layers, d_model, heads, experts, expert_hidden, shared_experts, moe_layers, vocab_size, context, rope_theta, dtype, source",
            Find("base.model.layerz"));
        Assert.Equal("t.yaml:5:14: base.model.d_model: got -5 (expected an integer in [8, 16384])", Find("base.model.d_model"));
        Assert.Equal("t.yaml:7:11: base.router.type: got top_q — did you mean 'top_p'?; allowed: top_k, top_p, adaptive_gating, null_experts, ada_k, relu",
            Find("base.router.type"));
        Assert.Equal("t.yaml:10:22: sweep.router.top_p.p: got 1.5 (expected a number in (0, 1])", Find("sweep.router.top_p.p"));
        Assert.Equal("t.yaml:11:34: sweep.router.adaptive_gating.threshold: got -0.1 (expected a number ≥ 0)", Find("sweep.router.adaptive_gating.threshold"));
        Assert.Contains("allowed: none, easy_to_hard", Find("sweep.grid.finetune.curriculum"));
        // Cross-field checks run on every expanded run and point at the value responsible.
        Assert.Equal("t.yaml:12:33: router.k: k 20 exceeds experts + nulls = 10", Find("router.k"));
        Assert.Equal(7, errors.Count);
    }

    [Fact]
    public void Slurm_resources_are_parsed_and_bad_ones_point_at_their_place()
    {
        var ok = Load("""
            name: a
            execution:
              executor: slurm
              slurm: {partition: gpu, gpus_per_job: 1, cpus_per_job: 8, mem: 32G, time: "1-04:00:00", account: lab, extra: ["--qos=high"]}
            """);
        Assert.Equal("slurm", ok.Execution.Executor);
        Assert.Equal(new SlurmSettings("gpu", 1, 8, "32G", "1-04:00:00", "lab", ok.Execution.Slurm!.Extra, 2), ok.Execution.Slurm);
        Assert.Equal(["--qos=high"], ok.Execution.Slurm.Extra!);

        var errors = Errors("""
            name: a
            execution:
              executor: slurmm
              slurm:
                time: 4h
                mem: lots
                gpus: 2
                extra: [qos=high]
            """);
        string Find(string path) => errors.Single(e => e.Path == path).ToString();
        Assert.Equal("t.yaml:3:13: execution.executor: got slurmm — did you mean 'slurm'?; allowed: local, slurm",
            Find("execution.executor"));
        Assert.Equal("t.yaml:5:11: execution.slurm.time: got 4h (expected sbatch --time: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS)",
            Find("execution.slurm.time"));
        Assert.StartsWith("t.yaml:6:10: execution.slurm.mem: got lots (expected sbatch --mem:", Find("execution.slurm.mem"));
        Assert.Contains("unknown key 'gpus' — did you mean 'gpus_per_job'?; allowed: partition, gpus_per_job, cpus_per_job, mem, time, account, extra, poll_seconds",
            Find("execution.slurm.gpus"));
        Assert.StartsWith("t.yaml:8:13: execution.slurm.extra: got qos=high (expected sbatch options", Find("execution.slurm.extra"));
        Assert.Equal(5, errors.Count);
    }

    [Fact]
    public void A_knob_of_another_router_is_refused()
    {
        var e = Errors("name: a\nbase:\n  router: {type: top_k, p: 0.3}").Single();
        Assert.Equal(3, e.Mark.Line);
        Assert.Contains("'router.p' applies only to router.type top_p (here router.type is top_k)", e.Message);
        var point = Errors("name: a\nsweep:\n  points:\n    - {router.type: adaptive_gating, router.p: 0.3}").Single();
        Assert.Contains("'router.p' does not apply to router.type adaptive_gating", point.Message);
    }

    [Fact]
    public void Yaml_syntax_and_structure_errors_point_at_their_place()
    {
        var syntax = Errors("name: a\nbase:\n  model: {layers: 2\n").Single();
        Assert.Contains("YAML syntax error", syntax.Message);
        Assert.Equal("t.yaml", syntax.Mark.File);
        var zip = Errors("name: a\nsweep:\n  zip:\n    finetune.lr: [1e-3, 2e-3]\n    finetune.steps: [10]").Single();
        Assert.Contains("zipped lists differ in length", zip.Message);
        var top = Errors("name: a\nswep: {}").Single();
        Assert.Contains("did you mean 'sweep'", top.Message);
    }

    [Fact]
    public void Extends_and_command_line_overrides_compose()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        File.WriteAllText(Path.Combine(dir, "parent.yaml"), "name: parent\nbase:\n  model: {layers: 3}\n  finetune: {steps: 40}\nsweep:\n  seeds: [0, 1]\n");
        File.WriteAllText(Path.Combine(dir, "child.yaml"), "extends: parent.yaml\nname: child\nbase:\n  finetune: {lr: 0.002}\n");
        var s = SpecLoader.Load(Path.Combine(dir, "child.yaml"));
        Assert.Equal("child", s.Name);
        Assert.Equal(2, s.Runs.Count);
        Assert.All(s.Runs, r => { Assert.Equal(3L, r.Config["model.layers"]); Assert.Equal(40L, r.Config["finetune.steps"]); Assert.Equal(0.002, r.Config["finetune.lr"]); });
        var o = SpecLoader.Load(Path.Combine(dir, "child.yaml"), ["finetune.steps=50", "seeds=[7]", "sweep.router.top_p.p=[0.3,0.5]"]);
        Assert.Equal(2, o.Runs.Count);
        Assert.All(o.Runs, r => { Assert.Equal(50L, r.Config["finetune.steps"]); Assert.Equal(7L, r.Seed); Assert.Equal("top_p", r.Router); });
        var bad = Assert.Throws<SpecException>(() => SpecLoader.Load(Path.Combine(dir, "child.yaml"), ["finetune.steps=fifty"])).Errors.Single();
        Assert.Equal("<command line>", bad.Mark.File);
        Assert.Equal(16, bad.Mark.Column);     // the value starts after "finetune.steps="
        // A child's sweep replaces the parent's axes; its base still merges.
        File.WriteAllText(Path.Combine(dir, "axes.yaml"), "extends: parent.yaml\nname: axes\nsweep:\n  router:\n    top_p: {p: [0.3, 0.4, 0.5]}\n");
        var axes = SpecLoader.Load(Path.Combine(dir, "axes.yaml"));
        Assert.Equal(3, axes.Runs.Count);
        Assert.All(axes.Runs, r => { Assert.Equal(0L, r.Seed); Assert.Equal(3L, r.Config["model.layers"]); });
        File.WriteAllText(Path.Combine(dir, "loop.yaml"), "extends: loop.yaml\nname: loop\n");
        Assert.Contains(Assert.Throws<SpecException>(() => SpecLoader.Load(Path.Combine(dir, "loop.yaml"))).Errors, e => e.Message.Contains("circular"));
    }

    [Fact]
    public void Shipped_specs_are_valid()
    {
        var dir = Path.Combine(Paths.RepoRoot, "experiments");
        var files = Directory.GetFiles(dir, "*.yaml");
        Assert.Contains(files, f => f.EndsWith("default.yaml"));
        foreach (var f in files) Assert.NotEmpty(SpecLoader.Load(f).Runs);
    }

    [Fact]
    public void A_fixed_pretrain_seed_shares_one_base_across_seeds_and_the_default_changes_no_hash()
    {
        const string Sweep = "name: a\nsweep:\n  seeds: [0, 1, 2]\n";
        var own = Load(Sweep).Runs;
        Assert.Equal(3, own.Select(r => r.BaseHash).Distinct().Count());
        var shared = Load(Sweep + "base:\n  pretrain: {seed: 7}\n").Runs;
        Assert.Single(shared.Select(r => r.BaseHash).Distinct());
        Assert.Equal(3, shared.Select(r => r.FinetuneHash).Distinct().Count());
        Assert.Equal(7, RunConfig.From(shared[2].Config).PretrainSeed);
        Assert.Equal(2, RunConfig.From(shared[2].Config).Seed);
        Assert.Equal(2, RunConfig.From(own[2].Config).PretrainSeed);
        // A key added after runs were stored: absent from the identity at its default (stored hashes hold) …
        Assert.DoesNotContain("\"seed\":-1", own[0].CanonicalJson);
        Assert.Equal(Load(Sweep + "base:\n  pretrain: {seed: -1}\n").Runs[0].ConfigHash, own[0].ConfigHash);
        // … and part of it when set.
        Assert.Contains("\"seed\":7", shared[0].CanonicalJson);
    }
}
