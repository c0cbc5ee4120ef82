using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;
using Samsa.Storage;

namespace Samsa.Metadata.Log;

/// <summary>
/// The write path of cluster metadata, shaped as Kafka's <c>RaftClient</c>: the active controller appends batches,
/// which are not yet committed; once they are (flushed locally here; flushed by a majority of voters in a quorum),
/// every registered listener hears of them, in offset order, on the log's own thread
/// (<c>RaftClient.Listener.handleCommit</c>). Nothing waits on an fsync to append.
/// </summary>
public interface IMetadataLog : IDisposable
{
    /// <summary>Offset the next record will get.</summary>
    long EndOffset { get; }

    /// <summary>
    /// Appends <paramref name="records"/> atomically, as one batch, and returns the offset of its last record at once;
    /// the batch is committed later (<see cref="IMetadataLogListener.HandleCommit"/>). Called by one writer at a time.
    /// </summary>
    long Append(IReadOnlyList<MetadataRecord> records);

    /// <summary>
    /// Appends as the leader of <paramref name="epoch"/> (Kafka's <c>RaftClient.prepareAppend</c>); a log that is not
    /// a quorum has no epochs and appends as <see cref="Append(IReadOnlyList{MetadataRecord})"/>. Throws
    /// <see cref="Quorum.NotLeaderException"/> when this node does not lead that epoch.
    /// </summary>
    long Append(IReadOnlyList<MetadataRecord> records, int epoch) => Append(records);

    /// <summary>
    /// True for a quorum's log: its controller is active only while this node leads (it hears so through
    /// <see cref="IMetadataLogListener.HandleLeaderChange"/>). False for a single node's own log, whose controller
    /// is always active.
    /// </summary>
    bool RequiresElection => false;

    /// <summary>Adds a listener; listeners are called in the order they registered.</summary>
    void Register(IMetadataLogListener listener);

    /// <summary>Called after a commit with the image at that offset, so the log can snapshot it when due.</summary>
    void MaybeSnapshot(MetadataImage image);
}

/// <summary>One appended batch of metadata records and where it sits in the log.</summary>
public sealed record MetadataBatch(long BaseOffset, IReadOnlyList<MetadataRecord> Records, int SizeInBytes)
{
    /// <summary>The batch's last offset; a control batch (a quorum's LeaderChange) takes offsets but holds no metadata record.</summary>
    public long LastOffset { get; init; } = BaseOffset + Records.Count - 1;

    /// <summary>The epoch of the leader that appended it (0 in a single node's log).</summary>
    public int Epoch { get; init; }

    /// <summary>A control batch: no metadata records; in a quorum, the LeaderChange a new leader writes first in its epoch.</summary>
    public bool IsControl { get; init; }
}

/// <summary>Hears of committed metadata (Kafka's <c>RaftClient.Listener</c>).</summary>
public interface IMetadataLogListener
{
    /// <summary>Every record of <paramref name="batch"/> is committed; batches arrive in offset order, once each.</summary>
    void HandleCommit(MetadataBatch batch);

    /// <summary>The log can commit nothing more (its flush failed): whatever waits for a commit will not get one.</summary>
    void HandleFailure(Exception error);

    /// <summary>
    /// The committed state is replaced by a snapshot's <paramref name="image"/> (a quorum's replica starting from its
    /// latest snapshot, or installing its leader's); commits continue after it. Never called for a single node's log.
    /// </summary>
    void HandleLoadSnapshot(Image.MetadataImage image)
    {
    }

    /// <summary>The quorum's known leader or epoch changed (never called for a single node's log).</summary>
    void HandleLeaderChange(Quorum.LeaderAndEpoch leader)
    {
    }
}

/// <summary>Settings of the local metadata log, with the broker's config names.</summary>
public sealed record MetadataLogOptions
{
    public int SegmentBytes { get; init; } = 1024 * 1024 * 1024;            // metadata.log.segment.bytes
    public long SegmentMs { get; init; } = 7L * 24 * 60 * 60 * 1000;         // metadata.log.segment.ms
    public long MaxRecordBytesBetweenSnapshots { get; init; } = 20 * 1024 * 1024; // metadata.log.max.record.bytes.between.snapshots
    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>The clock that stamps each record batch.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}

/// <summary>
/// The single-node metadata log: a <see cref="PartitionLog"/> of topic <c>__cluster_metadata</c>, partition 0,
/// topic id <c>AAAAAAAAAAAAAAAAAAAAAQ</c> (Kafka's <c>Topic.CLUSTER_METADATA_TOPIC_ID</c>), under
/// <c>metadata.log.dir</c> (default: the first log dir). Each append is one record batch of records in
/// <see cref="MetadataRecordSerde"/> framing; the log's flusher thread fsyncs what was appended (several batches per
/// fsync when they come quickly), moves the high watermark, and tells the listeners. Snapshots of the whole
/// image are written beside it (<see cref="MetadataSnapshots"/>) every
/// <c>metadata.log.max.record.bytes.between.snapshots</c>, so a restart replays only the records after the newest one.
/// </summary>
public sealed class LocalMetadataLog : IMetadataLog
{
    private readonly PartitionLog _log;
    private readonly MetadataLogOptions _options;
    private long _bytesSinceSnapshot;

