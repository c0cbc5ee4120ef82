using Samsa.Broker.Security;
using Samsa.Metadata.Controller;
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

    protected override AclOperation? RequiredClusterOperation => AclOperation.Alter;

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

/// <summary>
/// BrokerRegistration (key 62), versions 0-4 (KIP-500, KIP-866, KIP-858, KIP-966), served on the controller
/// listener: a broker process registers with the active controller and learns its broker epoch. The decision is the
/// controller's (<see cref="IController.RegisterBrokerAsync"/>): INCONSISTENT_CLUSTER_ID for another cluster's broker,
/// DUPLICATE_BROKER_REGISTRATION while another live incarnation holds the id, UNSUPPORTED_VERSION when the broker
/// cannot run a finalized feature level. A controller that is not active answers NOT_CONTROLLER and the broker retries.
/// <list type="bullet">
/// <item>v1 adds IsMigratingZkBroker (refused with BROKER_ID_NOT_REGISTERED, as Kafka's controller without a ZooKeeper
/// migration does), v2 LogDirs (recorded), v3 PreviousBrokerEpoch (KIP-966; read, not used), v4 no new field.</item>
/// </list>
/// </summary>
/// <remarks>Built as <c>new BrokerRegistrationHandler(controller)</c> with the node's active controller (the local
/// <see cref="QuorumController"/> on a controller node), and added to the controller listener's dispatcher.</remarks>
public sealed class BrokerRegistrationHandler(IController controller) : ApiHandler<BrokerRegistrationRequest, BrokerRegistrationResponse>
{
    public override ApiKey ApiKey => ApiKey.BrokerRegistration;

    public override short MinVersion => 0;

    public override short MaxVersion => 4;

    protected override AclOperation? RequiredClusterOperation => AclOperation.ClusterAction;

    protected override async ValueTask<BrokerRegistrationResponse?> HandleAsync(RequestContext context, BrokerRegistrationRequest request, CancellationToken cancellationToken)
    {
        if (request.IsMigratingZkBroker)
        {
            // Kafka's controller without a ZooKeeper migration: "Controller does not support registering ZK brokers."
            return new BrokerRegistrationResponse { ErrorCode = (short)ErrorCode.BrokerIdNotRegistered };
        }
        return await controller.RegisterBrokerAsync(request, cancellationToken);
    }

    protected override BrokerRegistrationResponse ErrorResponse(RequestContext context, BrokerRegistrationRequest request, ErrorCode error) =>
        new() { ErrorCode = (short)error };
}

/// <summary>
/// BrokerHeartbeat (key 63), versions 0-1 (KIP-500, KIP-858), served on the controller listener: a registered broker
/// renews its session every <c>broker.heartbeat.interval.ms</c> and hears whether it is caught up, fenced and should
/// shut down (<see cref="IController.BrokerHeartbeatAsync"/>). BROKER_ID_NOT_REGISTERED for an unknown broker,
/// STALE_BROKER_EPOCH for an epoch other than its registration's, NOT_CONTROLLER from a controller that is not active.
/// <list type="bullet">
/// <item>v1 adds OfflineLogDirs, read and not acted on (Samsa does not reassign directories).</item>
/// </list>
/// </summary>
/// <remarks>Built as <c>new BrokerHeartbeatHandler(controller)</c>, beside <see cref="BrokerRegistrationHandler"/>.</remarks>
public sealed class BrokerHeartbeatHandler(IController controller) : ApiHandler<BrokerHeartbeatRequest, BrokerHeartbeatResponse>
{
    public override ApiKey ApiKey => ApiKey.BrokerHeartbeat;

    public override short MinVersion => 0;

    public override short MaxVersion => 1;

    protected override AclOperation? RequiredClusterOperation => AclOperation.ClusterAction;

    protected override async ValueTask<BrokerHeartbeatResponse?> HandleAsync(RequestContext context, BrokerHeartbeatRequest request, CancellationToken cancellationToken) =>
        await controller.BrokerHeartbeatAsync(request, cancellationToken);

    protected override BrokerHeartbeatResponse ErrorResponse(RequestContext context, BrokerHeartbeatRequest request, ErrorCode error) =>
        new() { ErrorCode = (short)error };
}
