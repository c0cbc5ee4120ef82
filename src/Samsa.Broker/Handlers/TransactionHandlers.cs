using Samsa.Broker.Security;
using Samsa.Broker.Transactions;
using Samsa.Metadata;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Storage.Checkpoints;

namespace Samsa.Broker.Handlers;

/// <summary>
/// AddPartitionsToTxn (key 24), versions 0-5. v0-3 carry one transaction (the client's); v4+ a batch of transactions,
/// each possibly verify-only (KIP-890: a partition leader asking whether a partition is in the ongoing transaction).
/// Errors are per partition, all the same for a transaction, as Kafka answers them; PRODUCER_FENCED is
/// INVALID_PRODUCER_EPOCH below v2.
/// Authorization as Kafka's <c>handleAddPartitionsToTxnRequest</c>: v0-3 come from clients and need WRITE on the
/// TRANSACTIONAL_ID (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED on every partition) and WRITE on each TOPIC; internal
/// topics are never authorized this way. When any topic is denied the transaction is not touched: its partitions
/// answer TOPIC_AUTHORIZATION_FAILED, the others OPERATION_NOT_ATTEMPTED. v4+ come from brokers and need
/// CLUSTER_ACTION on the CLUSTER, else the whole request is CLUSTER_AUTHORIZATION_FAILED.
/// </summary>
public sealed class AddPartitionsToTxnHandler(TransactionCoordinator coordinator) : ApiHandler<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>
{
    public override ApiKey ApiKey => ApiKey.AddPartitionsToTxn;

    public override short MinVersion => 0;

    public override short MaxVersion => 5;

    protected override async ValueTask<AddPartitionsToTxnResponse?> HandleAsync(RequestContext context, AddPartitionsToTxnRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        var clientVersion = TransactionVersions.ForAddPartitionsToTxn(version);
        if (version < 4)
        {
            var partitions = Partitions(request.V3AndBelowTopics);
            if (ClientDenied(context, request.V3AndBelowTransactionalId, partitions) is { } denied)
            {
                return new AddPartitionsToTxnResponse { ResultsByTopicV3AndBelow = [.. TransactionDecisions.TopicResults(denied)] };
            }
            var error = await coordinator.AddPartitionsAsync(request.V3AndBelowTransactionalId, request.V3AndBelowProducerId, request.V3AndBelowProducerEpoch,
                partitions, clientVersion, cancellationToken);
            error = TransactionDecisions.ForRequestVersion(ApiKey, version, error);
            return new AddPartitionsToTxnResponse { ResultsByTopicV3AndBelow = [.. TransactionDecisions.TopicResults(partitions.Select(p => KeyValuePair.Create(p, error)))] };
        }
        if (!context.AuthorizeCluster(AclOperation.ClusterAction))
        {
            return ErrorResponse(context, request, ErrorCode.ClusterAuthorizationFailed);
        }
        var response = new AddPartitionsToTxnResponse();
        foreach (var transaction in request.Transactions)
        {
            var partitions = Partitions(transaction.Topics);
            IEnumerable<KeyValuePair<TopicPartition, ErrorCode>> errors;
            if (transaction.VerifyOnly)
            {
                errors = await coordinator.VerifyPartitionsAsync(transaction.TransactionalId, transaction.ProducerId, transaction.ProducerEpoch, partitions, cancellationToken);
            }
            else
            {
                var error = await coordinator.AddPartitionsAsync(transaction.TransactionalId, transaction.ProducerId, transaction.ProducerEpoch, partitions,
                    clientVersion, cancellationToken);
                errors = partitions.Select(p => KeyValuePair.Create(p, error));
            }
            response.ResultsByTransaction.Add(TransactionDecisions.ResultForTransaction(transaction.TransactionalId, errors));
        }
        return response;
    }

