using Samsa.Broker.Security;
using Samsa.Metadata;
using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Handlers;

/// <summary>
/// Metadata (key 3), versions 0-12, answered from the current <see cref="MetadataImage"/>.
/// <list type="bullet">
/// <item>Brokers: every unfenced broker with an endpoint on the listener the request arrived on, with rack (v1+).</item>
/// <item>v0: an empty topic list means all topics; v1+: null means all topics and an empty list means none.</item>
/// <item>cluster_id from v2, controller_id from v1 (in KRaft, Kafka reports a live broker; here this node).</item>
/// <item>topic_id from v10. Topic ids in requests only from v12 (Kafka rejects them, and null names, below v12
/// with INVALID_REQUEST); an unknown id gets UNKNOWN_TOPIC_ID.</item>
/// <item>Illegal names get INVALID_TOPIC_EXCEPTION; unknown names UNKNOWN_TOPIC_OR_PARTITION, unless
/// <c>auto.create.topics.enable</c> is true and the request allows it (always below v4, the flag from v4): then
/// the topic is created through the controller with <c>num.partitions</c> and <c>default.replication.factor</c>
/// and, as in Kafka, answered LEADER_NOT_AVAILABLE so the client asks again. Internal topics are never auto-created.</item>
/// <item>Authorization as Kafka's: only topics the requester may DESCRIBE are listed (all-topics requests) or
/// described (named ones get TOPIC_AUTHORIZATION_FAILED); auto-creation needs CREATE on the cluster or the topic;
/// authorized-operations fields are filled when asked for.</item>
/// </list>
/// </summary>
public sealed class MetadataHandler(MetadataCache metadata, IController? controller = null, bool autoCreateTopicsEnable = false) : ApiHandler<MetadataRequest, MetadataResponse>
{
    public override ApiKey ApiKey => ApiKey.Metadata;

    public override short MinVersion => 0;

    public override short MaxVersion => 12;

    protected override async ValueTask<MetadataResponse?> HandleAsync(RequestContext context, MetadataRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        var image = metadata.Current;
        var allTopics = request.Topics is null || (version == 0 && request.Topics.Count == 0);
        if (!allTopics && version < 12 && request.Topics!.Any(t => t.Name is null || !t.TopicId.IsZero))
        {
            return ErrorResponse(context, request, ErrorCode.InvalidRequest);
        }
        var created = new HashSet<string>(StringComparer.Ordinal);
        // Topics named in the request that the requester may not describe (or, for one to be auto-created, create).
        HashSet<string>? denied = null;
        if (!allTopics && context.HasAuthorizer)
        {
            foreach (var requested in request.Topics!)
            {
                var name = requested.Name ?? image.TopicById(requested.TopicId)?.Name;
                if (name is not null && !context.Authorize(AclOperation.Describe, AclResourceType.Topic, name))
                {
                    (denied ??= new(StringComparer.Ordinal)).Add(name);
                }
            }
        }
        if (!allTopics && controller is not null && autoCreateTopicsEnable && (version < 4 || request.AllowAutoTopicCreation))
        {
            var missing = request.Topics!
                .Where(t => t.Name is not null && !image.Topics.ContainsKey(t.Name) && TopicName.Validate(t.Name) is null && !TopicName.IsInternal(t.Name)
                    && denied?.Contains(t.Name) != true)
                .Select(t => t.Name!).Distinct(StringComparer.Ordinal).ToList();
            if (missing.Count > 0 && context.HasAuthorizer && !context.AuthorizeCluster(AclOperation.Create))
            {
                foreach (var name in missing.Where(n => !context.Authorize(AclOperation.Create, AclResourceType.Topic, n)).ToList())
                {
                    (denied ??= new(StringComparer.Ordinal)).Add(name);
                    missing.Remove(name);
                }
            }
            if (missing.Count > 0)
            {
                var create = new CreateTopicsRequest();
                create.Topics.AddRange(missing.Select(n => new CreateTopicsRequest.CreatableTopic { Name = n, NumPartitions = -1, ReplicationFactor = -1 }));
                var result = await controller.CreateTopicsAsync(create, cancellationToken);
                created.UnionWith(result.Topics.Where(t => t.ErrorCode == 0).Select(t => t.Name));
            }
        }

        var brokers = Brokers(image, context.Connection.ListenerName);
        var response = new MetadataResponse
        {
            Brokers = brokers,
            ClusterId = image.ClusterId,
            ControllerId = image.ControllerIdForClients(brokers.ConvertAll(b => b.NodeId)),
        };
        if (allTopics)
        {
            foreach (var topic in image.Topics.Values)
            {
                if (context.Authorize(AclOperation.Describe, AclResourceType.Topic, topic.Name))
                {
                    response.Topics.Add(Describe(topic));
                }
            }
        }
        else
        {
            foreach (var requested in request.Topics!)
            {
                if (denied is not null && (requested.Name ?? image.TopicById(requested.TopicId)?.Name) is { } name && denied.Contains(name))
                {
                    // Kafka names the topic only if the request did: an id never reveals its name.
                    response.Topics.Add(new MetadataResponse.MetadataResponseTopic
                    {
                        ErrorCode = (short)ErrorCode.TopicAuthorizationFailed,
                        Name = requested.Name,
                        TopicId = requested.TopicId,
                        IsInternal = TopicName.IsInternal(name),
                    });
                    continue;
                }
                response.Topics.Add(requested.Name is not null && created.Contains(requested.Name)
                    ? new MetadataResponse.MetadataResponseTopic { ErrorCode = (short)ErrorCode.LeaderNotAvailable, Name = requested.Name }
                    : DescribeRequested(image, requested));
            }
        }
        // Every topic of the answer, errors included, as Kafka's handleTopicMetadataRequest; the cluster's only where
        // the field exists (v8-10).
        if (request.IncludeTopicAuthorizedOperations)
        {
            foreach (var topic in response.Topics)
            {
                topic.TopicAuthorizedOperations = topic.ErrorCode == (short)ErrorCode.TopicAuthorizationFailed || topic.Name is null
                    ? 0
                    : AuthHelper.AuthorizedOperations(context, AclResourceType.Topic, topic.Name);
            }
        }
        response.ClusterAuthorizedOperations = AuthHelper.AuthorizedOperationsIf(version is >= 8 and <= 10 && request.IncludeClusterAuthorizedOperations,
            context, AclResourceType.Cluster, RequestContext.ClusterResourceName);
        return response;
    }

