namespace Samsa.Metadata.Quorum;

/// <summary>
/// One committed batch handed to a listener: its offsets, epoch and the record values it holds. A control batch
/// (LeaderChange) comes with no records, so the listener always knows the next offset (for its snapshots).
/// </summary>
public sealed record CommittedBatch(long BaseOffset, long LastOffset, int Epoch, bool IsControl, IReadOnlyList<byte[]> Records);

/// <summary>
/// Receives what the quorum commits (Kafka's <c>RaftClient.Listener</c>). Called on the poll thread, in offset order,
/// each batch once per listener registration; a listener behind the log start first gets the latest snapshot.
/// </summary>
public interface IRaftListener
{
    /// <summary>Batches below the high watermark, in order.</summary>
    void HandleCommit(CommittedBatch batch);

    /// <summary>
    /// Replace the state with the snapshot <paramref name="id"/> (everything before its end offset): the values of
    /// its data records, in order (the header, voters and footer control records left out). Commits continue from
    /// there. Called when this node loads its own latest snapshot on start, or installs one from the leader.
    /// </summary>
    void HandleLoadSnapshot(OffsetAndEpoch id, IReadOnlyList<byte[]> records);

    /// <summary>The known leader or epoch changed.</summary>
    void HandleLeaderChange(LeaderAndEpoch leader);
}

/// <summary>Thrown by an append when this node is not the leader of the epoch asked for, or stopped leading before the append committed.</summary>
public sealed class NotLeaderException(string message) : Exception(message);
