using System.CommandLine;
using System.Globalization;
using System.Text;
using Samsa.Metadata;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using ErrorCode = Samsa.Protocol.ErrorCode;

namespace Samsa.Cli;

/// <summary>
/// <c>samsa metadata-quorum</c> = <c>kafka-metadata-quorum.sh</c> (Kafka's <c>MetadataQuorumCommand</c>):
/// <c>describe --status</c> prints the quorum's summary (cluster id, leader, epoch, high watermark, the largest
/// follower lag, voters and observers as Kafka's <c>Node</c> JSON-ish strings); <c>describe --replication
/// [--human-readable]</c> prints one row per replica (leader, followers, observers) as Kafka's prettyPrintTable.
/// Both from DescribeQuorum v2 on <c>__cluster_metadata-0</c> through <c>--bootstrap-server</c> or
/// <c>--bootstrap-controller</c>. <c>add-controller --command-config controller.properties</c> and
/// <c>remove-controller --controller-id N --controller-directory-id D</c> (KIP-853) send AddRaftVoter and
/// RemoveRaftVoter to the quorum's leader, found through DescribeQuorum.
/// </summary>
internal sealed class MetadataQuorumCommand
{
    private readonly Option<string> _bootstrapServer = new("--bootstrap-server") { Description = "A comma-separated list of host:port pairs to use for establishing the connection to the Kafka cluster.", Recursive = true };
    private readonly Option<string> _bootstrapController = new("--bootstrap-controller") { Description = "A comma-separated list of host:port pairs to use for establishing the connection to the Kafka controllers.", Recursive = true };
    private readonly Option<string> _commandConfig = new("--command-config") { Description = "Property file containing configs to be passed to Admin Client.", Recursive = true };

    public Command Build()
    {
        var command = new Command("metadata-quorum", "This tool describes kraft metadata quorum status (kafka-metadata-quorum.sh).");
        command.Add(_bootstrapServer);
        command.Add(_bootstrapController);
        command.Add(_commandConfig);

        var describe = new Command("describe", "Describe the metadata quorum info");
        var status = new Option<bool>("--status") { Description = "A short summary of the quorum status and the other provides detailed information about the status of replication." };
        var replication = new Option<bool>("--replication") { Description = "Detailed information about the status of replication" };
        var humanReadable = new Option<bool>("--human-readable") { Description = "Human-readable output" };
        describe.Add(status);
        describe.Add(replication);
        describe.Add(humanReadable);
        describe.SetAction((r, ct) => CommandRunner.RunAsync(async () =>
        {
            var bootstrap = Bootstrap(r);
            if (r.GetValue(status) && r.GetValue(replication))
            {
                throw new CommandException("Only one of --status or --replication should be specified with describe sub-command");
            }
            if (r.GetValue(replication))
            {
                PrintReplication(await DescribeAsync(bootstrap, ct), r.GetValue(humanReadable));
            }
            else if (r.GetValue(status))
            {
                if (r.GetValue(humanReadable))
                {
                    throw new CommandException("The option --human-readable is only supported along with --replication");
                }
                var (quorum, clusterId) = await DescribeWithClusterIdAsync(bootstrap, ct);
                PrintStatus(quorum, clusterId);
            }
            else
            {
                throw new CommandException("One of --status or --replication must be specified with describe sub-command");
            }
        }, "", errorsToStdout: false));
        command.Add(describe);

        var addDryRun = new Option<bool>("--dry-run") { Description = "True if we should print what would be done, but not do it." };
        var add = new Command("add-controller", "Add a controller to the KRaft controller cluster") { addDryRun };
        add.SetAction((r, ct) => CommandRunner.RunAsync(async () =>
        {
            var bootstrap = Bootstrap(r);
            var file = r.GetValue(_commandConfig)
                ?? throw new CommandException("You must supply the configuration file of the controller you are adding when using add-controller.");
            var (id, directoryId, endpoints) = ControllerToAdd(ClientOptions.ReadFile(file));
            var dryRun = r.GetValue(addDryRun);
            if (!dryRun)
            {
                await SendToLeaderAsync<AddRaftVoterResponse>(bootstrap, clusterId => new AddRaftVoterRequest
                {
                    ClusterId = clusterId,
                    TimeoutMs = 30_000,
                    VoterId = id,
                    VoterDirectoryId = directoryId,
                    Listeners = [.. endpoints.Select(e => new AddRaftVoterRequest.Listener { Name = e.Name, Host = e.Host, Port = (ushort)e.Port })],
                }, response => (response.ErrorCode, response.ErrorMessage), ct);
            }
            Console.WriteLine($"{(dryRun ? "DRY RUN of adding" : "Added")} controller {id} with directory id {directoryId} and endpoints: {string.Join(", ", endpoints)}");
        }, "", errorsToStdout: false));
        command.Add(add);

        var removeId = new Option<int>("--controller-id", "-i") { Description = "The id of the controller to remove.", Required = true };
        var removeDirectory = new Option<string>("--controller-directory-id", "-d") { Description = "The directory ID of the controller to remove.", Required = true };
        var removeDryRun = new Option<bool>("--dry-run") { Description = "True if we should print what would be done, but not do it." };
        var remove = new Command("remove-controller", "Remove a controller from the KRaft controller cluster") { removeId, removeDirectory, removeDryRun };
        remove.SetAction((r, ct) => CommandRunner.RunAsync(async () =>
        {
            var bootstrap = Bootstrap(r);
            var id = r.GetValue(removeId);
            if (id < 0)
            {
                throw new CommandException($"Invalid negative --controller-id: {id}");
            }
            if (!Uuid.TryParse(r.GetValue(removeDirectory)!, out var directoryId))
            {
                throw new CommandException($"Failed to parse --controller-directory-id: Invalid UUID string: {r.GetValue(removeDirectory)}");
            }
            var dryRun = r.GetValue(removeDryRun);
            if (!dryRun)
            {
                await SendToLeaderAsync<RemoveRaftVoterResponse>(bootstrap, clusterId => new RemoveRaftVoterRequest
                {
                    ClusterId = clusterId,
                    VoterId = id,
                    VoterDirectoryId = directoryId,
                }, response => (response.ErrorCode, response.ErrorMessage), ct);
            }
            // Kafka's format string puts a space after the verb and another before "KRaft": two spaces, kept.
            Console.WriteLine($"{(dryRun ? "DRY RUN of removing " : "Removed ")} KRaft controller {id} with directory id {directoryId}");
        }, "", errorsToStdout: false));
        command.Add(remove);
        return command;
    }

