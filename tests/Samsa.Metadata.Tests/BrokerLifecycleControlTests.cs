using Microsoft.Extensions.Time.Testing;
using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Metadata.Tests;

/// <summary>
/// Broker registration, heartbeats, session timeouts and the leadership moves they cause, decided by a real
/// <see cref="QuorumController"/> over a real <see cref="LocalMetadataLog"/> on a fake clock (Kafka's
/// <c>ClusterControlManagerTest</c>, <c>QuorumControllerTest.testFenceMultipleBrokers</c>,
/// <c>ReplicationControlManagerTest.testCreateTopicsWithFencedBrokers</c>).
/// </summary>
public sealed class BrokerLifecycleControlTests : IDisposable
{
    private const string ClusterId = "lifecycle-cluster";
    private readonly string _dir = Directory.CreateTempSubdirectory("samsa-lifecycle-").FullName;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly LocalMetadataLog _log;
    private readonly MetadataCache _cache;
    private readonly QuorumController _controller;
    private readonly Dictionary<int, Uuid> _incarnations = [];

    public BrokerLifecycleControlTests()
    {
        _log = LocalMetadataLog.Open(_dir, new MetadataLogOptions());
        var (image, _) = _log.Load(MetadataImage.Empty(ClusterId));
        _cache = new MetadataCache(image);
        _controller = new QuorumController(_log, _cache, new ControllerOptions { Time = _clock, Random = new Random(7) });
    }

    private MetadataImage Image => _cache.Current;

    private BrokerRegistrationRequest Registration(int id, Uuid? incarnation = null, string cluster = ClusterId)
    {
        var request = new BrokerRegistrationRequest
        {
            BrokerId = id,
            ClusterId = cluster,
            IncarnationId = incarnation ?? _incarnations.GetValueOrDefault(id, Uuid.Random()),
            Listeners = [new() { Name = "PLAINTEXT", Host = "localhost", Port = (ushort)(9090 + id), SecurityProtocol = 0 }],
            Features = [.. FeatureControlManager.Supported.Select(f => new BrokerRegistrationRequest.Feature { Name = f.Key, MinSupportedVersion = f.Value.Min, MaxSupportedVersion = f.Value.Max })],
            Rack = null,
        };
        _incarnations.TryAdd(id, request.IncarnationId);
        return request;
    }

    private async Task<long> RegisterAsync(int id)
    {
        var response = await _controller.RegisterBrokerAsync(Registration(id), default);
        Assert.Equal((short)ErrorCode.None, response.ErrorCode);
        return response.BrokerEpoch;
    }

    private Task<BrokerHeartbeatResponse> HeartbeatAsync(int id, long epoch, long? offset = null, bool wantShutDown = false) =>
        _controller.BrokerHeartbeatAsync(new BrokerHeartbeatRequest
        {
            BrokerId = id,
            BrokerEpoch = epoch,
            CurrentMetadataOffset = offset ?? Image.Offset,
            WantShutDown = wantShutDown,
        }, default);

    /// <summary>Registers the brokers and heartbeats each once, caught up, so all are unfenced.</summary>
    private async Task<Dictionary<int, long>> ActiveBrokersAsync(params int[] ids)
    {
        var epochs = new Dictionary<int, long>();
        foreach (var id in ids)
        {
            epochs[id] = await RegisterAsync(id);
        }
        foreach (var id in ids)
        {
            var response = await HeartbeatAsync(id, epochs[id]);
            Assert.False(response.IsFenced);
        }
        return epochs;
    }

    private async Task<TopicImage> CreateTopicAsync(string name, int partitions, short replicationFactor)
    {
        var response = await _controller.CreateTopicsAsync(new CreateTopicsRequest
        {
            Topics = [new() { Name = name, NumPartitions = partitions, ReplicationFactor = replicationFactor }],
        }, default);
        Assert.Equal((short)ErrorCode.None, response.Topics[0].ErrorCode);
        return Image.Topics[name];
    }

    [Fact]
    public async Task Register_NewBroker_IsFencedWithItsRecordOffsetAsEpoch()
    {
        await _controller.BootstrapAsync(default);
        var expectedOffset = _log.EndOffset;
        var request = Registration(1);
        var response = await _controller.RegisterBrokerAsync(request, default);

        Assert.Equal((short)ErrorCode.None, response.ErrorCode);
        Assert.Equal(expectedOffset, response.BrokerEpoch);
        var broker = Image.Brokers[1];
        Assert.True(broker.Fenced);
        Assert.Equal(response.BrokerEpoch, broker.Epoch);
        Assert.Equal(request.IncarnationId, broker.IncarnationId);
        Assert.Equal(new BrokerEndpoint("PLAINTEXT", "localhost", 9091), Assert.Single(broker.Endpoints));
        Assert.Contains(broker.SupportedFeatures, f => f.Name == FeatureControlManager.MetadataVersionFeature);
    }

    [Fact]
    public async Task Register_AnotherClustersBroker_IsRefusedWithInconsistentClusterId()
    {
        var response = await _controller.RegisterBrokerAsync(Registration(1, cluster: "other-cluster"), default);
        Assert.Equal((short)ErrorCode.InconsistentClusterId, response.ErrorCode);
        Assert.Empty(Image.Brokers);
    }

