using Samsa.Broker.Transactions;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Storage.Checkpoints;

namespace Samsa.Broker.Handlers;

/// <summary>
/// AddPartitionsToTxn (key 24), versions 0-5. v0-3 carry one transaction (the client's); v4+ a batch of transactions,
/// each possibly verify-only (KIP-890: a partition leader asking whether a partition is in the ongoing transaction).
/// Errors are per partition, all the same for a transaction, as Kafka answers them; PRODUCER_FENCED is
/// INVALID_PRODUCER_EPOCH below v2.
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
            var error = await coordinator.AddPartitionsAsync(request.V3AndBelowTransactionalId, request.V3AndBelowProducerId, request.V3AndBelowProducerEpoch,
                partitions, clientVersion, cancellationToken);
            error = TransactionDecisions.ForRequestVersion(ApiKey, version, error);
            return new AddPartitionsToTxnResponse { ResultsByTopicV3AndBelow = [.. TransactionDecisions.TopicResults(partitions.Select(p => KeyValuePair.Create(p, error)))] };
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

    private static List<TopicPartition> Partitions(IEnumerable<AddPartitionsToTxnRequest.AddPartitionsToTxnTopic> topics) =>
        [.. topics.SelectMany(t => t.Partitions.Select(p => new TopicPartition(t.Name, p))).Distinct()];

    protected override AddPartitionsToTxnResponse ErrorResponse(RequestContext context, AddPartitionsToTxnRequest request, ErrorCode error) =>
        context.ApiVersion < 4
            ? new() { ResultsByTopicV3AndBelow = [.. TransactionDecisions.TopicResults(Partitions(request.V3AndBelowTopics).Select(p => KeyValuePair.Create(p, error)))] }
            : new() { ErrorCode = (short)error };
}

/// <summary>AddOffsetsToTxn (key 25), versions 0-4: the group's <c>__consumer_offsets</c> partition joins the transaction.</summary>
public sealed class AddOffsetsToTxnHandler(TransactionCoordinator coordinator) : ApiHandler<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse>
{
    public override ApiKey ApiKey => ApiKey.AddOffsetsToTxn;

    public override short MinVersion => 0;

    public override short MaxVersion => 4;

    protected override async ValueTask<AddOffsetsToTxnResponse?> HandleAsync(RequestContext context, AddOffsetsToTxnRequest request, CancellationToken cancellationToken)
    {
        var error = await coordinator.AddOffsetsAsync(request.TransactionalId, request.ProducerId, request.ProducerEpoch, request.GroupId, cancellationToken);
        return new AddOffsetsToTxnResponse { ErrorCode = (short)TransactionDecisions.ForRequestVersion(ApiKey, context.ApiVersion, error) };
    }

    protected override AddOffsetsToTxnResponse ErrorResponse(RequestContext context, AddOffsetsToTxnRequest request, ErrorCode error) => new() { ErrorCode = (short)error };
}

/// <summary>
/// EndTxn (key 26), versions 0-5: commit or abort. Answered once PrepareCommit/PrepareAbort is committed to
/// <c>__transaction_state</c>; the markers follow in the background. v5 (transaction version 2) bumps the epoch and
/// returns the producer id and epoch to continue with.
/// </summary>
public sealed class EndTxnHandler(TransactionCoordinator coordinator) : ApiHandler<EndTxnRequest, EndTxnResponse>
{
    public override ApiKey ApiKey => ApiKey.EndTxn;

    public override short MinVersion => 0;

    public override short MaxVersion => 5;

    protected override async ValueTask<EndTxnResponse?> HandleAsync(RequestContext context, EndTxnRequest request, CancellationToken cancellationToken)
    {
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

/// <summary>DescribeTransactions (key 65), version 0: state, timeout, start time, producer and partitions of each id.</summary>
public sealed class DescribeTransactionsHandler(TransactionCoordinator coordinator) : ApiHandler<DescribeTransactionsRequest, DescribeTransactionsResponse>
{
    public override ApiKey ApiKey => ApiKey.DescribeTransactions;

    public override short MinVersion => 0;

    public override short MaxVersion => 0;

    protected override ValueTask<DescribeTransactionsResponse?> HandleAsync(RequestContext context, DescribeTransactionsRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult<DescribeTransactionsResponse?>(new DescribeTransactionsResponse { TransactionStates = [.. request.TransactionalIds.Select(coordinator.Describe)] });

    protected override DescribeTransactionsResponse ErrorResponse(RequestContext context, DescribeTransactionsRequest request, ErrorCode error) => new()
    {
        TransactionStates = [.. request.TransactionalIds.Select(id => new DescribeTransactionsResponse.TransactionStateData
        {
            TransactionalId = id, ErrorCode = (short)error, TransactionState = "", ProducerId = -1, ProducerEpoch = -1,
        })],
    };
}

/// <summary>ListTransactions (key 66), versions 0-1: the ids this broker coordinates, filtered by state, producer id and (v1) duration.</summary>
public sealed class ListTransactionsHandler(TransactionCoordinator coordinator) : ApiHandler<ListTransactionsRequest, ListTransactionsResponse>
{
    public override ApiKey ApiKey => ApiKey.ListTransactions;

    public override short MinVersion => 0;

    public override short MaxVersion => 1;

    protected override ValueTask<ListTransactionsResponse?> HandleAsync(RequestContext context, ListTransactionsRequest request, CancellationToken cancellationToken)
    {
        var (error, states, unknown) = coordinator.List(request.StateFilters, request.ProducerIdFilters, context.ApiVersion >= 1 ? request.DurationFilter : -1);
        return ValueTask.FromResult<ListTransactionsResponse?>(new ListTransactionsResponse { ErrorCode = (short)error, TransactionStates = states, UnknownStateFilters = unknown });
    }

    protected override ListTransactionsResponse ErrorResponse(RequestContext context, ListTransactionsRequest request, ErrorCode error) => new() { ErrorCode = (short)error };
}
