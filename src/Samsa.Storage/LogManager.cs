using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Protocol;
using Samsa.Storage.Checkpoints;

namespace Samsa.Storage;

/// <summary>
/// Owns every partition log of the broker's log dirs (Kafka's <c>LogManager</c>): loads them at startup
/// (recovering after an unclean shutdown), creates and deletes them, runs retention, flush and checkpoint
/// schedules, and on close writes the checkpoints and the clean-shutdown marker.
/// </summary>
/// <remarks>
/// Per log dir it keeps Kafka's files: <c>recovery-point-offset-checkpoint</c>, <c>log-start-offset-checkpoint</c>,
/// <c>replication-offset-checkpoint</c> (high watermarks), <c>cleaner-offset-checkpoint</c> (written by the
/// cleaner) and <c>.kafka_cleanshutdown</c>. <c>meta.properties</c> belongs to the broker.
/// </remarks>
public sealed class LogManager : IDisposable
{
    public const string CleanShutdownFile = ".kafka_cleanshutdown";

    private readonly ConcurrentDictionary<TopicPartition, (PartitionLog Log, string LogDir)> _logs = new();
    private readonly Func<string, LogConfig> _topicConfig;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly List<ITimer> _timers = [];
    private readonly Lock _checkpointLock = new();
    private bool _closed;

    public LogManager(IReadOnlyList<string> logDirs, LogManagerConfig config, Func<string, LogConfig>? topicConfig = null, TimeProvider? time = null, ILogger? logger = null)
    {
        LogDirs = logDirs;
        Config = config;
        _topicConfig = topicConfig ?? (_ => LogConfig.Default);
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        Cleaner = new LogCleaner(this, config, _time, _logger);
    }

    public IReadOnlyList<string> LogDirs { get; }
    public LogManagerConfig Config { get; }
    public LogCleaner Cleaner { get; }
    public IEnumerable<PartitionLog> AllLogs => _logs.Values.Select(v => v.Log);

    /// <summary>Loads every partition directory found in the log dirs. Returns whether the previous shutdown was clean in all of them.</summary>
    public bool Startup()
    {
        var allClean = true;
        foreach (var dir in LogDirs)
        {
            Directory.CreateDirectory(dir);
            var marker = Path.Combine(dir, CleanShutdownFile);
            var clean = File.Exists(marker);
            allClean &= clean;
            var recovery = ReadCheckpoint(dir, OffsetCheckpointFile.RecoveryPoint);
            var logStart = ReadCheckpoint(dir, OffsetCheckpointFile.LogStartOffset);
            var highWatermarks = ReadCheckpoint(dir, OffsetCheckpointFile.ReplicationOffset);
            foreach (var partitionDir in Directory.EnumerateDirectories(dir))
            {
                var name = Path.GetFileName(partitionDir);
                if (name.EndsWith("-delete", StringComparison.Ordinal) || name.EndsWith("-future", StringComparison.Ordinal) || name.EndsWith("-stray", StringComparison.Ordinal)
                    || !TopicPartition.TryParseDirectoryName(name, out var tp))
                {
                    continue;
                }
                var log = PartitionLog.Open(dir, tp.Topic, tp.Partition, PartitionMetadataFile.Read(partitionDir) ?? Uuid.Zero, Config.Apply(_topicConfig(tp.Topic)), new LogOpenOptions
                {
                    HadCleanShutdown = clean,
                    RecoveryPoint = recovery.GetValueOrDefault(tp),
                    LogStartOffset = logStart.GetValueOrDefault(tp),
                    HighWatermark = highWatermarks.GetValueOrDefault(tp),
                    Time = _time,
                    Logger = _logger,
                });
                _logs[tp] = (log, dir);
            }
            // The marker only vouches for the shutdown that wrote it.
            File.Delete(marker);
        }
        CheckpointLogOffsets();
        return allClean;
    }

