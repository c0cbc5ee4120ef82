using System.Collections.Concurrent;
using Samsa.Broker.Security;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using GroupRequests = Samsa.Broker.Tests.Groups.Groups;

namespace Samsa.Broker.Tests.Security;

/// <summary>
/// An authorizer that allows exactly the listed (operation, resource type, name) triples, for any principal; "by
/// resource type" is allowed when some triple of that operation and type is listed. A stand-in for ACLs, so the
/// handlers' own checks are what these tests exercise.
/// </summary>
internal sealed class AllowListAuthorizer : IAuthorizer
{
    private readonly ConcurrentDictionary<(AclOperation, AclResourceType, string), bool> _allowed = new();

    public void Allow(AclOperation operation, AclResourceType type, string name) => _allowed[(operation, type, name)] = true;

    public void Revoke(AclOperation operation, AclResourceType type, string name) => _allowed.TryRemove((operation, type, name), out _);

    public bool Authorize(AuthorizationSubject subject, AclOperation operation, AclResourceType resourceType, string resourceName) =>
        _allowed.ContainsKey((operation, resourceType, resourceName));

    public bool AuthorizeByResourceType(AuthorizationSubject subject, AclOperation operation, AclResourceType resourceType) =>
        _allowed.Keys.Any(k => k.Item1 == operation && k.Item2 == resourceType);
}

/// <summary>
/// The group, offset and transaction handlers behind a real socket with an authorizer: each denial carries Kafka's
/// error code at Kafka's scope (whole request, per group, per partition), and what is allowed still works.
/// </summary>
public class GroupAndTransactionAuthorizationTests
{
    private const string Group = "g";
    private const string Allowed = "allowed";
    private const string Secret = "secret";
    private const string TransactionalId = "txn";

    private static async Task<(TestBroker Broker, TestClient Client, AllowListAuthorizer Acls)> StartAsync()
    {
        var broker = await TestBroker.StartAsync(GroupRequests.FastConfig);
        var client = await broker.ConnectAsync();
        await GroupRequests.CreateTopic(broker, client, Allowed);
        await GroupRequests.CreateTopic(broker, client, Secret);
        await GroupRequests.FindCoordinator(broker, client, Group);
        return (broker, client, new AllowListAuthorizer());
    }

    private static OffsetCommitRequest CommitBoth(string groupId, int generation = -1, string memberId = "") => new()
    {
        GroupId = groupId,
        GenerationIdOrMemberEpoch = generation,
        MemberId = memberId,
        Topics =
        [
            new() { Name = Allowed, Partitions = [new() { PartitionIndex = 0, CommittedOffset = 5, CommittedMetadata = "" }] },
            new() { Name = Secret, Partitions = [new() { PartitionIndex = 0, CommittedOffset = 6, CommittedMetadata = "" }] },
        ],
    };

    private static Dictionary<string, ErrorCode> ByTopic(OffsetCommitResponse response) =>
        response.Topics.ToDictionary(t => t.Name, t => (ErrorCode)Assert.Single(t.Partitions).ErrorCode);

