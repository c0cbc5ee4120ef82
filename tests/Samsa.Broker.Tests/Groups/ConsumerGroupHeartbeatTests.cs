using Samsa.Broker.Config;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Tests.Groups;

/// <summary>KIP-848 over the wire: hand-built ConsumerGroupHeartbeat and ConsumerGroupDescribe requests against a real broker.</summary>
public class ConsumerGroupHeartbeatTests
{
    private static readonly (string, string)[] SmallOffsetsTopic =
    [
        ("offsets.topic.replication.factor", "1"),
        ("offsets.topic.num.partitions", "3"),
    ];

    private static async Task<Uuid> CreateTopicAsync(TestClient client, string name, int partitions)
    {
        var (_, created) = await client.RequestAsync<CreateTopicsResponse>(new CreateTopicsRequest
        {
            Topics = [new CreateTopicsRequest.CreatableTopic { Name = name, NumPartitions = partitions, ReplicationFactor = 1 }],
        }, 7);
        Assert.Equal(0, created.Topics[0].ErrorCode);
        return created.Topics[0].TopicId;
    }

    /// <summary>Sends a heartbeat, retrying while the coordinator is being created or loaded.</summary>
    private static async Task<ConsumerGroupHeartbeatResponse> HeartbeatAsync(TestClient client, ConsumerGroupHeartbeatRequest request, short version = 0)
    {
        for (var attempt = 0; ; attempt++)
        {
            var (_, response) = await client.RequestAsync<ConsumerGroupHeartbeatResponse>(request, version);
            if (attempt < 100 && (ErrorCode)response.ErrorCode is ErrorCode.CoordinatorLoadInProgress or ErrorCode.NotCoordinator or ErrorCode.CoordinatorNotAvailable)
            {
                await Task.Delay(100);
                continue;
            }
            return response;
        }
    }

    private static ConsumerGroupHeartbeatRequest Join(string group, string topic, string memberId = "", string? assignor = null) => new()
    {
        GroupId = group,
        MemberId = memberId,
        MemberEpoch = 0,
        RebalanceTimeoutMs = 30000,
        SubscribedTopicNames = [topic],
        ServerAssignor = assignor,
        TopicPartitions = [],
    };

    private static ConsumerGroupHeartbeatRequest Beat(string group, string memberId, int epoch, Uuid topicId, params int[] owned) => new()
    {
        GroupId = group,
        MemberId = memberId,
        MemberEpoch = epoch,
        TopicPartitions = [new ConsumerGroupHeartbeatRequest.TopicPartitionsData { TopicId = topicId, Partitions = [.. owned] }],
    };

    private static int[] Partitions(ConsumerGroupHeartbeatResponse response, Uuid topicId) =>
        response.Assignment is null ? [] : [.. response.Assignment.TopicPartitions.Where(t => t.TopicId == topicId).SelectMany(t => t.Partitions).Order()];

    private static async Task FindCoordinatorAsync(TestClient client, string group)
    {
        var (_, found) = await client.RequestAsync<FindCoordinatorResponse>(new FindCoordinatorRequest { KeyType = 0, CoordinatorKeys = [group] }, 4);
        Assert.Equal(0, found.Coordinators[0].ErrorCode);
    }

