using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Metadata.Tests;

/// <summary>The metadata log on disk, replay into images, snapshots, and the controller's decisions.</summary>
public sealed class MetadataLogTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("samsa-metadata-").FullName;

    private static MetadataImage WithBroker(MetadataImage image) =>
        image.WithBroker(new BrokerRegistration(1, [new BrokerEndpoint("PLAINTEXT", "localhost", 9092)], null));

    private static CreateTopicsRequest Create(string name, int partitions, short rf = 1, params (string, string)[] configs) => new()
    {
        Topics = [new() { Name = name, NumPartitions = partitions, ReplicationFactor = rf, Configs = configs.Select(c => new CreateTopicsRequest.CreatableTopicConfig { Name = c.Item1, Value = c.Item2 }).ToList() }],
    };

    private (QuorumController, MetadataCache, LocalMetadataLog) Open(long snapshotBytes = 20 * 1024 * 1024)
    {
        var log = LocalMetadataLog.Open(_dir, new MetadataLogOptions { MaxRecordBytesBetweenSnapshots = snapshotBytes });
        var (image, _) = log.Load(MetadataImage.Empty("cluster"));
        var cache = new MetadataCache(WithBroker(image));
        return (new QuorumController(log, cache, new ControllerOptions()), cache, log);
    }

    [Fact]
    public async Task CommittedTopicsAndConfigs_AreReplayedAfterReopening()
    {
        Uuid id;
        {
            var (controller, cache, log) = Open();
            using var _ = log;
            var created = await controller.CreateTopicsAsync(Create("orders", 3, 1, ("retention.ms", "1000")), default);
            Assert.Equal(0, created.Topics[0].ErrorCode);
            id = created.Topics[0].TopicId;
            await controller.CreatePartitionsAsync(new CreatePartitionsRequest { Topics = [new() { Name = "orders", Count = 5 }] }, default);
            Assert.Equal(5, cache.Current.Topics["orders"].Partitions.Length);
        }
        var (_, reopened, log2) = Open();
        using (log2)
        {
            var topic = reopened.Current.Topics["orders"];
            Assert.Equal(id, topic.TopicId);
            Assert.Equal(5, topic.Partitions.Length);
            Assert.Equal("1000", reopened.Current.ConfigsOf(new ConfigResource(ConfigResourceType.Topic, "orders"))["retention.ms"]);
        }
    }

    [Fact]
    public async Task Snapshot_BoundsWhatARestartReplays()
    {
        {
            var (controller, _, log) = Open(snapshotBytes: 1);
            using var _ = log;
            for (var i = 0; i < 20; i++)
            {
                await controller.CreateTopicsAsync(Create($"t{i}", 2), default);
            }
        }
        Assert.NotNull(MetadataSnapshots.Latest(Path.Combine(_dir, "__cluster_metadata-0")));
        using var reopened = LocalMetadataLog.Open(_dir, new MetadataLogOptions());
        var (image, replayed) = reopened.Load(MetadataImage.Empty("cluster"));
        Assert.Equal(20, image.Topics.Count);
        Assert.Equal(0, replayed);
    }

    [Fact]
    public void Controller_RejectsWithKafkasErrors_AndWritesNothing()
    {
        var image = WithBroker(MetadataImage.Empty("c"));
        var options = new ControllerOptions();
        ErrorCode Code(CreateTopicsRequest r)
        {
            var result = ReplicationControlManager.CreateTopics(image, r, options);
            Assert.Empty(result.Records);
            return (ErrorCode)result.Response.Topics[0].ErrorCode;
        }
        Assert.Equal(ErrorCode.InvalidReplicationFactor, Code(Create("a", 1, 2)));
        Assert.Equal(ErrorCode.InvalidPartitions, Code(Create("a", 0)));
        Assert.Equal(ErrorCode.InvalidTopicException, Code(Create("..", 1)));
        Assert.Equal(ErrorCode.InvalidTopicException, Code(Create(new string('a', 250), 1)));
        Assert.Equal(ErrorCode.InvalidConfig, Code(Create("a", 1, 1, ("retention.ms", "x"))));
        Assert.Equal(ErrorCode.InvalidConfig, Code(Create("a", 1, 1, ("no.such", "1"))));
        Assert.Equal(ErrorCode.InvalidConfig, Code(Create("a", 1, 1, ("cleanup.policy", "compact,bogus"))));
        Assert.Equal(ErrorCode.InvalidConfig, Code(Create("a", 1, 1, ("min.insync.replicas", "0"))));
        var validateOnly = Create("a", 1);
        validateOnly.validateOnly = true;
        Assert.Equal(ErrorCode.None, Code(validateOnly));
    }

    [Fact]
    public void IncrementalAlter_AppendsAndSubtractsListValues_AndRejectsAppendOnScalars()
    {
        var delta = new MetadataDelta(WithBroker(MetadataImage.Empty("c")));
        foreach (var (record, i) in ReplicationControlManager.CreateTopics(delta.Image, Create("t", 1), new ControllerOptions()).Records.Select((r, i) => (r, i)))
        {
            delta.Replay(record, i);
        }
        var image = delta.Apply();
        var request = new IncrementalAlterConfigsRequest
        {
            Resources = [new() { ResourceType = 2, ResourceName = "t", Configs = [new() { Name = "cleanup.policy", ConfigOperation = 2, Value = "compact" }] }],
        };
        var appended = ConfigurationControlManager.IncrementalAlter(image, request, new ControllerOptions());
        Assert.Equal(0, appended.Response.Responses[0].ErrorCode);
        var next = new MetadataDelta(image);
        next.Replay(appended.Records.Single(), 100);
        Assert.Equal("delete,compact", next.Apply().ConfigsOf(new ConfigResource(ConfigResourceType.Topic, "t"))["cleanup.policy"]);

        request.Resources[0].Configs[0] = new() { Name = "retention.ms", ConfigOperation = 2, Value = "5" };
        Assert.Equal((short)ErrorCode.InvalidConfig, ConfigurationControlManager.IncrementalAlter(image, request, new ControllerOptions()).Response.Responses[0].ErrorCode);
    }

    [Fact]
    public void RecordSerde_MatchesKafkasFraming()
    {
        var record = MetadataRecord.Of(new Samsa.Protocol.MetadataRecords.TopicRecord { Name = "a", TopicId = new Uuid(1, 2) });
        var bytes = MetadataRecordSerde.Serialize(record);
        // frame version 1, api key 2 (TopicRecord), version 0, then the record: compact string "a", uuid, no tags.
        Assert.Equal(new byte[] { 1, 2, 0, 2, (byte)'a' }, bytes[..5]);
        Assert.Equal(5 + 16 + 1, bytes.Length);
        var back = MetadataRecordSerde.Deserialize(bytes);
        Assert.Equal(record.Message, back.Message);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
