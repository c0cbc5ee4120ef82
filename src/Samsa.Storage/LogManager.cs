using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Protocol;
using Samsa.Storage.Checkpoints;

namespace Samsa.Storage;

/// <summary>What a start-up load found: logs opened, stray logs set aside, logs that could not be opened.</summary>
public readonly record struct LogLoadSummary(int Loaded, int Stray, int Failed, bool AllClean);

/// <summary>A partition directory found at start-up, with what its log dir's checkpoints hold for it.</summary>
public sealed record LogDirEntry(string LogDir, TopicPartition TopicPartition, bool HadCleanShutdown, long? RecoveryPoint, long? LogStartOffset, long? HighWatermark);

public enum LogLoadOutcome
{
    Loaded,
    Stray,
    Failed,
    Skipped,
}

/// <summary>
/// Owns every partition log of the broker's log dirs (Kafka's <c>LogManager</c>): loads them at startup
/// (recovering only after an unclean shutdown, and only past each log's recovery point), creates and deletes them,
/// runs retention, flush, checkpoint and cleaner schedules, and on close writes the checkpoints and the
/// clean-shutdown marker.
/// </summary>
/// <remarks>
/// Per log dir it keeps Kafka's files: <c>recovery-point-offset-checkpoint</c>, <c>log-start-offset-checkpoint</c>,
/// <c>replication-offset-checkpoint</c> (high watermarks), <c>cleaner-offset-checkpoint</c> (written by the
/// cleaner) and <c>.kafka_cleanshutdown</c>. <c>meta.properties</c> belongs to the broker.
/// <para>
/// Faults stay with the partition they hit: a log that cannot be opened is logged in one line, kept on disk and
/// listed in <see cref="OfflineLogs"/>; its checkpointed offsets are carried into every later checkpoint so a
/// DeleteRecords or recovery point is never forgotten while it is offline; <see cref="GetOrCreateLog"/> tries it
/// again. Data is never deleted because metadata went missing: a directory the metadata does not host here (or
/// hosts under another topic id) is renamed <c>-stray</c> and kept, as Kafka 3.7+ does.
/// </para>
/// </remarks>
public sealed class LogManager : IDisposable
{
    public const string CleanShutdownFile = ".kafka_cleanshutdown";
    public const string DeleteDirSuffix = "-delete";
    public const string StrayDirSuffix = "-stray";
    public const string FutureDirSuffix = "-future";

    /// <summary>The metadata log's directory lives in a log dir too, but belongs to the metadata log, not to this manager.</summary>
    public const string MetadataTopicName = "__cluster_metadata";

    private readonly ConcurrentDictionary<TopicPartition, (PartitionLog Log, string LogDir)> _logs = new();
    private readonly ConcurrentDictionary<TopicPartition, OfflineLog> _offline = new();
    // Found by BeginLoad and not loaded yet: their checkpointed offsets stay in every checkpoint written meanwhile.
    private readonly ConcurrentDictionary<TopicPartition, OfflineLog> _pending = new();
    private readonly Dictionary<string, bool> _cleanShutdown = [];
    private readonly Func<string, LogConfig> _topicConfig;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly List<ITimer> _timers = [];
    private readonly Lock _checkpointLock = new();
    private readonly RateLimitedLog _checkpointFailures;
    private bool _closed;

    /// <summary>A partition directory that failed to open, with what its checkpoints said of it.</summary>
    private sealed record OfflineLog(string LogDir, string Reason, long? RecoveryPoint, long? LogStartOffset, long? HighWatermark);

    public LogManager(IReadOnlyList<string> logDirs, LogManagerConfig config, Func<string, LogConfig>? topicConfig = null, TimeProvider? time = null, ILogger? logger = null)
    {
        LogDirs = logDirs;
        Config = config;
        _topicConfig = topicConfig ?? (_ => LogConfig.Default);
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _checkpointFailures = new RateLimitedLog(_time, TimeSpan.FromSeconds(10));
        Cleaner = new LogCleaner(this, config, _time, _logger);
    }

    public IReadOnlyList<string> LogDirs { get; }
    public LogManagerConfig Config { get; }
    public LogCleaner Cleaner { get; }
    public IEnumerable<PartitionLog> AllLogs => _logs.Values.Select(v => v.Log);