    [Fact]
    public async Task Register_BrokerNotSupportingTheFinalizedMetadataVersion_IsRefused()
    {
        await _controller.BootstrapAsync(default);
        var request = Registration(1);
        request.Features = [new() { Name = FeatureControlManager.MetadataVersionFeature, MinSupportedVersion = 1, MaxSupportedVersion = 1 }];
        var response = await _controller.RegisterBrokerAsync(request, default);
        Assert.Equal((short)ErrorCode.UnsupportedVersion, response.ErrorCode);
    }

    [Fact]
    public async Task Register_SameIncarnationAgain_AnswersTheSameEpochWithoutWriting()
    {
        var epoch = await RegisterAsync(1);
        var end = _log.EndOffset;
        var again = await _controller.RegisterBrokerAsync(Registration(1), default);
        Assert.Equal((short)ErrorCode.None, again.ErrorCode);
        Assert.Equal(epoch, again.BrokerEpoch);
        Assert.Equal(end, _log.EndOffset);
    }

    [Fact]
    public async Task Register_NewIncarnation_IsADuplicateWhileTheOldSessionLives_AndReplacesItOnceExpired()
    {
        var epochs = await ActiveBrokersAsync(1);
        var restarted = Uuid.Random();

        var refused = await _controller.RegisterBrokerAsync(Registration(1, restarted), default);
        Assert.Equal((short)ErrorCode.DuplicateBrokerRegistration, refused.ErrorCode);

        _clock.Advance(TimeSpan.FromMilliseconds(9001));
        var accepted = await _controller.RegisterBrokerAsync(Registration(1, restarted), default);
        Assert.Equal((short)ErrorCode.None, accepted.ErrorCode);
        Assert.True(accepted.BrokerEpoch > epochs[1]);
        Assert.Equal(restarted, Image.Brokers[1].IncarnationId);
        Assert.True(Image.Brokers[1].Fenced);
    }

    [Fact]
    public async Task Heartbeat_UnknownBrokerOrStaleEpoch_IsRefused()
    {
        var epoch = await RegisterAsync(1);
        Assert.Equal((short)ErrorCode.BrokerIdNotRegistered, (await HeartbeatAsync(2, 0)).ErrorCode);
        Assert.Equal((short)ErrorCode.StaleBrokerEpoch, (await HeartbeatAsync(1, epoch - 1)).ErrorCode);
        Assert.True(Image.Brokers[1].Fenced);
    }

    [Fact]
    public async Task Heartbeat_UnfencesOnlyOnceTheBrokerHasReplayedItsRegistration_ThenWritesNothing()
    {
        var epoch = await RegisterAsync(1);

        var behind = await HeartbeatAsync(1, epoch, offset: epoch - 1);
        Assert.False(behind.IsCaughtUp);
        Assert.True(behind.IsFenced);
        Assert.True(Image.Brokers[1].Fenced);

        var caughtUp = await HeartbeatAsync(1, epoch, offset: epoch);
        Assert.True(caughtUp.IsCaughtUp);
        Assert.False(caughtUp.IsFenced);
        Assert.False(caughtUp.ShouldShutDown);
        Assert.False(Image.Brokers[1].Fenced);

        var end = _log.EndOffset;
        var steady = await HeartbeatAsync(1, epoch);
        Assert.False(steady.IsFenced);
        Assert.Equal(end, _log.EndOffset);
    }

    [Fact]
    public async Task SessionTimeout_FencesTheSilentBroker_AndMovesItsLeadershipsToAnotherInSyncReplica()
    {
        var epochs = await ActiveBrokersAsync(1, 2, 3);
        var before = await CreateTopicAsync("orders", 6, 3);
        Assert.Contains(before.Partitions, p => p.Leader == 1);

        _clock.Advance(TimeSpan.FromSeconds(5));
        await HeartbeatAsync(2, epochs[2]);
        await HeartbeatAsync(3, epochs[3]);
        Assert.Empty(await _controller.FenceStaleBrokersAsync(default));
        _clock.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal([1], await _controller.FenceStaleBrokersAsync(default));

        Assert.True(Image.Brokers[1].Fenced);
        var after = Image.Topics["orders"];
        foreach (var (was, now) in before.Partitions.Zip(after.Partitions))
        {
            Assert.DoesNotContain(1, now.Isr);
            Assert.NotEqual(1, now.Leader);
            Assert.Contains(now.Leader, now.Isr);
            Assert.Equal(was.Leader == 1 ? was.LeaderEpoch + 1 : was.LeaderEpoch, now.LeaderEpoch);
        }
    }

