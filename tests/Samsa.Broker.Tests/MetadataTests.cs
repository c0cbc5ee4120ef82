using Samsa.Metadata;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Tests;

public class MetadataTests
{
    public static TheoryData<short> AllVersions() => new(Enumerable.Range(0, 13).Select(v => (short)v));

    public static TheoryData<short> VersionsWithNullableTopics() => new(Enumerable.Range(1, 12).Select(v => (short)v));

    private static MetadataRequest.MetadataRequestTopic Named(string name) => new() { Name = name };

    private static readonly Uuid OrdersId = Uuid.Parse("ErEuSmkGL9CZRKZPbPt6jw");

    private static void PublishOrdersTopic(TestBroker broker)
    {
        var image = broker.Broker.Metadata.Current.WithTopic(new TopicImage("orders", OrdersId, false,
        [
            new PartitionImage(0, 1, 5, [1], [1], []),
            new PartitionImage(1, -1, 2, [1], [], [1]),
        ]));
        broker.Broker.Metadata.Publish(image);
    }

    [Theory]
    [MemberData(nameof(AllVersions))]
    public async Task AllTopics_ListsThisBrokerWithItsBoundPort(short version)
    {
        await using var broker = await TestBroker.StartAsync(("broker.rack", "rack-a"));
        await using var client = await broker.ConnectAsync();
        // v0 has no null: an empty list means all topics there.
        var request = new MetadataRequest { Topics = version == 0 ? [] : null };

        var (_, response) = await client.RequestAsync<MetadataResponse>(request, version);

        var self = Assert.Single(response.Brokers);
        Assert.Equal((1, "127.0.0.1", broker.Port), (self.NodeId, self.Host, self.Port));
        Assert.Equal(version >= 1 ? "rack-a" : null, self.Rack);
        Assert.Equal(version >= 2 ? broker.Broker.ClusterId : null, response.ClusterId);
        Assert.Equal(version >= 1 ? 1 : -1, response.ControllerId);
        Assert.Empty(response.Topics);
        Assert.Equal(int.MinValue, response.ClusterAuthorizedOperations);
    }

    [Theory]
    [MemberData(nameof(AllVersions))]
    public async Task KnownTopic_ReportsPartitionsLeadersEpochsAndReplicas(short version)
    {
        await using var broker = await TestBroker.StartAsync();
        PublishOrdersTopic(broker);
        await using var client = await broker.ConnectAsync();

        var (_, response) = await client.RequestAsync<MetadataResponse>(new MetadataRequest { Topics = [Named("orders")] }, version);

        var topic = Assert.Single(response.Topics);
        Assert.Equal(((short)ErrorCode.None, "orders"), (topic.ErrorCode, topic.Name));
        Assert.Equal(version >= 10 ? OrdersId : Uuid.Zero, topic.TopicId);
        Assert.Equal(2, topic.Partitions.Count);
        var led = topic.Partitions[0];
        Assert.Equal((0, 1, version >= 7 ? 5 : -1), (led.PartitionIndex, led.LeaderId, led.LeaderEpoch));
        Assert.Equal([1], led.ReplicaNodes);
        Assert.Equal([1], led.IsrNodes);
        var leaderless = topic.Partitions[1];
        Assert.Equal((short)ErrorCode.LeaderNotAvailable, leaderless.ErrorCode);
        Assert.Equal(version >= 5 ? [1] : [], leaderless.OfflineReplicas);
    }

    [Theory]
    [MemberData(nameof(AllVersions))]
    public async Task UnknownAndIllegalNames_GetTheirErrorsInRequestOrder(short version)
    {
        await using var broker = await TestBroker.StartAsync(("auto.create.topics.enable", "false"));
        await using var client = await broker.ConnectAsync();
        var names = new[] { "missing", "bad name!", "..", new string('x', 250), "x" };

        var (_, response) = await client.RequestAsync<MetadataResponse>(new MetadataRequest { Topics = names.Select(Named).ToList() }, version);

        Assert.Equal(names, response.Topics.Select(t => t.Name));
        Assert.Equal(
            [ErrorCode.UnknownTopicOrPartition, ErrorCode.InvalidTopicException, ErrorCode.InvalidTopicException, ErrorCode.InvalidTopicException, ErrorCode.UnknownTopicOrPartition],
            response.Topics.Select(t => (ErrorCode)t.ErrorCode));
    }

    [Theory]
    [MemberData(nameof(VersionsWithNullableTopics))]
    public async Task EmptyTopicList_FromV1_MeansNoTopics(short version)
    {
        await using var broker = await TestBroker.StartAsync();
        PublishOrdersTopic(broker);
        await using var client = await broker.ConnectAsync();
        var (_, none) = await client.RequestAsync<MetadataResponse>(new MetadataRequest { Topics = [] }, version);
        var (_, all) = await client.RequestAsync<MetadataResponse>(new MetadataRequest { Topics = null }, version, 2);
        Assert.Empty(none.Topics);
        Assert.Equal(["orders"], all.Topics.Select(t => t.Name));
    }

    [Fact]
    public async Task TopicIds_AreResolvedFromV12()
    {
        await using var broker = await TestBroker.StartAsync();
        PublishOrdersTopic(broker);
        await using var client = await broker.ConnectAsync();
        var unknown = Uuid.Random();
        var request = new MetadataRequest { Topics = [new() { Name = null, TopicId = OrdersId }, new() { Name = null, TopicId = unknown }] };

        var (_, response) = await client.RequestAsync<MetadataResponse>(request, 12);

        Assert.Equal(("orders", (short)ErrorCode.None), (response.Topics[0].Name, response.Topics[0].ErrorCode));
        Assert.Equal((null, unknown, (short)ErrorCode.UnknownTopicId), (response.Topics[1].Name, response.Topics[1].TopicId, response.Topics[1].ErrorCode));
    }

    [Fact]
    public async Task TopicIdsBeforeV12_AreAnInvalidRequest()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        var request = new MetadataRequest { Topics = [new() { Name = "orders", TopicId = OrdersId }] };
        var (_, response) = await client.RequestAsync<MetadataResponse>(request, 11);
        Assert.Equal((short)ErrorCode.InvalidRequest, Assert.Single(response.Topics).ErrorCode);
        Assert.Empty(response.Brokers);
    }

    [Fact]
    public async Task AdvertisedListeners_AreWhatClientsAreTold()
    {
        await using var broker = await TestBroker.StartAsync(("advertised.listeners", "PLAINTEXT://kafka.example.com:19092"));
        await using var client = await broker.ConnectAsync();
        var (_, response) = await client.RequestAsync<MetadataResponse>(new MetadataRequest { Topics = null }, 12);
        var self = Assert.Single(response.Brokers);
        Assert.Equal(("kafka.example.com", 19092), (self.Host, self.Port));
    }

    [Fact]
    public void TopicNameRules_MatchKafka()
    {
        Assert.Null(TopicName.Validate("a.b_c-D9"));
        Assert.Null(TopicName.Validate(new string('a', 249)));
        Assert.NotNull(TopicName.Validate(new string('a', 250)));
        Assert.NotNull(TopicName.Validate(""));
        Assert.NotNull(TopicName.Validate("."));
        Assert.NotNull(TopicName.Validate(".."));
        Assert.NotNull(TopicName.Validate("é"));
        Assert.True(TopicName.IsInternal("__consumer_offsets"));
    }
}
