namespace Samsa.Metadata.Quorum;

/// <summary>
/// The replicated log under the quorum (Kafka's <c>ReplicatedLog</c>): whole v2 record batches, each stamped with the
/// epoch of the leader that appended it. Only the Raft poll thread calls it.
/// <para>
/// Durability contract: <see cref="FlushedOffset"/> is the end of the prefix that survives a crash. Anything past it
/// may be lost; the quorum counts a record toward the high watermark only once it is flushed on a majority of voters
/// (the leader's own copy included), so losing an unflushed tail never loses a committed record.
/// </para>
/// </summary>
public interface IRaftLog
{
    /// <summary>The first offset held: 0, or the end offset of the snapshot the log was cut back to.</summary>
    long StartOffset { get; }

    /// <summary>The offset the next appended record receives.</summary>
    long EndOffset { get; }

    /// <summary>The end offset of the durable prefix (&lt;= <see cref="EndOffset"/>).</summary>
    long FlushedOffset { get; }

    /// <summary>The epoch of the last batch; the snapshot's epoch when the log holds no batch after it; 0 when empty.</summary>
    int LastFetchedEpoch { get; }

    /// <summary>The end offset and epoch of the last batch: what a candidate offers in a vote request.</summary>
    OffsetAndEpoch EndOffsetAndEpoch => new(EndOffset, LastFetchedEpoch);

    /// <summary>
    /// The largest epoch in the log that is &lt;= <paramref name="epoch"/>, with its end offset (the start offset of
    /// the next larger epoch, or the log end offset when it is the last). (StartOffset, 0) when there is none.
    /// </summary>
    OffsetAndEpoch EndOffsetForEpoch(int epoch);

    /// <summary>Appends one batch as leader of <paramref name="epoch"/>: the log stamps its base offset (the end offset) and epoch. Returns the batch's base and last offset.</summary>
    (long BaseOffset, long LastOffset) AppendAsLeader(ReadOnlySpan<byte> batch, int epoch);

    /// <summary>Appends the whole batches a leader sent; the first must start at <see cref="EndOffset"/>. Returns the number of records appended.</summary>
    long AppendAsFollower(ReadOnlySpan<byte> batches);

    /// <summary>Removes every batch at or past <paramref name="offset"/> (which must be a batch boundary).</summary>
    void TruncateTo(long offset);

    /// <summary>Makes everything appended so far durable.</summary>
    void Flush();

    /// <summary>
    /// Whole batches starting with the one that holds <paramref name="offset"/>, at most <paramref name="maxBytes"/>
    /// except that the first batch is always returned whole. Empty at the end of the log.
    /// </summary>
    ReadOnlyMemory<byte> Read(long offset, int maxBytes);

    /// <summary>
    /// The latest snapshot's id: its end offset (exclusive) and the epoch of its last record. Null when there is none.
    /// A snapshot is durable once it exists, and the log never holds records before <see cref="StartOffset"/>.
    /// </summary>
    OffsetAndEpoch? LatestSnapshotId { get; }

    /// <summary>
    /// The snapshot file <paramref name="id"/> as stored, in Kafka's format (<see cref="RaftSnapshot"/>): what
    /// FetchSnapshot ships. Null when it is not (or no longer) held.
    /// </summary>
    ReadOnlyMemory<byte>? ReadSnapshot(OffsetAndEpoch id);

    /// <summary>
    /// Writes the snapshot of everything before <paramref name="endOffset"/> (a batch boundary the caller knows is
    /// committed) in Kafka's format, stamped <paramref name="timestampMs"/>, and drops the log before it (Kafka's
    /// <c>createNewSnapshot</c>, <c>RecordsSnapshotWriter.freeze</c> and <c>deleteBeforeSnapshot</c> in one step).
    /// The snapshot's epoch is that of the batch holding <c>endOffset - 1</c>. Returns the snapshot's id.
    /// </summary>
    OffsetAndEpoch CreateSnapshot(long endOffset, RaftSnapshotContents contents, long timestampMs);

    /// <summary>
    /// A follower installs its leader's snapshot file <paramref name="snapshot"/> (Kafka's format, as fetched and
    /// already validated): every batch goes, and the log starts at <paramref name="id"/>.
    /// </summary>
    void InstallSnapshot(OffsetAndEpoch id, ReadOnlySpan<byte> snapshot);
}

/// <summary>Log operations that follow from the contract, shared by every <see cref="IRaftLog"/>.</summary>
public static class RaftLogExtensions
{
    /// <summary>
    /// Truncates to where this log and the leader's agree, given the leader's diverging (epoch, end offset) (Kafka's
    /// <c>truncateToEndOffset</c>). Returns the new end offset.
    /// </summary>
    public static long TruncateToEndOffset(this IRaftLog log, OffsetAndEpoch diverging)
    {
        long truncation;
        if (diverging.Epoch == 0)
        {
            truncation = Math.Min(diverging.Offset, log.EndOffset);
        }
        else
        {
            var local = log.EndOffsetForEpoch(diverging.Epoch);
            truncation = local.Epoch == diverging.Epoch ? Math.Min(local.Offset, diverging.Offset) : local.Offset;
        }
        log.TruncateTo(truncation);
        return log.EndOffset;
    }

    /// <summary>
    /// The leader's check of a follower's fetch position (Kafka's <c>validateOffsetAndEpoch</c>): null when
    /// (fetchOffset, lastFetchedEpoch) is on this log, else the (epoch, end offset) the follower must truncate to.
    /// </summary>
    public static OffsetAndEpoch? Diverging(this IRaftLog log, long fetchOffset, int lastFetchedEpoch)
    {
        if (fetchOffset == 0 && lastFetchedEpoch <= 0 && log.StartOffset == 0)
        {
            return null;
        }
        var end = log.EndOffsetForEpoch(lastFetchedEpoch);
        if (end.Epoch != lastFetchedEpoch || end.Offset < fetchOffset)
        {
            return end;
        }
        return null;
    }

    /// <summary>
    /// Whether a follower at (fetchOffset, lastFetchedEpoch) must load the leader's snapshot instead of fetching
    /// (Kafka's <c>validateOffsetAndEpoch</c>): its position is before the log start, or at the start in another
    /// epoch than the snapshot's, or its last epoch is older than the snapshot's.
    /// </summary>
    public static OffsetAndEpoch? SnapshotNeeded(this IRaftLog log, long fetchOffset, int lastFetchedEpoch)
    {
        if (log.LatestSnapshotId is not { } snapshot)
        {
            return null;
        }
        if (fetchOffset < log.StartOffset || (fetchOffset == log.StartOffset && lastFetchedEpoch != snapshot.Epoch) || lastFetchedEpoch < snapshot.Epoch)
        {
            return snapshot;
        }
        return null;
    }
}
