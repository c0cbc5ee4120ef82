namespace Samsa.Metadata.Quorum;

/// <summary>
/// What a replica must remember across restarts to stay safe (Kafka's <c>ElectionState</c>): the epoch, the leader
/// it knows for that epoch, and the candidate it voted for in that epoch (at most one per epoch).
/// </summary>
public sealed record ElectionState(int Epoch, int LeaderId, int VotedId)
{
    public static readonly ElectionState Initial = new(0, -1, -1);

    public bool HasLeader => LeaderId >= 0;

    public bool HasVoted => VotedId >= 0;

    public override string ToString() => $"ElectionState(epoch={Epoch}, leader={LeaderId}, voted={VotedId})";
}

/// <summary>
/// Where the election state lives (Kafka's <c>QuorumStateStore</c>, the <c>quorum-state</c> file). A write returns
/// only once the state is durable: the quorum writes before any request or response that depends on it leaves.
/// </summary>
public interface IQuorumStateStore
{
    /// <summary>The last state written, or null when none was ever written.</summary>
    ElectionState? Read();

    void Write(ElectionState state);
}
