using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Samsa.Broker.Config;
using Samsa.Metadata.Image;
using Samsa.Storage;

namespace Samsa.Broker.Log;

/// <summary>
/// The broker's partition logs, kept in step with the metadata image (the part of Kafka's <c>LogManager</c> and
/// <c>ReplicaManager.applyDelta</c> this issue needs). After every published image it opens a log for each new
/// partition this node replicates (<c>&lt;topic&gt;-&lt;partition&gt;/</c> under the first log dir, with
/// <c>partition.metadata</c>), applies changed topic configs to live logs, and deletes the logs of removed
/// topics the way Kafka does: closed, renamed to <c>&lt;topic&gt;-&lt;partition&gt;.&lt;uuid&gt;-delete</c> at
/// once (so the name can be reused straight away), and removed from disk after <c>log.segment.delete.delay.ms</c>.
/// A timer runs retention every <c>log.retention.check.interval.ms</c>.
/// </summary>
public sealed class BrokerLogManager : IDisposable
{
    public const string DeleteSuffix = "-delete";

    private readonly ConcurrentDictionary<(string Topic, int Partition), PartitionLog> _logs = new();
    private readonly KafkaConfig _config;
    private readonly ConfigDescriber _describer;
    private readonly ILogger _logger;
    private readonly Timer _retentionTimer;
    private readonly Lock _applyLock = new();
    private readonly string _logDir;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _scheduleLock = new();
    private Task _loading = Task.CompletedTask;
    private MetadataCache? _metadata;

    public BrokerLogManager(KafkaConfig config, ConfigDescriber describer, ILogger logger)
    {
        _config = config;
        _describer = describer;
        _logger = logger;
        _logDir = config.LogDirs[0];
        var interval = TimeSpan.FromMilliseconds(config.GetLong("log.retention.check.interval.ms"));
        _retentionTimer = new Timer(_ => RunRetention(), null, interval, interval);
        // Deletions a previous run did not finish.
        foreach (var dir in System.IO.Directory.EnumerateDirectories(_logDir, "*" + DeleteSuffix))
        {
            TryDeleteDirectory(dir);
        }
    }

    public int Count => _logs.Count;

    /// <summary>
    /// Renames partition directories whose topic id the image does not know (a topic deleted just before a crash,
    /// before its directories were renamed) so that a topic of the same name can be created again.
    /// </summary>
    public void RemoveStrayLogs(MetadataImage image)
    {
        foreach (var dir in System.IO.Directory.EnumerateDirectories(_logDir))
        {
            var name = Path.GetFileName(dir);
            if (name.EndsWith(DeleteSuffix, StringComparison.Ordinal) || Samsa.Storage.Checkpoints.PartitionMetadataFile.Read(dir) is not { } id
                || id == Samsa.Protocol.Uuid.MetadataTopicId || image.TopicNamesById.ContainsKey(id))
            {
                continue;
            }
            ScheduleDelete(dir, name);
        }
    }

    public PartitionLog? Get(string topic, int partition) => _logs.GetValueOrDefault((topic, partition));

    /// <summary>True when no partition log is waiting to be opened.</summary>
    public bool Loaded => _loading.IsCompleted;

    /// <summary>
    /// Starts following <paramref name="metadata"/>: partition logs are opened on a background task, one at a time,
    /// for the partitions of the image at start-up and for every partition a later image adds. The controller's
    /// commit and the client's response therefore never wait for files to be created, and a restart serves
    /// metadata at once while logs recover (after an unclean shutdown each log is checked and its indexes rebuilt),
    /// as Kafka's brokers create and load logs when they see the metadata. Until a partition's log is open,
    /// ListOffsets and DeleteRecords on it answer NOT_LEADER_OR_FOLLOWER, which clients retry.
    /// </summary>
    public void Start(MetadataCache metadata)
    {
        _metadata = metadata;
        ScheduleOpen();
    }

    /// <summary>Waits until every partition of the current image has its log open (tests and benchmarks).</summary>
    public Task WhenLoadedAsync() => _loading;

    private void ScheduleOpen()
    {
        lock (_scheduleLock)
        {
            var token = _stopping.Token;
            _loading = _loading.ContinueWith(_ => OpenMissing(token), token, TaskContinuationOptions.None, TaskScheduler.Default);
        }
    }

    private void OpenMissing(CancellationToken token)
    {
        var opened = 0;
        foreach (var topic in _metadata!.Current.Topics.Values)
        {
            foreach (var partition in topic.Partitions)
            {
                token.ThrowIfCancellationRequested();
                if (_logs.ContainsKey((topic.Name, partition.PartitionIndex)) || !partition.Replicas.Contains(_config.NodeId))
                {
                    continue;
                }
                lock (_applyLock)
                {
                    // The image may have moved on (topic deleted or recreated) while waiting for the lock.
                    var current = _metadata.Current;
                    if (current.Topics.TryGetValue(topic.Name, out var now) && now.TopicId == topic.TopicId && !_logs.ContainsKey((topic.Name, partition.PartitionIndex)))
                    {
                        try
                        {
                            OpenLog(now, partition.PartitionIndex, LogConfigOf(current, topic.Name));
                            opened++;
                        }
                        catch (Exception e) when (e is IOException or StorageException or UnauthorizedAccessException)
                        {
                            LogManagerLog.OpenFailed(_logger, $"{topic.Name}-{partition.PartitionIndex}", e);
                        }
                    }
                }
            }
        }
        if (opened > 0)
        {
            LogManagerLog.LogsLoaded(_logger, opened, _logs.Count);
        }
    }

