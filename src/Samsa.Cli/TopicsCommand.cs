using System.CommandLine;
using System.Text.RegularExpressions;
using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Samsa.Cli;

/// <summary>
/// <c>samsa topics</c> = <c>kafka-topics.sh</c> (Kafka 4.0's <c>TopicCommand</c>): create, list, describe, alter
/// (partitions) and delete topics, with Kafka's flags and output. Errors from the cluster print
/// <c>Error while executing topic command : &lt;message&gt;</c> on stdout; argument errors one line on stderr;
/// both exit 1.
/// </summary>
internal sealed class TopicsCommand
{
    private readonly ClientOptions _client = new();
    private readonly Option<bool> _create = new("--create") { Description = "Create a new topic." };
    private readonly Option<bool> _list = new("--list") { Description = "List all available topics." };
    private readonly Option<bool> _describe = new("--describe") { Description = "List details for the given topics." };
    private readonly Option<bool> _alter = new("--alter") { Description = "Alter the number of partitions and replica assignment." };
    private readonly Option<bool> _delete = new("--delete") { Description = "Delete a topic." };
    private readonly Option<string> _topic = new("--topic") { Description = "The topic to create, alter, describe or delete. Also accepts a regular expression, except for --create." };
    private readonly Option<int?> _partitions = new("--partitions") { Description = "The number of partitions for the topic being created or altered." };
    private readonly Option<int?> _replicationFactor = new("--replication-factor") { Description = "The replication factor for each partition in the topic being created." };
    private readonly Option<string> _replicaAssignment = new("--replica-assignment") { Description = "A list of manual partition-to-broker assignments: broker_id_for_part1_replica1:broker_id_for_part1_replica2,..." };
    private readonly Option<string[]> _config = new("--config") { Description = "A topic configuration override for the topic being created (key=value, repeatable)." };
    private readonly Option<bool> _ifNotExists = new("--if-not-exists") { Description = "If set when creating topics, the action will only execute if the topic does not already exist." };
    private readonly Option<bool> _ifExists = new("--if-exists") { Description = "If set when altering, deleting or describing topics, the action will only execute if the topic exists." };
    private readonly Option<bool> _excludeInternal = new("--exclude-internal") { Description = "Exclude internal topics when running list or describe command." };
    private readonly Option<bool> _underReplicated = new("--under-replicated-partitions") { Description = "If set when describing topics, only show under replicated partitions." };
    private readonly Option<bool> _unavailable = new("--unavailable-partitions") { Description = "If set when describing topics, only show partitions whose leader is not available." };
    private readonly Option<bool> _topicsWithOverrides = new("--topics-with-overrides") { Description = "If set when describing topics, only show topics that have overridden configs." };

    public Command Build()
    {
        var command = new Command("topics", "Create, delete, describe, or change a topic (kafka-topics.sh).");
        _client.AddTo(command);
        foreach (var option in new Option[] { _create, _list, _describe, _alter, _delete, _topic, _partitions, _replicationFactor, _replicaAssignment, _config,
            _ifNotExists, _ifExists, _excludeInternal, _underReplicated, _unavailable, _topicsWithOverrides })
        {
            command.Add(option);
        }
        command.SetAction((result, ct) => CommandRunner.RunAsync(() => RunAsync(result), "Error while executing topic command : ", errorsToStdout: true));
        return command;
    }

    private async Task RunAsync(ParseResult r)
    {
        var actions = new[] { _create, _list, _describe, _alter, _delete }.Count(o => r.GetValue(o));
        if (actions != 1)
        {
            throw new CommandException("Command must include exactly one action: --list, --describe, --create, --alter or --delete");
        }
        using var admin = _client.CreateAdmin(r);
        if (r.GetValue(_create))
        {
            await CreateAsync(admin, r);
        }
        else if (r.GetValue(_list))
        {
            foreach (var name in Topics(admin, r))
            {
                Console.WriteLine(name);
            }
        }
        else if (r.GetValue(_describe))
        {
            await DescribeAsync(admin, r);
        }
        else if (r.GetValue(_alter))
        {
            await AlterAsync(admin, r);
        }
        else
        {
            var topics = Topics(admin, r);
            EnsureExists(topics, r);
            if (topics.Count > 0)
            {
                await admin.DeleteTopicsAsync(topics);
            }
        }
    }

    private async Task CreateAsync(IAdminClient admin, ParseResult r)
    {
        var name = r.GetValue(_topic) ?? throw new CommandException("Missing required argument \"[topic]\"");
        var partitions = r.GetValue(_partitions);
        var replicationFactor = r.GetValue(_replicationFactor);
        if (replicationFactor is < 1 or > short.MaxValue)
        {
            throw new CommandException($"The replication factor must be between 1 and {short.MaxValue} inclusive");
        }
        if (partitions is < 1)
        {
            throw new CommandException("The partitions must be greater than 0");
        }
        if (Samsa.Metadata.TopicName.HasCollisionChars(name))
        {
            Console.WriteLine("WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.");
        }
        var spec = new TopicSpecification
        {
            Name = name,
            NumPartitions = partitions ?? -1,
            ReplicationFactor = (short)(replicationFactor ?? -1),
            Configs = CommandRunner.ParsePairs(r.GetValue(_config) ?? [], splitCommas: false).ToDictionary(p => p.Key, p => p.Value),
        };
        if (r.GetValue(_replicaAssignment) is { } assignment)
        {
            spec.ReplicasAssignments = ParseAssignment(assignment);
            // librdkafka refuses a replica assignment beside the "default" (-1) partition count: give it the
            // assignment's count.
            spec.NumPartitions = spec.ReplicasAssignments.Count;
            spec.ReplicationFactor = -1;
        }
        try
        {
            await admin.CreateTopicsAsync([spec], new CreateTopicsOptions { RequestTimeout = TimeSpan.FromSeconds(30) });
            Console.WriteLine($"Created topic {name}.");
        }
        catch (CreateTopicsException e) when (e.Results.Count > 0)
        {
            var error = e.Results[0].Error;
            if (error.Code == ErrorCode.TopicAlreadyExists && r.GetValue(_ifNotExists))
            {
                return;
            }
            throw new KafkaException(error);
        }
    }

