using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Metadata.Quorum;

/// <summary>
/// One replica of the KRaft quorum (Kafka's <c>KafkaRaftClient</c>): a single-threaded state machine driven by
/// <see cref="Poll"/>. Everything it touches from outside is injected: the clock (<see cref="TimeProvider"/>), the
/// randomness (<see cref="Random"/>), the network (<see cref="IRaftNetworkChannel"/> out, <see cref="Deliver"/> in),
/// the log (<see cref="IRaftLog"/>) and the election-state store (<see cref="IQuorumStateStore"/>). The same code
/// runs in the deterministic simulation (virtual clock, seeded random, in-memory router) and on real sockets and files.
/// <para>
/// Threading: <see cref="Deliver"/> may be called from any thread (it only enqueues). Every other member runs on
/// the poll thread: <see cref="Poll"/>, <see cref="ScheduleAppend"/>, <see cref="Resign"/> and the listener callbacks.
/// </para>
/// <para>
/// One poll: (1) flush the log, making the last poll's appends durable, then let the leader count them; (2) handle
/// every delivered request and response; (3) give up requests past the request timeout; (4) do the current state's
/// work (timers, elections, fetches, parked fetches); (5) hand newly committed batches to listeners and settle
/// appends. Poll returns how long the caller may wait before polling again if nothing is delivered.
/// </para>
/// </summary>
public sealed partial class RaftClient
{
    private readonly int _localId;
    private readonly QuorumConfig _config;
    private readonly IRaftLog _log;
    private readonly IRaftNetworkChannel _channel;
    private readonly TimeProvider _time;
    private readonly QuorumState _quorum;
    private readonly VoterSetHistory _voters;
    private PendingVoterChange? _pendingVoterChange;
    private readonly Queue<RaftMessage> _inbox = new();
    private readonly Lock _inboxLock = new();
    private readonly Dictionary<int, Connection> _connections = [];
    private readonly List<ParkedFetch> _parkedFetches = [];
    private readonly List<PendingAppend> _pendingAppends = [];
    private readonly List<ListenerContext> _listeners = [];
    private int _nextCorrelationId;
    private long _highWatermark = -1;
    private LeaderAndEpoch _notifiedLeader = new(-1, -1);
    private bool _initialized;

    public RaftClient(int localId, QuorumConfig config, IRaftLog log, IQuorumStateStore store, IRaftNetworkChannel channel, TimeProvider time, Random random)
    {
        _localId = localId;
        _config = config;
        _log = log;
        _channel = channel;
        _time = time;
        _voters = new VoterSetHistory(config.Voters);
        _quorum = new QuorumState(localId, config, store, random, _voters);
        // Correlation ids start somewhere new in every incarnation: a late answer to a request of the process before a
        // restart (a fetch the leader had parked, say) can then never pass for the answer to one of ours.
        _nextCorrelationId = random.Next(1 << 30);
        _quorum.Transitioned += OnTransition;
        _quorum.Transitioned += (from, to) => Transitioned?.Invoke(from, to);
    }

    /// <summary>Raised on the poll thread after every state transition (old, new): for tracing and tests.</summary>
    public event Action<EpochState, EpochState>? Transitioned;

    public int LocalId => _localId;

    public EpochState State => _quorum.Current;

    public LeaderAndEpoch LeaderAndEpoch => _quorum.Current.LeaderAndEpoch;

    /// <summary>The highest high watermark this node has learned (-1 until it knows one); never decreases.</summary>
    public long HighWatermark => _highWatermark;

    /// <summary>The high watermark of the current state (the leader's or the follower's), null when unknown.</summary>
    public long? StateHighWatermark => _quorum.Current switch
    {
        LeaderState leader => leader.HighWatermark,
        FollowerState follower => follower.HighWatermark,
        _ => null,
    };

    public IRaftLog Log => _log;

    /// <summary>The latest voter set in this replica's log (KIP-853), committed or not.</summary>
    public IReadOnlySet<int> Voters => _voters.Latest;

