using Microsoft.Extensions.Logging;
using Samsa.Metadata.Controller;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Network;

/// <summary>
/// The controller as a broker-only node sees it: every operation is a request to the active controller over the
/// controller listener (Kafka's <c>NodeToControllerChannelManager</c> and <c>ForwardingManager</c>). A request that
/// meets a controller which is not (or no longer) active, or a connection that fails, is retried against the
/// controller the node knows of next, after a back-off, until the request timeout; an answer with any other
/// error is the caller's.
/// </summary>
/// <remarks>
/// DeleteTopics and AlterPartition go out at the caller's own version, so version-dependent answers (topic ids, messages) are the
/// controller's to decide exactly as for a local call; the other operations go at the highest version the broker
/// serves, which carries every field the handlers read.
/// </remarks>
public sealed class RemoteController : IController
{
    private readonly NetworkClient _client;
    private readonly Func<NodeEndpoint?> _activeController;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TimeSpan _requestTimeout;
    private readonly TimeSpan _retryBackoff;

    /// <param name="activeController">The controller this node believes active, or null when it knows of none yet
    /// (the quorum's leader, or a bootstrap controller in turn).</param>
    /// <param name="requestTimeout">request.timeout.ms: how long an operation may take, retries included.</param>
    /// <param name="retryBackoff">retry.backoff.ms between attempts.</param>
    public RemoteController(NetworkClient client, Func<NodeEndpoint?> activeController, TimeProvider time, ILogger logger,
        TimeSpan? requestTimeout = null, TimeSpan? retryBackoff = null)
    {
        _client = client;
        _activeController = activeController;
        _time = time;
        _logger = logger;
        _requestTimeout = requestTimeout ?? TimeSpan.FromSeconds(30);
        _retryBackoff = retryBackoff ?? TimeSpan.FromMilliseconds(100);
    }

    public Task<CreateTopicsResponse> CreateTopicsAsync(CreateTopicsRequest request, CancellationToken cancellationToken) =>
        SendAsync<CreateTopicsResponse>(request, 7, r => r.Topics.Any(t => NotActive(t.ErrorCode)), cancellationToken);

    public Task<DeleteTopicsResponse> DeleteTopicsAsync(DeleteTopicsRequest request, short version, CancellationToken cancellationToken) =>
        SendAsync<DeleteTopicsResponse>(request, version, r => r.Responses.Any(t => NotActive(t.ErrorCode)), cancellationToken);

    public Task<CreatePartitionsResponse> CreatePartitionsAsync(CreatePartitionsRequest request, CancellationToken cancellationToken) =>
        SendAsync<CreatePartitionsResponse>(request, 3, r => r.Results.Any(t => NotActive(t.ErrorCode)), cancellationToken);

    public Task<IncrementalAlterConfigsResponse> IncrementalAlterConfigsAsync(IncrementalAlterConfigsRequest request, CancellationToken cancellationToken) =>
        SendAsync<IncrementalAlterConfigsResponse>(request, 1, r => r.Responses.Any(t => NotActive(t.ErrorCode)), cancellationToken);

    public Task<AlterConfigsResponse> AlterConfigsAsync(AlterConfigsRequest request, CancellationToken cancellationToken) =>
        SendAsync<AlterConfigsResponse>(request, 2, r => r.Responses.Any(t => NotActive(t.ErrorCode)), cancellationToken);

    public async Task<ApiError> UpdateFeaturesAsync(IReadOnlyList<FeatureUpdate> updates, bool validateOnly, CancellationToken cancellationToken)
    {
        var request = new UpdateFeaturesRequest
        {
            timeoutMs = (int)_requestTimeout.TotalMilliseconds,
            ValidateOnly = validateOnly,
            FeatureUpdates = [.. updates.Select(u => new UpdateFeaturesRequest.FeatureUpdateKey
            {
                Feature = u.Feature,
                MaxVersionLevel = u.Level,
                UpgradeType = (sbyte)u.UpgradeType,
            })],
        };
        var response = await SendAsync<UpdateFeaturesResponse>(request, 1, r => NotActive(r.ErrorCode), cancellationToken);
        if (response.ErrorCode != 0)
        {
            return new ApiError((ErrorCode)response.ErrorCode, response.ErrorMessage);
        }
        // Every update is applied in one commit or none, so the first refusal speaks for the request.
        var refused = response.Results.FirstOrDefault(r => r.ErrorCode != 0);
        return refused is null ? new ApiError(ErrorCode.None, null) : new ApiError((ErrorCode)refused.ErrorCode, refused.ErrorMessage);
    }

    public async Task<ProducerIdsAllocation> AllocateProducerIdsAsync(int brokerId, long brokerEpoch, CancellationToken cancellationToken)
    {
        var request = new AllocateProducerIdsRequest { BrokerId = brokerId, BrokerEpoch = brokerEpoch };
        var response = await SendAsync<AllocateProducerIdsResponse>(request, 0, r => NotActive(r.ErrorCode), cancellationToken);
        return new ProducerIdsAllocation(new ProducerIdsBlock(brokerId, response.ProducerIdStart, response.ProducerIdLen),
            new ApiError((ErrorCode)response.ErrorCode, null));
    }