    [Fact]
    public async Task ClassicGroup_AllowedGroupAndTopicWork_DeniedOnesGetKafkasErrors()
    {
        var (broker, client, acls) = await StartAsync();
        await using var _ = broker;
        await using var __ = client;
        // Before ACLs: offsets of a secret topic in the group, and a second group to hide from listings.
        Assert.Equal(ErrorCode.None, await GroupRequests.CommitAsync(client, GroupRequests.Commit(Group, Secret, 0, 7)));
        Assert.Equal(ErrorCode.None, await GroupRequests.CommitAsync(client, GroupRequests.Commit("hidden", Allowed, 0, 1)));
        broker.Broker.Dispatcher.Authorizer = acls;
        acls.Allow(AclOperation.Describe, AclResourceType.Group, Group);
        acls.Allow(AclOperation.Read, AclResourceType.Group, Group);
        acls.Allow(AclOperation.Read, AclResourceType.Topic, Allowed);
        acls.Allow(AclOperation.Describe, AclResourceType.Topic, Allowed);

        var found = (await client.RequestAsync<FindCoordinatorResponse>(new FindCoordinatorRequest { KeyType = 0, CoordinatorKeys = [Group, "other"] }, 4)).Body;
        Assert.Equal(0, found.Coordinators[0].ErrorCode);
        Assert.Equal((short)ErrorCode.GroupAuthorizationFailed, found.Coordinators[1].ErrorCode);
        Assert.Equal(-1, found.Coordinators[1].NodeId);

        // Denied group: every classic group API answers GROUP_AUTHORIZATION_FAILED.
        Assert.Equal((short)ErrorCode.GroupAuthorizationFailed, (await GroupRequests.JoinAsync(client, GroupRequests.Join("other"))).ErrorCode);
        Assert.Equal((short)ErrorCode.GroupAuthorizationFailed, (await GroupRequests.SyncAsync(client, "other", 1, "m")).ErrorCode);
        Assert.Equal(ErrorCode.GroupAuthorizationFailed, await GroupRequests.HeartbeatAsync(client, "other", 1, "m"));
        Assert.Equal((short)ErrorCode.GroupAuthorizationFailed, (await GroupRequests.LeaveAsync(client, "other", ("m", null))).ErrorCode);
        var deniedCommit = (await client.RequestAsync<OffsetCommitResponse>(CommitBoth("other"), 9)).Body;
        Assert.All(ByTopic(deniedCommit).Values, e => Assert.Equal(ErrorCode.GroupAuthorizationFailed, e));
        Assert.Equal(ErrorCode.GroupAuthorizationFailed, (await GroupRequests.FetchAsync(client, "other", Allowed, 0)).Error);

        // Allowed group: join, sync, heartbeat; the commit fails only for the partition of the unreadable topic.
        var (memberId, generation) = await GroupRequests.StableGroupOfOne(client, Group);
        Assert.Equal(ErrorCode.None, await GroupRequests.HeartbeatAsync(client, Group, generation, memberId));
        var commit = ByTopic((await client.RequestAsync<OffsetCommitResponse>(CommitBoth(Group, generation, memberId), 9)).Body);
        Assert.Equal(ErrorCode.None, commit[Allowed]);
        Assert.Equal(ErrorCode.TopicAuthorizationFailed, commit[Secret]);

        // OffsetFetch: a named secret topic is TOPIC_AUTHORIZATION_FAILED; "all offsets" leaves it out silently.
        var named = (await client.RequestAsync<OffsetFetchResponse>(new OffsetFetchRequest
        {
            Groups = [new() { GroupId = Group, Topics = [new() { Name = Allowed, PartitionIndexes = [0] }, new() { Name = Secret, PartitionIndexes = [0] }] }],
        }, 8)).Body.Groups[0].Topics.ToDictionary(t => t.Name, t => Assert.Single(t.Partitions));
        Assert.Equal((0, 5L), (named[Allowed].ErrorCode, named[Allowed].CommittedOffset));
        Assert.Equal(((short)ErrorCode.TopicAuthorizationFailed, -1L), (named[Secret].ErrorCode, named[Secret].CommittedOffset));
        var all = await GroupRequests.FetchAsync(client, Group, null);
        Assert.Equal(ErrorCode.None, all.Error);
        Assert.Equal([0], all.Offsets.Keys);
        Assert.Equal(5, all.Offsets[0].Offset);
        var v1 = (await client.RequestAsync<OffsetFetchResponse>(new OffsetFetchRequest
        {
            GroupId = "other",
            Topics = [new() { Name = Allowed, PartitionIndexes = [0] }],
        }, 1)).Body;
        Assert.Equal((short)ErrorCode.GroupAuthorizationFailed, Assert.Single(Assert.Single(v1.Topics).Partitions).ErrorCode);

        // DescribeGroups: the denied group first; the allowed one with what this principal may do on it.
        var described = (await client.RequestAsync<DescribeGroupsResponse>(new DescribeGroupsRequest
        {
            Groups = [Group, "other"],
            IncludeAuthorizedOperations = true,
        }, 5)).Body.Groups;
        Assert.Equal(["other", Group], described.Select(g => g.GroupId));
        Assert.Equal((short)ErrorCode.GroupAuthorizationFailed, described[0].ErrorCode);
        Assert.Equal(int.MinValue, described[0].AuthorizedOperations);
        Assert.Equal("Stable", described[1].GroupState);
        Assert.Equal((1 << (int)AclOperation.Read) | (1 << (int)AclOperation.Describe), described[1].AuthorizedOperations);

        // ListGroups: only describable groups, until DESCRIBE on the cluster shows them all.
        var listed = (await client.RequestAsync<ListGroupsResponse>(new ListGroupsRequest(), 4)).Body;
        Assert.Equal([Group], listed.Groups.Select(g => g.GroupId));
        acls.Allow(AclOperation.Describe, AclResourceType.Cluster, Samsa.Broker.Handlers.RequestContext.ClusterResourceName);
        listed = (await client.RequestAsync<ListGroupsResponse>(new ListGroupsRequest(), 4)).Body;
        Assert.Equal([Group, "hidden"], listed.Groups.Select(g => g.GroupId).Order(StringComparer.Ordinal));

        // Deleting needs DELETE on the group; OffsetDelete then READ on each topic.
        var offsetDelete = new OffsetDeleteRequest
        {
            GroupId = Group,
            Topics = [new() { Name = Allowed, Partitions = [new() { PartitionIndex = 0 }] }, new() { Name = Secret, Partitions = [new() { PartitionIndex = 0 }] }],
        };
        Assert.Equal((short)ErrorCode.GroupAuthorizationFailed, (await client.RequestAsync<OffsetDeleteResponse>(offsetDelete, 0)).Body.ErrorCode);
        var deleteGroups = new DeleteGroupsRequest { GroupsNames = [Group] };
        Assert.Equal((short)ErrorCode.GroupAuthorizationFailed, Assert.Single((await client.RequestAsync<DeleteGroupsResponse>(deleteGroups, 2)).Body.Results).ErrorCode);
        Assert.Equal(0, Assert.Single((await GroupRequests.LeaveAsync(client, Group, (memberId, null))).Members).ErrorCode);
        acls.Allow(AclOperation.Delete, AclResourceType.Group, Group);
        var offsetsDeleted = (await client.RequestAsync<OffsetDeleteResponse>(offsetDelete, 0)).Body;
        Assert.Equal(0, offsetsDeleted.ErrorCode);
        Assert.Equal(
            [(Allowed, (short)0), (Secret, (short)ErrorCode.TopicAuthorizationFailed)],
            offsetsDeleted.Topics.Select(t => (t.Name, Assert.Single(t.Partitions).ErrorCode)));
        Assert.Equal(0, Assert.Single((await client.RequestAsync<DeleteGroupsResponse>(deleteGroups, 2)).Body.Results).ErrorCode);
    }