    [Fact]
    public async Task Heartbeat_SecondMemberJoins_FirstRevokesOnlyWhatMovesThenSecondGetsIt()
    {
        await using var broker = await TestBroker.StartAsync(SmallOffsetsTopic);
        await using var client = await broker.ConnectAsync();
        var topicId = await CreateTopicAsync(client, "orders", 3);
        await FindCoordinatorAsync(client, "g1");

        var a = await HeartbeatAsync(client, Join("g1", "orders"));
        Assert.Equal(0, a.ErrorCode);
        Assert.False(string.IsNullOrEmpty(a.MemberId));
        Assert.Equal(1, a.MemberEpoch);
        Assert.Equal(5000, a.HeartbeatIntervalMs);
        Assert.Equal([0, 1, 2], Partitions(a, topicId));

        var b = await HeartbeatAsync(client, Join("g1", "orders"));
        Assert.Equal(0, b.ErrorCode);
        Assert.Equal(2, b.MemberEpoch);
        Assert.Empty(Partitions(b, topicId)); // its partition is still owned by the first member

        // The first member is asked to give up one partition, at its old epoch.
        var revoke = await HeartbeatAsync(client, Beat("g1", a.MemberId!, 1, topicId, 0, 1, 2));
        Assert.Equal(0, revoke.ErrorCode);
        Assert.Equal(1, revoke.MemberEpoch);
        var kept = Partitions(revoke, topicId);
        Assert.Equal(2, kept.Length);
        var moved = new[] { 0, 1, 2 }.Except(kept).Single();

        // Until it stops owning it, the second member waits.
        var waiting = await HeartbeatAsync(client, Beat("g1", b.MemberId!, 2, topicId));
        Assert.Equal(0, waiting.ErrorCode);
        Assert.Empty(Partitions(waiting, topicId));

        var revoked = await HeartbeatAsync(client, Beat("g1", a.MemberId!, 1, topicId, kept));
        Assert.Equal(0, revoked.ErrorCode);
        Assert.Equal(2, revoked.MemberEpoch);
        Assert.Null(revoked.Assignment); // unchanged assignment is not repeated

        var assigned = await HeartbeatAsync(client, Beat("g1", b.MemberId!, 2, topicId));
        Assert.Equal([moved], Partitions(assigned, topicId));

        var (_, described) = await client.RequestAsync<ConsumerGroupDescribeResponse>(new ConsumerGroupDescribeRequest { GroupIds = ["g1"] }, 0);
        var group = Assert.Single(described.Groups);
        Assert.Equal(0, group.ErrorCode);
        Assert.Equal("Stable", group.GroupState);
        Assert.Equal(2, group.GroupEpoch);
        Assert.Equal(2, group.AssignmentEpoch);
        Assert.Equal("uniform", group.AssignorName);
        Assert.Equal(2, group.Members.Count);
        Assert.All(group.Members, m => Assert.Equal("orders", m.Assignment.TopicPartitions.Single().TopicName));
        Assert.Equal(3, group.Members.Sum(m => m.Assignment.TopicPartitions.Single().Partitions.Count));

        var (_, listed) = await client.RequestAsync<ListGroupsResponse>(new ListGroupsRequest { TypesFilter = ["consumer"] }, 5);
        var listedGroup = Assert.Single(listed.Groups);
        Assert.Equal("consumer", listedGroup.GroupType);
        Assert.Equal("consumer", listedGroup.ProtocolType);

        // The first member leaves: the second gets everything at the next epoch.
        var left = await HeartbeatAsync(client, new ConsumerGroupHeartbeatRequest { GroupId = "g1", MemberId = a.MemberId!, MemberEpoch = -1 });
        Assert.Equal(0, left.ErrorCode);
        Assert.Equal(-1, left.MemberEpoch);
        var all = await HeartbeatAsync(client, Beat("g1", b.MemberId!, 2, topicId, moved));
        Assert.Equal(3, all.MemberEpoch);
        Assert.Equal([0, 1, 2], Partitions(all, topicId));
    }