    /// <summary>Every open log with the log dir it lives in (DescribeLogDirs groups by dir).</summary>
    public IEnumerable<(PartitionLog Log, string LogDir)> AllLogsByDir => _logs.Values;
    public int Count => _logs.Count;

    /// <summary>Partitions whose logs are on disk but could not be opened, with the reason.</summary>
    public IReadOnlyDictionary<TopicPartition, string> OfflineLogs => _offline.ToDictionary(e => e.Key, e => e.Value.Reason);

    /// <summary>Loads every partition directory found in the log dirs. Returns whether the previous shutdown was clean in all of them.</summary>
    public bool Startup() => Load(null, CancellationToken.None).AllClean;

    /// <summary>
    /// Kafka's <c>LogManager.startup</c> with stray detection: loads every partition directory of every log dir,
    /// one at a time, each published as soon as it is open. <paramref name="hostedTopicId"/> answers, for a
    /// partition found on disk, the topic id under which the metadata hosts it on this node, or null when it does
    /// not; a directory it does not host, or whose <c>partition.metadata</c> names another topic id, is renamed
    /// <c>-stray</c> and kept. An unreadable <c>partition.metadata</c> of a hosted partition is rewritten from the
    /// metadata. Null <paramref name="hostedTopicId"/> loads everything (tools and tests).
    /// </summary>
    public LogLoadSummary Load(Func<TopicPartition, Uuid?>? hostedTopicId, CancellationToken cancellationToken)
    {
        var found = BeginLoad();
        int loaded = 0, stray = 0, failed = 0;
        foreach (var candidate in found)
        {
            cancellationToken.ThrowIfCancellationRequested();
            switch (LoadOne(candidate, hostedTopicId))
            {
                case LogLoadOutcome.Loaded: loaded++; break;
                case LogLoadOutcome.Stray: stray++; break;
                case LogLoadOutcome.Failed: failed++; break;
            }
        }
        return new LogLoadSummary(loaded, stray, failed, CompleteLoad());
    }

    /// <summary>
    /// First step of a load: notes whether each log dir was shut down cleanly, reads its checkpoints, removes
    /// deletions a previous run did not finish, and lists the partition directories to load (the metadata log's
    /// own <c>__cluster_metadata-0</c> is not a partition log of this manager).
    /// </summary>
    public IReadOnlyList<LogDirEntry> BeginLoad()
    {
        var found = new List<LogDirEntry>();
        foreach (var dir in LogDirs)
        {
            Directory.CreateDirectory(dir);
            var clean = File.Exists(Path.Combine(dir, CleanShutdownFile));
            lock (_checkpointLock)
            {
                _cleanShutdown[dir] = clean;
            }
            var recovery = ReadCheckpoint(dir, OffsetCheckpointFile.RecoveryPoint);
            var logStart = ReadCheckpoint(dir, OffsetCheckpointFile.LogStartOffset);
            var highWatermarks = ReadCheckpoint(dir, OffsetCheckpointFile.ReplicationOffset);
            foreach (var partitionDir in Directory.EnumerateDirectories(dir).Order(StringComparer.Ordinal).ToList())
            {
                var name = Path.GetFileName(partitionDir);
                if (name.EndsWith(DeleteDirSuffix, StringComparison.Ordinal))
                {
                    TryDeleteDirectory(partitionDir);
                    continue;
                }
                if (name.EndsWith(FutureDirSuffix, StringComparison.Ordinal) || name.EndsWith(StrayDirSuffix, StringComparison.Ordinal)
                    || !TopicPartition.TryParseDirectoryName(name, out var tp) || tp.Topic == MetadataTopicName)
                {
                    continue;
                }
                var entry = new LogDirEntry(dir, tp, clean, GetOrNull(recovery, tp), GetOrNull(logStart, tp), GetOrNull(highWatermarks, tp));
                found.Add(entry);
                _pending[tp] = new OfflineLog(dir, "loading", entry.RecoveryPoint, entry.LogStartOffset, entry.HighWatermark);
            }
        }
        return found;
    }

