using Samsa.Broker.Cluster;
using Samsa.Broker.Log;
using Samsa.Broker.Replication;
using Samsa.Broker.Security;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Storage;

namespace Samsa.Broker.Handlers;

/// <summary>
/// DeleteRecords (key 21), versions 0-2: moves each partition's log start offset up to the requested offset
/// (-1 means the high watermark) and answers the new low watermark. An offset above the high watermark is
/// OFFSET_OUT_OF_RANGE; an unknown partition UNKNOWN_TOPIC_OR_PARTITION; a partition this node does not lead
/// NOT_LEADER_OR_FOLLOWER. The new log start offsets are checkpointed before the answer, so they survive kill -9.
/// </summary>
public sealed class DeleteRecordsHandler(MetadataCache metadata, ReplicaManager replicas, LogMetadataPublisher logs) : ApiHandler<DeleteRecordsRequest, DeleteRecordsResponse>
{
    public override ApiKey ApiKey => ApiKey.DeleteRecords;

    public override short MinVersion => 0;

    public override short MaxVersion => 2;

    protected override async ValueTask<DeleteRecordsResponse?> HandleAsync(RequestContext context, DeleteRecordsRequest request, CancellationToken cancellationToken)
    {
        var image = metadata.Current;
        var denied = RecordsAdmin.Unauthorized(context, AclOperation.Delete, request.Topics.Select(t => t.Name));
        await RecordsAdmin.WaitForLogsAsync(image, logs, request.Topics.Where(t => denied?.Contains(t.Name) != true)
            .SelectMany(t => t.Partitions.Select(p => (t.Name, p.PartitionIndex))), request.TimeoutMs, cancellationToken);
        // Moving the log start renames and deletes segment files and rewrites checkpoints (fsync): on the thread
        // pool, Kafka's request handler threads, not on the socket event thread.
        return await Task.Run(() => Delete(request, denied), cancellationToken);
    }

    private DeleteRecordsResponse Delete(DeleteRecordsRequest request, HashSet<string>? denied)
    {
        var response = new DeleteRecordsResponse();
        var moved = false;
        foreach (var topic in request.Topics)
        {
            var result = new DeleteRecordsResponse.DeleteRecordsTopicResult { Name = topic.Name };
            response.Topics.Add(result);
            foreach (var partition in topic.Partitions)
            {
                var p = new DeleteRecordsResponse.DeleteRecordsPartitionResult { PartitionIndex = partition.PartitionIndex, LowWatermark = -1 };
                result.Partitions.Add(p);
                if (denied?.Contains(topic.Name) == true)
                {
                    p.ErrorCode = (short)ErrorCode.TopicAuthorizationFailed;
                    continue;
                }
                var lookup = replicas.LeaderLog(topic.Name, partition.PartitionIndex);
                if (lookup.Log is not { } log)
                {
                    p.ErrorCode = (short)lookup.Error;
                    continue;
                }
                var target = partition.Offset == -1 ? log.HighWatermark : partition.Offset;
                if (target < 0 || target > log.HighWatermark)
                {
                    p.ErrorCode = (short)ErrorCode.OffsetOutOfRange;
                    continue;
                }
                try
                {
                    var before = log.LogStartOffset;
                    p.LowWatermark = lookup.Partition!.DeleteRecordsOnLeader(log, target);
                    moved |= p.LowWatermark > before;
                }
                catch (StorageException e)
                {
                    p.ErrorCode = (short)e.ErrorCode;
                }
            }
        }
        if (moved)
        {
            // Answered only once the new log start offsets are on disk: no restart serves the deleted records again.
            logs.Manager.CheckpointLogStartOffsets();
        }
        return response;
    }

    protected override DeleteRecordsResponse ErrorResponse(RequestContext context, DeleteRecordsRequest request, ErrorCode error) => new()
    {
        Topics = request.Topics.Select(t => new DeleteRecordsResponse.DeleteRecordsTopicResult
        {
            Name = t.Name,
            Partitions = t.Partitions.Select(p => new DeleteRecordsResponse.DeleteRecordsPartitionResult { PartitionIndex = p.PartitionIndex, LowWatermark = -1, ErrorCode = (short)error }).ToList(),
        }).ToList(),
    };
}

/// <summary>
/// ListOffsets (key 2), versions 0-10, answered from the partition logs: -1 latest (the high watermark; the last
/// stable offset under read_committed, equal without transactions), -2 earliest, -3 the offset of the largest
/// timestamp (v7+), -4 earliest local (v8+, the log start offset without tiered storage), -5 latest tiered
/// (v9+, -1: nothing is tiered), otherwise the first offset with a timestamp at or after the one asked.
/// v0 answers old_style_offsets. A current leader epoch newer than ours is UNKNOWN_LEADER_EPOCH, older
/// FENCED_LEADER_EPOCH; a partition this broker does not lead NOT_LEADER_OR_FOLLOWER.
/// </summary>
public sealed class ListOffsetsHandler(MetadataCache metadata, ReplicaManager replicas, LogMetadataPublisher logs) : ApiHandler<ListOffsetsRequest, ListOffsetsResponse>
{
    public override ApiKey ApiKey => ApiKey.ListOffsets;

