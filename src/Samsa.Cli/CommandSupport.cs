using System.CommandLine;
using System.Runtime.InteropServices;
using Confluent.Kafka;
using Samsa.Broker.Config;

namespace Samsa.Cli;

/// <summary>Options every client tool shares, and the AdminClient they build from them.</summary>
internal sealed class ClientOptions
{
    public Option<string> BootstrapServer { get; } = new("--bootstrap-server") { Description = "REQUIRED: The Kafka server to connect to." };

    public Option<string> CommandConfig { get; } = new("--command-config") { Description = "Property file containing configs to be passed to Admin Client." };

    public void AddTo(Command command)
    {
        command.Add(BootstrapServer);
        command.Add(CommandConfig);
    }

    /// <summary>The client properties: the --command-config file, then the bootstrap server.</summary>
    public Dictionary<string, string> Properties(ParseResult result)
    {
        var properties = result.GetValue(CommandConfig) is { } file ? ReadFile(file) : new Dictionary<string, string>(StringComparer.Ordinal);
        var bootstrap = result.GetValue(BootstrapServer);
        if (bootstrap is null && !properties.ContainsKey("bootstrap.servers"))
        {
            throw new CommandException("Missing required argument \"[bootstrap-server]\"");
        }
        if (bootstrap is not null)
        {
            properties["bootstrap.servers"] = bootstrap;
        }
        return properties;
    }

    /// <summary>A client properties file (Java's <c>Properties</c> format), as Kafka's <c>Utils.loadProps</c> reads it.</summary>
    public static Dictionary<string, string> ReadFile(string file)
    {
        if (!File.Exists(file))
        {
            throw new CommandException($"{file} (No such file or directory)");
        }
        var properties = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in JavaProperties.Parse(File.ReadAllText(file)))
        {
            properties[key] = value;
        }
        return properties;
    }

    public IAdminClient CreateAdmin(ParseResult result) => CreateAdmin(Properties(result));

    public static IAdminClient CreateAdmin(Dictionary<string, string> properties)
    {
        NativeLibrdkafka.EnsureLoaded();
        var config = new AdminClientConfig(ClientProperties.ForLibrdkafka(new Dictionary<string, string>(properties, StringComparer.Ordinal)));
        config.SocketTimeoutMs ??= 30000;
        config.Set("log_level", "0");
        return new AdminClientBuilder(config).SetLogHandler((_, _) => { }).Build();
    }
}

internal static class CommandRunner
{
    /// <summary>Runs a command body; a failure prints one line (<paramref name="prefix"/> + message) and returns 1.</summary>
    public static async Task<int> RunAsync(Func<Task> body, string prefix, bool errorsToStdout)
    {
        try
        {
            await body();
            return 0;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var message = e switch
            {
                CommandException or ArgumentException => e.Message,
                Confluent.Kafka.Admin.CreatePartitionsException c => c.Results.First(x => x.Error.IsError).Error.Reason,
                Confluent.Kafka.Admin.DeleteTopicsException d => d.Results.First(x => x.Error.IsError).Error.Reason,
                Confluent.Kafka.Admin.IncrementalAlterConfigsException a => a.Results.First(x => x.Error.IsError).Error.Reason,
                Confluent.Kafka.Admin.DescribeConfigsException dc => dc.Results.First(x => x.Error.IsError).Error.Reason,
                KafkaException k => k.Error.Reason,
                _ => e.Message,
            };
            var line = e is CommandException or ArgumentException ? message : prefix + message;
            if (errorsToStdout && e is not CommandException and not ArgumentException)
            {
                Console.Out.WriteLine(line);
            }
            else
            {
                Console.Error.WriteLine(line);
            }
            return 1;
        }
    }

