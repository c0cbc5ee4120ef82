namespace Samsa.Storage;

/// <summary>
/// Keeps a byte stream under a rate (Kafka's <c>Throttler</c>, used for log.cleaner.io.max.bytes.per.second):
/// after each check period, if more bytes went through than the rate allows, it sleeps the difference.
/// Sleeps through the injected clock so tests can observe throttling without waiting.
/// </summary>
internal sealed class Throttler(double bytesPerSecond, TimeProvider time, long checkIntervalMs = 300)
{
    /// <summary>How to sleep; tests swap in one that advances a fake clock so throttling is deterministic.</summary>
    public Action<TimeSpan> Sleep { get; set; } = span => Task.Delay(span, time).Wait();

    private long _periodStartMs = time.GetUtcNow().ToUnixTimeMilliseconds();
    private double _observed;

    /// <summary>Total milliseconds slept, for tests and metrics.</summary>
    public long SleptMs { get; private set; }

    public void MaybeThrottle(long bytes)
    {
        if (bytesPerSecond >= double.MaxValue || bytesPerSecond <= 0)
        {
            return;
        }
        _observed += bytes;
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var elapsed = now - _periodStartMs;
        if (elapsed < checkIntervalMs && _observed < bytesPerSecond * checkIntervalMs / 1000)
        {
            return;
        }
        var desiredMs = (long)(_observed / bytesPerSecond * 1000);
        var sleep = desiredMs - elapsed;
        if (sleep > 0)
        {
            Sleep(TimeSpan.FromMilliseconds(sleep));
            SleptMs += sleep;
        }
        _periodStartMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        _observed = 0;
    }
}
