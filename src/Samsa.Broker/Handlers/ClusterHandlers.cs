using Samsa.Broker.Security;
using Samsa.Metadata;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Handlers;

/// <summary>
/// DescribeCluster (key 60), versions 0-1: cluster id, controller id (this node, a quorum of one), and every
/// unfenced broker with its endpoint on the listener the request came in on. v1's endpoint_type 2 (controllers)
/// is answered with UNSUPPORTED_VERSION, as a Kafka broker listener does. Cluster authorized operations when asked
/// for (<see cref="AuthHelper"/>).
/// </summary>
public sealed class DescribeClusterHandler(MetadataCache metadata) : ApiHandler<DescribeClusterRequest, DescribeClusterResponse>
{
    public override ApiKey ApiKey => ApiKey.DescribeCluster;

    public override short MinVersion => 0;

    public override short MaxVersion => 1;

    protected override ValueTask<DescribeClusterResponse?> HandleAsync(RequestContext context, DescribeClusterRequest request, CancellationToken cancellationToken)
    {
        if (request.EndpointType != 1)
        {
            return ValueTask.FromResult<DescribeClusterResponse?>(new DescribeClusterResponse
            {
                ErrorCode = (short)ErrorCode.UnsupportedVersion,
                ErrorMessage = "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER",
                EndpointType = request.EndpointType,
            });
        }
        var image = metadata.Current;
        var response = new DescribeClusterResponse
        {
            ClusterId = image.ClusterId,
            EndpointType = 1,
            // Kafka answers every principal; only the operations field depends on DESCRIBE on the cluster.
            ClusterAuthorizedOperations = !request.IncludeClusterAuthorizedOperations ? AuthHelper.NotRequested
                : context.AuthorizeCluster(AclOperation.Describe) ? AuthHelper.AuthorizedOperations(context, AclResourceType.Cluster, RequestContext.ClusterResourceName)
                : 0,
        };
        foreach (var broker in image.Brokers.Values)
        {
            if (!broker.Fenced && broker.Endpoint(context.Connection.ListenerName) is { } endpoint)
            {
                response.Brokers.Add(new DescribeClusterResponse.DescribeClusterBroker { BrokerId = broker.NodeId, Host = endpoint.Host, Port = endpoint.Port, Rack = broker.Rack });
            }
        }
        response.ControllerId = image.ControllerIdForClients(response.Brokers.ConvertAll(b => b.BrokerId));
        return ValueTask.FromResult<DescribeClusterResponse?>(response);
    }

    protected override DescribeClusterResponse ErrorResponse(RequestContext context, DescribeClusterRequest request, ErrorCode error) => new() { ErrorCode = (short)error };
}

/// <summary>
/// DescribeTopicPartitions (key 75), version 0 (KIP-966): topics by name (empty list = all, in name order) with
/// partitions, ISR, eligible leader replicas and last known ELR, paged by <c>response_partition_limit</c> and a
/// cursor. Unknown names: UNKNOWN_TOPIC_OR_PARTITION; illegal names: INVALID_TOPIC_EXCEPTION.
/// </summary>
public sealed class DescribeTopicPartitionsHandler(MetadataCache metadata) : ApiHandler<DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse>
{
    public override ApiKey ApiKey => ApiKey.DescribeTopicPartitions;

    public override short MinVersion => 0;

    public override short MaxVersion => 0;

    protected override ValueTask<DescribeTopicPartitionsResponse?> HandleAsync(RequestContext context, DescribeTopicPartitionsRequest request, CancellationToken cancellationToken)
    {
        var image = metadata.Current;
        var response = new DescribeTopicPartitionsResponse();
        // Kafka: every topic the requester may DESCRIBE when none is named; a named one it may not is refused.
        var all = request.Topics.Count == 0;
        var names = all
            ? image.Topics.Keys.Where(n => context.Authorize(AclOperation.Describe, AclResourceType.Topic, n)).ToList()
            : request.Topics.Select(t => t.Name).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var cursor = request.Cursor;
        var budget = Math.Max(1, request.ResponsePartitionLimit);
        foreach (var name in names)
        {
            if (cursor is not null && string.CompareOrdinal(name, cursor.TopicName) < 0)
            {
                continue;
            }
            if (TopicName.Validate(name) is not null)
            {
                response.Topics.Add(new DescribeTopicPartitionsResponse.DescribeTopicPartitionsResponseTopic { Name = name, ErrorCode = (short)ErrorCode.InvalidTopicException });
                continue;
            }
            if (!all && !context.Authorize(AclOperation.Describe, AclResourceType.Topic, name))
            {
                response.Topics.Add(new DescribeTopicPartitionsResponse.DescribeTopicPartitionsResponseTopic { Name = name, ErrorCode = (short)ErrorCode.TopicAuthorizationFailed });
                continue;
            }
            if (!image.Topics.TryGetValue(name, out var topic))
            {
                response.Topics.Add(new DescribeTopicPartitionsResponse.DescribeTopicPartitionsResponseTopic { Name = name, ErrorCode = (short)ErrorCode.UnknownTopicOrPartition });
                continue;
            }
            var first = cursor is not null && cursor.TopicName == name ? cursor.PartitionIndex : 0;
            var described = new DescribeTopicPartitionsResponse.DescribeTopicPartitionsResponseTopic { Name = name, TopicId = topic.TopicId, IsInternal = topic.IsInternal };
            response.Topics.Add(described);
            for (var p = first; p < topic.Partitions.Length; p++)
            {
                if (budget == 0)
                {
                    response.NextCursor = new DescribeTopicPartitionsResponse.Cursor { TopicName = name, PartitionIndex = p };
                    return ValueTask.FromResult<DescribeTopicPartitionsResponse?>(WithAuthorizedOperations(context, response));
                }
                described.Partitions.Add(Describe(topic.Partitions[p]));
                budget--;
            }
            cursor = null;
        }
        return ValueTask.FromResult<DescribeTopicPartitionsResponse?>(WithAuthorizedOperations(context, response));
    }

