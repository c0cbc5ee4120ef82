using Samsa.Broker.Groups;
using Samsa.Broker.Security;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Handlers;

/// <summary>
/// TxnOffsetCommit (key 28), versions 0-4: a transactional producer commits a consumer group's offsets inside its
/// transaction (<c>sendOffsetsToTransaction</c>), after AddOffsetsToTxn (Kafka's <c>handleTxnOffsetCommitRequest</c>
/// and <c>OffsetMetadataManager.commitTransactionalOffset</c>). The offsets are written to the group's
/// <c>__consumer_offsets</c> partition as one transactional batch of the request's producer id and epoch and stay
/// pending until the transaction's marker reaches that partition (WriteTxnMarkers): a commit makes them the group's
/// committed offsets, an abort drops them. The answer waits until the batch is committed to the log.
/// </summary>
/// <remarks>
/// <para>Versions: v2 adds the committed leader epoch; v3 the member id, generation id and group.instance.id, checked
/// as Kafka's <c>validateTransactionalOffsetCommit</c> (an unknown group with generation -1 becomes a simple group,
/// with a generation ILLEGAL_GENERATION; a known group checks member and generation, no rebalance check); v4 only lets
/// the client read TRANSACTION_ABORTABLE (KIP-890).</para>
/// <para>Authorization as Kafka's <c>handleTxnOffsetCommitRequest</c>: WRITE on the TRANSACTIONAL_ID (which covers the
/// producer id), else TRANSACTIONAL_ID_AUTHORIZATION_FAILED; READ on the GROUP, else GROUP_AUTHORIZATION_FAILED, both
/// on every partition; READ on each TOPIC, else TOPIC_AUTHORIZATION_FAILED on its partitions.</para>
/// <para>Errors: INVALID_GROUP_ID for an empty group id; NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS for the
/// group's shard; UNKNOWN_TOPIC_OR_PARTITION per partition of a topic or partition that does not exist; a stale
/// producer epoch comes back as the append's INVALID_PRODUCER_EPOCH; write errors mapped as Kafka's
/// <c>handleOperationException</c>. Not checked yet: that AddOffsetsToTxn added the group's partition to the
/// transaction (Kafka's KIP-890 verification).</para>
/// </remarks>
public sealed class TxnOffsetCommitHandler(GroupCoordinator coordinator, MetadataCache metadata) : ApiHandler<TxnOffsetCommitRequest, TxnOffsetCommitResponse>
{
    public override ApiKey ApiKey => ApiKey.TxnOffsetCommit;

    public override short MinVersion => 0;

    public override short MaxVersion => 4;

    /// <summary>Runs on the coordinator's thread: shard locks and appends never hold a socket event thread.</summary>
    protected override ValueTask<TxnOffsetCommitResponse?> HandleAsync(RequestContext context, TxnOffsetCommitRequest request, CancellationToken cancellationToken) =>
        coordinator.RunAsync(() => HandleOnCoordinatorAsync(context, request, cancellationToken), cancellationToken);

    private async ValueTask<TxnOffsetCommitResponse?> HandleOnCoordinatorAsync(RequestContext context, TxnOffsetCommitRequest request, CancellationToken cancellationToken)
    {
        if (!context.Authorize(AclOperation.Write, AclResourceType.TransactionalId, request.TransactionalId))
        {
            return ErrorResponse(context, request, ErrorCode.TransactionalIdAuthorizationFailed);
        }
        if (!context.Authorize(AclOperation.Read, AclResourceType.Group, request.GroupId))
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
        var response = new TxnOffsetCommitResponse();
        var known = new List<OffsetCommitPartition>();
        var answers = new List<TxnOffsetCommitResponse.TxnOffsetCommitResponsePartition>();
        foreach (var topic in request.Topics)
        {
            var topicResponse = new TxnOffsetCommitResponse.TxnOffsetCommitResponseTopic { Name = topic.Name };
            response.Topics.Add(topicResponse);
            image.Topics.TryGetValue(topic.Name, out var topicImage);
            foreach (var partition in topic.Partitions)
            {
                var answer = new TxnOffsetCommitResponse.TxnOffsetCommitResponsePartition { PartitionIndex = partition.PartitionIndex };
                topicResponse.Partitions.Add(answer);
                if (TopicAuthorization.OffsetWriteError(readable, topic.Name, topicImage, partition.PartitionIndex) is { } partitionError)
                {
                    answer.ErrorCode = (short)partitionError;
                    continue;
                }
                known.Add(new OffsetCommitPartition(topic.Name, partition.PartitionIndex, partition.CommittedOffset, partition.CommittedLeaderEpoch,
                    partition.CommittedMetadata));
                answers.Add(answer);
            }
        }
        if (known.Count > 0)
        {
            var args = new TxnOffsetCommitArgs(request.GroupId, request.ProducerId, request.ProducerEpoch, request.GenerationId, request.MemberId,
                request.GroupInstanceId, context.ApiVersion, known);
            var waitStarted = System.Diagnostics.Stopwatch.GetTimestamp();
            var results = await shard.CommitTransactionalOffsetsAsync(args).WaitAsync(cancellationToken);
            context.Connection.AddRemoteTime(waitStarted);
            for (var i = 0; i < answers.Count; i++)
            {
                answers[i].ErrorCode = (short)results[i];
            }
        }
        return response;
    }

    protected override TxnOffsetCommitResponse ErrorResponse(RequestContext context, TxnOffsetCommitRequest request, ErrorCode error) => new()
    {
        Topics = [.. request.Topics.Select(t => new TxnOffsetCommitResponse.TxnOffsetCommitResponseTopic
        {
            Name = t.Name,
            Partitions = [.. t.Partitions.Select(p => new TxnOffsetCommitResponse.TxnOffsetCommitResponsePartition { PartitionIndex = p.PartitionIndex, ErrorCode = (short)error })],
        })],
    };
}
