using Samsa.Broker.Groups;
using Samsa.Broker.Security;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Handlers;

/// <summary>Topic checks the offset APIs share (Kafka's <c>filterByAuthorized</c> over the request's topic names).</summary>
internal static class TopicAuthorization
{
    /// <summary>The distinct names the requester may perform <paramref name="operation"/> on, each asked about once.</summary>
    public static HashSet<string> Authorized(RequestContext context, AclOperation operation, IEnumerable<string> names) =>
        context.FilterAuthorized(operation, AclResourceType.Topic, names.Distinct(StringComparer.Ordinal)).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// Kafka's per-partition order for the offset-writing APIs (OffsetCommit, TxnOffsetCommit, OffsetDelete): a topic
    /// the requester may not READ is TOPIC_AUTHORIZATION_FAILED, then an unknown topic or partition
    /// UNKNOWN_TOPIC_OR_PARTITION; null when the partition may be written.
    /// </summary>
    public static ErrorCode? OffsetWriteError(HashSet<string> readable, string topic, TopicImage? topicImage, int partition) =>
        !readable.Contains(topic) ? ErrorCode.TopicAuthorizationFailed
        : topicImage?.HasPartition(partition) != true ? ErrorCode.UnknownTopicOrPartition
        : null;
}

/// <summary>
/// OffsetCommit (key 8), versions 0-9. v1+ carry generation and member id (checked: ILLEGAL_GENERATION,
/// UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID, REBALANCE_IN_PROGRESS while the group completes a rebalance); a commit
/// with generation -1 and no member is a simple consumer's, allowed while the group has no members. v2-4 carry
/// a retention time, v6+ the leader epoch, v7+ group.instance.id; v9 answers GROUP_ID_NOT_FOUND for an unknown
/// group where earlier versions get ILLEGAL_GENERATION. Partitions of unknown topics get
/// UNKNOWN_TOPIC_OR_PARTITION, metadata over <c>offset.metadata.max.bytes</c> OFFSET_METADATA_TOO_LARGE. The
/// answer waits until the records are in <c>__consumer_offsets</c> and the high watermark covers them.
/// Authorization as Kafka's <c>handleOffsetCommitRequest</c>: READ on the GROUP, else GROUP_AUTHORIZATION_FAILED on
/// every partition; READ on each TOPIC, else TOPIC_AUTHORIZATION_FAILED on its partitions (before the existence check,
/// so a denied requester cannot tell an unknown topic from a forbidden one).
/// </summary>
public sealed class OffsetCommitHandler(GroupCoordinator coordinator, MetadataCache metadata) : ApiHandler<OffsetCommitRequest, OffsetCommitResponse>
{
    public override ApiKey ApiKey => ApiKey.OffsetCommit;

    public override short MinVersion => 0;

    public override short MaxVersion => 9;

    /// <summary>Runs on the coordinator's thread: shard locks and appends never hold a socket event thread.</summary>
    protected override ValueTask<OffsetCommitResponse?> HandleAsync(RequestContext context, OffsetCommitRequest request, CancellationToken cancellationToken) =>
        coordinator.RunAsync(() => HandleOnCoordinatorAsync(context, request, cancellationToken), cancellationToken);

