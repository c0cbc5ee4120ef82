using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;
using Samsa.Storage;

namespace Samsa.Metadata.Log;

/// <summary>
/// The write path of cluster metadata. One node appends to its local <c>__cluster_metadata-0</c> log; the
/// controller quorum of a later issue replicates the same records and implements this same contract.
/// </summary>
public interface IMetadataLog : IDisposable
{
    /// <summary>Offset the next record will get.</summary>
    long EndOffset { get; }

    /// <summary>
    /// Appends <paramref name="records"/> atomically, as one batch, and returns once they are committed (flushed
    /// locally here; replicated to a majority in a quorum). Returns the offset of the last record.
    /// </summary>
    long Append(IReadOnlyList<MetadataRecord> records);

    /// <summary>Called after a commit with the image at that offset, so the log can snapshot it when due.</summary>
    void MaybeSnapshot(MetadataImage image);
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
/// <c>metadata.log.dir</c> (default: the first log dir). Each commit is one record batch of records in
/// <see cref="MetadataRecordSerde"/> framing, flushed before <see cref="Append"/> returns. Snapshots of the whole
/// image are written beside it (<see cref="MetadataSnapshots"/>) every
/// <c>metadata.log.max.record.bytes.between.snapshots</c>, so a restart replays only the records after the newest one.
/// </summary>
public sealed class LocalMetadataLog : IMetadataLog
{
    private readonly PartitionLog _log;
    private readonly MetadataLogOptions _options;
    private long _bytesSinceSnapshot;

    private LocalMetadataLog(PartitionLog log, MetadataLogOptions options)
    {
        _log = log;
        _options = options;
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
        if (records.Count == 0)
        {
            return _log.LogEndOffset - 1;
        }
        var batch = EncodeBatch(records, 0, _options.Time.GetUtcNow().ToUnixTimeMilliseconds());
        var info = _log.Append(batch, leaderEpoch: 0);
        _log.Flush();
        _log.UpdateHighWatermark(info.LastOffset + 1);
        _bytesSinceSnapshot += batch.Length;
        return info.LastOffset;
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
    /// The quorum this log is, as DescribeQuorum reports it: one voter, this node, which leads; every append is flushed
    /// before it returns, so the high watermark is the log end. Like Kafka's leader, it reports its own fetch and
    /// caught-up times as now.
    /// </summary>
    public DescribeQuorumResponse.PartitionData DescribeQuorum(int nodeId, Uuid directoryId, long nowMs)
    {
        var end = _log.LogEndOffset;
        return new DescribeQuorumResponse.PartitionData
        {
            PartitionIndex = 0,
            LeaderId = nodeId,
            LeaderEpoch = _log.LeaderEpochCache.LatestEpoch ?? 0,
            HighWatermark = end,
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

    public void Dispose() => _log.Dispose();
}
