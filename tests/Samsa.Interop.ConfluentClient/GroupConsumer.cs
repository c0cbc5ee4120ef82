using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;

/// <summary>
/// <c>group-consume BOOTSTRAP GROUP TOPIC PROTOCOL</c>: one member of a consumer group (<c>group.protocol</c>
/// classic or consumer), driven over stdin and reporting over stdout as JSON lines, so a test can watch a rebalance
/// as the client sees it.
/// Events: {"event":"assigned"|"revoked"|"lost","partitions":[..]}, {"event":"message","partition":p,"offset":o,"value":".."},
/// {"event":"committed","offsets":[[p,o],..]}, {"event":"closed"}, {"event":"error","code":"..","reason":".."}.
/// Commands: "commit" (commits the positions of the current assignment), "close" (leaves the group and exits).
/// </summary>
internal static class GroupConsumer
{
    public static int Run(string bootstrap, string groupId, string topic, string protocol)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = groupId,
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            ClientId = $"samsa-interop-{protocol}",
        };
        // Set by name: the classic-only settings (session.timeout.ms, partition.assignment.strategy) stay unset,
        // because librdkafka refuses them with group.protocol=consumer.
        config.Set("group.protocol", protocol);
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config)
            .SetPartitionsAssignedHandler((_, partitions) => Emit(new { @event = "assigned", partitions = partitions.Select(p => p.Partition.Value).Order() }))
            .SetPartitionsRevokedHandler((_, partitions) => Emit(new { @event = "revoked", partitions = partitions.Select(p => p.Partition.Value).Order() }))
            .SetPartitionsLostHandler((_, partitions) => Emit(new { @event = "lost", partitions = partitions.Select(p => p.Partition.Value).Order() }))
            .SetErrorHandler((_, e) => Emit(new { @event = "error", code = e.Code.ToString(), reason = e.Reason }))
            .Build();
        consumer.Subscribe(topic);

        var commands = new BlockingCollection<string>();
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

        while (true)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (result is { IsPartitionEOF: false, Message: not null })
            {
                Emit(new
                {
                    @event = "message",
                    partition = result.Partition.Value,
                    offset = result.Offset.Value,
                    value = result.Message.Value is null ? null : Encoding.UTF8.GetString(result.Message.Value),
                });
            }
            while (commands.TryTake(out var command))
            {
                switch (command)
                {
                    case "commit":
                        var committed = consumer.Commit();
                        Emit(new { @event = "committed", offsets = committed.Select(c => new[] { c.Partition.Value, c.Offset.Value }) });
                        break;
                    case "close":
                        consumer.Close();
                        Emit(new { @event = "closed" });
                        return 0;
                }
            }
        }
    }

    private static readonly Lock OutputLock = new();

    private static void Emit(object value)
    {
        lock (OutputLock)
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(value));
            Console.Out.Flush();
        }
    }
}
