using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Metadata.Quorum;

/// <summary>FetchSnapshot on both sides: the leader serves its latest snapshot in chunks; a follower too far behind downloads and installs it.</summary>
public sealed partial class RaftClient
{
    private void HandleFetchSnapshotRequest(RaftMessage request, FetchSnapshotRequest fetch, long now)
    {
        var partition = fetch.Topics.FirstOrDefault()?.Partitions.FirstOrDefault();
        if (partition is null)
        {
            SendResponse(request, new FetchSnapshotResponse { ErrorCode = (short)ErrorCode.InvalidRequest });
            return;
        }
        if (!string.Equals(fetch.ClusterId, _config.ClusterId, StringComparison.Ordinal))
        {
            SendResponse(request, new FetchSnapshotResponse { ErrorCode = (short)ErrorCode.InconsistentClusterId });
            return;
        }
        var current = _quorum.Current;
        var error = ErrorCode.None;
        ReadOnlyMemory<byte> chunk = ReadOnlyMemory<byte>.Empty;
        long size = 0;
        var id = new OffsetAndEpoch(partition.SnapshotId.EndOffset, partition.SnapshotId.Epoch);
        if (partition.CurrentLeaderEpoch < current.Epoch)
        {
            error = ErrorCode.FencedLeaderEpoch;
        }
        else if (partition.CurrentLeaderEpoch > current.Epoch)
        {
            error = ErrorCode.UnknownLeaderEpoch;
        }
        else if (current is not LeaderState leader)
        {
            error = ErrorCode.NotLeaderOrFollower;
        }
        else if (_log.ReadSnapshot(id) is not { } snapshot)
        {
            error = ErrorCode.SnapshotNotFound;
        }
        else if (partition.Position < 0 || partition.Position > snapshot.Length)
        {
            error = ErrorCode.PositionOutOfRange;
        }
        else
        {
            leader.NoteSnapshotFetch(fetch.ReplicaId);
            size = snapshot.Length;
            var start = (int)partition.Position;
            var length = Math.Min(snapshot.Length - start, Math.Max(1, fetch.MaxBytes));
            chunk = snapshot.Slice(start, length).ToArray();
        }
        SendResponse(request, new FetchSnapshotResponse
        {
            Topics =
            [
                new()
                {
                    Name = RaftRpc.MetadataTopic,
                    Partitions =
                    [
                        new()
                        {
                            Index = RaftRpc.MetadataPartition,
                            ErrorCode = (short)error,
                            SnapshotId = new() { EndOffset = id.Offset, Epoch = id.Epoch },
                            CurrentLeader = new() { LeaderId = current.LeaderId, LeaderEpoch = current.Epoch },
                            SizeField = size,
                            Position = partition.Position,
                            UnalignedRecords = chunk,
                        },
                    ],
                },
            ],
        });
    }

    private void HandleFetchSnapshotResponse(int source, FetchSnapshotResponse response, long now)
    {
        var partition = response.Topics.FirstOrDefault()?.Partitions.FirstOrDefault();
        if (response.ErrorCode != 0 || partition is null)
        {
            Backoff(source, now);
            return;
        }
        var leader = partition.CurrentLeader;
        if (MaybeTransition(leader.LeaderId, leader.LeaderEpoch, now))
        {
            return;
        }
        if (_quorum.Current is not FollowerState follower || follower.LeaderId != source || follower.FetchingSnapshot is not { } download)
        {
            return;
        }
        var error = (ErrorCode)partition.ErrorCode;
        if (error is ErrorCode.SnapshotNotFound or ErrorCode.PositionOutOfRange)
        {
            // The leader moved on to a newer snapshot: fetch again and be told which.
            follower.FetchingSnapshot = null;
            return;
        }
        if (error != ErrorCode.None)
        {
            Backoff(source, now);
            return;
        }
        if (new OffsetAndEpoch(partition.SnapshotId.EndOffset, partition.SnapshotId.Epoch) != download.Id || partition.Position != download.Received.Length)
        {
            return; // a duplicate or a stale chunk
        }
        if (!follower.LeaderResigned)
        {
            follower.FetchDeadlineMs = now + _config.FetchTimeoutMs;
            follower.HasFetchedFromLeader = true;
        }
        download.Received.Write(partition.UnalignedRecords.Span);
        if (download.Received.Length < partition.SizeField)
        {
            return;
        }
        var stored = download.Received.ToArray();
        follower.FetchingSnapshot = null;
        RaftSnapshotContents contents;
        try
        {
            contents = RaftSnapshot.Read(stored);
        }
        catch (InvalidDataException)
        {
            // A torn or corrupt download: fetch it again from the start.
            Backoff(source, now);
            return;
        }
        _log.InstallSnapshot(download.Id, stored);
        if (contents.Voters is { } voters)
        {
            _voters.Reset(voters);
        }
        else
        {
            _voters.Reset(_config.Voters);
        }
        OnVotersChanged(now);
        // A snapshot holds only committed records.
        if (follower.HighWatermark is not { } hw || hw < download.Id.Offset)
        {
            follower.HighWatermark = download.Id.Offset;
        }
        _highWatermark = Math.Max(_highWatermark, download.Id.Offset);
    }
}
