using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Metadata.Quorum;

namespace Samsa.Metadata.Log;

/// <summary>Settings of a node's replica of the metadata quorum.</summary>
public sealed record RaftMetadataLogOptions
{
    public required int NodeId { get; init; }

    /// <summary>Where <c>__cluster_metadata-0</c> and <c>quorum-state</c> live: <c>metadata.log.dir</c>, else the first log dir.</summary>
    public required string MetadataLogDir { get; init; }

    public required QuorumConfig Quorum { get; init; }

    public ILogger Logger { get; init; } = NullLogger.Instance;

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>metadata.log.max.record.bytes.between.snapshots: committed record bytes after which the image is snapshotted.</summary>
    public long MaxRecordBytesBetweenSnapshots { get; init; } = 20 * 1024 * 1024;

    /// <summary>Seeds the election timeouts' randomness; null: a fresh seed per process.</summary>
    public int? RandomSeed { get; init; }
}

/// <summary>
/// The metadata log of a node in a KRaft quorum (Kafka's <c>KafkaRaftManager</c>): this node's <see cref="RaftClient"/>
/// on <c>__cluster_metadata-0</c> (<see cref="PartitionRaftLog"/>) and <c>quorum-state</c>, driven by its own thread,
/// <c>samsa-raft-io</c> (Kafka's <c>kafka-raft-io-thread</c>). Voters elect a leader and replicate; observers (broker-only
/// nodes) fetch. Committed batches reach the registered <see cref="IMetadataLogListener"/>s on that thread, in offset order.
/// </summary>
/// <remarks>
/// The Raft client is single-threaded: every call into it (polls, inbound messages, appends) runs on the io thread.
/// Other threads hand work over through <see cref="Deliver"/> and <see cref="Append(IReadOnlyList{MetadataRecord}, int)"/>,
/// which wake the thread; the controller's append waits only for the io thread to take the batch into the log (no
/// fsync: the next poll flushes it, and the commit comes later through the listeners).
/// </remarks>
public sealed class RaftMetadataLog : IMetadataLog, IRaftListener
{
    private readonly RaftMetadataLogOptions _options;
    private readonly PartitionRaftLog _log;
    private readonly RaftClient _raft;
    private readonly Thread _io;
    private readonly ConcurrentQueue<(Action Run, Action<Exception> Fail)> _work = new();
    private readonly AutoResetEvent _wake = new(false);
    private readonly Lock _listenersLock = new();
    private IMetadataLogListener[] _listeners = [];
    private volatile bool _stopping;
    private volatile int _leaderId = -1;
    private volatile int _leaderEpoch = -1;
    private long _committedEnd;
    private long _bytesSinceSnapshot;
    private long _votersOffset = long.MinValue;
    private volatile IReadOnlyList<QuorumVoter>? _voters;

    private RaftMetadataLog(RaftMetadataLogOptions options, PartitionRaftLog log, IRaftNetworkChannel channel)
    {
        _options = options;
        _log = log;
        var store = new FileQuorumStateStore(log.Directory, options.Quorum.Voters);
        var random = options.RandomSeed is { } seed ? new Random(seed) : new Random();
        _raft = new RaftClient(options.NodeId, options.Quorum, log, store, channel, options.Time, random);
        _raft.Transitioned += (from, to) => RaftMetadataLogLog.Transitioned(options.Logger, options.NodeId, from.ToString(), to.ToString());
        _raft.Register(this);
        _io = new Thread(Run) { Name = "samsa-raft-io", IsBackground = true };
    }

    /// <summary>Opens the log and the election state under the metadata log dir; call <see cref="Start"/> once the listeners are registered.</summary>
    public static RaftMetadataLog Open(RaftMetadataLogOptions options, IRaftNetworkChannel channel)
    {
        var log = PartitionRaftLog.Open(options.MetadataLogDir, options.Logger);
        return new RaftMetadataLog(options, log, channel);
    }

    public int NodeId => _options.NodeId;

    /// <summary>The leader this node knows of and its epoch ((-1, -1) before it knows any).</summary>
    public LeaderAndEpoch Leader => new(_leaderId, _leaderEpoch);

    /// <summary>
    /// The voters as this replica's log has them (KIP-853 changes included), with the directory ids and endpoints it
    /// knows; refreshed after every poll, readable from any thread.
    /// </summary>
    public IReadOnlyList<QuorumVoter> Voters => _voters ?? [];

