using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Protocol;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Metadata.Tests;

/// <summary>
/// The broker records in the image (Kafka's <c>ClusterControlManager.replay</c> and <c>BrokerRegistration.toRecord</c>):
/// each one replayed, framed and unframed as Kafka writes it, and a snapshot that restores brokers with their state.
/// </summary>
public sealed class BrokerRecordReplayTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("samsa-broker-records-").FullName;
    private static readonly Uuid Incarnation = Uuid.Parse("MvDxzVmcRsaTz33bUuRU6A");

    private static RegisterBrokerRecord Register(int id, long epoch) => new()
    {
        BrokerId = id,
        IncarnationId = Incarnation,
        BrokerEpoch = epoch,
        EndPoints = [new() { Name = "PLAINTEXT", Host = "broker" + id, Port = 9092, SecurityProtocol = 0 }],
        Features = [new() { Name = "metadata.version", MinSupportedVersion = 7, MaxSupportedVersion = 27 }],
        Rack = "rack-a",
        Fenced = true,
    };

    private static MetadataImage Replay(MetadataImage image, long offset, params IProtocolMessage[] records)
    {
        var delta = new MetadataDelta(image);
        foreach (var record in records)
        {
            // Through the serde, so every record is also written and read back in Kafka's framing.
            var framed = MetadataRecordSerde.Deserialize(MetadataRecordSerde.Serialize(Of(record)));
            Assert.Equal(Of(record).Version, framed.Version);
            delta.Replay(framed, offset++);
        }
        return delta.Apply();
    }

    private static MetadataRecord Of(IProtocolMessage record) => record switch
    {
        RegisterBrokerRecord r => MetadataRecord.Of(r),
        UnregisterBrokerRecord r => MetadataRecord.Of(r),
        FenceBrokerRecord r => MetadataRecord.Of(r),
        UnfenceBrokerRecord r => MetadataRecord.Of(r),
        BrokerRegistrationChangeRecord r => MetadataRecord.Of(r),
        _ => throw new ArgumentException(record.GetType().Name),
    };

    [Fact]
    public void RegisterBrokerRecord_KeepsEpochIncarnationFeaturesAndFencedState()
    {
        var image = Replay(MetadataImage.Empty("c"), 10, Register(1, 10));
        var broker = image.Brokers[1];
        Assert.True(broker.Fenced);
        Assert.Equal(10, broker.Epoch);
        Assert.Equal(Incarnation, broker.IncarnationId);
        Assert.Equal("rack-a", broker.Rack);
        Assert.Equal(new BrokerEndpoint("PLAINTEXT", "broker1", 9092), Assert.Single(broker.Endpoints));
        Assert.Equal(new BrokerFeatureRange("metadata.version", 7, 27), Assert.Single(broker.SupportedFeatures));
    }

    [Fact]
    public void UnfenceThenFenceBrokerRecord_ChangeOnlyTheFencedFlag()
    {
        var registered = Replay(MetadataImage.Empty("c"), 10, Register(1, 10));
        var unfenced = Replay(registered, 11, new UnfenceBrokerRecord { Id = 1, Epoch = 10 });
        Assert.False(unfenced.Brokers[1].Fenced);
        Assert.True(unfenced.Brokers[1].IsActive);
        var fenced = Replay(unfenced, 12, new FenceBrokerRecord { Id = 1, Epoch = 10 });
        Assert.True(fenced.Brokers[1].Fenced);
        Assert.Equal(registered.Brokers[1], fenced.Brokers[1]);
    }

    [Fact]
    public void BrokerRegistrationChangeRecord_FencesUnfencesAndEntersControlledShutdown()
    {
        var registered = Replay(MetadataImage.Empty("c"), 10, Register(1, 10));
        var unfenced = Replay(registered, 11, new BrokerRegistrationChangeRecord { BrokerId = 1, BrokerEpoch = 10, Fenced = -1 });
        Assert.False(unfenced.Brokers[1].Fenced);

        var shuttingDown = Replay(unfenced, 12, new BrokerRegistrationChangeRecord { BrokerId = 1, BrokerEpoch = 10, InControlledShutdown = 1 });
        Assert.True(shuttingDown.Brokers[1].InControlledShutdown);
        Assert.False(shuttingDown.Brokers[1].Fenced);
        Assert.False(shuttingDown.Brokers[1].IsActive);

        var fenced = Replay(shuttingDown, 13, new BrokerRegistrationChangeRecord { BrokerId = 1, BrokerEpoch = 10, Fenced = 1 });
        Assert.True(fenced.Brokers[1].Fenced);
        Assert.True(fenced.Brokers[1].InControlledShutdown);

        // A new registration starts the broker afresh.
        var restarted = Replay(fenced, 14, Register(1, 14));
        Assert.False(restarted.Brokers[1].InControlledShutdown);
        Assert.Equal(14, restarted.Brokers[1].Epoch);
    }

    [Fact]
    public void UnregisterBrokerRecord_RemovesTheRegistration()
    {
        var registered = Replay(MetadataImage.Empty("c"), 10, Register(1, 10), Register(2, 11));
        var image = Replay(registered, 12, new UnregisterBrokerRecord { BrokerId = 1, BrokerEpoch = 10 });
        Assert.Equal([2], image.Brokers.Keys);
    }

    [Fact]
    public void ARecordForAnotherEpochOrAnUnknownBroker_IsACorruptLog()
    {
        var registered = Replay(MetadataImage.Empty("c"), 10, Register(1, 10));
        Assert.Throws<InvalidOperationException>(() => Replay(registered, 11, new FenceBrokerRecord { Id = 1, Epoch = 9 }));
        Assert.Throws<InvalidOperationException>(() => Replay(registered, 11, new UnfenceBrokerRecord { Id = 2, Epoch = 10 }));
        Assert.Throws<InvalidOperationException>(() => Replay(registered, 11, new UnregisterBrokerRecord { BrokerId = 1, BrokerEpoch = 11 }));
    }

    [Fact]
    public void Snapshot_RestoresRegisteredBrokersWithTheirFencedState_AndLeavesOutTheNodesOwnRegistration()
    {
        var image = Replay(MetadataImage.Empty("c"), 10,
            Register(1, 10), Register(2, 11), Register(3, 12),
            new UnfenceBrokerRecord { Id = 2, Epoch = 11 },
            new UnfenceBrokerRecord { Id = 3, Epoch = 12 },
            new BrokerRegistrationChangeRecord { BrokerId = 3, BrokerEpoch = 12, InControlledShutdown = 1 });
        image = image.WithBroker(new BrokerRegistration(9, [new BrokerEndpoint("PLAINTEXT", "self", 9092)], null));

        var path = MetadataSnapshots.Write(_dir, image, timestampMs: 0);
        var restored = new MetadataDelta(MetadataImage.Empty("c"));
        var offset = 0L;
        foreach (var record in MetadataSnapshots.Read(path))
        {
            restored.Replay(record, offset++);
        }
        var brokers = restored.Apply().Brokers;

        Assert.Equal([1, 2, 3], brokers.Keys);
        foreach (var id in new[] { 1, 2, 3 })
        {
            var (was, now) = (image.Brokers[id], brokers[id]);
            Assert.Equal((was.Fenced, was.InControlledShutdown, was.Epoch, was.IncarnationId, was.Rack), (now.Fenced, now.InControlledShutdown, now.Epoch, now.IncarnationId, now.Rack));
            Assert.True(was.Endpoints.SequenceEqual(now.Endpoints));
            Assert.True(was.SupportedFeatures.SequenceEqual(now.SupportedFeatures));
        }
        Assert.True(brokers[1].Fenced);
        Assert.False(brokers[2].Fenced);
        Assert.True(brokers[3].InControlledShutdown);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
