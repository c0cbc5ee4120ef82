using Samsa.Storage;

namespace Samsa.Broker.Network;

/// <summary>
/// An acceptor's failed accepts: the pause before the next try (10 ms, doubling to 500 ms, back to 10 ms after an
/// accept succeeds) and whether to report this failure, at most once a second, with the count of those not reported.
/// </summary>
public sealed class AcceptFailures(TimeProvider time)
{
    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromMilliseconds(500);

    private readonly RateLimitedLog _log = new(time, TimeSpan.FromSeconds(1));
    private TimeSpan _delay = FirstDelay;

    public TimeSpan Failed(out bool report, out long suppressed)
    {
        report = _log.ShouldLog(out suppressed);
        var delay = _delay;
        _delay = TimeSpan.FromTicks(Math.Min(_delay.Ticks * 2, MaxDelay.Ticks));
        return delay;
    }

    public void Succeeded() => _delay = FirstDelay;
}
