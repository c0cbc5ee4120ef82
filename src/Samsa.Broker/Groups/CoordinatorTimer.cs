namespace Samsa.Broker.Groups;

/// <summary>
/// Keyed timeouts for one coordinator shard (Kafka's <c>CoordinatorTimer</c>): session expiry per member
/// ("heartbeat-group-member"), the join phase and the sync phase per group. Scheduling a key again replaces the
/// earlier timeout and cancelling forgets it, which is what heartbeats do thousands of times a second.
/// </summary>
/// <remarks>
/// Why not <c>DelayedOperationPurgatory</c>: the purgatory completes operations when a watched key changes and
/// has no way to push a deadline back or cancel; a heartbeat is exactly "push my deadline back". One shared
/// <see cref="ITimer"/> armed to the earliest deadline over a min-heap does the job; replaced entries stay in the
/// heap until their old deadline and are skipped then. Callbacks run on the thread pool, never under the
/// timer's lock, and take the shard's lock themselves. Time comes from <see cref="TimeProvider"/>.
/// </remarks>
public sealed class CoordinatorTimer : IDisposable
{
    private readonly Dictionary<string, Entry> _byKey = new(StringComparer.Ordinal);
    private readonly PriorityQueue<Entry, long> _deadlines = new();
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly ITimer _timer;
    private long _armedFor = long.MaxValue;
    private bool _disposed;

    public CoordinatorTimer(TimeProvider time)
    {
        _time = time;
        _timer = time.CreateTimer(_ => FireDue(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Number of live (not replaced, not cancelled) timeouts.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _byKey.Count;
            }
        }
    }

    public bool IsScheduled(string key)
    {
        lock (_lock)
        {
            return _byKey.ContainsKey(key);
        }
    }

    /// <summary>Runs <paramref name="action"/> after <paramref name="delay"/> unless the key is scheduled again or cancelled first.</summary>
    public void Schedule(string key, TimeSpan delay, Action action)
    {
        var deadline = NowMs() + (long)Math.Max(0, delay.TotalMilliseconds);
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            var entry = new Entry(key, deadline, action);
            _byKey[key] = entry;
            _deadlines.Enqueue(entry, deadline);
            if (deadline < _armedFor)
            {
                Arm(deadline);
            }
        }
    }

    public void Cancel(string key)
    {
        lock (_lock)
        {
            _byKey.Remove(key);
        }
    }

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private void Arm(long deadline)
    {
        _armedFor = deadline;
        _timer.Change(TimeSpan.FromMilliseconds(Math.Max(0, deadline - NowMs())), Timeout.InfiniteTimeSpan);
    }

    private void FireDue()
    {
        var due = new List<Entry>();
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            var now = NowMs();
            while (_deadlines.TryPeek(out var entry, out var deadline) && deadline <= now)
            {
                _deadlines.Dequeue();
                if (_byKey.TryGetValue(entry.Key, out var current) && ReferenceEquals(current, entry))
                {
                    _byKey.Remove(entry.Key);
                    due.Add(entry);
                }
            }
            _armedFor = long.MaxValue;
            if (_deadlines.TryPeek(out _, out var next))
            {
                Arm(next);
            }
        }
        foreach (var entry in due)
        {
            entry.Action();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _byKey.Clear();
            _deadlines.Clear();
        }
        _timer.Dispose();
    }

    private sealed record Entry(string Key, long Deadline, Action Action);
}
