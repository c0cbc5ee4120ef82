using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Metadata.Controller;

public static partial class ReplicationControlManager
{
    /// <summary>Kafka's <c>MAX_ELECTIONS_PER_IMBALANCE</c>: one periodic election pass commits at most this many changes.</summary>
    public const int MaxElectionsPerPass = 1_000;

    public const string UncleanLeaderElectionEnableConfig = "unclean.leader.election.enable";

    /// <summary>
    /// Kafka's <c>maybeElectUncleanLeaders</c>: every partition without a leader whose topic's effective
    /// <c>unclean.leader.election.enable</c> is true gets any active replica as leader, alone in the ISR and
    /// RECOVERING. The response is true when the pass stopped at <see cref="MaxElectionsPerPass"/> and more may wait.
    /// </summary>
    public static ControllerResult<bool> ElectUncleanLeaders(MetadataImage image, ControllerOptions options)
    {
        var records = new List<MetadataRecord>();
        foreach (var topic in image.Topics.Values)
        {
            if (!topic.Partitions.Any(p => p.Leader == NoLeader) || !UncleanLeaderElectionEnabled(image, topic.Name, options))
            {
                continue;
            }
            foreach (var partition in topic.Partitions)
            {
                if (records.Count >= MaxElectionsPerPass)
                {
                    return new ControllerResult<bool>(records, true);
                }
                if (partition.Leader == NoLeader
                    && new PartitionChangeBuilder(partition, topic.TopicId, r => IsActive(image, r)).WithElection(PartitionElection.Unclean).Build() is { } change)
                {
                    records.Add(MetadataRecord.Of(change));
                }
            }
        }
        return new ControllerResult<bool>(records, false);
    }

    /// <summary>
    /// When <paramref name="result"/> (an AlterConfigs decision) sets or removes <c>unclean.leader.election.enable</c>
    /// anywhere, the unclean elections that the new configs allow, appended to its records so they commit together:
    /// turning the config on brings leaderless partitions back at once, as Kafka's controller does.
    /// </summary>
    public static ControllerResult<T> WithUncleanElectionsAfterConfigChange<T>(MetadataImage image, ControllerResult<T> result, ControllerOptions options)
    {
        if (!result.Records.Any(r => r.Message is ConfigRecord { Name: UncleanLeaderElectionEnableConfig }))
        {
            return result;
        }
        var delta = new MetadataDelta(image);
        foreach (var record in result.Records)
        {
            delta.Replay(record, image.Offset + 1);
        }
        var elections = ElectUncleanLeaders(delta.Apply(), options);
        return elections.Records.Count == 0 ? result : new ControllerResult<T>([.. result.Records, .. elections.Records], result.Response);
    }

    /// <summary>Kafka's <c>ElectionType</c>: 0 PREFERRED, 1 UNCLEAN.</summary>
    public const sbyte PreferredElection = 0;

    public const sbyte UncleanElection = 1;

    /// <summary>
    /// ElectLeaders (key 43): a PREFERRED or UNCLEAN election for the named partitions, or for every partition when
    /// the list is null (Kafka's <c>ReplicationControlManager.electLeaders</c>). Per partition: UNKNOWN_TOPIC_OR_PARTITION
    /// for an unknown topic or partition; ELECTION_NOT_NEEDED when the preferred replica already leads (PREFERRED) or
    /// the partition has a leader (UNCLEAN); otherwise the election, or PREFERRED_LEADER_NOT_AVAILABLE /
    /// ELIGIBLE_LEADERS_NOT_AVAILABLE when it changes nothing. Asked for every partition, the answer leaves out those
    /// that needed no election. An election type other than 0 or 1 is INVALID_REQUEST for the whole request.
    /// </summary>
    public static ControllerResult<ElectLeadersResponse> ElectLeaders(MetadataImage image, ElectLeadersRequest request, short version)
    {
        var response = new ElectLeadersResponse();
        var type = version == 0 ? PreferredElection : request.ElectionType;
        if (type is not (PreferredElection or UncleanElection))
        {
            response.ErrorCode = (short)ErrorCode.InvalidRequest;
            return new ControllerResult<ElectLeadersResponse>([], response);
        }
        var records = new List<MetadataRecord>();
        if (request.TopicPartitions is null)
        {
            foreach (var topic in image.Topics.Values)
            {
                var result = new ElectLeadersResponse.ReplicaElectionResult { Topic = topic.Name };
                response.ReplicaElectionResults.Add(result);
                foreach (var partition in topic.Partitions)
                {
                    var (error, message) = ElectLeader(image, topic.Name, partition.PartitionIndex, type, records);
                    if (error != ErrorCode.ElectionNotNeeded)
                    {
                        result.PartitionResult.Add(new ElectLeadersResponse.PartitionResult { PartitionId = partition.PartitionIndex, ErrorCode = (short)error, ErrorMessage = message });
                    }
                }
            }
        }
        else
        {
            foreach (var wanted in request.TopicPartitions)
            {
                var result = new ElectLeadersResponse.ReplicaElectionResult { Topic = wanted.Topic };
                response.ReplicaElectionResults.Add(result);
                foreach (var partitionId in wanted.Partitions)
                {
                    var (error, message) = ElectLeader(image, wanted.Topic, partitionId, type, records);
                    result.PartitionResult.Add(new ElectLeadersResponse.PartitionResult { PartitionId = partitionId, ErrorCode = (short)error, ErrorMessage = message });
                }
            }
        }
        return new ControllerResult<ElectLeadersResponse>(records, response);
    }

