using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Samsa.Metadata;
using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;

namespace Samsa.Broker.Coordinator;

/// <summary>What a coordinator runtime is for: its internal topic and how that topic is created and written.</summary>
public sealed record CoordinatorRuntimeOptions
{
    /// <summary>The internal topic (<c>__consumer_offsets</c>, <c>__transaction_state</c>).</summary>
    public required string Topic { get; init; }

    /// <summary>Partitions to create the topic with; also the count used for keys before it exists.</summary>
    public required int NumPartitions { get; init; }

    public required short ReplicationFactor { get; init; }

    /// <summary>Topic configs given at creation (cleanup.policy=compact, segment.bytes, ...).</summary>
    public IReadOnlyDictionary<string, string> TopicConfigs { get; init; } = new Dictionary<string, string>();

    /// <summary>How long a write waits for the high watermark before it fails with REQUEST_TIMED_OUT (and is reverted).</summary>
    public required TimeSpan CommitTimeout { get; init; }

    /// <summary>Name of the event thread running the coordinator's operations.</summary>
    public required string ThreadName { get; init; }
}

/// <summary>Helpers every coordinator shares: Kafka's key-to-partition mapping and the coordinator of a key.</summary>
public static class CoordinatorRuntime
{
    /// <summary>
    /// Kafka's <c>partitionFor</c>: <c>Utils.abs(key.hashCode()) % partitions</c>, with Java's <c>String.hashCode</c>
    /// over UTF-16 code units, so a key lands on the same partition as in Kafka.
    /// </summary>
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
}

