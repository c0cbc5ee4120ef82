using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Handlers;

/// <summary>
/// UnregisterBroker (key 64), version 0 (KIP-500; served on broker listeners, which forward it to the controller).
/// An id with no registration gets BROKER_ID_NOT_REGISTERED with Kafka's message. The only registration a Samsa
/// node holds is its own, and it is live: removing it would leave every partition without a leader and nothing to
/// register it again, so that is refused with INVALID_REQUEST (see docs/UNSUPPORTED.md).
/// </summary>
public sealed class UnregisterBrokerHandler(MetadataCache metadata, int nodeId) : ApiHandler<UnregisterBrokerRequest, UnregisterBrokerResponse>
{
    public override ApiKey ApiKey => ApiKey.UnregisterBroker;

    public override short MinVersion => 0;

    public override short MaxVersion => 0;

    protected override ValueTask<UnregisterBrokerResponse?> HandleAsync(RequestContext context, UnregisterBrokerRequest request, CancellationToken cancellationToken)
    {
        var response = !metadata.Current.Brokers.ContainsKey(request.BrokerId)
            ? new UnregisterBrokerResponse { ErrorCode = (short)ErrorCode.BrokerIdNotRegistered, ErrorMessage = $"Broker ID {request.BrokerId} is not currently registered" }
            : new UnregisterBrokerResponse
            {
                ErrorCode = (short)ErrorCode.InvalidRequest,
                ErrorMessage = request.BrokerId == nodeId
                    ? $"Broker {request.BrokerId} is this node, which is live and the only controller; it cannot be unregistered."
                    : $"Broker {request.BrokerId} is live; it cannot be unregistered.",
            };
        return ValueTask.FromResult<UnregisterBrokerResponse?>(response);
    }

    protected override UnregisterBrokerResponse ErrorResponse(RequestContext context, UnregisterBrokerRequest request, ErrorCode error) =>
        new() { ErrorCode = (short)error, ErrorMessage = ErrorCodes.DefaultMessage(error) };
}
