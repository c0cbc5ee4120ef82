using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;

namespace Samsa.Broker.Quotas;

/// <summary>
/// Kafka's <c>ControllerMutationQuotaManager</c> (KIP-599): <c>controller_mutation_rate</c> bounds the partitions a
/// (user, client-id) may create or delete per second, in a token bucket (a burst of <c>quota.window.num</c> x
/// <c>quota.window.size.seconds</c> of it). CreateTopics counts each topic's partitions, CreatePartitions the
/// partitions added, DeleteTopics each deleted topic's partitions. Each request takes a <see cref="MutationBudget"/>:
/// strict from the version whose clients understand THROTTLING_QUOTA_EXCEEDED (CreateTopics v6, CreatePartitions v3,
/// DeleteTopics v5), permissive below it.
/// <para>
/// Applied where the client's request arrives (the broker's handlers); Kafka applies it on the active controller,
/// to which brokers forward the request with the client's principal, so all brokers' clients share one bucket there.
/// </para>
/// </summary>
public sealed class ControllerMutationQuota(Func<MetadataImage> image, int samples, int windowSeconds, TimeProvider time, int metricsSamples = 2, long metricsWindowMs = 30_000)
{
    private readonly ClientQuotaManager _quota = new(ClientQuotaControlManager.ControllerMutationRate, image, samples, windowSeconds, time,
        metricsSamples: metricsSamples, metricsWindowMs: metricsWindowMs);
    private readonly TimeProvider _time = time;

    public ClientQuotaManager Manager => _quota;

    /// <summary>Kafka's <c>newQuotaFor(request, strictSinceVersion)</c>.</summary>
    public MutationBudget Begin(string user, string clientId, short apiVersion, short strictSinceVersion) =>
        new(_quota.SensorFor(user, clientId), apiVersion >= strictSinceVersion, _time, _quota.Throttled);
}

/// <summary>
/// One request's use of the controller mutation quota (Kafka's <c>StrictControllerMutationQuota</c> and
/// <c>PermissiveControllerMutationQuota</c>). Each item is reserved before it goes to the controller, in request order,
/// and settled with what the controller did: an item it refused gives its permits back (Kafka checks the quota after
/// its own validation, so a refused item never spends any).
/// </summary>
public sealed class MutationBudget
{
    private readonly QuotaSensor? _sensor;
    private readonly bool _strict;
    private readonly TimeProvider _time;
    private readonly ThrottledChannels? _queue;
    private bool _refused;

    internal MutationBudget(QuotaSensor? sensor, bool strict, TimeProvider time, ThrottledChannels? queue = null)
    {
        _sensor = sensor;
        _strict = strict;
        _time = time;
        _queue = queue;
    }

    public bool IsStrict => _strict;

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>
    /// Strict: false (the item is answered THROTTLING_QUOTA_EXCEEDED) while the client is in debt, else spends
    /// <paramref name="permits"/> however deep that takes it. Permissive: always spends them and accepts.
    /// </summary>
    public bool TryReserve(int permits)
    {
        if (_sensor is null)
        {
            return true;
        }
        if (!_strict)
        {
            _sensor.RecordAndGetThrottleTimeMs(permits, NowMs);
            return true;
        }
        if (_sensor.TryRecordStrict(permits, NowMs) > 0)
        {
            _refused = true;
            return false;
        }
        return true;
    }

    /// <summary>Gives back a reserved item's permits that the controller did not spend (the item failed, or counted fewer).</summary>
    public void Settle(int reserved, int spent)
    {
        if (_sensor is not null && reserved > spent)
        {
            _sensor.Unrecord(reserved - spent, NowMs);
        }
    }

    /// <summary>
    /// The response's throttle_time_ms: a strict request throttles only when it refused an item (one accepted into
    /// debt is answered at once, and the next is refused); a permissive one whenever it left the client in debt.
    /// </summary>
    public int ThrottleTimeMs => _sensor is null || (_strict && !_refused) ? 0 : _sensor.ThrottleTimeMs(NowMs);

    /// <summary>
    /// Kafka's <c>throttle</c> for the request once answered: <see cref="ThrottleTimeMs"/>, recorded in the client's
    /// throttle-time average and muting <paramref name="connection"/> when above 0; returns it for the response.
    /// </summary>
    public int ThrottleConnection(Samsa.Broker.Network.ConnectionContext connection)
    {
        var throttleTimeMs = ThrottleTimeMs;
        if (throttleTimeMs > 0)
        {
            _sensor!.RecordThrottle(throttleTimeMs, NowMs);
            connection.Throttle(throttleTimeMs, _queue);
        }
        return throttleTimeMs;
    }
}
