using System.CommandLine;
using System.Text.Json;
using Confluent.Kafka;

namespace Samsa.Cli;

/// <summary>
/// <c>samsa verifiable-consumer</c> = <c>kafka-verifiable-consumer.sh</c>: subscribes to one topic in a consumer
/// group and prints Kafka's JSON events: <c>startup_complete</c>, <c>partitions_assigned</c> /
/// <c>partitions_revoked</c> on every rebalance, one <c>records_consumed</c> per poll (count, then per partition
/// count, minOffset, maxOffset), <c>record_data</c> per record with <c>--verbose</c>, <c>offsets_committed</c> after
/// each synchronous commit when auto-commit is off, and <c>shutdown_complete</c> after the consumer closed, on
/// reaching <c>--max-messages</c> or on SIGINT/SIGTERM.
/// </summary>
/// <remarks>
/// Kafka's poll returns a batch; librdkafka hands out one message at a time, so a "poll" here is the messages
/// already fetched (up to <c>max.poll.records</c>, 500) taken without waiting after the first one arrives.
/// </remarks>
internal sealed class VerifiableConsumerCommand
{
    private const int MaxPollRecords = 500;

    private readonly Option<string> _bootstrap = new("--bootstrap-server") { Description = "REQUIRED unless --broker-list(deprecated) is specified. The server(s) to connect to. Comma-separated list of Kafka brokers in the form HOST1:PORT1,HOST2:PORT2,..." };
    private readonly Option<string> _brokerList = new("--broker-list") { Description = "DEPRECATED, use --bootstrap-server instead; ignored if --bootstrap-server is specified." };
    private readonly Option<string> _topic = new("--topic") { Description = "Consumes messages from this topic." };
    private readonly Option<string> _groupProtocol = new("--group-protocol") { Description = "Group protocol (must be one of CLASSIC, CONSUMER)", DefaultValueFactory = _ => "classic" };
    private readonly Option<string?> _groupRemoteAssignor = new("--group-remote-assignor") { Description = "Group remote assignor; only used if the group protocol is CONSUMER" };
    private readonly Option<string> _groupId = new("--group-id") { Description = "The groupId shared among members of the consumer group" };
    private readonly Option<string?> _groupInstanceId = new("--group-instance-id") { Description = "A unique identifier of the consumer instance" };
    private readonly Option<int> _maxMessages = new("--max-messages") { Description = "Consume this many messages. If -1 (the default), the consumer will consume until the process is killed externally", DefaultValueFactory = _ => -1 };
    private readonly Option<int> _sessionTimeout = new("--session-timeout") { Description = "Set the consumer's session timeout", DefaultValueFactory = _ => 30000 };
    private readonly Option<bool> _verbose = new("--verbose") { Description = "Enable to log individual consumed records" };
    private readonly Option<bool> _autoCommit = new("--enable-autocommit") { Description = "Enable offset auto-commit on consumer" };
    private readonly Option<string> _resetPolicy = new("--reset-policy") { Description = "Set reset policy (must be either 'earliest', 'latest', or 'none'", DefaultValueFactory = _ => "earliest" };
    private readonly Option<string> _assignmentStrategy = new("--assignment-strategy") { Description = "Set assignment strategy (e.g. org.apache.kafka.clients.consumer.RoundRobinAssignor); only used if the group protocol is CLASSIC", DefaultValueFactory = _ => "org.apache.kafka.clients.consumer.RangeAssignor" };
    private readonly Option<string> _consumerConfig = new("--consumer.config") { Description = "Consumer config properties file (config options shared with command line parameters will be overridden)." };

    public Command Build()
    {
        var command = new Command("verifiable-consumer", "This tool consumes messages from a specific topic and emits consumer events (e.g. group rebalances, received messages, and offsets committed) as JSON objects to STDOUT.");
        foreach (var option in new Option[] { _bootstrap, _brokerList, _topic, _groupProtocol, _groupRemoteAssignor, _groupId, _groupInstanceId, _maxMessages, _sessionTimeout, _verbose, _autoCommit, _resetPolicy, _assignmentStrategy, _consumerConfig })
        {
            command.Add(option);
        }
        command.SetAction((result, ct) => CommandRunner.RunAsync(() => RunAsync(result, ct), "ERROR ", errorsToStdout: false));
        return command;
    }

