using System.Text.Json;
using Orchestrator.Moe.Checkpoint;
using Orchestrator.Results;

namespace Orchestrator.Execution;

/// <summary>A pretrained base is named by its folder (model.source), not by the weights in it. Before a sweep
/// reuses a completed base, every file the base loaded is checked unchanged: its size and modification time
/// against those recorded, and where they moved, its sha256 against the recorded one. A folder whose weights were
/// replaced would otherwise be reused silently, with every stored run on it describing the old weights.</summary>
public static class CheckpointCheck
{
    /// <summary>Throws (InvalidDataException, FileNotFoundException) naming the first file that changed.</summary>
    public static void Verify(ResultStore store, ExperimentSpec spec)
    {
        foreach (var run in spec.Runs.Where(r => r.Typed.Model.Pretrained).DistinctBy(r => r.BaseHash))
        {
            var key = JobKey.Base(run.BaseHash);
            if (store.Jobs.Status(key).State != JobState.Completed) continue;
            var json = store.Query("SELECT provenance_json FROM jobs WHERE job_id = $id", ("$id", key.Id)).Rows
                .Select(r => r[0] as string).FirstOrDefault();
            if (json is null) continue;
            var provenance = JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? [];
            var folder = HfConfig.FolderOf(run.Typed.Model.Source);
            foreach (var (name, recorded) in provenance.Where(kv => kv.Key.StartsWith("hf_sha256:",
                         StringComparison.Ordinal)))
            {
                var file = name["hf_sha256:".Length..];
                var path = Path.Combine(folder, file);
                if (!File.Exists(path))
                    throw new FileNotFoundException($"{path} is missing: base {run.BaseHash} was loaded from it " +
                        "(put it back, or give a changed checkpoint a folder of its own)", path);
                if (provenance.GetValueOrDefault("hf_stamp:" + file) == ShardDigest.StampOf(path)) continue;
                var now = Protocol.Sha256(path);
                if (now != recorded)
                    throw new InvalidDataException($"{path} changed since base {run.BaseHash} loaded it (sha256 " +
                        $"{now[..12]}…, recorded {recorded[..12]}…): the runs stored on that base describe the " +
                        "old weights. Put the file back, or give the new checkpoint a folder of its own");
            }
        }
    }
}
