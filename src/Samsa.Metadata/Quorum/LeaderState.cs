namespace Samsa.Metadata.Quorum;

/// <summary>
/// Leading an epoch (Kafka's <c>LeaderState</c>): tracks every replica's fetch position and computes the high
/// watermark.
/// <para>
/// The high watermark is the largest offset that a majority of voters hold durably: the leader counts its own
/// flushed end offset, a follower the offset it fetches from (a follower flushes before it fetches again). It moves
/// only once it passes <see cref="EpochStartOffset"/>, the LeaderChange record this leader wrote first: an entry of
/// an earlier epoch is known committed only when an entry of the current epoch is (Raft §5.4.2, the "Figure 8"
/// rule). It never moves backwards.
/// </para>
/// <para>
/// Check-quorum: if a majority of voters (the leader included) has not fetched within
/// <see cref="QuorumConfig.CheckQuorumTimeoutMs"/>, the leader resigns, so a leader cut off from the quorum stops
/// acting as one instead of waiting to be deposed.
/// </para>
/// </summary>
public sealed class LeaderState : EpochState
{
    private readonly int _localId;
    private readonly QuorumConfig _config;
    private readonly HashSet<int> _fetchedSinceCheck = [];

    public LeaderState(int epoch, int localId, long epochStartOffset, QuorumConfig config, IReadOnlySet<int> voters, long nowMs)
        : base(epoch, localId, localId)
    {
        _localId = localId;
        _config = config;
        _self = new ReplicaProgress(localId);
        EpochStartOffset = epochStartOffset;
        UpdateVoters(voters);
        CheckQuorumDeadlineMs = nowMs + config.CheckQuorumTimeoutMs;
    }

    private readonly ReplicaProgress _self;

    /// <summary>
    /// KIP-853: the voter set changed (a VotersRecord was appended). Progress moves between voters and observers; a
    /// new voter is sent BeginQuorumEpoch; the high watermark and check-quorum count the new set from now on. The
    /// leader itself may be gone from the set: it keeps leading until that record commits, without counting itself.
    /// </summary>
    public void UpdateVoters(IReadOnlySet<int> voters)
    {
        foreach (var gone in Voters.Keys.Where(id => !voters.Contains(id)).ToList())
        {
            if (gone != _localId)
            {
                Observers[gone] = Voters[gone];
            }
            Voters.Remove(gone);
            Unacknowledged.Remove(gone);
            _fetchedSinceCheck.Remove(gone);
        }
        foreach (var voter in voters)
        {
            if (Voters.ContainsKey(voter))
            {
                continue;
            }
            if (voter == _localId)
            {
                Voters[voter] = _self;
                continue;
            }
            Voters[voter] = Observers.Remove(voter, out var progress) ? progress : new ReplicaProgress(voter);
            Unacknowledged.Add(voter);
        }
        _voterCount = voters.Count;
    }

    private int _voterCount;

    public bool IsLocalVoter => Voters.ContainsKey(_localId);

    /// <summary>The offset of this leader's LeaderChange record: the first offset of its epoch.</summary>
    public long EpochStartOffset { get; }

    public long? HighWatermark { get; private set; }

    public Dictionary<int, ReplicaProgress> Voters { get; } = [];

    public Dictionary<int, ReplicaProgress> Observers { get; } = [];

    /// <summary>Voters that have not yet acknowledged this epoch (by a BeginQuorumEpoch response or a fetch).</summary>
    public HashSet<int> Unacknowledged { get; } = [];

    public long CheckQuorumDeadlineMs { get; private set; }

    /// <summary>Set by a graceful resign: the leader stops appending and hands over.</summary>
    public bool Resigning { get; set; }

    public override string Name => "Leader";

    public override bool CanGrantVote(int candidateId, bool isLogUpToDate, bool preVote) => false;

    /// <summary>The leader's own durable end offset moved; returns whether the high watermark moved.</summary>
    public bool UpdateLocal(long flushedEndOffset, long nowMs)
    {
        _self.EndOffset = flushedEndOffset;
        _self.LastFetchMs = nowMs;
        _self.LastCaughtUpMs = nowMs;
        return MaybeAdvanceHighWatermark();
    }