    private async ValueTask<OffsetCommitResponse?> HandleOnCoordinatorAsync(RequestContext context, OffsetCommitRequest request, CancellationToken cancellationToken)
    {
        if (request.GroupId is null)
        {
            return ErrorResponse(context, request, ErrorCode.InvalidGroupId);
        }
        if (!context.Authorize(AclOperation.Read, AclResourceType.Group, request.GroupId))
        {
            return ErrorResponse(context, request, ErrorCode.GroupAuthorizationFailed);
        }
        var (shard, error) = coordinator.ShardFor(request.GroupId);
        if (shard is null)
        {
            return ErrorResponse(context, request, error);
        }
        var image = metadata.Current;
        var readable = TopicAuthorization.Authorized(context, AclOperation.Read, request.Topics.Select(t => t.Name));
        var response = new OffsetCommitResponse();
        var known = new List<OffsetCommitPartition>();
        var answers = new List<OffsetCommitResponse.OffsetCommitResponsePartition>();
        foreach (var topic in request.Topics)
        {
            var topicResponse = new OffsetCommitResponse.OffsetCommitResponseTopic { Name = topic.Name };
            response.Topics.Add(topicResponse);
            image.Topics.TryGetValue(topic.Name, out var topicImage);
            foreach (var partition in topic.Partitions)
            {
                var answer = new OffsetCommitResponse.OffsetCommitResponsePartition { PartitionIndex = partition.PartitionIndex };
                topicResponse.Partitions.Add(answer);
                if (TopicAuthorization.OffsetWriteError(readable, topic.Name, topicImage, partition.PartitionIndex) is { } partitionError)
                {
                    answer.ErrorCode = (short)partitionError;
                    continue;
                }
                known.Add(new OffsetCommitPartition(topic.Name, partition.PartitionIndex, partition.CommittedOffset, partition.CommittedLeaderEpoch, partition.CommittedMetadata));
                answers.Add(answer);
            }
        }
        if (known.Count > 0)
        {
            var args = new OffsetCommitArgs(request.GroupId, request.GenerationIdOrMemberEpoch, request.MemberId, request.GroupInstanceId,
                context.ApiVersion is >= 2 and <= 4 ? request.RetentionTimeMs : -1, context.ApiVersion, known);
            var waitStarted = System.Diagnostics.Stopwatch.GetTimestamp();
            var results = await shard.CommitOffsetsAsync(args).WaitAsync(cancellationToken);
            context.Connection.AddRemoteTime(waitStarted);
            for (var i = 0; i < answers.Count; i++)
            {
                answers[i].ErrorCode = (short)results[i];
            }
        }
        return response;
    }

    protected override OffsetCommitResponse ErrorResponse(RequestContext context, OffsetCommitRequest request, ErrorCode error) => new()
    {
        Topics = [.. request.Topics.Select(t => new OffsetCommitResponse.OffsetCommitResponseTopic
        {
            Name = t.Name,
            Partitions = [.. t.Partitions.Select(p => new OffsetCommitResponse.OffsetCommitResponsePartition { PartitionIndex = p.PartitionIndex, ErrorCode = (short)error })],
        })],
    };
}

/// <summary>
/// OffsetFetch (key 9), versions 0-9. v0-7 ask for one group (v2+: a null topic list means every committed
/// offset, and a request-level error code exists; v0-1 put errors on each partition); v8+ ask for several groups,
/// each answered on its own. A partition with nothing committed answers offset -1 and metadata "". v7+ carry
/// require_stable: a partition an open transaction holds an offset of (TxnOffsetCommit before its marker) answers
/// UNSTABLE_OFFSET_COMMIT, and the client retries; v9
/// carries a member id and epoch for KIP-848 groups. Each group needs DESCRIBE (else GROUP_AUTHORIZATION_FAILED);
/// topics need DESCRIBE too: a named topic the requester may not see answers TOPIC_AUTHORIZATION_FAILED on its
/// partitions, and an "every committed offset" fetch silently leaves such topics out (Kafka's
/// <c>fetchOffsetsForGroup</c> and <c>fetchAllOffsetsForGroup</c>).
/// </summary>
public sealed class OffsetFetchHandler(GroupCoordinator coordinator) : ApiHandler<OffsetFetchRequest, OffsetFetchResponse>
{
    public override ApiKey ApiKey => ApiKey.OffsetFetch;

    public override short MinVersion => 0;

    public override short MaxVersion => 9;

    /// <summary>Runs on the coordinator's thread: shard locks and appends never hold a socket event thread.</summary>
    protected override ValueTask<OffsetFetchResponse?> HandleAsync(RequestContext context, OffsetFetchRequest request, CancellationToken cancellationToken) =>
        coordinator.RunAsync(() => HandleOnCoordinatorAsync(context, request, cancellationToken), cancellationToken);

