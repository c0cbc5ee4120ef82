namespace Samsa.Broker.Quotas;

/// <summary>
/// Kafka's <c>TokenBucket</c> stat (KIP-599): credit that refills at the quota per second up to a burst of
/// <c>samples x window</c> seconds' worth, spent by every recorded value, and allowed to go negative. A negative
/// balance is a debt the client must wait off at the quota's rate. Unlike the windowed <see cref="SampledRate"/>,
/// which forgets a burst all at once when its sample expires (and so invites the next one, every
/// <c>samples</c> windows), the bucket remembers it until it is repaid, so a client sending as fast as it may is held
/// at the quota in every stretch of time, not only on average. Not thread-safe: the owning <see cref="QuotaSensor"/>
/// holds its lock.
/// </summary>
public sealed class TokenBucket(int samples, long windowMs)
{
    private readonly double _burstSeconds = samples * (windowMs / 1000.0);
    private double _tokens = double.NaN; // full at the first record
    private long _lastUpdateMs;

    /// <summary>Spends <paramref name="value"/> at <paramref name="nowMs"/> under <paramref name="quota"/> per second.</summary>
    public void Record(double value, long nowMs, double quota)
    {
        Refill(nowMs, quota);
        _tokens = Math.Min(Burst(quota), _tokens - value);
    }

    /// <summary>The balance at <paramref name="nowMs"/>: negative while in debt.</summary>
    public double Measure(long nowMs, double quota)
    {
        Refill(nowMs, quota);
        return _tokens;
    }

    /// <summary>How long a debt of <paramref name="tokens"/> takes to repay at <paramref name="quota"/> per second, rounded as Java's Math.round.</summary>
    public static long ThrottleTime(double tokens, double quota) =>
        tokens >= 0 ? 0 : (long)Math.Floor(-tokens / quota * 1000 + 0.5);

    private double Burst(double quota) => _burstSeconds * quota;

    private void Refill(long nowMs, double quota)
    {
        var burst = Burst(quota);
        _tokens = double.IsNaN(_tokens)
            ? burst
            : Math.Min(burst, _tokens + (quota * Math.Max(0, nowMs - _lastUpdateMs) / 1000.0));
        _lastUpdateMs = Math.Max(_lastUpdateMs, nowMs);
    }
}