    /// <summary>The latest voters with their directory ids and endpoints where the log has them (poll thread only).</summary>
    public IReadOnlyList<QuorumVoter> LatestVoters => _voters.LatestVoters;

    /// <summary>The offset of the VotersRecord (or snapshot) the latest voter set comes from: it changes when the set does.</summary>
    public long VotersOffset => _voters.LatestOffset;

    /// <summary>The voter set after applying everything before <paramref name="endOffset"/>, as this replica's log has it.</summary>
    public IReadOnlySet<int> VotersAt(long endOffset) => _voters.At(endOffset);

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Reads the stored election state and picks the starting state. Call once, before the first poll.</summary>
    public void Initialize()
    {
        RebuildVoterHistory();
        _quorum.Initialize(_log.EndOffsetAndEpoch, NowMs);
        if (_voters.Latest.Count == 1 && _voters.Latest.Contains(_localId) && _quorum.Current is UnattachedState or ResignedState)
        {
            // The only voter needs nobody's vote: it stands at once rather than after an election timeout (Kafka's
            // initialize does the same).
            _quorum.ToProspective(NowMs);
        }
        _initialized = true;
    }

    public void Register(IRaftListener listener) => _listeners.Add(new ListenerContext(listener));

    /// <summary>Queues an inbound request or response for the next poll. Thread-safe.</summary>
    public void Deliver(RaftMessage message)
    {
        lock (_inboxLock)
        {
            _inbox.Enqueue(message);
        }
    }

    /// <summary>
    /// Appends <paramref name="records"/> as one batch if this node leads <paramref name="epoch"/> (Kafka's
    /// <c>prepareAppend</c>; poll thread only). Returns the last offset the records take, and a task completed with
    /// it once the high watermark passes it, or faulted with <see cref="NotLeaderException"/> if leadership is lost
    /// first (the records may still commit under the next leader: the outcome is then unknown).
    /// </summary>
    public (long LastOffset, Task<long> Committed) ScheduleAppend(int epoch, IReadOnlyList<byte[]> records)
    {
        if (_quorum.Current is not LeaderState leader || leader.Epoch != epoch || leader.Resigning)
        {
            throw new NotLeaderException($"Node {_localId} is not the leader of epoch {epoch} (state {_quorum.Current})");
        }
        if (records.Count == 0)
        {
            throw new ArgumentException("An append needs at least one record", nameof(records));
        }
        var (_, last) = _log.AppendAsLeader(RaftRpc.DataBatch(records, NowMs), epoch);
        var completion = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pendingAppends.Add(new PendingAppend(last, completion));
        return (last, completion.Task);
    }

    /// <summary>
    /// Stores <paramref name="records"/> (the listener's state after applying everything before
    /// <paramref name="endOffset"/>, as record values) as a snapshot in Kafka's format, with the voter set in force
    /// there, and drops the log before it (poll thread only). The offset must be committed and a batch boundary.
    /// Followers too far behind then load the snapshot with FetchSnapshot.
    /// </summary>
    public OffsetAndEpoch CreateSnapshot(long endOffset, IReadOnlyList<byte[]> records)
    {
        if (endOffset > _highWatermark)
        {
            throw new ArgumentOutOfRangeException(nameof(endOffset), endOffset, $"Only committed offsets can be snapshotted (high watermark {_highWatermark})");
        }
        if (_log.LatestSnapshotId is { } latest && endOffset <= latest.Offset)
        {
            return latest;
        }
        // Kafka's controller passes the append time of the last committed batch the snapshot covers.
        long lastContained = 0;
        if (endOffset > _log.StartOffset && RaftRpc.Batches(_log.Read(endOffset - 1, 1).Span) is [var (_, last), ..])
        {
            lastContained = last.MaxTimestamp;
        }
        var voters = _voters.VotersRecordAt(endOffset);
        return _log.CreateSnapshot(endOffset, new RaftSnapshotContents(records, voters, lastContained, KRaftVersion: voters is null ? (short)0 : (short)1), NowMs);
    }

