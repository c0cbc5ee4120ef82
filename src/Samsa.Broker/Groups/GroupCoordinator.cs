using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Samsa.Broker.Log;
using Samsa.Broker.Replication;
using Samsa.Metadata;
using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;
using Samsa.Storage;

namespace Samsa.Broker.Groups;

/// <summary>
/// The group coordinator of this broker (Kafka's <c>GroupCoordinatorService</c>): maps a group id to its
/// <c>__consumer_offsets</c> partition, owns one <see cref="GroupCoordinatorShard"/> per partition this broker
/// leads, loads each from its partition before serving it, creates the topic on first use, writes the shards'
/// records as the partition leader, and runs the offset retention check.
/// </summary>
/// <remarks>
/// A request for a group goes to the shard of <see cref="PartitionFor(string)"/>. No shard (this broker does not lead
/// the partition, or the topic does not exist yet): NOT_COORDINATOR. A shard still loading:
/// COORDINATOR_LOAD_IN_PROGRESS. Both are retriable: clients ask FindCoordinator again.
/// <para>Group requests run on the coordinator's own thread (<see cref="RunAsync{T}"/>), as Kafka's coordinator
/// runtime runs shard operations on its event processor threads: a shard lock may be held across an append to
/// <c>__consumer_offsets</c>, which can roll a segment (create files), and no socket event thread may wait for that.</para>
/// </remarks>
public sealed class GroupCoordinator : ICoordinatorLog, IDisposable
{
    /// <summary>Kafka's <c>Topic.GROUP_METADATA_TOPIC_NAME</c>.</summary>
    public const string OffsetsTopic = "__consumer_offsets";

    /// <summary>Kafka's <c>Topic.TRANSACTION_STATE_TOPIC_NAME</c>.</summary>
    public const string TransactionStateTopic = "__transaction_state";

    private readonly ConcurrentDictionary<int, GroupCoordinatorShard> _shards = new();
    private readonly MetadataCache _metadata;
    private readonly ReplicaManager _replicas;
    private readonly LogMetadataPublisher _logs;
    private readonly QuorumController? _controller;
    private readonly int _nodeId;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly Lock _ownershipLock = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly ITimer _retentionTimer;
    private readonly SemaphoreSlim _topicCreation = new(1, 1);
    private readonly EventQueue _events = new("samsa-group-coordinator-event-handler");
    private bool _disposed;

    public GroupCoordinator(GroupCoordinatorConfig config, MetadataCache metadata, ReplicaManager replicas, LogMetadataPublisher logs,
        QuorumController? controller, int nodeId, TimeProvider time, ILoggerFactory loggerFactory)
    {
        Config = config;
        _metadata = metadata;
        _replicas = replicas;
        _logs = logs;
        _controller = controller;
        _nodeId = nodeId;
        _time = time;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Samsa.GroupCoordinator");
        var interval = TimeSpan.FromMilliseconds(config.OffsetsRetentionCheckIntervalMs);
        _retentionTimer = time.CreateTimer(_ => ExpireOffsets(), null, interval, interval);
    }

    public GroupCoordinatorConfig Config { get; }

    /// <summary>The shards this broker owns, by partition (loading or serving).</summary>
    public IReadOnlyDictionary<int, GroupCoordinatorShard> Shards => _shards;

    /// <summary>Starts following the metadata: a shard for every led partition of <c>__consumer_offsets</c>.</summary>
    public void Start()
    {
        _metadata.Published += (_, next) => UpdateOwnership(next);
        UpdateOwnership(_metadata.Current);
    }

    /// <summary>
    /// Kafka's <c>partitionFor</c>: <c>Utils.abs(groupId.hashCode()) % partitions</c>, with Java's
    /// <c>String.hashCode</c> over UTF-16 code units, so a group lands on the same partition as in Kafka.
    /// </summary>
    public int PartitionFor(string groupId) => PartitionFor(groupId, PartitionCount(_metadata.Current));

    public static int PartitionFor(string key, int partitions) => (JavaStringHashCode(key) & 0x7fffffff) % partitions;

    /// <summary>Java's <c>String.hashCode</c>: s[0]*31^(n-1) + ... + s[n-1] over UTF-16 code units, wrapping.</summary>
    public static int JavaStringHashCode(string value)
    {
        var hash = 0;
        foreach (var c in value)
        {
            hash = unchecked((31 * hash) + c);
        }
        return hash;
    }

