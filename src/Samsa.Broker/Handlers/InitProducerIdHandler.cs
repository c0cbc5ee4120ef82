using Samsa.Broker.Security;
using Samsa.Broker.Transactions;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Handlers;

/// <summary>
/// InitProducerId (key 22), versions 0-5, as Kafka 4.0/4.1 serve them (the schema's validVersions; KIP-896 raised no
/// floor for this key, and the KIP-939 fields of a later v6 are not in our schemas).
/// <list type="bullet">
/// <item>v0-1 are the same; v2 is the first flexible version; v3 adds producer_id and producer_epoch; v4 (PRODUCER_FENCED)
/// and v5 (TRANSACTION_ABORTABLE, KIP-890) only widen the errors a transactional producer may get, so an idempotent
/// producer is answered the same in every version.</item>
/// <item>Authorized first, as Kafka's handler: a transactional_id needs WRITE on it, else
/// TRANSACTIONAL_ID_AUTHORIZATION_FAILED; an idempotent producer needs IDEMPOTENT_WRITE on the CLUSTER or (KIP-679, Kafka
/// 3.0+) WRITE on some TOPIC (<c>authorizeByResourceType</c>), else CLUSTER_AUTHORIZATION_FAILED.</item>
/// <item>producer_id and producer_epoch must both be -1 or both be set, else INVALID_REQUEST (Kafka's
/// <c>KafkaApis.handleInitProducerIdRequest</c>, before the coordinator sees the request).</item>
/// <item>A null transactional_id is an idempotent producer: like Kafka's <c>TransactionCoordinator.handleInitProducerId</c>
/// it gets a fresh producer id from <see cref="ProducerIdManager"/> and epoch 0, whatever producer id, epoch and
/// transaction_timeout_ms it sent (the timeout is not validated for it). When no id block can be had, the answer is
/// COORDINATOR_LOAD_IN_PROGRESS, which clients retry, as Kafka's manager answers.</item>
/// <item>An empty transactional_id is INVALID_REQUEST, as in Kafka.</item>
/// <item>Any other transactional_id goes to the <see cref="TransactionCoordinator"/> (NOT_COORDINATOR when this broker
/// does not own the id's <c>__transaction_state</c> partition); PRODUCER_FENCED is INVALID_PRODUCER_EPOCH below v4.</item>
/// </list>
/// </summary>
public sealed class InitProducerIdHandler(ProducerIdManager producerIds, TransactionCoordinator transactions) : ApiHandler<InitProducerIdRequest, InitProducerIdResponse>
{
    public override ApiKey ApiKey => ApiKey.InitProducerId;

    public override short MinVersion => 0;

    public override short MaxVersion => 5;

    protected override async ValueTask<InitProducerIdResponse?> HandleAsync(RequestContext context, InitProducerIdRequest request, CancellationToken cancellationToken)
    {
        if (!Authorized(context, request.TransactionalId, out var denied))
        {
            return ErrorResponse(context, request, denied);
        }
        // Below v3 the fields are absent and read as their default, -1.
        if ((request.ProducerId == -1) != (request.ProducerEpoch == -1))
        {
            return ErrorResponse(context, request, ErrorCode.InvalidRequest);
        }
        if (request.TransactionalId is { } transactionalId)
        {
            if (transactionalId.Length == 0)
            {
                return ErrorResponse(context, request, ErrorCode.InvalidRequest);
            }
            var (error, id, epoch) = await transactions.InitProducerIdAsync(transactionalId, request.TransactionTimeoutMs, request.ProducerId, request.ProducerEpoch,
                cancellationToken);
            return new InitProducerIdResponse
            {
                ErrorCode = (short)TransactionDecisions.ForRequestVersion(ApiKey, context.ApiVersion, error),
                ProducerId = error == ErrorCode.None ? id : -1,
                ProducerEpoch = error == ErrorCode.None ? epoch : (short)-1,
            };
        }
        long producerId;
        try
        {
            producerId = await producerIds.GenerateProducerIdAsync(cancellationToken);
        }
        catch (ProducerIdsUnavailableException)
        {
            return ErrorResponse(context, request, ErrorCode.CoordinatorLoadInProgress);
        }
        return new InitProducerIdResponse { ErrorCode = (short)ErrorCode.None, ProducerId = producerId, ProducerEpoch = 0 };
    }

    private static bool Authorized(RequestContext context, string? transactionalId, out ErrorCode denied)
    {
        if (transactionalId is not null)
        {
            denied = ErrorCode.TransactionalIdAuthorizationFailed;
            return context.Authorize(AclOperation.Write, AclResourceType.TransactionalId, transactionalId);
        }
        denied = ErrorCode.ClusterAuthorizationFailed;
        return context.AuthorizeCluster(AclOperation.IdempotentWrite) || context.AuthorizeByResourceType(AclOperation.Write, AclResourceType.Topic);
    }

    /// <summary>Kafka's <c>InitProducerIdRequest.getErrorResponse</c>: no producer id (-1) and no epoch (-1).</summary>
    protected override InitProducerIdResponse ErrorResponse(RequestContext context, InitProducerIdRequest request, ErrorCode error) =>
        new() { ErrorCode = (short)error, ProducerId = -1, ProducerEpoch = -1 };
}
