using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Metadata.Quorum;

/// <summary>The RPC handlers of <see cref="RaftClient"/>: inbound requests, their responses, and the outbound request bookkeeping.</summary>
public sealed partial class RaftClient
{
    private void HandleRequest(RaftMessage request, long now)
    {
        switch (request.Body)
        {
            case VoteRequest vote:
                HandleVoteRequest(request, vote, now);
                break;
            case BeginQuorumEpochRequest begin:
                HandleBeginQuorumEpochRequest(request, begin, now);
                break;
            case EndQuorumEpochRequest end:
                HandleEndQuorumEpochRequest(request, end, now);
                break;
            case FetchRequest fetch:
                HandleFetchRequest(request, fetch, now);
                break;
            case DescribeQuorumRequest:
                SendResponse(request, DescribeQuorum());
                break;
            case FetchSnapshotRequest fetchSnapshot:
                HandleFetchSnapshotRequest(request, fetchSnapshot, now);
                break;
            case AddRaftVoterRequest add:
                HandleVoterChange(request, add.ClusterId, add.VoterId, add: true, add.TimeoutMs, now,
                    new QuorumVoter(add.VoterId, add.VoterDirectoryId, [.. add.Listeners.Select(l => new VoterEndpoint(l.Name, l.Host, l.Port))]));
                break;
            case RemoveRaftVoterRequest remove:
                HandleVoterChange(request, remove.ClusterId, remove.VoterId, add: false, _config.RequestTimeoutMs, now);
                break;
        }
    }

    private void HandleResponse(RaftMessage response, long now)
    {
        if (!_connections.TryGetValue(response.Source, out var connection) || connection.InFlight != response.CorrelationId)
        {
            return; // a response to a request of an earlier state, or one we already gave up on
        }
        connection.InFlight = null;
        if (response.Unreachable)
        {
            // The transport could not deliver the request (refused, reset): retry after the back-off, not the timeout.
            connection.BackoffUntilMs = now + _config.RetryBackoffMs;
            return;
        }
        switch (response.Body)
        {
            case VoteResponse vote:
                HandleVoteResponse(response.Source, vote, now);
                break;
            case BeginQuorumEpochResponse begin:
                HandleBeginQuorumEpochResponse(response.Source, begin, now);
                break;
            case EndQuorumEpochResponse end:
                HandleEndQuorumEpochResponse(response.Source, end, now);
                break;
            case FetchResponse fetch:
                HandleFetchResponse(response.Source, fetch, now);
                break;
            case FetchSnapshotResponse fetchSnapshot:
                HandleFetchSnapshotResponse(response.Source, fetchSnapshot, now);
                break;
        }
    }

    /// <summary>
    /// Learns of a leader or epoch from any message (Kafka's <c>maybeTransition</c>): a higher epoch moves us to it,
    /// following its leader if named; a leader named for our own epoch, while we know none, is followed.
    /// Returns true when the state changed.
    /// </summary>
    private bool MaybeTransition(int leaderId, int epoch, long now)
    {
        var current = _quorum.Current;
        if (epoch > current.Epoch)
        {
            if (leaderId >= 0 && leaderId != _localId)
            {
                _quorum.ToFollower(epoch, leaderId, now);
            }
            else
            {
                _quorum.ToUnattached(epoch, now);
            }
            return true;
        }
        // A prospective that still remembers the leader keeps collecting pre-votes (as Kafka's hasLeader() check).
        if (epoch == current.Epoch && leaderId >= 0 && leaderId != _localId && current.LeaderId < 0 && current is UnattachedState or ProspectiveState or CandidateState)
        {
            _quorum.ToFollower(epoch, leaderId, now);
            return true;
        }
        return false;
    }

