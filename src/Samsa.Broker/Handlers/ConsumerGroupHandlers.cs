using Samsa.Broker.Groups;
using Samsa.Broker.Security;
using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Handlers;

/// <summary>
/// ConsumerGroupHeartbeat (key 68), versions 0-1 (KIP-848): join (epoch 0), heartbeat, leave (-1, or -2 for a
/// static member coming back). v1 adds SubscribedTopicRegex and requires the client to make up its member id
/// (KIP-1082); v0 members get one from the coordinator. The answer leaves once the group's records are committed.
/// Not served (UNSUPPORTED_VERSION) when <c>group.coordinator.rebalance.protocols</c> leaves out "consumer".
/// Then, as Kafka's <c>handleConsumerGroupHeartbeat</c>: READ on the GROUP, else GROUP_AUTHORIZATION_FAILED; DESCRIBE
/// on every subscribed topic name, else TOPIC_AUTHORIZATION_FAILED (a client may not learn of topics it cannot see).
/// </summary>
public sealed class ConsumerGroupHeartbeatHandler(GroupCoordinator coordinator, MetadataCache metadata)
    : ApiHandler<ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse>
{
    public override ApiKey ApiKey => ApiKey.ConsumerGroupHeartbeat;

    public override short MinVersion => 0;

    public override short MaxVersion => 1;

    /// <summary>Runs on the coordinator's thread: shard locks and appends never hold a socket event thread.</summary>
    protected override ValueTask<ConsumerGroupHeartbeatResponse?> HandleAsync(RequestContext context, ConsumerGroupHeartbeatRequest request, CancellationToken cancellationToken) =>
        coordinator.RunAsync(() => HandleOnCoordinatorAsync(context, request, cancellationToken), cancellationToken);

    private async ValueTask<ConsumerGroupHeartbeatResponse?> HandleOnCoordinatorAsync(RequestContext context, ConsumerGroupHeartbeatRequest request, CancellationToken cancellationToken)
    {
        // Kafka's isConsumerGroupProtocolEnabled: the protocol is configured on and group.version is finalized at 1+.
        if (!coordinator.Config.Consumer.Enabled || metadata.Current.Features.GetValueOrDefault(FeatureControlManager.GroupVersionFeature) < 1)
        {
            return ErrorResponse(context, request, ErrorCode.UnsupportedVersion);
        }
        if (!context.Authorize(AclOperation.Read, AclResourceType.Group, request.GroupId))
        {
            return ErrorResponse(context, request, ErrorCode.GroupAuthorizationFailed);
        }
        if (request.SubscribedTopicNames is { Count: > 0 } subscribed
            && context.FilterAuthorized(AclOperation.Describe, AclResourceType.Topic, subscribed).Count < subscribed.Count)
        {
            return ErrorResponse(context, request, ErrorCode.TopicAuthorizationFailed);
        }
        if (string.IsNullOrEmpty(request.GroupId))
        {
            return new ConsumerGroupHeartbeatResponse { ErrorCode = (short)ErrorCode.InvalidRequest, ErrorMessage = "GroupId can't be empty." };
        }
        var (shard, error) = coordinator.ShardFor(request.GroupId);
        if (shard is null)
        {
            return ErrorResponse(context, request, error);
        }
        return await shard.ConsumerGroupHeartbeatAsync(request, context.ApiVersion, GroupRequests.ClientId(context), GroupRequests.ClientHost(context), metadata.Current);
    }

    protected override ConsumerGroupHeartbeatResponse ErrorResponse(RequestContext context, ConsumerGroupHeartbeatRequest request, ErrorCode error) =>
        new() { ErrorCode = (short)error, ErrorMessage = ErrorCodes.DefaultMessage(error) };
}

