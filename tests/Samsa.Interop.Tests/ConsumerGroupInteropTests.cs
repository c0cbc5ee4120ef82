using System.Text;
using System.Text.Json;
using Samsa.Interop.Tests.Infrastructure;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;

namespace Samsa.Interop.Tests;

/// <summary>
/// Each client consumes through a consumer group (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, OffsetFetch,
/// OffsetCommit, LeaveGroup): a first run reads a two-partition topic to its end and commits; a second run of a
/// new process in the same group resumes at the committed offsets and sees only what was produced since.
/// The committed offsets are checked with a hand-built OffsetFetch, independent of the client.
/// </summary>
public class ConsumerGroupInteropTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData("kafka-python")]
    [InlineData("confluent")]
    [InlineData("kafkajs")]
    public async Task AGroupConsumer_ReadsToTheEndAndCommits_AndASecondRunResumesAtTheCommittedOffsets(string client)
    {
        var port = fixture.Broker.Port;
        var topic = await TopicOfEightRecordsAsync(port, $"group-{client}");
        var group = $"g-{client}-{Guid.NewGuid():N}";

        var first = await ConsumeAsync(client, fixture.Broker.Bootstrap, topic, group, 8);
        Assert.Equal(
            [(0, 0L, "a0"), (0, 1L, "a1"), (0, 2L, "a2"), (0, 3L, "a3"), (0, 4L, "a4"), (1, 0L, "b0"), (1, 1L, "b1"), (1, 2L, "b2")],
            first.Order());
        Assert.Equal(new Dictionary<int, long> { [0] = 5, [1] = 3 }, await CommittedAsync(port, group, topic));

        await ProduceAsync(port, topic, 0, "a5");
        await ProduceAsync(port, topic, 1, "b3", "b4");
        var second = await ConsumeAsync(client, fixture.Broker.Bootstrap, topic, group, 3);
        Assert.Equal([(0, 5L, "a5"), (1, 3L, "b3"), (1, 4L, "b4")], second.Order());
        Assert.Equal(new Dictionary<int, long> { [0] = 6, [1] = 5 }, await CommittedAsync(port, group, topic));

        // Both runs left the group, so it is Empty and keeps its offsets.
        using var connection = await RawKafkaConnection.ConnectAsync(port);
        var described = await connection.RequestAsync<DescribeGroupsResponse>(new DescribeGroupsRequest { Groups = [group] }, 5);
        Assert.Equal(("Empty", "consumer"), (described.Groups[0].GroupState, described.Groups[0].ProtocolType));
    }

    /// <summary>
    /// The consumer-group calls of kafka-python's and kafkajs's admin clients (Confluent.Kafka's are what
    /// <c>kafka-consumer-groups.sh</c> runs on, tested in <see cref="ConsumerGroupsToolTests"/>): a group that a real
    /// consumer of the same client left with committed offsets is listed, described as Empty, its offsets fetched
    /// (kafkajs also sets one, as it allows for an inactive group), deleted, and deleting an unknown group is
    /// GROUP_ID_NOT_FOUND. The offsets are checked again with a hand-built OffsetFetch.
    /// </summary>
    [Theory]
    [InlineData("kafka-python")]
    [InlineData("kafkajs")]
    public async Task AdminClient_ListsDescribesFetchesAndDeletesAGroup_ThatAConsumerLeftWithCommittedOffsets(string client)
    {
        var port = fixture.Broker.Port;
        var topic = await TopicOfEightRecordsAsync(port, $"group-admin-{client}");
        var group = $"ga-{client}-{Guid.NewGuid():N}";
        Assert.Equal(8, (await ConsumeAsync(client, fixture.Broker.Bootstrap, topic, group, 8)).Count);

        var result = client == "kafka-python"
            ? await ExternalProcess.RunAsync(Peers.Python, [RepoPaths.ClientScript("kafka_python_group_admin.py"), fixture.Broker.Bootstrap, group, topic], ClientTimeout)
            : await ExternalProcess.RunAsync("node", [Peers.KafkaJsScript("group_admin.js"), fixture.Broker.Bootstrap, group, topic], ClientTimeout);
        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        var root = json.RootElement;
        string Flat(string property) => root.GetProperty(property).GetRawText();

        Assert.Equal($"[[\"{group}\",\"consumer\"]]", Flat("listed"));
        Assert.Equal(client == "kafka-python"
            ? "{\"error\":0,\"state\":\"Empty\",\"protocol_type\":\"consumer\",\"members\":0}"
            : "{\"error\":0,\"state\":\"Empty\",\"protocolType\":\"consumer\",\"members\":0}", Flat("described"));
        Assert.Equal("{\"0\":5,\"1\":3}", Flat("offsets"));
        Assert.Equal($"[[\"{group}\",0]]", Flat("deleted"));
        if (client == "kafka-python")
        {
            Assert.Equal("[]", Flat("listed_after_delete"));
            Assert.Equal($"[[\"no-such-group-{group}\",69]]", Flat("delete_unknown"));
        }
        else
        {
            Assert.Equal("{\"0\":1,\"1\":3}", Flat("offsetsAfterSet"));
            Assert.Equal("[]", Flat("listedAfterDelete"));
            Assert.Equal($"[[\"no-such-group-{group}\",\"GROUP_ID_NOT_FOUND\"]]", Flat("deleteUnknown"));
        }
        // Deleting the group deleted its offsets.
        Assert.Equal(new Dictionary<int, long> { [0] = -1, [1] = -1 }, await CommittedAsync(port, group, topic));
    }

    /// <summary>A new two-partition topic holding a0..a4 in partition 0 and b0..b2 in partition 1.</summary>
    private static async Task<string> TopicOfEightRecordsAsync(int port, string prefix)
    {
        var topic = $"{prefix}-{Guid.NewGuid():N}";
        await TopicAdmin.CreateAsync(port, topic, partitions: 2);
        await ProduceAsync(port, topic, 0, "a0", "a1", "a2", "a3", "a4");
        await ProduceAsync(port, topic, 1, "b0", "b1", "b2");
        return topic;
    }

    private static async Task<List<(int Partition, long Offset, string Value)>> ConsumeAsync(string client, string bootstrap, string topic, string group, int count)
    {
        var result = client switch
        {
            "kafka-python" => await ExternalProcess.RunAsync(Peers.Python, [RepoPaths.ClientScript("kafka_python_io.py"), "group", bootstrap, topic, group, count.ToString()], ClientTimeout),
            "confluent" => await ExternalProcess.RunAsync("dotnet", [RepoPaths.ConfluentClientDll, "group", bootstrap, topic, group, count.ToString()], ClientTimeout),
            _ => await ExternalProcess.RunAsync("node", [Peers.KafkaJsScript("group.js"), bootstrap, topic, group, count.ToString()], ClientTimeout),
        };
        Assert.True(result.ExitCode == 0, result.ToString());
        return [.. result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
        {
            var e = JsonDocument.Parse(line).RootElement;
            return (e.GetProperty("partition").GetInt32(), e.GetProperty("offset").GetInt64(),
                Encoding.UTF8.GetString(Convert.FromBase64String(e.GetProperty("value").GetString()!)));
        })];
    }

    private static async Task ProduceAsync(int port, string topic, int partition, params string[] values)
    {
        using var builder = new RecordBatchBuilder();
        foreach (var value in values)
        {
            builder.Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null, Encoding.UTF8.GetBytes(value));
        }
        using var connection = await RawKafkaConnection.ConnectAsync(port);
        var response = await connection.RequestAsync<ProduceResponse>(new ProduceRequest
        {
            Acks = -1,
            TimeoutMs = 5000,
            TopicData = [new() { Name = topic, PartitionData = [new() { Index = partition, Records = builder.Build() }] }],
        }, 9);
        Assert.Equal(0, response.Responses[0].PartitionResponses[0].ErrorCode);
    }

    private static async Task<Dictionary<int, long>> CommittedAsync(int port, string group, string topic)
    {
        using var connection = await RawKafkaConnection.ConnectAsync(port);
        var response = await connection.RequestAsync<OffsetFetchResponse>(new OffsetFetchRequest
        {
            Groups = [new() { GroupId = group, Topics = [new() { Name = topic, PartitionIndexes = [0, 1] }] }],
        }, 8);
        var answer = Assert.Single(response.Groups);
        Assert.Equal(0, answer.ErrorCode);
        return answer.Topics.Single().Partitions.ToDictionary(p => p.PartitionIndex, p => p.CommittedOffset);
    }
}
