using Microsoft.Extensions.Logging;
using Samsa.Protocol;

namespace Samsa.Broker.Coordinator;

/// <summary>
/// The runtime's part of one shard (Kafka's <c>CoordinatorContext</c>): the lock guarding it, its
/// <see cref="CoordinatorState"/>, and the write path, which appends a write's records, waits for the high
/// watermark to pass them, and reverts the write's in-memory changes when either fails.
/// </summary>
/// <remarks>
/// <para>Order of a write (under <see cref="SyncRoot"/>): apply the changes in memory, recording their undo;
/// append; on an append error undo at once; otherwise wait for the commit outside the lock. When the wait ends
/// the lock is taken again (thread pool): success commits this write and every earlier one (the high watermark
/// only grows); failure undoes this write and every later uncommitted one, newest first, so the shard is as it
/// was before this write's offset (Kafka's revert to a snapshot), and each of them is answered with the error.</para>
/// <para>A write whose records the operation already applied itself (no <c>apply</c>: Kafka's
/// <c>replayRecords=false</c>) has nothing to undo and is answered with its own outcome only.</para>
/// <para>Caveat: a commit wait that times out leaves the records in the log, and they may still commit later;
/// the reverted shard then lacks them until the partition is loaded again (a leader change). Kafka keeps the
/// state on a timeout instead; the issue asks for revert on any failed write.</para>
/// </remarks>
public sealed class CoordinatorContext<TRecord>
{
    private readonly ICoordinatorLog<TRecord> _log;
    private readonly ILogger _logger;
    private readonly string _topic;
    private readonly LinkedList<PendingWrite> _uncommitted = new();
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ICoordinatorShard<TRecord>? _shard;

    public CoordinatorContext(string topic, int partitionIndex, ICoordinatorLog<TRecord> log, ILogger logger)
    {
        _topic = topic;
        PartitionIndex = partitionIndex;
        _log = log;
        _logger = logger;
    }

    /// <summary>The partition of the internal topic this shard owns.</summary>
    public int PartitionIndex { get; }

    /// <summary>Guards the shard: requests, timer callbacks, commit callbacks and replay all take it.</summary>
    public Lock SyncRoot { get; } = new();

    public CoordinatorState State { get; private set; } = CoordinatorState.Loading;

    /// <summary>Completes when the shard leaves <see cref="CoordinatorState.Loading"/> (serving, or closed before it served).</summary>
    public Task Loaded => _loaded.Task;

    /// <summary>The error a request for this shard gets before it touches any state, or None when it is serving.</summary>
    public ErrorCode Availability => State switch
    {
        CoordinatorState.Active => ErrorCode.None,
        CoordinatorState.Loading => ErrorCode.CoordinatorLoadInProgress,
        _ => ErrorCode.NotCoordinator,
    };

    /// <summary>Writes appended with changes to undo whose commit is not known yet (tests and diagnostics).</summary>
    public int UncommittedWrites
    {
        get
        {
            lock (SyncRoot)
            {
                return _uncommitted.Count;
            }
        }
    }

    /// <summary>Attaches the shard this context serves (once, right after creating it).</summary>
    public void Bind(ICoordinatorShard<TRecord> shard)
    {
        if (Interlocked.CompareExchange(ref _shard, shard, null) is not null)
        {
            throw new InvalidOperationException("The context already has a shard");
        }
    }

    private ICoordinatorShard<TRecord> Shard => _shard ?? throw new InvalidOperationException("No shard bound to the context");

    /// <summary>Loading is over: the shard's <see cref="ICoordinatorShard{TRecord}.OnLoaded"/> runs and it serves. No-op once closed.</summary>
    public void Activate(long records, Metadata.Image.MetadataImage? image)
    {
        lock (SyncRoot)
        {
            if (State != CoordinatorState.Loading)
            {
                return;
            }
            Shard.OnLoaded(records, image);
            State = CoordinatorState.Active;
            _loaded.TrySetResult();
        }
    }

    /// <summary>Leadership lost or broker stopping: the shard unloads; writes still waiting get their commit's outcome without revert.</summary>
    public void Close()
    {
        lock (SyncRoot)
        {
            if (State == CoordinatorState.Closed)
            {
                return;
            }
            State = CoordinatorState.Closed;
            _loaded.TrySetResult();
            _shard?.OnUnloaded();
        }
    }

    /// <summary>Writes <paramref name="records"/> and replays them into the shard first (revertible). Call under <see cref="SyncRoot"/>.</summary>
    public Task<ErrorCode> WriteAndReplay(IReadOnlyList<TRecord> records) =>
        Write(records, changes =>
        {
            foreach (var record in records)
            {
                Shard.Replay(record, changes);
            }
        });

    /// <summary>
    /// Applies <paramref name="apply"/> (the write's in-memory changes, each registering its undo), appends
    /// <paramref name="records"/>, and returns a task completing with None once the high watermark passes them, or
    /// with the append's or the commit wait's error after the changes have been undone. Without
    /// <paramref name="apply"/> the caller changed the shard itself and nothing is undone. Call under <see cref="SyncRoot"/>.
    /// </summary>
    public Task<ErrorCode> Write(IReadOnlyList<TRecord> records, Action<CoordinatorChanges>? apply) =>
        WriteCore(records.Count == 0 ? null : () => _log.Append(PartitionIndex, records), apply);

