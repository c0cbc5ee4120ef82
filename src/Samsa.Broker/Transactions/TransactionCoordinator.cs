using Microsoft.Extensions.Logging;
using Samsa.Broker.Coordinator;
using Samsa.Broker.Groups;
using Samsa.Broker.Log;
using Samsa.Broker.Replication;
using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Storage.Checkpoints;

namespace Samsa.Broker.Transactions;

/// <summary>The transaction coordinator's settings, by Kafka's names.</summary>
public sealed record TransactionCoordinatorOptions
{
    public int NumPartitions { get; init; } = 50;                                    // transaction.state.log.num.partitions
    public short ReplicationFactor { get; init; } = 3;                              // transaction.state.log.replication.factor
    public int SegmentBytes { get; init; } = 100 * 1024 * 1024;                    // transaction.state.log.segment.bytes
    public int AbortTimedOutIntervalMs { get; init; } = 10_000;                     // transaction.abort.timed.out.transaction.cleanup.interval.ms
    public int RemoveExpiredIntervalMs { get; init; } = 3_600_000;                  // transaction.remove.expired.transaction.cleanup.interval.ms
    public int MinInSyncReplicas { get; init; } = 2;                                // transaction.state.log.min.isr
    public TransactionCoordinatorConfig Decisions { get; init; } = new(TransactionVersionLevel: TransactionVersion.TV0);

    /// <summary>
    /// The broker's <c>transaction.*</c> settings. The cluster's <c>transaction.version</c> is 0 (transaction version 2 is not
    /// advertised), so the coordinator's own aborts follow version 0's rules and records are written at value version 0.
    /// </summary>
    public static TransactionCoordinatorOptions From(Config.KafkaConfig config) => new()
    {
        NumPartitions = config.GetInt("transaction.state.log.num.partitions"),
        ReplicationFactor = config.Get("transaction.state.log.replication.factor") is short rf ? rf : (short)3,
        SegmentBytes = config.GetInt("transaction.state.log.segment.bytes"),
        MinInSyncReplicas = config.GetInt("transaction.state.log.min.isr"),
        AbortTimedOutIntervalMs = config.GetInt("transaction.abort.timed.out.transaction.cleanup.interval.ms"),
        RemoveExpiredIntervalMs = config.GetInt("transaction.remove.expired.transaction.cleanup.interval.ms"),
        Decisions = new TransactionCoordinatorConfig(config.GetInt("transaction.max.timeout.ms"), config.GetInt("transactional.id.expiration.ms"),
            TransactionVersion.TV0),
    };
}

/// <summary>
/// The transaction coordinator (Kafka's <c>TransactionCoordinator</c> with its <c>TransactionStateManager</c> and
/// <c>TransactionMarkerChannelManager</c>) on the coordinator runtime over <c>__transaction_state</c>: InitProducerId for
/// transactional ids, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, the marker phase, timeouts and expiry, and the reads of
/// DescribeTransactions and ListTransactions. Every decision is <see cref="TransactionDecisions"/>'s; this class finds the
/// id's shard, writes the decision's record, applies it once committed (or drops it when the write fails) and answers.
/// </summary>
/// <remarks>
/// <para>Threads: decisions run on the runtime's event thread under the shard's lock; commit waits and marker writes run
/// off it, and their outcome is applied under the lock again. A producer id needed by a decision is fetched before the
/// decision (<see cref="ProducerIdManager"/> may wait for a block), so no lock is held across that wait.</para>
/// <para>Markers go out as WriteTxnMarkers requests (<see cref="MarkerSender"/>): in this single-node broker every
/// partition leader is this broker, so the request is handed to its own WriteTxnMarkers handler. A partition whose marker
/// fails with a retriable error is retried with a back-off until it succeeds, its topic is deleted, or the coordinator
/// loses the partition, as Kafka's marker channel does.</para>
/// </remarks>
public sealed class TransactionCoordinator : IDisposable
{
    public const string TransactionStateTopic = "__transaction_state";

