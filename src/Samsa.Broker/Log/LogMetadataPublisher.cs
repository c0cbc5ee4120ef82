using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Samsa.Broker.Cluster;
using Samsa.Broker.Config;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Storage;
using Samsa.Storage.Checkpoints;

namespace Samsa.Broker.Log;

/// <summary>
/// Keeps the storage engine's <see cref="LogManager"/> in step with the metadata image (Kafka's
/// <c>BrokerMetadataPublisher</c> + <c>ReplicaManager.applyDelta</c> for logs). It owns no log itself: every log is
/// loaded, created, configured and deleted through the one <see cref="LogManager"/>, which keeps Kafka's
/// checkpoints, the clean-shutdown marker, recovery from the recovery point and the log cleaner.
/// </summary>
/// <remarks>
/// <para>
/// Loading runs on one background task, so a restart serves metadata at once while logs open: first every
/// partition directory on disk (strays renamed <c>-stray</c> and kept), then each partition of the image that
/// this node replicates and has no log yet. Every later image that adds partitions queues another pass on the same
/// task. Until a partition's log is open, requests for it answer NOT_LEADER_OR_FOLLOWER, which clients retry.
/// </para>
/// <para>
/// A log that fails to open (disk full, a damaged file) stays offline with one log line and is tried again after a
/// back-off (1 s doubling to 30 s), so partitions come back once space returns, without polling in between.
/// </para>
/// </remarks>
public sealed class LogMetadataPublisher : IDisposable
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(30);

    private readonly KafkaConfig _config;
    private readonly ConfigDescriber _describer;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _applyLock = new();
    private readonly Lock _scheduleLock = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<TopicPartition, TaskCompletionSource<PartitionLog>> _openWaiters = new();
    private Task _loading = Task.CompletedTask;
    private MetadataCache? _metadata;
    private ITimer? _retryTimer;
    private TimeSpan _retryDelay = FirstRetry;

    public LogMetadataPublisher(KafkaConfig config, ConfigDescriber describer, MetadataCache metadata, TimeProvider time, ILogger logger,
        ReplicationSettings? replication = null)
    {
        _config = config;
        _describer = describer;
        _logger = logger;
        _time = time;
        Manager = new LogManager(config.LogDirs, LogManagerConfigOf(config), topic => LogConfigOf(metadata.Current, topic), time, logger);
        Partitions = new PartitionRegistry(metadata, Manager.GetLog, config.NodeId, replication);
        Partitions.Sync();
    }

    /// <summary>One <see cref="Partition"/> per partition this node hosts, in step with the images applied and the logs opened.</summary>
    public PartitionRegistry Partitions { get; }

    /// <summary>The broker's one log manager.</summary>
    public LogManager Manager { get; }

    public int Count => Manager.Count;

    /// <summary>Broker-wide log settings from <c>server.properties</c>.</summary>
    public static LogManagerConfig LogManagerConfigOf(KafkaConfig config) => new()
    {
        // log.flush.interval.* are the broker synonyms of the topic's flush.* and already reach every LogConfig.
        LogFlushSchedulerIntervalMs = config.GetLong("log.flush.scheduler.interval.ms"),
        LogFlushOffsetCheckpointIntervalMs = config.GetInt("log.flush.offset.checkpoint.interval.ms"),
        LogFlushStartOffsetCheckpointIntervalMs = config.GetInt("log.flush.start.offset.checkpoint.interval.ms"),
        HighWatermarkCheckpointIntervalMs = config.GetLong("replica.high.watermark.checkpoint.interval.ms"),
        LogRetentionCheckIntervalMs = config.GetLong("log.retention.check.interval.ms"),
        LogSegmentDeleteDelayMs = config.GetLong("log.segment.delete.delay.ms"),
        LogCleanerEnable = config.GetBool("log.cleaner.enable") && config.GetInt("log.cleaner.threads") > 0,
        LogCleanerThreads = Math.Max(1, config.GetInt("log.cleaner.threads")),
        LogCleanerBackoffMs = config.GetLong("log.cleaner.backoff.ms"),
        LogCleanerDedupeBufferSize = config.GetLong("log.cleaner.dedupe.buffer.size"),
        LogCleanerIoMaxBytesPerSecond = config.GetDouble("log.cleaner.io.max.bytes.per.second"),
        ProducerIdExpirationMs = config.GetInt("producer.id.expiration.ms"),
        ProducerIdExpirationCheckIntervalMs = config.GetInt("producer.id.expiration.check.interval.ms"),
    };

    public PartitionLog? Get(string topic, int partition) => Manager.GetLog(new TopicPartition(topic, partition));

    /// <summary>True when no partition log is waiting to be opened.</summary>
    public bool Loaded => _loading.IsCompleted;

    /// <summary>
    /// Starts following <paramref name="metadata"/>: loads the logs on disk, then opens the image's partitions, on
    /// the background task; and starts the log manager's schedules (retention, flush, checkpoints, cleaner).
    /// </summary>
    public void Start(MetadataCache metadata)
    {
        _metadata = metadata;
        lock (_scheduleLock)
        {
            var token = _stopping.Token;
            _loading = _loading.ContinueWith(_ => LoadFromDisk(token), token, TaskContinuationOptions.None, TaskScheduler.Default);
        }
        ScheduleOpen();
        Manager.StartBackground();
    }

    /// <summary>Waits until every partition of the current image has had its log opened or tried (tests and benchmarks).</summary>
    public Task WhenLoadedAsync() => _loading;

    /// <summary>Completes when the log of <paramref name="topic"/>-<paramref name="partition"/> with <paramref name="topicId"/> is open.</summary>
    public async Task<PartitionLog> WhenOpenedAsync(string topic, int partition, Uuid topicId, CancellationToken cancellationToken)
    {
        var tp = new TopicPartition(topic, partition);
        while (true)
        {
            var waiter = _openWaiters.GetOrAdd(tp, _ => new TaskCompletionSource<PartitionLog>(TaskCreationOptions.RunContinuationsAsynchronously));
            // Checked after registering, so an open between the check and the registration is not missed.
            if (Manager.GetLog(tp) is { } open && open.TopicId == topicId)
            {
                return open;
            }
            var log = await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (log.TopicId == topicId)
            {
                return log;
            }
            _openWaiters.TryRemove(new KeyValuePair<TopicPartition, TaskCompletionSource<PartitionLog>>(tp, waiter));
        }
    }

    private void NotifyOpened(PartitionLog log)
    {
        // ISR = this node alone: everything in the log is committed (Kafka's leader moves its high watermark to
        // the log end when it becomes leader of a partition no follower must catch up on).
        if (_metadata!.Current.Partition(log.TopicPartition.Topic, log.TopicPartition.Partition) is { } state
            && Partition.HighWatermarkIsLogEnd(state, _config.NodeId))
        {
            log.UpdateHighWatermark(log.LogEndOffset);
        }
        Partitions.Opened(log);
        if (_openWaiters.TryRemove(log.TopicPartition, out var waiter))
        {
            waiter.TrySetResult(log);
        }
    }

    private void ScheduleOpen()
    {
        lock (_scheduleLock)
        {
            var token = _stopping.Token;
            _loading = _loading.ContinueWith(_ => OpenMissing(token), token, TaskContinuationOptions.None, TaskScheduler.Default);
        }
    }

    /// <summary>Loads every partition directory on disk; those the image does not host here are kept as strays.</summary>
    private void LoadFromDisk(CancellationToken token)
    {
        var found = Manager.BeginLoad();
        int loaded = 0, stray = 0, failed = 0;
        try
        {
            foreach (var entry in found)
            {
                token.ThrowIfCancellationRequested();
                lock (_applyLock)
                {
                    var image = _metadata!.Current;
                    switch (Manager.LoadOne(entry, tp => HostedTopicId(image, tp)))
                    {
                        case LogLoadOutcome.Loaded:
                            loaded++;
                            NotifyOpened(Manager.GetLog(entry.TopicPartition)!);
                            break;
                        case LogLoadOutcome.Stray:
                            stray++;
                            break;
                        case LogLoadOutcome.Failed:
                            failed++;
                            break;
                    }
                }
            }
        }
        finally
        {
            // Also when stopped part way: the marker vouched for the shutdown before this start, not for this run.
            var clean = Manager.CompleteLoad();
            LogManagerLog.LoadedFromDisk(_logger, loaded, stray, failed, clean ? "clean" : "unclean");
        }
    }

    private Uuid? HostedTopicId(MetadataImage image, TopicPartition tp) =>
        image.Topics.TryGetValue(tp.Topic, out var topic) && tp.Partition < topic.Partitions.Length
            && topic.Partitions[tp.Partition].Replicas.Contains(_config.NodeId)
            ? topic.TopicId
            : null;

    private void OpenMissing(CancellationToken token)
    {
        if (_metadata is null)
        {
            // An image published before Start: the first pass after Start opens its partitions.
            return;
        }
        int opened = 0, failed = 0;
        foreach (var topic in _metadata!.Current.Topics.Values)
        {
            foreach (var partition in topic.Partitions)
            {
                token.ThrowIfCancellationRequested();
                switch (OpenOne(topic, partition))
                {
                    case true:
                        opened++;
                        break;
                    case false:
                        failed++;
                        break;
                }
            }
        }
        if (opened > 0)
        {
            LogManagerLog.LogsLoaded(_logger, opened, Manager.Count);
        }
        ScheduleRetry(failed > 0);
    }

    /// <summary>Opens one partition's log if this node hosts it and it is not open: true opened, false failed, null nothing to do.</summary>
    private bool? OpenOne(TopicImage topic, PartitionImage partition)
    {
        if (Manager.GetLog(new TopicPartition(topic.Name, partition.PartitionIndex)) is not null || !partition.Replicas.Contains(_config.NodeId))
        {
            return null;
        }
        lock (_applyLock)
        {
            // The image may have moved on (topic deleted or recreated) while waiting for the lock.
            var current = _metadata!.Current;
            if (!current.Topics.TryGetValue(topic.Name, out var now) || now.TopicId != topic.TopicId)
            {
                return null;
            }
            if (Manager.GetLog(new TopicPartition(topic.Name, partition.PartitionIndex)) is not null)
            {
                return null;
            }
            var log = Manager.TryGetOrCreateLog(now.Name, partition.PartitionIndex, now.TopicId, LogConfigOf(current, now.Name), out _);
            if (log is null)
            {
                return false;
            }
            NotifyOpened(log);
            return true;
        }
    }

    /// <summary>
    /// Opens one partition ahead of the background pass, on the thread pool: a client is waiting for it (the group
    /// coordinator of the first FindCoordinator on a fresh broker), and the pass would open it after every partition
    /// before it. A failure is left to the pass and its retries.
    /// </summary>
    public void OpenAhead(string topic, int partition)
    {
        if (_metadata?.Current.Topics.GetValueOrDefault(topic) is { } image && partition < image.Partitions.Length)
        {
            _ = Task.Run(() => OpenOne(image, image.Partitions[partition]));
        }
    }

    /// <summary>Failed opens are tried again after a back-off that doubles up to 30 s; a pass without failures resets it.</summary>
    private void ScheduleRetry(bool failures)
    {
        lock (_scheduleLock)
        {
            _retryTimer?.Dispose();
            _retryTimer = null;
            if (!failures || _stopping.IsCancellationRequested)
            {
                _retryDelay = FirstRetry;
                return;
            }
            _retryTimer = _time.CreateTimer(_ => ScheduleOpen(), null, _retryDelay, Timeout.InfiniteTimeSpan);
            _retryDelay = TimeSpan.FromTicks(Math.Min(_retryDelay.Ticks * 2, MaxRetry.Ticks));
        }
    }

    /// <summary>Brings the open logs in line with <paramref name="next"/>. Called by the metadata cache on every publish.</summary>
    public void Apply(MetadataImage previous, MetadataImage next)
    {
        // Partitions first: requests stop using the logs of deleted topics before those logs are deleted below.
        Partitions.Sync();
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
                if (before is not null && !ReferenceEquals(before, topic) && before.TopicId == topic.TopicId && before.Partitions != topic.Partitions)
                {
                    changed |= ApplyReplicaChanges(before, topic);
                }
                var resource = new ConfigResource(ConfigResourceType.Topic, topic.Name);
                var configChanged = !ReferenceEquals(previous.ConfigsOf(resource), next.ConfigsOf(resource)) || BrokerConfigsChanged(previous, next);
                newPartitions |= changed;
                if (!configChanged)
                {
                    continue;
                }
                var logConfig = Manager.Config.Apply(LogConfigOf(next, topic.Name));
                foreach (var partition in topic.Partitions)
                {
                    if (Get(topic.Name, partition.PartitionIndex) is { } log)
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

    /// <summary>
    /// A reassignment moved replicas of <paramref name="topic"/> (Kafka's <c>ReplicaManager.applyDelta</c>, local
    /// deletes): a partition whose replicas no longer hold this node has its log deleted (the partition already left
    /// the registry, so nothing fetches into it or serves it any more); true when one gained this node, so its log is
    /// opened by the next pass.
    /// </summary>
    private bool ApplyReplicaChanges(TopicImage before, TopicImage topic)
    {
        var added = false;
        for (var i = 0; i < Math.Min(before.Partitions.Length, topic.Partitions.Length); i++)
        {
            var was = before.Partitions[i].Replicas.Contains(_config.NodeId);
            var isNow = topic.Partitions[i].Replicas.Contains(_config.NodeId);
            if (was && !isNow)
            {
                LogManagerLog.ReplicaRemoved(_logger, topic.Name, i, _config.NodeId);
                Manager.DeleteLog(new TopicPartition(topic.Name, i));
            }
            added |= isNow && !was;
        }
        return added;
    }

    private static bool BrokerConfigsChanged(MetadataImage previous, MetadataImage next) =>
        !ReferenceEquals(previous.Configs, next.Configs)
        && previous.Configs.Keys.Concat(next.Configs.Keys).Any(k => k.Type == ConfigResourceType.Broker && !ReferenceEquals(previous.ConfigsOf(k), next.ConfigsOf(k)));

    public LogConfig LogConfigOf(MetadataImage image, string topic) => LogConfig.FromProperties(_describer.EffectiveTopicConfig(image, topic));

    private void DeleteTopicLogs(TopicImage topic)
    {
        foreach (var partition in topic.Partitions)
        {
            Manager.DeleteLog(new TopicPartition(topic.Name, partition.PartitionIndex));
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        try
        {
            _loading.Wait();
        }
        catch (AggregateException)
        {
            // Cancelled while loading, or a load pass failed: every failure was logged where it happened.
        }
        lock (_scheduleLock)
        {
            _retryTimer?.Dispose();
        }
        lock (_applyLock)
        {
            Manager.Dispose();
        }
        foreach (var waiter in _openWaiters.Values)
        {
            waiter.TrySetCanceled();
        }
    }
}

/// <summary>Log publisher lines; event ids 400-419 are stable.</summary>
internal static partial class LogManagerLog
{
    [LoggerMessage(EventId = 403, Level = LogLevel.Information, Message = "Opened {Opened} partition logs; {Total} open")]
    public static partial void LogsLoaded(ILogger logger, int opened, int total);

    [LoggerMessage(EventId = 406, Level = LogLevel.Information, Message = "Partition {Topic}-{Partition} moved off node {NodeId}: its log is deleted")]
    public static partial void ReplicaRemoved(ILogger logger, string topic, int partition, int nodeId);

    [LoggerMessage(EventId = 405, Level = LogLevel.Information, Message = "Loaded {Loaded} partition logs from disk after a {Shutdown} shutdown; {Stray} stray, {Failed} offline")]
    public static partial void LoadedFromDisk(ILogger logger, int loaded, int stray, int failed, string shutdown);
}