    private static Dictionary<int, List<int>> ParseAssignment(string text)
    {
        var result = new Dictionary<int, List<int>>();
        var parts = text.Split(',');
        for (var i = 0; i < parts.Length; i++)
        {
            var brokers = parts[i].Split(':').Select(b => int.Parse(b.Trim(), System.Globalization.CultureInfo.InvariantCulture)).ToList();
            if (brokers.Distinct().Count() != brokers.Count)
            {
                throw new CommandException("Partition replica lists may not contain duplicate entries: " + string.Join(",", brokers.GroupBy(b => b).Where(g => g.Count() > 1).Select(g => g.Key)));
            }
            if (i > 0 && brokers.Count != result[0].Count)
            {
                throw new CommandException($"Partition {i} has different replication factor: [{string.Join(", ", brokers)}]");
            }
            result[i] = brokers;
        }
        return result;
    }

    private async Task AlterAsync(IAdminClient admin, ParseResult r)
    {
        var topics = Topics(admin, r);
        EnsureExists(topics, r);
        if (r.GetValue(_partitions) is not { } count)
        {
            throw new CommandException("--partitions is required when altering a topic");
        }
        if (topics.Count > 0)
        {
            await admin.CreatePartitionsAsync(topics.Select(t => new PartitionsSpecification { Topic = t, IncreaseTo = count }));
        }
    }

    private async Task DescribeAsync(IAdminClient admin, ParseResult r)
    {
        var topics = Topics(admin, r);
        EnsureExists(topics, r);
        if (topics.Count == 0)
        {
            return;
        }
        var described = await admin.DescribeTopicsAsync(TopicCollection.OfTopicNames(topics));
        var configs = await admin.DescribeConfigsAsync(topics.Select(t => new ConfigResource { Type = ResourceType.Topic, Name = t }));
        var underReplicated = r.GetValue(_underReplicated);
        var unavailable = r.GetValue(_unavailable);
        var onlyOverrides = r.GetValue(_topicsWithOverrides);
        var describeConfigs = !underReplicated && !unavailable;
        foreach (var topic in described.TopicDescriptions.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            var entries = configs.First(c => c.ConfigResource.Name == topic.Name).Entries.Values.ToList();
            var overrides = JavaHashOrder.Order(entries, e => e.Name).Where(e => !e.IsDefault).Select(e => $"{e.Name}={e.Value}").ToList();
            var partitions = topic.Partitions.OrderBy(p => p.Partition).ToList();
            if (describeConfigs && (!onlyOverrides || overrides.Count > 0))
            {
                var id = topic.TopicId.MostSignificantBits == 0 && topic.TopicId.LeastSignificantBits == 0 ? "" : $"\tTopicId: {JavaUuid(topic.TopicId)}";
                Console.WriteLine($"Topic: {topic.Name}{id}\tPartitionCount: {partitions.Count}\tReplicationFactor: {partitions.FirstOrDefault()?.Replicas.Count ?? 0}\tConfigs: {string.Join(",", overrides)}");
            }
            if (onlyOverrides)
            {
                continue;
            }
            foreach (var p in partitions)
            {
                var isUnder = p.ISR.Count < p.Replicas.Count;
                var noLeader = p.Leader is null;
                if (!describeConfigs && !(underReplicated && isUnder) && !(unavailable && noLeader))
                {
                    continue;
                }
                // Confluent's admin client does not return eligible leader replicas; Samsa never has any (no ELR yet).
                Console.WriteLine($"\tTopic: {topic.Name}\tPartition: {p.Partition}\tLeader: {(noLeader ? "none" : p.Leader!.Id)}\tReplicas: {string.Join(",", p.Replicas.Select(n => n.Id))}\tIsr: {string.Join(",", p.ISR.Select(n => n.Id))}\tElr: \tLastKnownElr: ");
            }
        }
    }

    /// <summary>Java's <c>Uuid.toString</c>: URL-safe base64 without padding (Confluent's prints standard base64).</summary>
    private static string JavaUuid(Confluent.Kafka.Uuid id) =>
        new Samsa.Protocol.Uuid(id.MostSignificantBits, id.LeastSignificantBits).ToString();

    /// <summary>Topics matching --topic (a regular expression, commas as alternation, as Kafka's IncludeList), sorted.</summary>
    private List<string> Topics(IAdminClient admin, ParseResult r)
    {
        var metadata = admin.GetMetadata(TimeSpan.FromSeconds(30));
        var excludeInternal = r.GetValue(_excludeInternal);
        var pattern = r.GetValue(_topic) is { } t ? new Regex("^(?:" + t.Trim().Trim('"', '\'').Replace(",", "|", StringComparison.Ordinal) + ")$", RegexOptions.CultureInvariant) : null;
        return metadata.Topics.Where(m => m.Error.Code == ErrorCode.NoError)
            .Select(m => m.Topic)
            .Where(name => !(excludeInternal && Samsa.Metadata.TopicName.IsInternal(name)))
            .Where(name => pattern is null || pattern.IsMatch(name))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    private void EnsureExists(List<string> found, ParseResult r)
    {
        if (r.GetValue(_topic) is { Length: > 0 } topic && !r.GetValue(_ifExists) && found.Count == 0)
        {
            throw new CommandException($"Topic '{topic}' does not exist as expected");
        }
    }
}
