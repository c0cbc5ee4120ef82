using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Samsa.Protocol.Messages;

namespace Samsa.Cli;

/// <summary>
/// <c>samsa get-offsets</c> = <c>kafka-get-offsets.sh</c> (Kafka's <c>GetOffsetShell</c>): one <c>topic:partition:offset</c>
/// line per matching partition, sorted by <c>topic-partition</c> text as Kafka's <c>TreeMap</c> on
/// <c>TopicPartition.toString</c> sorts them. Partitions answering with no offset (-1) are left out; partitions
/// answering with an error are skipped with a line on stderr. Failures print <c>Error occurred: ...</c> and exit 1.
/// </summary>
internal sealed partial class GetOffsetsCommand
{
    private const string TimeHelp = "-1 or latest / -2 or earliest / -3 or max-timestamp / -4 or earliest-local / -5 or latest-tiered / -6 or earliest-pending-upload";

    private readonly Option<string> _bootstrapServer = new("--bootstrap-server") { Description = "REQUIRED. The server(s) to connect to in the form HOST1:PORT1,HOST2:PORT2." };
    private readonly Option<string> _topicPartitions = new("--topic-partitions") { Description = "Comma separated list of topic-partition patterns to get the offsets for, with the format of '([^:,]*)(?::(?:([0-9]*)|(?:([0-9]*)-([0-9]*))))?'. The first group is an optional regex for the topic name, if omitted, it matches any topic name. The section after ':' describes a 'partition' pattern, which can be: a number, a range in the format of 'NUMBER-NUMBER' (lower inclusive, upper exclusive), an inclusive lower bound in the format of 'NUMBER-', an exclusive upper bound in the format of '-NUMBER' or may be omitted to accept all partitions." };
    private readonly Option<string> _topic = new("--topic") { Description = "The topic to get the offsets for. It also accepts a regular expression. If not present, all authorized topics are queried. Cannot be used if --topic-partitions is present." };
    private readonly Option<string> _partitions = new("--partitions") { Description = "Comma separated list of partition ids to get the offsets for. If not present, all partitions of the authorized topics are queried. Cannot be used if --topic-partitions is present." };
    private readonly Option<string> _time = new("--time") { Description = $"timestamp of the offsets before that. [Note: No offset is returned, if the timestamp greater than recently committed record timestamp is given.] <timestamp> / {TimeHelp}", DefaultValueFactory = _ => "latest" };
    private readonly Option<string> _commandConfig = new("--command-config") { Description = "Property file containing configs to be passed to Admin Client." };
    private readonly Option<bool> _excludeInternalTopics = new("--exclude-internal-topics") { Description = "By default, internal topics are included. If specified, internal topics are excluded." };

    public Command Build()
    {
        var command = new Command("get-offsets", "An interactive shell for getting topic-partition offsets (kafka-get-offsets.sh).");
        foreach (var option in new Option[] { _bootstrapServer, _topicPartitions, _topic, _partitions, _time, _commandConfig, _excludeInternalTopics })
        {
            command.Add(option);
        }
        command.SetAction((result, ct) => CommandRunner.RunAsync(() => RunAsync(result), "Error occurred: ", errorsToStdout: false));
        return command;
    }

