namespace Samsa.Broker.Quotas;

/// <summary>
/// Kafka's <c>Rate</c> over a <c>WindowedSum</c> (<c>SampledStat</c>): the sum recorded in the last
/// <c>samples</c> windows of <c>windowMs</c> each, divided by the time they span in seconds. Not thread-safe: the
/// owning <see cref="QuotaSensor"/> holds its lock. No allocation after construction.
/// </summary>
public sealed class SampledRate
{
    private readonly int _samples;
    private readonly long _windowMs;
    private readonly double[] _values;
    private readonly long[] _starts;
    private int _created;
    private int _current;

    public SampledRate(int samples, long windowMs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(samples, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(windowMs, 1);
        _samples = samples;
        _windowMs = windowMs;
        _values = new double[samples];
        _starts = new long[samples];
    }

    public long WindowMs => _windowMs;

    /// <summary>
    /// Kafka's <c>SampledStat.record</c>: a value at or past the end of the current window opens the next sample, whose
    /// start is aligned to a whole number of windows after the previous one (a sample skipped by idleness is reused).
    /// </summary>
    public void Record(double value, long nowMs)
    {
        var i = Current(nowMs);
        if (nowMs - _starts[i] >= _windowMs)
        {
            var previousEnd = _starts[i] + _windowMs;
            i = Advance(nowMs - ((nowMs - previousEnd) % _windowMs));
        }
        _values[i] += value;
    }

    /// <summary>Kafka's <c>Rate.measure</c>: the windowed sum per second of <see cref="WindowSize"/>.</summary>
    public double Measure(long nowMs) => Total(nowMs) / (WindowSize(nowMs) / 1000.0);

    /// <summary>The sum recorded in the live samples (Kafka's <c>WindowedSum</c>).</summary>
    public double Total(long nowMs)
    {
        Purge(nowMs);
        var sum = 0.0;
        for (var i = 0; i < _created; i++)
        {
            sum += _values[i];
        }
        return sum;
    }

    /// <summary>
    /// Kafka's <c>Rate.windowSize</c>: from the oldest live sample's start to now, but never less than
    /// <c>samples - 1</c> whole windows, so a first burst is measured as if the earlier windows were there and empty.
    /// </summary>
    public long WindowSize(long nowMs)
    {
        Purge(nowMs);
        var elapsed = nowMs - Oldest(nowMs);
        var fullWindows = elapsed / _windowMs;
        var minFullWindows = _samples - 1;
        if (fullWindows < minFullWindows)
        {
            elapsed += (minFullWindows - fullWindows) * _windowMs;
        }
        return elapsed;
    }

    private int Current(long nowMs)
    {
        if (_created == 0)
        {
            Reset(0, nowMs);
            _created = 1;
            _current = 0;
        }
        return _current;
    }

    private int Advance(long startMs)
    {
        _current = (_current + 1) % _samples;
        if (_current >= _created)
        {
            _created++;
        }
        Reset(_current, startMs);
        return _current;
    }

    private long Oldest(long nowMs)
    {
        Current(nowMs);
        var oldest = _starts[0];
        for (var i = 1; i < _created; i++)
        {
            oldest = Math.Min(oldest, _starts[i]);
        }
        return oldest;
    }

    /// <summary>Kafka's <c>purgeObsoleteSamples</c>: a sample that started <c>samples</c> windows ago or more restarts empty now.</summary>
    private void Purge(long nowMs)
    {
        var expireAge = _samples * _windowMs;
        for (var i = 0; i < _created; i++)
        {
            if (nowMs - _starts[i] >= expireAge)
            {
                Reset(i, nowMs);
            }
        }
    }

    private void Reset(int i, long startMs)
    {
        _starts[i] = startMs;
        _values[i] = 0;
    }
}

/// <summary>Kafka's <c>QuotaUtils</c>: how long a client must wait for its observed rate to fall back to its quota.</summary>
public static class QuotaUtils
{
    /// <summary>
    /// Kafka's <c>throttleTime</c>: with observed rate O over a window W and quota T, a delay X gives
    /// O * W / (W + X) = T, so X = (O - T) / T * W, rounded to the millisecond.
    /// </summary>
    public static long ThrottleTime(double observed, double quota, long windowSizeMs) =>
        (long)Math.Floor((observed - quota) / quota * windowSizeMs + 0.5); // Java's Math.round

    /// <summary>Kafka's <c>boundedThrottleTime</c>: the same, capped (the request-time quota caps it at one window).</summary>
    public static long BoundedThrottleTime(double observed, double quota, long windowSizeMs, long maxThrottleTimeMs) =>
        Math.Min(ThrottleTime(observed, quota, windowSizeMs), maxThrottleTimeMs);
}