    /// <summary>Partitions of the offsets topic as created, or the configured count before it exists.</summary>
    private int PartitionCount(MetadataImage image) =>
        image.Topics.TryGetValue(OffsetsTopic, out var topic) && topic.Partitions.Length > 0 ? topic.Partitions.Length : Config.OffsetsTopicNumPartitions;

    /// <summary>The shard owning <paramref name="groupId"/> and the error to answer when there is none or it is loading.</summary>
    public (GroupCoordinatorShard? Shard, ErrorCode Error) ShardFor(string groupId)
    {
        if (!_shards.TryGetValue(PartitionFor(groupId), out var shard))
        {
            return (null, ErrorCode.NotCoordinator);
        }
        var availability = shard.Availability;
        return availability == ErrorCode.None ? (shard, ErrorCode.None) : (null, availability);
    }

    /// <summary>
    /// Runs a group request on the coordinator thread up to its first wait (a join phase, a commit); the wait does
    /// not hold the thread, and the caller resumes on the thread pool, never on the coordinator thread.
    /// </summary>
    public async ValueTask<T> RunAsync<T>(Func<ValueTask<T>> operation, CancellationToken cancellationToken)
    {
        var pending = await _events.RunAsync(() => operation().AsTask(), cancellationToken);
        // A request completed later by another one (the last member to join) must not go on on that request's thread.
        return pending.IsCompleted ? await pending : await pending.ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
    }

    // ---- FindCoordinator ----

