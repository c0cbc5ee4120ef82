using System.Text.Json;
using Confluent.Kafka;

/// <summary>
/// Confluent.Kafka as a long-running consumer-group member, printing the same JSON lines as kafka_python_group_member.py:
/// assigned {partitions, member, generation: null}, revoked {partitions}, lost {partitions}, record {partition, offset,
/// value}, committing and committed {partition, offset} (before and after a commit; the next offset to read), commit_failed {error}, error {error, code}, closed;
/// every line with "ts" (ms since the epoch). Each record is committed synchronously once printed. Stdin commands:
/// "stop-polling" (librdkafka keeps heartbeating from its own thread) and "close" (end of stdin does the same).
/// Options (key=value): assignor, session_timeout_ms, heartbeat_interval_ms, max_poll_interval_ms,
/// auto_offset_reset (earliest|latest|none), group_instance_id.
/// </summary>
internal static class GroupMemberScenario
{
    public static int Run(string bootstrap, string topic, string group, IEnumerable<string> optionArgs)
    {
        var options = optionArgs.Select(a => a.Split('=', 2)).ToDictionary(a => a[0], a => a[1]);
        var config = new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = group,
            ClientId = options.GetValueOrDefault("client_id", "confluent-member"),
            EnableAutoCommit = false,
            PartitionAssignmentStrategy = options.GetValueOrDefault("assignor", "range") == "range" ? PartitionAssignmentStrategy.Range : PartitionAssignmentStrategy.RoundRobin,
            SessionTimeoutMs = int.Parse(options.GetValueOrDefault("session_timeout_ms", "10000")),
            HeartbeatIntervalMs = int.Parse(options.GetValueOrDefault("heartbeat_interval_ms", "500")),
            MaxPollIntervalMs = int.Parse(options.GetValueOrDefault("max_poll_interval_ms", "30000")),
            AutoOffsetReset = options.GetValueOrDefault("auto_offset_reset", "earliest") switch
            {
                "earliest" => AutoOffsetReset.Earliest,
                "latest" => AutoOffsetReset.Latest,
                _ => AutoOffsetReset.Error,
            },
            GroupInstanceId = options.GetValueOrDefault("group_instance_id"),
            TopicMetadataRefreshIntervalMs = 5000,
            FetchWaitMaxMs = 100,
        };
        IConsumer<Ignore, string>? consumer = null;
        consumer = new ConsumerBuilder<Ignore, string>(config)
            .SetPartitionsAssignedHandler((_, parts) => Emit("assigned", new() { ["partitions"] = Partitions(parts), ["member"] = consumer!.MemberId, ["generation"] = null }))
            .SetPartitionsRevokedHandler((_, parts) => Emit("revoked", new() { ["partitions"] = Partitions(parts.Select(p => p.TopicPartition)) }))
            .SetPartitionsLostHandler((_, parts) => Emit("lost", new() { ["partitions"] = Partitions(parts.Select(p => p.TopicPartition)) }))
            .SetErrorHandler((_, e) => Emit("error", new() { ["error"] = e.Reason, ["code"] = e.Code.ToString() }))
            .Build();
        var commands = new System.Collections.Concurrent.BlockingCollection<string>();
        var reader = new Thread(() =>
        {
            while (Console.ReadLine() is { } line)
            {
                commands.Add(line.Trim());
            }
            commands.Add("close");
        })
        { IsBackground = true };
        reader.Start();
        consumer.Subscribe(topic);
        var polling = true;
        while (true)
        {
            commands.TryTake(out var command);
            if (command == "close")
            {
                break;
            }
            if (command == "stop-polling")
            {
                polling = false;
                Emit("stopped-polling", []);
            }
            if (!polling)
            {
                Thread.Sleep(50);
                continue;
            }
            ConsumeResult<Ignore, string>? result;
            try
            {
                result = consumer.Consume(TimeSpan.FromMilliseconds(100));
            }
            catch (ConsumeException e)
            {
                Emit("error", new() { ["error"] = e.Error.Reason, ["code"] = e.Error.Code.ToString() });
                Thread.Sleep(100);
                continue;
            }
            if (result is null || result.IsPartitionEOF)
            {
                continue;
            }
            Emit("record", new() { ["partition"] = result.Partition.Value, ["offset"] = result.Offset.Value, ["value"] = result.Message.Value });
            Emit("committing", new() { ["partition"] = result.Partition.Value, ["offset"] = result.Offset.Value + 1 });
            try
            {
                consumer.Commit(result);
                Emit("committed", new() { ["partition"] = result.Partition.Value, ["offset"] = result.Offset.Value + 1 });
            }
            catch (KafkaException e)
            {
                Emit("commit_failed", new() { ["error"] = e.Error.Code.ToString() });
            }
        }
        consumer.Close();
        consumer.Dispose();
        Emit("closed", []);
        return 0;
    }

    private static int[] Partitions(IEnumerable<TopicPartition> parts) => [.. parts.Select(p => p.Partition.Value).Order()];

    private static void Emit(string name, Dictionary<string, object?> fields)
    {
        fields["event"] = name;
        fields["ts"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Console.WriteLine(JsonSerializer.Serialize(fields));
        Console.Out.Flush();
    }
}