    [Fact]
    public async Task Heartbeat_BadRequests_GetKafkasErrors()
    {
        await using var broker = await TestBroker.StartAsync([.. SmallOffsetsTopic, ("group.consumer.max.size", "1")]);
        await using var client = await broker.ConnectAsync();
        var topicId = await CreateTopicAsync(client, "t", 2);
        await FindCoordinatorAsync(client, "g2");

        var noTimeout = Join("g2", "t");
        noTimeout.RebalanceTimeoutMs = -1;
        Assert.Equal((short)ErrorCode.InvalidRequest, (await HeartbeatAsync(client, noTimeout)).ErrorCode);

        var ownsOnJoin = Join("g2", "t");
        ownsOnJoin.TopicPartitions = null;
        Assert.Equal((short)ErrorCode.InvalidRequest, (await HeartbeatAsync(client, ownsOnJoin)).ErrorCode);

        var noSubscription = Join("g2", "t");
        noSubscription.SubscribedTopicNames = null;
        Assert.Equal((short)ErrorCode.InvalidRequest, (await HeartbeatAsync(client, noSubscription)).ErrorCode);

        Assert.Equal((short)ErrorCode.InvalidRequest, (await HeartbeatAsync(client, Join("g2", "t"), version: 1)).ErrorCode); // v1: client makes its id
        Assert.Equal((short)ErrorCode.UnsupportedAssignor, (await HeartbeatAsync(client, Join("g2", "t", assignor: "sticky"))).ErrorCode);
        Assert.Equal((short)ErrorCode.GroupIdNotFound, (await HeartbeatAsync(client, Beat("g2", "nobody", 3, topicId))).ErrorCode);

        var member = await HeartbeatAsync(client, Join("g2", "t", assignor: "range"));
        Assert.Equal(0, member.ErrorCode);
        Assert.Equal((short)ErrorCode.UnknownMemberId, (await HeartbeatAsync(client, Beat("g2", "nobody", 1, topicId))).ErrorCode);
        Assert.Equal((short)ErrorCode.FencedMemberEpoch, (await HeartbeatAsync(client, Beat("g2", member.MemberId!, 7, topicId, 0, 1))).ErrorCode);
        Assert.Equal((short)ErrorCode.GroupMaxSizeReached, (await HeartbeatAsync(client, Join("g2", "t"))).ErrorCode);

        // One protocol per group: a classic JoinGroup on a consumer group is refused.
        var (_, join) = await client.RequestAsync<JoinGroupResponse>(new JoinGroupRequest
        {
            GroupId = "g2",
            SessionTimeoutMs = 10000,
            RebalanceTimeoutMs = 10000,
            ProtocolType = "consumer",
            Protocols = [new JoinGroupRequest.JoinGroupRequestProtocol { Name = "range", Metadata = [0, 0] }],
        }, 5);
        Assert.Equal((short)ErrorCode.InconsistentGroupProtocol, join.ErrorCode);

        // Commits carry the member epoch (OffsetCommit v9): an old one is STALE_MEMBER_EPOCH.
        OffsetCommitRequest Commit(int epoch) => new()
        {
            GroupId = "g2",
            MemberId = member.MemberId!,
            GenerationIdOrMemberEpoch = epoch,
            Topics = [new OffsetCommitRequest.OffsetCommitRequestTopic { Name = "t", Partitions = [new() { PartitionIndex = 0, CommittedOffset = 5 }] }],
        };
        var (_, stale) = await client.RequestAsync<OffsetCommitResponse>(Commit(0), 9);
        Assert.Equal((short)ErrorCode.StaleMemberEpoch, stale.Topics[0].Partitions[0].ErrorCode);
        var (_, committed) = await client.RequestAsync<OffsetCommitResponse>(Commit(member.MemberEpoch), 9);
        Assert.Equal(0, committed.Topics[0].Partitions[0].ErrorCode);
        var (_, oldVersion) = await client.RequestAsync<OffsetCommitResponse>(Commit(member.MemberEpoch), 8);
        Assert.Equal((short)ErrorCode.UnsupportedVersion, oldVersion.Topics[0].Partitions[0].ErrorCode);

        var (_, describeClassic) = await client.RequestAsync<ConsumerGroupDescribeResponse>(new ConsumerGroupDescribeRequest { GroupIds = ["unknown-group"] }, 0);
        Assert.Equal((short)ErrorCode.GroupIdNotFound, describeClassic.Groups[0].ErrorCode);
    }