    /// <summary>
    /// The controller a config file describes (Kafka's <c>handleAddController</c>): node.id, the directory id in its
    /// metadata directory's meta.properties, and the advertised endpoint of each controller listener.
    /// </summary>
    private static (int Id, Uuid DirectoryId, List<Samsa.Metadata.Quorum.VoterEndpoint> Endpoints) ControllerToAdd(Dictionary<string, string> props)
    {
        if (!props.TryGetValue("node.id", out var nodeIdText) || !int.TryParse(nodeIdText, CultureInfo.InvariantCulture, out var nodeId))
        {
            throw new CommandException("node.id not found in configuration file. Is this a valid controller configuration file?");
        }
        if (nodeId < 0)
        {
            throw new CommandException("node.id was negative in configuration file. Is this a valid controller configuration file?");
        }
        if (!props.GetValueOrDefault("process.roles", "").Contains("controller", StringComparison.Ordinal))
        {
            throw new CommandException("process.roles did not contain 'controller' in configuration file. Is this a valid controller configuration file?");
        }
        var directory = props.GetValueOrDefault("metadata.log.dir")
            ?? props.GetValueOrDefault("log.dirs")?.Trim().Split(',')[0]
            ?? throw new CommandException("Neither metadata.log.dir nor log.dirs were found. Is this a valid controller configuration file?");
        var meta = Samsa.Broker.Config.MetaProperties.Read(directory) ?? throw new CommandException($"Unable to read meta.properties from {directory}");
        var directoryId = meta.DirectoryId ?? throw new CommandException($"No directory id found in {directory}");

        var listeners = new Dictionary<string, (string Host, int Port)>(StringComparer.Ordinal);
        foreach (var key in new[] { "listeners", "advertised.listeners" })
        {
            foreach (var entry in props.GetValueOrDefault(key, "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var scheme = entry.IndexOf("://", StringComparison.Ordinal);
                var colon = entry.LastIndexOf(':');
                if (scheme > 0 && colon > scheme + 2 && int.TryParse(entry.AsSpan(colon + 1), CultureInfo.InvariantCulture, out var port))
                {
                    listeners[entry[..scheme].ToUpperInvariant()] = (entry[(scheme + 3)..colon].Trim('[', ']'), port);
                }
            }
        }
        if (!props.TryGetValue("controller.listener.names", out var names))
        {
            throw new CommandException("controller.listener.names was not found. Is this a valid controller configuration file?");
        }
        var endpoints = new List<Samsa.Metadata.Quorum.VoterEndpoint>();
        foreach (var name in names.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(n => n.ToUpperInvariant()))
        {
            if (!listeners.TryGetValue(name, out var listener))
            {
                throw new CommandException($"Cannot find information about controller listener name: {name}");
            }
            endpoints.Add(new Samsa.Metadata.Quorum.VoterEndpoint(name, listener.Host.Length == 0 ? "localhost" : listener.Host, listener.Port));
        }
        return (nodeId, directoryId, endpoints);
    }

    /// <summary>
    /// Sends a voter change to the quorum's leader, found with DescribeQuorum v2 through the bootstrap servers (the
    /// leader's controller endpoint is in the response's nodes); a refusal is the command's error.
    /// </summary>
    private static async Task SendToLeaderAsync<TResponse>(string bootstrap, Func<string, IApiMessage> request, Func<TResponse, (short Error, string? Message)> outcome,
        CancellationToken cancellationToken)
        where TResponse : IApiMessage, new()
    {
        var (quorum, clusterId) = await DescribeWithClusterIdAsync(bootstrap, cancellationToken);
        var leader = quorum.Nodes.FirstOrDefault(n => n.NodeId == quorum.Partition.LeaderId)?.Listeners.FirstOrDefault()
            ?? throw new CommandException($"The quorum's leader {quorum.Partition.LeaderId} has no known endpoint");
        using var client = await KafkaWireClient.ConnectAsync(leader.Host, leader.Port, cancellationToken);
        var body = request(clusterId);
        var response = await client.SendAsync<TResponse>(body, 0, cancellationToken);
        var (error, message) = outcome(response);
        if (error != 0)
        {
            throw new CommandException(message ?? ErrorCodes.DefaultMessage((ErrorCode)error) ?? $"error {error}");
        }
    }

    private string Bootstrap(ParseResult r)
    {
        var server = r.GetValue(_bootstrapServer);
        var controller = r.GetValue(_bootstrapController);
        if (server is not null && controller is not null)
        {
            throw new CommandException("kafka-metadata-quorum: error: argument --bootstrap-controller: not allowed with argument --bootstrap-server");
        }
        if (r.GetValue(_commandConfig) is { } file)
        {
            if (!File.Exists(file))
            {
                throw new CommandException($"Properties file {file} does not exist.");
            }
            _ = ClientOptions.ReadFile(file);
        }
        return server ?? controller
            ?? throw new CommandException("kafka-metadata-quorum: error: one of the arguments --bootstrap-server --bootstrap-controller is required");
    }

    /// <summary>One partition's answer plus the voters' endpoints (v2's nodes).</summary>
    private sealed record Quorum(DescribeQuorumResponse.PartitionData Partition, IReadOnlyList<DescribeQuorumResponse.Node> Nodes);

    private static async Task<Quorum> DescribeAsync(string bootstrap, CancellationToken cancellationToken)
    {
        using var client = await KafkaWireClient.ConnectAnyAsync(bootstrap, cancellationToken);
        return await DescribeAsync(client, cancellationToken);
    }

    private static async Task<(Quorum Quorum, string ClusterId)> DescribeWithClusterIdAsync(string bootstrap, CancellationToken cancellationToken)
    {
        using var client = await KafkaWireClient.ConnectAnyAsync(bootstrap, cancellationToken);
        var cluster = await client.SendAsync<DescribeClusterResponse>(new DescribeClusterRequest { EndpointType = 1 }, 1, cancellationToken);
        if (cluster.ErrorCode != 0)
        {
            throw new CommandException(cluster.ErrorMessage ?? ErrorCodes.DefaultMessage((ErrorCode)cluster.ErrorCode) ?? $"error {cluster.ErrorCode}");
        }
        return (await DescribeAsync(client, cancellationToken), cluster.ClusterId);
    }

    private static async Task<Quorum> DescribeAsync(KafkaWireClient client, CancellationToken cancellationToken)
    {
        var request = new DescribeQuorumRequest
        {
            Topics = [new DescribeQuorumRequest.TopicData { TopicName = TopicName.ClusterMetadata, Partitions = [new DescribeQuorumRequest.PartitionData { PartitionIndex = 0 }] }],
        };
        var response = await client.SendAsync<DescribeQuorumResponse>(request, 2, cancellationToken);
        var error = response.ErrorCode;
        var partition = response.Topics.FirstOrDefault()?.Partitions.FirstOrDefault();
        if (error == 0 && partition is not null)
        {
            error = partition.ErrorCode;
        }
        if (error != 0 || partition is null)
        {
            var message = (error != 0 ? partition?.ErrorMessage ?? response.ErrorMessage : null) ?? ErrorCodes.DefaultMessage((ErrorCode)error);
            throw new CommandException(message ?? $"error {error}");
        }
        return new Quorum(partition, response.Nodes);
    }

    private static void PrintStatus(Quorum quorum, string clusterId)
    {
        var partition = quorum.Partition;
        var leader = partition.CurrentVoters.First(v => v.ReplicaId == partition.LeaderId);
        var maxLagFollower = partition.CurrentVoters.MinBy(v => v.LogEndOffset)!;
        var maxFollowerLagTimeMs = ReferenceEquals(leader, maxLagFollower) ? 0
            : leader.LastCaughtUpTimestamp >= 0 && maxLagFollower.LastCaughtUpTimestamp >= 0 ? leader.LastCaughtUpTimestamp - maxLagFollower.LastCaughtUpTimestamp
            : -1;
        Console.WriteLine(
            $"ClusterId:              {clusterId}\n" +
            $"LeaderId:               {partition.LeaderId}\n" +
            $"LeaderEpoch:            {partition.LeaderEpoch}\n" +
            $"HighWatermark:          {partition.HighWatermark}\n" +
            $"MaxFollowerLag:         {leader.LogEndOffset - maxLagFollower.LogEndOffset}\n" +
            $"MaxFollowerLagTimeMs:   {maxFollowerLagTimeMs}\n" +
            $"CurrentVoters:          {Replicas(partition.CurrentVoters, quorum.Nodes)}\n" +
            $"CurrentObservers:       {Replicas(partition.Observers, quorum.Nodes)}");
    }

    /// <summary>Kafka's <c>[{"id": 1, "directoryId": "…", "endpoints": ["CONTROLLER://host:9093"]}, …]</c>.</summary>
    private static string Replicas(IReadOnlyList<DescribeQuorumResponse.ReplicaState> replicas, IReadOnlyList<DescribeQuorumResponse.Node> nodes)
    {
        var text = new StringBuilder("[");
        for (var i = 0; i < replicas.Count; i++)
        {
            var replica = replicas[i];
            text.Append(i == 0 ? "" : ", ").Append("{\"id\": ").Append(replica.ReplicaId.ToString(CultureInfo.InvariantCulture));
            if (replica.ReplicaDirectoryId != Uuid.Zero)
            {
                text.Append(", \"directoryId\": \"").Append(replica.ReplicaDirectoryId).Append('"');
            }
            var listeners = nodes.FirstOrDefault(n => n.NodeId == replica.ReplicaId)?.Listeners ?? [];
            if (listeners.Count > 0)
            {
                text.Append(", \"endpoints\": [")
                    .AppendJoin(", ", listeners.Select(l => $"\"{l.Name}://{(l.Host.Contains(':', StringComparison.Ordinal) ? $"[{l.Host}]" : l.Host)}:{l.Port}\""))
                    .Append(']');
            }
            text.Append('}');
        }
        return text.Append(']').ToString();
    }

    private static void PrintReplication(Quorum quorum, bool humanReadable)
    {
        var partition = quorum.Partition;
        var leader = partition.CurrentVoters.First(v => v.ReplicaId == partition.LeaderId);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        string Time(long timestamp, string what)
        {
            if (timestamp < 0)
            {
                return "-1";
            }
            if (!humanReadable)
            {
                return timestamp.ToString(CultureInfo.InvariantCulture);
            }
            if (timestamp <= 0 || timestamp > now)
            {
                throw new CommandException($"Error while computing relative time, possible drift in system clock.\nCurrent timestamp is {now}, {what} timestamp is {timestamp}");
            }
            return $"{now - timestamp} ms ago";
        }
        string[] Row(DescribeQuorumResponse.ReplicaState replica, string status) =>
        [
            replica.ReplicaId.ToString(CultureInfo.InvariantCulture),
            replica.ReplicaDirectoryId.ToString(),
            replica.LogEndOffset.ToString(CultureInfo.InvariantCulture),
            (leader.LogEndOffset - replica.LogEndOffset).ToString(CultureInfo.InvariantCulture),
            Time(replica.LastFetchTimestamp, "last fetch"),
            Time(replica.LastCaughtUpTimestamp, "last caught up"),
            status,
        ];
        var rows = new List<string[]> { Row(leader, "Leader") };
        rows.AddRange(partition.CurrentVoters.Where(v => v.ReplicaId != partition.LeaderId).Select(v => Row(v, "Follower")));
        rows.AddRange(partition.Observers.Select(o => Row(o, "Observer")));
        ToolsUtils.PrintTable(["NodeId", "DirectoryId", "LogEndOffset", "Lag", "LastFetchTimestamp", "LastCaughtUpTimestamp", "Status"], rows);
    }
}
