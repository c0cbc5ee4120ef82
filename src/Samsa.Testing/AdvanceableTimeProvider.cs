using System.Collections.Concurrent;

namespace Samsa.Testing;

/// <summary>
/// The system clock plus an offset that only grows. Unlike a fake clock that stands still, it keeps running, so a
/// real client's waits (fetch max wait, group joins) end as they would; <see cref="Advance"/> jumps it forward and
/// fires at once every timer whose due time the jump passed (retention checks, session expiry, delayed operations).
/// </summary>
public sealed class AdvanceableTimeProvider : TimeProvider
{
    private readonly ConcurrentDictionary<ShiftedTimer, byte> _timers = new();
    private long _offsetTicks;

    /// <summary>How far the clock has been moved past the system's.</summary>
    public TimeSpan Offset => TimeSpan.FromTicks(Volatile.Read(ref _offsetTicks));

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset;

    public override long TimestampFrequency => System.TimestampFrequency;

    public override long GetTimestamp() => System.GetTimestamp() + (long)(Offset.TotalSeconds * System.TimestampFrequency);

    /// <summary>Moves the clock forward by <paramref name="by"/> and fires every timer that became due.</summary>
    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        Interlocked.Add(ref _offsetTicks, by.Ticks);
        foreach (var timer in _timers.Keys)
        {
            timer.Reschedule();
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ShiftedTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>A system timer that remembers its due time on this clock, so a jump can bring it forward.</summary>
    private sealed class ShiftedTimer : ITimer
    {
        private readonly AdvanceableTimeProvider _clock;
        private readonly TimerCallback _callback;
        private readonly object? _state;
        private readonly ITimer _inner;
        private readonly Lock _gate = new();
        private long _dueAt = long.MaxValue;
        private TimeSpan _period = Timeout.InfiniteTimeSpan;
        private bool _disposed;

        public ShiftedTimer(AdvanceableTimeProvider clock, TimerCallback callback, object? state)
        {
            _clock = clock;
            _callback = callback;
            _state = state;
            _inner = System.CreateTimer(static s => ((ShiftedTimer)s!).Fire(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (_gate)
            {
                if (_disposed)
                {
                    return false;
                }
                _period = period;
                _dueAt = dueTime == Timeout.InfiniteTimeSpan ? long.MaxValue : _clock.GetTimestamp() + (long)(dueTime.TotalSeconds * _clock.TimestampFrequency);
                if (_dueAt == long.MaxValue)
                {
                    _clock._timers.TryRemove(this, out _);
                }
                else
                {
                    _clock._timers.TryAdd(this, 0);
                }
                return _inner.Change(dueTime, Timeout.InfiniteTimeSpan);
            }
        }

        /// <summary>After a jump: the system timer is set to what is left of the due time on the moved clock.</summary>
        public void Reschedule()
        {
            lock (_gate)
            {
                if (_disposed || _dueAt == long.MaxValue)
                {
                    return;
                }
                var left = _clock.GetElapsedTime(_clock.GetTimestamp(), _dueAt);
                _inner.Change(left < TimeSpan.Zero ? TimeSpan.Zero : left, Timeout.InfiniteTimeSpan);
            }
        }

        private void Fire()
        {
            lock (_gate)
            {
                if (_disposed)
                {
                    return;
                }
                if (_period == Timeout.InfiniteTimeSpan || _period == TimeSpan.Zero)
                {
                    _dueAt = long.MaxValue;
                    _clock._timers.TryRemove(this, out _);
                }
                else
                {
                    // Periods are kept here rather than by the system timer, so each one starts from the moved clock.
                    _dueAt = _clock.GetTimestamp() + (long)(_period.TotalSeconds * _clock.TimestampFrequency);
                    _inner.Change(_period, Timeout.InfiniteTimeSpan);
                }
            }
            _callback(_state);
        }

        public void Dispose()
        {
            lock (_gate)
            {
                _disposed = true;
                _clock._timers.TryRemove(this, out _);
            }
            _inner.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