    [Fact]
    public async Task Heartbeat_BrokerRestarts_GroupReplayedFromConsumerOffsets()
    {
        using var dir = new TempDir();
        var properties = new Dictionary<string, string>
        {
            ["listeners"] = "PLAINTEXT://127.0.0.1:0",
            ["log.dirs"] = dir.Path,
            ["offsets.topic.replication.factor"] = "1",
            ["offsets.topic.num.partitions"] = "3",
        };
        using var loggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(_ => { });
        Uuid topicId;
        string memberId;
        await using (var broker = await KafkaBroker.StartAsync(KafkaConfig.FromProperties(properties), loggerFactory))
        {
            await using var client = await TestClient.ConnectAsync(broker.BoundEndpoints[0].Port);
            topicId = await CreateTopicAsync(client, "events", 4);
            await FindCoordinatorAsync(client, "g3");
            var joined = await HeartbeatAsync(client, Join("g3", "events"));
            Assert.Equal([0, 1, 2, 3], Partitions(joined, topicId));
            memberId = joined.MemberId!;
        }

        await using (var broker = await KafkaBroker.StartAsync(KafkaConfig.FromProperties(properties), loggerFactory))
        {
            await using var client = await TestClient.ConnectAsync(broker.BoundEndpoints[0].Port);
            // The member carries on at its epoch with what it owned; nothing is reassigned.
            var beat = await HeartbeatAsync(client, Beat("g3", memberId, 1, topicId, 0, 1, 2, 3));
            Assert.Equal(0, beat.ErrorCode);
            Assert.Equal(1, beat.MemberEpoch);

            var (_, described) = await client.RequestAsync<ConsumerGroupDescribeResponse>(new ConsumerGroupDescribeRequest { GroupIds = ["g3"] }, 0);
            var member = Assert.Single(described.Groups[0].Members);
            Assert.Equal(memberId, member.MemberId);
            Assert.Equal([0, 1, 2, 3], member.Assignment.TopicPartitions.Single().Partitions.Order());
            Assert.Equal("Stable", described.Groups[0].GroupState);
        }
    }

