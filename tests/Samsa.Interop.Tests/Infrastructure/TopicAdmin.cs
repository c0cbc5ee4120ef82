using Samsa.Protocol.Messages;

namespace Samsa.Interop.Tests.Infrastructure;

/// <summary>Creates topics and reads end offsets with hand-built requests, independent of any client under test.</summary>
public static class TopicAdmin
{
    /// <summary>Creates a topic and waits until its partitions answer (logs open just after the controller commits, as in Kafka).</summary>
    public static async Task CreateAsync(int port, string name, int partitions = 1, params (string Key, string Value)[] configs)
    {
        using (var connection = await RawKafkaConnection.ConnectAsync(port))
        {
            var response = await connection.RequestAsync<CreateTopicsResponse>(new CreateTopicsRequest
            {
                timeoutMs = 10000,
                Topics = [new() { Name = name, NumPartitions = partitions, ReplicationFactor = 1, Configs = [.. configs.Select(c => new CreateTopicsRequest.CreatableTopicConfig { Name = c.Key, Value = c.Value })] }],
            }, 7);
            Assert.Equal(0, response.Topics[0].ErrorCode);
        }
        var deadline = DateTime.UtcNow.AddSeconds(10);
        for (var p = 0; p < partitions; p++)
        {
            while (await EndOffsetAsync(port, name, p) < 0)
            {
                Assert.True(DateTime.UtcNow < deadline, $"{name}-{p} did not become available");
                await Task.Delay(20);
            }
        }
    }

    /// <summary>Waits (30 s at most) until a restarted broker serves the topic's partition 0 again.</summary>
    public static async Task WaitServedAsync(BrokerProcess broker, string topic)
    {
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (await EndOffsetAsync(broker.Port, topic) < 0)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), $"{topic}-0 not served after restart:\n{broker.Output}");
            await Task.Delay(50);
        }
    }

    /// <summary>The partition's latest offset (ListOffsets -1), or -1 while it reports an error.</summary>
    public static async Task<long> EndOffsetAsync(int port, string topic, int partition = 0)
    {
        using var connection = await RawKafkaConnection.ConnectAsync(port);
        var response = await connection.RequestAsync<ListOffsetsResponse>(new ListOffsetsRequest
        {
            ReplicaId = -1,
            Topics = [new() { Name = topic, Partitions = [new() { PartitionIndex = partition, Timestamp = -1 }] }],
        }, 7);
        var answer = response.Topics[0].Partitions[0];
        return answer.ErrorCode == 0 ? answer.Offset : -1;
    }
}
