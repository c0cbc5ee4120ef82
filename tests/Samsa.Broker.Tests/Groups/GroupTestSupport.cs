using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Tests.Groups;

/// <summary>Hand-built group requests over a real connection to an in-process broker.</summary>
internal static class Groups
{
    /// <summary>Small offsets topic and short session bounds, so rebalances and expiry fit in a test.</summary>
    public static readonly (string Key, string Value)[] FastConfig =
    [
        ("offsets.topic.num.partitions", "5"),
        ("group.min.session.timeout.ms", "100"),
    ];

    public const string ProtocolType = "consumer";

    /// <summary>A ConsumerProtocolSubscription v0 for <paramref name="topics"/> (what Kafka's consumers put in JoinGroup).</summary>
    public static byte[] Subscription(params string[] topics)
    {
        var size = 2 + 4 + topics.Sum(t => 2 + System.Text.Encoding.UTF8.GetByteCount(t)) + 4;
        var bytes = new byte[size];
        var writer = new ProtocolWriter(bytes);
        writer.WriteInt16(0);
        writer.WriteInt32(topics.Length);
        foreach (var topic in topics)
        {
            writer.WriteNullableString(topic);
        }
        writer.WriteInt32(-1);
        return bytes;
    }

    public static async Task CreateTopic(TestBroker broker, TestClient client, string name, int partitions = 1)
    {
        var request = new CreateTopicsRequest { timeoutMs = 10000, Topics = [new() { Name = name, NumPartitions = partitions, ReplicationFactor = 1 }] };
        var (_, response) = await client.RequestAsync<CreateTopicsResponse>(request, 7);
        Assert.Equal(0, response.Topics[0].ErrorCode);
        await WaitUntil(() => Enumerable.Range(0, partitions).All(p => broker.Broker.Logs.Get(name, p) is not null), $"logs of {name}");
    }