    private ValueTask<OffsetFetchResponse?> HandleOnCoordinatorAsync(RequestContext context, OffsetFetchRequest request, CancellationToken cancellationToken)
    {
        var response = new OffsetFetchResponse();
        if (context.ApiVersion >= 8)
        {
            foreach (var group in request.Groups)
            {
                var topics = group.Topics?.Select(t => (t.Name, (IReadOnlyList<int>)t.PartitionIndexes)).ToList();
                var (error, offsets) = Fetch(context, group.GroupId, topics, request.RequireStable, group.MemberId, group.MemberEpoch);
                var groupResponse = new OffsetFetchResponse.OffsetFetchResponseGroup { GroupId = group.GroupId, ErrorCode = (short)error };
                foreach (var byTopic in offsets.GroupBy(o => o.Topic))
                {
                    groupResponse.Topics.Add(new OffsetFetchResponse.OffsetFetchResponseTopics
                    {
                        Name = byTopic.Key,
                        Partitions = [.. byTopic.Select(o => new OffsetFetchResponse.OffsetFetchResponsePartitions
                        {
                            PartitionIndex = o.Partition,
                            CommittedOffset = o.Offset,
                            CommittedLeaderEpoch = o.LeaderEpoch,
                            Metadata = o.Metadata,
                            ErrorCode = (short)o.Error,
                        })],
                    });
                }
                response.Groups.Add(groupResponse);
            }
            return ValueTask.FromResult<OffsetFetchResponse?>(response);
        }

        var requested = request.Topics?.Select(t => (t.Name, (IReadOnlyList<int>)t.PartitionIndexes)).ToList();
        if (context.ApiVersion < 2 && requested is null)
        {
            requested = [];
        }
        var (groupError, fetched) = Fetch(context, request.GroupId, requested, request.RequireStable, null, -1);
        if (groupError != ErrorCode.None)
        {
            return ValueTask.FromResult<OffsetFetchResponse?>(ErrorResponse(context, request, groupError));
        }
        foreach (var byTopic in fetched.GroupBy(o => o.Topic))
        {
            response.Topics.Add(new OffsetFetchResponse.OffsetFetchResponseTopic
            {
                Name = byTopic.Key,
                Partitions = [.. byTopic.Select(o => new OffsetFetchResponse.OffsetFetchResponsePartition
                {
                    PartitionIndex = o.Partition,
                    CommittedOffset = o.Offset,
                    CommittedLeaderEpoch = o.LeaderEpoch,
                    Metadata = o.Metadata,
                    ErrorCode = (short)o.Error,
                })],
            });
        }
        return ValueTask.FromResult<OffsetFetchResponse?>(response);
    }

    private (ErrorCode Error, List<FetchedOffset> Offsets) Fetch(RequestContext context, string groupId,
        IReadOnlyList<(string Topic, IReadOnlyList<int> Partitions)>? topics, bool requireStable, string? memberId, int memberEpoch)
    {
        if (groupId is null)
        {
            return (ErrorCode.InvalidGroupId, []);
        }
        if (!context.Authorize(AclOperation.Describe, AclResourceType.Group, groupId))
        {
            return (ErrorCode.GroupAuthorizationFailed, []);
        }
        var (shard, error) = coordinator.ShardFor(groupId);
        if (shard is null)
        {
            return (error, []);
        }
        if (topics is null)
        {
            var (allError, all) = shard.FetchOffsets(groupId, null, requireStable, memberId, memberEpoch);
            if (allError != ErrorCode.None)
            {
                return (allError, all);
            }
            var visible = TopicAuthorization.Authorized(context, AclOperation.Describe, all.Select(o => o.Topic));
            return (ErrorCode.None, [.. all.Where(o => visible.Contains(o.Topic))]);
        }
        var describable = TopicAuthorization.Authorized(context, AclOperation.Describe, topics.Select(t => t.Topic));
        var (fetchError, offsets) = shard.FetchOffsets(groupId, [.. topics.Where(t => describable.Contains(t.Topic))], requireStable, memberId, memberEpoch);
        if (fetchError != ErrorCode.None)
        {
            return (fetchError, offsets);
        }
        foreach (var (topic, partitions) in topics.Where(t => !describable.Contains(t.Topic)))
        {
            offsets.AddRange(partitions.Select(p => new FetchedOffset(topic, p, -1, -1, "", ErrorCode.TopicAuthorizationFailed)));
        }
        return (ErrorCode.None, offsets);
    }

    /// <summary>
    /// A request-level error: v2-7 carry it at the top; v0-1 have nowhere but the partitions, so each requested
    /// partition carries it with offset -1; v8+ put it on every group.
    /// </summary>
    protected override OffsetFetchResponse ErrorResponse(RequestContext context, OffsetFetchRequest request, ErrorCode error)
    {
        if (context.ApiVersion >= 8)
        {
            return new OffsetFetchResponse
            {
                Groups = [.. request.Groups.Select(g => new OffsetFetchResponse.OffsetFetchResponseGroup { GroupId = g.GroupId, ErrorCode = (short)error })],
            };
        }
        if (context.ApiVersion >= 2)
        {
            return new OffsetFetchResponse { ErrorCode = (short)error };
        }
        return new OffsetFetchResponse
        {
            Topics = [.. (request.Topics ?? []).Select(t => new OffsetFetchResponse.OffsetFetchResponseTopic
            {
                Name = t.Name,
                Partitions = [.. t.PartitionIndexes.Select(p => new OffsetFetchResponse.OffsetFetchResponsePartition
                {
                    PartitionIndex = p,
                    CommittedOffset = -1,
                    Metadata = "",
                    ErrorCode = (short)error,
                })],
            })],
        };
    }
}

