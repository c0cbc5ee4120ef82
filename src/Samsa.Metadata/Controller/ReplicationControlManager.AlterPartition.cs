using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Metadata.Controller;

public static partial class ReplicationControlManager
{
    /// <summary>
    /// AlterPartition (key 56, v0-3): a partition leader asks to change its ISR, or to end the RECOVERING state an
    /// unclean election left (Kafka's <c>ReplicationControlManager.alterPartition</c>). Each partition is checked
    /// (<see cref="ValidateAlterPartition"/>) and, when valid, <see cref="PartitionChangeBuilder"/> makes the record;
    /// the answer is the partition's state after it (leader, leader epoch, ISR, recovery state, partition epoch). An
    /// ISR equal to the current one writes nothing and answers the current state.
    /// </summary>
    /// <remarks>
    /// <para>A requester whose broker epoch is not its registration's gets STALE_BROKER_EPOCH for the whole request.
    /// Versions 0-1 name topics (unknown: UNKNOWN_TOPIC_OR_PARTITION), 2+ give ids (unknown: UNKNOWN_TOPIC_ID); v3
    /// carries each ISR member's broker epoch (KIP-903), -1 meaning "not checked".</para>
    /// <para>An ISR change may complete a reassignment (every target replica in sync): then the removed replicas leave,
    /// and if the leader was one of them another is elected and the requester hears NEW_LEADER_ELECTED, as in
    /// Kafka.</para>
    /// </remarks>
    public static ControllerResult<AlterPartitionResponse> AlterPartition(MetadataImage image, AlterPartitionRequest request, short version, ControllerOptions options)
    {
        var response = new AlterPartitionResponse();
        if (!image.Brokers.TryGetValue(request.BrokerId, out var requester) || requester.Epoch != request.BrokerEpoch)
        {
            response.ErrorCode = (short)ErrorCode.StaleBrokerEpoch;
            return new ControllerResult<AlterPartitionResponse>([], response);
        }
        var records = new List<MetadataRecord>();
        foreach (var topicData in request.Topics)
        {
            var topicResult = new AlterPartitionResponse.TopicData { TopicName = topicData.TopicName, TopicId = topicData.TopicId };
            response.Topics.Add(topicResult);
            var topic = version >= 2
                ? (topicData.TopicId.IsZero ? null : image.TopicById(topicData.TopicId))
                : image.Topics.GetValueOrDefault(topicData.TopicName);
            if (topic is null)
            {
                var unknown = version >= 2 ? ErrorCode.UnknownTopicId : ErrorCode.UnknownTopicOrPartition;
                foreach (var partitionData in topicData.Partitions)
                {
                    topicResult.Partitions.Add(new AlterPartitionResponse.PartitionData { PartitionIndex = partitionData.PartitionIndex, ErrorCode = (short)unknown });
                }
                continue;
            }
            var election = UncleanLeaderElectionEnabled(image, topic.Name, options) ? PartitionElection.Unclean : PartitionElection.Online;
            foreach (var partitionData in topicData.Partitions)
            {
                var newIsr = version >= 3
                    ? partitionData.NewIsrWithEpochs.Select(b => (b.BrokerId, b.BrokerEpoch)).ToList()
                    : partitionData.NewIsr.Select(id => (BrokerId: id, BrokerEpoch: -1L)).ToList();
                var partition = topic.HasPartition(partitionData.PartitionIndex) ? topic.Partitions[partitionData.PartitionIndex] : null;
                if (ValidateAlterPartition(image, request.BrokerId, partition, partitionData, newIsr) is { } error)
                {
                    topicResult.Partitions.Add(new AlterPartitionResponse.PartitionData { PartitionIndex = partitionData.PartitionIndex, ErrorCode = (short)error });
                    continue;
                }
                var change = new PartitionChangeBuilder(partition!, topic.TopicId, r => IsActive(image, r))
                    .WithElection(election)
                    .WithTargetIsr(newIsr.Select(b => b.BrokerId))
                    .WithTargetRecoveryState(partitionData.LeaderRecoveryState)
                    .Build();
                if (change is not null)
                {
                    records.Add(MetadataRecord.Of(change));
                    partition = partition!.Merge(change);
                    if (change.Leader != PartitionChangeBuilder.NoLeaderChange && change.Leader != request.BrokerId)
                    {
                        // The change completed a reassignment that moved leadership away: the requester must learn
                        // the new state from metadata before asking again.
                        topicResult.Partitions.Add(new AlterPartitionResponse.PartitionData
                        {
                            PartitionIndex = partitionData.PartitionIndex,
                            ErrorCode = (short)ErrorCode.NewLeaderElected,
                        });
                        continue;
                    }
                }
                topicResult.Partitions.Add(new AlterPartitionResponse.PartitionData
                {
                    PartitionIndex = partitionData.PartitionIndex,
                    LeaderId = partition!.Leader,
                    LeaderEpoch = partition.LeaderEpoch,
                    Isr = [.. partition.Isr],
                    LeaderRecoveryState = partition.LeaderRecoveryState,
                    PartitionEpoch = partition.PartitionEpoch,
                });
            }
        }
        return new ControllerResult<AlterPartitionResponse>(records, response);
    }

