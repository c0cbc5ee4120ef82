using System.CommandLine;
using Samsa.Protocol.Messages;
using ErrorCode = Samsa.Protocol.ErrorCode;

namespace Samsa.Cli;

/// <summary>
/// <c>samsa cluster</c> = <c>kafka-cluster.sh</c> (Kafka 4.0's <c>ClusterTool</c>): <c>cluster-id</c> prints
/// <c>Cluster ID: ...</c>; <c>unregister --id N</c> sends UnregisterBroker and prints
/// <c>Broker N is no longer registered.</c>, or the error as <c>org.apache.kafka.common.errors.X: message</c> on stderr;
/// <c>list-endpoints</c> prints the brokers as <c>ID HOST PORT RACK STATE ENDPOINT_TYPE</c> columns. Each takes
/// <c>--bootstrap-server</c>/<c>-b</c> or <c>--bootstrap-controller</c>/<c>-C</c> and <c>--config</c>/<c>-c</c>.
/// Samsa adds <c>start</c> and <c>stop</c> (<see cref="LocalClusterCommand"/>): a local cluster of N nodes.
/// </summary>
internal sealed class ClusterCommand
{
    public Command Build()
    {
        var command = new Command("cluster", "The Kafka cluster tool (kafka-cluster.sh).");

        var clusterId = Subcommand("cluster-id", "Get information about the ID of a cluster.", out var clusterIdConnection);
        clusterId.SetAction((r, ct) => Run(async () =>
        {
            var response = await DescribeClusterAsync(clusterIdConnection.Bootstrap(r), clusterIdConnection.IsController(r), ct);
            Console.WriteLine(string.IsNullOrEmpty(response.ClusterId) ? "No cluster ID found. The Kafka version is probably too old." : $"Cluster ID: {response.ClusterId}");
        }));
        command.Add(clusterId);

        var unregister = Subcommand("unregister", "Unregister a broker.", out var unregisterConnection);
        var id = new Option<int>("--id", "-i") { Description = "The ID of the broker to unregister.", Required = true };
        unregister.Add(id);
        unregister.SetAction((r, ct) => Run(async () =>
        {
            var broker = r.GetValue(id);
            using var client = await KafkaWireClient.ConnectAnyAsync(unregisterConnection.Bootstrap(r), ct);
            var response = await client.SendAsync<UnregisterBrokerResponse>(new UnregisterBrokerRequest { BrokerId = broker }, 0, ct);
            switch ((ErrorCode)response.ErrorCode)
            {
                case ErrorCode.None:
                    Console.WriteLine($"Broker {broker} is no longer registered.");
                    break;
                case ErrorCode.UnsupportedVersion:
                    Console.WriteLine("The target cluster does not support the broker unregistration API.");
                    break;
                default:
                    // The Java tool prints the ExecutionException's message: the cause's class and message.
                    throw new CommandException($"{JavaException((ErrorCode)response.ErrorCode)}: {response.ErrorMessage ?? Protocol.ErrorCodes.DefaultMessage((ErrorCode)response.ErrorCode)}");
            }
        }));
        command.Add(unregister);

        var listEndpoints = Subcommand("list-endpoints", "List endpoints", out var listConnection);
        var includeFenced = new Option<bool>("--include-fenced-brokers") { Description = "Whether to include fenced brokers when listing broker endpoints" };
        listEndpoints.Add(includeFenced);
        listEndpoints.SetAction((r, ct) => Run(async () =>
        {
            var controllers = listConnection.IsController(r);
            if (controllers && r.GetValue(includeFenced))
            {
                throw new CommandException("The option --include-fenced-brokers is only supported with --bootstrap-server option");
            }
            var response = await DescribeClusterAsync(listConnection.Bootstrap(r), controllers, ct);
            PrintEndpoints(response.Brokers, controllers);
        }));
        command.Add(listEndpoints);

        // Samsa's own: a local multi-node cluster in one command (not part of Kafka's ClusterTool).
        LocalClusterCommand.AddTo(command);
        return command;
    }

    /// <summary>The connection options every subcommand takes.</summary>
    private sealed class Connection
    {
        public Option<string> Server { get; } = new("--bootstrap-server", "-b") { Description = "A list of host/port pairs to use for establishing the connection to the Kafka cluster." };