    /// <summary>Graceful resignation (Kafka's <c>RaftClient.resign</c>): if leading <paramref name="epoch"/>, hand over on the next poll.</summary>
    public void Resign(int epoch)
    {
        if (_quorum.Current is LeaderState leader && leader.Epoch == epoch)
        {
            leader.Resigning = true;
        }
    }

    /// <summary>Runs one iteration of the loop; returns the milliseconds until the next poll is needed.</summary>
    public long Poll()
    {
        if (!_initialized)
        {
            throw new InvalidOperationException("Initialize the client before polling");
        }
        var now = NowMs;
        if (_log.FlushedOffset < _log.EndOffset)
        {
            _log.Flush();
        }
        if (_quorum.Current is LeaderState current && current.UpdateLocal(_log.FlushedOffset, now))
        {
            OnLeaderHighWatermarkAdvanced(current);
        }

        while (TryDequeue(out var message))
        {
            if (message.IsRequest)
            {
                HandleRequest(message, now);
            }
            else
            {
                HandleResponse(message, now);
            }
        }

        ExpireRequests(now);
        var wait = PollState(now);
        DeliverCommits();
        NotifyLeaderChange();
        return _log.FlushedOffset < _log.EndOffset ? 0 : Math.Max(0, wait);
    }

    private bool TryDequeue(out RaftMessage message)
    {
        lock (_inboxLock)
        {
            return _inbox.TryDequeue(out message!);
        }
    }

    private long PollState(long now)
    {
        switch (_quorum.Current)
        {
            case LeaderState leader:
                return PollLeader(leader, now);
            case CandidateState candidate:
                return PollCandidate(candidate, now);
            case ProspectiveState prospective:
                return PollProspective(prospective, now);
            case FollowerState follower:
                return PollFollower(follower, now);
            case ResignedState resigned:
                return PollResigned(resigned, now);
            case UnattachedState unattached:
                return PollUnattached(unattached, now);
            default:
                throw new InvalidOperationException($"Unknown state {_quorum.Current}");
        }
    }

    private long PollLeader(LeaderState leader, long now)
    {
        if (leader.Resigning || leader.CheckQuorumExpired(now))
        {
            var resigned = _quorum.ToResigned(leader.PreferredSuccessors(), now);
            return PollResigned(resigned, now);
        }
        var wait = leader.CheckQuorumDeadlineMs - now;
        if (_pendingVoterChange is { } change && now >= change.DeadlineMs)
        {
            // Kafka answers REQUEST_TIMED_OUT too; the change may still commit.
            _pendingVoterChange = null;
            SendResponse(change.Request, VoterChangeResponse(change.Request, ErrorCode.RequestTimedOut, "The voter change did not commit in time"));
        }
        foreach (var voter in leader.Unacknowledged)
        {
            TrySend(voter, now, () => new BeginQuorumEpochRequest
            {
                ClusterId = _config.ClusterId,
                VoterId = voter,
                Topics =
                [
                    new()
                    {
                        TopicName = RaftRpc.MetadataTopic,
                        Partitions = [new() { PartitionIndex = RaftRpc.MetadataPartition, LeaderId = _localId, LeaderEpoch = leader.Epoch }],
                    },
                ],
            });
        }
        for (var i = 0; i < _parkedFetches.Count; i++)
        {
            var parked = _parkedFetches[i];
            if (now >= parked.DeadlineMs || _log.EndOffset > parked.FetchOffset || leader.HighWatermark != parked.HighWatermark)
            {
                _parkedFetches.RemoveAt(i--);
                SendResponse(parked.Request, FetchDataResponse(leader, parked.FetchOffset));
            }
            else
            {
                wait = Math.Min(wait, parked.DeadlineMs - now);
            }
        }
        return Math.Min(wait, NextConnectionEvent(now));
    }

