using System.Collections.Concurrent;

namespace Samsa.Broker.Replication;

/// <summary>
/// Holds delayed operations until their condition holds or they expire (Kafka's
/// <c>DelayedOperationPurgatory</c>). Operations are watched under keys (a partition); whoever changes what
/// a key stands for (an append, a high-watermark move) calls <see cref="CheckAndComplete"/> for it, so a
/// waiting operation is completed by the event that satisfies it, never by polling.
/// </summary>
/// <remarks>
/// Expiry uses one shared timer for the whole purgatory (not one per operation): a min-heap of deadlines and a
/// single <see cref="ITimer"/> re-armed to the earliest one. Time comes from <see cref="TimeProvider"/>, so tests
/// drive it with a fake clock.
/// </remarks>
public sealed class DelayedOperationPurgatory<TKey, TOperation> : IDisposable
    where TKey : notnull
    where TOperation : DelayedOperation
{
    private readonly ConcurrentDictionary<TKey, Watchers> _watchers = new();
    private readonly PriorityQueue<TOperation, long> _deadlines = new();
    private readonly Lock _timerLock = new();
    private readonly TimeProvider _time;
    private readonly ITimer _timer;
    private long _armedFor = long.MaxValue;
    private bool _disposed;

    public DelayedOperationPurgatory(string name, TimeProvider time)
    {
        Name = name;
        _time = time;
        _timer = time.CreateTimer(_ => ExpireDue(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public string Name { get; }

    /// <summary>Operations waiting on their deadline (completed ones leave at their deadline or at the next purge).</summary>
    public int Pending
    {
        get
        {
            lock (_timerLock)
            {
                return _deadlines.Count;
            }
        }
    }

    /// <summary>
    /// Completes the operation now if it can; otherwise watches it under every key and arms its deadline.
    /// Returns true when it completed immediately.
    /// </summary>
    public bool TryCompleteElseWatch(TOperation operation, IReadOnlyList<TKey> keys)
    {
        if (operation.TryComplete())
        {
            return true;
        }
        foreach (var key in keys)
        {
            if (operation.IsCompleted)
            {
                return true;
            }
            // A watch list emptied and unpublished concurrently refuses the add; take the fresh one.
            while (!_watchers.GetOrAdd(key, static _ => new Watchers()).TryAdd(operation))
            {
            }
        }
        // An event may have fired between the first check and the watch: check once more.
        if (operation.TryComplete())
        {
            return true;
        }
        Schedule(operation);
        return false;
    }

    /// <summary>Tries to complete every operation watched under <paramref name="key"/>; returns how many completed.</summary>
    public int CheckAndComplete(TKey key)
    {
        if (!_watchers.TryGetValue(key, out var watchers))
        {
            return 0;
        }
        var completed = watchers.TryCompleteWatched();
        RemoveIfEmpty(key, watchers);
        return completed;
    }

    /// <summary>Number of live operations watched under a key.</summary>
    public int Watched(TKey key) => _watchers.TryGetValue(key, out var w) ? w.Count : 0;

    private void Schedule(TOperation operation)
    {
        var deadline = _time.GetTimestamp() + (long)(operation.Delay.TotalSeconds * _time.TimestampFrequency);
        operation.DeadlineTimestamp = deadline;
        lock (_timerLock)
        {
            if (_disposed)
            {
                return;
            }
            _deadlines.Enqueue(operation, deadline);
            if (deadline < _armedFor)
            {
                Arm(deadline);
            }
        }
    }

    private void Arm(long deadline)
    {
        _armedFor = deadline;
        var wait = TimeSpan.FromSeconds(Math.Max(0, deadline - _time.GetTimestamp()) / (double)_time.TimestampFrequency);
        _timer.Change(wait, Timeout.InfiniteTimeSpan);
    }

    private void ExpireDue()
    {
        var due = new List<TOperation>();
        lock (_timerLock)
        {
            var now = _time.GetTimestamp();
            while (_deadlines.TryPeek(out var operation, out var deadline) && (deadline <= now || operation.IsCompleted))
            {
                _deadlines.Dequeue();
                if (!operation.IsCompleted)
                {
                    due.Add(operation);
                }
            }
            _armedFor = long.MaxValue;
            if (!_disposed && _deadlines.TryPeek(out _, out var next))
            {
                Arm(next);
            }
        }
        foreach (var operation in due)
        {
            operation.Expire();
        }
        PurgeCompletedWatchers();
    }

    /// <summary>Drops completed operations from watch lists of keys that saw no event since they completed.</summary>
    private void PurgeCompletedWatchers()
    {
        foreach (var (key, watchers) in _watchers)
        {
            watchers.PurgeCompleted();
            RemoveIfEmpty(key, watchers);
        }
    }

    private void RemoveIfEmpty(TKey key, Watchers watchers)
    {
        if (watchers.TryRetire())
        {
            _watchers.TryRemove(new KeyValuePair<TKey, Watchers>(key, watchers));
        }
    }

    /// <summary>Completes every waiting operation (shutdown), as if each had expired.</summary>
    public void Dispose()
    {
        List<TOperation> pending;
        lock (_timerLock)
        {
            _disposed = true;
            pending = [.. _deadlines.UnorderedItems.Select(i => i.Element)];
            _deadlines.Clear();
        }
        _timer.Dispose();
        foreach (var operation in pending)
        {
            operation.Expire();
        }
        _watchers.Clear();
    }

    /// <summary>The operations watched under one key.</summary>
    private sealed class Watchers
    {
        private readonly List<TOperation> _operations = [];

        public int Count
        {
            get
            {
                lock (_operations)
                {
                    return _operations.Count;
                }
            }
        }

        private bool _retired;

        /// <summary>Adds unless this list was retired (emptied and about to leave the map).</summary>
        public bool TryAdd(TOperation operation)
        {
            lock (_operations)
            {
                if (_retired)
                {
                    return false;
                }
                _operations.Add(operation);
                return true;
            }
        }

        /// <summary>Marks an empty list retired so no operation is added to a list that leaves the map.</summary>
        public bool TryRetire()
        {
            lock (_operations)
            {
                _operations.RemoveAll(o => o.IsCompleted);
                _retired |= _operations.Count == 0;
                return _retired;
            }
        }

        public int TryCompleteWatched()
        {
            TOperation[] snapshot;
            lock (_operations)
            {
                snapshot = [.. _operations];
            }
            var completed = 0;
            foreach (var operation in snapshot)
            {
                if (!operation.IsCompleted && operation.TryComplete())
                {
                    completed++;
                }
            }
            PurgeCompleted();
            return completed;
        }

        public int PurgeCompleted()
        {
            lock (_operations)
            {
                _operations.RemoveAll(o => o.IsCompleted);
                return _operations.Count;
            }
        }
    }
}
