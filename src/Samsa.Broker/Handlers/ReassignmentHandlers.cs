using Samsa.Broker.Security;
using Samsa.Metadata.Controller;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Handlers;

/// <summary>
/// AlterPartitionReassignments (key 45), version 0 (KIP-455), on broker listeners (forwarded to the active controller,
/// as Kafka's KRaft brokers do) and on the controller listener: each named partition's reassignment started, replaced
/// or cancelled by the controller (<see cref="IController.AlterPartitionReassignmentsAsync"/>), each answered with its
/// own error. An error for the whole request answers every named partition with it, and the top-level code (Kafka's
/// <c>AlterPartitionReassignmentsRequest.getErrorResponse</c>).
/// </summary>
public sealed class AlterPartitionReassignmentsHandler(IController controller) : ApiHandler<AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse>
{
    public override ApiKey ApiKey => ApiKey.AlterPartitionReassignments;

    public override short MinVersion => 0;

    public override short MaxVersion => 0;

    protected override AclOperation? RequiredClusterOperation => AclOperation.Alter;

    protected override async ValueTask<AlterPartitionReassignmentsResponse?> HandleAsync(RequestContext context, AlterPartitionReassignmentsRequest request, CancellationToken cancellationToken) =>
        await controller.AlterPartitionReassignmentsAsync(request, cancellationToken);

    protected override AlterPartitionReassignmentsResponse ErrorResponse(RequestContext context, AlterPartitionReassignmentsRequest request, ErrorCode error) => new()
    {
        ErrorCode = (short)error,
        ErrorMessage = ErrorCodes.DefaultMessage(error),
        Responses = [.. request.Topics.Select(t => new AlterPartitionReassignmentsResponse.ReassignableTopicResponse
        {
            Name = t.Name,
            Partitions = [.. t.Partitions.Select(p => new AlterPartitionReassignmentsResponse.ReassignablePartitionResponse
            {
                PartitionIndex = p.PartitionIndex,
                ErrorCode = (short)error,
                ErrorMessage = ErrorCodes.DefaultMessage(error),
            })],
        })],
    };
}

/// <summary>
/// ListPartitionReassignments (key 46), version 0 (KIP-455), on broker listeners (forwarded to the active controller)
/// and on the controller listener: the reassignments under way (<see cref="IController.ListPartitionReassignmentsAsync"/>).
/// </summary>
public sealed class ListPartitionReassignmentsHandler(IController controller) : ApiHandler<ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse>
{
    public override ApiKey ApiKey => ApiKey.ListPartitionReassignments;

    public override short MinVersion => 0;

    public override short MaxVersion => 0;

    protected override AclOperation? RequiredClusterOperation => AclOperation.Describe;

    protected override async ValueTask<ListPartitionReassignmentsResponse?> HandleAsync(RequestContext context, ListPartitionReassignmentsRequest request, CancellationToken cancellationToken) =>
        await controller.ListPartitionReassignmentsAsync(request, cancellationToken);

    protected override ListPartitionReassignmentsResponse ErrorResponse(RequestContext context, ListPartitionReassignmentsRequest request, ErrorCode error) => new()
    {
        ErrorCode = (short)error,
        ErrorMessage = ErrorCodes.DefaultMessage(error),
    };
}
