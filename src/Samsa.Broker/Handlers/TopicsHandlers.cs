using System.Collections.Immutable;
using Samsa.Broker.Config;
using Samsa.Broker.Security;
using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Handlers;

/// <summary>
/// CreateTopics (key 19), versions 0-7. The controller validates and commits; this handler adds what the
/// response carries per version: v5+ the partition count, replication factor and every config with its
/// source (Kafka's KIP-525), v7+ the topic id. Errors per topic: INVALID_TOPIC_EXCEPTION, TOPIC_ALREADY_EXISTS,
/// INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR (more replicas than registered brokers),
/// INVALID_REPLICA_ASSIGNMENT, INVALID_CONFIG (naming the key), INVALID_REQUEST (duplicates).
/// <c>validate_only</c> answers as if created and commits nothing. <c>timeout_ms</c> is not waited on: a commit
/// on one node completes before the response. With <paramref name="mutationQuota"/> (the broker listener) each topic's
/// partitions are charged to <c>controller_mutation_rate</c> (KIP-599): from v6 a topic over it is answered
/// THROTTLING_QUOTA_EXCEEDED, below v6 it is created and the response throttled.
/// </summary>
public sealed class CreateTopicsHandler(IController controller, MetadataCache metadata, ConfigDescriber describer,
    Samsa.Broker.Quotas.ControllerMutationQuota? mutationQuota = null, int defaultPartitions = 1) : ApiHandler<CreateTopicsRequest, CreateTopicsResponse>
{
    /// <summary>The first version whose clients retry THROTTLING_QUOTA_EXCEEDED (Kafka's strictSinceVersion).</summary>
    public const short StrictQuotaSinceVersion = 6;

    public override ApiKey ApiKey => ApiKey.CreateTopics;

    public override short MinVersion => 0;

    public override short MaxVersion => 7;

    protected override async ValueTask<CreateTopicsResponse?> HandleAsync(RequestContext context, CreateTopicsRequest request, CancellationToken cancellationToken)
    {
        // Kafka: CREATE on the cluster allows every topic, else CREATE on each topic.
        List<CreateTopicsResponse.CreatableTopicResult> denied = [];
        if (context.HasAuthorizer && request.Topics.Count > 0 && !context.AuthorizeCluster(AclOperation.Create))
        {
            var refused = request.Topics.Where(t => !context.Authorize(AclOperation.Create, AclResourceType.Topic, t.Name)).ToList();
            if (refused.Count > 0)
            {
                denied = [.. refused.Select(t => new CreateTopicsResponse.CreatableTopicResult
                {
                    Name = t.Name, ErrorCode = (short)ErrorCode.TopicAuthorizationFailed, Configs = context.ApiVersion >= 5 ? null : [], NumPartitions = -1, ReplicationFactor = -1,
                })];
                request = new CreateTopicsRequest { Topics = [.. request.Topics.Except(refused)], timeoutMs = request.timeoutMs, validateOnly = request.validateOnly };
            }
        }
        var budget = mutationQuota?.Begin(context.Connection.Principal.Name, context.Header.ClientId ?? "", context.ApiVersion, StrictQuotaSinceVersion);
        Dictionary<string, int>? reserved = null;
        if (budget is not null)
        {
            reserved = new Dictionary<string, int>(StringComparer.Ordinal);
            List<CreateTopicsRequest.CreatableTopic> accepted = [];
            foreach (var topic in request.Topics)
            {
                var permits = topic.Assignments.Count > 0 ? topic.Assignments.Count : topic.NumPartitions == -1 ? defaultPartitions : Math.Max(0, topic.NumPartitions);
                if (budget.TryReserve(permits))
                {
                    accepted.Add(topic);
                    reserved[topic.Name] = reserved.GetValueOrDefault(topic.Name) + permits;
                }
                else
                {
                    denied.Add(new CreateTopicsResponse.CreatableTopicResult
                    {
                        Name = topic.Name,
                        ErrorCode = (short)ErrorCode.ThrottlingQuotaExceeded,
                        ErrorMessage = ErrorCodes.DefaultMessage(ErrorCode.ThrottlingQuotaExceeded),
                        Configs = context.ApiVersion >= 5 ? null : [],
                        NumPartitions = -1,
                        ReplicationFactor = -1,
                    });
                }
            }
            if (accepted.Count < request.Topics.Count)
            {
                request = new CreateTopicsRequest { Topics = accepted, timeoutMs = request.timeoutMs, validateOnly = request.validateOnly };
            }
        }
        var response = request.Topics.Count == 0 && denied.Count > 0
            ? new CreateTopicsResponse()
            : await controller.CreateTopicsAsync(request, cancellationToken);
        if (budget is not null)
        {
            // What the controller created (a failed topic created nothing) is what the reservation spends.
            foreach (var (name, permits) in reserved!)
            {
                var spent = response.Topics.FirstOrDefault(t => t.Name == name) is { ErrorCode: 0 } ok ? ok.NumPartitions : 0;
                budget.Settle(permits, spent);
            }
            response.ThrottleTimeMs = budget.ThrottleConnection(context.Connection);
        }
        if (!request.validateOnly && response.Topics.Where(t => t.ErrorCode == 0).Select(t => t.TopicId).ToList() is { Count: > 0 } created)
        {
            // Committed on the controller; answer once this broker's own image has the topics too (a remote
            // controller's commit reaches it a moment later), so the client's next Metadata here sees them.
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bounded.CancelAfter(TimeSpan.FromSeconds(5));
            try
            {
                await metadata.WaitUntilAsync(image => created.All(id => image.TopicNamesById.ContainsKey(id)), bounded.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }
        }
        var image = metadata.Current;
        foreach (var result in response.Topics)
        {
            if (context.ApiVersion < 5 || result.ErrorCode != 0)
            {
                result.Configs = context.ApiVersion >= 5 ? null : [];
                result.NumPartitions = -1;
                result.ReplicationFactor = -1;
                continue;
            }
            var resource = new ConfigResource(ConfigResourceType.Topic, result.Name);
            var requested = request.Topics.First(t => t.Name == result.Name).Configs;
            var view = image.Topics.ContainsKey(result.Name)
                ? image
                : image with { Configs = image.Configs.SetItem(resource, requested.ToImmutableSortedDictionary(c => c.Name, c => c.Value!.Trim(), StringComparer.Ordinal)) };
            result.Configs = describer.DescribeTopic(view, result.Name).Select(e => new CreateTopicsResponse.CreatableTopicConfigs
            {
                Name = e.Name,
                Value = e.Value,
                ReadOnly = false,
                ConfigSource = (sbyte)e.Source,
                IsSensitive = e.Sensitive,
            }).ToList();
        }
        response.Topics.AddRange(denied);
        if (context.ApiVersion < 7)
        {
            response.Topics.ForEach(t => t.TopicId = Uuid.Zero);
        }
        return response;
    }

    protected override CreateTopicsResponse ErrorResponse(RequestContext context, CreateTopicsRequest request, ErrorCode error) => new()
    {
        Topics = request.Topics.Select(t => new CreateTopicsResponse.CreatableTopicResult { Name = t.Name, ErrorCode = (short)error, ErrorMessage = null, Configs = null }).ToList(),
    };
}

/// <summary>
/// DeleteTopics (key 20), versions 0-6: by name (all versions) or by topic id (v6+). Unknown names get
/// UNKNOWN_TOPIC_OR_PARTITION, unknown ids UNKNOWN_TOPIC_ID, internal topics INVALID_REQUEST, and
/// TOPIC_DELETION_DISABLED when <c>delete.topic.enable=false</c>. Committing RemoveTopicRecord is the deletion;
/// the partition directories are renamed at once and their files removed after <c>log.segment.delete.delay.ms</c>.
/// With a mutation quota each topic's partitions are charged to <c>controller_mutation_rate</c> (KIP-599): from v5 a
/// topic over it is THROTTLING_QUOTA_EXCEEDED, below v5 it is deleted and the response throttled.
/// </summary>
public sealed class DeleteTopicsHandler(IController controller, MetadataCache metadata, Samsa.Broker.Quotas.ControllerMutationQuota? mutationQuota = null)
    : ApiHandler<DeleteTopicsRequest, DeleteTopicsResponse>
{
    /// <summary>The first version whose clients retry THROTTLING_QUOTA_EXCEEDED (Kafka's strictSinceVersion).</summary>
    public const short StrictQuotaSinceVersion = 5;

    public override ApiKey ApiKey => ApiKey.DeleteTopics;

    public override short MinVersion => 0;

    public override short MaxVersion => 6;

    protected override async ValueTask<DeleteTopicsResponse?> HandleAsync(RequestContext context, DeleteTopicsRequest request, CancellationToken cancellationToken)
    {
        if (mutationQuota is null)
        {
            return await AuthorizedDeleteAsync(context, request, cancellationToken);
        }
        // KIP-599: each topic's partitions, in request order, against controller_mutation_rate.
        var budget = mutationQuota.Begin(context.Connection.Principal.Name, context.Header.ClientId ?? "", context.ApiVersion, StrictQuotaSinceVersion);
        var image = metadata.Current;
        var reserved = new Dictionary<string, int>(StringComparer.Ordinal);
        List<DeleteTopicsResponse.DeletableTopicResult> throttled = [];
        bool Admit(string? name, Uuid id)
        {
            var topic = name is not null ? image.Topics.GetValueOrDefault(name) : image.TopicById(id);
            var permits = topic?.Partitions.Length ?? 0;
            if (!budget.TryReserve(permits))
            {
                throttled.Add(new DeleteTopicsResponse.DeletableTopicResult
                {
                    Name = name,
                    TopicId = id,
                    ErrorCode = (short)ErrorCode.ThrottlingQuotaExceeded,
                    ErrorMessage = ErrorCodes.DefaultMessage(ErrorCode.ThrottlingQuotaExceeded),
                });
                return false;
            }
            if (topic is not null)
            {
                reserved[topic.Name] = reserved.GetValueOrDefault(topic.Name) + permits;
            }
            return true;
        }
        request = context.ApiVersion >= 6
            ? new DeleteTopicsRequest { Topics = [.. request.Topics.Where(t => Admit(t.Name, t.TopicId))], TimeoutMs = request.TimeoutMs }
            : new DeleteTopicsRequest { TopicNames = [.. request.TopicNames.Where(n => Admit(n, Uuid.Zero))], TimeoutMs = request.TimeoutMs };
        var response = request.Topics.Count + request.TopicNames.Count == 0 ? new DeleteTopicsResponse()
            : await AuthorizedDeleteAsync(context, request, cancellationToken);
        foreach (var (name, permits) in reserved)
        {
            var deleted = response.Responses.Any(r => r.ErrorCode == 0 && (r.Name ?? image.TopicNamesById.GetValueOrDefault(r.TopicId)) == name);
            budget.Settle(permits, deleted ? permits : 0);
        }
        response.Responses.AddRange(throttled);
        response.ThrottleTimeMs = budget.ThrottleConnection(context.Connection);
        return response;
    }

    private async Task<DeleteTopicsResponse> AuthorizedDeleteAsync(RequestContext context, DeleteTopicsRequest request, CancellationToken cancellationToken)
    {
        if (!context.HasAuthorizer)
        {
            return await controller.DeleteTopicsAsync(request, context.ApiVersion, cancellationToken);
        }
        // Kafka: DELETE on each topic; a topic named by id the requester may not even DESCRIBE is refused the same way
        // without its name. Unknown names and ids go on to the controller, which answers them.
        var image = metadata.Current;
        List<DeleteTopicsResponse.DeletableTopicResult> denied = [];
        bool Refused(string? name) => name is not null && !context.Authorize(AclOperation.Delete, AclResourceType.Topic, name);
        if (context.ApiVersion >= 6)
        {
            var refused = request.Topics.Where(t => Refused(t.Name ?? image.TopicNamesById.GetValueOrDefault(t.TopicId))).ToList();
            denied.AddRange(refused.Select(t => new DeleteTopicsResponse.DeletableTopicResult { Name = t.Name, TopicId = t.TopicId, ErrorCode = (short)ErrorCode.TopicAuthorizationFailed }));
            request = new DeleteTopicsRequest { Topics = [.. request.Topics.Except(refused)], TimeoutMs = request.TimeoutMs };
        }
        else
        {
            var refused = request.TopicNames.Where(Refused).ToList();
            denied.AddRange(refused.Select(n => new DeleteTopicsResponse.DeletableTopicResult { Name = n, ErrorCode = (short)ErrorCode.TopicAuthorizationFailed }));
            request = new DeleteTopicsRequest { TopicNames = [.. request.TopicNames.Except(refused)], TimeoutMs = request.TimeoutMs };
        }
        var response = request.Topics.Count + request.TopicNames.Count == 0 ? new DeleteTopicsResponse()
            : await controller.DeleteTopicsAsync(request, context.ApiVersion, cancellationToken);
        response.Responses.AddRange(denied);
        return response;
    }

    protected override DeleteTopicsResponse ErrorResponse(RequestContext context, DeleteTopicsRequest request, ErrorCode error) => new()
    {
        Responses = context.ApiVersion >= 6
            ? request.Topics.Select(t => new DeleteTopicsResponse.DeletableTopicResult { Name = t.Name, TopicId = t.TopicId, ErrorCode = (short)error }).ToList()
            : request.TopicNames.Select(n => new DeleteTopicsResponse.DeletableTopicResult { Name = n, ErrorCode = (short)error }).ToList(),
    };
}

/// <summary>
/// CreatePartitions (key 37), versions 0-3: only increases. A count below the current one, or equal to it, is
/// INVALID_PARTITIONS; manual assignments must name one replica list per new partition
/// (INVALID_REPLICA_ASSIGNMENT otherwise); <c>validate_only</c> commits nothing. With a mutation quota the partitions
/// each topic adds are charged to <c>controller_mutation_rate</c> (KIP-599): from v3 a topic over it is
/// THROTTLING_QUOTA_EXCEEDED, below v3 it grows and the response is throttled.
/// </summary>
public sealed class CreatePartitionsHandler(IController controller, MetadataCache? metadata = null, Samsa.Broker.Quotas.ControllerMutationQuota? mutationQuota = null)
    : ApiHandler<CreatePartitionsRequest, CreatePartitionsResponse>
{
    /// <summary>The first version whose clients retry THROTTLING_QUOTA_EXCEEDED (Kafka's strictSinceVersion).</summary>
    public const short StrictQuotaSinceVersion = 3;

    public override ApiKey ApiKey => ApiKey.CreatePartitions;

    public override short MinVersion => 0;

    public override short MaxVersion => 3;

    // Kafka: ALTER on each topic; then, with a mutation quota (KIP-599), the partitions each adds.
    protected override async ValueTask<CreatePartitionsResponse?> HandleAsync(RequestContext context, CreatePartitionsRequest request, CancellationToken cancellationToken)
    {
        var budget = mutationQuota?.Begin(context.Connection.Principal.Name, context.Header.ClientId ?? "", context.ApiVersion, StrictQuotaSinceVersion);
        var image = metadata?.Current;
        var reserved = new Dictionary<string, int>(StringComparer.Ordinal);
        ErrorCode? Refusal(CreatePartitionsRequest.CreatePartitionsTopic t)
        {
            if (context.HasAuthorizer && !context.Authorize(AclOperation.Alter, AclResourceType.Topic, t.Name))
            {
                return ErrorCode.TopicAuthorizationFailed;
            }
            if (budget is null)
            {
                return null;
            }
            var permits = image?.Topics.GetValueOrDefault(t.Name) is { } topic ? Math.Max(0, t.Count - topic.Partitions.Length) : 0;
            if (!budget.TryReserve(permits))
            {
                return ErrorCode.ThrottlingQuotaExceeded;
            }
            reserved[t.Name] = reserved.GetValueOrDefault(t.Name) + permits;
            return null;
        }
        var response = await AuthorizedForwarding.ForwardAsync(request.Topics, Refusal,
            allowed => controller.CreatePartitionsAsync(new CreatePartitionsRequest { Topics = allowed, TimeoutMs = request.TimeoutMs, ValidateOnly = request.ValidateOnly }, cancellationToken),
            (answer, t, error) => answer.Results.Add(new CreatePartitionsResponse.CreatePartitionsTopicResult
            {
                Name = t.Name,
                ErrorCode = (short)error,
                ErrorMessage = ErrorCodes.DefaultMessage(error),
            }));
        if (budget is not null)
        {
            foreach (var (name, permits) in reserved)
            {
                budget.Settle(permits, response.Results.Any(r => r.Name == name && r.ErrorCode == 0) ? permits : 0);
            }
            response.ThrottleTimeMs = budget.ThrottleConnection(context.Connection);
        }
        return response;
    }

    protected override CreatePartitionsResponse ErrorResponse(RequestContext context, CreatePartitionsRequest request, ErrorCode error) => new()
    {
        Results = request.Topics.Select(t => new CreatePartitionsResponse.CreatePartitionsTopicResult { Name = t.Name, ErrorCode = (short)error }).ToList(),
    };
}
