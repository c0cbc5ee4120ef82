using System.Net;
using Samsa.Broker.Groups;
using Samsa.Broker.Security;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Handlers;

/// <summary>
/// FindCoordinator (key 10), versions 0-6. v0-3 carry one key, v4+ a batch. GROUP keys are answered with the
/// leader of the group's <c>__consumer_offsets</c> partition, TRANSACTION keys with the leader of the id's
/// <c>__transaction_state</c> partition (each topic created on first use, the answer given once the partition's
/// coordinator shard serves). Other key types
/// (SHARE, unknown) are INVALID_REQUEST, as Kafka answers with share groups disabled. Each key is authorized on its
/// own (Kafka's <c>getCoordinator</c>): DESCRIBE on the GROUP, else GROUP_AUTHORIZATION_FAILED; DESCRIBE on the
/// TRANSACTIONAL_ID, else TRANSACTIONAL_ID_AUTHORIZATION_FAILED; a denied key names no node.
/// </summary>
public sealed class FindCoordinatorHandler(GroupCoordinator coordinator, Transactions.TransactionCoordinator transactions) : ApiHandler<FindCoordinatorRequest, FindCoordinatorResponse>
{
    public override ApiKey ApiKey => ApiKey.FindCoordinator;

    public override short MinVersion => 0;

    public override short MaxVersion => 6;

    protected override async ValueTask<FindCoordinatorResponse?> HandleAsync(RequestContext context, FindCoordinatorRequest request, CancellationToken cancellationToken)
    {
        if (request.KeyType is not (0 or 1))
        {
            return ErrorResponse(context, request, ErrorCode.InvalidRequest);
        }
        var keys = context.ApiVersion >= 4 ? request.CoordinatorKeys : [request.Key];
        var response = new FindCoordinatorResponse();
        foreach (var key in keys)
        {
            var (error, message, endpoint, nodeId) = await CoordinatorFor(context, request.KeyType, key, cancellationToken);
            var entry = new FindCoordinatorResponse.Coordinator
            {
                Key = key,
                NodeId = endpoint is null ? -1 : nodeId,
                Host = endpoint?.Host ?? "",
                Port = endpoint?.Port ?? -1,
                ErrorCode = (short)error,
                ErrorMessage = ErrorMessage(error, message),
            };
            response.Coordinators.Add(entry);
        }
        if (context.ApiVersion < 4)
        {
            var single = response.Coordinators[0];
            response.Coordinators.Clear();
            response.ErrorCode = single.ErrorCode;
            response.ErrorMessage = single.ErrorMessage;
            response.NodeId = single.NodeId;
            response.Host = single.Host;
            response.Port = single.Port;
        }
        return response;
    }

    /// <summary>Kafka's <c>getCoordinator</c>: a key the requester may not describe is answered without a node.</summary>
    private async Task<(ErrorCode Error, string? Message, BrokerEndpoint? Endpoint, int NodeId)> CoordinatorFor(RequestContext context, sbyte keyType, string key,
        CancellationToken cancellationToken)
    {
        if (keyType == 0)
        {
            return context.Authorize(AclOperation.Describe, AclResourceType.Group, key)
                ? await coordinator.FindGroupCoordinatorAsync(key, context.Connection.ListenerName, cancellationToken)
                : (ErrorCode.GroupAuthorizationFailed, null, null, -1);
        }
        return context.Authorize(AclOperation.Describe, AclResourceType.TransactionalId, key)
            ? await transactions.FindCoordinatorAsync(key, context.Connection.ListenerName, cancellationToken)
            : (ErrorCode.TransactionalIdAuthorizationFailed, null, null, -1);
    }

    /// <summary>Kafka sets <c>error.message()</c>, which is the error's name ("NONE") on success.</summary>
    private static string ErrorMessage(ErrorCode error, string? message) =>
        message ?? (error == ErrorCode.None ? "NONE" : ErrorCodes.DefaultMessage(error) ?? ErrorCodes.KafkaName(error));