    protected override MetadataResponse ErrorResponse(RequestContext context, MetadataRequest request, ErrorCode error)
    {
        // Kafka's MetadataRequest.getErrorResponse: the error on every requested topic, no brokers.
        var response = new MetadataResponse();
        foreach (var topic in request.Topics ?? [])
        {
            response.Topics.Add(new MetadataResponse.MetadataResponseTopic { ErrorCode = (short)error, Name = topic.Name, TopicId = topic.TopicId });
        }
        return response;
    }

    private static List<MetadataResponse.MetadataResponseBroker> Brokers(MetadataImage image, string listenerName)
    {
        var brokers = new List<MetadataResponse.MetadataResponseBroker>(image.Brokers.Count);
        foreach (var broker in image.Brokers.Values)
        {
            if (broker.Fenced || broker.Endpoint(listenerName) is not { } endpoint)
            {
                continue;
            }
            brokers.Add(new MetadataResponse.MetadataResponseBroker { NodeId = broker.NodeId, Host = endpoint.Host, Port = endpoint.Port, Rack = broker.Rack });
        }
        return brokers;
    }

    private static MetadataResponse.MetadataResponseTopic DescribeRequested(MetadataImage image, MetadataRequest.MetadataRequestTopic requested)
    {
        if (requested.Name is null)
        {
            return image.TopicById(requested.TopicId) is { } byId
                ? Describe(byId)
                : new MetadataResponse.MetadataResponseTopic { ErrorCode = (short)ErrorCode.UnknownTopicId, Name = null, TopicId = requested.TopicId };
        }
        if (TopicName.Validate(requested.Name) is not null)
        {
            return new MetadataResponse.MetadataResponseTopic { ErrorCode = (short)ErrorCode.InvalidTopicException, Name = requested.Name };
        }
        return image.Topics.TryGetValue(requested.Name, out var topic)
            ? Describe(topic)
            : new MetadataResponse.MetadataResponseTopic { ErrorCode = (short)ErrorCode.UnknownTopicOrPartition, Name = requested.Name };
    }

    private static MetadataResponse.MetadataResponseTopic Describe(TopicImage topic)
    {
        var described = new MetadataResponse.MetadataResponseTopic
        {
            ErrorCode = (short)ErrorCode.None,
            Name = topic.Name,
            TopicId = topic.TopicId,
            IsInternal = topic.IsInternal,
        };
        foreach (var partition in topic.Partitions)
        {
            described.Partitions.Add(new MetadataResponse.MetadataResponsePartition
            {
                // Kafka reports LEADER_NOT_AVAILABLE for a partition without a leader.
                ErrorCode = (short)(partition.Leader < 0 ? ErrorCode.LeaderNotAvailable : ErrorCode.None),
                PartitionIndex = partition.PartitionIndex,
                LeaderId = partition.Leader,
                LeaderEpoch = partition.LeaderEpoch,
                ReplicaNodes = [.. partition.Replicas],
                IsrNodes = [.. partition.Isr],
                OfflineReplicas = [.. partition.OfflineReplicas],
            });
        }
        return described;
    }
}