    /// <summary>Parses repeated or comma-joined <c>k=v</c> pairs (kafka-configs splits on commas outside brackets).</summary>
    public static List<KeyValuePair<string, string>> ParsePairs(IEnumerable<string> values, bool splitCommas)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (var value in values)
        {
            foreach (var item in splitCommas ? SplitOutsideBrackets(value) : [value])
            {
                var eq = item.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    throw new CommandException("requirement failed: Invalid topic config: all configs to be added must be in the format \"key=val\".");
                }
                var v = item[(eq + 1)..].Trim();
                if (v.StartsWith('[') && v.EndsWith(']'))
                {
                    v = v[1..^1];
                }
                pairs.Add(new(item[..eq].Trim(), v));
            }
        }
        return pairs;
    }

    private static IEnumerable<string> SplitOutsideBrackets(string text)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            depth += text[i] == '[' ? 1 : text[i] == ']' ? -1 : 0;
            if (text[i] == ',' && depth == 0)
            {
                yield return text[start..i];
                start = i + 1;
            }
        }
        if (start < text.Length)
        {
            yield return text[start..];
        }
    }
}

/// <summary>
/// Cancels when the tool is asked to stop: Ctrl-C (SIGINT) or SIGTERM, as Kafka's tools stop in their shutdown hook,
/// or when the command line's own token is cancelled. The signal is swallowed so the tool can finish cleanly and
/// print its closing lines.
/// </summary>
internal sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly PosixSignalRegistration _sigint;
    private readonly PosixSignalRegistration _sigterm;

    public StopSignals(CancellationToken commandToken)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(commandToken);
        _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    public CancellationToken Token => _stop.Token;

    public bool IsStopRequested => _stop.IsCancellationRequested;

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        _stop.Cancel();
    }

    public void Dispose()
    {
        _sigint.Dispose();
        _sigterm.Dispose();
        _stop.Dispose();
    }
}

/// <summary>
/// An option a tool does not have, as Kafka's joptsimple rejects it: <c>NAME is not a recognized option</c> on stderr
/// and exit 1. That covers the ZooKeeper-era <c>--zookeeper</c> that Kafka 4.x removed from every tool. Checked on the
/// parse result, for all tools at once, so the answer is Kafka's rather than System.CommandLine's usage text.
/// </summary>
internal static class UnrecognizedOption
{
    /// <summary>Prints Kafka's message and returns 1 when the parse left an unknown <c>--option</c>; null otherwise.</summary>
    public static int? Reject(string[] args, ParseResult parsed)
    {
        var unknown = parsed.UnmatchedTokens.FirstOrDefault(t => t.StartsWith("--", StringComparison.Ordinal) && t.Length > 2);
        if (unknown is null || args.Length == 0)
        {
            return null;
        }
        if (args[0] == "transactions")
        {
            // kafka-transactions.sh parses with argparse4j, not joptsimple.
            Console.Error.WriteLine("usage: kafka-transactions.sh [-h] [-v] [--command-config FILE] --bootstrap-server host:port COMMAND ...");
            Console.Error.WriteLine($"kafka-transactions.sh: error: unrecognized arguments: '{unknown}'");
            return 1;
        }
        var name = unknown[2..].Split('=', 2)[0];
        // GetOffsetShell prefixes the errors it catches; the other tools print the exception's message alone.
        var prefix = args[0] == "get-offsets" ? "Error occurred: " : "";
        Console.Error.WriteLine($"{prefix}{name} is not a recognized option");
        return 1;
    }
}

/// <summary>Output helpers Kafka's tools share (its <c>ToolsUtils</c>).</summary>
internal static class ToolsUtils
{
    /// <summary>Kafka's <c>prettyPrintTable</c>: each cell padded to its column's widest, then a tab.</summary>
    public static void PrintTable(string[] headers, IReadOnlyList<string[]> rows)
    {
        var widths = headers.Select((h, i) => rows.Select(r => r[i].Length).Prepend(h.Length).Max()).ToArray();
        foreach (var row in rows.Prepend(headers))
        {
            Console.WriteLine(string.Concat(row.Select((cell, i) => cell.PadRight(widths[i]) + "\t")));
        }
    }
}