    /// <summary>The per-partition answer of a client request that may not go on, or null when it is authorized.</summary>
    private static List<KeyValuePair<TopicPartition, ErrorCode>>? ClientDenied(RequestContext context, string transactionalId, List<TopicPartition> partitions)
    {
        if (!context.Authorize(AclOperation.Write, AclResourceType.TransactionalId, transactionalId))
        {
            return [.. partitions.Select(p => KeyValuePair.Create(p, ErrorCode.TransactionalIdAuthorizationFailed))];
        }
        var writable = context.FilterAuthorized(AclOperation.Write, AclResourceType.Topic,
            partitions.Select(p => p.Topic).Where(t => !TopicName.IsInternal(t)).Distinct(StringComparer.Ordinal)).ToHashSet(StringComparer.Ordinal);
        if (partitions.All(p => writable.Contains(p.Topic)))
        {
            return null;
        }
        return [.. partitions.Select(p => KeyValuePair.Create(p, writable.Contains(p.Topic) ? ErrorCode.OperationNotAttempted : ErrorCode.TopicAuthorizationFailed))];
    }

    private static List<TopicPartition> Partitions(IEnumerable<AddPartitionsToTxnRequest.AddPartitionsToTxnTopic> topics) =>
        [.. topics.SelectMany(t => t.Partitions.Select(p => new TopicPartition(t.Name, p))).Distinct()];

    protected override AddPartitionsToTxnResponse ErrorResponse(RequestContext context, AddPartitionsToTxnRequest request, ErrorCode error) =>
        context.ApiVersion < 4
            ? new() { ResultsByTopicV3AndBelow = [.. TransactionDecisions.TopicResults(Partitions(request.V3AndBelowTopics).Select(p => KeyValuePair.Create(p, error)))] }
            : new() { ErrorCode = (short)error };
}

/// <summary>
/// AddOffsetsToTxn (key 25), versions 0-4: the group's <c>__consumer_offsets</c> partition joins the transaction. WRITE
/// on the TRANSACTIONAL_ID, else TRANSACTIONAL_ID_AUTHORIZATION_FAILED; then READ on the GROUP, else GROUP_AUTHORIZATION_FAILED.
/// </summary>
public sealed class AddOffsetsToTxnHandler(TransactionCoordinator coordinator) : ApiHandler<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse>
{
    public override ApiKey ApiKey => ApiKey.AddOffsetsToTxn;

    public override short MinVersion => 0;

    public override short MaxVersion => 4;

    protected override async ValueTask<AddOffsetsToTxnResponse?> HandleAsync(RequestContext context, AddOffsetsToTxnRequest request, CancellationToken cancellationToken)
    {
        if (!context.Authorize(AclOperation.Write, AclResourceType.TransactionalId, request.TransactionalId))
        {
            return ErrorResponse(context, request, ErrorCode.TransactionalIdAuthorizationFailed);
        }
        if (!context.Authorize(AclOperation.Read, AclResourceType.Group, request.GroupId))
        {
            return ErrorResponse(context, request, ErrorCode.GroupAuthorizationFailed);
        }
        var error = await coordinator.AddOffsetsAsync(request.TransactionalId, request.ProducerId, request.ProducerEpoch, request.GroupId, cancellationToken);
        return new AddOffsetsToTxnResponse { ErrorCode = (short)TransactionDecisions.ForRequestVersion(ApiKey, context.ApiVersion, error) };
    }

    protected override AddOffsetsToTxnResponse ErrorResponse(RequestContext context, AddOffsetsToTxnRequest request, ErrorCode error) => new() { ErrorCode = (short)error };
}

/// <summary>
/// EndTxn (key 26), versions 0-5: commit or abort. Answered once PrepareCommit/PrepareAbort is committed to
/// <c>__transaction_state</c>; the markers follow in the background. v5 (transaction version 2) bumps the epoch and
/// returns the producer id and epoch to continue with. WRITE on the TRANSACTIONAL_ID, else TRANSACTIONAL_ID_AUTHORIZATION_FAILED.
/// </summary>
public sealed class EndTxnHandler(TransactionCoordinator coordinator) : ApiHandler<EndTxnRequest, EndTxnResponse>
{
    public override ApiKey ApiKey => ApiKey.EndTxn;

    public override short MinVersion => 0;

    public override short MaxVersion => 5;

