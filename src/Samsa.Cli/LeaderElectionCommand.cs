using System.CommandLine;
using System.Text.Json;
using Samsa.Protocol.Messages;
using ErrorCode = Samsa.Protocol.ErrorCode;

namespace Samsa.Cli;

/// <summary>
/// <c>samsa leader-election</c> = <c>kafka-leader-election.sh</c> (Kafka 4.0's <c>LeaderElectionCommand</c>): an
/// ElectLeaders request (PREFERRED or UNCLEAN) for one partition (<c>--topic</c>/<c>--partition</c>), the partitions
/// of a JSON file (<c>--path-to-json-file</c>) or every partition (<c>--all-topic-partitions</c>), sent to the
/// bootstrap server, which forwards it to the active controller. It prints Kafka's lines, partitions in the order of
/// Kafka's <c>HashSet&lt;TopicPartition&gt;</c>: <c>Successfully completed leader election (PREFERRED) for partitions
/// t-0, t-1</c>, <c>Valid replica already elected for partitions t-2</c> and, per failure, <c>Error completing leader
/// election (PREFERRED) for partition: t-3: org.apache.kafka.common.errors.X: message</c>, then
/// <c>N replica(s) could not be elected</c> on stderr and exit code 1.
/// </summary>
internal sealed class LeaderElectionCommand
{
    private readonly Option<string> _bootstrapServer = new("--bootstrap-server")
    {
        Description = "A hostname and port for the broker to connect to, in the form host:port. Multiple comma separated URLs can be given. REQUIRED.",
    };

    private readonly Option<string> _adminConfig = new("--admin.config") { Description = "Configuration properties files to pass to the admin client" };
    private readonly Option<string> _pathToJsonFile = new("--path-to-json-file")
    {
        Description = "The JSON file with the list  of partition for which leader elections should be performed. Not allowed if --all-topic-partitions or --topic flags are specified.",
    };

    private readonly Option<string> _topic = new("--topic")
    {
        Description = "Name of topic for which to perform an election. Not allowed if --path-to-json-file or --all-topic-partitions is specified.",
    };

    private readonly Option<int?> _partition = new("--partition") { Description = "Partition id for which to perform an election. REQUIRED if --topic is specified." };
    private readonly Option<bool> _allTopicPartitions = new("--all-topic-partitions")
    {
        Description = "Perform election on all of the eligible topic partitions based on the type of election (see the --election-type flag). Not allowed if --topic or --path-to-json-file is specified.",
    };

    private readonly Option<string> _electionType = new("--election-type")
    {
        Description = "Type of election to attempt. Possible values are \"preferred\" for preferred leader election or \"unclean\" for unclean leader election. REQUIRED.",
    };

    public Command Build()
    {
        var command = new Command("leader-election", "This tool attempts to elect a new leader for a set of topic partitions. The type of elections supported are preferred replicas and unclean replicas.");
        command.Add(_bootstrapServer);
        command.Add(_adminConfig);
        command.Add(_pathToJsonFile);
        command.Add(_topic);
        command.Add(_partition);
        command.Add(_allTopicPartitions);
        command.Add(_electionType);
        command.SetAction((result, ct) => CommandRunner.RunAsync(() => RunAsync(result, ct), "", errorsToStdout: false));
        return command;
    }

    private async Task RunAsync(ParseResult r, CancellationToken cancellationToken)
    {
        var (type, partitions) = Validate(r);
        var properties = r.GetValue(_adminConfig) is { } file ? ClientOptions.ReadFile(file) : new Dictionary<string, string>(StringComparer.Ordinal);
        properties["bootstrap.servers"] = r.GetValue(_bootstrapServer)!;
        using var client = await KafkaWireClient.ConnectAnyAsync(properties["bootstrap.servers"], cancellationToken);
        var request = new ElectLeadersRequest
        {
            ElectionType = type == "PREFERRED" ? (sbyte)0 : (sbyte)1,
            TimeoutMs = 30_000,
            TopicPartitions = partitions?.GroupBy(p => p.Topic).Select(g => new ElectLeadersRequest.TopicPartitionsData { Topic = g.Key, Partitions = [.. g.Select(p => p.Partition)] }).ToList(),
        };
        var response = await client.SendAsync<ElectLeadersResponse>(request, 2, cancellationToken);
        if (response.ErrorCode != 0)
        {
            // The admin client fails the whole call with the top-level error.
            throw new CommandException($"{JavaException((ErrorCode)response.ErrorCode)}: {Protocol.ErrorCodes.DefaultMessage((ErrorCode)response.ErrorCode)}");
        }
        var results = response.ReplicaElectionResults
            .SelectMany(t => t.PartitionResult.Select(p => (Topic: t.Topic, p.PartitionId, Error: (ErrorCode)p.ErrorCode, p.ErrorMessage)))
            .ToList();
        var succeeded = results.Where(p => p.Error == ErrorCode.None).ToList();
        var noop = results.Where(p => p.Error == ErrorCode.ElectionNotNeeded).ToList();
        var failed = results.Where(p => p.Error is not (ErrorCode.None or ErrorCode.ElectionNotNeeded)).ToList();
        if (succeeded.Count > 0)
        {
            Console.WriteLine($"Successfully completed leader election ({type}) for partitions {Names(succeeded)}");
        }
        if (noop.Count > 0)
        {
            Console.WriteLine($"Valid replica already elected for partitions {Names(noop)}");
        }
        if (failed.Count > 0)
        {
            foreach (var (topic, partition, error, message) in JavaHashOrder.OrderByTopicPartition(failed, p => (p.Topic, p.PartitionId)))
            {
                Console.WriteLine($"Error completing leader election ({type}) for partition: {topic}-{partition}: {JavaException(error)}: {message ?? Protocol.ErrorCodes.DefaultMessage(error)}");
            }
            throw new CommandException($"{failed.Count} replica(s) could not be elected");
        }
    }

