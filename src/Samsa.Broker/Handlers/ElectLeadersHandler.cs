using Samsa.Broker.Security;
using Samsa.Metadata.Controller;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Handlers;

/// <summary>
/// ElectLeaders (key 43), versions 0-2 (KIP-183, KIP-460), on broker listeners (which forward it to the active
/// controller, as Kafka's KRaft brokers do) and on the controller listener: PREFERRED or UNCLEAN elections decided
/// and committed by the controller (<see cref="IController.ElectLeadersAsync"/>). A null partition list means every
/// partition, and then partitions that need no election are left out of the answer.
/// <list type="bullet">
/// <item>v0 has no ElectionType (always PREFERRED) and no top-level error code; v1 adds both (KIP-460); v2 is the
/// first flexible version.</item>
/// <item>An error for the whole request (NOT_CONTROLLER, UNKNOWN_SERVER_ERROR) answers every named partition with it,
/// as Kafka's <c>ElectLeadersRequest.getErrorResponse</c>, and the top-level code from v1.</item>
/// </list>
/// </summary>
public sealed class ElectLeadersHandler(IController controller) : ApiHandler<ElectLeadersRequest, ElectLeadersResponse>
{
    public override ApiKey ApiKey => ApiKey.ElectLeaders;

    public override short MinVersion => 0;

    public override short MaxVersion => 2;

    protected override AclOperation? RequiredClusterOperation => AclOperation.Alter;

    protected override async ValueTask<ElectLeadersResponse?> HandleAsync(RequestContext context, ElectLeadersRequest request, CancellationToken cancellationToken)
    {
        var response = await controller.ElectLeadersAsync(request, context.ApiVersion, cancellationToken);
        if (context.ApiVersion == 0 && response.ErrorCode != 0)
        {
            // v0 cannot carry a top-level error: each named partition carries it instead.
            return ErrorResponse(context, request, (ErrorCode)response.ErrorCode);
        }
        return response;
    }

    protected override ElectLeadersResponse ErrorResponse(RequestContext context, ElectLeadersRequest request, ErrorCode error) => new()
    {
        ErrorCode = context.ApiVersion >= 1 ? (short)error : (short)0,
        ReplicaElectionResults = [.. (request.TopicPartitions ?? []).Select(t => new ElectLeadersResponse.ReplicaElectionResult
        {
            Topic = t.Topic,
            PartitionResult = [.. t.Partitions.Select(p => new ElectLeadersResponse.PartitionResult
            {
                PartitionId = p,
                ErrorCode = (short)error,
                ErrorMessage = ErrorCodes.DefaultMessage(error),
            })],
        })],
    };
}