    public Task<BrokerRegistrationResponse> RegisterBrokerAsync(BrokerRegistrationRequest request, CancellationToken cancellationToken) =>
        SendAsync<BrokerRegistrationResponse>(request, BrokerRegistrationRequest.HighestVersion, r => NotActive(r.ErrorCode), cancellationToken);

    public Task<BrokerHeartbeatResponse> BrokerHeartbeatAsync(BrokerHeartbeatRequest request, CancellationToken cancellationToken) =>
        SendAsync<BrokerHeartbeatResponse>(request, BrokerHeartbeatRequest.HighestVersion, r => NotActive(r.ErrorCode), cancellationToken);

    public Task<AlterPartitionResponse> AlterPartitionAsync(AlterPartitionRequest request, short version, CancellationToken cancellationToken) =>
        SendAsync<AlterPartitionResponse>(request, version, r => NotActive(r.ErrorCode), cancellationToken);

    /// <summary>
    /// Sent at v2 whatever the client's version: a v0 request reads as ElectionType 0 (PREFERRED), the same election,
    /// and only v1+ responses carry the top-level error that says NOT_CONTROLLER.
    /// </summary>
    public Task<ElectLeadersResponse> ElectLeadersAsync(ElectLeadersRequest request, short version, CancellationToken cancellationToken) =>
        SendAsync<ElectLeadersResponse>(request, ElectLeadersRequest.HighestVersion, r => NotActive(r.ErrorCode), cancellationToken);

    public Task<AlterPartitionReassignmentsResponse> AlterPartitionReassignmentsAsync(AlterPartitionReassignmentsRequest request, CancellationToken cancellationToken) =>
        SendAsync<AlterPartitionReassignmentsResponse>(request, 0, r => NotActive(r.ErrorCode), cancellationToken);

    public Task<AlterUserScramCredentialsResponse> AlterUserScramCredentialsAsync(AlterUserScramCredentialsRequest request, CancellationToken cancellationToken) =>
        SendAsync<AlterUserScramCredentialsResponse>(request, 0, r => r.Results.Any(u => NotActive(u.ErrorCode)), cancellationToken);

    public Task<AlterClientQuotasResponse> AlterClientQuotasAsync(AlterClientQuotasRequest request, CancellationToken cancellationToken) =>
        SendAsync<AlterClientQuotasResponse>(request, 1, r => r.Entries.Any(e => NotActive(e.ErrorCode)), cancellationToken);

    public Task<ListPartitionReassignmentsResponse> ListPartitionReassignmentsAsync(ListPartitionReassignmentsRequest request, CancellationToken cancellationToken) =>
        SendAsync<ListPartitionReassignmentsResponse>(request, 0, r => NotActive(r.ErrorCode), cancellationToken);

    public Task<CreateAclsResponse> CreateAclsAsync(CreateAclsRequest request, CancellationToken cancellationToken) =>
        SendAsync<CreateAclsResponse>(request, CreateAclsRequest.HighestVersion, r => r.Results.Any(a => NotActive(a.ErrorCode)), cancellationToken);

    public Task<DeleteAclsResponse> DeleteAclsAsync(DeleteAclsRequest request, CancellationToken cancellationToken) =>
        SendAsync<DeleteAclsResponse>(request, DeleteAclsRequest.HighestVersion, r => r.FilterResults.Any(f => NotActive(f.ErrorCode)), cancellationToken);

    private static bool NotActive(short errorCode) => errorCode == (short)ErrorCode.NotController;

    private async Task<TResponse> SendAsync<TResponse>(IApiMessage request, short version, Func<TResponse, bool> notActive, CancellationToken cancellationToken)
        where TResponse : IApiMessage, new()
    {
        var started = _time.GetTimestamp();
        for (var attempt = 1; ; attempt++)
        {
            var remaining = _requestTimeout - _time.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                throw new TimeoutException($"{request.ApiKey}: no active controller answered within {_requestTimeout.TotalMilliseconds} ms");
            }
            string reason;
            if (_activeController() is not { } controller)
            {
                reason = "no active controller known";
            }
            else
            {
                try
                {
                    var response = await _client.SendAsync<TResponse>(controller, request, version, cancellationToken, remaining);
                    if (!notActive(response))
                    {
                        return response;
                    }
                    reason = $"node {controller.Id} is not the active controller";
                }
                catch (NodeDisconnectedException e)
                {
                    reason = e.Message;
                }
                catch (TimeoutException) when (_time.GetElapsedTime(started) < _requestTimeout)
                {
                    reason = "request timed out";
                }
            }
            NetworkLog.ControllerRequestRetried(_logger, request.ApiKey, attempt, reason);
            await Task.Delay(_retryBackoff, _time, cancellationToken);
        }
    }
}