    private readonly object _gate = new();
    private readonly Queue<MetadataBatch> _uncommitted = new();
    private readonly Thread _flusher;
    private IMetadataLogListener[] _listeners = [];
    private bool _stopping;
    private Exception? _failure;

    private LocalMetadataLog(PartitionLog log, MetadataLogOptions options)
    {
        _log = log;
        _options = options;
        _flusher = new Thread(FlushLoop) { Name = "samsa-metadata-log-flusher", IsBackground = true };
        _flusher.Start();
    }

    public string Directory => _log.Directory;

    public long EndOffset => _log.LogEndOffset;

    /// <summary>Opens (creating) the log under <paramref name="metadataLogDir"/>.</summary>
    public static LocalMetadataLog Open(string metadataLogDir, MetadataLogOptions options)
    {
        var config = LogConfig.Default with
        {
            SegmentBytes = options.SegmentBytes,
            SegmentMs = options.SegmentMs,
            RetentionMs = -1,
            RetentionBytes = -1,
            // One commit is one batch; CreateTopics of thousands of partitions makes big ones.
            MaxMessageBytes = int.MaxValue / 2,
            MessageTimestampAfterMaxMs = long.MaxValue,
        };
        var log = PartitionLog.Open(metadataLogDir, TopicName.ClusterMetadata, 0, Uuid.MetadataTopicId, config, new LogOpenOptions { Logger = options.Logger });
        log.UpdateHighWatermark(log.LogEndOffset);
        return new LocalMetadataLog(log, options);
    }

    /// <summary>
    /// Rebuilds the image: newest snapshot first, then every record after it. Returns the image and how many log
    /// records were replayed (the part a snapshot bounds).
    /// </summary>
    public (MetadataImage Image, long ReplayedRecords) Load(MetadataImage initial)
    {
        var image = initial;
        var start = 0L;
        if (MetadataSnapshots.Latest(Directory) is { } snapshot)
        {
            var delta = new MetadataDelta(initial);
            foreach (var record in MetadataSnapshots.Read(snapshot.Path))
            {
                delta.Replay(record, snapshot.EndOffset - 1);
            }
            image = delta.Apply();
            start = snapshot.EndOffset;
        }
        start = Math.Max(start, _log.LogStartOffset);
        var replayed = 0L;
        var tail = new MetadataDelta(image);
        foreach (var (offset, record) in ReadFrom(start))
        {
            tail.Replay(record, offset);
            replayed++;
        }
        return (replayed == 0 ? image : tail.Apply(), replayed);
    }

    /// <summary>Every record at or after <paramref name="offset"/>, in order.</summary>
    public IEnumerable<(long Offset, MetadataRecord Record)> ReadFrom(long offset)
    {
        var position = offset;
        while (position < _log.LogEndOffset)
        {
            var read = _log.Read(position, 8 * 1024 * 1024, FetchIsolation.LogEnd);
            if (read.Records.IsEmpty)
            {
                yield break;
            }
            var bytes = read.Records.ToArray();
            var batches = DecodeBatches(bytes, position);
            if (batches.Count == 0)
            {
                throw new InvalidDataException($"Metadata log batch at offset {position} is larger than a read");
            }
            foreach (var entry in batches)
            {
                yield return entry;
                position = entry.Offset + 1;
            }
        }
    }

    private static List<(long Offset, MetadataRecord Record)> DecodeBatches(byte[] bytes, long minOffset)
    {
        var result = new List<(long, MetadataRecord)>();
        var position = 0;
        while (bytes.Length - position >= RecordBatch.HeaderSize)
        {
            var header = RecordBatchHeader.Read(bytes.AsSpan(position));
            if (position + header.SizeInBytes > bytes.Length)
            {
                break;
            }
            var memory = bytes.AsMemory(position, header.SizeInBytes);
            if (!header.IsControl)
            {
                foreach (var (offset, value) in Values(memory))
                {
                    if (offset >= minOffset)
                    {
                        result.Add((offset, MetadataRecordSerde.Deserialize(value)));
                    }
                }
            }
            position += header.SizeInBytes;
        }
        return result;
    }

    private static List<(long Offset, byte[] Value)> Values(ReadOnlyMemory<byte> batch)
    {
        var values = new List<(long, byte[])>();
        var view = new RecordBatchView(batch.Span);
        using var scratch = new PooledBuffer(1024);
        foreach (var record in view.GetRecords(scratch))
        {
            values.Add((view.Header.BaseOffset + record.OffsetDelta, record.Value.ToArray()));
        }
        return values;
    }