    /// <summary>How a marker request reaches a partition leader: WriteTxnMarkers, in process or over the network.</summary>
    public delegate Task<WriteTxnMarkersResponse> MarkerSender(WriteTxnMarkersRequest request, CancellationToken cancellationToken);

    private readonly CoordinatorRuntime<TransactionCoordinatorShard, TransactionRecord> _runtime;
    private readonly TransactionCoordinatorOptions _options;
    private readonly ProducerIdManager _producerIds;
    private readonly MarkerSender _sendMarkers;
    private readonly Func<string, int> _offsetsPartitionFor;
    private readonly MetadataCache _metadata;
    private readonly int _nodeId;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ITimer _abortTimer;
    private readonly ITimer _expiryTimer;
    private readonly CancellationTokenSource _stopping = new();

    public TransactionCoordinator(TransactionCoordinatorOptions options, MetadataCache metadata, ReplicaManager replicas, LogMetadataPublisher logs,
        IController? controller, ProducerIdManager producerIds, MarkerSender sendMarkers, Func<string, int> offsetsPartitionFor,
        int nodeId, TimeProvider time, ILoggerFactory loggerFactory)
    {
        _options = options;
        _producerIds = producerIds;
        _sendMarkers = sendMarkers;
        _offsetsPartitionFor = offsetsPartitionFor;
        _metadata = metadata;
        _nodeId = nodeId;
        _time = time;
        _logger = loggerFactory.CreateLogger("Samsa.TransactionCoordinator");
        var runtimeOptions = new CoordinatorRuntimeOptions
        {
            Topic = TransactionStateTopic,
            NumPartitions = options.NumPartitions,
            ReplicationFactor = options.ReplicationFactor,
            // Kafka's TransactionLog topic configs: compacted, uncompressed, its own segment size.
            TopicConfigs = new Dictionary<string, string>
            {
                ["cleanup.policy"] = "compact",
                ["compression.type"] = "uncompressed",
                ["min.insync.replicas"] = options.MinInSyncReplicas.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["segment.bytes"] = options.SegmentBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["unclean.leader.election.enable"] = "false",
            },
            CommitTimeout = TimeSpan.FromSeconds(30),
            ThreadName = "samsa-transaction-coordinator-event-handler",
        };
        _runtime = new CoordinatorRuntime<TransactionCoordinatorShard, TransactionRecord>(runtimeOptions,
            new TransactionRecordSerde(options.Decisions.TransactionVersionLevel.LogValueVersion()), new ReplicaPartitionWriter(replicas, logs),
            metadata, context => new TransactionCoordinatorShard(context, ResumeMarkers), controller, nodeId, time, _logger);
        var abortEvery = TimeSpan.FromMilliseconds(options.AbortTimedOutIntervalMs);
        _abortTimer = time.CreateTimer(_ => _ = AbortTimedOutTransactionsAsync(), null, abortEvery, abortEvery);
        var expireEvery = TimeSpan.FromMilliseconds(options.RemoveExpiredIntervalMs);
        _expiryTimer = time.CreateTimer(_ => _ = ExpireTransactionalIdsAsync(), null, expireEvery, expireEvery);
    }

    public IReadOnlyDictionary<int, TransactionCoordinatorShard> Shards => _runtime.Shards;

    public void Start() => _runtime.Start();

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private int PartitionFor(string transactionalId) => _runtime.PartitionFor(transactionalId);

    /// <summary>The coordinator epoch of a <c>__transaction_state</c> partition: its leader epoch, as in Kafka.</summary>
    private int CoordinatorEpoch(int partition) => _metadata.Current.Partition(TransactionStateTopic, partition)?.LeaderEpoch ?? 0;

    // ---- FindCoordinator ----