    private static string Names(List<(string Topic, int PartitionId, ErrorCode Error, string? ErrorMessage)> partitions) =>
        string.Join(", ", JavaHashOrder.OrderByTopicPartition(partitions, p => (p.Topic, p.PartitionId)).Select(p => $"{p.Topic}-{p.PartitionId}"));

    /// <summary>Kafka's <c>LeaderElectionCommandOptions.validate</c>, in its order and words; the election type and partitions (null: all).</summary>
    private (string Type, List<(string Topic, int Partition)>? Partitions) Validate(ParseResult r)
    {
        var missing = new List<string>();
        if (r.GetValue(_bootstrapServer) is null)
        {
            missing.Add("bootstrap-server");
        }
        if (r.GetValue(_electionType) is null)
        {
            missing.Add("election-type");
        }
        if (missing.Count > 0)
        {
            throw new CommandException("Missing required option(s): " + string.Join(", ", missing));
        }
        var type = r.GetValue(_electionType)!.ToUpperInvariant();
        if (type is not ("PREFERRED" or "UNCLEAN"))
        {
            throw new CommandException($"Cannot parse argument '{r.GetValue(_electionType)}' of option election-type");
        }
        var topic = r.GetValue(_topic);
        var json = r.GetValue(_pathToJsonFile);
        var chosen = (topic is not null ? 1 : 0) + (r.GetValue(_allTopicPartitions) ? 1 : 0) + (json is not null ? 1 : 0);
        if (chosen != 1)
        {
            throw new CommandException("One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file");
        }
        var partition = r.GetValue(_partition);
        if (topic is not null && partition is null)
        {
            throw new CommandException("Missing required option(s): partition");
        }
        if (topic is null && partition is not null)
        {
            throw new CommandException("Option partition is only allowed if topic is used");
        }
        return topic is not null ? (type, [(topic, partition!.Value)])
            : json is not null ? (type, ParseJson(File.ReadAllText(json)))
            : (type, null);
    }

    /// <summary><c>{"partitions": [{"topic": "foo", "partition": 1}]}</c>, refusing duplicates as Kafka does.</summary>
    internal static List<(string Topic, int Partition)> ParseJson(string text)
    {
        List<(string Topic, int Partition)> partitions = [];
        try
        {
            using var document = JsonDocument.Parse(text);
            if (!document.RootElement.TryGetProperty("partitions", out var list))
            {
                throw new CommandException("Replica election data is missing \"partitions\" field");
            }
            foreach (var p in list.EnumerateArray())
            {
                partitions.Add((p.GetProperty("topic").GetString()!, p.GetProperty("partition").GetInt32()));
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new CommandException(e.Message);
        }
        var duplicates = partitions.GroupBy(p => p).Where(g => g.Count() > 1).Select(g => $"{g.Key.Topic}-{g.Key.Partition}").ToList();
        return duplicates.Count == 0 ? partitions : throw new CommandException($"Replica election data contains duplicate partitions: [{string.Join(", ", duplicates)}]");
    }

    private static string JavaException(ErrorCode code) => "org.apache.kafka.common.errors." + code switch
    {
        ErrorCode.UnknownTopicOrPartition => "UnknownTopicOrPartitionException",
        ErrorCode.PreferredLeaderNotAvailable => "PreferredLeaderNotAvailableException",
        ErrorCode.EligibleLeadersNotAvailable => "EligibleLeadersNotAvailableException",
        ErrorCode.ElectionNotNeeded => "ElectionNotNeededException",
        ErrorCode.InvalidRequest => "InvalidRequestException",
        ErrorCode.NotController => "NotControllerException",
        ErrorCode.ClusterAuthorizationFailed => "ClusterAuthorizationException",
        ErrorCode.RequestTimedOut => "TimeoutException",
        _ => "UnknownServerException",
    };
}