    protected override FindCoordinatorResponse ErrorResponse(RequestContext context, FindCoordinatorRequest request, ErrorCode error)
    {
        if (context.ApiVersion < 4)
        {
            return new FindCoordinatorResponse { ErrorCode = (short)error, ErrorMessage = ErrorMessage(error, null), NodeId = -1, Host = "", Port = -1 };
        }
        return new FindCoordinatorResponse
        {
            Coordinators = [.. request.CoordinatorKeys.Select(k => new FindCoordinatorResponse.Coordinator
            {
                Key = k,
                NodeId = -1,
                Host = "",
                Port = -1,
                ErrorCode = (short)error,
                ErrorMessage = ErrorMessage(error, null),
            })],
        };
    }
}

/// <summary>What the classic group handlers share: who the client is, as Kafka records it for a member.</summary>
internal static class GroupRequests
{
    /// <summary>Kafka's <c>clientAddress.toString()</c>: "/" and the IP.</summary>
    public static string ClientHost(RequestContext context) =>
        context.Connection.RemoteEndPoint is IPEndPoint ip ? "/" + (ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address) : "";

    public static string ClientId(RequestContext context) => context.Header.ClientId ?? "";
}

/// <summary>
/// JoinGroup (key 11), versions 0-9. v0 has no rebalance timeout (the session timeout stands in for it); v4+
/// members without an id get MEMBER_ID_REQUIRED and a new id (KIP-394); v5+ carry group.instance.id (static
/// membership); v7+ return the protocol type and a nullable protocol name; v9 tells a rejoining static leader to
/// skip assignment (KIP-814). The response waits for the join phase to complete. READ on the GROUP first, else
/// GROUP_AUTHORIZATION_FAILED (as SyncGroup, Heartbeat and LeaveGroup).
/// </summary>
public sealed class JoinGroupHandler(GroupCoordinator coordinator) : ApiHandler<JoinGroupRequest, JoinGroupResponse>
{
    public override ApiKey ApiKey => ApiKey.JoinGroup;

    public override short MinVersion => 0;

    public override short MaxVersion => 9;

    /// <summary>Runs on the coordinator's thread: shard locks and appends never hold a socket event thread.</summary>
    protected override ValueTask<JoinGroupResponse?> HandleAsync(RequestContext context, JoinGroupRequest request, CancellationToken cancellationToken) =>
        coordinator.RunAsync(() => HandleOnCoordinatorAsync(context, request, cancellationToken), cancellationToken);

    private async ValueTask<JoinGroupResponse?> HandleOnCoordinatorAsync(RequestContext context, JoinGroupRequest request, CancellationToken cancellationToken)
    {
        if (!context.Authorize(AclOperation.Read, AclResourceType.Group, request.GroupId))
        {
            return ErrorResponse(context, request, ErrorCode.GroupAuthorizationFailed);
        }
        var config = coordinator.Config;
        if (string.IsNullOrEmpty(request.GroupId))
        {
            return ErrorResponse(context, request, ErrorCode.InvalidGroupId);
        }
        if (request.SessionTimeoutMs < config.MinSessionTimeoutMs || request.SessionTimeoutMs > config.MaxSessionTimeoutMs)
        {
            return ErrorResponse(context, request, ErrorCode.InvalidSessionTimeout);
        }
        var (shard, error) = coordinator.ShardFor(request.GroupId);
        if (shard is null)
        {
            return ErrorResponse(context, request, error);
        }
        var args = new JoinGroupArgs(
            request.GroupId,
            request.MemberId,
            request.GroupInstanceId,
            GroupRequests.ClientId(context),
            GroupRequests.ClientHost(context),
            request.SessionTimeoutMs,
            context.ApiVersion == 0 || request.RebalanceTimeoutMs < 0 ? request.SessionTimeoutMs : request.RebalanceTimeoutMs,
            request.ProtocolType,
            [.. request.Protocols.Select(p => (p.Name, p.Metadata))],
            request.Reason,
            context.ApiVersion);
        // Waiting for the rebalance (the other members' joins) is Kafka's remote time.
        var waitStarted = System.Diagnostics.Stopwatch.GetTimestamp();
        var joined = await shard.JoinGroup(args).WaitAsync(cancellationToken);
        context.Connection.AddRemoteTime(waitStarted);
        return ForVersion(joined, context.ApiVersion);
    }

    /// <summary>Fields a version cannot carry are put back to what it can.</summary>
    private static JoinGroupResponse ForVersion(JoinGroupResponse response, short version)
    {
        if (version < 7)
        {
            response.ProtocolName ??= "";
            response.ProtocolType = null;
        }
        if (version < 9)
        {
            response.SkipAssignment = false;
        }
        return response;
    }