    /// <summary>FindCoordinator for key type TRANSACTION: the leader of the id's partition, creating the topic on first use.</summary>
    public async Task<(ErrorCode Error, string? Message, BrokerEndpoint? Endpoint, int NodeId)> FindCoordinatorAsync(string transactionalId,
        string listenerName, CancellationToken cancellationToken)
    {
        var (error, message, created) = await _runtime.EnsureTopicAsync(cancellationToken);
        if (error != ErrorCode.None)
        {
            return (ErrorCode.CoordinatorNotAvailable, message, null, -1);
        }
        var image = _metadata.Current;
        var found = CoordinatorRuntime.LeaderOf(image, TransactionStateTopic, transactionalId, listenerName);
        if (found.Error != ErrorCode.None || found.NodeId != _nodeId)
        {
            return found;
        }
        var partition = CoordinatorRuntime.PartitionFor(transactionalId, image.Topics[TransactionStateTopic].Partitions.Length);
        var serving = created
            ? await _runtime.WaitUntilServingAsync(partition, GroupCoordinator.FirstLoadWait, cancellationToken)
            : _runtime.ShardFor(partition).Error == ErrorCode.None;
        return serving ? found : (ErrorCode.CoordinatorNotAvailable, null, null, -1);
    }

    // ---- Requests ----

    /// <summary>InitProducerId with a transactional id: (error, producer id, epoch).</summary>
    public async Task<(ErrorCode Error, long ProducerId, short ProducerEpoch)> InitProducerIdAsync(string transactionalId, int transactionTimeoutMs,
        long producerId, short producerEpoch, CancellationToken cancellationToken)
    {
        var partition = PartitionFor(transactionalId);
        if (_runtime.ShardFor(partition).Error is var notHere and not ErrorCode.None)
        {
            return (notHere, -1, -1);
        }
        if (await SpareProducerIdAsync(cancellationToken) is not { } spare)
        {
            return (ErrorCode.CoordinatorLoadInProgress, -1, -1);
        }
        return await DecideAsync<(ErrorCode, long, short)>(partition, error => (error, -1, -1), shard =>
        {
            var existing = shard.Get(transactionalId);
            var decision = TransactionDecisions.InitProducerId(existing, transactionalId, transactionTimeoutMs, producerId, producerEpoch,
                Once(spare), _options.Decisions, NowMs);
            if (decision.Created is { } created)
            {
                shard.Add(created);
            }
            var answer = (decision.Error, decision.ProducerId, decision.ProducerEpoch);
            return decision.Transit is not { } transit
                ? (answer, null)
                : (default, new Transition<(ErrorCode, long, short)>(decision.Created ?? existing!, transit, decision.IsEpochFence, metadata =>
                {
                    if (metadata.State is TransactionState.PrepareAbort)
                    {
                        // An ongoing transaction was fenced: abort it; the producer retries and gets CONCURRENT_TRANSACTIONS meanwhile.
                        StartMarkers(shard, metadata);
                    }
                    return answer;
                }, error => (error, -1, -1)));
        }, cancellationToken);
    }

    /// <summary>AddPartitionsToTxn for one transaction (not verify-only): the error for every partition.</summary>
    public Task<ErrorCode> AddPartitionsAsync(string transactionalId, long producerId, short producerEpoch, IReadOnlyCollection<TopicPartition> partitions,
        TransactionVersion clientVersion, CancellationToken cancellationToken) =>
        AddAsync(transactionalId, metadata => TransactionDecisions.AddPartitions(metadata, transactionalId, producerId, producerEpoch, partitions,
            clientVersion, NowMs), cancellationToken);

    /// <summary>AddOffsetsToTxn: the group's <c>__consumer_offsets</c> partition joins the transaction.</summary>
    public Task<ErrorCode> AddOffsetsAsync(string transactionalId, long producerId, short producerEpoch, string groupId, CancellationToken cancellationToken) =>
        AddAsync(transactionalId, metadata => TransactionDecisions.AddOffsets(metadata, transactionalId, producerId, producerEpoch,
            _offsetsPartitionFor(groupId), NowMs), cancellationToken);