    /// <summary>Loads one partition directory listed by <see cref="BeginLoad"/>; a failure stays with that partition.</summary>
    public LogLoadOutcome LoadOne(LogDirEntry entry, Func<TopicPartition, Uuid?>? hostedTopicId)
    {
        try
        {
            return LoadOneCore(entry, hostedTopicId);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Rewriting partition.metadata on a full or read-only disk: offline like any other open failure.
            var reason = $"{e.GetType().Name}: {e.Message}";
            _offline[entry.TopicPartition] = new OfflineLog(entry.LogDir, reason, entry.RecoveryPoint, entry.LogStartOffset, entry.HighWatermark);
            StorageLog.LogOffline(_logger, entry.TopicPartition.ToString(), entry.LogDir, reason);
            return LogLoadOutcome.Failed;
        }
        finally
        {
            _pending.TryRemove(entry.TopicPartition, out _);
        }
    }

    private LogLoadOutcome LoadOneCore(LogDirEntry entry, Func<TopicPartition, Uuid?>? hostedTopicId)
    {
        var tp = entry.TopicPartition;
        var partitionDir = Path.Combine(entry.LogDir, tp.ToString());
        if (_logs.ContainsKey(tp) || !Directory.Exists(partitionDir))
        {
            return LogLoadOutcome.Skipped;
        }
        var checkpointed = new OfflineLog(entry.LogDir, "", entry.RecoveryPoint, entry.LogStartOffset, entry.HighWatermark);
        var topicId = ReadTopicId(partitionDir, out var unreadable);
        if (hostedTopicId is not null)
        {
            var hosted = hostedTopicId(tp);
            if (hosted is not { } expected || (topicId is { } onDisk && onDisk != expected))
            {
                MarkStray(partitionDir, tp, topicId, hosted);
                return LogLoadOutcome.Stray;
            }
            if (topicId is null && !expected.IsZero)
            {
                if (unreadable)
                {
                    StorageLog.RewritingPartitionMetadata(_logger, partitionDir, expected.ToString());
                }
                PartitionMetadataFile.Write(partitionDir, expected);
                topicId = expected;
            }
        }
        else if (unreadable)
        {
            _offline[tp] = checkpointed with { Reason = $"{PartitionMetadataFile.FileName} is unreadable" };
            StorageLog.LogOffline(_logger, tp.ToString(), entry.LogDir, _offline[tp].Reason);
            return LogLoadOutcome.Failed;
        }
        return TryOpen(entry.LogDir, tp, topicId ?? Uuid.Zero, entry.HadCleanShutdown, checkpointed, config: null) is null
            ? LogLoadOutcome.Failed
            : LogLoadOutcome.Loaded;
    }

    /// <summary>Last step of a load: the clean-shutdown markers are removed and fresh checkpoints written. Returns whether every dir was clean.</summary>
    public bool CompleteLoad()
    {
        bool allClean;
        lock (_checkpointLock)
        {
            allClean = _cleanShutdown.Values.All(c => c);
        }
        foreach (var dir in LogDirs)
        {
            // The marker only vouches for the shutdown that wrote it.
            TryDeleteFile(Path.Combine(dir, CleanShutdownFile));
        }
        CheckpointLogOffsets();
        return allClean;
    }

    private static long? GetOrNull(Dictionary<TopicPartition, long> offsets, TopicPartition tp) => offsets.TryGetValue(tp, out var v) ? v : null;

    private Uuid? ReadTopicId(string partitionDir, out bool unreadable)
    {
        unreadable = false;
        try
        {
            return PartitionMetadataFile.Read(partitionDir);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or IOException or ArgumentException)
        {
            unreadable = true;
            return null;
        }
    }

    /// <summary>Kafka's stray handling: <c>&lt;topic&gt;-&lt;partition&gt;.&lt;uuid&gt;-stray</c>, kept on disk, never deleted by the broker.</summary>
    private void MarkStray(string partitionDir, TopicPartition tp, Uuid? onDisk, Uuid? hosted)
    {
        var target = Path.Combine(Path.GetDirectoryName(partitionDir)!, $"{tp}.{Guid.NewGuid():N}{StrayDirSuffix}");
        var reason = hosted is null
            ? $"the metadata does not host it on this node (topic id on disk {onDisk?.ToString() ?? "none"})"
            : $"its topic id {onDisk} differs from the metadata's {hosted}";
        try
        {
            Directory.Move(partitionDir, target);
            StorageLog.StrayLog(_logger, tp.ToString(), reason, target);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            StorageLog.StrayRenameFailed(_logger, tp.ToString(), reason, e.Message);
        }
    }

