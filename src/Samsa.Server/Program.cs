using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Samsa.Broker;
using Samsa.Broker.Config;

// samsa-server [--config] [server.properties] [--override key=value]...
// Like kafka-server-start.sh: the properties file may be given bare; overrides win over the file.
// With no arguments it starts one node on localhost:9092 with data under ./data, and the web console on
// http://127.0.0.1:9021.

// Socket completions run on the runtime's event threads (one per core) instead of being queued to the thread pool
// first: the broker's handlers never block on another socket, and a produce request then costs one thread wake-up
// fewer (raw produce throughput +25 % on 2 cores, see BENCHMARKS.md). Read by the runtime when the first socket is
// made, so it is set before anything else; DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0 in the environment wins.
const string InlineSocketCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
if (Environment.GetEnvironmentVariable(InlineSocketCompletions) is null)
{
    Environment.SetEnvironmentVariable(InlineSocketCompletions, "1");
}

string? configPath = null;
var overrides = new List<string>();
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--config" when i + 1 < args.Length:
            configPath = args[++i];
            break;
        case "--override" when i + 1 < args.Length:
            overrides.Add(args[++i]);
            break;
        case "-h" or "--help":
            Console.WriteLine("Usage: samsa-server [--config] [server.properties] [--override key=value]...");
            return 0;
        case var bare when !bare.StartsWith("--", StringComparison.Ordinal) && configPath is null:
            configPath = bare;
            break;
        default:
            Console.Error.WriteLine($"samsa-server: unexpected argument '{args[i]}' (usage: samsa-server [--config] [server.properties] [--override key=value]...)");
            return 1;
    }
}

using var loggerFactory = LoggerFactory.Create(logging => logging
    .SetMinimumLevel(LogLevel.Information)
    .AddSimpleConsole(console =>
    {
        console.SingleLine = true;
        console.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff ";
        console.UseUtcTimestamp = true;
    }));
var logger = loggerFactory.CreateLogger("Samsa.Server");

using var stopping = new CancellationTokenSource();
void RequestStop(PosixSignalContext context)
{
    // Let the process end through the normal shutdown path instead of the runtime's default termination.
    context.Cancel = true;
    stopping.Cancel();
}
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, RequestStop);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, RequestStop);
using var sigquit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, RequestStop);

KafkaBroker broker;
try
{
    if (configPath is null)
    {
        // The zero-config start serves the web console on loopback; an override (even an empty one) wins. A second
        // zero-config node on the machine finds the port taken and starts without a console rather than failing.
        if (ZeroConfig.ConsolePortIsFree())
        {
            overrides.Insert(0, "console.listener=" + ZeroConfig.ConsoleListener);
        }
        else
        {
            logger.LogWarning("Port {Port} is in use: starting without the web console (set console.listener to choose another)", ZeroConfig.ConsolePort);
        }
    }
    var config = KafkaConfig.Load(configPath, overrides, logger);
    broker = await KafkaBroker.StartAsync(config, loggerFactory, stopping.Token);
}
catch (ConfigException e)
{
    Console.Error.WriteLine($"samsa-server: {e.Message}");
    return 1;
}
catch (IOException e)
{
    Console.Error.WriteLine($"samsa-server: {e.Message}");
    return 1;
}
catch (TimeoutException e)
{
    // Kafka's broker shuts down the same way when it cannot register with the controller quorum.
    Console.Error.WriteLine($"samsa-server: {e.Message}");
    return 1;
}
catch (OperationCanceledException)
{
    return 0;
}

await using (broker)
{
    try
    {
        await Task.Delay(Timeout.Infinite, stopping.Token);
    }
    catch (OperationCanceledException)
    {
        // Ctrl-C or SIGTERM: fall through to a clean shutdown.
    }
}
return 0;

/// <summary>What <c>samsa-server</c> with no config file adds to the defaults.</summary>
internal static class ZeroConfig
{
    public const int ConsolePort = 9021;
    public const string ConsoleListener = "http://127.0.0.1:9021";

    public static bool ConsolePortIsFree()
    {
        try
        {
            var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, ConsolePort);
            probe.Start();
            probe.Stop();
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }
}