    /// <summary>
    /// Kafka's transactional write (<c>scheduleTransactionalWriteOperation</c>'s append): <paramref name="records"/>
    /// are replayed into the shard as the producer's pending records (revertible), then appended as one
    /// transactional batch of (<paramref name="producerId"/>, <paramref name="producerEpoch"/>). <paramref name="also"/>
    /// runs first with the same changes (a simple group the write creates). Completes as <see cref="Write"/>. The
    /// shard must implement <see cref="ITransactionalCoordinatorShard{TRecord}"/>. Call under <see cref="SyncRoot"/>.
    /// </summary>
    public Task<ErrorCode> WriteTransactional(long producerId, short producerEpoch, IReadOnlyList<TRecord> records, Action<CoordinatorChanges>? also = null)
    {
        var shard = TransactionalShard;
        return WriteCore(records.Count == 0 ? null : () => _log.AppendTransactional(PartitionIndex, producerId, producerEpoch, records), changes =>
        {
            also?.Invoke(changes);
            foreach (var record in records)
            {
                shard.ReplayTransactional(producerId, producerEpoch, record, changes);
            }
        });
    }

    /// <summary>
    /// Kafka's <c>scheduleTransactionCompletion</c> append: replays the end of the producer's transaction into the
    /// shard (pending records become committed or are dropped, revertible) and appends its marker (a control batch
    /// with <paramref name="coordinatorEpoch"/>) to this partition; completes with None once the marker commits, or
    /// with the error after the shard is put back. Call under <see cref="SyncRoot"/>.
    /// </summary>
    public Task<ErrorCode> CompleteTransaction(long producerId, short producerEpoch, int coordinatorEpoch, bool commit)
    {
        var shard = TransactionalShard;
        return WriteCore(() => _log.AppendEndTransactionMarker(PartitionIndex, producerId, producerEpoch, coordinatorEpoch, commit),
            changes => shard.ReplayEndTransactionMarker(producerId, producerEpoch, commit, changes));
    }

    private ITransactionalCoordinatorShard<TRecord> TransactionalShard => Shard as ITransactionalCoordinatorShard<TRecord>
        ?? throw new InvalidOperationException("The shard does not take part in transactions");

    /// <summary>The write path shared by plain, transactional and marker writes; <paramref name="append"/> null: nothing to append.</summary>
    private Task<ErrorCode> WriteCore(Func<(ErrorCode Error, long EndOffset)>? append, Action<CoordinatorChanges>? apply)
    {
        CoordinatorChanges? changes = null;
        if (apply is not null)
        {
            changes = new CoordinatorChanges();
            try
            {
                apply(changes);
            }
            catch
            {
                changes.Revert();
                throw;
            }
        }
        if (append is null)
        {
            changes?.Commit();
            return Task.FromResult(ErrorCode.None);
        }
        ErrorCode error;
        long endOffset;
        try
        {
            (error, endOffset) = append();
        }
        catch
        {
            changes?.Revert();
            throw;
        }
        if (error != ErrorCode.None)
        {
            CoordinatorLog.AppendFailed(_logger, _topic, PartitionIndex, error);
            changes?.Revert();
            return Task.FromResult(error);
        }
        var wait = _log.WaitForCommitAsync(PartitionIndex, endOffset);
        if (changes is null)
        {
            return wait;
        }
        var pending = new PendingWrite(endOffset, changes);
        pending.Node = _uncommitted.AddLast(pending);
        if (wait.IsCompleted)
        {
            Settle(pending, Outcome(wait));
        }
        else
        {
            wait.ContinueWith(t =>
            {
                lock (SyncRoot)
                {
                    Settle(pending, Outcome(t));
                }
            }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
        return pending.Completion.Task;
    }

    private static ErrorCode Outcome(Task<ErrorCode> wait) => wait.IsCompletedSuccessfully ? wait.Result : ErrorCode.UnknownServerError;

    /// <summary>The commit wait of <paramref name="pending"/> ended. Under <see cref="SyncRoot"/>.</summary>
    private void Settle(PendingWrite pending, ErrorCode error)
    {
        if (pending.Node is null)
        {
            // Already settled: committed by a later write's commit, or reverted by an earlier write's failure.
            return;
        }
        if (State == CoordinatorState.Closed)
        {
            // The shard's state is gone; nothing to undo or commit, the caller gets the outcome.
            Remove(pending);
            pending.Completion.TrySetResult(error);
            return;
        }
        if (error == ErrorCode.None)
        {
            while (_uncommitted.First is { } first && first.Value.EndOffset <= pending.EndOffset)
            {
                var committed = first.Value;
                Remove(committed);
                try
                {
                    committed.Changes.Commit();
                }
                finally
                {
                    committed.Completion.TrySetResult(ErrorCode.None);
                }
            }
            return;
        }
        CoordinatorLog.CommitFailed(_logger, _topic, PartitionIndex, pending.EndOffset, error, _uncommitted.Count);
        while (_uncommitted.Last is { } last)
        {
            var reverted = last.Value;
            Remove(reverted);
            try
            {
                reverted.Changes.Revert();
            }
            finally
            {
                reverted.Completion.TrySetResult(error);
            }
            if (ReferenceEquals(reverted, pending))
            {
                break;
            }
        }
    }

    private void Remove(PendingWrite pending)
    {
        if (pending.Node is { } node)
        {
            _uncommitted.Remove(node);
            pending.Node = null;
        }
    }

    private sealed class PendingWrite
    {
        public PendingWrite(long endOffset, CoordinatorChanges changes)
        {
            EndOffset = endOffset;
            Changes = changes;
        }

        public long EndOffset { get; }

        public CoordinatorChanges Changes { get; }

        public TaskCompletionSource<ErrorCode> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<PendingWrite>? Node { get; set; }
    }
}