    /// <summary>Opens one log, isolating any failure to this partition: logged once, listed offline, retried later.</summary>
    private PartitionLog? TryOpen(string dir, TopicPartition tp, Uuid topicId, bool clean, OfflineLog checkpointed, LogConfig? config)
    {
        try
        {
            var log = PartitionLog.Open(dir, tp.Topic, tp.Partition, topicId, Config.Apply(config ?? _topicConfig(tp.Topic)), new LogOpenOptions
            {
                HadCleanShutdown = clean,
                RecoveryPoint = checkpointed.RecoveryPoint ?? 0,
                LogStartOffset = checkpointed.LogStartOffset ?? 0,
                HighWatermark = checkpointed.HighWatermark ?? 0,
                Time = _time,
                Logger = _logger,
            });
            _logs[tp] = (log, dir);
            if (_offline.TryRemove(tp, out _))
            {
                StorageLog.LogBackOnline(_logger, tp.ToString());
            }
            return log;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var reason = $"{e.GetType().Name}: {e.Message}";
            var wasOffline = _offline.TryGetValue(tp, out var previous);
            _offline[tp] = checkpointed with { LogDir = dir, Reason = reason };
            if (!wasOffline || previous!.Reason != reason)
            {
                StorageLog.LogOffline(_logger, tp.ToString(), dir, reason);
            }
            return null;
        }
    }

    private Dictionary<TopicPartition, long> ReadCheckpoint(string dir, string name)
    {
        var path = Path.Combine(dir, name);
        try
        {
            return new OffsetCheckpointFile(path).Read();
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            // A damaged checkpoint is not fatal: recovery from offset 0 is slower but correct.
            StorageLog.UnreadableCheckpoint(_logger, path, e.Message);
            return [];
        }
    }

    /// <summary>Starts the retention, flush, checkpoint and cleaner schedules on the injected clock.</summary>
    public void StartBackground()
    {
        void Every(long periodMs, Action action)
        {
            if (periodMs <= 0 || periodMs == long.MaxValue)
            {
                return;
            }
            var period = TimeSpan.FromMilliseconds(periodMs);
            _timers.Add(_time.CreateTimer(_ =>
            {
                try
                {
                    action();
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException or StorageException)
                {
                    StorageLog.BackgroundTaskFailed(_logger, e.Message);
                }
            }, null, period, period));
        }
        Every(Config.LogRetentionCheckIntervalMs, () => RunRetention());
        Every(Config.LogFlushSchedulerIntervalMs, () => FlushDueLogs());
        Every(Config.LogFlushOffsetCheckpointIntervalMs, CheckpointRecoveryPoints);
        Every(Config.LogFlushStartOffsetCheckpointIntervalMs, CheckpointLogStartOffsets);
        Every(Config.HighWatermarkCheckpointIntervalMs, CheckpointHighWatermarks);
        Every(Config.ProducerIdExpirationCheckIntervalMs, RemoveExpiredProducers);
        if (Config.LogCleanerEnable)
        {
            Cleaner.Start();
        }
    }

    /// <summary>Kafka's producer expiration task: every log forgets producers idle for <c>producer.id.expiration.ms</c>.</summary>
    public void RemoveExpiredProducers()
    {
        foreach (var log in AllLogs)
        {
            log.RemoveExpiredProducers(Config.ProducerIdExpirationMs);
        }
    }

    public PartitionLog? GetLog(TopicPartition tp) => _logs.TryGetValue(tp, out var entry) ? entry.Log : null;

    /// <summary>Returns the partition's log, creating it in the log dir holding the fewest partitions.</summary>
    public PartitionLog GetOrCreateLog(string topic, int partition, Uuid topicId, LogConfig? config = null) =>
        TryGetOrCreateLog(topic, partition, topicId, config, out var error) ?? throw error!;

