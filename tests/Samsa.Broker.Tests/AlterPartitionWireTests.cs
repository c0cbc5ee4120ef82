using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Broker.Network;
using Samsa.Broker.Tests.Quorum;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Tests;

/// <summary>
/// AlterPartition over the wire against a combined node of a one-voter quorum: served on the controller listener
/// (advertised there as v0-3, not on the client listener), answered by the active controller from hand-built bytes,
/// and reached through <see cref="RemoteController"/> as a broker-only node would.
/// </summary>
public sealed class AlterPartitionWireTests
{
    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Timed out waiting for " + what);
            }
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task AlterPartition_OnTheControllerListener_IsDecidedByTheActiveController()
    {
        await using var cluster = await KRaftQuorumTests.Cluster.StartAsync(1);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        var node = cluster.Nodes[1]!;
        await WaitUntilAsync(() => node.Metadata.Current.Brokers.TryGetValue(1, out var b) && !b.Fenced, "the node to be unfenced");
        var (brokerPort, controllerPort) = cluster.Ports[1];

        await using (var admin = await TestClient.ConnectAsync(brokerPort))
        {
            var (_, created) = await admin.RequestAsync<CreateTopicsResponse>(new CreateTopicsRequest
            {
                Topics = [new() { Name = "isr", NumPartitions = 1, ReplicationFactor = 1 }],
                timeoutMs = 30_000,
            }, 7);
            Assert.Equal(0, created.Topics[0].ErrorCode);
            var (_, versions) = await admin.RequestAsync<ApiVersionsResponse>(new ApiVersionsRequest(), 2, 2);
            Assert.Contains(versions.ApiKeys, k => k.ApiKey == (short)ApiKey.CreateTopics);
            Assert.DoesNotContain(versions.ApiKeys, k => k.ApiKey == (short)ApiKey.AlterPartition);
        }
        await WaitUntilAsync(() => node.Metadata.Current.Topics.ContainsKey("isr"), "the topic");
        var topic = node.Metadata.Current.Topics["isr"];
        var epoch = node.Metadata.Current.Brokers[1].Epoch;

        await using var client = await TestClient.ConnectAsync(controllerPort);
        var (_, controllerVersions) = await client.RequestAsync<ApiVersionsResponse>(new ApiVersionsRequest(), 2, 1);
        var advertised = Assert.Single(controllerVersions.ApiKeys, k => k.ApiKey == (short)ApiKey.AlterPartition);
        Assert.Equal((0, 3), (advertised.MinVersion, advertised.MaxVersion));

        AlterPartitionRequest Request(short version, long brokerEpoch, params int[] isr) => new()
        {
            BrokerId = 1,
            BrokerEpoch = brokerEpoch,
            Topics =
            [
                new()
                {
                    TopicId = topic.TopicId,
                    Partitions =
                    [
                        new()
                        {
                            PartitionIndex = 0,
                            LeaderEpoch = topic.Partitions[0].LeaderEpoch,
                            PartitionEpoch = topic.Partitions[0].PartitionEpoch,
                            NewIsr = version < 3 ? [.. isr] : [],
                            NewIsrWithEpochs = version >= 3 ? [.. isr.Select(id => new AlterPartitionRequest.BrokerState { BrokerId = id, BrokerEpoch = epoch })] : [],
                        },
                    ],
                },
            ],
        };

        var (correlation, same) = await client.RequestAsync<AlterPartitionResponse>(Request(3, epoch, 1), 3, 11);
        Assert.Equal(11, correlation);
        Assert.Equal(0, same.ErrorCode);
        var state = Assert.Single(Assert.Single(same.Topics).Partitions);
        Assert.Equal((0, 1, topic.Partitions[0].LeaderEpoch, topic.Partitions[0].PartitionEpoch), (state.ErrorCode, state.LeaderId, state.LeaderEpoch, state.PartitionEpoch));
        Assert.Equal([1], state.Isr);
        Assert.Equal(topic.TopicId, same.Topics[0].TopicId);

        var (_, stale) = await client.RequestAsync<AlterPartitionResponse>(Request(3, epoch + 1, 1), 3, 12);
        Assert.Equal((short)ErrorCode.StaleBrokerEpoch, stale.ErrorCode);

        var (_, notAReplica) = await client.RequestAsync<AlterPartitionResponse>(Request(3, epoch, 1, 2), 3, 13);
        Assert.Equal((short)ErrorCode.InvalidRequest, notAReplica.Topics[0].Partitions[0].ErrorCode);

        // The same request through the inter-node client, as a broker-only node sends it.
        await using var network = new NetworkClient(new NetworkClientOptions(), TimeProvider.System, NullLogger.Instance);
        var remote = new RemoteController(network, () => new NodeEndpoint(1, "127.0.0.1", controllerPort), TimeProvider.System, NullLogger.Instance,
            TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(20));
        var viaRemote = await remote.AlterPartitionAsync(Request(2, epoch, 1), 2, default);
        Assert.Equal(0, viaRemote.ErrorCode);
        Assert.Equal([1], viaRemote.Topics[0].Partitions[0].Isr);
    }
}
