using System.Text.Json;
using Samsa.Interop.Tests.Infrastructure;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;

namespace Samsa.Interop.Tests;

/// <summary>
/// Issue 13: where Samsa answered differently from Kafka 4.x, as real clients' admin and integration tests see it —
/// ListOffsets max-timestamp, authorized operations, the first join on a fresh broker, OffsetForLeaderEpoch and client
/// telemetry. Each against a broker process, through Confluent.Kafka or kafkajs, and hand-built where no client
/// exposes the field.
/// </summary>
public class ConformanceInteropTests
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(90);

    /// <summary>Kafka's <c>AclEntry.supportedOperations</c>, as Confluent.Kafka names them.</summary>
    private static readonly string[] TopicOperations = ["ALTER", "ALTER_CONFIGS", "CREATE", "DELETE", "DESCRIBE", "DESCRIBE_CONFIGS", "READ", "WRITE"];
    private static readonly string[] ClusterOperations = ["ALTER", "ALTER_CONFIGS", "CLUSTER_ACTION", "CREATE", "DESCRIBE", "DESCRIBE_CONFIGS", "IDEMPOTENT_WRITE"];
    private static readonly string[] GroupOperations = ["DELETE", "DESCRIBE", "READ"];

    private static byte[] Batch(CompressionType compression, params long[] timestamps)
    {
        using var builder = new RecordBatchBuilder { Compression = compression };
        foreach (var ts in timestamps)
        {
            builder.Append(ts, null, new byte[16]);
        }
        return builder.Build();
    }

    /// <summary>
    /// KAFKA-16310: a batch of three records with timestamps +100, +400, +250 answers max-timestamp with offset 1 (the
    /// record), not 2 (the batch's last), for every codec, through Confluent.Kafka's ListOffsets and a hand-built v7+
    /// request, and still after a clean restart and after kill -9 (the answer then comes from the files alone).
    /// </summary>
    [Fact]
    public async Task ListOffsetsMaxTimestamp_IsTheRecordsOffset_ForEveryCodec_AndAfterRestarts()
    {
        var broker = await BrokerProcess.StartAsync();
        try
        {
            var codecs = new[] { CompressionType.None, CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd };
            var t0 = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 60_000;
            foreach (var codec in codecs)
            {
                await TopicAdmin.CreateAsync(broker.Port, $"maxts-{codec}".ToLowerInvariant());
                using var connection = await RawKafkaConnection.ConnectAsync(broker.Port);
                var (error, _) = await RawRecords.ProduceBatchAsync(connection, $"maxts-{codec}".ToLowerInvariant(), 0, Batch(codec, t0 + 100, t0 + 400, t0 + 250));
                Assert.Equal(ErrorCode.None, error);
            }

            async Task Check(string when)
            {
                foreach (var codec in codecs)
                {
                    var topic = $"maxts-{codec}".ToLowerInvariant();
                    Assert.Equal((1L, t0 + 400), await RawMaxTimestampAsync(broker.Port, topic));
                    var conformance = await ConfluentConformanceAsync(broker.Bootstrap, topic, "no-such-group");
                    Assert.True(conformance.GetProperty("maxTimestampOffset").GetInt64() == 1, $"{codec} {when}: {conformance}");
                }
            }
            await Check("before restart");

            DeleteOnDisposeOff(broker);
            Assert.Equal(0, await broker.StopAsync());
            broker = await BrokerProcess.StartAsync(reuseDirectory: broker.Directory, reusePort: broker.Port);
            await Check("after a clean restart");

            DeleteOnDisposeOff(broker);
            await broker.KillAsync();
            broker = await BrokerProcess.StartAsync(reuseDirectory: broker.Directory, reusePort: broker.Port);
            await Check("after kill -9");
        }
        finally
        {
            await broker.DisposeAsync();
        }
    }

    private static void DeleteOnDisposeOff(BrokerProcess broker) => broker.DeleteOnDispose = false;

    private static async Task<(long Offset, long Timestamp)> RawMaxTimestampAsync(int port, string topic)
    {
        using var connection = await RawKafkaConnection.ConnectAsync(port);
        var response = await connection.RequestAsync<ListOffsetsResponse>(new ListOffsetsRequest
        {
            ReplicaId = -1,
            Topics = [new() { Name = topic, Partitions = [new() { PartitionIndex = 0, Timestamp = -3, CurrentLeaderEpoch = -1 }] }],
        }, 8);
        var answer = response.Topics[0].Partitions[0];
        Assert.Equal((short)ErrorCode.None, answer.ErrorCode);
        return (answer.Offset, answer.Timestamp);
    }

    private static async Task<JsonElement> ConfluentConformanceAsync(string bootstrap, string topic, string group)
    {
        var result = await ExternalProcess.RunAsync("dotnet", [RepoPaths.ConfluentClientDll, "conformance", bootstrap, topic, group], ClientTimeout);
        Assert.True(result.ExitCode == 0, result.ToString());
        return JsonDocument.Parse(result.Stdout.Trim().Split('\n')[^1]).RootElement;
    }

    /// <summary>
    /// With no authorizer Kafka answers every operation the resource supports: Confluent.Kafka's DescribeCluster,
    /// DescribeTopics and DescribeConsumerGroups with IncludeAuthorizedOperations, and hand-built Metadata v10 (the
    /// last with cluster operations), v12, DescribeTopicPartitions, DescribeGroups v5 and ConsumerGroupDescribe; not
    /// asking leaves Kafka's "not requested" value.
    /// </summary>
    [Fact]
    public async Task AuthorizedOperations_AreEveryOperationTheResourceSupports_WithoutAnAuthorizer()
    {
        await using var broker = await BrokerProcess.StartAsync();
        await TopicAdmin.CreateAsync(broker.Port, "ops-topic", 2);
        // A group with committed offsets, so that every client describes an existing group.
        using (var connection = await RawKafkaConnection.ConnectAsync(broker.Port))
        {
            await RawRecords.ProduceAsync(connection, "ops-topic", 0, ["x"]);
        }
        var commit = await ExternalProcess.RunAsync("node", [Peers.KafkaJsScript("group.js"), broker.Bootstrap, "ops-topic", "ops-group", "1"], ClientTimeout);
        Assert.True(commit.ExitCode == 0, commit.ToString());

        var confluent = await ConfluentConformanceAsync(broker.Bootstrap, "ops-topic", "ops-group");
        Assert.Equal(ClusterOperations, Strings(confluent.GetProperty("clusterOperations")));
        Assert.Equal(TopicOperations, Strings(confluent.GetProperty("topicOperations")));
        Assert.Equal(GroupOperations, Strings(confluent.GetProperty("groupOperations")));

        // Bit n set for operation code n (Kafka's Utils.to32BitField).
        const int topicBits = (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11);
        const int clusterBits = (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);
        const int groupBits = (1 << 3) | (1 << 6) | (1 << 8);
        using var raw = await RawKafkaConnection.ConnectAsync(broker.Port);
        var v10 = await raw.RequestAsync<MetadataResponse>(new MetadataRequest
        {
            Topics = [new() { Name = "ops-topic" }, new() { Name = "no-such-topic" }],
            IncludeClusterAuthorizedOperations = true,
            IncludeTopicAuthorizedOperations = true,
        }, 10);
        Assert.Equal(clusterBits, v10.ClusterAuthorizedOperations);
        Assert.All(v10.Topics, t => Assert.Equal(topicBits, t.TopicAuthorizedOperations));
        var notAsked = await raw.RequestAsync<MetadataResponse>(new MetadataRequest { Topics = [new() { Name = "ops-topic" }] }, 12);
        Assert.Equal(int.MinValue, notAsked.ClusterAuthorizedOperations);
        Assert.Equal(int.MinValue, notAsked.Topics[0].TopicAuthorizedOperations);

        var cluster = await raw.RequestAsync<DescribeClusterResponse>(new DescribeClusterRequest { IncludeClusterAuthorizedOperations = true }, 1);
        Assert.Equal(clusterBits, cluster.ClusterAuthorizedOperations);
        var partitions = await raw.RequestAsync<DescribeTopicPartitionsResponse>(new DescribeTopicPartitionsRequest
        {
            Topics = [new() { Name = "ops-topic" }],
            ResponsePartitionLimit = 100,
        }, 0);
        Assert.Equal(topicBits, partitions.Topics[0].TopicAuthorizedOperations);
        var groups = await raw.RequestAsync<DescribeGroupsResponse>(new DescribeGroupsRequest { Groups = ["ops-group"], IncludeAuthorizedOperations = true }, 5);
        Assert.Equal(groupBits, groups.Groups[0].AuthorizedOperations);
        var groupsNotAsked = await raw.RequestAsync<DescribeGroupsResponse>(new DescribeGroupsRequest { Groups = ["ops-group"] }, 5);
        Assert.Equal(int.MinValue, groupsNotAsked.Groups[0].AuthorizedOperations);
        var consumerGroup = await raw.RequestAsync<ConsumerGroupDescribeResponse>(new ConsumerGroupDescribeRequest { GroupIds = ["ops-group"], IncludeAuthorizedOperations = true }, 0);
        Assert.Equal(groupBits, consumerGroup.Groups[0].AuthorizedOperations);
    }

    private static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];

    /// <summary>
    /// The first consumer of a fresh broker (no <c>__consumer_offsets</c> yet) joins with kafkajs's retries switched
    /// off: the FindCoordinator that creates the topic names the coordinator only once its partition has loaded, so the
    /// JoinGroup is never answered COORDINATOR_LOAD_IN_PROGRESS. Hand-built as well: on another fresh broker, a
    /// coordinator FindCoordinator names accepts the JoinGroup at once.
    /// </summary>
    [Fact]
    public async Task FirstJoinOnAFreshBroker_SucceedsWithoutAnyRetry()
    {
        await using (var broker = await BrokerProcess.StartAsync())
        {
            await TopicAdmin.CreateAsync(broker.Port, "first-join");
            using (var connection = await RawKafkaConnection.ConnectAsync(broker.Port))
            {
                await RawRecords.ProduceAsync(connection, "first-join", 0, ["hello"]);
            }
            var result = await ExternalProcess.RunAsync("node", [Peers.KafkaJsScript("first_join.js"), broker.Bootstrap, "first-join", "fresh-group"], ClientTimeout);
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Contains("\"joined\":true", result.Stdout);
        }

        await using (var broker = await BrokerProcess.StartAsync())
        {
            using var connection = await RawKafkaConnection.ConnectAsync(broker.Port);
            var found = await connection.RequestAsync<FindCoordinatorResponse>(new FindCoordinatorRequest { KeyType = 0, CoordinatorKeys = ["raw-group"] }, 4);
            var coordinator = found.Coordinators[0];
            Assert.True(coordinator.ErrorCode is (short)ErrorCode.None or (short)ErrorCode.CoordinatorNotAvailable, coordinator.ToString());
            if (coordinator.ErrorCode == (short)ErrorCode.None)
            {
                var join = await connection.RequestAsync<JoinGroupResponse>(new JoinGroupRequest
                {
                    GroupId = "raw-group",
                    SessionTimeoutMs = 10_000,
                    RebalanceTimeoutMs = 10_000,
                    MemberId = "",
                    ProtocolType = "consumer",
                    Protocols = [new() { Name = "range", Metadata = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0] }],
                }, 3);
                Assert.Equal((short)ErrorCode.None, join.ErrorCode);
            }
        }
    }

    /// <summary>
    /// OffsetForLeaderEpoch, every version, as a consumer validating its position after a leader change (KIP-320)
    /// sends it: the current epoch's end offset is the log end; an unknown future epoch -1/-1; a current leader
    /// epoch newer than the broker's UNKNOWN_LEADER_EPOCH; an unknown topic UNKNOWN_TOPIC_OR_PARTITION.
    /// </summary>
    [Fact]
    public async Task OffsetForLeaderEpoch_AnswersTheEndOffsetOfAnEpoch_AtEveryVersion()
    {
        await using var broker = await BrokerProcess.StartAsync();
        await TopicAdmin.CreateAsync(broker.Port, "epochs");
        using var connection = await RawKafkaConnection.ConnectAsync(broker.Port);
        await RawRecords.ProduceAsync(connection, "epochs", 0, ["a", "b", "c"]);
        var metadata = await connection.RequestAsync<MetadataResponse>(new MetadataRequest { Topics = [new() { Name = "epochs" }] }, 12);
        var epoch = metadata.Topics[0].Partitions[0].LeaderEpoch;

        for (short version = 0; version <= 4; version++)
        {
            var response = await connection.RequestAsync<OffsetForLeaderEpochResponse>(new OffsetForLeaderEpochRequest
            {
                ReplicaId = -1,
                Topics =
                [
                    new()
                    {
                        Topic = "epochs",
                        Partitions =
                        [
                            new() { Partition = 0, LeaderEpoch = epoch, CurrentLeaderEpoch = version >= 2 ? epoch : -1 },
                            new() { Partition = 0, LeaderEpoch = epoch + 5, CurrentLeaderEpoch = -1 },
                        ],
                    },
                    new() { Topic = "no-such-topic", Partitions = [new() { Partition = 0, LeaderEpoch = 0 }] },
                ],
            }, version);
            var current = response.Topics[0].Partitions[0];
            Assert.Equal((short)ErrorCode.None, current.ErrorCode);
            Assert.Equal(3L, current.EndOffset);
            Assert.Equal(version >= 1 ? epoch : -1, current.LeaderEpoch);
            var future = response.Topics[0].Partitions[1];
            Assert.Equal(((short)ErrorCode.None, -1L), (future.ErrorCode, future.EndOffset));
            Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, response.Topics[1].Partitions[0].ErrorCode);
        }

        var fencing = await connection.RequestAsync<OffsetForLeaderEpochResponse>(new OffsetForLeaderEpochRequest
        {
            ReplicaId = -1,
            Topics =
            [
                new()
                {
                    Topic = "epochs",
                    Partitions = [new() { Partition = 0, LeaderEpoch = epoch, CurrentLeaderEpoch = epoch + 1 }],
                },
            ],
        }, 4);
        Assert.Equal((short)ErrorCode.UnknownLeaderEpoch, fencing.Topics[0].Partitions[0].ErrorCode);
    }

    /// <summary>
    /// KIP-714: librdkafka 2.16 asks for its telemetry subscription (GetTelemetrySubscriptions is advertised) and
    /// accepts the answer of a broker with no client-metrics subscription: no error, nothing requested, so it pushes
    /// nothing. Hand-built: an instance id is assigned; a push with that subscription is accepted, a push with another
    /// subscription id is UNKNOWN_SUBSCRIPTION_ID and one over telemetry.max.bytes TELEMETRY_TOO_LARGE.
    /// </summary>
    [Fact]
    public async Task ClientTelemetry_IsAnsweredAsABrokerWithoutSubscriptions()
    {
        await using var broker = await BrokerProcess.StartAsync(new Dictionary<string, string> { ["telemetry.max.bytes"] = "1024" });
        await TopicAdmin.CreateAsync(broker.Port, "telemetry");
        var result = await ExternalProcess.RunAsync("dotnet", [RepoPaths.ConfluentClientDll, "telemetry", broker.Bootstrap, "telemetry"], ClientTimeout);
        Assert.True(result.ExitCode == 0, result.ToString());
        var logs = Strings(JsonDocument.Parse(result.Stdout.Trim().Split('\n')[^1]).RootElement.GetProperty("logs"));
        // librdkafka's own account: "Handled GetTelemetrySubscriptions, scheduling FSM after 300000000 microseconds,
        // state = GetSubscriptionsScheduled, err = Success, metrics = 0".
        Assert.Contains(logs, l => l.Contains("Parsing: requested metrics count 0", StringComparison.Ordinal));
        Assert.Contains(logs, l => l.Contains("Handled GetTelemetrySubscriptions", StringComparison.Ordinal)
            && l.Contains("err = Success", StringComparison.Ordinal) && l.Contains("metrics = 0", StringComparison.Ordinal));
        Assert.DoesNotContain(logs, l => l.Contains("PUSH", StringComparison.Ordinal));

        using var connection = await RawKafkaConnection.ConnectAsync(broker.Port);
        var subscription = await connection.RequestAsync<GetTelemetrySubscriptionsResponse>(new GetTelemetrySubscriptionsRequest(), 0);
        Assert.Equal((short)ErrorCode.None, subscription.ErrorCode);
        Assert.False(subscription.ClientInstanceId.IsZero);
        Assert.Empty(subscription.RequestedMetrics);
        Assert.Equal(1024, subscription.TelemetryMaxBytes);
        Assert.Equal(300_000, subscription.PushIntervalMs);
        var again = await connection.RequestAsync<GetTelemetrySubscriptionsResponse>(new GetTelemetrySubscriptionsRequest { ClientInstanceId = subscription.ClientInstanceId }, 0);
        Assert.Equal((subscription.ClientInstanceId, subscription.SubscriptionId), (again.ClientInstanceId, again.SubscriptionId));

        async Task<ErrorCode> Push(int subscriptionId, int bytes) => (ErrorCode)(await connection.RequestAsync<PushTelemetryResponse>(new PushTelemetryRequest
        {
            ClientInstanceId = subscription.ClientInstanceId,
            SubscriptionId = subscriptionId,
            Metrics = new byte[bytes],
        }, 0)).ErrorCode;
        Assert.Equal(ErrorCode.None, await Push(subscription.SubscriptionId, 10));
        Assert.Equal(ErrorCode.UnknownSubscriptionId, await Push(subscription.SubscriptionId + 1, 10));
        Assert.Equal(ErrorCode.TelemetryTooLarge, await Push(subscription.SubscriptionId, 2048));
    }
}
