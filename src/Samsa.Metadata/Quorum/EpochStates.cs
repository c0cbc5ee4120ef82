namespace Samsa.Metadata.Quorum;

/// <summary>
/// The role of a replica in one epoch (Kafka's <c>EpochState</c>). Exactly one is current; <see cref="QuorumState"/>
/// moves between them and persists what each needs. Every state knows its epoch, the leader if known, and the
/// vote cast in this epoch if any (at most one vote per epoch, remembered across every state of that epoch).
/// </summary>
public abstract class EpochState(int epoch, int leaderId, int votedId)
{
    public int Epoch { get; } = epoch;

    public int LeaderId { get; } = leaderId;

    public int VotedId { get; } = votedId;

    public LeaderAndEpoch LeaderAndEpoch => new(LeaderId, Epoch);

    /// <summary>What this state writes to the quorum-state store.</summary>
    public ElectionState Election => new(Epoch, LeaderId, VotedId);

    /// <summary>
    /// May this replica grant a vote (or, for a pre-vote, say it would) to <paramref name="candidateId"/> in this epoch,
    /// given whether the candidate's log is at least as up to date as ours?
    /// </summary>
    public abstract bool CanGrantVote(int candidateId, bool isLogUpToDate, bool preVote);

    public abstract string Name { get; }

    public override string ToString() => $"{Name}(epoch={Epoch}, leader={LeaderId}, voted={VotedId})";
}

/// <summary>
/// No leader known in this epoch (perhaps a vote cast). A voter waits out a randomized election timeout, then becomes
/// prospective; an observer looks for the leader by fetching from a voter.
/// </summary>
public sealed class UnattachedState(int epoch, int votedId, long electionDeadlineMs) : EpochState(epoch, -1, votedId)
{
    public long ElectionDeadlineMs { get; } = electionDeadlineMs;

    public override string Name => "Unattached";

    public override bool CanGrantVote(int candidateId, bool isLogUpToDate, bool preVote)
    {
        if (preVote)
        {
            return isLogUpToDate;
        }
        if (VotedId >= 0)
        {
            // At most one vote per epoch: repeat it (the response may have been lost), never change it.
            return VotedId == candidateId;
        }
        return isLogUpToDate;
    }
}

/// <summary>
/// KIP-996: before bumping the epoch, ask the voters whether they would vote for us (a pre-vote). A replica that is
/// cut off from the others never wins a pre-vote, so it never inflates the epoch and never deposes a healthy leader
/// when it rejoins. Keeps the leader and vote of the epoch it came from.
/// </summary>
public sealed class ProspectiveState(int epoch, int leaderId, int votedId, long electionDeadlineMs, IReadOnlySet<int> voters, int localId)
    : EpochState(epoch, leaderId, votedId)
{
    public long ElectionDeadlineMs { get; } = electionDeadlineMs;

    public VoteTally Tally { get; } = new(voters, localId);

    /// <summary>Voters that refused the pre-vote while in an epoch lower than ours.</summary>
    public HashSet<int> RejectedFromLowerEpoch { get; } = [];

    public override string Name => "Prospective";

    public override bool CanGrantVote(int candidateId, bool isLogUpToDate, bool preVote)
    {
        if (preVote)
        {
            return isLogUpToDate;
        }
        if (VotedId >= 0)
        {
            return VotedId == candidateId;
        }
        return isLogUpToDate;
    }
}

/// <summary>Asking for votes in a bumped epoch, having voted for ourselves. Never grants a real vote to another.</summary>
public sealed class CandidateState(int epoch, int localId, long electionDeadlineMs, int retries, IReadOnlySet<int> voters)
    : EpochState(epoch, -1, localId)
{
    public long ElectionDeadlineMs { get; } = electionDeadlineMs;

    /// <summary>Failed elections in a row, for the exponential backoff.</summary>
    public int Retries { get; } = retries;

    public VoteTally Tally { get; } = new(voters, localId);

    /// <summary>Set once the election is lost or timed out: wait until then before a new pre-vote.</summary>
    public long? BackoffUntilMs { get; set; }

    public override string Name => "Candidate";

    public override bool CanGrantVote(int candidateId, bool isLogUpToDate, bool preVote) => preVote && isLogUpToDate;
}

