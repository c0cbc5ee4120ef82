using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Metadata.Quorum;

/// <summary>KIP-853 on <see cref="RaftClient"/>: the voter set history kept in step with the log, and AddRaftVoter/RemoveRaftVoter at the leader.</summary>
public sealed partial class RaftClient
{
    /// <summary>The voter sets from the snapshot the log starts at and every VotersRecord in the log.</summary>
    private void RebuildVoterHistory()
    {
        if (_log.LatestSnapshotId is { } id && _log.ReadSnapshot(id) is { } stored && RaftSnapshot.Read(stored.Span).Voters is { } saved)
        {
            _voters.Reset(saved);
        }
        else
        {
            _voters.Reset(_config.Voters);
        }
        for (var offset = _log.StartOffset; offset < _log.EndOffset;)
        {
            var data = _log.Read(offset, _config.FetchMaxBytes);
            var batches = RaftRpc.Batches(data.Span);
            if (batches.Count == 0)
            {
                break;
            }
            foreach (var (at, voters) in VoterSetHistory.VotersIn(data.Span))
            {
                _voters.Add(at, voters);
            }
            offset = batches[^1].Header.LastOffset + 1;
        }
    }

    /// <summary>The voter set in the log changed (appended, truncated, or a snapshot installed): a replica that is no longer a voter stops standing.</summary>
    private void OnVotersChanged(long now)
    {
        if (!_quorum.IsVoter && _quorum.Current is ProspectiveState or CandidateState)
        {
            _quorum.ToUnattached(_quorum.Epoch, now);
        }
        if (_quorum.Current is LeaderState leader)
        {
            leader.UpdateVoters(_voters.Latest);
        }
    }

    /// <summary>
    /// KIP-853 AddRaftVoter / RemoveRaftVoter at the leader: one change at a time, only once this leader has committed
    /// in its epoch and no earlier change is uncommitted; an added voter must already follow (as an observer) and be
    /// caught up to the high watermark. The VotersRecord takes effect when appended; the answer waits for its commit.
    /// </summary>
    /// <param name="added">For an add: the voter as the request describes it (directory id, endpoints), recorded in the VotersRecord.</param>
    private void HandleVoterChange(RaftMessage request, string? clusterId, int voterId, bool add, int timeoutMs, long now, QuorumVoter? added = null)
    {
        ErrorCode error;
        string? message = null;
        if (!string.Equals(clusterId, _config.ClusterId, StringComparison.Ordinal))
        {
            error = ErrorCode.InconsistentClusterId;
        }
        else if (_quorum.Current is not LeaderState leader || leader.Resigning)
        {
            error = ErrorCode.NotLeaderOrFollower;
        }
        else if (leader.HighWatermark is not { } hw || _pendingVoterChange is not null || _voters.LatestOffset >= hw)
        {
            error = ErrorCode.RequestTimedOut;
            message = "Another voter change is in progress, or this leader has not committed in its epoch yet";
        }
        else if (add && _voters.Latest.Contains(voterId))
        {
            error = ErrorCode.DuplicateVoter;
        }
        else if (add && (!leader.Observers.TryGetValue(voterId, out var progress) || progress.EndOffset < hw))
        {
            error = ErrorCode.RequestTimedOut;
            message = $"Replica {voterId} is not caught up to the high watermark {hw}";
        }
        else if (!add && !_voters.Latest.Contains(voterId))
        {
            error = ErrorCode.VoterNotFound;
        }
        else if (!add && _voters.Latest.Count == 1)
        {
            error = ErrorCode.InvalidRequest;
            message = "The last voter cannot be removed";
        }
        else
        {
            // The voters keep the directory ids and endpoints the log has for them; an added one brings its own.
            var voters = _voters.LatestVoters.Where(v => v.Id != voterId).ToList();
            if (add)
            {
                voters.Add(added ?? QuorumVoter.OfId(voterId));
                voters.Sort((a, b) => a.Id.CompareTo(b.Id));
            }
            var (offset, _) = _log.AppendAsLeader(VoterSetHistory.VotersBatch(voters, now), leader.Epoch);
            _voters.Add(offset, voters);
            OnVotersChanged(now);
            _pendingVoterChange = new PendingVoterChange(request, offset, now + Math.Max(timeoutMs, 1));
            return;
        }
        SendResponse(request, VoterChangeResponse(request, error, message));
    }

    private static IApiMessage VoterChangeResponse(RaftMessage request, ErrorCode error, string? message) => request.Body switch
    {
        AddRaftVoterRequest => new AddRaftVoterResponse { ErrorCode = (short)error, ErrorMessage = message },
        _ => new RemoveRaftVoterResponse { ErrorCode = (short)error, ErrorMessage = message },
    };
}