    /// <summary>How long the FindCoordinator that created the offsets topic waits for its group's shard to load.</summary>
    public static readonly TimeSpan FirstLoadWait = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The broker coordinating <paramref name="key"/>, as Kafka's <c>getCoordinator</c>: the leader of its partition
    /// of the internal topic. The offsets topic is created on first use (through the controller, like Kafka's
    /// auto-creation of internal topics); Kafka answers COORDINATOR_NOT_AVAILABLE while it does that, we wait for
    /// the creation and for the group's shard to load (bounded by <see cref="FirstLoadWait"/>) and answer with the
    /// leader straight away, which clients cannot tell from a quick retry. A creation that fails (replication
    /// factor above the live brokers) is COORDINATOR_NOT_AVAILABLE.
    /// <para>A coordinator is named only once its shard serves: naming a loading one sends the client's JoinGroup
    /// to COORDINATOR_LOAD_IN_PROGRESS, which some clients (kafkajs's first join) do not retry. COORDINATOR_NOT_AVAILABLE
    /// sends them back to FindCoordinator, which every client retries.</para>
    /// </summary>
    public async Task<(ErrorCode Error, string? Message, BrokerEndpoint? Endpoint, int NodeId)> FindGroupCoordinatorAsync(string key, string listenerName,
        CancellationToken cancellationToken)
    {
        var image = _metadata.Current;
        var created = false;
        if (!image.Topics.ContainsKey(OffsetsTopic))
        {
            var (error, message) = await CreateOffsetsTopicAsync(cancellationToken);
            if (error != ErrorCode.None)
            {
                return (ErrorCode.CoordinatorNotAvailable, message, null, -1);
            }
            image = _metadata.Current;
            created = true;
        }
        var found = LeaderOf(image, OffsetsTopic, key, listenerName);
        if (found.Error != ErrorCode.None || found.NodeId != _nodeId)
        {
            return found;
        }
        var partition = PartitionFor(key, image.Topics[OffsetsTopic].Partitions.Length);
        if (created && _shards.TryGetValue(partition, out var loading) && loading.State == ShardState.Loading)
        {
            // Its log first: the background pass opens the 50 new partitions one by one, this one perhaps last.
            _logs.OpenAhead(OffsetsTopic, partition);
            await Task.WhenAny(loading.Loaded, Task.Delay(FirstLoadWait, _time, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
        return _shards.TryGetValue(partition, out var shard) && shard.State == ShardState.Active
            ? found
            : (ErrorCode.CoordinatorNotAvailable, null, null, -1);
    }

    /// <summary>The leader of <paramref name="key"/>'s partition of <paramref name="topic"/>, reachable on the listener.</summary>
    public static (ErrorCode Error, string? Message, BrokerEndpoint? Endpoint, int NodeId) LeaderOf(MetadataImage image, string topic, string key, string listenerName)
    {
        if (!image.Topics.TryGetValue(topic, out var topicImage) || topicImage.Partitions.Length == 0)
        {
            return (ErrorCode.CoordinatorNotAvailable, null, null, -1);
        }
        var partition = topicImage.Partitions[PartitionFor(key, topicImage.Partitions.Length)];
        if (partition.Leader < 0 || !image.Brokers.TryGetValue(partition.Leader, out var broker) || broker.Fenced
            || broker.Endpoint(listenerName) is not { } endpoint)
        {
            return (ErrorCode.CoordinatorNotAvailable, null, null, -1);
        }
        return (ErrorCode.None, null, endpoint, partition.Leader);
    }

    private async Task<(ErrorCode Error, string? Message)> CreateOffsetsTopicAsync(CancellationToken cancellationToken)
    {
        if (_controller is null)
        {
            return (ErrorCode.CoordinatorNotAvailable, "No controller to create the offsets topic");
        }
        await _topicCreation.WaitAsync(cancellationToken);
        try
        {
            if (_metadata.Current.Topics.ContainsKey(OffsetsTopic))
            {
                return (ErrorCode.None, null);
            }
            var request = new CreateTopicsRequest { timeoutMs = 30_000 };
            request.Topics.Add(new CreateTopicsRequest.CreatableTopic
            {
                Name = OffsetsTopic,
                NumPartitions = Config.OffsetsTopicNumPartitions,
                ReplicationFactor = Config.OffsetsTopicReplicationFactor,
                Configs =
                [
                    new CreateTopicsRequest.CreatableTopicConfig { Name = "cleanup.policy", Value = "compact" },
                    new CreateTopicsRequest.CreatableTopicConfig { Name = "compression.type", Value = "producer" },
                    new CreateTopicsRequest.CreatableTopicConfig { Name = "segment.bytes", Value = Config.OffsetsTopicSegmentBytes.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                ],
            });
            var response = await _controller.CreateTopicsAsync(request, cancellationToken);
            var result = response.Topics[0];
            var error = (ErrorCode)result.ErrorCode;
            if (error is ErrorCode.None or ErrorCode.TopicAlreadyExists)
            {
                return (ErrorCode.None, null);
            }
            GroupLog.TopicCreationFailed(_logger, error, result.ErrorMessage);
            return (error, result.ErrorMessage);
        }
        finally
        {
            _topicCreation.Release();
        }
    }

    // ---- Ownership and loading ----

    private void UpdateOwnership(MetadataImage image)
    {
        lock (_ownershipLock)
        {
            if (_disposed)
            {
                return;
            }
            var led = new HashSet<int>();
            if (image.Topics.TryGetValue(OffsetsTopic, out var topic))
            {
                foreach (var partition in topic.Partitions)
                {
                    if (partition.Leader == _nodeId)
                    {
                        led.Add(partition.PartitionIndex);
                    }
                }
            }
            foreach (var (index, shard) in _shards)
            {
                if (!led.Contains(index) && _shards.TryRemove(index, out _))
                {
                    shard.Close();
                }
            }
            foreach (var index in led)
            {
                if (_shards.ContainsKey(index))
                {
                    continue;
                }
                var shard = new GroupCoordinatorShard(index, Config, this, _time, _logger);
                shard.UseMetadata(() => _metadata.Current);
                _shards[index] = shard;
                _ = Task.Run(() => LoadAsync(shard, topic!.TopicId));
            }
        }
    }

    /// <summary>
    /// Replays the partition from its log start into the shard, then lets it serve. The partition's log may not
    /// be open yet (logs open in the background); the load waits for it.
    /// </summary>
    private async Task LoadAsync(GroupCoordinatorShard shard, Uuid topicId)
    {
        try
        {
            var log = await _logs.WhenOpenedAsync(OffsetsTopic, shard.PartitionIndex, topicId, _stopping.Token);
            if (shard.State == ShardState.Closed)
            {
                return;
            }
            long records = 0;
            using var scratch = new PooledBuffer(64 * 1024);
            var position = log.LogStartOffset;
            var end = log.LogEndOffset;
            while (position < end && shard.State != ShardState.Closed)
            {
                var read = log.Read(position, 8 * 1024 * 1024, FetchIsolation.LogEnd);
                if (read.Records.IsEmpty)
                {
                    break;
                }
                var bytes = read.Records.ToArray();
                var next = ReplayBatches(shard, bytes, position, scratch, ref records);
                if (next <= position)
                {
                    throw new InvalidDataException($"{OffsetsTopic}-{shard.PartitionIndex} holds a batch at {position} larger than a read");
                }
                position = next;
            }
            shard.CompleteLoad(records, _metadata.Current);
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            GroupLog.LoadFailed(_logger, shard.PartitionIndex, e);
        }
    }

    /// <summary>Replays every whole batch in <paramref name="bytes"/>; returns the offset after the last one.</summary>
    private static long ReplayBatches(GroupCoordinatorShard shard, byte[] bytes, long minOffset, PooledBuffer scratch, ref long records)
    {
        var position = 0;
        var next = minOffset;
        while (bytes.Length - position >= RecordBatch.HeaderSize)
        {
            var header = RecordBatchHeader.Read(bytes.AsSpan(position));
            if (header.SizeInBytes <= 0 || position + header.SizeInBytes > bytes.Length)
            {
                break;
            }
            var view = new RecordBatchView(bytes.AsSpan(position, header.SizeInBytes));
            // Control batches (transaction markers) carry no coordinator state.
            if (!header.IsControl)
            {
                lock (shard.SyncRoot)
                {
                    foreach (var record in view.GetRecords(scratch))
                    {
                        if (header.BaseOffset + record.OffsetDelta < minOffset || record.KeyIsNull)
                        {
                            continue;
                        }
                        if (CoordinatorRecord.Parse(record.Key, record.Value, record.ValueIsNull) is { } parsed)
                        {
                            shard.Replay(parsed);
                            records++;
                        }
                    }
                }
            }
            next = header.LastOffset + 1;
            position += header.SizeInBytes;
        }
        return next;
    }

    // ---- Writing records (ICoordinatorLog) ----

    (ErrorCode Error, long EndOffset) ICoordinatorLog.Append(int partition, IReadOnlyList<CoordinatorRecord> records)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        using var builder = new RecordBatchBuilder();
        foreach (var record in records)
        {
            builder.Append(now, record.KeyBytes(), record.ValueBytes());
        }
        var batch = builder.Build();
        var result = _replicas.Append(OffsetsTopic, partition, batch, requiredAcks: -1, internalTopicsAllowed: true);
        return result.Error == ErrorCode.None ? (ErrorCode.None, result.Info.LastOffset + 1) : (result.Error, -1);
    }

    async Task<ErrorCode> ICoordinatorLog.WaitForCommitAsync(int partition, long endOffset)
    {
        if (_logs.Get(OffsetsTopic, partition) is not { } log)
        {
            return ErrorCode.NotLeaderOrFollower;
        }
        if (log.HighWatermark >= endOffset)
        {
            return ErrorCode.None;
        }
        var delayed = new DelayedProduce(TimeSpan.FromMilliseconds(Config.OffsetCommitTimeoutMs), [(log, endOffset)]);
        _replicas.ProducePurgatory.TryCompleteElseWatch(delayed, [log.TopicPartition]);
        return await delayed.Completion ? ErrorCode.None : ErrorCode.RequestTimedOut;
    }

    // ---- Retention ----

    /// <summary>Runs the offset retention check on every serving shard (also called by tests).</summary>
    public int ExpireOffsets()
    {
        var expired = 0;
        foreach (var shard in _shards.Values)
        {
            try
            {
                expired += shard.ExpireOffsets();
            }
            catch (Exception e)
            {
                GroupLog.TimerFailed(_logger, "offset-expiry", shard.PartitionIndex, e);
            }
        }
        return expired;
    }

    public void Dispose()
    {
        lock (_ownershipLock)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
        }
        _stopping.Cancel();
        _retentionTimer.Dispose();
        _events.Dispose();
        foreach (var shard in _shards.Values)
        {
            shard.Close();
        }
        _shards.Clear();
        _stopping.Dispose();
    }
}
