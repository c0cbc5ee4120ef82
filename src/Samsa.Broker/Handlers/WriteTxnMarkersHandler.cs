using Samsa.Broker.Replication;
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
/// producer's transaction, indexes an abort and lets the last stable offset move.
/// </summary>
/// <remarks>
/// Per partition: UNKNOWN_TOPIC_OR_PARTITION / NOT_LEADER_OR_FOLLOWER when this broker does not lead it,
/// INVALID_PRODUCER_EPOCH for a marker older than the producer's epoch, TRANSACTION_COORDINATOR_FENCED for one from
/// an older coordinator epoch, REQUEST_TIMED_OUT when the high watermark does not reach the marker in time. The
/// coordinator in this process calls <see cref="WriteAsync"/> directly: the same request, without the socket.
/// </remarks>
public sealed class WriteTxnMarkersHandler(ReplicaManager replicas, TimeProvider time, int requestTimeoutMs) : ApiHandler<WriteTxnMarkersRequest, WriteTxnMarkersResponse>
{
    public override ApiKey ApiKey => ApiKey.WriteTxnMarkers;

    public override short MinVersion => 0;

    public override short MaxVersion => 1;

    /// <summary>Markers written to <c>__consumer_offsets</c> partitions, so the group coordinator can apply or drop transactional offsets.</summary>
    public event Action<WriteTxnMarkersRequest.WritableTxnMarker, IReadOnlyList<int>>? OffsetsTopicMarkersWritten;

    protected override async ValueTask<WriteTxnMarkersResponse?> HandleAsync(RequestContext context, WriteTxnMarkersRequest request, CancellationToken cancellationToken) =>
        await WriteAsync(request, cancellationToken);

    public async Task<WriteTxnMarkersResponse> WriteAsync(WriteTxnMarkersRequest request, CancellationToken cancellationToken)
    {
        var response = new WriteTxnMarkersResponse();
        var waiting = new List<(PartitionLog Log, long RequiredOffset, WritableTxnMarkerPartitionResult Answer)>();
        var offsetsPartitions = new List<(WriteTxnMarkersRequest.WritableTxnMarker Marker, List<int> Partitions)>();
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var marker in request.Markers)
        {
            var result = new WritableTxnMarkerResult { ProducerId = marker.ProducerId };
            response.Markers.Add(result);
            var batch = RecordBatchBuilder.EndTransactionMarker(marker.TransactionResult ? ControlRecordType.Commit : ControlRecordType.Abort,
                marker.ProducerId, marker.ProducerEpoch, marker.CoordinatorEpoch, now);
            var written = new List<int>();
            foreach (var topic in marker.Topics)
            {
                var topicResult = new WritableTxnMarkerTopicResult { Name = topic.Name };
                result.Topics.Add(topicResult);
                foreach (var partition in topic.PartitionIndexes)
                {
                    var answer = new WritableTxnMarkerPartitionResult { PartitionIndex = partition };
                    topicResult.Partitions.Add(answer);
                    // Each append patches offsets into its buffer: every partition gets its own copy.
                    var append = replicas.Append(topic.Name, partition, batch.ToArray(), requiredAcks: -1, internalTopicsAllowed: true, AppendOrigin.Coordinator);
                    answer.ErrorCode = (short)append.Error;
                    if (append.Error == ErrorCode.None)
                    {
                        waiting.Add((append.Log!, append.Info.LastOffset + 1, answer));
                        if (topic.Name == Groups.GroupCoordinator.OffsetsTopic)
                        {
                            written.Add(partition);
                        }
                    }
                }
            }
            if (written.Count > 0)
            {
                offsetsPartitions.Add((marker, written));
            }
        }
        if (waiting.Count > 0)
        {
            var delayed = new DelayedProduce(TimeSpan.FromMilliseconds(requestTimeoutMs), [.. waiting.Select(w => (w.Log, w.RequiredOffset))]);
            replicas.ProducePurgatory.TryCompleteElseWatch(delayed, [.. waiting.Select(w => w.Log.TopicPartition).Distinct()]);
            await delayed.Completion.WaitAsync(cancellationToken);
            foreach (var (log, required, answer) in waiting)
            {
                if (log.HighWatermark < required)
                {
                    answer.ErrorCode = (short)ErrorCode.RequestTimedOut;
                }
            }
        }
        foreach (var (marker, partitions) in offsetsPartitions)
        {
            OffsetsTopicMarkersWritten?.Invoke(marker, partitions);
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
