namespace Samsa.Broker.Lag;

/// <summary>Burrow's statuses: a partition's is one of all but ERR; a group's is OK, WARN, ERR or NOTFOUND.</summary>
public enum LagStatus
{
    NotFound,
    Ok,
    Warn,
    Err,
    Stop,
    Stall,
    Rewind,
}

/// <summary>One stored commit of a partition: the committed offset, when it was committed, and the lag then.</summary>
public readonly record struct LagSample(long Offset, long TimestampMs, long Lag);

/// <summary>
/// The last commits of one group's partition, kept as Burrow's storage keeps them: at most <c>intervals</c> of them,
/// a commit less than <c>minDistanceMs</c> after the one before the newest replacing the newest rather than adding one;
/// so a consumer that commits after every poll still spans a window of about <c>intervals</c> x <c>minDistanceMs</c>. Not thread-safe: the monitor owns it.
/// </summary>
public sealed class LagWindow(int intervals, long minDistanceMs)
{
    private readonly LagSample[] _samples = new LagSample[Math.Max(2, intervals)];
    private int _start;

    public int Count { get; private set; }

    /// <summary>How full the window is, 0 to 1 (Burrow's <c>complete</c>).</summary>
    public double Complete => (double)Count / _samples.Length;

    public LagSample this[int i] => _samples[(_start + i) % _samples.Length];

    public LagSample Last => this[Count - 1];

    /// <summary>Adds a commit; the same commit seen again (same offset and time) is ignored.</summary>
    public void Add(LagSample sample)
    {
        if (Count > 0)
        {
            var last = Last;
            if (last.Offset == sample.Offset && last.TimestampMs == sample.TimestampMs)
            {
                return;
            }
            if (Count >= 2 && sample.TimestampMs - this[Count - 2].TimestampMs < minDistanceMs)
            {
                _samples[(_start + Count - 1) % _samples.Length] = sample;
                return;
            }
        }
        if (Count == _samples.Length)
        {
            _start = (_start + 1) % _samples.Length;
            Count--;
        }
        _samples[(_start + Count) % _samples.Length] = sample;
        Count++;
    }
}

/// <summary>
/// Burrow's evaluation rules over a partition's window of commits (its caching evaluator), so Samsa rates consumer
/// groups the way operators' Burrow does, without Burrow:
/// no commits: NOTFOUND; caught up now (lag 0): OK; an offset that went backwards: REWIND; no commit for longer than the
/// window spans while behind: STOP; the same offset throughout while the lag never fell: STALL; offsets moving but the
/// lag never falling: WARN; else OK. A group is ERR when a partition is STOP, STALL or REWIND, WARN when one is, else OK.
/// </summary>
public static class ConsumerLagEvaluator
{
    public static LagStatus EvaluatePartition(LagWindow window, long currentLag, long nowMs)
    {
        if (window.Count == 0)
        {
            return LagStatus.NotFound;
        }
        if (currentLag == 0)
        {
            return LagStatus.Ok;
        }
        for (var i = 1; i < window.Count; i++)
        {
            if (window[i].Offset < window[i - 1].Offset)
            {
                return LagStatus.Rewind;
            }
        }
        var first = window[0];
        var last = window.Last;
        if (nowMs - last.TimestampMs > last.TimestampMs - first.TimestampMs)
        {
            return LagStatus.Stop;
        }
        // The rest need a full window to judge a trend, and any commit at zero lag clears it.
        if (window.Complete < 1)
        {
            return LagStatus.Ok;
        }
        var lagNeverFell = true;
        var anyZeroLag = first.Lag == 0;
        for (var i = 1; i < window.Count; i++)
        {
            anyZeroLag |= window[i].Lag == 0;
            lagNeverFell &= window[i].Lag >= window[i - 1].Lag;
        }
        if (anyZeroLag || !lagNeverFell)
        {
            return LagStatus.Ok;
        }
        return first.Offset == last.Offset ? LagStatus.Stall : LagStatus.Warn;
    }

    /// <summary>Burrow's group status from its partitions' statuses.</summary>
    public static LagStatus EvaluateGroup(IEnumerable<LagStatus> partitions)
    {
        var status = LagStatus.NotFound;
        foreach (var partition in partitions)
        {
            var mapped = partition switch
            {
                LagStatus.Stop or LagStatus.Stall or LagStatus.Rewind or LagStatus.Err => LagStatus.Err,
                LagStatus.Warn => LagStatus.Warn,
                LagStatus.Ok => LagStatus.Ok,
                _ => LagStatus.NotFound,
            };
            if (Rank(mapped) > Rank(status))
            {
                status = mapped;
            }
        }
        return status;

        static int Rank(LagStatus s) => s switch
        {
            LagStatus.Err => 3,
            LagStatus.Warn => 2,
            LagStatus.Ok => 1,
            _ => 0,
        };
    }
}
