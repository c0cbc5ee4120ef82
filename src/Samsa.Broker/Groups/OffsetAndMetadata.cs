namespace Samsa.Broker.Groups;

/// <summary>
/// One committed offset, as stored in an <c>OffsetCommitValue</c> record: the next offset to read, the leader
/// epoch of the record before it (-1 unknown), the client's metadata string, when it was committed and, for
/// OffsetCommit v2-4 with a retention time, when it expires.
/// </summary>
public sealed record OffsetAndMetadata(long Offset, int LeaderEpoch, string Metadata, long CommitTimestampMs, long? ExpireTimestampMs)
{
    /// <summary>
    /// The shard's order of the record this offset came from (Kafka compares record offsets): a pending transactional
    /// offset replaces the committed one only if it was written after it. Not part of the record's bytes.
    /// </summary>
    public long ReplaySequence { get; init; }
}
