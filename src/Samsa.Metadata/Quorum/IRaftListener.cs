namespace Samsa.Metadata.Quorum;

/// <summary>One committed batch handed to a listener: its offsets, epoch and the record values it holds.</summary>
public sealed record CommittedBatch(long BaseOffset, long LastOffset, int Epoch, IReadOnlyList<byte[]> Records);

/// <summary>
/// Receives what the quorum commits (Kafka's <c>RaftClient.Listener</c>). Called on the poll thread, in offset order,
/// each batch once per listener registration; control batches (LeaderChange) are not delivered.
/// </summary>
public interface IRaftListener
{
    /// <summary>Batches below the high watermark, in order.</summary>
    void HandleCommit(CommittedBatch batch);

    /// <summary>The known leader or epoch changed.</summary>
    void HandleLeaderChange(LeaderAndEpoch leader);
}

/// <summary>Thrown by an append when this node is not the leader of the epoch asked for, or stopped leading before the append committed.</summary>
public sealed class NotLeaderException(string message) : Exception(message);
