namespace Samsa.Metadata.Quorum;

/// <summary>
/// The current <see cref="EpochState"/> and the only way to change it (Kafka's <c>QuorumState</c>). Every transition
/// checks that the epoch never goes backwards and writes the new election state to the store before returning, so
/// the caller may send whatever depends on it (a granted vote, a vote request, BeginQuorumEpoch) right after.
/// <code>
/// Unattached  -> Prospective (election timeout, voters only) | Unattached (higher epoch, or a vote granted) | Follower
/// Prospective -> Candidate (pre-vote won) | Unattached/Follower (pre-vote lost or timed out) | higher epoch
/// Candidate   -> Leader (vote won) | Prospective (after backoff) | higher epoch
/// Leader      -> Resigned (graceful, check-quorum failed, or its own removal committed (KIP-853)) | higher epoch
/// Follower    -> Prospective (fetch timeout; observers: Unattached) | higher epoch
/// Resigned    -> Prospective (election timeout; Unattached when no longer a voter) | higher epoch
/// </code>
/// </summary>
public sealed class QuorumState
{
    private readonly IQuorumStateStore _store;
    private readonly Random _random;
    private ElectionState? _persisted;

    public QuorumState(int localId, QuorumConfig config, IQuorumStateStore store, Random random, VoterSetHistory voters)
    {
        LocalId = localId;
        Config = config;
        VoterHistory = voters;
        _store = store;
        _random = random;
        Current = new UnattachedState(0, -1, long.MaxValue);
    }

    public int LocalId { get; }

    public QuorumConfig Config { get; }

    public EpochState Current { get; private set; }

    public int Epoch => Current.Epoch;

    public VoterSetHistory VoterHistory { get; }

    /// <summary>The latest voter set in the log (KIP-853), committed or not.</summary>
    public IReadOnlySet<int> Voters => VoterHistory.Latest;

    public bool IsVoter => Voters.Contains(LocalId);

    /// <summary>Raised after every transition (old, new).</summary>
    public event Action<EpochState, EpochState>? Transitioned;

    /// <summary>
    /// Picks the starting state from the store and the log (Kafka's <c>QuorumState.initialize</c>): a node that was
    /// leader comes back resigned, a candidate comes back unattached with its own vote kept, and a log holding a
    /// later epoch than the store (the store was lost) starts unattached in that epoch.
    /// </summary>
    public void Initialize(OffsetAndEpoch logEnd, long nowMs)
    {
        var stored = _store.Read() ?? ElectionState.Initial;
        _persisted = stored;
        EpochState state;
        if (logEnd.Epoch > stored.Epoch)
        {
            state = new UnattachedState(logEnd.Epoch, -1, ElectionDeadline(nowMs));
        }
        else if (stored.LeaderId == LocalId && IsVoter)
        {
            state = new ResignedState(stored.Epoch, LocalId, ElectionDeadline(nowMs), []);
        }
        else if (stored.HasLeader && stored.LeaderId != LocalId)
        {
            state = new FollowerState(stored.Epoch, stored.LeaderId, stored.VotedId, nowMs + Config.FetchTimeoutMs);
        }
        else
        {
            state = new UnattachedState(stored.Epoch, stored.VotedId, ElectionDeadline(nowMs));
        }
        Set(state);
    }

    /// <summary>No leader known in <paramref name="epoch"/>; a vote already cast in that epoch is kept.</summary>
    public void ToUnattached(int epoch, long nowMs) =>
        Set(new UnattachedState(epoch, epoch == Epoch ? Current.VotedId : -1, ElectionDeadline(nowMs)));

    /// <summary>Grants our one vote of <see cref="Epoch"/> to <paramref name="candidateId"/>; persisted on return.</summary>
    public void ToUnattachedVoted(int candidateId, long nowMs)
    {
        if (Current.VotedId >= 0 && Current.VotedId != candidateId)
        {
            throw new InvalidOperationException($"Already voted for {Current.VotedId} in epoch {Epoch}, cannot vote for {candidateId}");
        }
        Set(new UnattachedState(Epoch, candidateId, ElectionDeadline(nowMs)));
    }

    public void ToProspective(long nowMs)
    {
        RequireVoter();
        Set(new ProspectiveState(Epoch, Current.LeaderId >= 0 && Current.LeaderId != LocalId ? Current.LeaderId : -1, Current.VotedId,
            ElectionDeadline(nowMs), Voters, LocalId));
    }

    public CandidateState ToCandidate(long nowMs, int retries)
    {
        RequireVoter();
        var state = new CandidateState(Epoch + 1, LocalId, ElectionDeadline(nowMs), retries, Voters);
        Set(state);
        return state;
    }

    public LeaderState ToLeader(long epochStartOffset, long nowMs)
    {
        if (Current is not CandidateState candidate || !candidate.Tally.IsWon)
        {
            throw new InvalidOperationException($"Only a candidate that won may lead, not {Current}");
        }
        var state = new LeaderState(Epoch, LocalId, epochStartOffset, Config, Voters, nowMs);
        Set(state);
        return state;
    }

    public void ToFollower(int epoch, int leaderId, long nowMs)
    {
        if (leaderId == LocalId)
        {
            throw new InvalidOperationException("Cannot follow ourselves");
        }
        if (epoch == Epoch && Current is LeaderState or ResignedState)
        {
            throw new InvalidOperationException($"Two leaders in epoch {epoch}: we led it, and {leaderId} claims it");
        }
        // The vote cast in this epoch is kept: it still rules out voting again.
        var voted = epoch == Epoch ? Current.VotedId : -1;
        Set(new FollowerState(epoch, leaderId, voted, nowMs + Config.FetchTimeoutMs));
    }

    public ResignedState ToResigned(IReadOnlyList<int> preferredSuccessors, long nowMs)
    {
        if (Current is not LeaderState)
        {
            throw new InvalidOperationException($"Only a leader can resign, not {Current}");
        }
        var state = new ResignedState(Epoch, LocalId, ElectionDeadline(nowMs), preferredSuccessors);
        Set(state);
        return state;
    }

    /// <summary>A randomized election deadline: timeout .. 2 x timeout from now, so voters rarely time out together.</summary>
    public long ElectionDeadline(long nowMs) => nowMs + Config.ElectionTimeoutMs + _random.Next(Config.ElectionTimeoutMs);

    /// <summary>Exponential backoff after <paramref name="retries"/> lost elections, randomized, capped by election.backoff.max.ms.</summary>
    public long ElectionBackoffMs(int retries)
    {
        var cap = (int)Math.Min(Config.ElectionBackoffMaxMs, (long)Config.RetryBackoffMs << Math.Min(retries, 20));
        return 1 + _random.Next(Math.Max(cap, 1));
    }

    public Random Random => _random;

    private void RequireVoter()
    {
        if (!IsVoter)
        {
            throw new InvalidOperationException($"Node {LocalId} is an observer and never stands for election");
        }
    }

    private void Set(EpochState next)
    {
        if (next.Epoch < Current.Epoch)
        {
            throw new InvalidOperationException($"Epoch may not go back from {Current.Epoch} to {next.Epoch} ({Current} -> {next})");
        }
        var election = next.Election;
        if (election != _persisted)
        {
            _store.Write(election);
            _persisted = election;
        }
        var previous = Current;
        Current = next;
        Transitioned?.Invoke(previous, next);
    }
}