    protected override JoinGroupResponse ErrorResponse(RequestContext context, JoinGroupRequest request, ErrorCode error) =>
        ForVersion(ClassicGroupResponses.JoinError("", error), context.ApiVersion);
}

/// <summary>
/// SyncGroup (key 14), versions 0-5. The leader brings the assignment; every member waits for its part.
/// v3+ carry group.instance.id, v5 the protocol type and name (checked against the group: INCONSISTENT_GROUP_PROTOCOL).
/// </summary>
public sealed class SyncGroupHandler(GroupCoordinator coordinator) : ApiHandler<SyncGroupRequest, SyncGroupResponse>
{
    public override ApiKey ApiKey => ApiKey.SyncGroup;

    public override short MinVersion => 0;

    public override short MaxVersion => 5;

    /// <summary>Runs on the coordinator's thread: shard locks and appends never hold a socket event thread.</summary>
    protected override ValueTask<SyncGroupResponse?> HandleAsync(RequestContext context, SyncGroupRequest request, CancellationToken cancellationToken) =>
        coordinator.RunAsync(() => HandleOnCoordinatorAsync(context, request, cancellationToken), cancellationToken);

    private async ValueTask<SyncGroupResponse?> HandleOnCoordinatorAsync(RequestContext context, SyncGroupRequest request, CancellationToken cancellationToken)
    {
        if (!context.Authorize(AclOperation.Read, AclResourceType.Group, request.GroupId))
        {
            return ErrorResponse(context, request, ErrorCode.GroupAuthorizationFailed);
        }
        if (string.IsNullOrEmpty(request.GroupId))
        {
            return ErrorResponse(context, request, ErrorCode.InvalidGroupId);
        }
        var (shard, error) = coordinator.ShardFor(request.GroupId);
        if (shard is null)
        {
            return ErrorResponse(context, request, error);
        }
        var args = new SyncGroupArgs(request.GroupId, request.GenerationId, request.MemberId, request.GroupInstanceId,
            request.ProtocolType, request.ProtocolName, [.. request.Assignments.Select(a => (a.MemberId, a.Assignment))]);
        var waitStarted = System.Diagnostics.Stopwatch.GetTimestamp();
        var synced = await shard.SyncGroup(args).WaitAsync(cancellationToken);
        context.Connection.AddRemoteTime(waitStarted);
        return synced;
    }

    protected override SyncGroupResponse ErrorResponse(RequestContext context, SyncGroupRequest request, ErrorCode error) => ClassicGroupResponses.SyncError(error);
}

/// <summary>Heartbeat (key 12), versions 0-4: keeps a classic member's session alive; REBALANCE_IN_PROGRESS asks it to rejoin.</summary>
public sealed class HeartbeatHandler(GroupCoordinator coordinator) : ApiHandler<HeartbeatRequest, HeartbeatResponse>
{
    public override ApiKey ApiKey => ApiKey.Heartbeat;

    public override short MinVersion => 0;

    public override short MaxVersion => 4;

    /// <summary>Runs on the coordinator's thread: shard locks and appends never hold a socket event thread.</summary>
    protected override ValueTask<HeartbeatResponse?> HandleAsync(RequestContext context, HeartbeatRequest request, CancellationToken cancellationToken) =>
        coordinator.RunAsync(() => HandleOnCoordinatorAsync(context, request, cancellationToken), cancellationToken);

    private ValueTask<HeartbeatResponse?> HandleOnCoordinatorAsync(RequestContext context, HeartbeatRequest request, CancellationToken cancellationToken)
    {
        if (!context.Authorize(AclOperation.Read, AclResourceType.Group, request.GroupId))
        {
            return ValueTask.FromResult<HeartbeatResponse?>(ErrorResponse(context, request, ErrorCode.GroupAuthorizationFailed));
        }
        if (string.IsNullOrEmpty(request.GroupId))
        {
            return ValueTask.FromResult<HeartbeatResponse?>(ErrorResponse(context, request, ErrorCode.InvalidGroupId));
        }
        var (shard, error) = coordinator.ShardFor(request.GroupId);
        if (shard is not null)
        {
            error = shard.Heartbeat(request.GroupId, request.MemberId, request.GroupInstanceId, request.GenerationId);
        }
        return ValueTask.FromResult<HeartbeatResponse?>(new HeartbeatResponse { ErrorCode = (short)error });
    }