    public override short MinVersion => 0;

    public override short MaxVersion => 10;

    private const long EarliestLocalTimestamp = -4;
    private const long LatestTieredTimestamp = -5;

    protected override async ValueTask<ListOffsetsResponse?> HandleAsync(RequestContext context, ListOffsetsRequest request, CancellationToken cancellationToken)
    {
        var image = metadata.Current;
        var denied = RecordsAdmin.Unauthorized(context, AclOperation.Describe, request.Topics.Select(t => t.Name));
        await RecordsAdmin.WaitForLogsAsync(image, logs, request.Topics.Where(t => denied?.Contains(t.Name) != true)
            .SelectMany(t => t.Partitions.Select(p => (t.Name, p.PartitionIndex))), request.TimeoutMs, cancellationToken);
        var response = new ListOffsetsResponse();
        foreach (var topic in request.Topics)
        {
            var result = new ListOffsetsResponse.ListOffsetsTopicResponse { Name = topic.Name };
            response.Topics.Add(result);
            foreach (var partition in topic.Partitions)
            {
                if (denied?.Contains(topic.Name) == true)
                {
                    result.Partitions.Add(new ListOffsetsResponse.ListOffsetsPartitionResponse
                    {
                        PartitionIndex = partition.PartitionIndex,
                        ErrorCode = (short)ErrorCode.TopicAuthorizationFailed,
                        Timestamp = -1,
                        Offset = -1,
                    });
                    continue;
                }
                result.Partitions.Add(ListOne(context.ApiVersion, topic.Name, partition, readCommitted: request.IsolationLevel == 1));
            }
        }
        return response;
    }

    private ListOffsetsResponse.ListOffsetsPartitionResponse ListOne(short version, string topic, ListOffsetsRequest.ListOffsetsPartition partition,
        bool readCommitted)
    {
        var answer = new ListOffsetsResponse.ListOffsetsPartitionResponse { PartitionIndex = partition.PartitionIndex };
        var lookup = replicas.LeaderLog(topic, partition.PartitionIndex, partition.CurrentLeaderEpoch);
        if (lookup.Log is not { } log)
        {
            answer.ErrorCode = (short)lookup.Error;
            return answer;
        }
        var hosted = lookup.Partition!;
        var epoch = lookup.State!.LeaderEpoch;
        var timestamp = partition.Timestamp;
        // Kafka's fetchOffsetForTimestamp: read_committed sees up to the last stable offset, read_uncommitted up to the high watermark.
        var visible = hosted.VisibleOffset(log, readCommitted);
        TimestampAndOffset? found =
            timestamp == IPartitionLog.LatestTimestamp ? new TimestampAndOffset(-1, visible, epoch)
            // Kafka answers earliest with the leader epoch of the batch at the log start offset (-1 while the log is empty).
            : timestamp == IPartitionLog.EarliestTimestamp || timestamp == EarliestLocalTimestamp
                ? new TimestampAndOffset(-1, log.LogStartOffset, log.LeaderEpochCache.EpochForOffset(log.LogStartOffset) ?? -1)
            : timestamp == LatestTieredTimestamp ? new TimestampAndOffset(-1, -1, -1)
            : hosted.FetchOffsetForTimestamp(log, timestamp);
        if (found is { } hit && hit.Offset > visible)
        {
            found = null;
        }
        if (version == 0)
        {
            answer.OldStyleOffsets = found is { } old && old.Offset >= 0 ? [old.Offset] : [];
            return answer;
        }
        answer.Timestamp = found?.Timestamp ?? -1;
        answer.Offset = found?.Offset ?? -1;
        answer.LeaderEpoch = version >= 4 ? found?.LeaderEpoch ?? -1 : -1;
        return answer;
    }

    protected override ListOffsetsResponse ErrorResponse(RequestContext context, ListOffsetsRequest request, ErrorCode error) => new()
    {
        Topics = request.Topics.Select(t => new ListOffsetsResponse.ListOffsetsTopicResponse
        {
            Name = t.Name,
            Partitions = t.Partitions.Select(p => new ListOffsetsResponse.ListOffsetsPartitionResponse { PartitionIndex = p.PartitionIndex, ErrorCode = (short)error }).ToList(),
        }).ToList(),
    };
}