    /// <summary>The request has no flag for it: Kafka's handler fills every topic's authorized operations.</summary>
    private static DescribeTopicPartitionsResponse WithAuthorizedOperations(RequestContext context, DescribeTopicPartitionsResponse response)
    {
        foreach (var topic in response.Topics)
        {
            topic.TopicAuthorizedOperations = topic.ErrorCode == (short)ErrorCode.TopicAuthorizationFailed ? 0
                : AuthHelper.AuthorizedOperations(context, AclResourceType.Topic, topic.Name ?? "");
        }
        return response;
    }

    private static DescribeTopicPartitionsResponse.DescribeTopicPartitionsResponsePartition Describe(PartitionImage partition) => new()
    {
        ErrorCode = (short)(partition.Leader < 0 ? ErrorCode.LeaderNotAvailable : ErrorCode.None),
        PartitionIndex = partition.PartitionIndex,
        LeaderId = partition.Leader,
        LeaderEpoch = partition.LeaderEpoch,
        ReplicaNodes = [.. partition.Replicas],
        IsrNodes = [.. partition.Isr],
        EligibleLeaderReplicas = [.. partition.EligibleLeaderReplicas],
        LastKnownElr = [.. partition.LastKnownElr],
        OfflineReplicas = [.. partition.OfflineReplicas],
    };

    protected override DescribeTopicPartitionsResponse ErrorResponse(RequestContext context, DescribeTopicPartitionsRequest request, ErrorCode error) => new()
    {
        Topics = request.Topics.Select(t => new DescribeTopicPartitionsResponse.DescribeTopicPartitionsResponseTopic { Name = t.Name, ErrorCode = (short)error }).ToList(),
    };
}

/// <summary>
/// DescribeQuorum v0-2 (<c>kafka-metadata-quorum.sh describe</c>): the metadata quorum of <c>__cluster_metadata-0</c>
/// as its leader sees it. Any other partition is UNKNOWN_TOPIC_OR_PARTITION, as Kafka's Raft client answers.
/// </summary>
/// <param name="describe">The quorum's partition data and its voters' endpoints, as the leader knows them now.</param>
public sealed class DescribeQuorumHandler(Func<CancellationToken, ValueTask<DescribeQuorumResponse.PartitionData>> describe,
    Func<List<DescribeQuorumResponse.Node>> nodes)
    : ApiHandler<DescribeQuorumRequest, DescribeQuorumResponse>
{
    public override ApiKey ApiKey => ApiKey.DescribeQuorum;

    public override short MinVersion => 0;

    public override short MaxVersion => 2;

    protected override AclOperation? RequiredClusterOperation => AclOperation.Describe;

    protected override async ValueTask<DescribeQuorumResponse?> HandleAsync(RequestContext context, DescribeQuorumRequest request, CancellationToken cancellationToken)
    {
        if (request.Topics is not [{ TopicName: TopicName.ClusterMetadata, Partitions: [{ PartitionIndex: 0 }] }])
        {
            var asked = request.Topics.FirstOrDefault();
            return new DescribeQuorumResponse
            {
                Topics =
                [
                    new DescribeQuorumResponse.TopicData
                    {
                        TopicName = asked?.TopicName ?? TopicName.ClusterMetadata,
                        Partitions = [Unknown(asked?.Partitions.FirstOrDefault()?.PartitionIndex ?? 0)],
                    },
                ],
            };
        }
        var partition = await describe(cancellationToken);
        return new DescribeQuorumResponse
        {
            Topics = [new DescribeQuorumResponse.TopicData { TopicName = TopicName.ClusterMetadata, Partitions = [partition] }],
            Nodes = context.ApiVersion >= 2 ? nodes() : [],
        };
    }

    private static DescribeQuorumResponse.PartitionData Unknown(int partition) => new()
    {
        PartitionIndex = partition,
        ErrorCode = (short)ErrorCode.UnknownTopicOrPartition,
        ErrorMessage = ErrorCodes.DefaultMessage(ErrorCode.UnknownTopicOrPartition),
    };

    protected override DescribeQuorumResponse ErrorResponse(RequestContext context, DescribeQuorumRequest request, ErrorCode error) =>
        new() { ErrorCode = (short)error, ErrorMessage = ErrorCodes.DefaultMessage(error) };
}