    private long PollCandidate(CandidateState candidate, long now)
    {
        if (candidate.BackoffUntilMs is { } backoff)
        {
            if (now >= backoff)
            {
                _quorum.ToProspective(now);
                return PollProspective((ProspectiveState)_quorum.Current, now);
            }
            return backoff - now;
        }
        if (now >= candidate.ElectionDeadlineMs || candidate.Tally.IsLost)
        {
            candidate.BackoffUntilMs = now + _quorum.ElectionBackoffMs(candidate.Retries + 1);
            return candidate.BackoffUntilMs.Value - now;
        }
        SendVoteRequests(candidate.Epoch, candidate.Tally, preVote: false, now);
        return Math.Min(candidate.ElectionDeadlineMs - now, NextConnectionEvent(now));
    }

    private long PollProspective(ProspectiveState prospective, long now)
    {
        if (prospective.Tally.IsWon)
        {
            BecomeCandidate(now, 0);
            return 0;
        }
        if (now >= prospective.ElectionDeadlineMs)
        {
            LeaveLostPreVote(prospective, now);
            return 0;
        }
        SendVoteRequests(prospective.Epoch, prospective.Tally, preVote: true, now);
        return Math.Min(prospective.ElectionDeadlineMs - now, NextConnectionEvent(now));
    }

    private long PollFollower(FollowerState follower, long now)
    {
        if (now >= follower.FetchDeadlineMs)
        {
            if (_quorum.IsVoter)
            {
                _quorum.ToProspective(now);
                return PollProspective((ProspectiveState)_quorum.Current, now);
            }
            _quorum.ToUnattached(follower.Epoch, now);
            return 0;
        }
        if (follower.FetchingSnapshot is { } download)
        {
            TrySend(follower.LeaderId, now, () => BuildFetchSnapshot(follower.Epoch, download));
        }
        else if (_log.FlushedOffset == _log.EndOffset)
        {
            TrySend(follower.LeaderId, now, () => BuildFetch(follower.Epoch));
        }
        return Math.Min(follower.FetchDeadlineMs - now, NextConnectionEvent(now));
    }

    private long PollUnattached(UnattachedState unattached, long now)
    {
        if (!_quorum.IsVoter)
        {
            // An observer finds the leader by asking any voter; a voter that is not the leader answers with who is.
            var voters = _quorum.Voters.Order().ToList();
            var target = voters[_quorum.Random.Next(voters.Count)];
            if (!HasRequestInFlight())
            {
                TrySend(target, now, () => BuildFetch(unattached.Epoch));
            }
            return NextConnectionEvent(now);
        }
        if (now >= unattached.ElectionDeadlineMs)
        {
            _quorum.ToProspective(now);
            return PollProspective((ProspectiveState)_quorum.Current, now);
        }
        return unattached.ElectionDeadlineMs - now;
    }

    private long PollResigned(ResignedState resigned, long now)
    {
        if (now >= resigned.ElectionDeadlineMs)
        {
            if (!_quorum.IsVoter)
            {
                // Removed from the voters (KIP-853): from now on an observer.
                _quorum.ToUnattached(resigned.Epoch, now);
                return 0;
            }
            _quorum.ToProspective(now);
            return PollProspective((ProspectiveState)_quorum.Current, now);
        }
        foreach (var voter in _quorum.Voters)
        {
            if (voter == _localId || resigned.Acknowledged.Contains(voter))
            {
                continue;
            }
            TrySend(voter, now, () => new EndQuorumEpochRequest
            {
                ClusterId = _config.ClusterId,
                Topics =
                [
                    new()
                    {
                        TopicName = RaftRpc.MetadataTopic,
                        Partitions =
                        [
                            new()
                            {
                                PartitionIndex = RaftRpc.MetadataPartition,
                                LeaderId = _localId,
                                LeaderEpoch = resigned.Epoch,
                                PreferredCandidates = resigned.PreferredSuccessors.Select(id => new EndQuorumEpochRequest.ReplicaInfo { CandidateId = id }).ToList(),
                            },
                        ],
                    },
                ],
            });
        }
        return Math.Min(resigned.ElectionDeadlineMs - now, NextConnectionEvent(now));
    }