    [Fact]
    public async Task Heartbeat_MemberStopsHeartbeating_RemovedAfterSessionTimeoutAndPartitionsMove()
    {
        await using var broker = await TestBroker.StartAsync([.. SmallOffsetsTopic,
            ("group.consumer.session.timeout.ms", "1500"), ("group.consumer.min.session.timeout.ms", "1000")]);
        await using var client = await broker.ConnectAsync();
        var topicId = await CreateTopicAsync(client, "s", 2);
        await FindCoordinatorAsync(client, "g4");

        var silent = await HeartbeatAsync(client, Join("g4", "s"));
        var alive = await HeartbeatAsync(client, Join("g4", "s"));
        Assert.Equal([0, 1], Partitions(silent, topicId));

        // Only the second member keeps heartbeating; after the first one's session expires it owns both partitions.
        var epoch = alive.MemberEpoch;
        int[] owned = [];
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (owned.Length < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(300);
            var beat = await HeartbeatAsync(client, Beat("g4", alive.MemberId!, epoch, topicId, owned));
            Assert.Equal(0, beat.ErrorCode);
            epoch = beat.MemberEpoch;
            owned = beat.Assignment is null ? owned : Partitions(beat, topicId);
        }
        Assert.Equal([0, 1], owned);
        Assert.Equal((short)ErrorCode.UnknownMemberId, (await HeartbeatAsync(client, Beat("g4", silent.MemberId!, silent.MemberEpoch, topicId, 0, 1))).ErrorCode);
        Assert.Contains(broker.Logs.Lines, l => l.Message.Contains("session timeout expired", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Heartbeat_StaticMemberRejoinsWithNewId_GetsItsPartitionsBackWithoutRebalance()
    {
        await using var broker = await TestBroker.StartAsync(SmallOffsetsTopic);
        await using var client = await broker.ConnectAsync();
        var topicId = await CreateTopicAsync(client, "st", 2);
        await FindCoordinatorAsync(client, "g5");

        var join = Join("g5", "st");
        join.InstanceId = "instance-1";
        var first = await HeartbeatAsync(client, join);
        Assert.Equal([0, 1], Partitions(first, topicId));

        // Another process claiming the same instance id while the first is active is refused.
        var thief = Join("g5", "st");
        thief.InstanceId = "instance-1";
        Assert.Equal((short)ErrorCode.UnreleasedInstanceId, (await HeartbeatAsync(client, thief)).ErrorCode);

        // Temporary leave (-2), then a restart with a new member id within the session timeout.
        var leave = await HeartbeatAsync(client, new ConsumerGroupHeartbeatRequest { GroupId = "g5", MemberId = first.MemberId!, MemberEpoch = -2, InstanceId = "instance-1" });
        Assert.Equal(0, leave.ErrorCode);
        Assert.Equal(-2, leave.MemberEpoch);
        var restarted = await HeartbeatAsync(client, thief);
        Assert.Equal(0, restarted.ErrorCode);
        Assert.NotEqual(first.MemberId, restarted.MemberId);
        Assert.Equal(first.MemberEpoch, restarted.MemberEpoch); // no new group epoch: no rebalance
        Assert.Equal([0, 1], Partitions(restarted, topicId));
    }

    [Fact]
    public async Task Heartbeat_EmptyClassicGroupWithOffsets_IsUpgradedAndKeepsItsOffsets()
    {
        await using var broker = await TestBroker.StartAsync(SmallOffsetsTopic);
        await using var client = await broker.ConnectAsync();
        var topicId = await CreateTopicAsync(client, "up", 1);
        await FindCoordinatorAsync(client, "g6");

        // A simple consumer's commit (no membership) makes an empty classic group.
        OffsetCommitResponse committed;
        do
        {
            (_, committed) = await client.RequestAsync<OffsetCommitResponse>(new OffsetCommitRequest
            {
                GroupId = "g6",
                Topics = [new OffsetCommitRequest.OffsetCommitRequestTopic { Name = "up", Partitions = [new() { PartitionIndex = 0, CommittedOffset = 42 }] }],
            }, 9);
        }
        while ((ErrorCode)committed.Topics[0].Partitions[0].ErrorCode is ErrorCode.CoordinatorLoadInProgress or ErrorCode.NotCoordinator);
        Assert.Equal(0, committed.Topics[0].Partitions[0].ErrorCode);

        var joined = await HeartbeatAsync(client, Join("g6", "up"));
        Assert.Equal(0, joined.ErrorCode);
        Assert.Equal([0], Partitions(joined, topicId));

        var (_, listed) = await client.RequestAsync<ListGroupsResponse>(new ListGroupsRequest(), 5);
        Assert.Equal("consumer", Assert.Single(listed.Groups, g => g.GroupId == "g6").GroupType);

        // OffsetFetch v9 as the member: the classic group's offset survived the upgrade.
        var (_, fetched) = await client.RequestAsync<OffsetFetchResponse>(new OffsetFetchRequest
        {
            Groups = [new OffsetFetchRequest.OffsetFetchRequestGroup { GroupId = "g6", MemberId = joined.MemberId, MemberEpoch = joined.MemberEpoch, Topics = null }],
        }, 9);
        var group = Assert.Single(fetched.Groups);
        Assert.Equal(0, group.ErrorCode);
        Assert.Equal(42, group.Topics.Single().Partitions.Single().CommittedOffset);

        // The same fetch with an old member epoch is STALE_MEMBER_EPOCH.
        var (_, stale) = await client.RequestAsync<OffsetFetchResponse>(new OffsetFetchRequest
        {
            Groups = [new OffsetFetchRequest.OffsetFetchRequestGroup { GroupId = "g6", MemberId = joined.MemberId, MemberEpoch = joined.MemberEpoch + 5, Topics = null }],
        }, 9);
        Assert.Equal((short)ErrorCode.StaleMemberEpoch, stale.Groups.Single().ErrorCode);
    }
}