    private void HandleVoteRequest(RaftMessage request, VoteRequest vote, long now)
    {
        var partition = RaftRpc.Partition(vote);
        if (partition is null)
        {
            SendResponse(request, new VoteResponse { ErrorCode = (short)ErrorCode.InvalidRequest });
            return;
        }
        if (!string.Equals(vote.ClusterId, _config.ClusterId, StringComparison.Ordinal))
        {
            SendResponse(request, new VoteResponse { ErrorCode = (short)ErrorCode.InconsistentClusterId });
            return;
        }
        var preVote = request.PreVote;
        var granted = false;
        if (!_quorum.Voters.Contains(partition.CandidateId) && !_quorum.IsVoter)
        {
            // Neither of us is a voter as our log has it. Otherwise we answer (KIP-853): our log's voter set may be
            // stale or about to be truncated, and a vote only counts where the candidate's set includes us, so
            // refusing because our own log says we are not a voter could leave no electable majority.
            granted = false;
        }
        else if (partition.CandidateEpoch >= _quorum.Epoch)
        {
            if (!preVote && partition.CandidateEpoch > _quorum.Epoch)
            {
                // A real vote for a later epoch moves us there first (a leader of an older epoch steps down).
                _quorum.ToUnattached(partition.CandidateEpoch, now);
            }
            var upToDate = new OffsetAndEpoch(partition.LastOffset, partition.LastOffsetEpoch).CompareTo(_log.EndOffsetAndEpoch) >= 0;
            granted = _quorum.Current.CanGrantVote(partition.CandidateId, upToDate, preVote);
            if (granted && !preVote && _quorum.Current.VotedId != partition.CandidateId)
            {
                // Persisted before the response below leaves.
                _quorum.ToUnattachedVoted(partition.CandidateId, now);
            }
        }
        var current = _quorum.Current;
        SendResponse(request, preVote, new VoteResponse
        {
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
                            ErrorCode = (short)(partition.CandidateEpoch < current.Epoch ? ErrorCode.FencedLeaderEpoch : ErrorCode.None),
                            LeaderId = current.LeaderId,
                            LeaderEpoch = current.Epoch,
                            VoteGranted = granted,
                        },
                    ],
                },
            ],
        });
    }

    private void HandleVoteResponse(int source, VoteResponse response, long now)
    {
        var partition = RaftRpc.Partition(response);
        if (response.ErrorCode != 0 || partition is null)
        {
            Backoff(source, now);
            return;
        }
        if (MaybeTransition(partition.LeaderId, partition.LeaderEpoch, now))
        {
            return;
        }
        switch (_quorum.Current)
        {
            case ProspectiveState prospective:
                if (partition.VoteGranted)
                {
                    prospective.Tally.Grant(source);
                }
                else
                {
                    prospective.Tally.Reject(source);
                    if (partition.LeaderEpoch < prospective.Epoch)
                    {
                        prospective.RejectedFromLowerEpoch.Add(source);
                    }
                }
                if (prospective.Tally.IsWon)
                {
                    BecomeCandidate(now, 0);
                }
                else if (prospective.Tally.IsLost && prospective.Tally.Rejected.All(prospective.RejectedFromLowerEpoch.Contains))
                {
                    // Every refusal came from an epoch below ours: our epoch already exists (we stood in it and
                    // lost touch), and no leader of a lower epoch can ever be followed by us. Pre-vote cannot shield
                    // the quorum from an epoch it must move past, so stand for real; the quorum adopts the epoch.
                    BecomeCandidate(now, 0);
                }
                else if (prospective.Tally.IsLost)
                {
                    LeaveLostPreVote(prospective, now);
                }
                break;
            case CandidateState candidate when partition.LeaderEpoch == candidate.Epoch:
                if (partition.VoteGranted)
                {
                    candidate.Tally.Grant(source);
                }
                else
                {
                    candidate.Tally.Reject(source);
                }
                if (candidate.Tally.IsWon)
                {
                    BecomeLeader(now);
                }
                break;
        }
    }

    private void HandleBeginQuorumEpochRequest(RaftMessage request, BeginQuorumEpochRequest begin, long now)
    {
        var partition = RaftRpc.Partition(begin);
        var error = ErrorCode.None;
        if (partition is null)
        {
            error = ErrorCode.InvalidRequest;
        }
        else if (partition.LeaderEpoch < _quorum.Epoch)
        {
            error = ErrorCode.FencedLeaderEpoch;
        }
        else if (partition.LeaderEpoch > _quorum.Epoch || _quorum.Current is not FollowerState)
        {
            if (partition.LeaderId != _localId && !(partition.LeaderEpoch == _quorum.Epoch && _quorum.Current is LeaderState or ResignedState))
            {
                _quorum.ToFollower(partition.LeaderEpoch, partition.LeaderId, now);
            }
        }
        var current = _quorum.Current;
        SendResponse(request, new BeginQuorumEpochResponse
        {
            Topics =
            [
                new()
                {
                    TopicName = RaftRpc.MetadataTopic,
                    Partitions = [new() { PartitionIndex = RaftRpc.MetadataPartition, ErrorCode = (short)error, LeaderId = current.LeaderId, LeaderEpoch = current.Epoch }],
                },
            ],
        });
    }

    private void HandleBeginQuorumEpochResponse(int source, BeginQuorumEpochResponse response, long now)
    {
        var partition = RaftRpc.Partition(response);
        if (response.ErrorCode != 0 || partition is null)
        {
            Backoff(source, now);
            return;
        }
        if (MaybeTransition(partition.LeaderId, partition.LeaderEpoch, now))
        {
            return;
        }
        if (partition.ErrorCode == 0 && _quorum.Current is LeaderState leader && partition.LeaderEpoch == leader.Epoch)
        {
            leader.Unacknowledged.Remove(source);
        }
        else
        {
            Backoff(source, now);
        }
    }

    private void HandleEndQuorumEpochRequest(RaftMessage request, EndQuorumEpochRequest end, long now)
    {
        var partition = RaftRpc.Partition(end);
        var error = ErrorCode.None;
        if (partition is null)
        {
            error = ErrorCode.InvalidRequest;
        }
        else if (partition.LeaderEpoch < _quorum.Epoch)
        {
            error = ErrorCode.FencedLeaderEpoch;
        }
        else
        {
            if (partition.LeaderId != _localId)
            {
                MaybeTransition(partition.LeaderId, partition.LeaderEpoch, now);
            }
            if (_quorum.Current is FollowerState follower && follower.LeaderId == partition.LeaderId && follower.Epoch == partition.LeaderEpoch)
            {
                // The leader is gone: elect a successor now rather than after the fetch timeout. The best-placed
                // successor goes first, the others back off by their position in the leader's list.
                var position = partition.PreferredCandidates.FindIndex(c => c.CandidateId == _localId);
                var backoff = position <= 0 ? 0 : _quorum.ElectionBackoffMs(position);
                follower.FetchDeadlineMs = Math.Min(follower.FetchDeadlineMs, now + backoff);
                follower.HasFetchedFromLeader = false;
                follower.LeaderResigned = true;
            }
        }
        var current = _quorum.Current;
        SendResponse(request, new EndQuorumEpochResponse
        {
            Topics =
            [
                new()
                {
                    TopicName = RaftRpc.MetadataTopic,
                    Partitions = [new() { PartitionIndex = RaftRpc.MetadataPartition, ErrorCode = (short)error, LeaderId = current.LeaderId, LeaderEpoch = current.Epoch }],
                },
            ],
        });
    }

    private void HandleEndQuorumEpochResponse(int source, EndQuorumEpochResponse response, long now)
    {
        var partition = RaftRpc.Partition(response);
        if (response.ErrorCode != 0 || partition is null)
        {
            Backoff(source, now);
            return;
        }
        if (MaybeTransition(partition.LeaderId, partition.LeaderEpoch, now))
        {
            return;
        }
        if (_quorum.Current is ResignedState resigned && partition.ErrorCode == 0)
        {
            resigned.Acknowledged.Add(source);
        }
    }

    private void HandleFetchRequest(RaftMessage request, FetchRequest fetch, long now)
    {
        var partition = RaftRpc.Partition(fetch);
        if (partition is null)
        {
            SendResponse(request, new FetchResponse { ErrorCode = (short)ErrorCode.InvalidRequest });
            return;
        }
        if (!string.Equals(fetch.ClusterId, _config.ClusterId, StringComparison.Ordinal))
        {
            SendResponse(request, new FetchResponse { ErrorCode = (short)ErrorCode.InconsistentClusterId });
            return;
        }
        var current = _quorum.Current;
        if (partition.CurrentLeaderEpoch < current.Epoch)
        {
            SendResponse(request, FetchErrorResponse(ErrorCode.FencedLeaderEpoch));
            return;
        }
        if (partition.CurrentLeaderEpoch > current.Epoch)
        {
            SendResponse(request, FetchErrorResponse(ErrorCode.UnknownLeaderEpoch));
            return;
        }
        if (current is not LeaderState leader)
        {
            SendResponse(request, FetchErrorResponse(ErrorCode.NotLeaderOrFollower));
            return;
        }
        if (_log.SnapshotNeeded(partition.FetchOffset, partition.LastFetchedEpoch) is { } snapshot)
        {
            // The records the follower needs are gone into our snapshot: it must load that first.
            var response = FetchErrorResponse(ErrorCode.None);
            var data = RaftRpc.Partition(response)!;
            data.HighWatermark = leader.HighWatermark ?? -1;
            data.SnapshotId = new FetchResponse.SnapshotId { EndOffset = snapshot.Offset, Epoch = snapshot.Epoch };
            SendResponse(request, response);
            return;
        }
        if (_log.Diverging(partition.FetchOffset, partition.LastFetchedEpoch) is { } diverging)
        {
            var response = FetchErrorResponse(ErrorCode.None);
            var data = RaftRpc.Partition(response)!;
            data.HighWatermark = leader.HighWatermark ?? -1;
            data.DivergingEpoch = new FetchResponse.EpochEndOffset { Epoch = diverging.Epoch, EndOffset = diverging.Offset };
            SendResponse(request, response);
            return;
        }
        var replicaId = fetch.ReplicaState.ReplicaId;
        if (replicaId >= 0 && leader.UpdateReplica(replicaId, partition.FetchOffset, now))
        {
            OnLeaderHighWatermarkAdvanced(leader);
        }
        if (partition.FetchOffset >= _log.EndOffset && fetch.MaxWaitMs > 0 && !leader.Resigning)
        {
            // Nothing new: park it until records are appended, the high watermark moves, or max wait passes.
            _parkedFetches.Add(new ParkedFetch(request, partition.FetchOffset, leader.HighWatermark, now + Math.Min(fetch.MaxWaitMs, _config.FetchMaxWaitMs)));
            return;
        }
        SendResponse(request, FetchDataResponse(leader, partition.FetchOffset));
    }

    private FetchResponse FetchDataResponse(LeaderState leader, long fetchOffset)
    {
        var response = FetchErrorResponse(ErrorCode.None);
        var data = RaftRpc.Partition(response)!;
        data.HighWatermark = leader.HighWatermark ?? -1;
        var records = _log.Read(fetchOffset, _config.FetchMaxBytes);
        data.Records = records.IsEmpty ? ReadOnlyMemory<byte>.Empty : records.ToArray();
        return response;
    }

    private FetchResponse FetchErrorResponse(ErrorCode error)
    {
        var current = _quorum.Current;
        return new FetchResponse
        {
            Responses =
            [
                new()
                {
                    TopicId = Uuid.MetadataTopicId,
                    Partitions =
                    [
                        new()
                        {
                            PartitionIndex = RaftRpc.MetadataPartition,
                            ErrorCode = (short)error,
                            HighWatermark = -1,
                            CurrentLeader = new FetchResponse.LeaderIdAndEpoch { LeaderId = current.LeaderId, LeaderEpoch = current.Epoch },
                            Records = ReadOnlyMemory<byte>.Empty,
                        },
                    ],
                },
            ],
        };
    }

    private void HandleFetchResponse(int source, FetchResponse response, long now)
    {
        var partition = RaftRpc.Partition(response);
        if (response.ErrorCode != 0 || partition is null)
        {
            Backoff(source, now);
            return;
        }
        var leader = partition.CurrentLeader;
        if (partition.ErrorCode != 0)
        {
            if (!MaybeTransition(leader.LeaderId, leader.LeaderEpoch, now))
            {
                Backoff(source, now);
            }
            return;
        }
        if (MaybeTransition(leader.LeaderId, leader.LeaderEpoch, now))
        {
            return;
        }
        if (_quorum.Current is not FollowerState follower || follower.LeaderId != source || follower.Epoch != leader.LeaderEpoch)
        {
            return;
        }
        if (!follower.LeaderResigned)
        {
            follower.FetchDeadlineMs = now + _config.FetchTimeoutMs;
            follower.HasFetchedFromLeader = true;
        }
        if (partition.SnapshotId.EndOffset >= 0 && partition.SnapshotId.Epoch >= 0)
        {
            var id = new OffsetAndEpoch(partition.SnapshotId.EndOffset, partition.SnapshotId.Epoch);
            if (follower.FetchingSnapshot?.Id != id)
            {
                follower.FetchingSnapshot = new SnapshotDownload(id);
            }
            return;
        }
        if (partition.DivergingEpoch.EndOffset >= 0 || partition.DivergingEpoch.Epoch >= 0)
        {
            // Our log went past where it agrees with the leader's: cut back and fetch again from there.
            _log.TruncateToEndOffset(new OffsetAndEpoch(partition.DivergingEpoch.EndOffset, partition.DivergingEpoch.Epoch));
            _voters.TruncateTo(_log.EndOffset);
            OnVotersChanged(now);
            // No high watermark from a diverging answer: one truncation may not reach the point where our log
            // agrees with the leader's (a stale epoch can remain, to be cut by the next fetch), and entries below
            // min(leader's high watermark, our end) are known to be the leader's only once a fetch is accepted.
            return;
        }
        else if (partition.Records is { Length: > 0 } records)
        {
            var start = _log.EndOffset;
            _log.AppendAsFollower(records.Span);
            var changes = VoterSetHistory.VotersIn(records.Span);
            foreach (var (offset, voters) in changes)
            {
                if (offset >= start)
                {
                    _voters.Add(offset, voters);
                }
            }
            if (changes.Count > 0)
            {
                OnVotersChanged(now);
            }
        }
        if (_quorum.Current != follower)
        {
            return;
        }
        UpdateFollowerHighWatermark(follower, partition.HighWatermark);
    }

    private DescribeQuorumResponse DescribeQuorum()
    {
        if (_quorum.Current is not LeaderState leader)
        {
            return new DescribeQuorumResponse
            {
                Topics =
                [
                    new()
                    {
                        TopicName = RaftRpc.MetadataTopic,
                        Partitions = [new() { PartitionIndex = RaftRpc.MetadataPartition, ErrorCode = (short)ErrorCode.NotLeaderOrFollower, ErrorMessage = null }],
                    },
                ],
                ErrorMessage = null,
            };
        }
        static DescribeQuorumResponse.ReplicaState Describe(ReplicaProgress progress) => new()
        {
            ReplicaId = progress.ReplicaId,
            LogEndOffset = progress.EndOffset,
            LastFetchTimestamp = progress.LastFetchMs,
            LastCaughtUpTimestamp = progress.LastCaughtUpMs,
        };
        return new DescribeQuorumResponse
        {
            ErrorMessage = null,
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
                            ErrorMessage = null,
                            LeaderId = _localId,
                            LeaderEpoch = leader.Epoch,
                            HighWatermark = leader.HighWatermark ?? -1,
                            CurrentVoters = leader.Voters.Values.OrderBy(v => v.ReplicaId).Select(Describe).ToList(),
                            Observers = leader.Observers.Values.OrderBy(v => v.ReplicaId).Select(Describe).ToList(),
                        },
                    ],
                },
            ],
        };
    }

    private void TrySend(int destination, long now, Func<IApiMessage> build, bool preVote = false)
    {
        if (!_connections.TryGetValue(destination, out var connection))
        {
            connection = new Connection();
            _connections[destination] = connection;
        }
        if (connection.InFlight is not null || now < connection.BackoffUntilMs)
        {
            return;
        }
        var correlationId = ++_nextCorrelationId;
        connection.InFlight = correlationId;
        connection.SentMs = now;
        _channel.Send(new RaftMessage { Source = _localId, Destination = destination, CorrelationId = correlationId, IsRequest = true, Body = build(), PreVote = preVote });
    }

    private void SendResponse(RaftMessage request, IApiMessage body) => SendResponse(request, false, body);

    /// <summary>Answers <paramref name="request"/>; a pre-vote's answer is marked as one, so it is never mistaken for a real vote.</summary>
    private void SendResponse(RaftMessage request, bool preVote, IApiMessage body) =>
        _channel.Send(new RaftMessage { Source = _localId, Destination = request.Source, CorrelationId = request.CorrelationId, IsRequest = false, Body = body, PreVote = preVote });

    private void Backoff(int destination, long now)
    {
        if (_connections.TryGetValue(destination, out var connection))
        {
            connection.BackoffUntilMs = now + _config.RetryBackoffMs;
        }
    }

    private void ExpireRequests(long now)
    {
        foreach (var connection in _connections.Values)
        {
            if (connection.InFlight is not null && now >= connection.SentMs + _config.RequestTimeoutMs)
            {
                connection.InFlight = null;
                connection.BackoffUntilMs = now + _config.RetryBackoffMs;
            }
        }
    }

    private bool HasRequestInFlight() => _connections.Values.Any(c => c.InFlight is not null);

    /// <summary>How long until a request times out or a backoff ends: the poll must run then to retry.</summary>
    private long NextConnectionEvent(long now)
    {
        var next = (long)_config.RequestTimeoutMs;
        foreach (var connection in _connections.Values)
        {
            if (connection.InFlight is not null)
            {
                next = Math.Min(next, connection.SentMs + _config.RequestTimeoutMs - now);
            }
            else if (connection.BackoffUntilMs > now)
            {
                next = Math.Min(next, connection.BackoffUntilMs - now);
            }
        }
        return Math.Max(next, 0);
    }

    private sealed class Connection
    {
        public int? InFlight { get; set; }

        public long SentMs { get; set; }

        public long BackoffUntilMs { get; set; }
    }
}
