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
