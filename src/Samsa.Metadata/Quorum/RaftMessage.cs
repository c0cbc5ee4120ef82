using Samsa.Protocol;

namespace Samsa.Metadata.Quorum;

/// <summary>
/// One Raft RPC in flight between two nodes: a request or its response, carrying the generated Kafka message.
/// <see cref="CorrelationId"/> pairs a response with its request, as the request header's correlation id does.
/// </summary>
public sealed class RaftMessage
{
    public required int Source { get; init; }

    public required int Destination { get; init; }

    public required int CorrelationId { get; init; }

    public required bool IsRequest { get; init; }

    /// <summary>The body: VoteRequest/Response, BeginQuorumEpoch*, EndQuorumEpoch*, Fetch*, DescribeQuorum*.</summary>
    public required IApiMessage Body { get; init; }

    /// <summary>
    /// KIP-996: this Vote request is a pre-vote. Kafka carries it as VoteRequest v2's <c>PreVote</c> field; our schema
    /// snapshot predates v2 (it stops at v1), so it travels beside the body until the schemas are refreshed.
    /// </summary>
    public bool PreVote { get; init; }

    /// <summary>
    /// A response the transport makes up for a request it could not deliver (connection refused or lost): the client
    /// frees the destination for a retry after the back-off instead of waiting out the request timeout, as Kafka's
    /// client does on a disconnect. <see cref="Body"/> is then the request.
    /// </summary>
    public bool Unreachable { get; init; }

    /// <summary>The version the body is encoded at on the wire (<see cref="RaftRpc.VersionOf"/>).</summary>
    public short Version => RaftRpc.VersionOf(Body.ApiKey);

    public override string ToString() =>
        $"{(IsRequest ? "request" : "response")} {Source}->{Destination} #{CorrelationId}{(PreVote ? " pre-vote" : "")} {Body}";
}

/// <summary>
/// The quorum's view of the network (Kafka's <c>NetworkChannel</c>). <see cref="Send"/> never blocks and may lose the
/// message; a request's response, if any, comes back through <see cref="RaftClient.Deliver"/>. Inbound requests
/// arrive the same way, and their responses leave through <see cref="Send"/>.
/// </summary>
public interface IRaftNetworkChannel
{
    void Send(RaftMessage message);
}
