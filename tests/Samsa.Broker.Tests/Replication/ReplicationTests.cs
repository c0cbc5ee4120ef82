using Samsa.Broker.Tests.Quorum;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;
using Samsa.Storage;

namespace Samsa.Broker.Tests.Replication;

/// <summary>
/// Three combined nodes in one process, a topic with replication factor 3: followers copy the leader's batches byte
/// for byte into their own logs, acks=all is answered once the ISR has the records, and leadership moves to an
/// in-sync follower that carries on from the same log.
/// </summary>
public sealed class ReplicationTests
{
    private const short ProduceVersion = 9;

    private static readonly Dictionary<string, string> FastFailover = new()
    {
        ["broker.heartbeat.interval.ms"] = "200",
        ["broker.session.timeout.ms"] = "2000",
        ["replica.fetch.backoff.ms"] = "100",
        ["replica.lag.time.max.ms"] = "3000",
    };

    private static byte[] Batch(string value)
    {
        using var builder = new RecordBatchBuilder();
        builder.Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null, System.Text.Encoding.UTF8.GetBytes(value));
        return builder.Build();
    }

    private static async Task CreateReplicatedTopic(KRaftQuorumTests.Cluster cluster, string topic, int minInSync)
    {
        var any = cluster.Running.First();
        await using var client = await TestClient.ConnectAsync(cluster.Ports[any.NodeId].Broker);
        var (_, response) = await client.RequestAsync<CreateTopicsResponse>(new CreateTopicsRequest
        {
            timeoutMs = 10_000,
            Topics = [new() { Name = topic, NumPartitions = 1, ReplicationFactor = 3, Configs = [new() { Name = "min.insync.replicas", Value = minInSync.ToString(System.Globalization.CultureInfo.InvariantCulture) }] }],
        }, 7);
        Assert.Equal(0, response.Topics[0].ErrorCode);
        await KRaftQuorumTests.WaitUntil(() => cluster.Running.All(n => n.Logs.Get(topic, 0) is not null), "every replica's log to open");
    }

    private static int LeaderOf(KRaftQuorumTests.Cluster cluster, string topic) =>
        cluster.Running.Select(n => n.Metadata.Current.Partition(topic, 0)?.Leader ?? -1).Max();

    private static async Task<ProduceResponse.PartitionProduceResponse> ProduceAsync(KRaftQuorumTests.Cluster cluster, int node, string topic, string value, short acks = -1)
    {
        await using var client = await TestClient.ConnectAsync(cluster.Ports[node].Broker);
        var (_, response) = await client.RequestAsync<ProduceResponse>(ProduceFetchTests.Produce(topic, 0, Batch(value), acks), ProduceVersion);
        return Assert.Single(Assert.Single(response.Responses).PartitionResponses);
    }

    private static byte[] LogBytes(KafkaBroker node, string topic)
    {
        var log = node.Logs.Get(topic, 0)!;
        return log.Read(log.LogStartOffset, int.MaxValue, FetchIsolation.LogEnd).Records.ToArray();
    }

    [Fact]
    public async Task FollowersCopyTheLeader_AcksAllWaitsForTheIsr_AndAnInSyncFollowerTakesOver()
    {
        await using var cluster = await KRaftQuorumTests.Cluster.StartAsync(3, FastFailover);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        await CreateReplicatedTopic(cluster, "replicated", minInSync: 2);
        var leader = LeaderOf(cluster, "replicated");
        Assert.InRange(leader, 1, 3);

        for (var i = 0; i < 10; i++)
        {
            var answer = await ProduceAsync(cluster, leader, "replicated", $"record {i}");
            Assert.Equal(0, answer.ErrorCode);
            Assert.Equal(i, answer.BaseOffset);
        }
        // acks=all answered: the whole ISR holds the records, so the leader's high watermark is past them.
        Assert.Equal(10, cluster.Nodes[leader]!.Logs.Get("replicated", 0)!.HighWatermark);
        await KRaftQuorumTests.WaitUntil(() => cluster.Running.All(n => n.Logs.Get("replicated", 0)!.HighWatermark == 10), "every replica's high watermark");
        var leaderBytes = LogBytes(cluster.Nodes[leader]!, "replicated");
        Assert.All(cluster.Running, n => Assert.Equal(leaderBytes, LogBytes(n, "replicated")));

        // The leader stops (controlled shutdown): an in-sync follower leads the next epoch from the same log.
        var epoch = cluster.Nodes[leader]!.Metadata.Current.Partition("replicated", 0)!.LeaderEpoch;
        await cluster.StopNodeAsync(leader);
        await KRaftQuorumTests.WaitUntil(() => LeaderOf(cluster, "replicated") is var l && l != leader && l > 0
            && cluster.Running.All(n => n.Metadata.Current.Partition("replicated", 0)!.Leader == l), "a new leader on both survivors");
        var next = LeaderOf(cluster, "replicated");
        Assert.True(cluster.Nodes[next]!.Metadata.Current.Partition("replicated", 0)!.LeaderEpoch > epoch);
        var after = await ProduceAsync(cluster, next, "replicated", "after the move");
        Assert.Equal(0, after.ErrorCode);
        Assert.Equal(10, after.BaseOffset);

        // The old leader comes back as a follower and catches up, byte for byte.
        await cluster.StartNodeAsync(leader);
        await KRaftQuorumTests.WaitUntil(() => cluster.Nodes[leader]!.Logs.Get("replicated", 0) is { LogEndOffset: 11 }, "the restarted replica to catch up");
        // It kept its own log across the restart (not set aside as a stray and copied again from scratch).
        Assert.Empty(Directory.GetDirectories(cluster.Dirs[leader - 1].Path, "*-stray"));
        var nextBytes = LogBytes(cluster.Nodes[next]!, "replicated");
        Assert.Equal(nextBytes, LogBytes(cluster.Nodes[leader]!, "replicated"));
        // Caught up, it rejoins the ISR: the leader's AlterPartition reaches every image.
        await KRaftQuorumTests.WaitUntil(() => cluster.Running.All(n => n.Metadata.Current.Partition("replicated", 0)!.Isr.Length == 3), "the ISR to grow back to 3");
    }

    [Fact]
    public async Task AcksAllIsRefusedBelowMinInSyncReplicas_AndAcksOneIsNot()
    {
        await using var cluster = await KRaftQuorumTests.Cluster.StartAsync(3, FastFailover);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        await CreateReplicatedTopic(cluster, "strict", minInSync: 3);
        var leader = LeaderOf(cluster, "strict");
        Assert.Equal(0, (await ProduceAsync(cluster, leader, "strict", "all three")).ErrorCode);

        // One follower stops: the controller fences it and takes it out of the ISR, leaving 2 < min.insync.replicas.
        var follower = cluster.Running.Select(n => n.NodeId).First(id => id != leader && id != cluster.Running.First(n => n.Controller?.IsActive == true).NodeId);
        await cluster.StopNodeAsync(follower);
        await KRaftQuorumTests.WaitUntil(() => cluster.Nodes[leader]!.Metadata.Current.Partition("strict", 0)!.Isr.Length == 2, "the ISR to shrink");
        var refused = await ProduceAsync(cluster, leader, "strict", "not enough");
        Assert.Equal((short)ErrorCode.NotEnoughReplicas, refused.ErrorCode);
        Assert.Equal(-1, refused.BaseOffset);
        Assert.Equal(1, cluster.Nodes[leader]!.Logs.Get("strict", 0)!.LogEndOffset);
        var leaderOnly = await ProduceAsync(cluster, leader, "strict", "acks=1", acks: 1);
        Assert.Equal(0, leaderOnly.ErrorCode);
        Assert.Equal(1, leaderOnly.BaseOffset);

        // Back and caught up, the follower rejoins the ISR and acks=all is served again.
        await cluster.StartNodeAsync(follower);
        await KRaftQuorumTests.WaitUntil(() => cluster.Nodes[leader]!.Metadata.Current.Partition("strict", 0)!.Isr.Length == 3, "the ISR to grow back");
        Assert.Equal(0, (await ProduceAsync(cluster, leader, "strict", "all three again")).ErrorCode);
    }

    [Fact]
    public async Task ASilentFollowerLeavesTheIsrAfterTheLagTime()
    {
        await using var cluster = await KRaftQuorumTests.Cluster.StartAsync(3, FastFailover);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        await CreateReplicatedTopic(cluster, "lagging", minInSync: 1);
        var leader = LeaderOf(cluster, "lagging");
        var follower = cluster.Running.Select(n => n.NodeId).First(id => id != leader);
        // The follower stops fetching but stays registered (its fetchers closed, heartbeats going on).
        await cluster.Nodes[follower]!.ReplicaFetchers!.DisposeAsync();
        Assert.Equal(0, (await ProduceAsync(cluster, leader, "lagging", "one")).ErrorCode);
        await KRaftQuorumTests.WaitUntil(() => cluster.Nodes[leader]!.Metadata.Current.Partition("lagging", 0)!.Isr.Length == 2, "the leader to shrink the ISR");
        Assert.DoesNotContain(follower, cluster.Nodes[leader]!.Metadata.Current.Partition("lagging", 0)!.Isr);
    }

    [Fact]
    public async Task AConsumerInTheFollowersRackIsSentToItAndReadsThere()
    {
        await using var cluster = await KRaftQuorumTests.Cluster.StartAsync(3, new Dictionary<string, string>(FastFailover)
        {
            ["replica.selector.class"] = "org.apache.kafka.common.replica.RackAwareReplicaSelector",
        }, id => new Dictionary<string, string> { ["broker.rack"] = $"rack-{id}" });
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        await CreateReplicatedTopic(cluster, "racked", minInSync: 2);
        var leader = LeaderOf(cluster, "racked");
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(0, (await ProduceAsync(cluster, leader, "racked", $"record {i}")).ErrorCode);
        }
        var follower = cluster.Running.Select(n => n.NodeId).First(id => id != leader);
        await KRaftQuorumTests.WaitUntil(() => cluster.Nodes[follower]!.Logs.Get("racked", 0)!.HighWatermark == 5, "the follower's high watermark");

        static FetchRequest Fetch(string rack) => new()
        {
            MaxBytes = 1 << 20,
            RackId = rack,
            Topics = [new() { Topic = "racked", Partitions = [new() { Partition = 0, FetchOffset = 0, PartitionMaxBytes = 1 << 20 }] }],
        };
        async Task<FetchResponse.PartitionData> FetchFrom(int node, string rack, short version)
        {
            await using var client = await TestClient.ConnectAsync(cluster.Ports[node].Broker);
            var (_, response) = await client.RequestAsync<FetchResponse>(Fetch(rack), version);
            return Assert.Single(Assert.Single(response.Responses).Partitions);
        }

        // The leader names the follower in the consumer's rack and returns no records.
        var redirected = await FetchFrom(leader, $"rack-{follower}", 11);
        Assert.Equal(0, redirected.ErrorCode);
        Assert.Equal(follower, redirected.PreferredReadReplica);
        Assert.True(redirected.Records is null || redirected.Records.Value.Length == 0);
        // In the leader's own rack, or with no rack, the leader serves the records itself.
        Assert.Equal(-1, (await FetchFrom(leader, $"rack-{leader}", 11)).PreferredReadReplica);
        Assert.True((await FetchFrom(leader, "", 11)).Records!.Value.Length > 0);

        // The follower serves the consumer up to its high watermark; before v11 a consumer may only read from the leader.
        var fromFollower = await FetchFrom(follower, $"rack-{follower}", 11);
        Assert.Equal(0, fromFollower.ErrorCode);
        Assert.Equal(5, fromFollower.HighWatermark);
        Assert.Equal(cluster.Nodes[leader]!.Logs.Get("racked", 0)!.Read(0, 1 << 20, FetchIsolation.HighWatermark).Records.ToArray(), fromFollower.Records!.Value.ToArray());
        Assert.Equal((short)ErrorCode.NotLeaderOrFollower, (await FetchFrom(follower, "", 10)).ErrorCode);
    }
}
