using Samsa.Broker.Network;
using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Protocol;

namespace Samsa.Broker.Quotas;

/// <summary>
/// Kafka's <c>ClientRequestQuotaManager</c> (KIP-124): <c>request_percentage</c> bounds the share of one request
/// thread's time a (user, client-id) may take, as a percentage per quota window (100 = one whole thread). Each
/// request's handler time is charged as a percentage-second (the time in nanoseconds x 100 / 10^9, Kafka's
/// <c>nanosToPercentage</c>); a client in debt is answered with <c>throttle_time_ms</c> and its connection muted
/// (KIP-219), the throttle bounded by one quota window as Kafka bounds it. The sensor is the same
/// <see cref="QuotaSensor"/> as the byte rates (a token bucket rather than Kafka's windowed <c>Rate</c>).
/// <para>
/// The time charged is what Samsa spends on the calling thread: parsing the request and running its handler up to
/// its first wait (the whole of it for handlers that never wait). A handler's continuation after a wait (a produce
/// after its append, a long-poll fetch after new data) and the response's serialization are not charged; Kafka also
/// charges the network thread's time, without throttling on it.
/// </para>
/// <para>
/// Exempt requests' time is Kafka's <c>exempt-request-time</c> (a <c>Rate</c> of percentages over
/// <c>metrics.num.samples</c> windows of <c>metrics.sample.window.ms</c>): added lock-free to a running total here, and
/// turned into a rate at scrape time from the totals the earlier scrapes saw within that span.
/// </para>
/// </summary>
public sealed class RequestQuota
{
    private readonly ClientQuotaManager _quota;
    private readonly long _metricsSpanMs;
    private readonly long _metricsMinSpanMs;
    private readonly Queue<(long AtMs, long Ticks)> _exemptSeen = new();
    private long _exemptTicks;

    public RequestQuota(Func<MetadataImage> image, int samples, int windowSeconds, TimeProvider time, int metricsSamples = 2, long metricsWindowMs = 30_000)
    {
        _quota = new ClientQuotaManager(ClientQuotaControlManager.RequestPercentage, image, samples, windowSeconds, time,
            maxThrottleTimeMs: windowSeconds * 1000L, metricsSamples: metricsSamples, metricsWindowMs: metricsWindowMs);
        _metricsSpanMs = metricsSamples * metricsWindowMs;
        _metricsMinSpanMs = (metricsSamples - 1) * metricsWindowMs;
    }

    public ClientQuotaManager Manager => _quota;

    /// <summary>Kafka's <c>nanosToPercentage</c>: a thread busy for <paramref name="elapsed"/> used this many percent-seconds.</summary>
    public static double ToPercentage(TimeSpan elapsed) => elapsed.Ticks * (100.0 / TimeSpan.TicksPerSecond);

    /// <summary>
    /// Requests Kafka answers with <c>sendResponseExemptThrottle</c>: cluster actions between nodes (Kafka's
    /// <c>ApiKeys.clusterAction</c>, and a follower's fetch), SASL authentication, and anything before a SASL
    /// exchange completes (Kafka's authenticator answers those before the request handlers see them).
    /// </summary>
    public static bool IsExempt(ApiKey apiKey, ConnectionContext connection) =>
        connection.Authentication is { IsComplete: false } || apiKey switch
        {
            ApiKey.SaslHandshake or ApiKey.SaslAuthenticate => true,
            ApiKey.LeaderAndIsr or ApiKey.StopReplica or ApiKey.UpdateMetadata or ApiKey.ControlledShutdown
                or ApiKey.WriteTxnMarkers or ApiKey.AlterPartition or ApiKey.Envelope or ApiKey.BrokerRegistration
                or ApiKey.BrokerHeartbeat or ApiKey.AllocateProducerIds or ApiKey.ControllerRegistration
                or ApiKey.AssignReplicasToDirs or ApiKey.Vote or ApiKey.BeginQuorumEpoch or ApiKey.EndQuorumEpoch
                or ApiKey.FetchSnapshot or ApiKey.UpdateRaftVoter => true,
            ApiKey.Fetch => connection.FetchFromFollower,
            _ => false,
        };

    /// <summary>Kafka's <c>maybeRecordExempt</c>: an exempt request's handler time, for <c>exempt-request-time</c> only.</summary>
    public void RecordExempt(TimeSpan handlerTime) => Interlocked.Add(ref _exemptTicks, handlerTime.Ticks);

    /// <summary>
    /// Kafka's <c>exempt-request-time</c> at <paramref name="nowMs"/>: the percentage of a request thread exempt
    /// requests took since the oldest earlier reading within the metrics span, over at least all but one of its
    /// windows (as Kafka's <c>Rate</c> counts missing windows as empty). Called by the scrape; 0 at the first.
    /// </summary>
    public double ExemptRequestTime(long nowMs)
    {
        var ticks = Interlocked.Read(ref _exemptTicks);
        lock (_exemptSeen)
        {
            while (_exemptSeen.Count > 1 && nowMs - _exemptSeen.Peek().AtMs > _metricsSpanMs)
            {
                _exemptSeen.Dequeue();
            }
            var (atMs, oldTicks) = _exemptSeen.TryPeek(out var oldest) ? oldest : (nowMs, ticks);
            _exemptSeen.Enqueue((nowMs, ticks));
            var spanMs = Math.Max(nowMs - atMs, _metricsMinSpanMs);
            return spanMs <= 0 ? 0 : ToPercentage(TimeSpan.FromTicks(ticks - oldTicks)) / (spanMs / 1000.0);
        }
    }

    /// <summary>Charges <paramref name="handlerTime"/> to the client; the throttle time in ms, 0 when within its quota or unbounded.</summary>
    public int RecordAndGetThrottleTimeMs(string user, string clientId, TimeSpan handlerTime) =>
        _quota.RecordAndGetThrottleTimeMs(user, clientId, ToPercentage(handlerTime));

    /// <inheritdoc cref="RecordAndGetThrottleTimeMs(string, string, TimeSpan)"/>
    public int RecordAndGetThrottleTimeMs(string user, string clientId, TimeSpan handlerTime, long nowMs) =>
        _quota.RecordAndGetThrottleTimeMs(user, clientId, ToPercentage(handlerTime), nowMs);
}
