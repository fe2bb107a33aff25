using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Orchestrator.Training;

namespace Orchestrator.Tests.Execution;

/// <summary>`make gpu-bundle` on the CPU: the bundle is built, unpacked and run with no .NET on the PATH against a
/// libtorch named by LIBTORCH_LIB (here the build's CPU libtorch stands in for a Python PyTorch's), through the
/// smoke test and a small sweep whose provenance names the bundle's commit and that libtorch; a libtorch whose ABI
/// does not match is detected before anything runs. (The CUDA half ran on a lent GPU: docs/gpu-run.md.)</summary>
public class GpuBundleTests
{
    static (int rc, string output) Bash(string script, IDictionary<string, string> env, string cwd, int timeoutS)
    {
        var psi = new ProcessStartInfo("/bin/bash", ["-c", script])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = cwd,
        };
        psi.Environment.Clear();
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutS * 1000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"`{script}` ran past {timeoutS} s:\n{stdout.Result}{stderr.Result}");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>A PATH holding every program of /usr/bin and /bin except dotnet.</summary>
    static string PathWithoutDotnet(string root)
    {
        var bin = Directory.CreateDirectory(Path.Combine(root, "bin-without-dotnet")).FullName;
        foreach (var dir in new[] { "/usr/bin", "/bin" })
            foreach (var f in Directory.GetFiles(dir))
            {
                var link = Path.Combine(bin, Path.GetFileName(f));
                if (Path.GetFileName(f) != "dotnet" && !File.Exists(link)) File.CreateSymbolicLink(link, f);
            }
        return bin;
    }

    [Fact]
    public void The_bundle_runs_the_smoke_test_and_a_sweep_without_dotnet_and_refuses_a_mismatched_libtorch()
    {
        var root = Directory.CreateTempSubdirectory("bundle-").FullName;
        var home = Environment.GetEnvironmentVariable("HOME") ?? "/root";
        var build = new Dictionary<string, string>
        {
            ["PATH"] = Environment.GetEnvironmentVariable("PATH")!, ["HOME"] = home,
            ["BUNDLE_DIR"] = root, ["BUNDLE_COMPRESS"] = "gz", ["TORCHSHARP_NATIVE"] = Path.Combine(root, "none"),
        };
        var (rc, output) = Bash("bash build/gpu-bundle.sh", build, Paths.RepoRoot, 600);
        Assert.True(rc == 0, output);
        Assert.Contains("no TorchSharp native sources", output);       // said, not silently left out
        var file = Path.Combine(root, "orchestrator-gpu-bundle.tar.gz");
        Assert.True(File.Exists(file));
        (rc, output) = Bash($"tar -xzf {file} && ls orchestrator orchestrator/app", build, root, 120);
        Assert.Equal(0, rc);
        var bundle = Path.Combine(root, "orchestrator");
        var app = Path.Combine(bundle, "app");
        Assert.True(File.Exists(Path.Combine(app, "orchestrator")));
        Assert.True(File.Exists(Path.Combine(app, "libLibTorchSharp.so")));
        Assert.Empty(Directory.GetFiles(app, "libtorch*.so").Concat(Directory.GetFiles(app, "libc10*.so")));
        Assert.True(File.Exists(Path.Combine(bundle, "experiments", "default.yaml")));
        var commit = File.ReadAllText(Path.Combine(bundle, "source-commit.txt")).Split(' ')[0].Trim();
        Assert.Matches("^[0-9a-f]{40}$", commit);

        // libtorch as a Python PyTorch installation would provide it: here the folder the tests' own libtorch is in.
        using (TorchSharp.torch.ones(1)) { }
        var libtorch = Path.GetDirectoryName(DeviceInfo.LoadedLibtorch())!;
        var env = new Dictionary<string, string>
        {
            ["PATH"] = PathWithoutDotnet(root), ["HOME"] = home, ["LIBTORCH_LIB"] = libtorch,
            ["ORCHESTRATOR_RESULTS"] = Path.Combine(root, "results"),
        };
        (rc, output) = Bash("command -v dotnet; ./orchestrator.sh smoke --device cpu", env, bundle, 300);
        Assert.True(rc == 0, output);
        Assert.DoesNotContain("dotnet", output.Split('\n')[0]);
        Assert.Contains("smoke: all 13 checks passed", output);

        File.WriteAllText(Path.Combine(bundle, "experiments", "tiny.yaml"), """
            extends: default.yaml
            name: tiny
            base:
              pretrain: {steps: 4}
              finetune: {steps: 2}
              eval: {text_batches: 1, task_samples: 1}
            sweep:
              seeds: [0]
              router:
                top_k: {k: 2}
                null_experts: {nulls: 2, k: 3}
            """);
        (rc, output) = Bash("./orchestrator.sh sweep --spec experiments/tiny.yaml --no-report", env, bundle, 600);
        Assert.True(rc == 0, output);
        using (var db = new SqliteConnection($"Data Source={Path.Combine(root, "results", "orchestrator.db")}"))
        {
            db.Open();
            using var q = db.CreateCommand();
            q.CommandText = "SELECT json_extract(provenance_json, '$.git_commit'), " +
                            "json_extract(provenance_json, '$.libtorch_path') FROM runs WHERE status = 'completed'";
            using var r = q.ExecuteReader();
            int runs = 0;
            while (r.Read())
            {
                runs++;
                Assert.Equal(commit, r.GetString(0));
                Assert.StartsWith(libtorch, r.GetString(1));
            }
            Assert.Equal(2, runs);
        }

        // A "libtorch" whose libtorch_cpu.so is not the one TorchSharp was built against: detected by its missing
        // symbols; with no native sources in the bundle the rebuild cannot happen, and says so.
        var wrong = Directory.CreateDirectory(Path.Combine(root, "wrong-libtorch")).FullName;
        File.Copy(Path.Combine(libtorch, "libc10.so"), Path.Combine(wrong, "libtorch_cpu.so"));
        env["LIBTORCH_LIB"] = wrong;
        (rc, output) = Bash("./orchestrator.sh --version", env, bundle, 120);
        Assert.Equal(1, rc);
        Assert.Contains("libLibTorchSharp.so does not match the libtorch in " + wrong, output);
        Assert.Contains("build-native: no sources", output);
    }
}