/// <summary>
/// ConsumerGroupDescribe (key 69), version 0 (KIP-848): state, group and assignment epochs, the assignor, and each
/// member's current and target assignment with topic names. A classic group or an unknown id is
/// GROUP_ID_NOT_FOUND, which is how admin clients tell a classic group from a consumer group. As Kafka's
/// <c>handleConsumerGroupDescribe</c>: a group the requester may not DESCRIBE is GROUP_AUTHORIZATION_FAILED (the denied
/// groups come first); with an authorizer, a group whose members' assignments name a topic the requester may not
/// DESCRIBE is answered TOPIC_AUTHORIZATION_FAILED without members, so topic names do not leak.
/// </summary>
public sealed class ConsumerGroupDescribeHandler(GroupCoordinator coordinator, MetadataCache metadata)
    : ApiHandler<ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse>
{
    public override ApiKey ApiKey => ApiKey.ConsumerGroupDescribe;

    public override short MinVersion => 0;

    public override short MaxVersion => 0;

    /// <summary>Runs on the coordinator's thread: shard locks and appends never hold a socket event thread.</summary>
    protected override ValueTask<ConsumerGroupDescribeResponse?> HandleAsync(RequestContext context, ConsumerGroupDescribeRequest request, CancellationToken cancellationToken) =>
        coordinator.RunAsync(() => HandleOnCoordinatorAsync(context, request, cancellationToken), cancellationToken);

    private ValueTask<ConsumerGroupDescribeResponse?> HandleOnCoordinatorAsync(RequestContext context, ConsumerGroupDescribeRequest request, CancellationToken cancellationToken)
    {
        var response = new ConsumerGroupDescribeResponse();
        var image = metadata.Current;
        var described = new List<ConsumerGroupDescribeResponse.DescribedGroup>();
        foreach (var groupId in request.GroupIds)
        {
            if (!context.Authorize(AclOperation.Describe, AclResourceType.Group, groupId))
            {
                response.Groups.Add(Error(groupId, ErrorCode.GroupAuthorizationFailed));
                continue;
            }
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
            described.AddRange(shard.DescribeConsumerGroups([groupId], image));
        }
        if (request.IncludeAuthorizedOperations)
        {
            // Kafka fills only groups described without error; the GROUP_ID_NOT_FOUND answer for a classic group keeps
            // them here, as Samsa has answered (ConformanceInteropTests asserts it).
            foreach (var group in described)
            {
                group.AuthorizedOperations = AuthHelper.AuthorizedOperations(context, AclResourceType.Group, group.GroupId);
            }
        }
        response.Groups.AddRange(described);
        if (context.HasAuthorizer)
        {
            HideUndescribableTopics(context, response.Groups);
        }
        return ValueTask.FromResult<ConsumerGroupDescribeResponse?>(response);
    }

    private static IEnumerable<string> AssignedTopics(ConsumerGroupDescribeResponse.DescribedGroup group) =>
        group.Members.SelectMany(m => m.Assignment.TopicPartitions.Concat(m.TargetAssignment.TopicPartitions)).Select(tp => tp.TopicName);

    /// <summary>Each distinct assigned topic is asked about once; a group naming any denied one is replaced by an error without members.</summary>
    private static void HideUndescribableTopics(RequestContext context, List<ConsumerGroupDescribeResponse.DescribedGroup> groups)
    {
        var topics = groups.SelectMany(AssignedTopics).Distinct(StringComparer.Ordinal);
        var authorized = context.FilterAuthorized(AclOperation.Describe, AclResourceType.Topic, topics).ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < groups.Count; i++)
        {
            if (AssignedTopics(groups[i]).Any(t => !authorized.Contains(t)))
            {
                groups[i] = new ConsumerGroupDescribeResponse.DescribedGroup
                {
                    GroupId = groups[i].GroupId,
                    ErrorCode = (short)ErrorCode.TopicAuthorizationFailed,
                    ErrorMessage = "The group has described topic(s) that the client is not authorized to describe.",
                };
            }
        }
    }

    private static ConsumerGroupDescribeResponse.DescribedGroup Error(string groupId, ErrorCode error) =>
        new() { GroupId = groupId, ErrorCode = (short)error, ErrorMessage = ErrorCodes.DefaultMessage(error) };

    protected override ConsumerGroupDescribeResponse ErrorResponse(RequestContext context, ConsumerGroupDescribeRequest request, ErrorCode error) =>
        new() { Groups = [.. request.GroupIds.Select(g => Error(g, error))] };
}
