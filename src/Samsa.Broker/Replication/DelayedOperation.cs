namespace Samsa.Broker.Replication;

/// <summary>
/// An operation that waits for a condition (enough bytes to fetch, the high watermark passing a produce's
/// last offset) or for its deadline, whichever comes first, as Kafka's <c>DelayedOperation</c>.
/// </summary>
/// <remarks>
/// <see cref="TryComplete"/> checks the condition and calls <see cref="ForceComplete"/> when it holds; it may run on
/// any thread, concurrently with itself, so the condition check must be thread-safe. <see cref="ForceComplete"/>
/// lets exactly one caller (condition, expiry or shutdown) run <see cref="OnComplete"/>.
/// </remarks>
public abstract class DelayedOperation
{
    private int _completed;

    protected DelayedOperation(TimeSpan delay) => Delay = delay;

    /// <summary>How long the operation may wait before it expires.</summary>
    public TimeSpan Delay { get; }

    /// <summary>The time at which it expires, set when it is watched.</summary>
    internal long DeadlineTimestamp { get; set; }

    public bool IsCompleted => Volatile.Read(ref _completed) != 0;

    /// <summary>Checks the condition; when it holds, completes the operation and returns true.</summary>
    public abstract bool TryComplete();

    /// <summary>Completes the operation once; returns false if someone else already did.</summary>
    public bool ForceComplete()
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return false;
        }
        OnComplete();
        return true;
    }

    /// <summary>Runs once, on whichever thread completed the operation. Must not block.</summary>
    protected abstract void OnComplete();

    /// <summary>Called before <see cref="OnComplete"/> when the deadline, not the condition, completed it.</summary>
    protected virtual void OnExpiration()
    {
    }

    internal void Expire()
    {
        if (!IsCompleted)
        {
            OnExpiration();
            ForceComplete();
        }
    }
}