/// <summary>
/// OffsetForLeaderEpoch (key 23), versions 0-4 (KIP-101, KIP-320): for each partition, the end offset of the asked
/// leader epoch (the start offset of the next higher epoch, or the log end offset for the current one) and the
/// largest epoch at or below it, from the partition's <c>leader-epoch-checkpoint</c>. Consumers send it after a
/// leader change to check that their position was not truncated away. An epoch the log does not know answers -1/-1
/// with no error, as Kafka. A current leader epoch (v2+) newer than ours is UNKNOWN_LEADER_EPOCH, older
/// FENCED_LEADER_EPOCH; a partition this broker does not lead NOT_LEADER_OR_FOLLOWER (the check of
/// <see cref="Partition.CheckLeader(int, out PartitionLog?, out PartitionImage?)"/>, as for Fetch and Produce).
/// </summary>
public sealed class OffsetForLeaderEpochHandler(ReplicaManager replicas) : ApiHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>
{
    public override ApiKey ApiKey => ApiKey.OffsetForLeaderEpoch;

    public override short MinVersion => 0;

    public override short MaxVersion => 4;

    protected override ValueTask<OffsetForLeaderEpochResponse?> HandleAsync(RequestContext context, OffsetForLeaderEpochRequest request, CancellationToken cancellationToken)
    {
        var response = new OffsetForLeaderEpochResponse();
        // Kafka: a follower (replica id >= 0) needs CLUSTER_ACTION, else every partition is refused; a client DESCRIBE on each topic.
        var followerDenied = request.ReplicaId >= 0 && request.Topics.Count > 0 && !context.AuthorizeCluster(AclOperation.ClusterAction);
        var denied = request.ReplicaId >= 0 ? null : RecordsAdmin.Unauthorized(context, AclOperation.Describe, request.Topics.Select(t => t.Topic));
        foreach (var topic in request.Topics)
        {
            var result = new OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult { Topic = topic.Topic };
            response.Topics.Add(result);
            foreach (var partition in topic.Partitions)
            {
                if (followerDenied || denied?.Contains(topic.Topic) == true)
                {
                    result.Partitions.Add(new OffsetForLeaderEpochResponse.EpochEndOffset
                    {
                        Partition = partition.Partition,
                        ErrorCode = (short)ErrorCode.TopicAuthorizationFailed,
                        LeaderEpoch = -1,
                        EndOffset = -1,
                    });
                    continue;
                }
                result.Partitions.Add(EndOffsetOne(topic.Topic, partition));
            }
        }
        return ValueTask.FromResult<OffsetForLeaderEpochResponse?>(response);
    }

    private OffsetForLeaderEpochResponse.EpochEndOffset EndOffsetOne(string topic, OffsetForLeaderEpochRequest.OffsetForLeaderPartition partition)
    {
        var answer = new OffsetForLeaderEpochResponse.EpochEndOffset { Partition = partition.Partition };
        var lookup = replicas.LeaderLog(topic, partition.Partition, partition.CurrentLeaderEpoch);
        if (lookup.Log is not { } log)
        {
            answer.ErrorCode = (short)lookup.Error;
            return answer;
        }
        (answer.LeaderEpoch, answer.EndOffset) = lookup.Partition!.LastOffsetForLeaderEpoch(log, partition.LeaderEpoch);
        return answer;
    }

    protected override OffsetForLeaderEpochResponse ErrorResponse(RequestContext context, OffsetForLeaderEpochRequest request, ErrorCode error) => new()
    {
        Topics = request.Topics.Select(t => new OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult
        {
            Topic = t.Topic,
            Partitions = t.Partitions.Select(p => new OffsetForLeaderEpochResponse.EpochEndOffset { Partition = p.Partition, ErrorCode = (short)error }).ToList(),
        }).ToList(),
    };
}

internal static class RecordsAdmin
{
    /// <summary>The topics the requester may not perform <paramref name="operation"/> on, or null when none (or no authorizer).</summary>
    public static HashSet<string>? Unauthorized(RequestContext context, AclOperation operation, IEnumerable<string> topics)
    {
        HashSet<string>? denied = null;
        if (!context.HasAuthorizer)
        {
            return null;
        }
        foreach (var topic in topics.Distinct(StringComparer.Ordinal))
        {
            if (!context.Authorize(operation, AclResourceType.Topic, topic))
            {
                (denied ??= new(StringComparer.Ordinal)).Add(topic);
            }
        }
        return denied;
    }

    /// <summary>
    /// Logs are opened in the background after their partitions appear in the metadata; a request for a partition
    /// created a moment ago waits (up to its timeout, at least a few seconds) for its log instead of failing.
    /// </summary>
    public static async Task WaitForLogsAsync(MetadataImage image, LogMetadataPublisher logs, IEnumerable<(string Topic, int Partition)> partitions, int timeoutMs, CancellationToken cancellationToken)
    {
        var missing = partitions.Any(p => image.Partition(p.Topic, p.Partition) is not null && logs.Get(p.Topic, p.Partition) is null);
        if (!missing)
        {
            return;
        }
        try
        {
            await logs.WhenLoadedAsync().WaitAsync(TimeSpan.FromMilliseconds(Math.Max(timeoutMs, 5000)), cancellationToken);
        }
        catch (TimeoutException)
        {
            // Still loading: the partitions not yet open answer NOT_LEADER_OR_FOLLOWER, which clients retry.
        }
    }
}