    /// <summary>
    /// Kafka's <c>validateAlterPartitionData</c>, in its order: the partition exists; a leader or partition epoch
    /// ahead of this controller's means this controller is behind (NOT_CONTROLLER, so the leader looks for another);
    /// an older leader epoch is FENCED_LEADER_EPOCH; a requester that does not lead is INVALID_REQUEST (Kafka's code;
    /// not NOT_LEADER_OR_FOLLOWER); an older partition epoch is INVALID_UPDATE_VERSION; the ISR must be replicas only,
    /// hold the leader, be a single replica while RECOVERING and not go back from RECOVERED to RECOVERING
    /// (INVALID_REQUEST); and every member must be registered, unfenced, not shutting down and, when its epoch is
    /// given, of that epoch (INELIGIBLE_REPLICA, KIP-841/903).
    /// </summary>
    private static ErrorCode? ValidateAlterPartition(MetadataImage image, int brokerId, PartitionImage? partition,
        AlterPartitionRequest.PartitionData data, List<(int BrokerId, long BrokerEpoch)> newIsr)
    {
        if (partition is null)
        {
            return ErrorCode.UnknownTopicOrPartition;
        }
        if (data.LeaderEpoch > partition.LeaderEpoch || data.PartitionEpoch > partition.PartitionEpoch)
        {
            return ErrorCode.NotController;
        }
        if (data.LeaderEpoch < partition.LeaderEpoch)
        {
            return ErrorCode.FencedLeaderEpoch;
        }
        if (brokerId != partition.Leader)
        {
            return ErrorCode.InvalidRequest;
        }
        if (data.PartitionEpoch < partition.PartitionEpoch)
        {
            return ErrorCode.InvalidUpdateVersion;
        }
        var ids = newIsr.Select(b => b.BrokerId).ToList();
        if (ids.Distinct().Count() != ids.Count || ids.Any(r => !partition.Replicas.Contains(r)) || !ids.Contains(partition.Leader))
        {
            return ErrorCode.InvalidRequest;
        }
        if (data.LeaderRecoveryState == PartitionImage.Recovering && ids.Count > 1)
        {
            return ErrorCode.InvalidRequest;
        }
        if (partition.LeaderRecoveryState == PartitionImage.Recovered && data.LeaderRecoveryState == PartitionImage.Recovering)
        {
            return ErrorCode.InvalidRequest;
        }
        foreach (var (member, epoch) in newIsr)
        {
            if (!image.Brokers.TryGetValue(member, out var registration)
                || registration.InControlledShutdown
                || registration.Fenced
                || (epoch != -1 && registration.Epoch != epoch))
            {
                return ErrorCode.IneligibleReplica;
            }
        }
        return null;
    }
}