    public long Append(IReadOnlyList<MetadataRecord> records)
    {
        if (Volatile.Read(ref _failure) is { } failure)
        {
            throw new IOException("The metadata log failed to flush and takes no more appends", failure);
        }
        if (records.Count == 0)
        {
            return _log.LogEndOffset - 1;
        }
        var batch = EncodeBatch(records, 0, _options.Time.GetUtcNow().ToUnixTimeMilliseconds());
        var info = _log.Append(batch, leaderEpoch: 0);
        lock (_gate)
        {
            _uncommitted.Enqueue(new MetadataBatch(info.LastOffset - records.Count + 1, records, batch.Length));
            Monitor.Pulse(_gate);
        }
        return info.LastOffset;
    }

    public void Register(IMetadataLogListener listener)
    {
        lock (_gate)
        {
            _listeners = [.. _listeners, listener];
        }
    }

    /// <summary>
    /// The flusher: takes every batch appended since the last round, fsyncs once, moves the high watermark past them,
    /// and hands each to the listeners. A failed fsync leaves the data in doubt, so the log stops: the listeners are
    /// told and later appends are refused (Kafka halts the process instead).
    /// </summary>
    private void FlushLoop()
    {
        while (true)
        {
            MetadataBatch[] batches;
            IMetadataLogListener[] listeners;
            lock (_gate)
            {
                while (_uncommitted.Count == 0 && !_stopping)
                {
                    Monitor.Wait(_gate);
                }
                if (_uncommitted.Count == 0)
                {
                    return;
                }
                batches = [.. _uncommitted];
                _uncommitted.Clear();
                listeners = _listeners;
            }
            try
            {
                _log.Flush();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Volatile.Write(ref _failure, e);
                MetadataLogLog.FlushFailed(_options.Logger, e);
                foreach (var listener in listeners)
                {
                    listener.HandleFailure(e);
                }
                return;
            }
            _log.UpdateHighWatermark(batches[^1].LastOffset + 1);
            foreach (var batch in batches)
            {
                _bytesSinceSnapshot += batch.SizeInBytes;
                foreach (var listener in listeners)
                {
                    try
                    {
                        listener.HandleCommit(batch);
                    }
                    catch (Exception e)
                    {
                        // One listener's failure (say, a partition directory it could not create) is its own; the
                        // others, and the callers waiting for this commit, still hear of it.
                        MetadataLogLog.ListenerFailed(_options.Logger, listener.GetType().Name, batch.BaseOffset, e);
                    }
                }
            }
        }
    }

    /// <summary>One uncompressed v2 batch holding <paramref name="records"/> from <paramref name="baseOffset"/>.</summary>
    internal static byte[] EncodeBatch(IEnumerable<MetadataRecord> records, long baseOffset, long timestampMs)
    {
        using var builder = new RecordBatchBuilder { BaseOffset = baseOffset };
        foreach (var record in records)
        {
            builder.Append(timestampMs, null, MetadataRecordSerde.Serialize(record));
        }
        return builder.Build();
    }

    /// <summary>
    /// The quorum this log is, as DescribeQuorum reports it: one voter, this node, which leads; the high watermark is
    /// the end of what is flushed. Like Kafka's leader, it reports its own fetch and caught-up times as now.
    /// </summary>
    public DescribeQuorumResponse.PartitionData DescribeQuorum(int nodeId, Uuid directoryId, long nowMs)
    {
        var end = _log.LogEndOffset;
        return new DescribeQuorumResponse.PartitionData
        {
            PartitionIndex = 0,
            LeaderId = nodeId,
            LeaderEpoch = _log.LeaderEpochCache.LatestEpoch ?? 0,
            HighWatermark = _log.HighWatermark,
            CurrentVoters =
            [
                new DescribeQuorumResponse.ReplicaState
                {
                    ReplicaId = nodeId,
                    ReplicaDirectoryId = directoryId,
                    LogEndOffset = end,
                    LastFetchTimestamp = nowMs,
                    LastCaughtUpTimestamp = nowMs,
                },
            ],
        };
    }

    public void MaybeSnapshot(MetadataImage image)
    {
        if (_bytesSinceSnapshot < _options.MaxRecordBytesBetweenSnapshots || image.Offset < 0)
        {
            return;
        }
        MetadataSnapshots.Write(Directory, image, _options.Time.GetUtcNow().ToUnixTimeMilliseconds());
        _bytesSinceSnapshot = 0;
    }

    /// <summary>Commits what was appended (the listeners hear of it), then stops the flusher and closes the log.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_stopping)
            {
                return;
            }
            _stopping = true;
            Monitor.Pulse(_gate);
        }
        if (Environment.CurrentManagedThreadId != _flusher.ManagedThreadId)
        {
            _flusher.Join();
        }
        _log.Dispose();
    }
}

/// <summary>Log lines of the metadata log; event ids 800-819 are stable.</summary>
internal static partial class MetadataLogLog
{
    [LoggerMessage(EventId = 800, Level = LogLevel.Critical, Message = "Flushing the metadata log failed; it takes no more appends and the node must be restarted")]
    public static partial void FlushFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 801, Level = LogLevel.Error, Message = "Metadata listener {Listener} failed on the batch at offset {Offset}")]
    public static partial void ListenerFailed(ILogger logger, string listener, long offset, Exception exception);
}
