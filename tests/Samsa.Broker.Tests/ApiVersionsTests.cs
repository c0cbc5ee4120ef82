using System.Buffers.Binary;
using Samsa.Broker.Handlers;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Tests;

public class ApiVersionsTests
{
    private static ApiVersionsRequest Request() => new() { ClientSoftwareName = "samsa-tests", ClientSoftwareVersion = "1.0.0" };

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task EveryVersion_AdvertisesExactlyTheServedHandlers(short version)
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();

        // RequestAsync parses the response header as v0 and fails on leftover bytes, so this also pins header v0.
        var (correlationId, response) = await client.RequestAsync<ApiVersionsResponse>(Request(), version, 42);

        Assert.Equal(42, correlationId);
        Assert.Equal((short)ErrorCode.None, response.ErrorCode);
        var advertised = response.ApiKeys.Select(k => ((ApiKey)k.ApiKey, k.MinVersion, k.MaxVersion)).ToArray();
        Assert.Equal(
        [
            (ApiKey.Produce, (short)3, (short)11), (ApiKey.Fetch, (short)4, (short)17),
            (ApiKey.ListOffsets, (short)0, (short)10), (ApiKey.Metadata, (short)0, (short)12),
            (ApiKey.OffsetCommit, (short)0, (short)9), (ApiKey.OffsetFetch, (short)0, (short)9), (ApiKey.FindCoordinator, (short)0, (short)6),
            (ApiKey.JoinGroup, (short)0, (short)9), (ApiKey.Heartbeat, (short)0, (short)4), (ApiKey.LeaveGroup, (short)0, (short)5),
            (ApiKey.SyncGroup, (short)0, (short)5), (ApiKey.DescribeGroups, (short)0, (short)5), (ApiKey.ListGroups, (short)0, (short)5),
            (ApiKey.ApiVersions, (short)0, (short)4),
            (ApiKey.CreateTopics, (short)0, (short)7), (ApiKey.DeleteTopics, (short)0, (short)6), (ApiKey.DeleteRecords, (short)0, (short)2),
            (ApiKey.DescribeConfigs, (short)0, (short)4), (ApiKey.AlterConfigs, (short)0, (short)2), (ApiKey.DescribeLogDirs, (short)1, (short)4), (ApiKey.CreatePartitions, (short)0, (short)3),
            (ApiKey.DeleteGroups, (short)0, (short)2), (ApiKey.IncrementalAlterConfigs, (short)0, (short)1), (ApiKey.OffsetDelete, (short)0, (short)0), (ApiKey.UpdateFeatures, (short)0, (short)2),
            (ApiKey.DescribeCluster, (short)0, (short)1), (ApiKey.UnregisterBroker, (short)0, (short)0), (ApiKey.ConsumerGroupHeartbeat, (short)0, (short)1), (ApiKey.ConsumerGroupDescribe, (short)0, (short)0),
            (ApiKey.DescribeTopicPartitions, (short)0, (short)0),
        ], advertised);
        Assert.Equal(broker.Broker.Dispatcher.Served.Select(h => (h.ApiKey, h.MinVersion, h.MaxVersion)), advertised);
    }

    [Fact]
    public async Task Version3_RecordsClientSoftwareOnTheConnection()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        await client.RequestAsync<ApiVersionsResponse>(Request(), 3);
        Assert.Contains(broker.Logs.Lines, l => l.EventId == 302 && l.Message.Contains("samsa-tests 1.0.0"));
    }

    [Theory]
    [InlineData("", "1.0")]
    [InlineData("-leading-dash", "1.0")]
    [InlineData("name", "1.0 beta")]
    public async Task Version3_WithIllegalSoftwareName_GetsInvalidRequest(string name, string version)
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        var (_, response) = await client.RequestAsync<ApiVersionsResponse>(new ApiVersionsRequest { ClientSoftwareName = name, ClientSoftwareVersion = version }, 3);
        Assert.Equal((short)ErrorCode.InvalidRequest, response.ErrorCode);
    }

    [Fact]
    public async Task UnknownHigherVersion_IsAnsweredInV0WithUnsupportedVersion_AndTheConnectionStaysOpen()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        // A v9 request from a future client: header v2 and a body we cannot know.
        var frame = TestClient.EncodeRequest(Request(), 4, 31);
        BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(6), 9);
        await client.SendRawAsync(frame);

        var response = await client.ReadFrameAsync();
        Assert.NotNull(response);
        var (correlationId, body) = TestClient.ParseResponse<ApiVersionsResponse>(response, 0, 0);
        Assert.Equal(31, correlationId);
        Assert.Equal((short)ErrorCode.UnsupportedVersion, body.ErrorCode);
        var only = Assert.Single(body.ApiKeys);
        Assert.Equal(((short)ApiKey.ApiVersions, (short)0, (short)4), (only.ApiKey, only.MinVersion, only.MaxVersion));

        var (_, retried) = await client.RequestAsync<ApiVersionsResponse>(Request(), only.MaxVersion, 32);
        Assert.Equal((short)ErrorCode.None, retried.ErrorCode);
    }

    [Fact]
    public void EveryServedKey_IsABrokerApi_AndZooKeeperKeysNeverAre()
    {
        foreach (var key in ApiMessages.All)
        {
            var brokerApi = RequestDispatcher.ServesBrokerListener(key);
            if (key is ApiKey.LeaderAndIsr or ApiKey.StopReplica or ApiKey.UpdateMetadata or ApiKey.ControlledShutdown)
            {
                Assert.False(brokerApi, $"{key} must never be served");
            }
        }
        Assert.True(RequestDispatcher.ServesBrokerListener(ApiKey.Metadata));
    }
}
