using Samsa.Broker.Network;
using Samsa.Broker.Security;
using Samsa.Metadata;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Handlers;

/// <summary>
/// One Raft RPC served on the controller listener (Kafka's <c>ControllerApis</c> handing it to the
/// <c>KafkaRaftClient</c>): the request goes to this node's quorum replica and its answer comes back. Serves every
/// version our schemas know; the quorum answers in the request's terms.
/// </summary>
public sealed class RaftRpcHandler<TRequest, TResponse>(KafkaNetworkChannel channel, Func<ErrorCode, TResponse> errorResponse)
    : ApiHandler<TRequest, TResponse>
    where TRequest : class, IApiMessage, new()
    where TResponse : class, IApiMessage
{
    private static readonly TRequest Prototype = new();

    public override ApiKey ApiKey => Prototype.ApiKey;

    public override short MinVersion => ApiMessages.LowestVersion(Prototype.ApiKey);

    public override short MaxVersion => ApiMessages.HighestVersion(Prototype.ApiKey);

    // Kafka's ControllerApis: voter changes are ALTER on the cluster, the quorum's own RPCs CLUSTER_ACTION.
    protected override AclOperation? RequiredClusterOperation =>
        Prototype.ApiKey is ApiKey.AddRaftVoter or ApiKey.RemoveRaftVoter ? AclOperation.Alter : AclOperation.ClusterAction;

    protected override async ValueTask<TResponse?> HandleAsync(RequestContext context, TRequest request, CancellationToken cancellationToken) =>
        await channel.HandleInboundAsync(request, cancellationToken) as TResponse ?? errorResponse(ErrorCode.RequestTimedOut);

    protected override TResponse ErrorResponse(RequestContext context, TRequest request, ErrorCode error) => errorResponse(error);
}

/// <summary>The Raft RPC handlers a controller serves, over one channel.</summary>
public static class RaftHandlers
{
    public static IEnumerable<IApiHandler> For(KafkaNetworkChannel channel) =>
    [
        new RaftRpcHandler<VoteRequest, VoteResponse>(channel, e => new VoteResponse { ErrorCode = (short)e }),
        new RaftRpcHandler<BeginQuorumEpochRequest, BeginQuorumEpochResponse>(channel, e => new BeginQuorumEpochResponse { ErrorCode = (short)e }),
        new RaftRpcHandler<EndQuorumEpochRequest, EndQuorumEpochResponse>(channel, e => new EndQuorumEpochResponse { ErrorCode = (short)e }),
        new MetadataFetchHandler(channel),
        new RaftRpcHandler<FetchSnapshotRequest, FetchSnapshotResponse>(channel, e => new FetchSnapshotResponse { ErrorCode = (short)e }),
        new RaftRpcHandler<AddRaftVoterRequest, AddRaftVoterResponse>(channel, e => new AddRaftVoterResponse { ErrorCode = (short)e }),
        new RaftRpcHandler<RemoveRaftVoterRequest, RemoveRaftVoterResponse>(channel, e => new RemoveRaftVoterResponse { ErrorCode = (short)e }),
    ];
}

/// <summary>
/// Fetch on the controller listener: the only partition a controller serves is <c>__cluster_metadata-0</c>, which its
/// followers and observers pull from the quorum's leader. Fetches of anything else are refused as Kafka's controller
/// does (UNKNOWN_TOPIC_OR_PARTITION... here the whole request: INVALID_REQUEST).
/// </summary>
public sealed class MetadataFetchHandler(KafkaNetworkChannel channel) : ApiHandler<FetchRequest, FetchResponse>
{
    public override ApiKey ApiKey => ApiKey.Fetch;

    // KRaft's fetch carries the replica state (v15+) and topic ids (v13+); Kafka's quorum accepts 13 and above.
    public override short MinVersion => 13;

    public override short MaxVersion => FetchRequest.HighestVersion;

    protected override AclOperation? RequiredClusterOperation => AclOperation.ClusterAction;

    protected override async ValueTask<FetchResponse?> HandleAsync(RequestContext context, FetchRequest request, CancellationToken cancellationToken)
    {
        if (request.Topics is not [{ Partitions: [{ Partition: 0 }] } topic] || (topic.TopicId != Uuid.MetadataTopicId && topic.Topic != TopicName.ClusterMetadata))
        {
            return ErrorResponse(context, request, ErrorCode.InvalidRequest);
        }
        return await channel.HandleInboundAsync(request, cancellationToken) as FetchResponse ?? ErrorResponse(context, request, ErrorCode.RequestTimedOut);
    }

    protected override FetchResponse ErrorResponse(RequestContext context, FetchRequest request, ErrorCode error) => new() { ErrorCode = (short)error };
}