    private async Task RunAsync(ParseResult r)
    {
        var bootstrap = r.GetValue(_bootstrapServer) ?? throw new CommandException("Missing required argument \"[bootstrap-server]\"");
        if (bootstrap.Split(',').Any(h => !HostPort().IsMatch(h.Trim())))
        {
            throw new CommandException("Please provide valid host:port like host1:9091,host2:9092");
        }
        if (r.GetValue(_topicPartitions) is not null && (r.GetValue(_topic) is not null || r.GetValue(_partitions) is not null))
        {
            throw new CommandException("Error occurred: --topic-partitions cannot be used with --topic or --partitions");
        }
        var (spec, special) = ParseOffsetSpec(r.GetValue(_time)!);
        var filters = r.GetValue(_topicPartitions) is { } patterns
            ? patterns.Split(',').Select(ParseRule).ToList()
            : [new PartitionFilter(TopicRegex(r.GetValue(_topic) ?? ".*"), PartitionSet(r.GetValue(_partitions)))];

        var properties = r.GetValue(_commandConfig) is { } file ? ClientOptions.ReadFile(file) : new Dictionary<string, string>(StringComparer.Ordinal);
        properties["bootstrap.servers"] = bootstrap;
        properties["client.id"] = "GetOffsetShell";
        using var admin = ClientOptions.CreateAdmin(properties);
        var excludeInternal = r.GetValue(_excludeInternalTopics);
        var metadata = admin.GetMetadata(TimeSpan.FromSeconds(30));
        var partitions = metadata.Topics
            .Where(t => !t.Error.IsError && !(excludeInternal && Samsa.Metadata.TopicName.IsInternal(t.Topic)))
            .Where(t => filters.Any(f => f.Topic.IsMatch(t.Topic)))
            .SelectMany(t => t.Partitions.Select(p => new TopicPartition(t.Topic, p.PartitionId)))
            .Where(tp => filters.Any(f => f.Topic.IsMatch(tp.Topic) && f.Partition(tp.Partition.Value)))
            .ToList();
        if (partitions.Count == 0)
        {
            throw new CommandException("Error occurred: Could not match any topic-partitions with the specified filters");
        }
        var results = spec is { } confluentSpec
            ? await ListOffsetsAsync(admin, partitions, confluentSpec)
            : await ListOffsetsOnTheWireAsync(metadata, partitions, special);
        var offsets = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (partition, error, offset) in results)
        {
            var name = $"{partition.Topic}-{partition.Partition.Value}";
            if (error is not null)
            {
                Console.Error.WriteLine($"Skip getting offsets for topic-partition {name} due to error: {error}");
            }
            else if (offset != -1)
            {
                offsets[name] = $"{partition.Topic}:{partition.Partition.Value}:{offset}";
            }
        }
        foreach (var line in offsets.Values)
        {
            Console.WriteLine(line);
        }
    }

    /// <summary>
    /// Kafka's <c>parseOffsetSpec</c>: a name or a number; -1..-3 and timestamps go through the AdminClient, while
    /// -4 (earliest-local), -5 (latest-tiered) and -6 (earliest-pending-upload), which librdkafka refuses as offsets,
    /// are sent as ListOffsets timestamps on the wire.
    /// </summary>
    internal static (OffsetSpec? Spec, long Special) ParseOffsetSpec(string time) => time switch
    {
        "earliest" or "-2" => (OffsetSpec.Earliest(), 0),
        "latest" or "-1" => (OffsetSpec.Latest(), 0),
        "max-timestamp" or "-3" => (OffsetSpec.MaxTimestamp(), 0),
        "earliest-local" or "-4" => (null, -4),
        "latest-tiered" or "-5" => (null, -5),
        "earliest-pending-upload" or "-6" => (null, -6),
        _ when long.TryParse(time, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var timestamp) => (OffsetSpec.ForTimestamp(timestamp), 0),
        _ => throw new CommandException($"Error occurred: Malformed time argument {time}. Please use {TimeHelp}, or a specified long format timestamp"),
    };

    private static async Task<List<(TopicPartition Partition, string? Error, long Offset)>> ListOffsetsAsync(IAdminClient admin, List<TopicPartition> partitions, OffsetSpec spec)
    {
        List<ListOffsetsResultInfo> infos;
        try
        {
            infos = (await admin.ListOffsetsAsync(partitions.Select(tp => new TopicPartitionOffsetSpec { TopicPartition = tp, OffsetSpec = spec }), new ListOffsetsOptions { RequestTimeout = TimeSpan.FromSeconds(30) })).ResultInfos;
        }
        catch (ListOffsetsException e)
        {
            infos = e.Result.ResultInfos;
        }
        return infos.Select(i => (i.TopicPartitionOffsetError.TopicPartition, i.TopicPartitionOffsetError.Error.IsError ? i.TopicPartitionOffsetError.Error.Reason : null, i.TopicPartitionOffsetError.Offset.Value)).ToList();
    }

    /// <summary>
    /// ListOffsets sent to each partition's leader with <see cref="KafkaWireClient"/> (plaintext only), at the first
    /// version that defines the special timestamp: v8 for -4, v9 for -5, the newest we have for -6.
    /// </summary>
    private static async Task<List<(TopicPartition Partition, string? Error, long Offset)>> ListOffsetsOnTheWireAsync(Confluent.Kafka.Metadata metadata, List<TopicPartition> partitions, long timestamp)
    {
        short version = timestamp switch { -4 => 8, -5 => 9, _ => ListOffsetsRequest.HighestVersion };
        var leaders = metadata.Topics.SelectMany(t => t.Partitions.Select(p => (Key: new TopicPartition(t.Topic, p.PartitionId), p.Leader))).ToDictionary(x => x.Key, x => x.Leader);
        var results = new List<(TopicPartition, string?, long)>();
        foreach (var group in partitions.GroupBy(tp => leaders[tp]))
        {
            var broker = metadata.Brokers.FirstOrDefault(b => b.BrokerId == group.Key);
            if (broker is null)
            {
                results.AddRange(group.Select(tp => (tp, (string?)"There is no leader for this topic-partition as we are in the middle of a leadership election.", -1L)));
                continue;
            }
            using var client = await KafkaWireClient.ConnectAsync(broker.Host, broker.Port, CancellationToken.None);
            var request = new ListOffsetsRequest
            {
                ReplicaId = -1,
                Topics = [.. group.GroupBy(tp => tp.Topic).Select(t => new ListOffsetsRequest.ListOffsetsTopic
                {
                    Name = t.Key,
                    Partitions = [.. t.Select(tp => new ListOffsetsRequest.ListOffsetsPartition { PartitionIndex = tp.Partition.Value, Timestamp = timestamp })],
                })],
            };
            var response = await client.SendAsync<ListOffsetsResponse>(request, version, CancellationToken.None);
            foreach (var topic in response.Topics)
            {
                foreach (var p in topic.Partitions)
                {
                    var error = p.ErrorCode == 0 ? null : Samsa.Protocol.ErrorCodes.DefaultMessage((Samsa.Protocol.ErrorCode)p.ErrorCode) ?? ((Samsa.Protocol.ErrorCode)p.ErrorCode).ToString();
                    results.Add((new TopicPartition(topic.Name, p.PartitionIndex), error, p.Offset));
                }
            }
        }
        return results;
    }

    private sealed record PartitionFilter(Regex Topic, Func<int, bool> Partition);

    /// <summary>
    /// One <c>--topic-partitions</c> rule, Kafka's <c>TOPIC_PARTITION_PATTERN</c>: <c>topic-regex[:N | :N-M | :N- | :-M]</c>,
    /// a range being lower inclusive and upper exclusive.
    /// </summary>
    private static PartitionFilter ParseRule(string rule)
    {
        var match = RulePattern().Match(rule);
        if (!match.Success)
        {
            throw new CommandException($"Error occurred: Invalid rule specification: {rule}");
        }
        string? Group(int g) => match.Groups[g].Success && match.Groups[g].Value.Length > 0 ? match.Groups[g].Value : null;
        var topic = TopicRegex(Group(1) ?? ".*");
        if (Group(2) is { } single)
        {
            var id = int.Parse(single, CultureInfo.InvariantCulture);
            return new(topic, p => p == id);
        }
        var low = Group(3) is { } l ? int.Parse(l, CultureInfo.InvariantCulture) : 0;
        var high = Group(4) is { } h ? int.Parse(h, CultureInfo.InvariantCulture) : int.MaxValue;
        return new(topic, p => p >= low && p < high);
    }

    /// <summary>Kafka's <c>TopicFilter.IncludeList</c>: commas mean alternatives, quotes and spaces are dropped, the whole name must match.</summary>
    private static Regex TopicRegex(string raw)
    {
        var regex = raw.Trim().Replace(',', '|').Replace(" ", "", StringComparison.Ordinal).TrimStart('"', '\'').TrimEnd('"', '\'');
        try
        {
            return new Regex($"^(?:{regex})$", RegexOptions.CultureInvariant);
        }
        catch (ArgumentException)
        {
            throw new CommandException($"Error occurred: {regex} is an invalid regex.");
        }
    }

    private static Func<int, bool> PartitionSet(string? partitions)
    {
        if (string.IsNullOrEmpty(partitions))
        {
            return _ => true;
        }
        try
        {
            var set = partitions.Split(',').Select(p => int.Parse(p, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture)).ToHashSet();
            return set.Contains;
        }
        catch (FormatException)
        {
            throw new CommandException($"Error occurred: --partitions expects a comma separated list of numeric partition ids, but received: {partitions}");
        }
    }

    [GeneratedRegex(@"^([^:,]*)(?::(?:([0-9]*)|(?:([0-9]*)-([0-9]*))))?$")]
    private static partial Regex RulePattern();

    [GeneratedRegex(@"^.+:[0-9]+$")]
    private static partial Regex HostPort();
}
