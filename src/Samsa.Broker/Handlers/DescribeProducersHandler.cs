using Samsa.Broker.Replication;
using Samsa.Broker.Security;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using static Samsa.Protocol.Messages.DescribeProducersResponse;

namespace Samsa.Broker.Handlers;

/// <summary>
/// DescribeProducers (key 61), version 0 (KIP-664): the producers a partition leader remembers, from the log's
/// producer state: epoch, last sequence, last write timestamp, coordinator epoch of the last marker and the first
/// offset of an open transaction (-1 when none), as <c>kafka-transactions.sh describe-producers</c> and
/// <c>find-hanging</c> read them. A partition this broker does not lead is NOT_LEADER_OR_FOLLOWER, an unknown one
/// UNKNOWN_TOPIC_OR_PARTITION. A topic the requester may not READ is TOPIC_AUTHORIZATION_FAILED on every partition
/// asked for, checked once per topic before anything else about it (Kafka's <c>handleDescribeProducersRequest</c>).
/// </summary>
public sealed class DescribeProducersHandler(ReplicaManager replicas) : ApiHandler<DescribeProducersRequest, DescribeProducersResponse>
{
    public override ApiKey ApiKey => ApiKey.DescribeProducers;

    public override short MinVersion => 0;

    public override short MaxVersion => 0;

    protected override ValueTask<DescribeProducersResponse?> HandleAsync(RequestContext context, DescribeProducersRequest request, CancellationToken cancellationToken)
    {
        var response = new DescribeProducersResponse();
        foreach (var topic in request.Topics)
        {
            var topicResponse = new TopicResponse { Name = topic.Name };
            response.Topics.Add(topicResponse);
            var readable = context.Authorize(AclOperation.Read, AclResourceType.Topic, topic.Name);
            foreach (var index in topic.PartitionIndexes)
            {
                var answer = new PartitionResponse { PartitionIndex = index };
                topicResponse.Partitions.Add(answer);
                if (!readable)
                {
                    answer.ErrorCode = (short)ErrorCode.TopicAuthorizationFailed;
                    answer.ErrorMessage = ErrorCodes.DefaultMessage(ErrorCode.TopicAuthorizationFailed);
                    continue;
                }
                var lookup = replicas.LeaderLog(topic.Name, index);
                if (lookup.Log is not { } log)
                {
                    answer.ErrorCode = (short)lookup.Error;
                    continue;
                }
                foreach (var producer in log.ActiveProducers())
                {
                    answer.ActiveProducers.Add(new ProducerState
                    {
                        ProducerId = producer.ProducerId,
                        ProducerEpoch = producer.ProducerEpoch,
                        LastSequence = producer.LastSequence,
                        LastTimestamp = producer.Timestamp,
                        CoordinatorEpoch = producer.CoordinatorEpoch,
                        CurrentTxnStartOffset = producer.CurrentTxnFirstOffset,
                    });
                }
            }
        }
        return ValueTask.FromResult<DescribeProducersResponse?>(response);
    }

    protected override DescribeProducersResponse ErrorResponse(RequestContext context, DescribeProducersRequest request, ErrorCode error) => new()
    {
        Topics = [.. request.Topics.Select(t => new TopicResponse
        {
            Name = t.Name,
            Partitions = [.. t.PartitionIndexes.Select(p => new PartitionResponse { PartitionIndex = p, ErrorCode = (short)error })],
        })],
    };
}
