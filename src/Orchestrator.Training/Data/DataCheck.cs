namespace Orchestrator.Training.Data;

/// <summary>Every data file a sweep's jobs will read, checked before any job starts: the corpus exists and has
/// enough documents for its splits, and the multiple-choice file exists and parses (its first bad line named).
/// Without it a missing file was found only after pretraining and fine-tuning had run.</summary>
public static class DataCheck
{
    /// <summary>Throws the first problem (FileNotFoundException or InvalidDataException, message naming the
    /// file and line) for the distinct data configurations of these runs.</summary>
    public static void Verify(IEnumerable<RunConfig> runs)
    {
        foreach (var data in runs.Select(r => r.Data).DistinctBy(d => (d.Corpus, d.ValidFraction, d.TestFraction)))
            Corpus.Load(data.Corpus, data.ValidFraction, data.TestFraction);
        foreach (var file in runs.Select(r => r.Data.MultipleChoice).Where(f => f.Length > 0).Distinct())
            MultipleChoice.Load(MultipleChoice.Resolve(file));
    }
}