        public Option<string> Controller { get; } = new("--bootstrap-controller", "-C") { Description = "A list of host/port pairs to use for establishing the connection to the KRaft controllers." };

        public Option<string> Config { get; } = new("--config", "-c") { Description = "A property file containing configurations for the Admin client." };

        public bool IsController(ParseResult r) => r.GetValue(Controller) is not null;

        public string Bootstrap(ParseResult r)
        {
            var server = r.GetValue(Server);
            var controller = r.GetValue(Controller);
            if (server is not null && controller is not null)
            {
                throw new CommandException("argument --bootstrap-controller/-C: not allowed with argument --bootstrap-server/-b");
            }
            var properties = r.GetValue(Config) is { } file ? ClientOptions.ReadFile(file) : [];
            return server ?? controller ?? (properties.TryGetValue("bootstrap.servers", out var configured) ? configured
                : throw new CommandException("one of the arguments --bootstrap-server/-b --bootstrap-controller/-C is required"));
        }
    }

    private static Command Subcommand(string name, string description, out Connection connection)
    {
        var command = new Command(name, description);
        connection = new Connection();
        command.Add(connection.Server);
        command.Add(connection.Controller);
        command.Add(connection.Config);
        return command;
    }

    private static Task<int> Run(Func<Task> body) => CommandRunner.RunAsync(body, "", errorsToStdout: false);

    /// <summary>DescribeCluster v1; endpoint type 2 (controllers) for <c>--bootstrap-controller</c> (KIP-919).</summary>
    private static async Task<DescribeClusterResponse> DescribeClusterAsync(string bootstrap, bool controllers, CancellationToken cancellationToken)
    {
        using var client = await KafkaWireClient.ConnectAnyAsync(bootstrap, cancellationToken);
        var response = await client.SendAsync<DescribeClusterResponse>(new DescribeClusterRequest { EndpointType = controllers ? (sbyte)2 : (sbyte)1 }, 1, cancellationToken);
        return response.ErrorCode == 0
            ? response
            : throw new CommandException($"{JavaException((ErrorCode)response.ErrorCode)}: {response.ErrorMessage ?? Protocol.ErrorCodes.DefaultMessage((ErrorCode)response.ErrorCode)}");
    }

    /// <summary>Kafka's <c>listEndpoints</c>: host and rack columns as wide as the longest value (100 and 10 when none).</summary>
    private static void PrintEndpoints(IReadOnlyList<DescribeClusterResponse.DescribeClusterBroker> brokers, bool controllers)
    {
        var hostWidth = brokers.Count == 0 ? 100 : brokers.Max(b => b.Host.Length);
        var racks = brokers.Where(b => b.Rack is not null).ToList();
        var rackWidth = racks.Count == 0 ? 10 : racks.Max(b => b.Rack!.Length);
        string Line(string id, string host, string port, string rack, string? state, string type) =>
            $"{id,-10} {host.PadRight(hostWidth)} {port,-10} {rack.PadRight(rackWidth)} " + (state is null ? "" : $"{state,-10} ") + type.PadRight(15);
        Console.WriteLine(Line("ID", "HOST", "PORT", "RACK", controllers ? null : "STATE", "ENDPOINT_TYPE"));
        foreach (var broker in brokers)
        {
            // DescribeCluster lists only unfenced brokers, and a Samsa node never fences itself.
            Console.WriteLine(Line(broker.BrokerId.ToString(System.Globalization.CultureInfo.InvariantCulture), broker.Host,
                broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), broker.Rack ?? "null", controllers ? null : "unfenced",
                controllers ? "controller" : "broker"));
        }
    }

    private static string JavaException(ErrorCode code) => "org.apache.kafka.common.errors." + code switch
    {
        ErrorCode.BrokerIdNotRegistered => "BrokerIdNotRegisteredException",
        ErrorCode.InvalidRequest => "InvalidRequestException",
        ErrorCode.UnsupportedVersion => "UnsupportedVersionException",
        ErrorCode.ClusterAuthorizationFailed => "ClusterAuthorizationException",
        _ => "UnknownServerException",
    };
}