/// <summary>
/// OffsetDelete (key 47), version 0: removes committed offsets of a group (tombstones). GROUP_ID_NOT_FOUND for an
/// unknown group, NON_EMPTY_GROUP for a live group not on the consumer protocol; GROUP_SUBSCRIBED_TO_TOPIC for
/// partitions of topics live members subscribe to, UNKNOWN_TOPIC_OR_PARTITION for unknown ones. DELETE on the GROUP,
/// else GROUP_AUTHORIZATION_FAILED for the request; READ on each TOPIC, else TOPIC_AUTHORIZATION_FAILED on its partitions.
/// </summary>
public sealed class OffsetDeleteHandler(GroupCoordinator coordinator, MetadataCache metadata) : ApiHandler<OffsetDeleteRequest, OffsetDeleteResponse>
{
    public override ApiKey ApiKey => ApiKey.OffsetDelete;

    public override short MinVersion => 0;

    public override short MaxVersion => 0;

    /// <summary>Runs on the coordinator's thread: shard locks and appends never hold a socket event thread.</summary>
    protected override ValueTask<OffsetDeleteResponse?> HandleAsync(RequestContext context, OffsetDeleteRequest request, CancellationToken cancellationToken) =>
        coordinator.RunAsync(() => HandleOnCoordinatorAsync(context, request, cancellationToken), cancellationToken);

    private async ValueTask<OffsetDeleteResponse?> HandleOnCoordinatorAsync(RequestContext context, OffsetDeleteRequest request, CancellationToken cancellationToken)
    {
        if (!context.Authorize(AclOperation.Delete, AclResourceType.Group, request.GroupId))
        {
            return ErrorResponse(context, request, ErrorCode.GroupAuthorizationFailed);
        }
        if (string.IsNullOrEmpty(request.GroupId))
        {
            return ErrorResponse(context, request, ErrorCode.InvalidGroupId);
        }
        var (shard, error) = coordinator.ShardFor(request.GroupId);
        if (shard is null)
        {
            return ErrorResponse(context, request, error);
        }
        var image = metadata.Current;
        var readable = TopicAuthorization.Authorized(context, AclOperation.Read, request.Topics.Select(t => t.Name));
        var response = new OffsetDeleteResponse();
        var known = new List<(string Topic, int Partition)>();
        var answers = new List<OffsetDeleteResponse.OffsetDeleteResponsePartition>();
        foreach (var topic in request.Topics)
        {
            var topicResponse = new OffsetDeleteResponse.OffsetDeleteResponseTopic { Name = topic.Name };
            response.Topics.Add(topicResponse);
            image.Topics.TryGetValue(topic.Name, out var topicImage);
            foreach (var partition in topic.Partitions)
            {
                var answer = new OffsetDeleteResponse.OffsetDeleteResponsePartition { PartitionIndex = partition.PartitionIndex };
                topicResponse.Partitions.Add(answer);
                if (TopicAuthorization.OffsetWriteError(readable, topic.Name, topicImage, partition.PartitionIndex) is { } partitionError)
                {
                    answer.ErrorCode = (short)partitionError;
                    continue;
                }
                known.Add((topic.Name, partition.PartitionIndex));
                answers.Add(answer);
            }
        }
        var (groupError, results) = await shard.DeleteOffsetsAsync(request.GroupId, known).WaitAsync(cancellationToken);
        if (groupError != ErrorCode.None)
        {
            return ErrorResponse(context, request, groupError);
        }
        for (var i = 0; i < answers.Count; i++)
        {
            answers[i].ErrorCode = (short)results[i];
        }
        return response;
    }

    protected override OffsetDeleteResponse ErrorResponse(RequestContext context, OffsetDeleteRequest request, ErrorCode error) => new() { ErrorCode = (short)error };
}