    [Fact]
    public async Task ConsumerGroup_HeartbeatNeedsGroupReadAndTopicDescribe_DescribeHidesUndescribableAssignments()
    {
        var (broker, client, acls) = await StartAsync();
        await using var _ = broker;
        await using var __ = client;
        broker.Broker.Dispatcher.Authorizer = acls;
        acls.Allow(AclOperation.Read, AclResourceType.Group, Group);
        acls.Allow(AclOperation.Describe, AclResourceType.Group, Group);
        acls.Allow(AclOperation.Describe, AclResourceType.Topic, Allowed);
        ConsumerGroupHeartbeatRequest Join(string groupId, params string[] topics) =>
            new() { GroupId = groupId, MemberId = "", MemberEpoch = 0, RebalanceTimeoutMs = 30_000, SubscribedTopicNames = [.. topics], TopicPartitions = [] };

        var denied = (await client.RequestAsync<ConsumerGroupHeartbeatResponse>(Join("other", Allowed), 0)).Body;
        Assert.Equal((short)ErrorCode.GroupAuthorizationFailed, denied.ErrorCode);
        var secretTopic = (await client.RequestAsync<ConsumerGroupHeartbeatResponse>(Join(Group, Allowed, Secret), 0)).Body;
        Assert.Equal((short)ErrorCode.TopicAuthorizationFailed, secretTopic.ErrorCode);

        // With DESCRIBE on the secret topic the member joins and is assigned it...
        acls.Allow(AclOperation.Describe, AclResourceType.Topic, Secret);
        var joined = (await client.RequestAsync<ConsumerGroupHeartbeatResponse>(Join(Group, Allowed, Secret), 0)).Body;
        Assert.Equal(0, joined.ErrorCode);
        Assert.Equal(2, joined.Assignment!.TopicPartitions.Count);
        var request = new ConsumerGroupDescribeRequest { GroupIds = [Group, "other"], IncludeAuthorizedOperations = true };
        var described = (await client.RequestAsync<ConsumerGroupDescribeResponse>(request, 0)).Body.Groups;
        Assert.Equal(["other", Group], described.Select(g => g.GroupId));
        Assert.Equal((short)ErrorCode.GroupAuthorizationFailed, described[0].ErrorCode);
        Assert.Equal(0, described[1].ErrorCode);
        Assert.Single(described[1].Members);
        Assert.Equal((1 << (int)AclOperation.Read) | (1 << (int)AclOperation.Describe), described[1].AuthorizedOperations);

        // ...and once it may no longer see it, the group's description is withheld.
        acls.Revoke(AclOperation.Describe, AclResourceType.Topic, Secret);
        var hidden = Assert.Single((await client.RequestAsync<ConsumerGroupDescribeResponse>(new ConsumerGroupDescribeRequest { GroupIds = [Group] }, 0)).Body.Groups);
        Assert.Equal((short)ErrorCode.TopicAuthorizationFailed, hidden.ErrorCode);
        Assert.Empty(hidden.Members);
    }

