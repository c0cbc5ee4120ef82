using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;

namespace Samsa.Broker.Tests;

/// <summary>DescribeLogDirs, features in ApiVersions, UpdateFeatures and UnregisterBroker against an in-process broker.</summary>
public class LogDirsAndFeaturesHandlerTests
{
    private static async Task CreateTopicAsync(TestBroker broker, TestClient client, string name, int partitions)
    {
        var (_, response) = await client.RequestAsync<CreateTopicsResponse>(new CreateTopicsRequest
        {
            timeoutMs = 10000,
            Topics = [new() { Name = name, NumPartitions = partitions, ReplicationFactor = 1 }],
        }, 7);
        Assert.Equal(0, response.Topics[0].ErrorCode);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Enumerable.Range(0, partitions).Any(p => broker.Broker.Logs.Get(name, p) is null))
        {
            Assert.True(DateTime.UtcNow < deadline, $"partition logs of {name} were not opened");
            await Task.Delay(10);
        }
    }

    private static async Task ProduceAsync(TestClient client, string topic, int partition, string value)
    {
        using var builder = new RecordBatchBuilder();
        builder.Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null, System.Text.Encoding.UTF8.GetBytes(value));
        var (_, response) = await client.RequestAsync<ProduceResponse>(new ProduceRequest
        {
            Acks = -1,
            TimeoutMs = 5000,
            TopicData = [new() { Name = topic, PartitionData = [new() { Index = partition, Records = builder.Build() }] }],
        }, 9);
        Assert.Equal(0, response.Responses[0].PartitionResponses[0].ErrorCode);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task DescribeLogDirs_AllTopics_ReportsEachPartitionsSizeOnDisk(short version)
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        await CreateTopicAsync(broker, client, "sized", 2);
        await ProduceAsync(client, "sized", 1, "hello");

        var (_, response) = await client.RequestAsync<DescribeLogDirsResponse>(new DescribeLogDirsRequest { Topics = null }, version);

        Assert.Equal(0, response.ErrorCode);
        var dir = Assert.Single(response.Results);
        Assert.Equal(0, dir.ErrorCode);
        Assert.Equal(Path.GetFullPath(broker.Broker.Config.LogDirs[0]), dir.LogDir);
        var topic = Assert.Single(dir.Topics, t => t.Name == "sized");
        Assert.Equal([0, 1], topic.Partitions.Select(p => p.PartitionIndex));
        Assert.Equal(0, topic.Partitions[0].PartitionSize);
        Assert.Equal(broker.Broker.Logs.Get("sized", 1)!.Size, topic.Partitions[1].PartitionSize);
        Assert.True(topic.Partitions[1].PartitionSize > 0);
        Assert.All(topic.Partitions, p => Assert.Equal((0L, false), (p.OffsetLag, p.IsFutureKey)));
        if (version >= 4)
        {
            Assert.True(dir.TotalBytes > 0 && dir.UsableBytes > 0 && dir.UsableBytes <= dir.TotalBytes, $"{dir.TotalBytes} {dir.UsableBytes}");
        }
        else
        {
            Assert.Equal((-1L, -1L), (dir.TotalBytes, dir.UsableBytes));
        }
    }

    [Fact]
    public async Task DescribeLogDirs_NamedPartitions_ListsOnlyThose_AndDropsTopicsWithNone()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        await CreateTopicAsync(broker, client, "a", 3);
        await CreateTopicAsync(broker, client, "b", 1);

        var (_, response) = await client.RequestAsync<DescribeLogDirsResponse>(new DescribeLogDirsRequest
        {
            Topics = [new() { Topic = "a", Partitions = [2, 7] }, new() { Topic = "missing", Partitions = [0] }],
        }, 4);

        var topic = Assert.Single(Assert.Single(response.Results).Topics);
        Assert.Equal("a", topic.Name);
        Assert.Equal(2, Assert.Single(topic.Partitions).PartitionIndex);
    }

    [Fact]
    public async Task DescribeLogDirs_Version0_IsUnsupported_AndClosesTheConnection_AsKafka40()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        await client.SendRawAsync(TestClient.EncodeRequest(new DescribeLogDirsRequest { Topics = null }, 0, 1));
        Assert.True(await client.WaitForCloseAsync());
    }

    [Fact]
    public async Task ApiVersions_V4_ReportsSupportedAndFinalizedFeatures_WithTheImageOffsetAsEpoch()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        var (_, response) = await client.RequestAsync<ApiVersionsResponse>(new ApiVersionsRequest { ClientSoftwareName = "t", ClientSoftwareVersion = "1" }, 4);

        Assert.Equal(
            [("group.version", (short)0, (short)1), ("metadata.version", (short)7, (short)25)],
            response.SupportedFeatures.Select(f => (f.Name, f.MinVersion, f.MaxVersion)));
        Assert.Equal([("group.version", (short)1, (short)1), ("metadata.version", (short)25, (short)25)],
            response.FinalizedFeatures.Select(f => (f.Name, f.MinVersionLevel, f.MaxVersionLevel)));
        Assert.Equal(broker.Broker.Metadata.Current.Offset, response.FinalizedFeaturesEpoch);
        Assert.True(response.FinalizedFeaturesEpoch >= 1);
    }

    [Fact]
    public async Task ApiVersions_V3_LeavesOutFeaturesWhoseMinimumIsZero()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        var (_, v3) = await client.RequestAsync<ApiVersionsResponse>(new ApiVersionsRequest { ClientSoftwareName = "t", ClientSoftwareVersion = "1" }, 3);
        Assert.Equal([("metadata.version", (short)7, (short)25)],
            v3.SupportedFeatures.Select(f => (f.Name, f.MinVersion, f.MaxVersion)));
        Assert.Equal(2, v3.FinalizedFeatures.Count);

        // Below v3 the fields do not exist on the wire.
        var (_, v2) = await client.RequestAsync<ApiVersionsResponse>(new ApiVersionsRequest(), 2);
        Assert.Empty(v2.SupportedFeatures);
        Assert.Equal(-1, v2.FinalizedFeaturesEpoch);
    }

    [Fact]
    public async Task UpdateFeatures_EveryVersion_AndTheLevelSurvivesARestart()
    {
        using var dir = new TempDir();
        await using (var broker = await TestBroker.StartInAsync(dir))
        {
            await using var client = await broker.ConnectAsync();
            // v1 validate_only: accepted, nothing written.
            var before = broker.Broker.Metadata.Current.Offset;
            var (_, dryRun) = await client.RequestAsync<UpdateFeaturesResponse>(new UpdateFeaturesRequest
            {
                ValidateOnly = true,
                FeatureUpdates = [new() { Feature = "group.version", MaxVersionLevel = 0, UpgradeType = 2 }],
            }, 1);
            Assert.Equal((0, "group.version", 0), (dryRun.ErrorCode, Assert.Single(dryRun.Results).Feature, dryRun.Results[0].ErrorCode));
            Assert.Equal(before, broker.Broker.Metadata.Current.Offset);

            // v0 without allow_downgrade is an upgrade, so lowering the level fails: a top-level error, no results.
            var (_, refused) = await client.RequestAsync<UpdateFeaturesResponse>(new UpdateFeaturesRequest
            {
                FeatureUpdates = [new() { Feature = "group.version", MaxVersionLevel = 0, AllowDowngrade = false }],
            }, 0);
            Assert.Equal((short)ErrorCode.InvalidUpdateVersion, refused.ErrorCode);
            Assert.StartsWith("Invalid update version 0 for feature group.version.", refused.ErrorMessage);
            Assert.Empty(refused.Results);

            // v2 safe downgrade: committed; v2 carries no per-feature results.
            var (_, downgraded) = await client.RequestAsync<UpdateFeaturesResponse>(new UpdateFeaturesRequest
            {
                FeatureUpdates = [new() { Feature = "group.version", MaxVersionLevel = 0, UpgradeType = 2 }],
            }, 2);
            Assert.Equal(0, downgraded.ErrorCode);
            Assert.Empty(downgraded.Results);
            Assert.False(broker.Broker.Metadata.Current.Features.ContainsKey("group.version"));

            var (_, unknownType) = await client.RequestAsync<UpdateFeaturesResponse>(new UpdateFeaturesRequest
            {
                FeatureUpdates = [new() { Feature = "group.version", MaxVersionLevel = 1, UpgradeType = 9 }],
            }, 2);
            Assert.Equal((short)ErrorCode.InvalidUpdateVersion, unknownType.ErrorCode);
        }

        await using (var restarted = await TestBroker.StartInAsync(dir))
        {
            Assert.False(restarted.Broker.Metadata.Current.Features.ContainsKey("group.version"));
            Assert.Equal((short)25, restarted.Broker.Metadata.Current.Features["metadata.version"]);
            await using var client = await restarted.ConnectAsync();
            var (_, versions) = await client.RequestAsync<ApiVersionsResponse>(new ApiVersionsRequest { ClientSoftwareName = "t", ClientSoftwareVersion = "1" }, 4);
            Assert.Equal(["metadata.version"], versions.FinalizedFeatures.Select(f => f.Name));
        }
    }

    [Fact]
    public async Task GroupVersion0_TurnsTheConsumerProtocolOff_AndBackOnAt1()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        await CreateTopicAsync(broker, client, "kip848", 1);
        var join = new ConsumerGroupHeartbeatRequest { GroupId = "g", MemberId = Guid.NewGuid().ToString("N")[..22], MemberEpoch = 0, RebalanceTimeoutMs = 30000, SubscribedTopicNames = ["kip848"], TopicPartitions = [] };

        async Task<short> SetGroupVersionAsync(short level, sbyte type)
        {
            var (_, response) = await client.RequestAsync<UpdateFeaturesResponse>(new UpdateFeaturesRequest
            {
                FeatureUpdates = [new() { Feature = "group.version", MaxVersionLevel = level, UpgradeType = type }],
            }, 2);
            return response.ErrorCode;
        }

        // Retries while the coordinator of __consumer_offsets loads.
        async Task<ConsumerGroupHeartbeatResponse> JoinAsync()
        {
            for (var attempt = 0; ; attempt++)
            {
                var (_, response) = await client.RequestAsync<ConsumerGroupHeartbeatResponse>(join, 1);
                if (attempt < 100 && (ErrorCode)response.ErrorCode is ErrorCode.NotCoordinator or ErrorCode.CoordinatorLoadInProgress or ErrorCode.CoordinatorNotAvailable)
                {
                    await Task.Delay(100);
                    continue;
                }
                return response;
            }
        }

        Assert.Equal(0, await SetGroupVersionAsync(0, 2));
        Assert.Equal((short)ErrorCode.UnsupportedVersion, (await JoinAsync()).ErrorCode);

        Assert.Equal(0, await SetGroupVersionAsync(1, 1));
        // FindCoordinator creates __consumer_offsets, as a client's first step.
        await client.RequestAsync<FindCoordinatorResponse>(new FindCoordinatorRequest { KeyType = 0, CoordinatorKeys = ["g"] }, 4);
        var on = await JoinAsync();
        Assert.Equal(0, on.ErrorCode);
        Assert.Equal(1, on.MemberEpoch);
    }

    [Fact]
    public async Task UnregisterBroker_UnknownId_IsNotRegistered_AndTheLiveNodeIsRefused()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        var (_, unknown) = await client.RequestAsync<UnregisterBrokerResponse>(new UnregisterBrokerRequest { BrokerId = 5 }, 0);
        Assert.Equal(((short)ErrorCode.BrokerIdNotRegistered, "Broker ID 5 is not currently registered"), (unknown.ErrorCode, unknown.ErrorMessage));
        var (_, self) = await client.RequestAsync<UnregisterBrokerResponse>(new UnregisterBrokerRequest { BrokerId = broker.Broker.NodeId }, 0);
        Assert.Equal((short)ErrorCode.InvalidRequest, self.ErrorCode);
        Assert.Contains(broker.Broker.NodeId, broker.Broker.Metadata.Current.Brokers.Keys);
    }
}