    /// <summary>The end of the committed prefix this node has handed to its listeners.</summary>
    public long CommittedEndOffset => Interlocked.Read(ref _committedEnd);

    public long EndOffset => _log.EndOffset;

    public bool RequiresElection => true;

    public void Register(IMetadataLogListener listener)
    {
        lock (_listenersLock)
        {
            _listeners = [.. _listeners, listener];
        }
    }

    /// <summary>Reads the election state and starts the io thread.</summary>
    public void Start()
    {
        _raft.Initialize();
        _io.Start();
    }

    /// <summary>Hands an inbound request or response to the quorum (any thread).</summary>
    public void Deliver(RaftMessage message)
    {
        _raft.Deliver(message);
        _wake.Set();
    }

    public long Append(IReadOnlyList<MetadataRecord> records) =>
        throw new InvalidOperationException("A quorum's metadata log takes appends only for a leader epoch");

    /// <summary>
    /// Appends <paramref name="records"/> as one batch if this node leads <paramref name="epoch"/>, returning the last
    /// offset at once (the commit comes through the listeners). Throws <see cref="NotLeaderException"/> otherwise.
    /// </summary>
    public long Append(IReadOnlyList<MetadataRecord> records, int epoch)
    {
        if (records.Count == 0)
        {
            return _log.EndOffset - 1;
        }
        var values = records.Select(MetadataRecordSerde.Serialize).ToArray();
        var appended = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(() => appended.SetResult(_raft.ScheduleAppend(epoch, values).LastOffset), e => appended.TrySetException(e));
        return appended.Task.GetAwaiter().GetResult();
    }

