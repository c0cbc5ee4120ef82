using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Samsa.Broker.Groups;
using Samsa.Broker.Replication;

namespace Samsa.Broker.Lag;

/// <summary>One group's partition as the monitor last saw it: committed and log-end offsets, lag and Burrow's status.</summary>
public sealed record PartitionLag(string Topic, int Partition, long CommittedOffset, long LogEndOffset, long Lag, LagStatus Status, double Complete)
{
    /// <summary>
    /// kafka-lag-exporter's time lag: how old the record at the committed offset (the next one the group reads) was
    /// at the sample, from its timestamp in the log (CreateTime as the producer set it, or LogAppendTime); 0 when the
    /// group is caught up, when that record's timestamp is in the future, or when the record is no longer readable.
    /// </summary>
    public double LagSeconds { get; init; }
}

/// <summary>One group's lag: its partitions, its total and largest lag, and its Burrow status.</summary>
public sealed record GroupLag(string GroupId, LagStatus Status, long TotalLag, ImmutableArray<PartitionLag> Partitions)
{
    /// <summary>The largest <see cref="PartitionLag.LagSeconds"/> of the group's partitions (kafka-lag-exporter's max_lag_seconds).</summary>
    public double MaxLagSeconds { get; init; }
}

/// <summary>
/// Samples every committed offset this broker coordinates and each partition's high watermark (the offset a
/// read_uncommitted consumer reads up to, as kafka-consumer-groups.sh computes lag) on a period, keeps each
/// partition's recent commits in a <see cref="LagWindow"/> and rates groups by Burrow's rules. Partitions led
/// elsewhere are left out (their log end is not known here). Samples run on the timer, one at a time; readers take
/// the immutable <see cref="Current"/>.
/// <para>Lag in seconds reads the timestamp of the record at each lagging committed offset from the partition's log
/// (offset index, then that one batch: <see cref="Samsa.Storage.PartitionLog.TimestampOfOffset"/>). That is file I/O,
/// so it happens here on the monitor's timer, never on a request path; the timestamp is kept per partition and read
/// again only when the committed offset moves, so a stopped group costs no reads.</para>
/// </summary>
/// <param name="alertThreshold">A group whose total lag exceeds this many records is in alert (logged on entering and
/// leaving it); 0 for none.</param>
public sealed class ConsumerLagMonitor(GroupCoordinator coordinator, ReplicaManager replicas, TimeProvider time, ILogger logger,
    int intervals = 10, long minDistanceMs = 1000, long alertThreshold = 0) : IAsyncDisposable
{
    private readonly Dictionary<(string Group, string Topic, int Partition), LagWindow> _windows = [];
    private readonly Dictionary<(string Group, string Topic, int Partition), (long Offset, long Timestamp)> _timestamps = [];
    private ImmutableHashSet<string> _alerting = ImmutableHashSet<string>.Empty;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    /// <summary>The groups' lag at the last sample, by group id.</summary>
    public ImmutableSortedDictionary<string, GroupLag> Current { get; private set; } = ImmutableSortedDictionary<string, GroupLag>.Empty.WithComparers(StringComparer.Ordinal);

    /// <summary>Groups whose total lag exceeded the alert threshold at the last sample.</summary>
    public ImmutableHashSet<string> Alerting => Volatile.Read(ref _alerting);

    /// <summary>Samples every <paramref name="period"/> until disposed.</summary>
    public void Start(TimeSpan period) => _loop = RunAsync(period, _stop.Token);

    /// <summary>One sample: reads the offsets, updates the windows, and publishes <see cref="Current"/>.</summary>
    public async Task SampleAsync(CancellationToken cancellationToken)
    {
        var offsets = await coordinator.CommittedOffsetsAsync(cancellationToken);
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var seen = new HashSet<(string, string, int)>();
        var byGroup = new SortedDictionary<string, List<PartitionLag>>(StringComparer.Ordinal);
        foreach (var committed in offsets)
        {
            if (replicas.GetPartition(committed.Topic, committed.Partition).Partition is not { HighWatermark: >= 0 } partition)
            {
                continue;
            }
            var key = (committed.GroupId, committed.Topic, committed.Partition);
            seen.Add(key);
            var logEnd = partition.HighWatermark;
            var lag = Math.Max(0, logEnd - committed.Offset);
            if (!_windows.TryGetValue(key, out var window))
            {
                _windows[key] = window = new LagWindow(intervals, minDistanceMs);
            }
            window.Add(new LagSample(committed.Offset, committed.CommitTimestampMs, lag));
            var status = ConsumerLagEvaluator.EvaluatePartition(window, lag, nowMs);
            if (!byGroup.TryGetValue(committed.GroupId, out var partitions))
            {
                byGroup[committed.GroupId] = partitions = [];
            }
            var lagSeconds = lag > 0 ? LagSeconds(key, partition.Log, committed.Offset, nowMs) : 0;
            partitions.Add(new PartitionLag(committed.Topic, committed.Partition, committed.Offset, logEnd, lag, status, window.Complete) { LagSeconds = lagSeconds });
        }
        foreach (var gone in _windows.Keys.Where(k => !seen.Contains(k)).ToList())
        {
            _windows.Remove(gone);
        }
        foreach (var gone in _timestamps.Keys.Where(k => !seen.Contains(k)).ToList())
        {
            _timestamps.Remove(gone);
        }
        var builder = ImmutableSortedDictionary.CreateBuilder<string, GroupLag>(StringComparer.Ordinal);
        foreach (var (groupId, partitions) in byGroup)
        {
            partitions.Sort((a, b) => a.Topic != b.Topic ? string.CompareOrdinal(a.Topic, b.Topic) : a.Partition.CompareTo(b.Partition));
            var status = ConsumerLagEvaluator.EvaluateGroup(partitions.Select(p => p.Status));
            builder[groupId] = new GroupLag(groupId, status, partitions.Sum(p => p.Lag), [.. partitions]) { MaxLagSeconds = partitions.Max(p => p.LagSeconds) };
        }
        Current = builder.ToImmutable();
        if (alertThreshold > 0)
        {
            var alerting = Current.Values.Where(g => g.TotalLag > alertThreshold).Select(g => g.GroupId).ToImmutableHashSet(StringComparer.Ordinal);
            foreach (var group in alerting.Except(_alerting))
            {
                LagLog.AlertRaised(logger, group, Current[group].TotalLag, alertThreshold);
            }
            foreach (var group in _alerting.Except(alerting))
            {
                LagLog.AlertCleared(logger, group, Current.TryGetValue(group, out var lag) ? lag.TotalLag : 0, alertThreshold);
            }
            Volatile.Write(ref _alerting, alerting);
        }
    }

    /// <summary>Seconds from the timestamp of the record at <paramref name="offset"/> to <paramref name="nowMs"/>, at least 0.</summary>
    private double LagSeconds((string, string, int) key, Samsa.Storage.PartitionLog? log, long offset, long nowMs)
    {
        if (!_timestamps.TryGetValue(key, out var known) || known.Offset != offset)
        {
            if (log?.TimestampOfOffset(offset) is not { } timestamp || timestamp < 0)
            {
                // Below the log start (retention passed the group) or a record without a timestamp: no age to give.
                _timestamps.Remove(key);
                return 0;
            }
            _timestamps[key] = known = (offset, timestamp);
        }
        return Math.Max(0, nowMs - known.Timestamp) / 1000.0;
    }

    private async Task RunAsync(TimeSpan period, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(period, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                try
                {
                    await SampleAsync(cancellationToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LagLog.SampleFailed(logger, e);
                }
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
        _stop.Dispose();
    }
}

/// <summary>Lag monitor log lines; event ids 1100-1109 are stable.</summary>
internal static partial class LagLog
{
    [LoggerMessage(EventId = 1100, Level = LogLevel.Warning, Message = "Consumer lag sample failed")]
    public static partial void SampleFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Consumer group {Group} lags {Lag} records, over the alert threshold of {Threshold}")]
    public static partial void AlertRaised(ILogger logger, string group, long lag, long threshold);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information, Message = "Consumer group {Group} lags {Lag} records, back within the alert threshold of {Threshold}")]
    public static partial void AlertCleared(ILogger logger, string group, long lag, long threshold);
}