    /// <summary>FindCoordinator for a transactional id, retried while <c>__transaction_state</c> is created and loaded, as clients retry.</summary>
    private static async Task FindTransactionCoordinatorAsync(TestClient client, string transactionalId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var request = new FindCoordinatorRequest { KeyType = 1, CoordinatorKeys = [transactionalId] };
            var error = Assert.Single((await client.RequestAsync<FindCoordinatorResponse>(request, 4)).Body.Coordinators).ErrorCode;
            if (error != (short)ErrorCode.CoordinatorNotAvailable || DateTime.UtcNow > deadline)
            {
                Assert.Equal(0, error);
                return;
            }
            await Task.Delay(20);
        }
    }

    private static async Task<InitProducerIdResponse> InitProducerIdAsync(TestClient client, string? transactionalId) =>
        (await client.RequestAsync<InitProducerIdResponse>(new InitProducerIdRequest
        {
            TransactionalId = transactionalId,
            TransactionTimeoutMs = 60_000,
            ProducerId = -1,
            ProducerEpoch = -1,
        }, 5)).Body;

    private static AddPartitionsToTxnRequest AddPartitions(string transactionalId, InitProducerIdResponse producer, params string[] topics) => new()
    {
        V3AndBelowTransactionalId = transactionalId,
        V3AndBelowProducerId = producer.ProducerId,
        V3AndBelowProducerEpoch = producer.ProducerEpoch,
        V3AndBelowTopics = [.. topics.Select(t => new AddPartitionsToTxnRequest.AddPartitionsToTxnTopic { Name = t, Partitions = [0] })],
    };

    private static async Task<Dictionary<string, short>> AddPartitionsAsync(TestClient client, AddPartitionsToTxnRequest request) =>
        (await client.RequestAsync<AddPartitionsToTxnResponse>(request, 3)).Body.ResultsByTopicV3AndBelow
            .ToDictionary(t => t.Name, t => Assert.Single(t.ResultsByPartition).PartitionErrorCode);

    [Fact]
    public async Task Transactions_AllowedIdAndTopicWork_DeniedOnesGetKafkasErrors()
    {
        var (broker, client, acls) = await StartAsync();
        await using var _ = broker;
        await using var __ = client;
        // Before ACLs: a transactional id this principal will not be allowed to see.
        await FindTransactionCoordinatorAsync(client, "hidden-txn");
        Assert.Equal(0, (await InitProducerIdAsync(client, "hidden-txn")).ErrorCode);
        broker.Broker.Dispatcher.Authorizer = acls;

        // Idempotent producers need IDEMPOTENT_WRITE on the cluster, or WRITE on some topic.
        Assert.Equal((short)ErrorCode.ClusterAuthorizationFailed, (await InitProducerIdAsync(client, null)).ErrorCode);
        acls.Allow(AclOperation.Write, AclResourceType.Topic, Allowed);
        var idempotent = await InitProducerIdAsync(client, null);
        Assert.Equal(0, idempotent.ErrorCode);
        Assert.True(idempotent.ProducerId >= 0);

        // Transactional ids need DESCRIBE to be found and WRITE to be used.
        var found = (await client.RequestAsync<FindCoordinatorResponse>(new FindCoordinatorRequest { KeyType = 1, CoordinatorKeys = [TransactionalId] }, 4)).Body;
        Assert.Equal((short)ErrorCode.TransactionalIdAuthorizationFailed, Assert.Single(found.Coordinators).ErrorCode);
        Assert.Equal((short)ErrorCode.TransactionalIdAuthorizationFailed, (await InitProducerIdAsync(client, TransactionalId)).ErrorCode);
        acls.Allow(AclOperation.Describe, AclResourceType.TransactionalId, TransactionalId);
        acls.Allow(AclOperation.Write, AclResourceType.TransactionalId, TransactionalId);
        Assert.Equal(0, Assert.Single((await client.RequestAsync<FindCoordinatorResponse>(new FindCoordinatorRequest { KeyType = 1, CoordinatorKeys = [TransactionalId] }, 4)).Body.Coordinators).ErrorCode);
        var producer = await InitProducerIdAsync(client, TransactionalId);
        Assert.Equal(0, producer.ErrorCode);

        // AddPartitionsToTxn: a denied topic fails the whole transaction, the others are not attempted.
        Assert.Equal((short)ErrorCode.TransactionalIdAuthorizationFailed, (await AddPartitionsAsync(client, AddPartitions("other", producer, Allowed)))[Allowed]);
        var mixed = await AddPartitionsAsync(client, AddPartitions(TransactionalId, producer, Allowed, Secret));
        Assert.Equal((short)ErrorCode.OperationNotAttempted, mixed[Allowed]);
        Assert.Equal((short)ErrorCode.TopicAuthorizationFailed, mixed[Secret]);
        Assert.Equal(0, (await AddPartitionsAsync(client, AddPartitions(TransactionalId, producer, Allowed)))[Allowed]);
        var brokerBatch = new AddPartitionsToTxnRequest
        {
            Transactions = [new() { TransactionalId = TransactionalId, ProducerId = producer.ProducerId, ProducerEpoch = producer.ProducerEpoch, VerifyOnly = true,
                Topics = [new() { Name = Allowed, Partitions = [0] }] }],
        };
        Assert.Equal((short)ErrorCode.ClusterAuthorizationFailed, (await client.RequestAsync<AddPartitionsToTxnResponse>(brokerBatch, 4)).Body.ErrorCode);

        // AddOffsetsToTxn and TxnOffsetCommit: the transactional id first, then the group, then each topic.
        AddOffsetsToTxnRequest AddOffsets(string id) => new() { TransactionalId = id, ProducerId = producer.ProducerId, ProducerEpoch = producer.ProducerEpoch, GroupId = Group };
        Assert.Equal((short)ErrorCode.TransactionalIdAuthorizationFailed, (await client.RequestAsync<AddOffsetsToTxnResponse>(AddOffsets("other"), 3)).Body.ErrorCode);
        Assert.Equal((short)ErrorCode.GroupAuthorizationFailed, (await client.RequestAsync<AddOffsetsToTxnResponse>(AddOffsets(TransactionalId), 3)).Body.ErrorCode);
        TxnOffsetCommitRequest TxnCommit(string id) => new()
        {
            TransactionalId = id,
            GroupId = Group,
            ProducerId = producer.ProducerId,
            ProducerEpoch = producer.ProducerEpoch,
            GenerationId = -1,
            MemberId = "",
            Topics = [.. new[] { Allowed, Secret }.Select(t => new TxnOffsetCommitRequest.TxnOffsetCommitRequestTopic
            {
                Name = t, Partitions = [new() { PartitionIndex = 0, CommittedOffset = 3, CommittedMetadata = "" }],
            })],
        };
        Dictionary<string, short> TxnCommitErrors(TxnOffsetCommitResponse r) => r.Topics.ToDictionary(t => t.Name, t => Assert.Single(t.Partitions).ErrorCode);
        var txnDenied = TxnCommitErrors((await client.RequestAsync<TxnOffsetCommitResponse>(TxnCommit("other"), 3)).Body);
        Assert.All(txnDenied.Values, e => Assert.Equal((short)ErrorCode.TransactionalIdAuthorizationFailed, e));
        var groupDenied = TxnCommitErrors((await client.RequestAsync<TxnOffsetCommitResponse>(TxnCommit(TransactionalId), 3)).Body);
        Assert.All(groupDenied.Values, e => Assert.Equal((short)ErrorCode.GroupAuthorizationFailed, e));
        acls.Allow(AclOperation.Read, AclResourceType.Group, Group);
        acls.Allow(AclOperation.Read, AclResourceType.Topic, Allowed);
        Assert.Equal(0, (await client.RequestAsync<AddOffsetsToTxnResponse>(AddOffsets(TransactionalId), 3)).Body.ErrorCode);
        var txnCommitted = TxnCommitErrors((await client.RequestAsync<TxnOffsetCommitResponse>(TxnCommit(TransactionalId), 3)).Body);
        Assert.Equal(0, txnCommitted[Allowed]);
        Assert.Equal((short)ErrorCode.TopicAuthorizationFailed, txnCommitted[Secret]);

        // DescribeTransactions per id, with only describable topics; ListTransactions only describable ids.
        var states = (await client.RequestAsync<DescribeTransactionsResponse>(new DescribeTransactionsRequest { TransactionalIds = [TransactionalId, "hidden-txn"] }, 0))
            .Body.TransactionStates;
        Assert.Equal(0, states[0].ErrorCode);
        Assert.Equal("Ongoing", states[0].TransactionState);
        Assert.DoesNotContain(states[0].Topics, t => t.Topic == Allowed);   // no DESCRIBE on the topic yet
        Assert.Equal((short)ErrorCode.TransactionalIdAuthorizationFailed, states[1].ErrorCode);
        acls.Allow(AclOperation.Describe, AclResourceType.Topic, Allowed);
        states = (await client.RequestAsync<DescribeTransactionsResponse>(new DescribeTransactionsRequest { TransactionalIds = [TransactionalId] }, 0)).Body.TransactionStates;
        Assert.Contains(states[0].Topics, t => t.Topic == Allowed);
        var listed = (await client.RequestAsync<ListTransactionsResponse>(new ListTransactionsRequest(), 0)).Body;
        Assert.Equal([TransactionalId], listed.TransactionStates.Select(s => s.TransactionalId));

        // EndTxn needs WRITE on the id.
        EndTxnRequest End(string id) => new() { TransactionalId = id, ProducerId = producer.ProducerId, ProducerEpoch = producer.ProducerEpoch, Committed = true };
        Assert.Equal((short)ErrorCode.TransactionalIdAuthorizationFailed, (await client.RequestAsync<EndTxnResponse>(End("other"), 3)).Body.ErrorCode);
        Assert.Equal(0, (await client.RequestAsync<EndTxnResponse>(End(TransactionalId), 3)).Body.ErrorCode);
    }

    [Fact]
    public async Task WriteTxnMarkersAndDescribeProducers_NeedClusterActionAndTopicRead()
    {
        var (broker, client, acls) = await StartAsync();
        await using var _ = broker;
        await using var __ = client;
        broker.Broker.Dispatcher.Authorizer = acls;
        acls.Allow(AclOperation.Read, AclResourceType.Topic, Allowed);

        var markers = new WriteTxnMarkersRequest
        {
            Markers = [new() { ProducerId = 1, ProducerEpoch = 0, TransactionResult = true, CoordinatorEpoch = 0,
                Topics = [new() { Name = Allowed, PartitionIndexes = [0] }, new() { Name = Secret, PartitionIndexes = [0] }] }],
        };
        var written = (await client.RequestAsync<WriteTxnMarkersResponse>(markers, 1)).Body;
        Assert.All(Assert.Single(written.Markers).Topics.SelectMany(t => t.Partitions), p => Assert.Equal((short)ErrorCode.ClusterAuthorizationFailed, p.ErrorCode));

        var producers = (await client.RequestAsync<DescribeProducersResponse>(new DescribeProducersRequest
        {
            Topics = [new() { Name = Allowed, PartitionIndexes = [0] }, new() { Name = Secret, PartitionIndexes = [0] }],
        }, 0)).Body.Topics.ToDictionary(t => t.Name, t => Assert.Single(t.Partitions).ErrorCode);
        Assert.Equal(0, producers[Allowed]);
        Assert.Equal((short)ErrorCode.TopicAuthorizationFailed, producers[Secret]);
    }
}
