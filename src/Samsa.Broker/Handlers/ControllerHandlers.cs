using Samsa.Broker.Security;
using Samsa.Metadata.Controller;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Handlers;

/// <summary>
/// AllocateProducerIds (key 67), served on the controller listener: a broker's next block of producer ids, committed
/// before it is returned (Kafka's <c>ControllerApis.handleAllocateProducerIdsRequest</c>).
/// </summary>
public sealed class AllocateProducerIdsHandler(IController controller) : ApiHandler<AllocateProducerIdsRequest, AllocateProducerIdsResponse>
{
    public override ApiKey ApiKey => ApiKey.AllocateProducerIds;

    public override short MinVersion => 0;

    public override short MaxVersion => 0;

    protected override AclOperation? RequiredClusterOperation => AclOperation.ClusterAction;

    protected override async ValueTask<AllocateProducerIdsResponse?> HandleAsync(RequestContext context, AllocateProducerIdsRequest request, CancellationToken cancellationToken)
    {
        var allocation = await controller.AllocateProducerIdsAsync(request.BrokerId, request.BrokerEpoch, cancellationToken);
        return allocation.Error.Error != ErrorCode.None
            ? ErrorResponse(context, request, allocation.Error.Error)
            : new AllocateProducerIdsResponse { ProducerIdStart = allocation.Block.FirstProducerId, ProducerIdLen = allocation.Block.Size };
    }

    protected override AllocateProducerIdsResponse ErrorResponse(RequestContext context, AllocateProducerIdsRequest request, ErrorCode error) =>
        new() { ErrorCode = (short)error };
}

/// <summary>
/// AlterPartition (key 56), versions 0-3, served on the controller listener: a partition leader's ISR change
/// (KIP-497, Kafka's <c>ControllerApis.handleAlterPartitionRequest</c>), decided and committed by the controller
/// (<see cref="IController.AlterPartitionAsync"/>) before the answer goes out.
/// <list type="bullet">
/// <item>v0-1 name topics, v2+ give topic ids (KIP-841); v1 adds LeaderRecoveryState (KIP-704); v3 gives each ISR
/// member with its broker epoch (NewIsrWithEpochs, KIP-903).</item>
/// </list>
/// A controller that is not active answers NOT_CONTROLLER and the broker retries with the next one.
/// </summary>
public sealed class AlterPartitionHandler(IController controller) : ApiHandler<AlterPartitionRequest, AlterPartitionResponse>
{
    public override ApiKey ApiKey => ApiKey.AlterPartition;

    public override short MinVersion => 0;

    public override short MaxVersion => 3;

    protected override AclOperation? RequiredClusterOperation => AclOperation.ClusterAction;

    protected override async ValueTask<AlterPartitionResponse?> HandleAsync(RequestContext context, AlterPartitionRequest request, CancellationToken cancellationToken) =>
        await controller.AlterPartitionAsync(request, context.ApiVersion, cancellationToken);

    protected override AlterPartitionResponse ErrorResponse(RequestContext context, AlterPartitionRequest request, ErrorCode error) =>
        new() { ErrorCode = (short)error };
}