    /// <summary>
    /// Runs <paramref name="action"/> on the io thread, where the Raft client may be touched; completes with its
    /// result. Used for DescribeQuorum and the like.
    /// </summary>
    public Task<T> InvokeAsync<T>(Func<RaftClient, T> action)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(() => done.SetResult(action(_raft)), e => done.TrySetException(e));
        return done.Task;
    }

    /// <summary>Queues work for the io thread; <paramref name="fail"/> is called instead if it throws or the log closes first.</summary>
    private void Post(Action run, Action<Exception> fail)
    {
        _work.Enqueue((run, fail));
        _wake.Set();
        if (_stopping)
        {
            FailQueuedWork();
        }
    }

    private void FailQueuedWork()
    {
        while (_work.TryDequeue(out var work))
        {
            work.Fail(new NotLeaderException($"Node {NodeId}'s metadata log is closed"));
        }
    }

    /// <summary>
    /// Called on the io thread after each committed batch reached the image: once enough record bytes have committed
    /// since the last snapshot, the image is written as Kafka's <c>.checkpoint</c> and the log before it dropped.
    /// </summary>
    public void MaybeSnapshot(Image.MetadataImage image)
    {
        if (_bytesSinceSnapshot < _options.MaxRecordBytesBetweenSnapshots || image.Offset < 0)
        {
            return;
        }
        var records = MetadataSnapshots.Records(image).Select(MetadataRecordSerde.Serialize).ToList();
        var id = _raft.CreateSnapshot(image.Offset + 1, records);
        _bytesSinceSnapshot = 0;
        RaftMetadataLogLog.SnapshotWritten(_options.Logger, NodeId, id.Offset, id.Epoch, records.Count);
    }

    private void Run()
    {
        while (!_stopping)
        {
            long wait;
            try
            {
                while (_work.TryDequeue(out var work))
                {
                    try
                    {
                        work.Run();
                    }
                    catch (Exception e) when (e is NotLeaderException or ArgumentException)
                    {
                        work.Fail(e);
                    }
                }
                wait = _raft.Poll();
                if (_raft.VotersOffset != _votersOffset || _voters is null)
                {
                    _votersOffset = _raft.VotersOffset;
                    _voters = _raft.LatestVoters;
                }
            }
            catch (Exception e)
            {
                // The quorum's state may be inconsistent now; Kafka halts the process here. We stop the quorum and say so.
                RaftMetadataLogLog.PollFailed(_options.Logger, NodeId, e);
                foreach (var listener in Listeners())
                {
                    listener.HandleFailure(e);
                }
                _stopping = true;
                break;
            }
            if (wait > 0)
            {
                _wake.WaitOne(TimeSpan.FromMilliseconds(Math.Min(wait, 1000)));
            }
        }
        FailQueuedWork();
    }

    private IMetadataLogListener[] Listeners()
    {
        lock (_listenersLock)
        {
            return _listeners;
        }
    }

    void IRaftListener.HandleCommit(CommittedBatch batch)
    {
        MetadataBatch metadata;
        if (batch.IsControl)
        {
            metadata = new MetadataBatch(batch.BaseOffset, [], 0) { LastOffset = batch.LastOffset, Epoch = batch.Epoch, IsControl = true };
        }
        else
        {
            var records = new MetadataRecord[batch.Records.Count];
            var size = 0;
            for (var i = 0; i < records.Length; i++)
            {
                records[i] = MetadataRecordSerde.Deserialize(batch.Records[i]);
                size += batch.Records[i].Length;
            }
            metadata = new MetadataBatch(batch.BaseOffset, records, size) { LastOffset = batch.LastOffset, Epoch = batch.Epoch };
            _bytesSinceSnapshot += size;
        }
        foreach (var listener in Listeners())
        {
            try
            {
                listener.HandleCommit(metadata);
            }
            catch (Exception e)
            {
                MetadataLogLog.ListenerFailed(_options.Logger, listener.GetType().Name, batch.BaseOffset, e);
            }
        }
        Interlocked.Exchange(ref _committedEnd, batch.LastOffset + 1);
    }

    void IRaftListener.HandleLoadSnapshot(OffsetAndEpoch id, IReadOnlyList<byte[]> records)
    {
        // The snapshot replaces the whole image: it is rebuilt from empty, as at offset id.Offset - 1.
        var delta = new Image.MetadataDelta(Image.MetadataImage.Empty(_options.Quorum.ClusterId));
        foreach (var value in records)
        {
            delta.Replay(MetadataRecordSerde.Deserialize(value), id.Offset - 1);
        }
        var image = delta.Apply() with { Offset = id.Offset - 1 };
        foreach (var listener in Listeners())
        {
            listener.HandleLoadSnapshot(image);
        }
        Interlocked.Exchange(ref _committedEnd, id.Offset);
        _bytesSinceSnapshot = 0;
    }

    void IRaftListener.HandleLeaderChange(LeaderAndEpoch leader)
    {
        _leaderId = leader.LeaderId;
        _leaderEpoch = leader.Epoch;
        RaftMetadataLogLog.LeaderChanged(_options.Logger, NodeId, leader.LeaderId, leader.Epoch);
        foreach (var listener in Listeners())
        {
            listener.HandleLeaderChange(leader);
        }
    }

    /// <summary>Stops the io thread and closes the log. Appends not yet committed stay in the log for the next leader to settle.</summary>
    public void Dispose()
    {
        if (_stopping && !_io.IsAlive)
        {
            return;
        }
        _stopping = true;
        _wake.Set();
        if (_io.IsAlive && Environment.CurrentManagedThreadId != _io.ManagedThreadId)
        {
            _io.Join();
        }
        FailQueuedWork();
        _log.Dispose();
    }
}

/// <summary>Log lines of the quorum's metadata log; event ids 820-839 are stable.</summary>
internal static partial class RaftMetadataLogLog
{
    [LoggerMessage(EventId = 820, Level = LogLevel.Information, Message = "Node {NodeId}: quorum state {From} -> {To}")]
    public static partial void Transitioned(ILogger logger, int nodeId, string from, string to);

    [LoggerMessage(EventId = 821, Level = LogLevel.Information, Message = "Node {NodeId}: the metadata quorum's leader is {LeaderId} in epoch {Epoch}")]
    public static partial void LeaderChanged(ILogger logger, int nodeId, int leaderId, int epoch);

    [LoggerMessage(EventId = 823, Level = LogLevel.Information, Message = "Node {NodeId}: wrote the metadata snapshot {EndOffset}-{Epoch} ({Records} records); the log before it is dropped")]
    public static partial void SnapshotWritten(ILogger logger, int nodeId, long endOffset, int epoch, int records);

    [LoggerMessage(EventId = 822, Level = LogLevel.Critical, Message = "Node {NodeId}: the metadata quorum's poll failed; this node's quorum replica has stopped and the node must be restarted")]
    public static partial void PollFailed(ILogger logger, int nodeId, Exception exception);
}
