using System.Collections.Immutable;
using System.Diagnostics.Metrics;
using Samsa.Broker.Lag;
using Samsa.Broker.Metrics;

namespace Samsa.Broker.WebConsole;

/// <summary>One second of this broker's traffic: bytes and records appended as leader, record bytes sent to consumers.</summary>
public readonly record struct ThroughputSample(long TimeMs, double BytesInPerSec, double MessagesInPerSec, double BytesOutPerSec);

/// <summary>One group's total lag when the lag monitor sampled it.</summary>
public readonly record struct LagPoint(long TimeMs, long TotalLag);

/// <summary>
/// The console's charts: this broker's throughput once a <see cref="Period"/> (from <see cref="BrokerMetrics"/>'
/// BytesIn, MessagesIn and BytesOut counters, read with a <see cref="MeterListener"/> on this node's meter) and each
/// group's total lag at every new lag monitor sample, both kept for the last hour in memory. One timer thread
/// writes; readers take the immutable snapshots.
/// </summary>
/// <remarks>
/// The listener adds one callback and one interlocked add per appended batch or fetched partition, where the
/// counters would otherwise be disabled; nothing per record.
/// </remarks>
public sealed class ConsoleSampler : IAsyncDisposable
{
    /// <summary>How far back the charts reach.</summary>
    public static readonly TimeSpan History = TimeSpan.FromHours(1);

    /// <summary>At most this many groups keep a lag history (the console is for looking, not for a fleet's archive).</summary>
    public const int MaxGroups = 1000;

    private readonly TimeProvider _time;
    private readonly Func<IReadOnlyDictionary<string, GroupLag>?> _lag;
    private readonly MeterListener _listener = new();
    private readonly Total _bytesIn = new();
    private readonly Total _messagesIn = new();
    private readonly Total _bytesOut = new();
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private (long TimeMs, long BytesIn, long MessagesIn, long BytesOut)? _last;
    private IReadOnlyDictionary<string, GroupLag>? _lastLag;
    private ImmutableQueue<ThroughputSample> _throughput = [];
    private int _throughputCount;
    private ImmutableDictionary<string, ImmutableQueue<LagPoint>> _lagHistory = ImmutableDictionary<string, ImmutableQueue<LagPoint>>.Empty.WithComparers(StringComparer.Ordinal);

    public ConsoleSampler(BrokerMetrics metrics, Func<IReadOnlyDictionary<string, GroupLag>?> lag, TimeProvider time, TimeSpan period)
    {
        _time = time;
        _lag = lag;
        Period = period;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (!ReferenceEquals(instrument.Meter, metrics.Meter))
            {
                return;
            }
            var total = instrument.Name switch
            {
                "kafka.server.brokertopicmetrics.bytesin" => _bytesIn,
                "kafka.server.brokertopicmetrics.messagesin" => _messagesIn,
                "kafka.server.brokertopicmetrics.bytesout" => _bytesOut,
                _ => null,
            };
            if (total is not null)
            {
                listener.EnableMeasurementEvents(instrument, total);
            }
        };
        _listener.SetMeasurementEventCallback<long>(static (_, value, _, state) => ((Total)state!).Add(value));
        _listener.Start();
    }

    /// <summary>Time between throughput samples.</summary>
    public TimeSpan Period { get; }

    /// <summary>Throughput over the last hour, oldest first.</summary>
    public ImmutableQueue<ThroughputSample> Throughput => Volatile.Read(ref _throughput);

    /// <summary>A group's total lag over the last hour, oldest first; empty when never sampled.</summary>
    public ImmutableQueue<LagPoint> LagHistory(string groupId) =>
        Volatile.Read(ref _lagHistory).TryGetValue(groupId, out var points) ? points : [];

    /// <summary>Bytes appended to this broker's leaders since the console started (for tests and the overview).</summary>
    public long BytesInTotal => _bytesIn.Value;

    public void Start() => _loop = RunAsync(_stop.Token);

    /// <summary>One sample: throughput since the previous one, and the groups' lag when the monitor has a new sample.</summary>
    public void Sample()
    {
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var current = (nowMs, _bytesIn.Value, _messagesIn.Value, _bytesOut.Value);
        if (_last is { } last && nowMs > last.TimeMs)
        {
            var seconds = (nowMs - last.TimeMs) / 1000.0;
            var sample = new ThroughputSample(nowMs, (current.Item2 - last.BytesIn) / seconds, (current.Item3 - last.MessagesIn) / seconds,
                (current.Item4 - last.BytesOut) / seconds);
            var queue = _throughput.Enqueue(sample);
            var count = _throughputCount + 1;
            while (count > 1 && queue.Peek().TimeMs < nowMs - (long)History.TotalMilliseconds)
            {
                queue = queue.Dequeue();
                count--;
            }
            _throughputCount = count;
            Volatile.Write(ref _throughput, queue);
        }
        _last = current;

        if (_lag() is { } lag && !ReferenceEquals(lag, _lastLag))
        {
            _lastLag = lag;
            var cutoff = nowMs - (long)History.TotalMilliseconds;
            var history = _lagHistory.ToBuilder();
            foreach (var (groupId, groupLag) in lag)
            {
                if (!history.TryGetValue(groupId, out var points))
                {
                    if (history.Count >= MaxGroups)
                    {
                        continue;
                    }
                    points = [];
                }
                points = points.Enqueue(new LagPoint(nowMs, groupLag.TotalLag));
                while (points.Peek().TimeMs < cutoff)
                {
                    points = points.Dequeue();
                }
                history[groupId] = points;
            }
            // Groups no longer sampled keep their history until it ages out.
            foreach (var (groupId, points) in _lagHistory.Where(g => !lag.ContainsKey(g.Key)))
            {
                var kept = points;
                while (!kept.IsEmpty && kept.Peek().TimeMs < cutoff)
                {
                    kept = kept.Dequeue();
                }
                if (kept.IsEmpty)
                {
                    history.Remove(groupId);
                }
                else
                {
                    history[groupId] = kept;
                }
            }
            Volatile.Write(ref _lagHistory, history.ToImmutable());
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        Sample();
        using var timer = new PeriodicTimer(Period, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                Sample();
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }
        _listener.Dispose();
        _stop.Dispose();
    }

    private sealed class Total
    {
        private long _value;

        public long Value => Interlocked.Read(ref _value);

        public void Add(long value) => Interlocked.Add(ref _value, value);
    }
}