    /// <summary>
    /// Like <see cref="GetOrCreateLog"/>, but a failure (disk full, a damaged file) leaves the partition offline with
    /// one log line and returns null; the next call tries again. A log that failed at start-up is reopened in its
    /// own log dir with the offsets its checkpoints held.
    /// </summary>
    public PartitionLog? TryGetOrCreateLog(string topic, int partition, Uuid topicId, LogConfig? config, out Exception? error)
    {
        error = null;
        var tp = new TopicPartition(topic, partition);
        lock (_checkpointLock)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            if (_logs.TryGetValue(tp, out var existing))
            {
                return existing.Log;
            }
            var offline = _offline.GetValueOrDefault(tp);
            var dir = offline?.LogDir ?? LogDirs.OrderBy(d => _logs.Values.Count(v => v.LogDir == d)).First();
            var clean = offline is not null && _cleanShutdown.GetValueOrDefault(dir);
            var log = TryOpen(dir, tp, topicId, clean, offline ?? new OfflineLog(dir, "", null, null, null), config);
            if (log is null)
            {
                error = new StorageException(StorageErrorCode.KafkaStorageError, $"The log of {tp} could not be opened: {_offline[tp].Reason}");
            }
            return log;
        }
    }

    /// <summary>
    /// Kafka's <c>asyncDelete</c> (topic deletion): the log is closed and its directory renamed to
    /// <c>&lt;topic&gt;-&lt;partition&gt;.&lt;uuid&gt;-delete</c> at once, so the name can be reused straight away, and
    /// removed from disk after <c>log.segment.delete.delay.ms</c> (a restart removes leftovers).
    /// </summary>
    public void DeleteLog(TopicPartition tp)
    {
        string directory;
        if (_logs.TryRemove(tp, out var entry))
        {
            Cleaner.Forget(tp);
            directory = entry.Log.Directory;
            entry.Log.Close();
        }
        else if (_offline.TryRemove(tp, out var offline))
        {
            directory = Path.Combine(offline.LogDir, tp.ToString());
        }
        else
        {
            return;
        }
        if (Directory.Exists(directory))
        {
            var target = Path.Combine(Path.GetDirectoryName(directory)!, $"{tp}.{Guid.NewGuid():N}{DeleteDirSuffix}");
            Directory.Move(directory, target);
            StorageLog.ScheduledDelete(_logger, directory, target);
            _timers.Add(_time.CreateTimer(_ => TryDeleteDirectory(target), null, TimeSpan.FromMilliseconds(Config.LogSegmentDeleteDelayMs), Timeout.InfiniteTimeSpan));
        }
        CheckpointLogOffsets();
    }

    private void TryDeleteDirectory(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            StorageLog.DeleteFailed(_logger, directory, e.Message);
        }
    }

    private static void TryDeleteFile(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left behind, the marker would vouch for a shutdown it did not see; the next start then skips recovery
            // of logs that need none anyway (they were all just loaded). Nothing better can be done without the disk.
        }
    }

    /// <summary>One retention pass over every log plus removal of due .deleted files; returns segments deleted.</summary>
    public int RunRetention()
    {
        var deleted = 0;
        foreach (var log in AllLogs)
        {
            try
            {
                deleted += log.DeleteOldSegments();
                log.DeletePendingFiles();
            }
            catch (Exception e) when (e is IOException or StorageException or ObjectDisposedException or UnauthorizedAccessException)
            {
                StorageLog.RetentionFailed(_logger, log.TopicPartition.ToString(), e.Message);
            }
        }
        return deleted;
    }

    public int FlushDueLogs() => AllLogs.Count(log => log.FlushIfDue());

    /// <summary>Writes recovery points and log start offsets of every log dir.</summary>
    public void CheckpointLogOffsets()
    {
        CheckpointRecoveryPoints();
        CheckpointLogStartOffsets();
    }

    /// <summary>recovery-point-offset-checkpoint (every <c>log.flush.offset.checkpoint.interval.ms</c> and at shutdown).</summary>
    public void CheckpointRecoveryPoints() =>
        WriteCheckpoints(OffsetCheckpointFile.RecoveryPoint, log => log.RecoveryPoint, offline => offline.RecoveryPoint);

    /// <summary>
    /// log-start-offset-checkpoint (every <c>log.flush.start.offset.checkpoint.interval.ms</c>, at shutdown, and
    /// right after DeleteRecords so a restart, even after kill -9, never serves deleted records again).
    /// </summary>
    public void CheckpointLogStartOffsets() =>
        WriteCheckpoints(OffsetCheckpointFile.LogStartOffset, log => log.LogStartOffset > 0 ? log.LogStartOffset : null, offline => offline.LogStartOffset);

    /// <summary>replication-offset-checkpoint: the high watermark of every partition (every <c>replica.high.watermark.checkpoint.interval.ms</c>).</summary>
    public void CheckpointHighWatermarks() =>
        WriteCheckpoints(OffsetCheckpointFile.ReplicationOffset, log => log.HighWatermark, offline => offline.HighWatermark);

    private void WriteCheckpoints(string fileName, Func<PartitionLog, long?> ofLog, Func<OfflineLog, long?> ofOffline)
    {
        lock (_checkpointLock)
        {
            foreach (var dir in LogDirs)
            {
                var entries = new Dictionary<TopicPartition, long>();
                foreach (var (tp, entry) in _logs)
                {
                    if (entry.LogDir == dir && ofLog(entry.Log) is { } offset)
                    {
                        entries[tp] = offset;
                    }
                }
                foreach (var (tp, offline) in _offline.Concat(_pending))
                {
                    if (offline.LogDir == dir && !entries.ContainsKey(tp) && ofOffline(offline) is { } offset)
                    {
                        entries[tp] = offset;
                    }
                }
                var path = Path.Combine(dir, fileName);
                try
                {
                    new OffsetCheckpointFile(path).Write(entries);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // The previous checkpoint stays in place (written atomically); try again at the next interval.
                    if (_checkpointFailures.ShouldLog(out var suppressed))
                    {
                        StorageLog.CheckpointFailed(_logger, path, e.Message, suppressed);
                    }
                }
            }
        }
    }

    /// <summary>Clean shutdown: stop schedules and the cleaner, flush and close every log, write checkpoints, then the marker.</summary>
    public void Dispose()
    {
        lock (_checkpointLock)
        {
            if (_closed)
            {
                return;
            }
            _closed = true;
        }
        foreach (var timer in _timers)
        {
            timer.Dispose();
        }
        Cleaner.Dispose();
        var allFlushed = true;
        foreach (var log in AllLogs)
        {
            try
            {
                log.Flush();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or UnauthorizedAccessException)
            {
                allFlushed = false;
                StorageLog.ShutdownFlushFailed(_logger, log.TopicPartition.ToString(), e.Message);
            }
        }
        CheckpointHighWatermarks();
        CheckpointLogOffsets();
        foreach (var log in AllLogs)
        {
            try
            {
                log.Close();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                allFlushed = false;
                StorageLog.ShutdownFlushFailed(_logger, log.TopicPartition.ToString(), e.Message);
            }
        }
        if (!allFlushed || !_pending.IsEmpty || !_offline.IsEmpty)
        {
            // Without every log flushed, or with logs this run never opened (so never recovered), the next start must
            // recover: no marker.
            return;
        }
        foreach (var dir in LogDirs)
        {
            try
            {
                File.WriteAllBytes(Path.Combine(dir, CleanShutdownFile), []);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                StorageLog.ShutdownFlushFailed(_logger, dir, e.Message);
            }
        }
    }
}

/// <summary>
/// At most one log line per interval for a failure that can repeat on every request (a full disk), with the
/// number of occurrences not logged since: the log stays readable and small while the fault lasts.
/// </summary>
public sealed class RateLimitedLog(TimeProvider time, TimeSpan interval)
{
    private long _lastReport = long.MinValue;
    private long _suppressed;

    /// <summary>True when this occurrence should be logged; <paramref name="suppressed"/> counts the ones skipped before it.</summary>
    public bool ShouldLog(out long suppressed)
    {
        // Monotonic timestamps: a clock step cannot silence the log or flood it.
        var now = time.GetTimestamp();
        var last = Volatile.Read(ref _lastReport);
        if ((last == long.MinValue || time.GetElapsedTime(last, now) >= interval)
            && Interlocked.CompareExchange(ref _lastReport, now, last) == last)
        {
            suppressed = Interlocked.Exchange(ref _suppressed, 0);
            return true;
        }
        Interlocked.Increment(ref _suppressed);
        suppressed = 0;
        return false;
    }
}