    protected override async ValueTask<EndTxnResponse?> HandleAsync(RequestContext context, EndTxnRequest request, CancellationToken cancellationToken)
    {
        if (!context.Authorize(AclOperation.Write, AclResourceType.TransactionalId, request.TransactionalId))
        {
            return ErrorResponse(context, request, ErrorCode.TransactionalIdAuthorizationFailed);
        }
        var (error, producerId, producerEpoch) = await coordinator.EndTxnAsync(request.TransactionalId, request.ProducerId, request.ProducerEpoch, request.Committed,
            TransactionVersions.ForEndTxn(context.ApiVersion), cancellationToken);
        return new EndTxnResponse
        {
            ErrorCode = (short)TransactionDecisions.ForRequestVersion(ApiKey, context.ApiVersion, error),
            ProducerId = producerId,
            ProducerEpoch = producerEpoch,
        };
    }

    protected override EndTxnResponse ErrorResponse(RequestContext context, EndTxnRequest request, ErrorCode error) =>
        new() { ErrorCode = (short)error, ProducerId = -1, ProducerEpoch = -1 };
}

/// <summary>
/// DescribeTransactions (key 65), version 0: state, timeout, start time, producer and partitions of each id. An id the
/// requester may not DESCRIBE is TRANSACTIONAL_ID_AUTHORIZATION_FAILED; the partitions listed are only those of topics
/// it may DESCRIBE (Kafka's <c>handleDescribeTransactionsRequest</c>).
/// </summary>
public sealed class DescribeTransactionsHandler(TransactionCoordinator coordinator) : ApiHandler<DescribeTransactionsRequest, DescribeTransactionsResponse>
{
    public override ApiKey ApiKey => ApiKey.DescribeTransactions;

    public override short MinVersion => 0;

    public override short MaxVersion => 0;

    protected override ValueTask<DescribeTransactionsResponse?> HandleAsync(RequestContext context, DescribeTransactionsRequest request, CancellationToken cancellationToken)
    {
        var response = new DescribeTransactionsResponse();
        foreach (var transactionalId in request.TransactionalIds)
        {
            var state = context.Authorize(AclOperation.Describe, AclResourceType.TransactionalId, transactionalId)
                ? coordinator.Describe(transactionalId)
                : new DescribeTransactionsResponse.TransactionStateData
                {
                    TransactionalId = transactionalId,
                    ErrorCode = (short)ErrorCode.TransactionalIdAuthorizationFailed,
                };
            state.Topics.RemoveAll(t => !context.Authorize(AclOperation.Describe, AclResourceType.Topic, t.Topic));
            response.TransactionStates.Add(state);
        }
        return ValueTask.FromResult<DescribeTransactionsResponse?>(response);
    }

    protected override DescribeTransactionsResponse ErrorResponse(RequestContext context, DescribeTransactionsRequest request, ErrorCode error) => new()
    {
        TransactionStates = [.. request.TransactionalIds.Select(id => new DescribeTransactionsResponse.TransactionStateData
        {
            TransactionalId = id, ErrorCode = (short)error, TransactionState = "", ProducerId = -1, ProducerEpoch = -1,
        })],
    };
}

/// <summary>
/// ListTransactions (key 66), versions 0-1: the ids this broker coordinates, filtered by state, producer id and (v1)
/// duration, and to the ids the requester may DESCRIBE.
/// </summary>
public sealed class ListTransactionsHandler(TransactionCoordinator coordinator) : ApiHandler<ListTransactionsRequest, ListTransactionsResponse>
{
    public override ApiKey ApiKey => ApiKey.ListTransactions;

    public override short MinVersion => 0;

    public override short MaxVersion => 1;

    protected override ValueTask<ListTransactionsResponse?> HandleAsync(RequestContext context, ListTransactionsRequest request, CancellationToken cancellationToken)
    {
        var (error, states, unknown) = coordinator.List(request.StateFilters, request.ProducerIdFilters, context.ApiVersion >= 1 ? request.DurationFilter : -1);
        states.RemoveAll(s => !context.Authorize(AclOperation.Describe, AclResourceType.TransactionalId, s.TransactionalId));
        return ValueTask.FromResult<ListTransactionsResponse?>(new ListTransactionsResponse { ErrorCode = (short)error, TransactionStates = states, UnknownStateFilters = unknown });
    }

    protected override ListTransactionsResponse ErrorResponse(RequestContext context, ListTransactionsRequest request, ErrorCode error) => new() { ErrorCode = (short)error };
}