    protected override HeartbeatResponse ErrorResponse(RequestContext context, HeartbeatRequest request, ErrorCode error) => new() { ErrorCode = (short)error };
}

/// <summary>
/// LeaveGroup (key 13), versions 0-5. v0-2 name one member and answer with one error; v3+ name a batch of members
/// (by member id, or by group.instance.id alone for an admin removal) and answer per member.
/// </summary>
public sealed class LeaveGroupHandler(GroupCoordinator coordinator) : ApiHandler<LeaveGroupRequest, LeaveGroupResponse>
{
    public override ApiKey ApiKey => ApiKey.LeaveGroup;

    public override short MinVersion => 0;

    public override short MaxVersion => 5;

    /// <summary>Runs on the coordinator's thread: shard locks and appends never hold a socket event thread.</summary>
    protected override ValueTask<LeaveGroupResponse?> HandleAsync(RequestContext context, LeaveGroupRequest request, CancellationToken cancellationToken) =>
        coordinator.RunAsync(() => HandleOnCoordinatorAsync(context, request, cancellationToken), cancellationToken);

    private ValueTask<LeaveGroupResponse?> HandleOnCoordinatorAsync(RequestContext context, LeaveGroupRequest request, CancellationToken cancellationToken)
    {
        if (!context.Authorize(AclOperation.Read, AclResourceType.Group, request.GroupId))
        {
            return ValueTask.FromResult<LeaveGroupResponse?>(ErrorResponse(context, request, ErrorCode.GroupAuthorizationFailed));
        }
        if (string.IsNullOrEmpty(request.GroupId))
        {
            return ValueTask.FromResult<LeaveGroupResponse?>(ErrorResponse(context, request, ErrorCode.InvalidGroupId));
        }
        var (shard, error) = coordinator.ShardFor(request.GroupId);
        if (shard is null)
        {
            return ValueTask.FromResult<LeaveGroupResponse?>(ErrorResponse(context, request, error));
        }
        var members = context.ApiVersion >= 3
            ? request.Members.Select(m => (m.MemberId, m.GroupInstanceId, m.Reason)).ToList()
            : [(request.MemberId, (string?)null, (string?)null)];
        var (groupError, results) = shard.LeaveGroup(request.GroupId, members);
        var response = new LeaveGroupResponse { ErrorCode = (short)groupError };
        if (groupError == ErrorCode.None)
        {
            if (context.ApiVersion >= 3)
            {
                for (var i = 0; i < members.Count; i++)
                {
                    response.Members.Add(new LeaveGroupResponse.MemberResponse
                    {
                        MemberId = members[i].MemberId,
                        GroupInstanceId = members[i].GroupInstanceId,
                        ErrorCode = (short)results[i],
                    });
                }
            }
            else
            {
                response.ErrorCode = (short)results[0];
            }
        }
        return ValueTask.FromResult<LeaveGroupResponse?>(response);
    }

    protected override LeaveGroupResponse ErrorResponse(RequestContext context, LeaveGroupRequest request, ErrorCode error) => new() { ErrorCode = (short)error };
}

/// <summary>
/// ListGroups (key 16), versions 0-5: every group of every shard this broker serves. v4 filters by state, v5 by
/// type ("classic", "consumer"), both case-insensitive. While a shard is loading the answer carries
/// COORDINATOR_LOAD_IN_PROGRESS with the groups of the other shards. DESCRIBE on the CLUSTER lists every group;
/// without it only the groups the requester may DESCRIBE are listed (Kafka's <c>handleListGroupsRequest</c>).
/// </summary>
public sealed class ListGroupsHandler(GroupCoordinator coordinator) : ApiHandler<ListGroupsRequest, ListGroupsResponse>
{
    public override ApiKey ApiKey => ApiKey.ListGroups;

    public override short MinVersion => 0;

    public override short MaxVersion => 5;