    private void SendVoteRequests(int epoch, VoteTally tally, bool preVote, long now)
    {
        var end = _log.EndOffsetAndEpoch;
        foreach (var voter in _quorum.Voters)
        {
            if (voter == _localId || tally.HasAnswered(voter))
            {
                continue;
            }
            TrySend(voter, now, () => new VoteRequest
            {
                ClusterId = _config.ClusterId,
                VoterId = voter,
                Topics =
                [
                    new()
                    {
                        TopicName = RaftRpc.MetadataTopic,
                        Partitions =
                        [
                            new()
                            {
                                PartitionIndex = RaftRpc.MetadataPartition,
                                CandidateEpoch = epoch,
                                CandidateId = _localId,
                                LastOffsetEpoch = end.Epoch,
                                LastOffset = end.Offset,
                            },
                        ],
                    },
                ],
            }, preVote);
        }
    }

    private void BecomeCandidate(long now, int retries)
    {
        var candidate = _quorum.ToCandidate(now, retries);
        if (candidate.Tally.IsWon)
        {
            BecomeLeader(now);
        }
    }

    private void BecomeLeader(long now)
    {
        var granted = ((CandidateState)_quorum.Current).Tally.Granted.ToList();
        var epoch = _quorum.Epoch;
        // The leader's first entry opens its epoch; the high watermark moves only once this entry commits.
        var (startOffset, _) = _log.AppendAsLeader(RaftRpc.LeaderChangeBatch(_localId, _quorum.Voters, granted, now), epoch);
        _quorum.ToLeader(startOffset, now);
    }

    /// <summary>A pre-vote that did not win: back to following the leader we knew, or unattached with a new timer.</summary>
    private void LeaveLostPreVote(ProspectiveState prospective, long now)
    {
        if (prospective.LeaderId >= 0)
        {
            _quorum.ToFollower(prospective.Epoch, prospective.LeaderId, now);
        }
        else
        {
            _quorum.ToUnattached(prospective.Epoch, now);
        }
    }

    private FetchRequest BuildFetch(int epoch)
    {
        var end = _log.EndOffsetAndEpoch;
        return new FetchRequest
        {
            ClusterId = _config.ClusterId,
            ReplicaState = new FetchRequest.ReplicaStateData { ReplicaId = _localId },
            MaxWaitMs = _config.FetchMaxWaitMs,
            MaxBytes = _config.FetchMaxBytes,
            Topics =
            [
                new()
                {
                    TopicId = Uuid.MetadataTopicId,
                    Partitions =
                    [
                        new()
                        {
                            Partition = RaftRpc.MetadataPartition,
                            CurrentLeaderEpoch = epoch,
                            FetchOffset = end.Offset,
                            LastFetchedEpoch = end.Epoch,
                            LogStartOffset = _log.StartOffset,
                            PartitionMaxBytes = _config.FetchMaxBytes,
                        },
                    ],
                },
            ],
        };
    }

    private FetchSnapshotRequest BuildFetchSnapshot(int epoch, SnapshotDownload download) => new()
    {
        ClusterId = _config.ClusterId,
        ReplicaId = _localId,
        MaxBytes = _config.FetchMaxBytes,
        Topics =
        [
            new()
            {
                Name = RaftRpc.MetadataTopic,
                Partitions =
                [
                    new()
                    {
                        Partition = RaftRpc.MetadataPartition,
                        CurrentLeaderEpoch = epoch,
                        SnapshotId = new() { EndOffset = download.Id.Offset, Epoch = download.Id.Epoch },
                        Position = download.Received.Length,
                    },
                ],
            },
        ],
    };

    private void OnTransition(EpochState previous, EpochState next)
    {
        // Requests of the old state are forgotten: their responses no longer mean anything to us.
        _connections.Clear();
        if (previous is LeaderState && next is not LeaderState)
        {
            foreach (var parked in _parkedFetches)
            {
                SendResponse(parked.Request, FetchErrorResponse(ErrorCode.NotLeaderOrFollower));
            }
            _parkedFetches.Clear();
            foreach (var pending in _pendingAppends)
            {
                pending.Completion.TrySetException(new NotLeaderException($"Node {_localId} stopped leading epoch {previous.Epoch} before offset {pending.LastOffset} committed"));
            }
            _pendingAppends.Clear();
            if (_pendingVoterChange is { } change)
            {
                _pendingVoterChange = null;
                SendResponse(change.Request, VoterChangeResponse(change.Request, ErrorCode.NotLeaderOrFollower, "Leadership changed before the voter change committed"));
            }
        }
    }

