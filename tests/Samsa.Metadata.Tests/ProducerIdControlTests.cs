using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Protocol;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Metadata.Tests;

/// <summary>Producer id blocks (Kafka's ProducerIdControlManager): committed, replayed, snapshotted, never handed out twice.</summary>
public sealed class ProducerIdControlTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("samsa-pids-").FullName;

    private sealed class Node(LocalMetadataLog log, MetadataCache cache, QuorumController controller, long replayed) : IDisposable
    {
        public MetadataCache Cache => cache;

        public QuorumController Controller => controller;

        public long Replayed => replayed;

        public void Dispose()
        {
            controller.Dispose();
            log.Dispose();
        }
    }

    private Node Open(long snapshotBytes = 20 * 1024 * 1024)
    {
        var log = LocalMetadataLog.Open(_dir, new MetadataLogOptions { MaxRecordBytesBetweenSnapshots = snapshotBytes });
        var (image, replayed) = log.Load(MetadataImage.Empty("cluster"));
        var cache = new MetadataCache(image
            .WithBroker(new BrokerRegistration(1, [new BrokerEndpoint("PLAINTEXT", "localhost", 9092)], null))
            .WithBroker(new BrokerRegistration(2, [new BrokerEndpoint("PLAINTEXT", "localhost", 9093)], null)));
        return new Node(log, cache, new QuorumController(log, cache, new ControllerOptions()), replayed);
    }

    private static async Task<ProducerIdsBlock> Allocate(Node node, int brokerId)
    {
        var allocation = await node.Controller.AllocateProducerIdsAsync(brokerId, -1, default);
        Assert.Equal(ApiError.None, allocation.Error);
        return allocation.Block;
    }

    [Fact]
    public async Task FirstBlocks_StartAtZero_AreKafkasSize_AndFollowEachOther_WhicheverBrokerAsks()
    {
        using var node = Open();
        var a = await Allocate(node, 1);
        var b = await Allocate(node, 2);
        var c = await Allocate(node, 1);
        Assert.Equal(new ProducerIdsBlock(1, 0, 1000), a);
        Assert.Equal(new ProducerIdsBlock(2, 1000, 1000), b);
        Assert.Equal(new ProducerIdsBlock(1, 2000, 1000), c);
        Assert.Equal(3000, node.Cache.Current.NextProducerId);
    }

    [Fact]
    public async Task Blocks_SurviveAControllerRestart_ByReplayingTheLog()
    {
        var before = new List<ProducerIdsBlock>();
        using (var node = Open())
        {
            for (var i = 0; i < 5; i++)
            {
                before.Add(await Allocate(node, 1));
            }
        }
        using var reopened = Open();
        Assert.Equal(5, reopened.Replayed);
        Assert.Equal(5000, reopened.Cache.Current.NextProducerId);
        var after = await Allocate(reopened, 1);
        Assert.Equal(5000, after.FirstProducerId);
        AssertDisjoint([.. before, after]);
    }

    [Fact]
    public async Task Blocks_SurviveARestartFromASnapshot_WithNoLogTailToReplay()
    {
        using (var node = Open(snapshotBytes: 1))
        {
            for (var i = 0; i < 3; i++)
            {
                await Allocate(node, 2);
            }
        }
        var snapshot = MetadataSnapshots.Latest(Path.Combine(_dir, "__cluster_metadata-0"));
        Assert.NotNull(snapshot);
        var record = Assert.Single(MetadataSnapshots.Read(snapshot.Path).Select(r => r.Message).OfType<ProducerIdsRecord>());
        Assert.Equal(3000, record.NextProducerId);

        using var reopened = Open();
        Assert.Equal(0, reopened.Replayed);
        Assert.Equal(3000, reopened.Cache.Current.NextProducerId);
        Assert.Equal(3000, (await Allocate(reopened, 1)).FirstProducerId);
    }

    [Fact]
    public async Task ConcurrentAllocations_NeverOverlap()
    {
        using var node = Open();
        var blocks = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Allocate(node, 1 + (i % 2))));
        AssertDisjoint(blocks);
        Assert.Equal(50_000, node.Cache.Current.NextProducerId);
        Assert.Equal(49_000, blocks.Max(b => b.FirstProducerId));
    }

    [Fact]
    public void UnregisteredBroker_IsRefusedAsKafkaDoes_AndNothingIsWritten()
    {
        var result = ProducerIdControlManager.GenerateNextBlock(MetadataImage.Empty("c"), 7, 3);
        Assert.Empty(result.Records);
        Assert.Equal(ErrorCode.StaleBrokerEpoch, result.Response.Error.Error);
    }

    [Fact]
    public void ExhaustedIdSpace_IsRefused_AndNothingIsWritten()
    {
        var image = MetadataImage.Empty("c").WithBroker(new BrokerRegistration(1, [], null)) with { NextProducerId = long.MaxValue - 999 };
        var result = ProducerIdControlManager.GenerateNextBlock(image, 1, -1);
        Assert.Empty(result.Records);
        Assert.Equal(ErrorCode.UnknownServerError, result.Response.Error.Error);
    }

    [Fact]
    public void ReplayingARecordThatMovesBack_Fails_RatherThanHandOutIdsTwice()
    {
        var delta = new MetadataDelta(MetadataImage.Empty("c"));
        delta.Replay(MetadataRecord.Of(new ProducerIdsRecord { BrokerId = 1, NextProducerId = 2000 }), 0);
        Assert.Throws<InvalidOperationException>(() => delta.Replay(MetadataRecord.Of(new ProducerIdsRecord { BrokerId = 1, NextProducerId = 2000 }), 1));
        Assert.Equal(2000, delta.Apply().NextProducerId);
    }

    [Fact]
    public void ProducerIdsRecord_RoundTripsThroughKafkasFraming()
    {
        var record = MetadataRecord.Of(new ProducerIdsRecord { BrokerId = 1, BrokerEpoch = 5, NextProducerId = 1000 });
        var bytes = MetadataRecordSerde.Serialize(record);
        // frame version 1, api key 15, version 0, then the record.
        Assert.Equal([1, 15, 0], bytes[..3]);
        Assert.Equal(record.Message, MetadataRecordSerde.Deserialize(bytes).Message);
    }

    private static void AssertDisjoint(IEnumerable<ProducerIdsBlock> blocks)
    {
        var ordered = blocks.OrderBy(b => b.FirstProducerId).ToList();
        for (var i = 1; i < ordered.Count; i++)
        {
            Assert.True(ordered[i].FirstProducerId >= ordered[i - 1].End, $"{ordered[i - 1]} overlaps {ordered[i]}");
        }
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
