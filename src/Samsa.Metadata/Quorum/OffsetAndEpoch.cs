namespace Samsa.Metadata.Quorum;

/// <summary>An offset tagged with the leader epoch it belongs to (Kafka's <c>OffsetAndEpoch</c>).</summary>
public readonly record struct OffsetAndEpoch(long Offset, int Epoch) : IComparable<OffsetAndEpoch>
{
    /// <summary>Raft's "at least as up to date": a later last epoch wins; with equal epochs, the longer log.</summary>
    public int CompareTo(OffsetAndEpoch other) => Epoch != other.Epoch ? Epoch.CompareTo(other.Epoch) : Offset.CompareTo(other.Offset);

    public override string ToString() => $"(offset={Offset}, epoch={Epoch})";
}

/// <summary>The leader and epoch a replica currently knows (leader -1 when unknown).</summary>
public readonly record struct LeaderAndEpoch(int LeaderId, int Epoch)
{
    public bool IsLeaderKnown => LeaderId >= 0;

    public override string ToString() => $"(leader={LeaderId}, epoch={Epoch})";
}