    /// <summary>Kafka's assignor class names (or librdkafka's names) as librdkafka's <c>partition.assignment.strategy</c>.</summary>
    internal static string AssignmentStrategy(string value) => string.Join(",", value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(name => name switch
    {
        "org.apache.kafka.clients.consumer.RangeAssignor" or "range" => "range",
        "org.apache.kafka.clients.consumer.RoundRobinAssignor" or "roundrobin" => "roundrobin",
        "org.apache.kafka.clients.consumer.CooperativeStickyAssignor" or "cooperative-sticky" => "cooperative-sticky",
        _ => throw new CommandException($"Class {name} cannot be found"),
    }));

    private Task RunAsync(ParseResult r, CancellationToken cancellation)
    {
        var topic = r.GetValue(_topic) ?? throw new CommandException("argument --topic is required");
        var groupId = r.GetValue(_groupId) ?? throw new CommandException("argument --group-id is required");
        var properties = ClientProperties.Build(r.GetValue(_consumerConfig), [], r.GetValue(_bootstrap) ?? r.GetValue(_brokerList));
        var protocol = r.GetValue(_groupProtocol)!;
        if (protocol.Equals("consumer", StringComparison.OrdinalIgnoreCase))
        {
            properties["group.protocol"] = "consumer";
            if (r.GetValue(_groupRemoteAssignor) is { } remote)
            {
                properties["group.remote.assignor"] = remote;
            }
        }
        else if (protocol.Equals("classic", StringComparison.OrdinalIgnoreCase))
        {
            properties["partition.assignment.strategy"] = AssignmentStrategy(r.GetValue(_assignmentStrategy)!);
            // librdkafka refuses session.timeout.ms under the consumer protocol (the broker owns it there).
            properties["session.timeout.ms"] = r.GetValue(_sessionTimeout).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        else
        {
            throw new CommandException($"Invalid value {protocol} for configuration group.protocol: String must be one of: CLASSIC, CONSUMER");
        }
        properties["group.id"] = groupId;
        if (r.GetValue(_groupInstanceId) is { } instance)
        {
            properties["group.instance.id"] = instance;
        }
        var autoCommit = r.GetValue(_autoCommit);
        properties["enable.auto.commit"] = autoCommit ? "true" : "false";
        properties["auto.offset.reset"] = r.GetValue(_resetPolicy) switch
        {
            "earliest" => "earliest",
            "latest" => "latest",
            "none" => "error",
            var other => throw new CommandException($"Invalid value {other} for configuration auto.offset.reset: Invalid value `{other}` for configuration auto.offset.reset. The value must be either 'earliest', 'latest', 'none' or of the format 'by_duration:<PnDTnHnMn.nS.>'."),
        };
        var maxMessages = r.GetValue(_maxMessages);
        var verbose = r.GetValue(_verbose);

        NativeLibrdkafka.EnsureLoaded();
        var events = new VerifiableEvents();
        using var stop = new StopSignals(cancellation);
        var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig(properties))
            .SetLogHandler((_, _) => { })
            .SetPartitionsAssignedHandler((_, partitions) => events.Emit("partitions_assigned", json => WritePartitions(json, partitions)))
            .SetPartitionsRevokedHandler((_, partitions) => events.Emit("partitions_revoked", json => WritePartitions(json, partitions.Select(p => p.TopicPartition))))
            // Kafka's default onPartitionsLost calls onPartitionsRevoked.
            .SetPartitionsLostHandler((_, partitions) => events.Emit("partitions_revoked", json => WritePartitions(json, partitions.Select(p => p.TopicPartition))))
            .Build();
        var consumed = 0L;
        try
        {
            events.Emit("startup_complete");
            consumer.Subscribe(topic);
            var batch = new List<ConsumeResult<byte[]?, byte[]?>>(MaxPollRecords);
            while (!stop.IsStopRequested && (maxMessages < 0 || consumed < maxMessages))
            {
                batch.Clear();
                if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is not { } first)
                {
                    continue;
                }
                batch.Add(first);
                while (batch.Count < MaxPollRecords && consumer.Consume(TimeSpan.Zero) is { } next)
                {
                    batch.Add(next);
                }
                var offsets = OnRecords(batch, events, maxMessages, verbose, ref consumed);
                if (!autoCommit)
                {
                    CommitSync(consumer, offsets, events);
                }
            }
        }
        catch (ConsumeException e)
        {
            // Kafka's tool logs the error (not on stdout) and shuts down.
            Console.Error.WriteLine($"ERROR Error during processing, terminating consumer process: {e.Error.Reason}");
        }
        finally
        {
            consumer.Close();
            consumer.Dispose();
            events.Emit("shutdown_complete");
        }
        return Task.CompletedTask;
    }

    /// <summary>Kafka's onRecordsReceived: per partition in the order they came, capped at --max-messages; returns the offsets to commit.</summary>
    private static List<TopicPartitionOffset> OnRecords(List<ConsumeResult<byte[]?, byte[]?>> batch, VerifiableEvents events, int maxMessages, bool verbose, ref long consumed)
    {
        var offsets = new List<TopicPartitionOffset>();
        var summaries = new List<(TopicPartition Partition, long Count, long Min, long Max)>();
        foreach (var group in batch.GroupBy(b => b.TopicPartition))
        {
            var records = group.ToList();
            if (maxMessages >= 0 && consumed + records.Count > maxMessages)
            {
                records = records[..(int)(maxMessages - consumed)];
            }
            if (records.Count == 0)
            {
                continue;
            }
            var min = records[0].Offset.Value;
            var max = records[^1].Offset.Value;
            offsets.Add(new TopicPartitionOffset(group.Key, max + 1));
            summaries.Add((group.Key, records.Count, min, max));
            if (verbose)
            {
                foreach (var record in records)
                {
                    events.Emit("record_data", json =>
                    {
                        json.WriteString("key", Text(record.Message.Key));
                        json.WriteString("value", Text(record.Message.Value));
                        json.WriteString("topic", record.Topic);
                        json.WriteNumber("partition", record.Partition.Value);
                        json.WriteNumber("offset", record.Offset.Value);
                    });
                }
            }
            consumed += records.Count;
            if (maxMessages >= 0 && consumed >= maxMessages)
            {
                break;
            }
        }
        events.Emit("records_consumed", json =>
        {
            json.WriteNumber("count", batch.Count);
            json.WriteStartArray("partitions");
            foreach (var (partition, count, min, max) in summaries)
            {
                json.WriteStartObject();
                json.WriteString("topic", partition.Topic);
                json.WriteNumber("partition", partition.Partition.Value);
                json.WriteNumber("count", count);
                json.WriteNumber("minOffset", min);
                json.WriteNumber("maxOffset", max);
                json.WriteEndObject();
            }
            json.WriteEndArray();
        });
        return offsets;
    }

    private static void CommitSync(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartitionOffset> offsets, VerifiableEvents events)
    {
        string? error = null;
        try
        {
            if (offsets.Count > 0)
            {
                consumer.Commit(offsets);
            }
        }
        catch (KafkaException e)
        {
            error = e.Error.Reason;
        }
        events.Emit("offsets_committed", json =>
        {
            json.WriteStartArray("offsets");
            foreach (var o in offsets)
            {
                json.WriteStartObject();
                json.WriteString("topic", o.Topic);
                json.WriteNumber("partition", o.Partition.Value);
                json.WriteNumber("offset", o.Offset.Value);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            if (error is not null)
            {
                json.WriteString("error", error);
            }
            json.WriteBoolean("success", error is null);
        });
    }

    private static void WritePartitions(Utf8JsonWriter json, IEnumerable<TopicPartition> partitions)
    {
        json.WriteStartArray("partitions");
        foreach (var p in partitions)
        {
            json.WriteStartObject();
            json.WriteString("topic", p.Topic);
            json.WriteNumber("partition", p.Partition.Value);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    private static string? Text(byte[]? bytes) => bytes is null ? null : System.Text.Encoding.UTF8.GetString(bytes);
}