    /// <summary>AddPartitionsToTxn v4+ verifyOnly: per partition NONE when it is in the ongoing transaction.</summary>
    public async Task<IReadOnlyDictionary<TopicPartition, ErrorCode>> VerifyPartitionsAsync(string transactionalId, long producerId, short producerEpoch,
        IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
    {
        var (error, result) = await _runtime.ScheduleReadOperation(PartitionFor(transactionalId),
            shard => TransactionDecisions.VerifyPartitions(shard.Get(transactionalId), transactionalId, producerId, producerEpoch, partitions), cancellationToken);
        return result ?? partitions.ToDictionary(p => p, _ => error);
    }

    /// <summary>A partition leader's check of one partition (KIP-890 part 1, done in process on a single node).</summary>
    public async Task<ErrorCode> VerifyPartitionAsync(string transactionalId, long producerId, short producerEpoch, TopicPartition partition,
        CancellationToken cancellationToken) =>
        (await VerifyPartitionsAsync(transactionalId, producerId, producerEpoch, [partition], cancellationToken))[partition];

    private Task<ErrorCode> AddAsync(string transactionalId, Func<TransactionMetadata?, AddPartitionsDecision> decide, CancellationToken cancellationToken) =>
        DecideAsync(PartitionFor(transactionalId), error => error, shard =>
        {
            var metadata = shard.Get(transactionalId);
            var decision = decide(metadata);
            return decision.Transit is not { } transit
                ? (decision.Error, null)
                : (default, new Transition<ErrorCode>(metadata!, transit, IsEpochFence: false, _ => ErrorCode.None, error => error));
        }, cancellationToken);

    /// <summary>EndTxn: writes PrepareCommit/PrepareAbort, answers once it commits, then writes the markers in the background.</summary>
    public async Task<(ErrorCode Error, long ProducerId, short ProducerEpoch)> EndTxnAsync(string transactionalId, long producerId, short producerEpoch,
        bool commit, TransactionVersion clientVersion, CancellationToken cancellationToken)
    {
        // TV2 may rotate the producer id at epoch exhaustion: have one ready.
        long? spare = -1;
        if (clientVersion.SupportsEpochBump() && (spare = await SpareProducerIdAsync(cancellationToken)) is null)
        {
            return (ErrorCode.CoordinatorLoadInProgress, -1, -1);
        }
        var partition = PartitionFor(transactionalId);
        return await DecideAsync<(ErrorCode, long, short)>(partition, error => (error, -1, -1), shard =>
        {
            var metadata = shard.Get(transactionalId);
            var decision = TransactionDecisions.EndTxn(metadata, transactionalId, producerId, producerEpoch, commit, clientVersion, Once(spare.Value), NowMs);
            return decision.Transit is not { } transit
                ? ((decision.Error, decision.ProducerId, decision.ProducerEpoch), null)
                : (default, new Transition<(ErrorCode, long, short)>(metadata!, transit, decision.IsEpochFence, written =>
                {
                    var completion = TransactionDecisions.EndTxnAfterAppend(written, producerId, producerEpoch, commit, clientVersion,
                        CoordinatorEpoch(partition), NowMs);
                    if (completion.Markers is { } plan)
                    {
                        _ = SendMarkersAsync(shard, written, plan);
                    }
                    return (completion.Error, completion.ProducerId, completion.ProducerEpoch);
                }, error => (error, -1, -1)));
        }, cancellationToken);
    }

    /// <summary>A write a decision asks for: the transition of <paramref name="Metadata"/> to <paramref name="Transit"/>, and the answers once it is settled.</summary>
    private sealed record Transition<T>(TransactionMetadata Metadata, TxnTransitMetadata Transit, bool IsEpochFence,
        Func<TransactionMetadata, T> Committed, Func<ErrorCode, T> Failed);

    /// <summary>
    /// The shape of every coordinator request: on the runtime's event queue, under the shard's lock, <paramref name="decide"/>
    /// answers at once or asks for a transition; that record is appended, and once its commit wait ends (no lock held)
    /// the metadata completes the transition (or drops it, the write having failed) and the answer is made, under the
    /// lock again.
    /// </summary>
    private async Task<T> DecideAsync<T>(int partition, Func<ErrorCode, T> unavailable,
        Func<TransactionCoordinatorShard, (T Answer, Transition<T>? Write)> decide, CancellationToken cancellationToken) =>
        await _runtime.RunAsync(async () =>
        {
            var (shard, error) = _runtime.ShardFor(partition);
            if (shard is null)
            {
                return unavailable(error);
            }
            Transition<T> write;
            Task<ErrorCode> written;
            lock (shard.Context.SyncRoot)
            {
                var (answer, transition) = decide(shard);
                if (transition is null)
                {
                    return answer;
                }
                write = transition;
                written = shard.Context.Write([new TransactionRecord(write.Metadata.TransactionalId, write.Transit)], null);
            }
            var outcome = WriteError(await written);
            lock (shard.Context.SyncRoot)
            {
                if (outcome != ErrorCode.None)
                {
                    write.Metadata.AbortPendingTransition(write.IsEpochFence);
                    return write.Failed(outcome);
                }
                write.Metadata.CompleteTransitionTo(write.Transit);
                return write.Committed(write.Metadata);
            }
        }, cancellationToken);

    /// <summary>A producer id for a decision that may need one, fetched before it so no lock waits for the controller; null when none can be had.</summary>
    private async Task<long?> SpareProducerIdAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _producerIds.GenerateProducerIdAsync(cancellationToken);
        }
        catch (ProducerIdsUnavailableException)
        {
            return null;
        }
    }

    // ---- Markers ----

    /// <summary>A loaded partition's transactions that were being completed: their markers go out again (Kafka's load callback).</summary>
    private void ResumeMarkers(TransactionCoordinatorShard shard)
    {
        foreach (var metadata in shard.Transactions.Where(t => t.State is TransactionState.PrepareCommit or TransactionState.PrepareAbort).ToList())
        {
            StartMarkers(shard, metadata);
        }
    }

    /// <summary>Prepares and sends the markers of a Prepare* transaction. Under the shard's lock.</summary>
    private void StartMarkers(TransactionCoordinatorShard shard, TransactionMetadata metadata)
    {
        var plan = TransactionDecisions.PrepareMarkers(metadata, CoordinatorEpoch(shard.Context.PartitionIndex), NowMs);
        _ = SendMarkersAsync(shard, metadata, plan);
    }

    /// <summary>
    /// Writes the markers of <paramref name="plan"/> until every partition has one (retrying retriable errors with a
    /// back-off; a deleted partition needs none), then writes the Complete* record and applies it.
    /// </summary>
    private async Task SendMarkersAsync(TransactionCoordinatorShard shard, TransactionMetadata metadata, TxnMarkerPlan plan)
    {
        // Off the caller's lock and thread; a shard resuming its markers at load serves only once its load completes.
        await Task.Yield();
        await shard.Context.Loaded;
        var backoff = TimeSpan.FromMilliseconds(20);
        try
        {
            var remaining = plan.Marker.Topics.SelectMany(t => t.PartitionIndexes.Select(p => new TopicPartition(t.Name, p))).ToHashSet();
            while (remaining.Count > 0 && shard.Context.State == CoordinatorState.Active)
            {
                var request = new WriteTxnMarkersRequest
                {
                    Markers =
                    [
                        new WriteTxnMarkersRequest.WritableTxnMarker
                        {
                            ProducerId = plan.Marker.ProducerId,
                            ProducerEpoch = plan.Marker.ProducerEpoch,
                            TransactionResult = plan.Marker.TransactionResult,
                            CoordinatorEpoch = plan.Marker.CoordinatorEpoch,
                            Topics = [.. remaining.GroupBy(tp => tp.Topic).Select(g => new WriteTxnMarkersRequest.WritableTxnMarkerTopic
                            {
                                Name = g.Key,
                                PartitionIndexes = [.. g.Select(tp => tp.Partition).Order()],
                            })],
                        },
                    ],
                };
                var response = await _sendMarkers(request, _stopping.Token);
                var retry = false;
                foreach (var topic in response.Markers.SelectMany(m => m.Topics))
                {
                    foreach (var result in topic.Partitions)
                    {
                        var tp = new TopicPartition(topic.Name, result.PartitionIndex);
                        switch ((ErrorCode)result.ErrorCode)
                        {
                            case ErrorCode.None:
                            case ErrorCode.UnknownTopicOrPartition:
                            // The partition has moved past this producer epoch or coordinator: nothing more can be written there.
                            case ErrorCode.InvalidProducerEpoch:
                            case ErrorCode.TransactionCoordinatorFenced:
                                remaining.Remove(tp);
                                lock (shard.Context.SyncRoot)
                                {
                                    metadata.RemovePartition(tp);
                                }
                                if ((ErrorCode)result.ErrorCode != ErrorCode.None)
                                {
                                    TransactionLogMessages.MarkerDropped(_logger, metadata.TransactionalId, tp.ToString(), (ErrorCode)result.ErrorCode);
                                }
                                break;
                            default:
                                retry = true;
                                break;
                        }
                    }
                }
                if (retry)
                {
                    await Task.Delay(backoff, _time, _stopping.Token);
                    backoff = TimeSpan.FromMilliseconds(Math.Min(backoff.TotalMilliseconds * 2, 1000));
                }
            }
            if (shard.Context.State != CoordinatorState.Active)
            {
                return;
            }
            await CompleteAsync(shard, metadata, plan.Completion);
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            TransactionLogMessages.MarkersFailed(_logger, metadata.TransactionalId, e);
        }
    }

    /// <summary>Writes the CompleteCommit/CompleteAbort record; a failed write is retried, as the transaction cannot stay half-done.</summary>
    private async Task CompleteAsync(TransactionCoordinatorShard shard, TransactionMetadata metadata, TxnTransitMetadata completion)
    {
        while (!_stopping.IsCancellationRequested)
        {
            var error = await _runtime.RunAsync(async () =>
            {
                Task<ErrorCode> written;
                lock (shard.Context.SyncRoot)
                {
                    if (shard.Context.State != CoordinatorState.Active)
                    {
                        return ErrorCode.None;
                    }
                    written = shard.Context.Write([new TransactionRecord(metadata.TransactionalId, completion)], null);
                }
                var outcome = await written;
                if (outcome == ErrorCode.None)
                {
                    lock (shard.Context.SyncRoot)
                    {
                        metadata.CompleteTransitionTo(completion);
                    }
                }
                return outcome;
            }, _stopping.Token);
            if (error == ErrorCode.None)
            {
                return;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(100), _time, _stopping.Token);
        }
    }

    // ---- Timeouts and expiry ----

    /// <summary>Kafka's <c>abortTimedOutTransactions</c>: Ongoing transactions past their timeout are fenced and aborted.</summary>
    public async Task<int> AbortTimedOutTransactionsAsync()
    {
        var aborted = 0;
        foreach (var shard in _runtime.Shards.Values)
        {
            List<(string Id, long ProducerId)> timedOut;
            lock (shard.Context.SyncRoot)
            {
                if (shard.Context.State != CoordinatorState.Active)
                {
                    continue;
                }
                var now = NowMs;
                timedOut = [.. shard.Transactions.Where(t => TransactionDecisions.IsTimedOut(t, now)).Select(t => (t.TransactionalId, t.ProducerId))];
            }
            foreach (var (id, producerId) in timedOut)
            {
                try
                {
                    if (await AbortTimedOutAsync(shard, id, producerId))
                    {
                        aborted++;
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    TransactionLogMessages.MarkersFailed(_logger, id, e);
                }
            }
        }
        return aborted;
    }

    private async Task<bool> AbortTimedOutAsync(TransactionCoordinatorShard shard, string transactionalId, long producerId)
    {
        if (await SpareProducerIdAsync(_stopping.Token) is not { } spare)
        {
            return false;
        }
        return await DecideAsync(shard.Context.PartitionIndex, _ => false, current =>
        {
            if (current.Get(transactionalId) is not { } metadata
                || TransactionDecisions.AbortTimedOut(metadata, producerId, Once(spare), _options.Decisions, NowMs) is not { Transit: { } transit } decision)
            {
                return (false, null);
            }
            TransactionLogMessages.AbortingTimedOut(_logger, transactionalId, metadata.ProducerId, metadata.TxnTimeoutMs);
            return (false, new Transition<bool>(metadata, transit, decision.IsEpochFence, aborted =>
            {
                StartMarkers(current, aborted);
                return true;
            }, _ => false));
        }, _stopping.Token);
    }

    /// <summary>Kafka's <c>removeExpiredTransactionalIds</c>: ids idle past <c>transactional.id.expiration.ms</c> get a tombstone and are forgotten.</summary>
    public async Task<int> ExpireTransactionalIdsAsync()
    {
        var expired = 0;
        foreach (var shard in _runtime.Shards.Values)
        {
            try
            {
                expired += await _runtime.RunAsync(async () =>
                {
                    List<(TransactionMetadata Metadata, TxnTransitMetadata Transit)> due;
                    Task<ErrorCode> written;
                    lock (shard.Context.SyncRoot)
                    {
                        if (shard.Context.State != CoordinatorState.Active)
                        {
                            return 0;
                        }
                        var now = NowMs;
                        due = [.. shard.Transactions.Where(t => TransactionDecisions.ShouldExpire(t, _options.Decisions, now)).ToList()
                            .Select(t => (t, TransactionDecisions.Expire(t).Transit))];
                        if (due.Count == 0)
                        {
                            return 0;
                        }
                        written = shard.Context.Write([.. due.Select(d => new TransactionRecord(d.Metadata.TransactionalId, null))], null);
                    }
                    var error = await written;
                    lock (shard.Context.SyncRoot)
                    {
                        foreach (var (metadata, transit) in due)
                        {
                            if (error != ErrorCode.None)
                            {
                                metadata.AbortPendingTransition();
                            }
                            else if (metadata.PendingState == TransactionState.Dead && metadata.ProducerEpoch == transit.ProducerEpoch)
                            {
                                shard.Remove(metadata.TransactionalId);
                            }
                        }
                    }
                    return error == ErrorCode.None ? due.Count : 0;
                }, _stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return expired;
            }
        }
        return expired;
    }

    // ---- Reads ----

    /// <summary>DescribeTransactions: each id's state, or NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS / TRANSACTIONAL_ID_NOT_FOUND.</summary>
    public DescribeTransactionsResponse.TransactionStateData Describe(string transactionalId)
    {
        var answer = new DescribeTransactionsResponse.TransactionStateData { TransactionalId = transactionalId, TransactionState = "", ProducerId = -1, ProducerEpoch = -1 };
        var (shard, error) = _runtime.ShardFor(PartitionFor(transactionalId));
        if (shard is null)
        {
            answer.ErrorCode = (short)error;
            return answer;
        }
        lock (shard.Context.SyncRoot)
        {
            if (shard.Get(transactionalId) is not { } metadata || metadata.State == TransactionState.Dead)
            {
                answer.ErrorCode = (short)ErrorCode.TransactionalIdNotFound;
                return answer;
            }
            answer.TransactionState = metadata.State.Name();
            answer.TransactionTimeoutMs = metadata.TxnTimeoutMs;
            answer.TransactionStartTimeMs = metadata.TxnStartTimestamp;
            answer.ProducerId = metadata.ProducerId;
            answer.ProducerEpoch = metadata.ProducerEpoch;
            answer.Topics = [.. metadata.TopicPartitions.GroupBy(tp => tp.Topic, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => new DescribeTransactionsResponse.TopicData { Topic = g.Key, Partitions = [.. g.Select(tp => tp.Partition).Order()] })];
        }
        return answer;
    }

    /// <summary>
    /// ListTransactions (Kafka's <c>listTransactionStates</c>): the ids of every serving shard matching the filters (states
    /// by name, producer ids, and v1's minimum running time); COORDINATOR_LOAD_IN_PROGRESS while a shard loads.
    /// </summary>
    public (ErrorCode Error, List<ListTransactionsResponse.TransactionStateData> States, List<string> UnknownStates) List(IReadOnlyCollection<string> states,
        IReadOnlyCollection<long> producerIds, long durationFilterMs)
    {
        var known = Enum.GetValues<TransactionState>().Select(s => s.Name()).ToHashSet(StringComparer.Ordinal);
        var unknown = states.Where(s => !known.Contains(s)).ToList();
        var result = new List<ListTransactionsResponse.TransactionStateData>();
        var error = ErrorCode.None;
        var now = NowMs;
        foreach (var shard in _runtime.Shards.Values)
        {
            lock (shard.Context.SyncRoot)
            {
                if (shard.Context.State == CoordinatorState.Loading)
                {
                    error = ErrorCode.CoordinatorLoadInProgress;
                    continue;
                }
                foreach (var metadata in shard.Transactions)
                {
                    if (metadata.State == TransactionState.Dead
                        || (states.Count > 0 && !states.Contains(metadata.State.Name()))
                        || (producerIds.Count > 0 && !producerIds.Contains(metadata.ProducerId))
                        || (durationFilterMs >= 0 && (metadata.State != TransactionState.Ongoing || now - metadata.TxnStartTimestamp < durationFilterMs)))
                    {
                        continue;
                    }
                    result.Add(new ListTransactionsResponse.TransactionStateData
                    {
                        TransactionalId = metadata.TransactionalId,
                        ProducerId = metadata.ProducerId,
                        TransactionState = metadata.State.Name(),
                    });
                }
            }
        }
        return (error, result, unknown);
    }

    // ---- Helpers ----

    /// <summary>A producer id generator handing out the one id fetched for this decision.</summary>
    private static ProducerIdGenerator Once(long id) => (out long producerId) =>
    {
        producerId = id;
        return id >= 0 ? ErrorCode.None : ErrorCode.CoordinatorLoadInProgress;
    };

    /// <summary>Kafka's mapping of a failed <c>__transaction_state</c> append to what the client is told.</summary>
    private static ErrorCode WriteError(ErrorCode error) => GroupCoordinatorShard.GroupWriteError(error);

    public void Dispose()
    {
        _stopping.Cancel();
        _abortTimer.Dispose();
        _expiryTimer.Dispose();
        _runtime.Dispose();
        _stopping.Dispose();
    }
}

/// <summary>Transaction coordinator log lines; event ids 710-729 are stable.</summary>
internal static partial class TransactionLogMessages
{
    [LoggerMessage(EventId = 710, Level = LogLevel.Information, Message = "Aborting timed-out transaction {TransactionalId} of producer {ProducerId} (timeout {TimeoutMs} ms)")]
    public static partial void AbortingTimedOut(ILogger logger, string transactionalId, long producerId, int timeoutMs);

    [LoggerMessage(EventId = 711, Level = LogLevel.Warning, Message = "Transaction {TransactionalId}: marker for {Partition} not written ({Error}); the partition is dropped from the transaction")]
    public static partial void MarkerDropped(ILogger logger, string transactionalId, string partition, ErrorCode error);

    [LoggerMessage(EventId = 712, Level = LogLevel.Error, Message = "Transaction {TransactionalId}: writing markers failed")]
    public static partial void MarkersFailed(ILogger logger, string transactionalId, Exception exception);
}