    /// <summary>Runs on the coordinator's thread: shard locks and appends never hold a socket event thread.</summary>
    protected override ValueTask<ListGroupsResponse?> HandleAsync(RequestContext context, ListGroupsRequest request, CancellationToken cancellationToken) =>
        coordinator.RunAsync(() => HandleOnCoordinatorAsync(context, request, cancellationToken), cancellationToken);

    private ValueTask<ListGroupsResponse?> HandleOnCoordinatorAsync(RequestContext context, ListGroupsRequest request, CancellationToken cancellationToken)
    {
        var hasClusterDescribe = context.AuthorizeCluster(AclOperation.Describe);
        var response = new ListGroupsResponse();
        foreach (var shard in coordinator.Shards.Values.OrderBy(s => s.PartitionIndex))
        {
            var availability = shard.Availability;
            if (availability != ErrorCode.None)
            {
                response.ErrorCode = (short)availability;
                continue;
            }
            foreach (var group in shard.ListGroups(request.StatesFilter, request.TypesFilter))
            {
                if (!hasClusterDescribe && !context.Authorize(AclOperation.Describe, AclResourceType.Group, group.GroupId))
                {
                    continue;
                }
                response.Groups.Add(new ListGroupsResponse.ListedGroup
                {
                    GroupId = group.GroupId,
                    ProtocolType = group.ProtocolType,
                    GroupState = group.StateName,
                    GroupType = group.Type.ToString().ToLowerInvariant(),
                });
            }
        }
        return ValueTask.FromResult<ListGroupsResponse?>(response);
    }

    protected override ListGroupsResponse ErrorResponse(RequestContext context, ListGroupsRequest request, ErrorCode error) => new() { ErrorCode = (short)error };
}

/// <summary>
/// DescribeGroups (key 15), versions 0-5. An unknown group is described as Dead with no error (Kafka's answer
/// before v6); members carry metadata and assignment only while the group is Stable. Each group needs DESCRIBE,
/// else it is answered GROUP_AUTHORIZATION_FAILED; as Kafka's <c>handleDescribeGroupsRequest</c> the denied groups
/// come first, then the described ones. v3+ carry the authorized operations of each group described without error.
/// </summary>
public sealed class DescribeGroupsHandler(GroupCoordinator coordinator) : ApiHandler<DescribeGroupsRequest, DescribeGroupsResponse>
{
    public override ApiKey ApiKey => ApiKey.DescribeGroups;

    public override short MinVersion => 0;

    public override short MaxVersion => 5;

    /// <summary>Runs on the coordinator's thread: shard locks and appends never hold a socket event thread.</summary>
    protected override ValueTask<DescribeGroupsResponse?> HandleAsync(RequestContext context, DescribeGroupsRequest request, CancellationToken cancellationToken) =>
        coordinator.RunAsync(() => HandleOnCoordinatorAsync(context, request, cancellationToken), cancellationToken);

    private ValueTask<DescribeGroupsResponse?> HandleOnCoordinatorAsync(RequestContext context, DescribeGroupsRequest request, CancellationToken cancellationToken)
    {
        var response = new DescribeGroupsResponse();
        var authorized = new List<string>();
        foreach (var groupId in request.Groups)
        {
            if (context.Authorize(AclOperation.Describe, AclResourceType.Group, groupId))
            {
                authorized.Add(groupId);
            }
            else
            {
                response.Groups.Add(Error(groupId, ErrorCode.GroupAuthorizationFailed));
            }
        }
        var described = new List<DescribeGroupsResponse.DescribedGroup>();
        foreach (var groupId in authorized)
        {
            if (string.IsNullOrEmpty(groupId))
            {
                described.Add(Error(groupId ?? "", ErrorCode.InvalidGroupId));
                continue;
            }
            var (shard, error) = coordinator.ShardFor(groupId);
            if (shard is null)
            {
                described.Add(Error(groupId, error));
                continue;
            }
            if (shard.Describe(groupId) is not { } group)
            {
                described.Add(new DescribeGroupsResponse.DescribedGroup { GroupId = groupId, GroupState = "Dead", ProtocolType = "", ProtocolData = "" });
                continue;
            }
            described.Add(new DescribeGroupsResponse.DescribedGroup
            {
                GroupId = group.GroupId,
                GroupState = group.State,
                ProtocolType = group.ProtocolType,
                ProtocolData = group.ProtocolData,
                Members = [.. group.Members.Select(m => new DescribeGroupsResponse.DescribedGroupMember
                {
                    MemberId = m.MemberId,
                    GroupInstanceId = m.GroupInstanceId,
                    ClientId = m.ClientId,
                    ClientHost = m.ClientHost,
                    MemberMetadata = m.Metadata,
                    MemberAssignment = m.Assignment,
                })],
            });
        }
        if (context.ApiVersion >= 3 && request.IncludeAuthorizedOperations)
        {
            foreach (var group in described.Where(g => g.ErrorCode == (short)ErrorCode.None))
            {
                group.AuthorizedOperations = AuthHelper.AuthorizedOperations(context, AclResourceType.Group, group.GroupId);
            }
        }
        response.Groups.AddRange(described);
        return ValueTask.FromResult<DescribeGroupsResponse?>(response);
    }

