using Samsa.Protocol;
using Samsa.Storage.Checkpoints;

namespace Samsa.Storage;

/// <summary>What a fetch may see: everything written, up to the high watermark, or up to the last stable offset.</summary>
public enum FetchIsolation
{
    LogEnd,
    HighWatermark,
    /// <summary>read_committed: up to the last stable offset (below every open transaction).</summary>
    TxnCommitted,
}

/// <summary>
/// Who is appending (Kafka's <c>AppendOrigin</c>): a client's Produce (checked in full, no control batches), a
/// coordinator (its own records and transaction markers), or a follower copying its leader.
/// </summary>
public enum AppendOrigin
{
    Client,
    Coordinator,
    Replication,
}

/// <summary>Result of an append: the offsets assigned and the log start offset after it.</summary>
public readonly record struct LogAppendInfo(long FirstOffset, long LastOffset, long LogAppendTime, long LogStartOffset, int RecordCount, long MaxTimestamp)
{
    /// <summary>The batch was an idempotent producer's retry of one already in the log: nothing was written, the offsets are the original's.</summary>
    public bool IsDuplicate { get; init; }
}

/// <summary>
/// Result of a read: one file region (possibly empty, possibly ending inside a batch as Kafka allows) plus the
/// offsets a fetch response reports.
/// </summary>
public readonly record struct LogReadInfo(long FetchOffset, FileRegion Records, long HighWatermark, long LogStartOffset, long LogEndOffset, bool FirstEntryIncomplete)
{
    /// <summary>The last stable offset when the read was made (the high watermark when no transaction is open).</summary>
    public long LastStableOffset { get; init; } = HighWatermark;
}

/// <summary>A ListOffsets answer: offset, timestamp, and the leader epoch of that offset (-1 when unknown).</summary>
public readonly record struct TimestampAndOffset(long Timestamp, long Offset, int LeaderEpoch);

/// <summary>
/// The narrow contract of one partition's log, used by the broker's replica manager and by the metadata log.
/// One writer at a time (Append*, Truncate, DeleteRecordsBefore, Flush); readers (Read, OffsetForTimestamp,
/// the offset properties) never block on it and see data only up to what the writer has published.
/// Errors surface as <see cref="StorageException"/> subclasses carrying Kafka's error code.
/// </summary>
public interface IPartitionLog : IDisposable
{
    /// <summary>ListOffsets special timestamps (Kafka's <c>ListOffsetsRequest</c>).</summary>
    public const long LatestTimestamp = -1;
    public const long EarliestTimestamp = -2;
    public const long MaxTimestamp = -3;

    TopicPartition TopicPartition { get; }
    Uuid TopicId { get; }
    LogConfig Config { get; }
    string Directory { get; }
    long LogStartOffset { get; }
    long LogEndOffset { get; }
    long HighWatermark { get; }
    long RecoveryPoint { get; }
    LeaderEpochFileCache LeaderEpochCache { get; }

    /// <summary>
    /// Leader append: validates, assigns offsets and <paramref name="leaderEpoch"/> in place in <paramref name="records"/>,
    /// writes. When the topic's compression.type differs from a batch's codec the stored batch is a rewritten copy.
    /// </summary>
    LogAppendInfo Append(Span<byte> records, int leaderEpoch);

    /// <summary>Follower append: batches keep the offsets and epochs the leader gave them.</summary>
    LogAppendInfo AppendAsFollower(Span<byte> records);

    LogReadInfo Read(long offset, int maxBytes, FetchIsolation isolation, bool minOneMessage = true);

    /// <summary>First offset whose timestamp is at least <paramref name="timestamp"/>, or one of the special timestamps; null when none.</summary>
    TimestampAndOffset? OffsetForTimestamp(long timestamp);

    void UpdateHighWatermark(long offset);

    /// <summary>Removes everything at or above <paramref name="offset"/> (replica truncation).</summary>
    void TruncateTo(long offset);

    /// <summary>DeleteRecords: moves the log start offset up to <paramref name="offset"/> (at most the high watermark); returns the new log start.</summary>
    long DeleteRecordsBefore(long offset);

    void Flush();

    void UpdateConfig(LogConfig config);
}