/// <summary>
/// The generic coordinator runtime (Kafka's <c>CoordinatorRuntime</c>): one shard per partition of the internal
/// topic this broker leads, loaded by replaying the partition before it serves, written through
/// <see cref="CoordinatorContext{TRecord}"/> so that a response waits for the high watermark and a failed write's
/// in-memory changes are undone. The group coordinator runs on it over <c>__consumer_offsets</c>; the transaction
/// coordinator is meant to over <c>__transaction_state</c>.
/// </summary>
/// <remarks>
/// <para>Threads: operations run on the runtime's event thread (<see cref="RunAsync{T}"/>) up to their first wait,
/// because a shard lock is held across an append, which can roll a segment (create files), and no socket event
/// thread may wait for that. Commit waits end on the thread pool; loading runs on the thread pool; ownership
/// changes run on the metadata publisher's thread. Lock order: shard lock, then whatever the append takes inside
/// the log; the ownership lock is never held with a shard lock except to close a shard (ownership → shard).</para>
/// </remarks>
public sealed class CoordinatorRuntime<TShard, TRecord> : ICoordinatorLog<TRecord>, IDisposable
    where TShard : class, ICoordinatorShard<TRecord>
{
    private readonly ConcurrentDictionary<int, TShard> _shards = new();
    private readonly CoordinatorRuntimeOptions _options;
    private readonly ICoordinatorSerde<TRecord> _serde;
    private readonly IPartitionWriter _writer;
    private readonly MetadataCache _metadata;
    private readonly Func<CoordinatorContext<TRecord>, TShard> _newShard;
    private readonly IController? _controller;
    private readonly int _nodeId;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _ownershipLock = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _topicCreation = new(1, 1);
    private readonly EventQueue _events;
    private bool _disposed;

    public CoordinatorRuntime(CoordinatorRuntimeOptions options, ICoordinatorSerde<TRecord> serde, IPartitionWriter writer, MetadataCache metadata,
        Func<CoordinatorContext<TRecord>, TShard> newShard, IController? controller, int nodeId, TimeProvider time, ILogger logger)
    {
        _options = options;
        _serde = serde;
        _writer = writer;
        _metadata = metadata;
        _newShard = newShard;
        _controller = controller;
        _nodeId = nodeId;
        _time = time;
        _logger = logger;
        _events = new EventQueue(options.ThreadName);
    }

    public string Topic => _options.Topic;

    /// <summary>The shards this broker owns, by partition (loading or serving).</summary>
    public IReadOnlyDictionary<int, TShard> Shards => _shards;

    /// <summary>Starts following the metadata: a shard for every led partition of the topic.</summary>
    public void Start()
    {
        _metadata.Published += (_, next) => UpdateOwnership(next);
        UpdateOwnership(_metadata.Current);
    }

    /// <summary>Partitions of the topic as created, or the configured count before it exists.</summary>
    public int PartitionCount(MetadataImage image) =>
        image.Topics.TryGetValue(_options.Topic, out var topic) && topic.Partitions.Length > 0 ? topic.Partitions.Length : _options.NumPartitions;

    /// <summary>The partition of <paramref name="key"/> in the current metadata.</summary>
    public int PartitionFor(string key) => CoordinatorRuntime.PartitionFor(key, PartitionCount(_metadata.Current));

    /// <summary>The shard of a partition and the error to answer when there is none (NOT_COORDINATOR) or it is loading.</summary>
    public (TShard? Shard, ErrorCode Error) ShardFor(int partition)
    {
        if (!_shards.TryGetValue(partition, out var shard))
        {
            return (null, ErrorCode.NotCoordinator);
        }
        var availability = shard.Context.Availability;
        return availability == ErrorCode.None ? (shard, ErrorCode.None) : (null, availability);
    }

    /// <summary>
    /// Runs an operation on the event thread up to its first wait (a commit, a join phase); the wait does not hold
    /// the thread, and the caller resumes on the thread pool, never on the event thread.
    /// </summary>
    public async ValueTask<T> RunAsync<T>(Func<ValueTask<T>> operation, CancellationToken cancellationToken)
    {
        var pending = await _events.RunAsync(() => operation().AsTask(), cancellationToken);
        // An operation completed later by another one (the last member to join) must not go on on that one's thread.
        return pending.IsCompleted ? await pending : await pending.ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
    }

    /// <summary>
    /// Kafka's <c>scheduleWriteOperation</c>: on the event thread, under the shard's lock, runs
    /// <paramref name="operation"/>, replays its records into the shard when it asks (revertible) and appends them;
    /// completes with the response once the high watermark passes them, or with the error (the shard reverted).
    /// </summary>
    public ValueTask<(ErrorCode Error, TResponse? Response)> ScheduleWriteOperation<TResponse>(int partition,
        Func<TShard, CoordinatorResult<TResponse, TRecord>> operation, CancellationToken cancellationToken) =>
        ScheduleWrite(partition, operation,
            (shard, result) => result.ReplayRecords ? shard.Context.WriteAndReplay(result.Records) : shard.Context.Write(result.Records, null),
            cancellationToken);

    /// <summary>
    /// Kafka's <c>scheduleTransactionalWriteOperation</c>: as <see cref="ScheduleWriteOperation{TResponse}"/>, but the
    /// records go to the shard as the producer's pending records (<see cref="ITransactionalCoordinatorShard{TRecord}.ReplayTransactional"/>,
    /// revertible) and to the log as one transactional batch of (<paramref name="producerId"/>, <paramref name="producerEpoch"/>);
    /// a stale epoch is the append's INVALID_PRODUCER_EPOCH. The shard must take part in transactions.
    /// </summary>
    public ValueTask<(ErrorCode Error, TResponse? Response)> ScheduleTransactionalWriteOperation<TResponse>(int partition, long producerId, short producerEpoch,
        Func<TShard, CoordinatorResult<TResponse, TRecord>> operation, CancellationToken cancellationToken) =>
        ScheduleWrite(partition, operation,
            (shard, result) => shard.Context.WriteTransactional(producerId, producerEpoch, result.Records),
            cancellationToken);

    /// <summary>
    /// The body both write operations share: on the event thread, under the shard's lock, check it serves, decide,
    /// start the write (<paramref name="write"/>); then wait for the write outside the lock.
    /// </summary>
    private ValueTask<(ErrorCode Error, TResponse? Response)> ScheduleWrite<TResponse>(int partition,
        Func<TShard, CoordinatorResult<TResponse, TRecord>> operation, Func<TShard, CoordinatorResult<TResponse, TRecord>, Task<ErrorCode>> write,
        CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            var (shard, error) = ShardFor(partition);
            if (shard is null)
            {
                return (error, default(TResponse));
            }
            CoordinatorResult<TResponse, TRecord> result;
            Task<ErrorCode> written;
            lock (shard.Context.SyncRoot)
            {
                if (shard.Context.Availability is var unavailable && unavailable != ErrorCode.None)
                {
                    return (unavailable, default);
                }
                result = operation(shard);
                written = write(shard, result);
            }
            var outcome = await written;
            return outcome == ErrorCode.None ? (ErrorCode.None, result.Response) : (outcome, default);
        }, cancellationToken);

    /// <summary>
    /// Kafka's <c>scheduleTransactionCompletion</c>: on the event thread, under the shard's lock, replays the end of the
    /// producer's transaction into the shard (revertible) and appends its marker to the partition; completes with None
    /// once the marker commits, NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS when the shard is not serving, or the
    /// append's or commit wait's error (the shard put back).
    /// </summary>
    public ValueTask<ErrorCode> ScheduleTransactionCompletion(int partition, long producerId, short producerEpoch, int coordinatorEpoch, bool commit,
        CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            var (shard, error) = ShardFor(partition);
            if (shard is null)
            {
                return error;
            }
            Task<ErrorCode> written;
            lock (shard.Context.SyncRoot)
            {
                if (shard.Context.Availability is var unavailable && unavailable != ErrorCode.None)
                {
                    return unavailable;
                }
                written = shard.Context.CompleteTransaction(producerId, producerEpoch, coordinatorEpoch, commit);
            }
            return await written;
        }, cancellationToken);

    /// <summary>Kafka's <c>scheduleReadOperation</c>: runs <paramref name="operation"/> on the event thread under the shard's lock, writing nothing.</summary>
    public ValueTask<(ErrorCode Error, TResponse? Response)> ScheduleReadOperation<TResponse>(int partition, Func<TShard, TResponse> operation,
        CancellationToken cancellationToken) =>
        RunAsync(() =>
        {
            var (shard, error) = ShardFor(partition);
            if (shard is null)
            {
                return ValueTask.FromResult((error, default(TResponse)));
            }
            lock (shard.Context.SyncRoot)
            {
                return ValueTask.FromResult(shard.Context.Availability is var unavailable && unavailable != ErrorCode.None
                    ? (unavailable, default)
                    : (ErrorCode.None, operation(shard)));
            }
        }, cancellationToken);

    // ---- The topic ----

    /// <summary>
    /// Creates the topic through the controller when it does not exist yet (Kafka's auto-creation of internal
    /// topics); true when it was created by this call. A creation that fails comes back as its error.
    /// </summary>
    public async Task<(ErrorCode Error, string? Message, bool Created)> EnsureTopicAsync(CancellationToken cancellationToken)
    {
        if (_metadata.Current.Topics.ContainsKey(_options.Topic))
        {
            return (ErrorCode.None, null, false);
        }
        if (_controller is null)
        {
            return (ErrorCode.CoordinatorNotAvailable, $"No controller to create {_options.Topic}", false);
        }
        await _topicCreation.WaitAsync(cancellationToken);
        try
        {
            if (_metadata.Current.Topics.ContainsKey(_options.Topic))
            {
                return (ErrorCode.None, null, true);
            }
            var request = new CreateTopicsRequest { timeoutMs = 30_000 };
            var topic = new CreateTopicsRequest.CreatableTopic
            {
                Name = _options.Topic,
                NumPartitions = _options.NumPartitions,
                ReplicationFactor = _options.ReplicationFactor,
            };
            foreach (var (name, value) in _options.TopicConfigs)
            {
                topic.Configs.Add(new CreateTopicsRequest.CreatableTopicConfig { Name = name, Value = value });
            }
            request.Topics.Add(topic);
            var response = await _controller.CreateTopicsAsync(request, cancellationToken);
            var result = response.Topics[0];
            var error = (ErrorCode)result.ErrorCode;
            if (error is ErrorCode.None or ErrorCode.TopicAlreadyExists)
            {
                return (ErrorCode.None, null, true);
            }
            CoordinatorLog.TopicCreationFailed(_logger, _options.Topic, error, result.ErrorMessage);
            return (error, result.ErrorMessage, false);
        }
        finally
        {
            _topicCreation.Release();
        }
    }

    /// <summary>
    /// Waits (up to <paramref name="timeout"/>) for the shard of a just-created partition to finish loading, asking
    /// for its log first; true when it serves.
    /// </summary>
    public async Task<bool> WaitUntilServingAsync(int partition, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_shards.TryGetValue(partition, out var loading) && loading.Context.State == CoordinatorState.Loading)
        {
            // Its log first: the background pass opens the new partitions one by one, this one perhaps last.
            _writer.OpenAhead(_options.Topic, partition);
            await Task.WhenAny(loading.Context.Loaded, Task.Delay(timeout, _time, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
        return _shards.TryGetValue(partition, out var shard) && shard.Context.State == CoordinatorState.Active;
    }

    // ---- Ownership and loading ----

    /// <summary>Creates a shard (and starts loading it) for every newly led partition and closes those no longer led.</summary>
    public void UpdateOwnership(MetadataImage image)
    {
        lock (_ownershipLock)
        {
            if (_disposed)
            {
                return;
            }
            var led = new HashSet<int>();
            if (image.Topics.TryGetValue(_options.Topic, out var topic))
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
                    shard.Context.Close();
                }
            }
            foreach (var index in led)
            {
                if (_shards.ContainsKey(index))
                {
                    continue;
                }
                var context = new CoordinatorContext<TRecord>(_options.Topic, index, this, _logger);
                var shard = _newShard(context);
                context.Bind(shard);
                _shards[index] = shard;
                _ = Task.Run(() => LoadAsync(shard, topic!.TopicId));
            }
        }
    }

    /// <summary>
    /// Replays the partition from its log start into the shard, then lets it serve. The partition's log may not
    /// be open yet; the load waits for it.
    /// </summary>
    private async Task LoadAsync(TShard shard, Uuid topicId)
    {
        var context = shard.Context;
        try
        {
            var log = await _writer.OpenForLoadAsync(_options.Topic, context.PartitionIndex, topicId, _stopping.Token);
            if (context.State == CoordinatorState.Closed)
            {
                return;
            }
            long records = 0;
            using var scratch = new PooledBuffer(64 * 1024);
            var position = log.LogStartOffset;
            var end = log.LogEndOffset;
            while (position < end && context.State != CoordinatorState.Closed)
            {
                var bytes = log.Read(position, 8 * 1024 * 1024);
                if (bytes.IsEmpty)
                {
                    break;
                }
                var next = ReplayBatches(shard, bytes, position, scratch, ref records);
                if (next <= position)
                {
                    throw new InvalidDataException($"{_options.Topic}-{context.PartitionIndex} holds a batch at {position} larger than a read");
                }
                position = next;
            }
            context.Activate(records, _metadata.Current);
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            CoordinatorLog.LoadFailed(_logger, _options.Topic, context.PartitionIndex, e);
        }
    }

    /// <summary>Replays every whole batch in <paramref name="bytes"/>; returns the offset after the last one.</summary>
    private long ReplayBatches(TShard shard, ReadOnlyMemory<byte> bytes, long minOffset, PooledBuffer scratch, ref long records)
    {
        var position = 0;
        var next = minOffset;
        var span = bytes.Span;
        while (span.Length - position >= RecordBatch.HeaderSize)
        {
            var header = RecordBatchHeader.Read(span[position..]);
            if (header.SizeInBytes <= 0 || position + header.SizeInBytes > span.Length)
            {
                break;
            }
            var batch = span.Slice(position, header.SizeInBytes);
            var transactional = shard as ITransactionalCoordinatorShard<TRecord>;
            if (header.IsControl)
            {
                // A transaction marker ends the producer's pending records in a shard that takes part in transactions
                // (Kafka's replayEndTransactionMarker); other control batches carry no coordinator state.
                if (transactional is not null && header.HasProducerId && header.LastOffset >= minOffset
                    && Samsa.Storage.ProducerState.TransactionMarker.TryRead(batch, scratch) is { } marker)
                {
                    lock (shard.Context.SyncRoot)
                    {
                        transactional.ReplayEndTransactionMarker(header.ProducerId, header.ProducerEpoch, marker.IsCommit, null);
                    }
                }
            }
            else
            {
                var view = new RecordBatchView(batch);
                var inTransaction = transactional is not null && header.IsTransactional && header.HasProducerId;
                lock (shard.Context.SyncRoot)
                {
                    foreach (var record in view.GetRecords(scratch))
                    {
                        if (header.BaseOffset + record.OffsetDelta < minOffset || record.KeyIsNull)
                        {
                            continue;
                        }
                        if (_serde.Deserialize(record.Key, record.Value, record.ValueIsNull) is { } parsed)
                        {
                            if (inTransaction)
                            {
                                transactional!.ReplayTransactional(header.ProducerId, header.ProducerEpoch, parsed, null);
                            }
                            else
                            {
                                shard.Replay(parsed, null);
                            }
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

    (ErrorCode Error, long EndOffset) ICoordinatorLog<TRecord>.Append(int partition, IReadOnlyList<TRecord> records) =>
        AppendRecords(partition, records, new RecordBatchBuilder());

    (ErrorCode Error, long EndOffset) ICoordinatorLog<TRecord>.AppendTransactional(int partition, long producerId, short producerEpoch, IReadOnlyList<TRecord> records) =>
        // Kafka's runtime writes a transactional batch with base sequence 0: the log checks a coordinator's append
        // for the producer epoch only.
        AppendRecords(partition, records, new RecordBatchBuilder { ProducerId = producerId, ProducerEpoch = producerEpoch, BaseSequence = 0, IsTransactional = true });

    (ErrorCode Error, long EndOffset) ICoordinatorLog<TRecord>.AppendEndTransactionMarker(int partition, long producerId, short producerEpoch, int coordinatorEpoch, bool commit) =>
        _writer.Append(_options.Topic, partition, RecordBatchBuilder.EndTransactionMarker(commit ? ControlRecordType.Commit : ControlRecordType.Abort,
            producerId, producerEpoch, coordinatorEpoch, _time.GetUtcNow().ToUnixTimeMilliseconds()));

    private (ErrorCode Error, long EndOffset) AppendRecords(int partition, IReadOnlyList<TRecord> records, RecordBatchBuilder builder)
    {
        using (builder)
        {
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (var record in records)
            {
                var (key, value) = _serde.Serialize(record);
                builder.Append(now, key, value);
            }
            return _writer.Append(_options.Topic, partition, builder.Build());
        }
    }

    Task<ErrorCode> ICoordinatorLog<TRecord>.WaitForCommitAsync(int partition, long endOffset) =>
        _writer.WaitForCommitAsync(_options.Topic, partition, endOffset, _options.CommitTimeout);

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
        _events.Dispose();
        foreach (var shard in _shards.Values)
        {
            shard.Context.Close();
        }
        _shards.Clear();
        _stopping.Dispose();
    }
}

/// <summary>Coordinator runtime log lines; event ids 650-669 are stable.</summary>
internal static partial class CoordinatorLog
{
    [LoggerMessage(EventId = 650, Level = LogLevel.Warning, Message = "Writing to {Topic}-{Partition} failed with {Error}")]
    public static partial void AppendFailed(ILogger logger, string topic, int partition, ErrorCode error);

    [LoggerMessage(EventId = 651, Level = LogLevel.Warning,
        Message = "Records of {Topic}-{Partition} up to offset {EndOffset} did not commit ({Error}); reverting it and later writes ({Pending} uncommitted)")]
    public static partial void CommitFailed(ILogger logger, string topic, int partition, long endOffset, ErrorCode error, int pending);

    [LoggerMessage(EventId = 652, Level = LogLevel.Warning, Message = "Loading {Topic}-{Partition} failed; it stays unavailable")]
    public static partial void LoadFailed(ILogger logger, string topic, int partition, Exception exception);

    [LoggerMessage(EventId = 653, Level = LogLevel.Warning, Message = "Creating {Topic} failed with {Error}: {Message}")]
    public static partial void TopicCreationFailed(ILogger logger, string topic, ErrorCode error, string? message);
}
