using Samsa.Broker.Replication;
using Samsa.Broker.Security;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;
using Samsa.Storage;
using static Samsa.Protocol.Messages.WriteTxnMarkersResponse;

namespace Samsa.Broker.Handlers;

/// <summary>
/// WriteTxnMarkers (key 27), versions 0-1: the inter-broker request a transaction coordinator sends to each partition
/// leader to end a transaction there (Kafka's <c>handleWriteTxnMarkersRequest</c>), also what
/// <c>kafka-transactions.sh abort</c> sends. Each marker becomes one control batch (commit or abort, with the
/// coordinator epoch) appended as the coordinator's write, acks=all; the partition's producer state ends the
/// producer's transaction, indexes an abort and lets the last stable offset move. A marker for a
/// <c>__consumer_offsets</c> partition goes through the group coordinator instead
/// (<see cref="Groups.GroupCoordinator.CompleteTransactionAsync"/>, Kafka's <c>completeTransaction</c>), which appends
/// it under the shard's lock and commits or drops the producer's pending offsets with it.
/// </summary>
/// <remarks>
/// Per partition: UNKNOWN_TOPIC_OR_PARTITION / NOT_LEADER_OR_FOLLOWER when this broker does not lead it,
/// INVALID_PRODUCER_EPOCH for a marker older than the producer's epoch, TRANSACTION_COORDINATOR_FENCED for one from
/// an older coordinator epoch, REQUEST_TIMED_OUT when the high watermark does not reach the marker in time. For
/// <c>__consumer_offsets</c>, a group coordinator not serving the partition (not its leader, still loading) answers
/// NOT_LEADER_OR_FOLLOWER, as Kafka maps NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS and COORDINATOR_NOT_AVAILABLE,
/// so the transaction coordinator retries. The coordinator in this process calls <see cref="WriteAsync"/> directly:
/// the same request, without the socket. Over the socket the sender needs CLUSTER_ACTION on the CLUSTER (it is another
/// broker, or an operator's abort tool), else every partition is CLUSTER_AUTHORIZATION_FAILED.
/// </remarks>
public sealed class WriteTxnMarkersHandler(ReplicaManager replicas, Groups.GroupCoordinator? groups, TimeProvider time, int requestTimeoutMs)
    : ApiHandler<WriteTxnMarkersRequest, WriteTxnMarkersResponse>
{
    public override ApiKey ApiKey => ApiKey.WriteTxnMarkers;

    public override short MinVersion => 0;

    public override short MaxVersion => 1;

    protected override async ValueTask<WriteTxnMarkersResponse?> HandleAsync(RequestContext context, WriteTxnMarkersRequest request, CancellationToken cancellationToken) =>
        context.AuthorizeCluster(AclOperation.ClusterAction)
            ? await WriteAsync(request, cancellationToken)
            : ErrorResponse(context, request, ErrorCode.ClusterAuthorizationFailed);

    public async Task<WriteTxnMarkersResponse> WriteAsync(WriteTxnMarkersRequest request, CancellationToken cancellationToken)
    {
        var response = new WriteTxnMarkersResponse();
        var waiting = new List<(AcksAllWait Wait, WritableTxnMarkerPartitionResult Answer)>();
        var completions = new List<(Task<ErrorCode> Completion, WritableTxnMarkerPartitionResult Answer)>();
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var marker in request.Markers)
        {
            var result = new WritableTxnMarkerResult { ProducerId = marker.ProducerId };
            response.Markers.Add(result);
            var batch = RecordBatchBuilder.EndTransactionMarker(marker.TransactionResult ? ControlRecordType.Commit : ControlRecordType.Abort,
                marker.ProducerId, marker.ProducerEpoch, marker.CoordinatorEpoch, now);
            foreach (var topic in marker.Topics)
            {
                var topicResult = new WritableTxnMarkerTopicResult { Name = topic.Name };
                result.Topics.Add(topicResult);
                foreach (var partition in topic.PartitionIndexes)
                {
                    var answer = new WritableTxnMarkerPartitionResult { PartitionIndex = partition };
                    topicResult.Partitions.Add(answer);
                    if (groups is not null && topic.Name == Groups.GroupCoordinator.OffsetsTopic)
                    {
                        completions.Add((groups.CompleteTransactionAsync(partition, marker.ProducerId, marker.ProducerEpoch, marker.CoordinatorEpoch,
                            marker.TransactionResult, cancellationToken).AsTask(), answer));
                        continue;
                    }
                    // Each append patches offsets into its buffer: every partition gets its own copy.
                    var append = replicas.Append(topic.Name, partition, batch.ToArray(), requiredAcks: -1, internalTopicsAllowed: true, AppendOrigin.Coordinator);
                    answer.ErrorCode = (short)append.Error;
                    if (append.Error == ErrorCode.None)
                    {
                        waiting.Add((append.Wait, answer));
                    }
                }
            }
        }
        if (waiting.Count > 0)
        {
            var delayed = new DelayedProduce(TimeSpan.FromMilliseconds(requestTimeoutMs), [.. waiting.Select(w => w.Wait)]);
            replicas.ProducePurgatory.TryCompleteElseWatch(delayed, [.. waiting.Select(w => w.Wait.Log.TopicPartition).Distinct()]);
            var outcomes = await delayed.Completion.WaitAsync(cancellationToken);
            for (var i = 0; i < waiting.Count; i++)
            {
                waiting[i].Answer.ErrorCode = (short)outcomes[i];
            }
        }
        foreach (var (completion, answer) in completions)
        {
            answer.ErrorCode = (short)(await completion.WaitAsync(cancellationToken) switch
            {
                ErrorCode.NotCoordinator or ErrorCode.CoordinatorLoadInProgress or ErrorCode.CoordinatorNotAvailable => ErrorCode.NotLeaderOrFollower,
                var error => error,
            });
        }
        return response;
    }

    protected override WriteTxnMarkersResponse ErrorResponse(RequestContext context, WriteTxnMarkersRequest request, ErrorCode error)
    {
        var response = new WriteTxnMarkersResponse();
        foreach (var marker in request.Markers)
        {
            var result = new WritableTxnMarkerResult { ProducerId = marker.ProducerId };
            foreach (var topic in marker.Topics)
            {
                result.Topics.Add(new WritableTxnMarkerTopicResult
                {
                    Name = topic.Name,
                    Partitions = [.. topic.PartitionIndexes.Select(p => new WritableTxnMarkerPartitionResult { PartitionIndex = p, ErrorCode = (short)error })],
                });
            }
            response.Markers.Add(result);
        }
        return response;
    }
}