    /// <summary>One partition's election (Kafka's <c>electLeader</c>), adding its record; the error and message to answer.</summary>
    private static (ErrorCode Error, string? Message) ElectLeader(MetadataImage image, string topicName, int partitionId, sbyte type, List<MetadataRecord> records)
    {
        if (!image.Topics.TryGetValue(topicName, out var topic))
        {
            return (ErrorCode.UnknownTopicOrPartition, $"No such topic as {topicName}");
        }
        if (!topic.HasPartition(partitionId))
        {
            return (ErrorCode.UnknownTopicOrPartition, $"No such partition as {topicName}-{partitionId}");
        }
        // Several elections of one request may touch a partition twice: decide on its state after the earlier ones.
        var partition = records.Select(r => r.Message).OfType<PartitionChangeRecord>()
            .Where(c => c.TopicId == topic.TopicId && c.PartitionId == partitionId)
            .Aggregate(topic.Partitions[partitionId], (p, c) => p.Merge(c));
        if (type == PreferredElection ? partition.Replicas.Length > 0 && partition.Leader == partition.Replicas[0] : partition.Leader != NoLeader)
        {
            return (ErrorCode.ElectionNotNeeded, ErrorCodes.DefaultMessage(ErrorCode.ElectionNotNeeded));
        }
        var change = new PartitionChangeBuilder(partition, topic.TopicId, r => IsActive(image, r))
            .WithElection(type == PreferredElection ? PartitionElection.Preferred : PartitionElection.Unclean)
            .Build();
        if (change is null)
        {
            var error = type == PreferredElection ? ErrorCode.PreferredLeaderNotAvailable : ErrorCode.EligibleLeadersNotAvailable;
            return (error, ErrorCodes.DefaultMessage(error));
        }
        records.Add(MetadataRecord.Of(change));
        return (ErrorCode.None, null);
    }

    /// <summary>
    /// Kafka's <c>maybeBalancePartitionLeaders</c>: a PREFERRED election for every partition not led by its first
    /// replica, where that replica is in the ISR and active. The response is true when the pass stopped at
    /// <see cref="MaxElectionsPerPass"/> and more may wait.
    /// </summary>
    public static ControllerResult<bool> BalancePartitionLeaders(MetadataImage image)
    {
        var records = new List<MetadataRecord>();
        foreach (var topic in image.Topics.Values)
        {
            foreach (var partition in topic.Partitions)
            {
                if (partition.Replicas.Length == 0 || partition.Leader == partition.Replicas[0])
                {
                    continue;
                }
                if (records.Count >= MaxElectionsPerPass)
                {
                    return new ControllerResult<bool>(records, true);
                }
                if (new PartitionChangeBuilder(partition, topic.TopicId, r => IsActive(image, r)).WithElection(PartitionElection.Preferred).Build() is { } change)
                {
                    records.Add(MetadataRecord.Of(change));
                }
            }
        }
        return new ControllerResult<bool>(records, false);
    }
}