    private void OnLeaderHighWatermarkAdvanced(LeaderState leader)
    {
        if (leader.HighWatermark is { } hw)
        {
            _highWatermark = Math.Max(_highWatermark, hw);
        }
    }

    private void UpdateFollowerHighWatermark(FollowerState follower, long leaderHighWatermark)
    {
        if (leaderHighWatermark < 0)
        {
            return;
        }
        var hw = Math.Min(leaderHighWatermark, _log.EndOffset);
        if (follower.HighWatermark is { } current && hw <= current)
        {
            return;
        }
        follower.HighWatermark = hw;
        _highWatermark = Math.Max(_highWatermark, hw);
    }

    private void DeliverCommits()
    {
        if (_pendingVoterChange is { } change && change.Offset < _highWatermark && _quorum.Current is LeaderState leader)
        {
            _pendingVoterChange = null;
            SendResponse(change.Request, VoterChangeResponse(change.Request, ErrorCode.None, null));
            if (!leader.IsLocalVoter)
            {
                // Our own removal committed: hand over (KIP-853).
                leader.Resigning = true;
            }
        }
        for (var i = 0; i < _pendingAppends.Count; i++)
        {
            if (_pendingAppends[i].LastOffset < _highWatermark)
            {
                _pendingAppends[i].Completion.TrySetResult(_pendingAppends[i].LastOffset);
                _pendingAppends.RemoveAt(i--);
            }
        }
        foreach (var context in _listeners)
        {
            if (context.NextOffset < _log.StartOffset && _log.LatestSnapshotId is { } snapshotId && _log.ReadSnapshot(snapshotId) is { } stored)
            {
                // The records this listener needs next are only in the snapshot now.
                context.Listener.HandleLoadSnapshot(snapshotId, RaftSnapshot.Read(stored.Span).Records);
                context.NextOffset = snapshotId.Offset;
            }
            while (context.NextOffset < _highWatermark)
            {
                var data = _log.Read(context.NextOffset, _config.FetchMaxBytes);
                if (data.IsEmpty)
                {
                    break;
                }
                var span = data.Span;
                var advanced = false;
                foreach (var (position, header) in RaftRpc.Batches(span))
                {
                    if (header.LastOffset >= _highWatermark)
                    {
                        break;
                    }
                    if (header.LastOffset >= context.NextOffset)
                    {
                        var records = header.IsControl ? [] : RaftRpc.RecordValues(span.Slice(position, header.SizeInBytes));
                        context.Listener.HandleCommit(new CommittedBatch(header.BaseOffset, header.LastOffset, header.PartitionLeaderEpoch, header.IsControl, records));
                        context.NextOffset = header.LastOffset + 1;
                        advanced = true;
                    }
                }
                if (!advanced)
                {
                    break;
                }
            }
        }
    }

    private void NotifyLeaderChange()
    {
        var current = _quorum.Current.LeaderAndEpoch;
        if (current == _notifiedLeader)
        {
            return;
        }
        _notifiedLeader = current;
        foreach (var context in _listeners)
        {
            context.Listener.HandleLeaderChange(current);
        }
    }

    private sealed class ListenerContext(IRaftListener listener)
    {
        public IRaftListener Listener { get; } = listener;

        public long NextOffset { get; set; }
    }

    private sealed record PendingAppend(long LastOffset, TaskCompletionSource<long> Completion);

    private sealed record PendingVoterChange(RaftMessage Request, long Offset, long DeadlineMs);

    private sealed record ParkedFetch(RaftMessage Request, long FetchOffset, long? HighWatermark, long DeadlineMs);
}