    /// <summary>
    /// FindCoordinator, retried as clients retry COORDINATOR_NOT_AVAILABLE (a fresh offsets topic opens its logs in the
    /// background, and a coordinator is named only once its shard has loaded); the named shard then serves.
    /// </summary>
    public static async Task<FindCoordinatorResponse> FindCoordinator(TestBroker broker, TestClient client, string groupId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var (_, response) = await client.RequestAsync<FindCoordinatorResponse>(new FindCoordinatorRequest { Key = groupId, KeyType = 0 }, 3);
            if (response.ErrorCode == (short)ErrorCode.None)
            {
                Assert.Equal(ErrorCode.None, broker.Broker.Groups!.ShardFor(groupId).Error);
                // Tests go on to use other groups too: wait for every shard, so none of them meets a loading one.
                await WaitUntil(() => broker.Broker.Groups.Shards.Values.All(s => s.State == Samsa.Broker.Groups.ShardState.Active), "every shard loaded");
                return response;
            }
            Assert.Equal((short)ErrorCode.CoordinatorNotAvailable, response.ErrorCode);
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for the coordinator of {groupId}");
            await Task.Delay(10);
        }
    }

    public static async Task WaitUntil(Func<bool> condition, string what, int timeoutMs = 10_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(10);
        }
    }

    public static JoinGroupRequest Join(string groupId, string memberId = "", string? instanceId = null, int sessionTimeoutMs = 10_000,
        int rebalanceTimeoutMs = 10_000, string protocolType = ProtocolType, params (string Name, byte[] Metadata)[] protocols) => new()
        {
            GroupId = groupId,
            MemberId = memberId,
            GroupInstanceId = instanceId,
            SessionTimeoutMs = sessionTimeoutMs,
            RebalanceTimeoutMs = rebalanceTimeoutMs,
            ProtocolType = protocolType,
            Protocols = [.. (protocols.Length == 0 ? [("range", Subscription("t"))] : protocols).Select(p => new JoinGroupRequest.JoinGroupRequestProtocol { Name = p.Name, Metadata = p.Metadata })],
        };

    public static async Task<JoinGroupResponse> JoinAsync(TestClient client, JoinGroupRequest request, short version = 9)
    {
        var (_, response) = await client.RequestAsync<JoinGroupResponse>(request, version);
        return response;
    }

    /// <summary>The KIP-394 dance: a JoinGroup without id gets MEMBER_ID_REQUIRED and an id, then joins with it.</summary>
    public static async Task<JoinGroupResponse> JoinNewMemberAsync(TestClient client, JoinGroupRequest request)
    {
        var first = await JoinAsync(client, request);
        Assert.Equal((short)ErrorCode.MemberIdRequired, first.ErrorCode);
        Assert.NotEmpty(first.MemberId);
        request.MemberId = first.MemberId;
        return await JoinAsync(client, request);
    }

    public static async Task<SyncGroupResponse> SyncAsync(TestClient client, string groupId, int generation, string memberId,
        string? instanceId = null, params (string MemberId, byte[] Assignment)[] assignments)
    {
        var request = new SyncGroupRequest
        {
            GroupId = groupId,
            GenerationId = generation,
            MemberId = memberId,
            GroupInstanceId = instanceId,
            ProtocolType = ProtocolType,
            ProtocolName = "range",
            Assignments = [.. assignments.Select(a => new SyncGroupRequest.SyncGroupRequestAssignment { MemberId = a.MemberId, Assignment = a.Assignment })],
        };
        var (_, response) = await client.RequestAsync<SyncGroupResponse>(request, 5);
        return response;
    }

    public static async Task<ErrorCode> HeartbeatAsync(TestClient client, string groupId, int generation, string memberId, string? instanceId = null)
    {
        var (_, response) = await client.RequestAsync<HeartbeatResponse>(
            new HeartbeatRequest { GroupId = groupId, GenerationId = generation, MemberId = memberId, GroupInstanceId = instanceId }, 4);
        return (ErrorCode)response.ErrorCode;
    }

    public static async Task<LeaveGroupResponse> LeaveAsync(TestClient client, string groupId, params (string MemberId, string? InstanceId)[] members)
    {
        var request = new LeaveGroupRequest
        {
            GroupId = groupId,
            Members = [.. members.Select(m => new LeaveGroupRequest.MemberIdentity { MemberId = m.MemberId, GroupInstanceId = m.InstanceId })],
        };
        var (_, response) = await client.RequestAsync<LeaveGroupResponse>(request, 5);
        return response;
    }

    /// <summary>One member joins and syncs, assigning itself <paramref name="assignment"/>: a Stable group of one.</summary>
    public static async Task<(string MemberId, int Generation)> StableGroupOfOne(TestClient client, string groupId, byte[]? assignment = null, string? instanceId = null)
    {
        var request = Join(groupId, instanceId: instanceId);
        var joined = instanceId is null ? await JoinNewMemberAsync(client, request) : await JoinAsync(client, request);
        Assert.Equal(0, joined.ErrorCode);
        Assert.Equal(joined.MemberId, joined.Leader);
        var synced = await SyncAsync(client, groupId, joined.GenerationId, joined.MemberId, instanceId, (joined.MemberId, assignment ?? [1, 2, 3]));
        Assert.Equal(0, synced.ErrorCode);
        return (joined.MemberId, joined.GenerationId);
    }

    public static OffsetCommitRequest Commit(string groupId, string topic, int partition, long offset, int generation = -1, string memberId = "",
        string? metadata = "", string? instanceId = null) => new()
        {
            GroupId = groupId,
            GenerationIdOrMemberEpoch = generation,
            MemberId = memberId,
            GroupInstanceId = instanceId,
            Topics = [new() { Name = topic, Partitions = [new() { PartitionIndex = partition, CommittedOffset = offset, CommittedMetadata = metadata }] }],
        };

    public static async Task<ErrorCode> CommitAsync(TestClient client, OffsetCommitRequest request, short version = 9)
    {
        var (_, response) = await client.RequestAsync<OffsetCommitResponse>(request, version);
        return (ErrorCode)Assert.Single(Assert.Single(response.Topics).Partitions).ErrorCode;
    }

    /// <summary>OffsetFetch v8 for one group and topic; returns the group's error and partition -> (offset, metadata).</summary>
    public static async Task<(ErrorCode Error, Dictionary<int, (long Offset, string? Metadata)> Offsets)> FetchAsync(TestClient client, string groupId, string? topic, params int[] partitions)
    {
        var request = new OffsetFetchRequest
        {
            Groups = [new() { GroupId = groupId, Topics = topic is null ? null : [new() { Name = topic, PartitionIndexes = [.. partitions] }] }],
        };
        var (_, response) = await client.RequestAsync<OffsetFetchResponse>(request, 8);
        var group = Assert.Single(response.Groups);
        return ((ErrorCode)group.ErrorCode, group.Topics.SelectMany(t => t.Partitions).ToDictionary(p => p.PartitionIndex, p => (p.CommittedOffset, p.Metadata)));
    }
}