    private static DescribeGroupsResponse.DescribedGroup Error(string groupId, ErrorCode error) =>
        new() { GroupId = groupId, ErrorCode = (short)error, GroupState = "", ProtocolType = "", ProtocolData = "" };

    protected override DescribeGroupsResponse ErrorResponse(RequestContext context, DescribeGroupsRequest request, ErrorCode error) =>
        new() { Groups = [.. request.Groups.Select(g => Error(g, error))] };
}

/// <summary>
/// DeleteGroups (key 42), versions 0-2: removes empty groups with their offsets (tombstones in
/// <c>__consumer_offsets</c>). NON_EMPTY_GROUP while members remain, GROUP_ID_NOT_FOUND for an unknown group,
/// GROUP_AUTHORIZATION_FAILED for a group the requester may not DELETE.
/// </summary>
public sealed class DeleteGroupsHandler(GroupCoordinator coordinator) : ApiHandler<DeleteGroupsRequest, DeleteGroupsResponse>
{
    public override ApiKey ApiKey => ApiKey.DeleteGroups;

    public override short MinVersion => 0;

    public override short MaxVersion => 2;

    /// <summary>Runs on the coordinator's thread: shard locks and appends never hold a socket event thread.</summary>
    protected override ValueTask<DeleteGroupsResponse?> HandleAsync(RequestContext context, DeleteGroupsRequest request, CancellationToken cancellationToken) =>
        coordinator.RunAsync(() => HandleOnCoordinatorAsync(context, request, cancellationToken), cancellationToken);

    private async ValueTask<DeleteGroupsResponse?> HandleOnCoordinatorAsync(RequestContext context, DeleteGroupsRequest request, CancellationToken cancellationToken)
    {
        var results = new Dictionary<string, ErrorCode>(StringComparer.Ordinal);
        var byShard = new Dictionary<GroupCoordinatorShard, List<string>>();
        foreach (var groupId in request.GroupsNames.Distinct(StringComparer.Ordinal))
        {
            if (!context.Authorize(AclOperation.Delete, AclResourceType.Group, groupId))
            {
                results[groupId] = ErrorCode.GroupAuthorizationFailed;
                continue;
            }
            if (string.IsNullOrEmpty(groupId))
            {
                results[groupId ?? ""] = ErrorCode.InvalidGroupId;
                continue;
            }
            var (shard, error) = coordinator.ShardFor(groupId);
            if (shard is null)
            {
                results[groupId] = error;
                continue;
            }
            if (!byShard.TryGetValue(shard, out var ids))
            {
                byShard[shard] = ids = [];
            }
            ids.Add(groupId);
        }
        foreach (var (shard, ids) in byShard)
        {
            foreach (var (groupId, error) in await shard.DeleteGroupsAsync(ids).WaitAsync(cancellationToken))
            {
                results[groupId] = error;
            }
        }
        return new DeleteGroupsResponse
        {
            Results = [.. request.GroupsNames.Distinct(StringComparer.Ordinal).Select(g => new DeleteGroupsResponse.DeletableGroupResult
            {
                GroupId = g,
                ErrorCode = (short)results[g ?? ""],
            })],
        };
    }

    protected override DeleteGroupsResponse ErrorResponse(RequestContext context, DeleteGroupsRequest request, ErrorCode error) => new()
    {
        Results = [.. request.GroupsNames.Select(g => new DeleteGroupsResponse.DeletableGroupResult { GroupId = g, ErrorCode = (short)error })],
    };
}