    /// <summary>A replica fetched from <paramref name="fetchOffset"/>; returns whether the high watermark moved.</summary>
    public bool UpdateReplica(int replicaId, long fetchOffset, long nowMs)
    {
        if (!Voters.TryGetValue(replicaId, out var progress))
        {
            if (!Observers.TryGetValue(replicaId, out progress))
            {
                progress = new ReplicaProgress(replicaId);
                Observers[replicaId] = progress;
            }
            progress.Fetched(fetchOffset, _self.EndOffset, nowMs);
            return false;
        }
        progress.Fetched(fetchOffset, _self.EndOffset, nowMs);
        Unacknowledged.Remove(replicaId);
        _fetchedSinceCheck.Add(replicaId);
        return MaybeAdvanceHighWatermark();
    }

    /// <summary>A voter is downloading our snapshot: it is alive, for check-quorum, though it has no log position yet.</summary>
    public void NoteSnapshotFetch(int replicaId)
    {
        if (Voters.ContainsKey(replicaId))
        {
            Unacknowledged.Remove(replicaId);
            _fetchedSinceCheck.Add(replicaId);
        }
    }

    /// <summary>True when check-quorum fails: a majority of voters has not fetched within the timeout.</summary>
    public bool CheckQuorumExpired(long nowMs)
    {
        if (_voterCount == 1 && IsLocalVoter)
        {
            return false;
        }
        // Our own liveness counts toward the majority, when we are a voter.
        if (_fetchedSinceCheck.Count + (IsLocalVoter ? 1 : 0) >= (_voterCount / 2) + 1)
        {
            _fetchedSinceCheck.Clear();
            CheckQuorumDeadlineMs = nowMs + _config.CheckQuorumTimeoutMs;
            return false;
        }
        return nowMs >= CheckQuorumDeadlineMs;
    }

    /// <summary>Voters other than the leader, furthest caught up first: who should succeed us.</summary>
    public IReadOnlyList<int> PreferredSuccessors() =>
        Voters.Values.Where(v => v.ReplicaId != _localId).OrderByDescending(v => v.EndOffset).ThenBy(v => v.ReplicaId).Select(v => v.ReplicaId).ToList();

    private bool MaybeAdvanceHighWatermark()
    {
        var offsets = Voters.Values.Select(v => v.EndOffset).OrderDescending().ToList();
        var candidate = offsets[offsets.Count / 2];
        if (candidate <= EpochStartOffset)
        {
            return false;
        }
        if (HighWatermark is { } current && candidate <= current)
        {
            return false;
        }
        HighWatermark = candidate;
        return true;
    }
}

/// <summary>What the leader knows of one replica's log.</summary>
public sealed class ReplicaProgress(int replicaId)
{
    public int ReplicaId { get; } = replicaId;

    /// <summary>The replica's durable end offset as last reported (-1 when unknown).</summary>
    public long EndOffset { get; set; } = -1;

    public long LastFetchMs { get; set; } = -1;

    /// <summary>When the replica was last known to hold everything the leader had (-1 never), as Kafka's ReplicaState.</summary>
    public long LastCaughtUpMs { get; set; } = -1;

    /// <summary>The leader's end offset at the replica's previous fetch.</summary>
    public long LeaderEndOffsetAtLastFetch { get; set; } = -1;

    /// <summary>
    /// Records a fetch from <paramref name="fetchOffset"/> while the leader ends at <paramref name="leaderEndOffset"/>:
    /// caught up now if it asks for the leader's end, or caught up as of its previous fetch if it has reached what the
    /// leader had then (Kafka's <c>ReplicaState.updateFollowerState</c>).
    /// </summary>
    public void Fetched(long fetchOffset, long leaderEndOffset, long nowMs)
    {
        if (fetchOffset >= leaderEndOffset)
        {
            LastCaughtUpMs = Math.Max(LastCaughtUpMs, nowMs);
        }
        else if (LeaderEndOffsetAtLastFetch >= 0 && fetchOffset >= LeaderEndOffsetAtLastFetch)
        {
            LastCaughtUpMs = Math.Max(LastCaughtUpMs, LastFetchMs);
        }
        EndOffset = fetchOffset;
        LeaderEndOffsetAtLastFetch = leaderEndOffset;
        LastFetchMs = nowMs;
    }
}
