using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Samsa.Metadata.Quorum;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Network;

/// <summary>
/// The quorum's network on real sockets (Kafka's <c>KafkaNetworkChannel</c>). Outbound requests go to the voter's
/// controller endpoint through a <see cref="NetworkClient"/>; the response, or an <see cref="RaftMessage.Unreachable"/>
/// stand-in when the request could not be delivered, is handed back to the quorum. Inbound requests arrive from the
/// controller listener's handlers through <see cref="HandleInboundAsync"/>, which waits for the quorum's answer.
/// </summary>
/// <remarks>
/// KIP-996's pre-vote flag is VoteRequest v2's <c>PreVote</c> field in Kafka; our schema snapshot stops at v1, so it
/// travels as a tagged field of our own (<see cref="PreVoteTag"/>) on the request and its response.
/// </remarks>
public sealed class KafkaNetworkChannel : IRaftNetworkChannel
{
    /// <summary>The tagged field that marks a Vote request or response as a pre-vote (Samsa-to-Samsa only).</summary>
    public const int PreVoteTag = 10_000;

    /// <summary>The source the quorum sees on every inbound request: answers are matched to requests by correlation id alone.</summary>
    private const int InboundSource = -2;

    private readonly int _localId;
    private readonly NetworkClient _client;
    private readonly Func<int, NodeEndpoint?> _endpointOf;
    private readonly TimeSpan _requestTimeout;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<RaftMessage>> _inbound = new();
    private int _nextInbound;
    private Action<RaftMessage>? _deliver;

    /// <param name="endpointOf">The controller endpoint of a voter id, or null when it is not known.</param>
    /// <param name="requestTimeout">controller.quorum.request.timeout.ms, plus the time a leader may park a fetch.</param>
    public KafkaNetworkChannel(int localId, NetworkClient client, Func<int, NodeEndpoint?> endpointOf, TimeSpan requestTimeout, ILogger logger)
    {
        _localId = localId;
        _client = client;
        _endpointOf = endpointOf;
        _requestTimeout = requestTimeout;
        _logger = logger;
    }

    /// <summary>Where responses and inbound requests go: the quorum's <c>Deliver</c>. Set once, before the quorum starts.</summary>
    public void Connect(Action<RaftMessage> deliver) => _deliver = deliver;

    public void Send(RaftMessage message)
    {
        if (!message.IsRequest)
        {
            if (_inbound.TryRemove(message.CorrelationId, out var waiting))
            {
                waiting.TrySetResult(message);
            }
            return;
        }
        _ = SendRequestAsync(message);
    }

    private async Task SendRequestAsync(RaftMessage request)
    {
        IApiMessage? response = null;
        if (_endpointOf(request.Destination) is { } endpoint)
        {
            var body = request.Body;
            if (request.PreVote && body is VoteRequest vote)
            {
                vote.UnknownTaggedFields = [new RawTaggedField(PreVoteTag, [1])];
            }
            try
            {
                response = body switch
                {
                    VoteRequest => await _client.SendAsync<VoteResponse>(endpoint, body, request.Version, timeout: _requestTimeout),
                    BeginQuorumEpochRequest => await _client.SendAsync<BeginQuorumEpochResponse>(endpoint, body, request.Version, timeout: _requestTimeout),
                    EndQuorumEpochRequest => await _client.SendAsync<EndQuorumEpochResponse>(endpoint, body, request.Version, timeout: _requestTimeout),
                    FetchRequest => await _client.SendAsync<FetchResponse>(endpoint, body, request.Version, timeout: _requestTimeout),
                    FetchSnapshotRequest => await _client.SendAsync<FetchSnapshotResponse>(endpoint, body, request.Version, timeout: _requestTimeout),
                    DescribeQuorumRequest => await _client.SendAsync<DescribeQuorumResponse>(endpoint, body, request.Version, timeout: _requestTimeout),
                    AddRaftVoterRequest => await _client.SendAsync<AddRaftVoterResponse>(endpoint, body, request.Version, timeout: _requestTimeout),
                    RemoveRaftVoterRequest => await _client.SendAsync<RemoveRaftVoterResponse>(endpoint, body, request.Version, timeout: _requestTimeout),
                    _ => throw new ArgumentException($"{body.ApiKey} is not a Raft RPC"),
                };
            }
            catch (Exception e) when (e is NodeDisconnectedException or TimeoutException or ProtocolException or ObjectDisposedException or OperationCanceledException)
            {
                NetworkLog.RaftRequestFailed(_logger, request.Body.ApiKey, request.Destination, e.Message);
            }
        }
        _deliver?.Invoke(new RaftMessage
        {
            Source = request.Destination,
            Destination = _localId,
            CorrelationId = request.CorrelationId,
            IsRequest = false,
            Body = response ?? request.Body,
            Unreachable = response is null,
            PreVote = response is VoteResponse answer ? HasPreVoteTag(answer.UnknownTaggedFields) : request.PreVote,
        });
    }

    /// <summary>Hands an inbound Raft request to the quorum and waits for its answer (null if none comes in time).</summary>
    public async Task<IApiMessage?> HandleInboundAsync(IApiMessage request, CancellationToken cancellationToken)
    {
        if (_deliver is not { } deliver)
        {
            return null;
        }
        var correlationId = Interlocked.Increment(ref _nextInbound);
        var answered = new TaskCompletionSource<RaftMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        _inbound[correlationId] = answered;
        var preVote = request is VoteRequest vote && HasPreVoteTag(vote.UnknownTaggedFields);
        if (request is VoteRequest tagged)
        {
            tagged.UnknownTaggedFields = null;
        }
        deliver(new RaftMessage
        {
            Source = InboundSource,
            Destination = _localId,
            CorrelationId = correlationId,
            IsRequest = true,
            Body = request,
            PreVote = preVote,
        });
        try
        {
            var response = await answered.Task.WaitAsync(_requestTimeout, cancellationToken);
            if (response.PreVote && response.Body is VoteResponse voteResponse)
            {
                voteResponse.UnknownTaggedFields = [new RawTaggedField(PreVoteTag, [1])];
            }
            return response.Body;
        }
        catch (TimeoutException)
        {
            return null;
        }
        finally
        {
            _inbound.TryRemove(correlationId, out _);
        }
    }

    private static bool HasPreVoteTag(List<RawTaggedField>? fields) => fields?.Any(f => f.Tag == PreVoteTag && f.Data is [1]) == true;
}