    [Fact]
    public async Task PeriodicTask_FencesABrokerWhoseSessionExpires_OnTheControllersClock()
    {
        await ActiveBrokersAsync(1);
        _controller.StartPeriodicTasks();

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!Image.Brokers[1].Fenced)
        {
            Assert.True(DateTime.UtcNow < deadline, "the periodic task did not fence the broker");
            _clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(20);
        }
        Assert.True(_clock.GetUtcNow() >= new DateTimeOffset(2026, 1, 1, 0, 0, 9, TimeSpan.Zero));
    }

    [Fact]
    public async Task FencingTheOnlyInSyncReplica_LeavesThePartitionLeaderless_AndUnfencingElectsItAgain()
    {
        var epochs = await ActiveBrokersAsync(1, 2);
        var created = await _controller.CreateTopicsAsync(new CreateTopicsRequest
        {
            Topics = [new() { Name = "solo", NumPartitions = -1, ReplicationFactor = -1, Assignments = [new() { PartitionIndex = 0, BrokerIds = [1] }] }],
        }, default);
        Assert.Equal((short)ErrorCode.None, created.Topics[0].ErrorCode);

        _clock.Advance(TimeSpan.FromSeconds(6));
        await HeartbeatAsync(2, epochs[2]);
        _clock.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal([1], await _controller.FenceStaleBrokersAsync(default));

        var leaderless = Image.Partition("solo", 0)!;
        Assert.Equal(-1, leaderless.Leader);
        Assert.Equal([1], leaderless.Isr.ToArray());
        Assert.Equal(1, leaderless.LeaderEpoch);

        var back = await HeartbeatAsync(1, epochs[1]);
        Assert.False(back.IsFenced);
        var reelected = Image.Partition("solo", 0)!;
        Assert.Equal(1, reelected.Leader);
        Assert.Equal(2, reelected.LeaderEpoch);
    }

    [Fact]
    public async Task CreateTopics_ReplicationFactorAboveTheUnfencedBrokers_IsRefusedWithKafkasMessage()
    {
        await ActiveBrokersAsync(1, 2);
        await RegisterAsync(3);

        var response = await _controller.CreateTopicsAsync(new CreateTopicsRequest { Topics = [new() { Name = "wide", NumPartitions = 1, ReplicationFactor = 3 }] }, default);
        Assert.Equal((short)ErrorCode.InvalidReplicationFactor, response.Topics[0].ErrorCode);
        Assert.Equal("Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached because only 2 broker(s) are registered.",
            response.Topics[0].ErrorMessage);

        // Placed only on the unfenced brokers, each leading its share.
        var placed = await CreateTopicAsync("narrow", 4, 2);
        Assert.All(placed.Partitions, p => Assert.Equal([1, 2], p.Replicas.Order()));
        Assert.Equal(2, placed.Partitions.Count(p => p.Leader == 1));

        _clock.Advance(TimeSpan.FromMilliseconds(9001));
        Assert.Equal([1, 2], (await _controller.FenceStaleBrokersAsync(default)).Order());
        var none = await _controller.CreateTopicsAsync(new CreateTopicsRequest { Topics = [new() { Name = "nowhere", NumPartitions = 1, ReplicationFactor = 1 }] }, default);
        Assert.Equal("Unable to replicate the partition 1 time(s): All brokers are currently fenced.", none.Topics[0].ErrorMessage);
    }

    [Fact]
    public async Task ControlledShutdown_MovesLeadershipsFirst_ThenFencesAndLetsTheBrokerGo()
    {
        var epochs = await ActiveBrokersAsync(1, 2);
        await CreateTopicAsync("orders", 4, 2);
        Assert.Contains(Image.Topics["orders"].Partitions, p => p.Leader == 1);

        var first = await HeartbeatAsync(1, epochs[1], wantShutDown: true);
        Assert.False(first.ShouldShutDown);
        Assert.False(first.IsFenced);
        Assert.True(Image.Brokers[1].InControlledShutdown);
        Assert.All(Image.Topics["orders"].Partitions, p => Assert.Equal(2, p.Leader));

        var second = await HeartbeatAsync(1, epochs[1], wantShutDown: true);
        Assert.True(second.ShouldShutDown);
        Assert.True(second.IsFenced);
        Assert.True(Image.Brokers[1].Fenced);
    }

    [Fact]
    public async Task ANewlyActiveController_GivesEveryBrokerAFreshSession()
    {
        await ActiveBrokersAsync(1);
        _clock.Advance(TimeSpan.FromSeconds(8));
        await _controller.ActivateAsync(default);
        _clock.Advance(TimeSpan.FromSeconds(8));
        Assert.Empty(await _controller.FenceStaleBrokersAsync(default));
        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal([1], await _controller.FenceStaleBrokersAsync(default));
    }

    [Fact]
    public void StripedPlacement_IsRepeatableForASeed_AndSpreadsLeaders()
    {
        List<List<int>> Place(int seed)
        {
            var placer = new StripedReplicaPlacer([5, 1, 3, 2, 4], new Random(seed));
            return [.. Enumerable.Range(0, 10).Select(_ => placer.Place(3))];
        }
        var first = Place(11);
        Assert.Equal(first, Place(11));
        Assert.All(first, replicas => Assert.Equal(3, replicas.Distinct().Count()));
        Assert.All(first.GroupBy(r => r[0]), g => Assert.Equal(2, g.Count()));
    }

    public void Dispose()
    {
        _controller.Dispose();
        _log.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
