using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Reflection;
using Orchestrator.Cli;
using Orchestrator.Specs;

// orchestrator <command> [options]; `orchestrator --help` lists the commands, `<command> --help` their options.
return Cli.Run(args);

namespace Orchestrator.Cli
{
    /// <summary>The command line, parsed by System.CommandLine: every command declares its options (Commands.*.cs),
    /// `--help` on any command prints and starts nothing, unknown flags and bad values are usage errors (exit 2)
    /// with a did-you-mean, and a command that fails says so in one `error:` line (CliErrors.cs).</summary>
    public static partial class Cli
    {
        /// <summary>Exit codes, documented in the README: 0 ok; 1 a failure; 2 a usage or spec error.</summary>
        public const int ExitOk = 0, ExitFailure = 1, ExitUsage = 2;

        public static int Run(string[] args)
        {
            Orchestrator.Execution.NativeHeap.Configure();
            Orchestrator.Moe.Routing.Routers.Register();
            var root = BuildRoot();
            var parsed = root.Parse(args);
            if (args.Length == 0)
            {
                new System.CommandLine.Help.HelpAction().Invoke(parsed);
                return ExitUsage;
            }
            // --help and --version answer whatever else the line holds (a required flag missing included).
            if (args.Contains("--version") && parsed.Action is not System.CommandLine.Help.HelpAction)
                return new PrintVersion().Invoke(parsed);
            bool help = parsed.Action is System.CommandLine.Help.HelpAction;
            if (parsed.Errors.Count > 0 && !help) return UsageErrors(parsed);
            try
            {
                return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
            }
            catch (SpecException e)
            {
                Console.Error.WriteLine($"invalid spec: {e.Errors.Count} error{(e.Errors.Count == 1 ? "" : "s")}");
                foreach (var err in e.Errors) Console.Error.WriteLine("  " + err);
                return ExitUsage;
            }
            catch (UsageException e) { return Usage(e.Message); }
            catch (Orchestrator.Execution.ExecutorUnavailableException e) { return Usage(e.Message); }
            catch (Exception e) { return Failure(e); }
        }

        static RootCommand BuildRoot()
        {
            var root = new RootCommand("Orchestrator: sweeps of adaptive expert routers for MoE language models, " +
                                       "their results in SQLite, their reports and findings.");
            foreach (var c in new[] { SweepCommand(), PlanCommand(), StatusCommand(), CancelCommand(), QueryCommand(),
                         ReportCommand(), ExportCommand(), BenchCommand(), SmokeCommand(), ScoreCommand(),
                         ExportHfCommand(), WorkerCommand() })
                root.Subcommands.Add(c);
            foreach (var v in root.Options.OfType<VersionOption>())
            {
                v.Action = new PrintVersion();
                v.Recursive = true;           // `orchestrator sweep --version` answers too, and starts nothing
            }
            return root;
        }

        /// <summary>`--version`: the build and the commit it runs from — what provenance records for every run.
        /// </summary>
        sealed class PrintVersion : SynchronousCommandLineAction
        {
            public override int Invoke(ParseResult parseResult)
            {
                Console.Out.WriteLine(VersionLine());
                return ExitOk;
            }
        }

        public static string VersionLine()
        {
            var asm = typeof(Cli).Assembly;
            var version = asm.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                .Split('+')[0] ?? "0";
            var (hash, dirty) = Orchestrator.Execution.Provenance.Commit();
            var commit = hash.Length > 12 ? hash[..12] : hash;
            var torch = typeof(TorchSharp.torch).Assembly
                .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0];
            return $"orchestrator {version} (commit {commit}{(dirty ? ", uncommitted changes" : "")}; " +
                   $"TorchSharp {torch}; {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription})";
        }

        /// <summary>Parse errors as `error:` lines: an unknown flag or command with the one it most likely meant
        /// and the ones the command knows; then where to find help. Nothing has been read or written.</summary>
        static int UsageErrors(ParseResult parsed)
        {
            var command = parsed.CommandResult.Command;
            var unknown = parsed.UnmatchedTokens.ToList();
            foreach (var token in unknown) Console.Error.WriteLine("error: " + Hinted(UnknownToken(command, token)));
            // The library's own line for an unknown command ("Required command was not provided") says less.
            foreach (var e in parsed.Errors.Where(e => !unknown.Any(t => e.Message.Contains($"'{t}'"))
                                                       && !(unknown.Count > 0 && command is RootCommand)))
                Console.Error.WriteLine("error: " + Hinted(e.Message));
            Console.Error.WriteLine($"(see `orchestrator {(command is RootCommand ? "" : command.Name + " ")}--help`)");
            return ExitUsage;
        }

        static string UnknownToken(Command command, string token)
        {
            if (!token.StartsWith('-'))
            {
                var names = command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name).ToList();
                var hint = ConfigSchema.Suggest(token, names);
                return names.Count == 0 ? $"unexpected argument '{token}'"
                    : $"unknown command '{token}'{(hint != null ? $" — did you mean {hint}?" : "")} " +
                      $"(commands: {string.Join(", ", names)})";
            }
            return UnknownFlag(command, token);
        }

        internal static string UnknownFlag(Command command, string token)
        {
            var bare = token.TrimStart('-').Split('=')[0];
            var known = command.Options.Where(o => !o.Hidden && o is not System.CommandLine.Help.HelpOption)
                .Select(o => o.Name.TrimStart('-')).ToList();
            var hint = ConfigSchema.Suggest(bare, known);
            return $"unknown flag --{bare}{(hint != null ? $" — did you mean --{hint}?" : "")}" +
                   (known.Count > 0 ? $" (known: {string.Join(", ", known.Select(k => "--" + k))})" : "");
        }

        sealed class UsageException(string m) : Exception(m);

        static int Usage(string message)
        {
            Console.Error.WriteLine("error: " + Hinted(message));
            return ExitUsage;
        }

        /// <summary>Under make, a flag the user never typed is named by its make variable too: `make report`
        /// without SWEEP says "--sweep … (make: SWEEP=…)". The Makefile exports ORCHESTRATOR_MAKE_VARS as
        /// `flag=VARIABLE` pairs.</summary>
        static string Hinted(string message)
        {
            var map = Environment.GetEnvironmentVariable("ORCHESTRATOR_MAKE_VARS");
            if (string.IsNullOrWhiteSpace(map)) return message;
            var named = map.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('='))
                .Where(p => p.Length == 2 && System.Text.RegularExpressions.Regex.IsMatch(message,
                    $@"--{System.Text.RegularExpressions.Regex.Escape(p[0])}(?![a-z-])"))
                .Select(p => $"{p[1]}=…").Distinct().ToList();
            return named.Count == 0 ? message : $"{message} (make: {string.Join(", ", named)})";
        }
    }
}
