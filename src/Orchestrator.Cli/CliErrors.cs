namespace Orchestrator.Cli;

/// <summary>How a command that cannot do its work ends: one `error:` line and a documented exit code.</summary>
public static partial class Cli
{
        /// <summary>A failure the command could not recover from, as one line. Expected ones (a missing or damaged
        /// file, the database, the disk) say what and where; anything else keeps its trace in a crash log.</summary>
        static int Failure(Exception e)
        {
            var message = e switch
            {
                DiskFullException => e.Message,
                _ when DiskFull.Is(e, Paths.Results) => DiskFull.Advice(e is Microsoft.Data.Sqlite.SqliteException
                    ? $"results database {Paths.Database}: {e.Message}" : e.Message),
                FileNotFoundException or DirectoryNotFoundException or InvalidDataException => e.Message,
                Microsoft.Data.Sqlite.SqliteException q => $"results database {Paths.Database}: {q.Message}",
                UnauthorizedAccessException or IOException => e.Message,
                _ => null,
            };
            if (message == null)
            {
                var log = CrashLog(e);
                message = $"{e.GetType().Name}: {e.Message}" + (log != null ? $" (trace in {log})" : "");
            }
            Console.Error.WriteLine("error: " + message.Replace('\n', ' '));
            return ExitFailure;
        }

        static string? CrashLog(Exception e)
        {
            try
            {
                var dir = Path.Combine(Paths.Results, "logs");
                Directory.CreateDirectory(dir);
                var path = Path.Combine(dir, $"crash-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}.log");
                File.WriteAllText(path, e.ToString());
                return path;
            }
            catch (Exception) { return null; }        // the results folder itself is the problem: the message says so
        }
}
