using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Samsa.Broker.Groups;
using Samsa.Protocol;
using Samsa.Protocol.GroupCoordinatorRecords;

namespace Samsa.Broker.Tests.Groups;

/// <summary>
/// The shard on a fake clock, for what real time makes slow or flaky: the initial rebalance delay, session
/// expiry to the millisecond, offset retention, and answers while the partition is loading. Its records go to
/// an in-memory log that keeps them for the assertions.
/// </summary>
public class GroupCoordinatorShardTests
{
    private sealed class MemoryLog : ICoordinatorLog
    {
        public List<CoordinatorRecord> Records { get; } = [];

        public (ErrorCode Error, long EndOffset) Append(int partition, IReadOnlyList<CoordinatorRecord> records)
        {
            Records.AddRange(records);
            return (ErrorCode.None, Records.Count);
        }

        public Task<ErrorCode> WaitForCommitAsync(int partition, long endOffset) => Task.FromResult(ErrorCode.None);
    }

    private static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);

    private static (GroupCoordinatorShard Shard, FakeTimeProvider Clock, MemoryLog Log) NewShard(GroupCoordinatorConfig? config = null, bool loaded = true)
    {
        var clock = new FakeTimeProvider(Start);
        var log = new MemoryLog();
        var shard = new GroupCoordinatorShard(0, config ?? new GroupCoordinatorConfig { InitialRebalanceDelayMs = 0, MinSessionTimeoutMs = 10 }, log, clock, NullLogger.Instance);
        if (loaded)
        {
            shard.CompleteLoad(0);
        }
        return (shard, clock, log);
    }

    private static JoinGroupArgs Join(string memberId = "", string? instanceId = null, int sessionMs = 1000, int rebalanceMs = 5000, short version = 9) =>
        new("g", memberId, instanceId, "client", "/127.0.0.1", sessionMs, rebalanceMs, "consumer", [("range", [1])], null, version);

    [Fact]
    public async Task WhileLoading_EveryRequestIsCoordinatorLoadInProgress_AndThenServed()
    {
        var (shard, _, _) = NewShard(loaded: false);
        Assert.Equal(ErrorCode.CoordinatorLoadInProgress, (ErrorCode)(await shard.JoinGroup(Join(version: 3))).ErrorCode);
        Assert.Equal(ErrorCode.CoordinatorLoadInProgress, shard.Heartbeat("g", "m", null, 1));
        Assert.Equal(ErrorCode.CoordinatorLoadInProgress, shard.FetchOffsets("g", null, false).Error);
        Assert.Equal([ErrorCode.CoordinatorLoadInProgress], await shard.CommitOffsetsAsync(new OffsetCommitArgs("g", -1, "", null, -1, 9, [new("t", 0, 1, -1, "")])));

        shard.CompleteLoad(0);
        Assert.Equal(ErrorCode.None, (ErrorCode)(await shard.JoinGroup(Join(version: 3))).ErrorCode);
        shard.Close();
        Assert.Equal(ErrorCode.NotCoordinator, shard.Heartbeat("g", "m", null, 1));
    }

    [Fact]
    public async Task TheInitialRebalance_WaitsTheDelay_AndMembersArrivingDuringItAreInTheFirstGeneration()
    {
        var (shard, clock, log) = NewShard(new GroupCoordinatorConfig { InitialRebalanceDelayMs = 3000, MinSessionTimeoutMs = 10 });
        var a = shard.JoinGroup(Join(version: 3, rebalanceMs: 10_000));
        clock.Advance(TimeSpan.FromMilliseconds(2999));
        Assert.False(a.IsCompleted);
        var b = shard.JoinGroup(Join(version: 3, rebalanceMs: 10_000));
        clock.Advance(TimeSpan.FromMilliseconds(1));
        // B arrived during the delay, so the delay is extended once more.
        Assert.False(a.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(3000));
        var (joinedA, joinedB) = (await a, await b);
        Assert.Equal((1, 1), (joinedA.GenerationId, joinedB.GenerationId));
        Assert.Equal(2, joinedA.Members.Count + joinedB.Members.Count);
        Assert.Empty(log.Records);
    }

    [Fact]
    public async Task ASession_ExpiresExactlyAfterItsTimeout_AndEachHeartbeatPushesItBack()
    {
        var (shard, clock, log) = NewShard();
        var first = await shard.JoinGroup(Join());
        var joined = await shard.JoinGroup(Join(first.MemberId));
        var synced = await shard.SyncGroup(new SyncGroupArgs("g", joined.GenerationId, joined.MemberId, null, null, null, [(joined.MemberId, [5])]));
        Assert.Equal(0, synced.ErrorCode);
        Assert.IsType<GroupMetadataValue>(Assert.Single(log.Records).Value);

        clock.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Equal(ErrorCode.None, shard.Heartbeat("g", joined.MemberId, null, joined.GenerationId));
        clock.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Equal(ErrorCode.None, shard.Heartbeat("g", joined.MemberId, null, joined.GenerationId));
        clock.Advance(TimeSpan.FromMilliseconds(1000));
        Assert.Equal(ErrorCode.UnknownMemberId, shard.Heartbeat("g", joined.MemberId, null, joined.GenerationId));
        // The group went through a rebalance with nobody left and wrote itself empty.
        var last = (GroupMetadataValue)log.Records[^1].Value!;
        Assert.Empty(last.members);
        Assert.Equal(joined.GenerationId + 1, last.generation);
    }

    [Fact]
    public async Task APendingMember_ThatNeverRejoins_IsForgottenAfterTheSessionTimeout()
    {
        var (shard, clock, _) = NewShard();
        var first = await shard.JoinGroup(Join());
        Assert.Equal((short)ErrorCode.MemberIdRequired, first.ErrorCode);
        clock.Advance(TimeSpan.FromMilliseconds(1000));
        Assert.Equal((short)ErrorCode.UnknownMemberId, (await shard.JoinGroup(Join(first.MemberId))).ErrorCode);
    }

    [Fact]
    public async Task OffsetsOfAnEmptyGroup_ExpireAfterTheRetention_AndTheGroupGoesWithThem()
    {
        var (shard, clock, log) = NewShard(new GroupCoordinatorConfig { OffsetsRetentionMs = 60_000, InitialRebalanceDelayMs = 0 });
        var committed = await shard.CommitOffsetsAsync(new OffsetCommitArgs("g", -1, "", null, -1, 9, [new("t", 0, 10, -1, "x"), new("t", 1, 20, -1, "")]));
        Assert.Equal([ErrorCode.None, ErrorCode.None], committed);
        // v2-4 may set their own retention: this offset expires after 5 s.
        await shard.CommitOffsetsAsync(new OffsetCommitArgs("g", -1, "", null, 5_000, 2, [new("u", 0, 1, -1, "")]));

        clock.Advance(TimeSpan.FromMilliseconds(5_000));
        Assert.Equal(1, shard.ExpireOffsets());
        Assert.Equal(2, shard.FetchOffsets("g", null, false).Offsets.Count);

        clock.Advance(TimeSpan.FromMilliseconds(55_000));
        Assert.Equal(2, shard.ExpireOffsets());
        Assert.Empty(shard.FetchOffsets("g", null, false).Offsets);
        Assert.Null(shard.Describe("g"));
        Assert.Equal(3, log.Records.Count(r => r.Key is OffsetCommitKey && r.Value is null));
        Assert.Contains(log.Records, r => r.Key is GroupMetadataKey && r.Value is null);
    }

    [Fact]
    public async Task OffsetsOfALiveGroup_DoNotExpire()
    {
        var (shard, clock, _) = NewShard(new GroupCoordinatorConfig { OffsetsRetentionMs = 1_000, InitialRebalanceDelayMs = 0, MinSessionTimeoutMs = 10 });
        var first = await shard.JoinGroup(Join(sessionMs: 600_000));
        var joined = await shard.JoinGroup(Join(first.MemberId, sessionMs: 600_000));
        await shard.SyncGroup(new SyncGroupArgs("g", joined.GenerationId, joined.MemberId, null, null, null, []));
        await shard.CommitOffsetsAsync(new OffsetCommitArgs("g", joined.GenerationId, joined.MemberId, null, -1, 9, [new("t", 0, 10, -1, "")]));
        clock.Advance(TimeSpan.FromMilliseconds(5_000));
        Assert.Equal(0, shard.ExpireOffsets());
        Assert.Single(shard.FetchOffsets("g", null, false).Offsets);
    }

    [Fact]
    public void Replay_RebuildsGroupsAndOffsets_AndTombstonesRemoveThem()
    {
        var (shard, _, _) = NewShard(loaded: false);
        var value = new GroupMetadataValue
        {
            protocolType = "consumer",
            generation = 4,
            protocol = "range",
            leader = "m-1",
            currentStateTimestamp = 1,
            members = [new() { memberId = "m-1", clientId = "c", clientHost = "/h", sessionTimeout = 10_000, rebalanceTimeout = 20_000, subscription = [1], assignment = [2] }],
        };
        lock (shard.SyncRoot)
        {
            shard.Replay(CoordinatorRecord.GroupMetadata("g", value));
            shard.Replay(CoordinatorRecord.OffsetCommit("g", "t", 0, new OffsetAndMetadata(5, 1, "m", 1, null)));
            shard.Replay(CoordinatorRecord.OffsetCommit("simple", "t", 0, new OffsetAndMetadata(6, -1, "", 1, null)));
            shard.Replay(CoordinatorRecord.OffsetCommitTombstone("simple", "t", 0));
        }
        shard.CompleteLoad(4);
        var described = shard.Describe("g")!;
        Assert.Equal(("Stable", "range", "m-1"), (described.State, described.ProtocolData, described.Members.Single().MemberId));
        Assert.Equal(ErrorCode.None, shard.Heartbeat("g", "m-1", null, 4));
        Assert.Equal(5, shard.FetchOffsets("g", null, false).Offsets.Single().Offset);
        Assert.Empty(shard.FetchOffsets("simple", null, false).Offsets);
    }

    [Fact]
    public void CoordinatorRecords_RoundTripThroughKafkasByteLayout()
    {
        var record = CoordinatorRecord.OffsetCommit("grp", "topic", 3, new OffsetAndMetadata(42, 7, "meta", 1_700_000_000_000, null));
        var key = record.KeyBytes();
        // Key: int16 version 1, then group, topic (int16-length strings) and partition.
        Assert.Equal([0, 1, 0, 3, (byte)'g', (byte)'r', (byte)'p'], key[..7]);
        var parsed = CoordinatorRecord.Parse(key, record.ValueBytes(), valueIsNull: false)!;
        Assert.Equal(3, parsed.ValueVersion);
        Assert.Equal(new OffsetCommitKey { group = "grp", topic = "topic", partition = 3 }, parsed.Key);
        Assert.Equal(42, ((OffsetCommitValue)parsed.Value!).offset);

        var tombstone = CoordinatorRecord.GroupMetadataTombstone("grp");
        Assert.Null(tombstone.ValueBytes());
        Assert.Null(CoordinatorRecord.Parse(tombstone.KeyBytes(), default, valueIsNull: true)!.Value);
        // A KIP-848 record type (3) this coordinator does not replay is skipped, not an error.
        Assert.Null(CoordinatorRecord.Parse([0, 3, 0, 1, (byte)'g'], [0, 0], valueIsNull: false));
    }
}
