using Samsa.Broker.Groups;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using static Samsa.Broker.Tests.Groups.Groups;

namespace Samsa.Broker.Tests.Groups;

/// <summary>The classic rebalance protocol against a real broker: JoinGroup, SyncGroup, Heartbeat, LeaveGroup.</summary>
public class ClassicGroupTests
{
    [Fact]
    public async Task FindCoordinator_CreatesTheOffsetsTopic_AndNamesThisBroker_InEveryVersion()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();

        var (_, v0) = await client.RequestAsync<FindCoordinatorResponse>(new FindCoordinatorRequest { Key = "g1" }, 0);
        Assert.Equal(0, v0.ErrorCode);
        Assert.Equal((broker.Broker.NodeId, "127.0.0.1", broker.Port), (v0.NodeId, v0.Host, v0.Port));
        var topic = broker.Broker.Metadata.Current.Topics[GroupCoordinator.OffsetsTopic];
        Assert.Equal(50, topic.Partitions.Length);
        Assert.True(topic.IsInternal);

        // The first FindCoordinator waited for g1's shard; other groups' shards may still be loading, and are not named
        // until they serve (COORDINATOR_NOT_AVAILABLE, which clients retry).
        await WaitUntil(() => broker.Broker.Groups!.Shards.Count == 50 && broker.Broker.Groups.Shards.Values.All(s => s.State == ShardState.Active), "every shard loaded");
        var (_, v4) = await client.RequestAsync<FindCoordinatorResponse>(new FindCoordinatorRequest { KeyType = 0, CoordinatorKeys = ["a", "b", "c"] }, 4);
        Assert.Equal(["a", "b", "c"], v4.Coordinators.Select(c => c.Key));
        Assert.All(v4.Coordinators, c => Assert.Equal((0, broker.Broker.NodeId, broker.Port), (c.ErrorCode, c.NodeId, c.Port)));
    }

    [Fact]
    public async Task FindCoordinator_ForTransactions_NamesThisBroker_AndAnUnknownKeyTypeIsAnInvalidRequest()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();

        // The first TRANSACTION lookup creates __transaction_state and answers once the id's partition is served.
        var (_, txn) = await client.RequestAsync<FindCoordinatorResponse>(new FindCoordinatorRequest { KeyType = 1, CoordinatorKeys = ["tx"] }, 6);
        var coordinator = Assert.Single(txn.Coordinators);
        Assert.Equal(((short)ErrorCode.None, broker.Port), (coordinator.ErrorCode, coordinator.Port));
        var (_, share) = await client.RequestAsync<FindCoordinatorResponse>(new FindCoordinatorRequest { KeyType = 2, CoordinatorKeys = ["s"] }, 6);
        Assert.Equal((short)ErrorCode.InvalidRequest, Assert.Single(share.Coordinators).ErrorCode);
    }

    [Theory]
    [InlineData("g1", 42)]
    [InlineData("", 0)]
    [InlineData("console-consumer-12345", 6)]
    [InlineData("Ünïcode-grüppe", 33)]
    [InlineData("😀emoji", 21)]
    public void PartitionFor_IsJavasStringHashCode_ModuloThePartitionCount(string groupId, int expected)
    {
        // Java's String.hashCode over UTF-16 code units (a surrogate pair counts twice), then Utils.abs(hash) % 50.
        Assert.Equal(expected, GroupCoordinator.PartitionFor(groupId, 50));
    }

    [Fact]
    public async Task GroupRequests_BeforeTheOffsetsTopicExists_AreNotCoordinator()
    {
        await using var broker = await TestBroker.StartAsync(FastConfig);
        await using var client = await broker.ConnectAsync();
        Assert.Equal(ErrorCode.NotCoordinator, await HeartbeatAsync(client, "g", 1, "m"));
        var joined = await JoinAsync(client, Join("g"));
        Assert.Equal((short)ErrorCode.NotCoordinator, joined.ErrorCode);
    }

    [Fact]
    public async Task NewMember_GetsMemberIdRequired_ThenLeadsAStableGroup()
    {
        await using var broker = await TestBroker.StartAsync(FastConfig);
        await using var client = await broker.ConnectAsync();
        await FindCoordinator(broker, client, "g");

        var first = await JoinAsync(client, Join("g"));
        Assert.Equal((short)ErrorCode.MemberIdRequired, first.ErrorCode);
        Assert.StartsWith("test-client-", first.MemberId);

        var joined = await JoinAsync(client, Join("g", first.MemberId));
        Assert.Equal(0, joined.ErrorCode);
        Assert.Equal(1, joined.GenerationId);
        Assert.Equal("range", joined.ProtocolName);
        Assert.Equal(ProtocolType, joined.ProtocolType);
        Assert.Equal(first.MemberId, joined.Leader);
        Assert.Equal(first.MemberId, Assert.Single(joined.Members).MemberId);

        var synced = await SyncAsync(client, "g", 1, first.MemberId, null, (first.MemberId, [9, 9]));
        Assert.Equal(0, synced.ErrorCode);
        Assert.Equal([9, 9], synced.Assignment);
        Assert.Equal(ErrorCode.None, await HeartbeatAsync(client, "g", 1, first.MemberId));
    }

    [Fact]
    public async Task JoinGroup_V3WithoutMemberId_JoinsAtOnce()
    {
        await using var broker = await TestBroker.StartAsync(FastConfig);
        await using var client = await broker.ConnectAsync();
        await FindCoordinator(broker, client, "g");
        var joined = await JoinAsync(client, Join("g"), version: 3);
        Assert.Equal(0, joined.ErrorCode);
        Assert.Equal(1, joined.GenerationId);
    }

    [Fact]
    public async Task JoinGroup_RefusesBadSessionTimeouts_EmptyGroupIds_AndForeignProtocols()
    {
        await using var broker = await TestBroker.StartAsync(FastConfig);
        await using var client = await broker.ConnectAsync();
        await FindCoordinator(broker, client, "g");

        Assert.Equal((short)ErrorCode.InvalidSessionTimeout, (await JoinAsync(client, Join("g", sessionTimeoutMs: 50))).ErrorCode);
        Assert.Equal((short)ErrorCode.InvalidSessionTimeout, (await JoinAsync(client, Join("g", sessionTimeoutMs: 1_800_001))).ErrorCode);
        Assert.Equal((short)ErrorCode.InvalidGroupId, (await JoinAsync(client, Join(""))).ErrorCode);
        Assert.Equal((short)ErrorCode.InconsistentGroupProtocol, (await JoinAsync(client, Join("g", protocolType: ""))).ErrorCode);

        await StableGroupOfOne(client, "g");
        await using var other = await broker.ConnectAsync();
        var connect = await JoinAsync(other, Join("g", protocolType: "connect"));
        Assert.Equal((short)ErrorCode.InconsistentGroupProtocol, connect.ErrorCode);
        var noCommonProtocol = await JoinAsync(other, Join("g", protocols: ("roundrobin", Subscription("t"))));
        Assert.Equal((short)ErrorCode.InconsistentGroupProtocol, noCommonProtocol.ErrorCode);
    }

    [Fact]
    public async Task UnknownMembers_AndStaleGenerations_AreRefused()
    {
        await using var broker = await TestBroker.StartAsync(FastConfig);
        await using var client = await broker.ConnectAsync();
        await FindCoordinator(broker, client, "g");
        Assert.Equal(ErrorCode.UnknownMemberId, await HeartbeatAsync(client, "g", 0, "nobody"));
        Assert.Equal((short)ErrorCode.UnknownMemberId, (await SyncAsync(client, "g", 0, "nobody")).ErrorCode);
        Assert.Equal((short)ErrorCode.UnknownMemberId, (await JoinAsync(client, Join("g", "nobody"))).ErrorCode);

        var (member, generation) = await StableGroupOfOne(client, "g");
        Assert.Equal(ErrorCode.UnknownMemberId, await HeartbeatAsync(client, "g", generation, "nobody"));
        Assert.Equal(ErrorCode.IllegalGeneration, await HeartbeatAsync(client, "g", generation + 1, member));
        Assert.Equal((short)ErrorCode.IllegalGeneration, (await SyncAsync(client, "g", generation - 1, member)).ErrorCode);
        Assert.Equal((short)ErrorCode.UnknownMemberId, (await JoinAsync(client, Join("g", "nobody"))).ErrorCode);
    }

    [Fact]
    public async Task ASecondMember_TriggersARebalance_WhichTheFirstLearnsFromItsHeartbeat()
    {
        await using var broker = await TestBroker.StartAsync(FastConfig);
        await using var a = await broker.ConnectAsync();
        await using var b = await broker.ConnectAsync();
        await FindCoordinator(broker, a, "g");
        var (memberA, generation) = await StableGroupOfOne(a, "g");

        var first = await JoinAsync(b, Join("g"));
        var joinB = JoinAsync(b, Join("g", first.MemberId));
        await WaitUntil(() => Describe(broker, "g").State == "PreparingRebalance", "rebalance");
        Assert.Equal(ErrorCode.RebalanceInProgress, await HeartbeatAsync(a, "g", generation, memberA));
        Assert.Equal((short)ErrorCode.RebalanceInProgress, (await SyncAsync(a, "g", generation, memberA)).ErrorCode);
        Assert.False(joinB.IsCompleted);

        var rejoinA = await JoinAsync(a, Join("g", memberA));
        var joinedB = await joinB;
        Assert.Equal((0, 0), (rejoinA.ErrorCode, joinedB.ErrorCode));
        Assert.Equal(generation + 1, rejoinA.GenerationId);
        Assert.Equal(generation + 1, joinedB.GenerationId);
        Assert.Equal(memberA, rejoinA.Leader);
        Assert.Equal(2, rejoinA.Members.Count);
        Assert.Empty(joinedB.Members);
        Assert.Equal("CompletingRebalance", Describe(broker, "g").State);

        // The follower's SyncGroup waits for the leader's assignment.
        var syncB = SyncAsync(b, "g", generation + 1, joinedB.MemberId);
        await WaitUntil(() => Describe(broker, "g").State == "CompletingRebalance", "follower parked");
        Assert.False(syncB.IsCompleted);
        var syncA = await SyncAsync(a, "g", generation + 1, memberA, null, (memberA, [1]), (joinedB.MemberId, [2]));
        Assert.Equal([1], syncA.Assignment);
        Assert.Equal([2], (await syncB).Assignment);
        Assert.Equal("Stable", Describe(broker, "g").State);
    }

    [Fact]
    public async Task AMemberThatStopsHeartbeating_IsRemovedAfterItsSessionTimeout()
    {
        await using var broker = await TestBroker.StartAsync(FastConfig);
        await using var a = await broker.ConnectAsync();
        await using var b = await broker.ConnectAsync();
        await FindCoordinator(broker, a, "g");
        var joinA = JoinNewMemberAsync(a, Join("g", sessionTimeoutMs: 60_000));
        var joinB = JoinNewMemberAsync(b, Join("g", sessionTimeoutMs: 300, rebalanceTimeoutMs: 60_000));
        var joinedA = await joinA;
        // On a loaded machine B's JoinGroup can arrive after the initial rebalance delay closed a generation with A
        // alone; B then waits in a new rebalance for A to rejoin, which A does here as a consumer would on its next
        // heartbeat (REBALANCE_IN_PROGRESS).
        // A rejoins only while its generation lacks B: if B is in it, B's response is merely slow, and a rejoin would
        // start a generation that B's 300 ms session misses.
        var joinDeadline = DateTime.UtcNow.AddSeconds(30);
        while (await Task.WhenAny(joinB, Task.Delay(1000)) != joinB)
        {
            Assert.True(DateTime.UtcNow < joinDeadline, "B never joined");
            if (joinedA.Leader == joinedA.MemberId && joinedA.Members.Count == 1)
                joinedA = await JoinAsync(a, Join("g", joinedA.MemberId, sessionTimeoutMs: 60_000));
        }
        var joinedB = await joinB;
        Assert.Equal(0, joinedB.ErrorCode);
        Assert.Equal(joinedA.GenerationId, joinedB.GenerationId);
        var leader = joinedA.Leader == joinedA.MemberId ? (a, joinedA) : (b, joinedB);
        var syncs = new[]
        {
            SyncAsync(a, "g", joinedA.GenerationId, joinedA.MemberId, null, leader.Item2 == joinedA ? [(joinedA.MemberId, [1]), (joinedB.MemberId, [2])] : []),
            SyncAsync(b, "g", joinedB.GenerationId, joinedB.MemberId, null, leader.Item2 == joinedB ? [(joinedA.MemberId, [1]), (joinedB.MemberId, [2])] : []),
        };
        await Task.WhenAll(syncs);
        // (Both are members of the generation: the join answers said so. Not counted here: on a loaded machine B's
        // 300 ms session may already be running out.)

        // Only A heartbeats; B's 300 ms session runs out and the group rebalances without it.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        ErrorCode beat;
        while ((beat = await HeartbeatAsync(a, "g", joinedA.GenerationId, joinedA.MemberId)) == ErrorCode.None)
        {
            Assert.True(DateTime.UtcNow < deadline, "B was never expired");
            await Task.Delay(50);
        }
        Assert.Equal(ErrorCode.RebalanceInProgress, beat);
        Assert.Contains(broker.Logs.Lines, l => l.EventId == 606 && l.Message.Contains(joinedB.MemberId) && l.Message.Contains("session timeout"));
        var rejoined = await JoinAsync(a, Join("g", joinedA.MemberId, sessionTimeoutMs: 60_000));
        Assert.Equal(joinedA.GenerationId + 1, rejoined.GenerationId);
        Assert.Equal(joinedA.MemberId, Assert.Single(rejoined.Members).MemberId);
        Assert.Equal(ErrorCode.UnknownMemberId, await HeartbeatAsync(b, "g", rejoined.GenerationId, joinedB.MemberId));
    }

    [Fact]
    public async Task AStaticMemberRejoining_GetsItsAssignmentBack_WithoutARebalance_AndFencesItsOldId()
    {
        await using var broker = await TestBroker.StartAsync(FastConfig);
        await using var client = await broker.ConnectAsync();
        await FindCoordinator(broker, client, "g");
        var (oldId, generation) = await StableGroupOfOne(client, "g", [7, 7, 7], instanceId: "instance-1");
        Assert.StartsWith("instance-1-", oldId);

        // The restarted process knows only its instance id.
        await using var restarted = await broker.ConnectAsync();
        var rejoined = await JoinAsync(restarted, Join("g", instanceId: "instance-1"));
        Assert.Equal(0, rejoined.ErrorCode);
        Assert.NotEqual(oldId, rejoined.MemberId);
        Assert.Equal(generation, rejoined.GenerationId);
        Assert.True(rejoined.SkipAssignment);
        Assert.Equal("Stable", Describe(broker, "g").State);
        var synced = await SyncAsync(restarted, "g", generation, rejoined.MemberId, "instance-1");
        Assert.Equal([7, 7, 7], synced.Assignment);

        Assert.Equal(ErrorCode.FencedInstanceId, await HeartbeatAsync(client, "g", generation, oldId, "instance-1"));
        Assert.Equal((short)ErrorCode.FencedInstanceId, (await SyncAsync(client, "g", generation, oldId, "instance-1")).ErrorCode);
        Assert.Equal(ErrorCode.None, await HeartbeatAsync(restarted, "g", generation, rejoined.MemberId, "instance-1"));
    }

    [Fact]
    public async Task LeaveGroup_AnswersPerMember_AndTheLastLeaverEmptiesTheGroup()
    {
        await using var broker = await TestBroker.StartAsync(FastConfig);
        await using var client = await broker.ConnectAsync();
        await FindCoordinator(broker, client, "g");
        var (member, _) = await StableGroupOfOne(client, "g");

        var left = await LeaveAsync(client, "g", ("nobody", null), (member, null), ("", "no-such-instance"));
        Assert.Equal(0, left.ErrorCode);
        Assert.Equal([(short)ErrorCode.UnknownMemberId, (short)0, (short)ErrorCode.UnknownMemberId], left.Members.Select(m => m.ErrorCode));
        Assert.Equal("Empty", Describe(broker, "g").State);
        Assert.Equal((short)ErrorCode.UnknownMemberId, (await LeaveAsync(client, "unknown-group", (member, null))).ErrorCode);

        var (_, v0) = await client.RequestAsync<LeaveGroupResponse>(new LeaveGroupRequest { GroupId = "g", MemberId = member }, 0);
        Assert.Equal((short)ErrorCode.UnknownMemberId, v0.ErrorCode);
    }

    [Fact]
    public async Task AStaticMember_CanBeRemovedByInstanceIdAlone()
    {
        await using var broker = await TestBroker.StartAsync(FastConfig);
        await using var client = await broker.ConnectAsync();
        await FindCoordinator(broker, client, "g");
        await StableGroupOfOne(client, "g", instanceId: "i-1");
        var left = await LeaveAsync(client, "g", ("", "i-1"));
        Assert.Equal(0, Assert.Single(left.Members).ErrorCode);
        Assert.Equal("Empty", Describe(broker, "g").State);
    }

    [Fact]
    public async Task GroupMaxSize_RefusesTheMemberBeyondIt()
    {
        await using var broker = await TestBroker.StartAsync([.. FastConfig, ("group.max.size", "1")]);
        await using var a = await broker.ConnectAsync();
        await using var b = await broker.ConnectAsync();
        await FindCoordinator(broker, a, "g");
        await StableGroupOfOne(a, "g");
        var refused = await JoinAsync(b, Join("g"));
        Assert.Equal((short)ErrorCode.GroupMaxSizeReached, refused.ErrorCode);
    }

    [Fact]
    public async Task AMemberThatDoesNotRejoin_IsDroppedWhenTheRebalanceTimesOut()
    {
        await using var broker = await TestBroker.StartAsync(FastConfig);
        await using var a = await broker.ConnectAsync();
        await using var b = await broker.ConnectAsync();
        await FindCoordinator(broker, a, "g");
        var joinedA = await JoinNewMemberAsync(a, Join("g", rebalanceTimeoutMs: 300));
        Assert.Equal(0, (await SyncAsync(a, "g", joinedA.GenerationId, joinedA.MemberId, null, (joinedA.MemberId, [1]))).ErrorCode);

        // B's arrival starts a rebalance; A keeps heartbeating but never rejoins, so after the rebalance
        // timeout (300 ms, the largest among members) the join phase completes without it.
        var first = await JoinAsync(b, Join("g", rebalanceTimeoutMs: 300));
        var joinedB = await JoinAsync(b, Join("g", first.MemberId, rebalanceTimeoutMs: 300));
        Assert.Equal(0, joinedB.ErrorCode);
        Assert.Equal(joinedA.GenerationId + 1, joinedB.GenerationId);
        Assert.Equal(joinedB.MemberId, joinedB.Leader);
        Assert.Equal(joinedB.MemberId, Assert.Single(joinedB.Members).MemberId);
        Assert.Equal(ErrorCode.UnknownMemberId, await HeartbeatAsync(a, "g", joinedA.GenerationId, joinedA.MemberId));
    }

    [Fact]
    public async Task ALeaderThatNeverSyncs_IsRemovedAfterTheRebalanceTimeout()
    {
        await using var broker = await TestBroker.StartAsync(FastConfig);
        await using var client = await broker.ConnectAsync();
        await FindCoordinator(broker, client, "g");
        var joined = await JoinNewMemberAsync(client, Join("g", rebalanceTimeoutMs: 300));
        Assert.Equal("CompletingRebalance", Describe(broker, "g").State);
        await WaitUntil(() => Describe(broker, "g").State == "Empty", "the pending sync to expire");
        Assert.Equal(ErrorCode.UnknownMemberId, await HeartbeatAsync(client, "g", joined.GenerationId, joined.MemberId));
    }

    internal static GroupDescription Describe(TestBroker broker, string groupId)
    {
        var (shard, error) = broker.Broker.Groups!.ShardFor(groupId);
        Assert.Equal(ErrorCode.None, error);
        return shard!.Describe(groupId) ?? throw new InvalidOperationException($"no group {groupId}");
    }
}