    private PartitionLog OpenLog(TopicImage topic, int partition, LogConfig logConfig)
    {
        var log = PartitionLog.Open(_logDir, topic.Name, partition, topic.TopicId, logConfig, new LogOpenOptions { Logger = _logger });
        // One replica: everything written is committed.
        log.UpdateHighWatermark(log.LogEndOffset);
        _logs[(topic.Name, partition)] = log;
        return log;
    }

    /// <summary>Brings the open logs in line with <paramref name="next"/>. Called by the metadata cache on every publish.</summary>
    public void Apply(MetadataImage previous, MetadataImage next)
    {
        var newPartitions = false;
        lock (_applyLock)
        {
            foreach (var (topicId, name) in previous.TopicNamesById)
            {
                if (!next.TopicNamesById.TryGetValue(topicId, out var stillThere) || stillThere != name)
                {
                    DeleteTopicLogs(previous.Topics[name]);
                }
            }
            foreach (var topic in next.Topics.Values)
            {
                var changed = !previous.Topics.TryGetValue(topic.Name, out var before) || before.TopicId != topic.TopicId || before.Partitions.Length != topic.Partitions.Length;
                var resource = new ConfigResource(ConfigResourceType.Topic, topic.Name);
                var configChanged = !ReferenceEquals(previous.ConfigsOf(resource), next.ConfigsOf(resource)) || BrokerConfigsChanged(previous, next);
                if (!changed && !configChanged)
                {
                    continue;
                }
                if (changed)
                {
                    newPartitions = true;
                }
                if (!configChanged)
                {
                    continue;
                }
                var logConfig = LogConfigOf(next, topic.Name);
                foreach (var partition in topic.Partitions)
                {
                    if (_logs.TryGetValue((topic.Name, partition.PartitionIndex), out var log))
                    {
                        log.UpdateConfig(logConfig);
                        log.DeleteOldSegments();
                    }
                }
            }
        }
        if (newPartitions)
        {
            ScheduleOpen();
        }
    }

    private static bool BrokerConfigsChanged(MetadataImage previous, MetadataImage next) =>
        !ReferenceEquals(previous.Configs, next.Configs)
        && previous.Configs.Keys.Concat(next.Configs.Keys).Any(k => k.Type == ConfigResourceType.Broker && !ReferenceEquals(previous.ConfigsOf(k), next.ConfigsOf(k)));

    public LogConfig LogConfigOf(MetadataImage image, string topic) => LogConfig.FromProperties(_describer.EffectiveTopicConfig(image, topic));

    private void DeleteTopicLogs(TopicImage topic)
    {
        foreach (var partition in topic.Partitions)
        {
            if (!_logs.TryRemove((topic.Name, partition.PartitionIndex), out var log))
            {
                continue;
            }
            var directory = log.Directory;
            log.Close();
            ScheduleDelete(directory, $"{topic.Name}-{partition.PartitionIndex}");
        }
    }

    private void ScheduleDelete(string directory, string partitionName)
    {
        var target = Path.Combine(Path.GetDirectoryName(directory)!, $"{partitionName}.{Guid.NewGuid():N}{DeleteSuffix}");
        System.IO.Directory.Move(directory, target);
        LogManagerLog.ScheduledDelete(_logger, directory, target);
        var delay = TimeSpan.FromMilliseconds(_config.GetLong("log.segment.delete.delay.ms"));
        _ = Task.Delay(delay).ContinueWith(_ => TryDeleteDirectory(target), TaskScheduler.Default);
    }

    private void TryDeleteDirectory(string directory)
    {
        try
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogManagerLog.DeleteFailed(_logger, directory, e);
        }
    }

    private void RunRetention()
    {
        foreach (var log in _logs.Values)
        {
            try
            {
                log.DeleteOldSegments();
            }
            catch (Exception e) when (e is IOException or StorageException or ObjectDisposedException)
            {
                LogManagerLog.RetentionFailed(_logger, log.TopicPartition.ToString(), e);
            }
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        try
        {
            _loading.Wait();
        }
        catch (AggregateException e) when (e.Flatten().InnerExceptions.All(x => x is OperationCanceledException))
        {
            // Shut down while logs were still loading.
        }
        _retentionTimer.Dispose();
        lock (_applyLock)
        {
            foreach (var log in _logs.Values)
            {
                log.Close();
            }
            _logs.Clear();
        }
    }
}

/// <summary>Log manager log lines; event ids 400-419 are stable.</summary>
internal static partial class LogManagerLog
{
    [LoggerMessage(EventId = 400, Level = LogLevel.Information, Message = "Log {Directory} renamed to {Target}; files deleted after the delay")]
    public static partial void ScheduledDelete(ILogger logger, string directory, string target);

    [LoggerMessage(EventId = 401, Level = LogLevel.Warning, Message = "Could not delete {Directory}")]
    public static partial void DeleteFailed(ILogger logger, string directory, Exception exception);

    [LoggerMessage(EventId = 404, Level = LogLevel.Error, Message = "Could not open the log of {Partition}; it stays offline")]
    public static partial void OpenFailed(ILogger logger, string partition, Exception exception);

    [LoggerMessage(EventId = 403, Level = LogLevel.Information, Message = "Opened {Opened} partition logs; {Total} open")]
    public static partial void LogsLoaded(ILogger logger, int opened, int total);

    [LoggerMessage(EventId = 402, Level = LogLevel.Warning, Message = "Retention check failed on {Partition}")]
    public static partial void RetentionFailed(ILogger logger, string partition, Exception exception);
}