/// <summary>Following a known leader of this epoch by fetching from it.</summary>
public sealed class FollowerState(int epoch, int leaderId, int votedId, long fetchDeadlineMs) : EpochState(epoch, leaderId, votedId)
{
    public long FetchDeadlineMs { get; set; } = fetchDeadlineMs;

    /// <summary>
    /// A fetch from the leader succeeded in this state. KIP-996: while it has, a follower refuses pre-votes, so a
    /// voter that lost touch with a healthy leader cannot start an election the others would join.
    /// </summary>
    public bool HasFetchedFromLeader { get; set; }

    /// <summary>
    /// The leader told us (EndQuorumEpoch) that it resigned. A fetch response it sent earlier may still arrive after
    /// that (the network reorders); it must not restore the fetch timer or the refusal of pre-votes.
    /// </summary>
    public bool LeaderResigned { get; set; }

    public long? HighWatermark { get; set; }

    /// <summary>The leader's snapshot being downloaded (FetchSnapshot), when the log is too far behind to fetch.</summary>
    public SnapshotDownload? FetchingSnapshot { get; set; }

    public override string Name => "Follower";

    public override bool CanGrantVote(int candidateId, bool isLogUpToDate, bool preVote) => preVote && !HasFetchedFromLeader && isLogUpToDate;
}

/// <summary>
/// A leader that stepped down (gracefully, by check-quorum, or found on restart). It tells the voters with
/// EndQuorumEpoch so they elect a successor without waiting for their fetch timeouts, and after its own election
/// timeout it may stand again.
/// </summary>
public sealed class ResignedState(int epoch, int localId, long electionDeadlineMs, IReadOnlyList<int> preferredSuccessors)
    : EpochState(epoch, localId, localId)
{
    public long ElectionDeadlineMs { get; } = electionDeadlineMs;

    public IReadOnlyList<int> PreferredSuccessors { get; } = preferredSuccessors;

    /// <summary>Voters that acknowledged EndQuorumEpoch.</summary>
    public HashSet<int> Acknowledged { get; } = [];

    public override string Name => "Resigned";

    public override bool CanGrantVote(int candidateId, bool isLogUpToDate, bool preVote) => preVote && isLogUpToDate;
}

/// <summary>Votes granted and rejected in one election (or pre-vote round); our own vote is counted.</summary>
public sealed class VoteTally
{
    private readonly IReadOnlySet<int> _voters;
    private readonly HashSet<int> _granted = [];
    private readonly HashSet<int> _rejected = [];

    public VoteTally(IReadOnlySet<int> voters, int localId)
    {
        _voters = voters;
        _granted.Add(localId);
    }

    public IReadOnlySet<int> Granted => _granted;

    public bool HasAnswered(int voterId) => _granted.Contains(voterId) || _rejected.Contains(voterId);

    public void Grant(int voterId)
    {
        if (_voters.Contains(voterId) && !_rejected.Contains(voterId))
        {
            _granted.Add(voterId);
        }
    }

    public void Reject(int voterId)
    {
        if (_voters.Contains(voterId) && !_granted.Contains(voterId))
        {
            _rejected.Add(voterId);
        }
    }

    public bool IsWon => _granted.Count > _voters.Count / 2;

    /// <summary>So many rejected that a majority can no longer be reached.</summary>
    public bool IsLost => _rejected.Count >= _voters.Count - (_voters.Count / 2);

    public IReadOnlySet<int> Rejected => _rejected;
}

/// <summary>A snapshot being fetched from the leader in chunks.</summary>
public sealed class SnapshotDownload(OffsetAndEpoch id)
{
    public OffsetAndEpoch Id { get; } = id;

    public MemoryStream Received { get; } = new();
}