    private Dictionary<TopicPartition, long> ReadCheckpoint(string dir, string name)
    {
        try
        {
            return new OffsetCheckpointFile(Path.Combine(dir, name)).Read();
        }
        catch (InvalidDataException e)
        {
            // A damaged checkpoint is not fatal: recovery from offset 0 is slower but correct.
            _logger.LogWarning(e, "Ignoring unreadable checkpoint {File}", Path.Combine(dir, name));
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
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
                {
                    _logger.LogError(e, "Background log task failed");
                }
            }, null, period, period));
        }
        Every(Config.LogRetentionCheckIntervalMs, () => RunRetention());
        Every(Config.LogFlushSchedulerIntervalMs, () => FlushDueLogs());
        Every(Config.LogFlushOffsetCheckpointIntervalMs, CheckpointLogOffsets);
        if (Config.LogCleanerEnable)
        {
            Cleaner.Start();
        }
    }

    public PartitionLog? GetLog(TopicPartition tp) => _logs.TryGetValue(tp, out var entry) ? entry.Log : null;

    /// <summary>Returns the partition's log, creating it in the log dir holding the fewest partitions.</summary>
    public PartitionLog GetOrCreateLog(string topic, int partition, Uuid topicId, LogConfig? config = null)
    {
        var tp = new TopicPartition(topic, partition);
        lock (_checkpointLock)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            if (_logs.TryGetValue(tp, out var existing))
            {
                return existing.Log;
            }
            var dir = LogDirs.OrderBy(d => _logs.Values.Count(v => v.LogDir == d)).First();
            var log = PartitionLog.Open(dir, topic, partition, topicId, Config.Apply(config ?? _topicConfig(topic)), new LogOpenOptions { Time = _time, Logger = _logger });
            _logs[tp] = (log, dir);
            return log;
        }
    }

    /// <summary>Deletes a partition's log (topic deletion or reassignment away).</summary>
    public void DeleteLog(TopicPartition tp)
    {
        if (_logs.TryRemove(tp, out var entry))
        {
            Cleaner.Forget(tp);
            entry.Log.DeleteLog();
            CheckpointLogOffsets();
        }
    }

    /// <summary>One retention pass over every log plus removal of due .deleted files; returns segments deleted.</summary>
    public int RunRetention()
    {
        var deleted = 0;
        foreach (var log in AllLogs)
        {
            deleted += log.DeleteOldSegments();
            log.DeletePendingFiles();
        }
        return deleted;
    }

    public int FlushDueLogs() => AllLogs.Count(log => log.FlushIfDue());

    /// <summary>Writes recovery points and log start offsets of every log dir.</summary>
    public void CheckpointLogOffsets()
    {
        lock (_checkpointLock)
        {
            foreach (var dir in LogDirs)
            {
                var logs = _logs.Where(e => e.Value.LogDir == dir).ToList();
                new OffsetCheckpointFile(Path.Combine(dir, OffsetCheckpointFile.RecoveryPoint)).Write(logs.ToDictionary(e => e.Key, e => e.Value.Log.RecoveryPoint));
                new OffsetCheckpointFile(Path.Combine(dir, OffsetCheckpointFile.LogStartOffset)).Write(
                    logs.Where(e => e.Value.Log.LogStartOffset > 0).ToDictionary(e => e.Key, e => e.Value.Log.LogStartOffset));
            }
        }
    }

    /// <summary>replication-offset-checkpoint: the high watermark of every partition (written by the replica manager's schedule).</summary>
    public void CheckpointHighWatermarks()
    {
        lock (_checkpointLock)
        {
            foreach (var dir in LogDirs)
            {
                new OffsetCheckpointFile(Path.Combine(dir, OffsetCheckpointFile.ReplicationOffset)).Write(
                    _logs.Where(e => e.Value.LogDir == dir).ToDictionary(e => e.Key, e => e.Value.Log.HighWatermark));
            }
        }
    }

    internal string LogDirOf(TopicPartition tp) => _logs[tp].LogDir;

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
        foreach (var log in AllLogs)
        {
            log.Flush();
        }
        CheckpointHighWatermarks();
        CheckpointLogOffsets();
        foreach (var log in AllLogs)
        {
            log.Close();
        }
        foreach (var dir in LogDirs)
        {
            File.WriteAllBytes(Path.Combine(dir, CleanShutdownFile), []);
        }
    }
}
