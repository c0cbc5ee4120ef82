using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Metadata.Controller;

public static partial class ReplicationControlManager
{
    /// <summary>
    /// AlterPartitionReassignments (key 45, v0, KIP-455) as Kafka's KRaft controller decides it: each named partition
    /// either starts (or replaces) a reassignment to its target replicas, or, with null replicas, cancels the one under
    /// way. Every partition is answered with its own error; the records of the successful ones commit together. The
    /// request's timeout is not used: the answer goes out once the records commit.
    /// </summary>
    /// <remarks>
    /// <para>Starting: the target must be non-empty, without duplicates, and name registered brokers only
    /// (INVALID_REPLICA_ASSIGNMENT). Adding = target minus current replicas, removing = current minus target (both in
    /// ascending order); the replica list becomes the target followed by the removing ones; the ISR is unchanged. When
    /// the ISR already holds every replica the partition keeps, <see cref="PartitionChangeBuilder"/> completes the
    /// reassignment at once (removing replicas leave, a removed leader is replaced). Otherwise the leader's
    /// AlterPartition completes it once the added replicas joined the ISR.</para>
    /// <para>Cancelling: NO_REASSIGNMENT_IN_PROGRESS when none is; otherwise the adding replicas leave the replicas and
    /// the ISR, the removing ones stay, the lists clear, and a leader that was being added is replaced. When only adding
    /// replicas were in sync, the first original replica becomes the ISR, which is an unclean election: refused with
    /// INVALID_REPLICA_ASSIGNMENT unless the topic allows unclean elections.</para>
    /// </remarks>
    public static ControllerResult<AlterPartitionReassignmentsResponse> AlterPartitionReassignments(MetadataImage image,
        AlterPartitionReassignmentsRequest request, ControllerOptions options)
    {
        var response = new AlterPartitionReassignmentsResponse { ErrorMessage = null };
        var records = new List<MetadataRecord>();
        foreach (var topicRequest in request.Topics)
        {
            var topicResponse = new AlterPartitionReassignmentsResponse.ReassignableTopicResponse { Name = topicRequest.Name };
            response.Responses.Add(topicResponse);
            foreach (var partitionRequest in topicRequest.Partitions)
            {
                var (error, message) = AlterPartitionReassignment(image, topicRequest.Name, partitionRequest, records, options);
                topicResponse.Partitions.Add(new AlterPartitionReassignmentsResponse.ReassignablePartitionResponse
                {
                    PartitionIndex = partitionRequest.PartitionIndex,
                    ErrorCode = (short)error,
                    ErrorMessage = message,
                });
            }
        }
        return new ControllerResult<AlterPartitionReassignmentsResponse>(records, response);
    }

    private static (ErrorCode Error, string? Message) AlterPartitionReassignment(MetadataImage image, string topicName,
        AlterPartitionReassignmentsRequest.ReassignablePartition target, List<MetadataRecord> records, ControllerOptions options)
    {
        if (!image.Topics.TryGetValue(topicName, out var topic))
        {
            return (ErrorCode.UnknownTopicOrPartition, $"Topic {topicName} does not exist.");
        }
        if (!topic.HasPartition(target.PartitionIndex))
        {
            return (ErrorCode.UnknownTopicOrPartition, $"Partition {topicName}:{target.PartitionIndex} does not exist.");
        }
        // The same partition may be named twice in one request: decide on its state after the earlier entries.
        var partition = records.Select(r => r.Message).OfType<PartitionChangeRecord>()
            .Where(c => c.TopicId == topic.TopicId && c.PartitionId == target.PartitionIndex)
            .Aggregate(topic.Partitions[target.PartitionIndex], (p, c) => p.Merge(c));
        var (error, message, change) = target.Replicas is null
            ? CancelReassignment(image, topic, partition, options)
            : ChangeReassignment(image, topic, partition, target.Replicas);
        if (change is not null)
        {
            records.Add(MetadataRecord.Of(change));
        }
        return (error, message);
    }

    private static (ErrorCode, string?, PartitionChangeRecord?) CancelReassignment(MetadataImage image, TopicImage topic, PartitionImage partition, ControllerOptions options)
    {
        if (!partition.IsReassigning)
        {
            return (ErrorCode.NoReassignmentInProgress, ErrorCodes.DefaultMessage(ErrorCode.NoReassignmentInProgress), null);
        }
        var (replicas, isr, unclean) = RevertOf(partition);
        if (replicas.Count == 0)
        {
            return (ErrorCode.InvalidReplicaAssignment, "Invalid replica assignment: every replica is being added.", null);
        }
        var uncleanAllowed = UncleanLeaderElectionEnabled(image, topic.Name, options);
        if (unclean && !uncleanAllowed)
        {
            return (ErrorCode.InvalidReplicaAssignment,
                $"Cannot revert the reassignment of {topic.Name}:{partition.PartitionIndex}: it would need an unclean leader election.", null);
        }
        var change = new PartitionChangeBuilder(partition, topic.TopicId, r => IsActive(image, r))
            .WithElection(uncleanAllowed ? PartitionElection.Unclean : PartitionElection.Online)
            .WithTargetIsr(isr)
            .WithTargetReplicas(replicas)
            .WithTargetAdding([])
            .WithTargetRemoving([])
            .Build();
        return (ErrorCode.None, null, change);
    }

    /// <summary>
    /// The replicas and ISR a cancelled reassignment goes back to (Kafka's <c>PartitionReassignmentRevert</c>): the
    /// adding replicas leave both; when that empties the ISR, the first original replica is the ISR, uncleanly.
    /// </summary>
    internal static (List<int> Replicas, List<int> Isr, bool Unclean) RevertOf(PartitionImage partition)
    {
        List<int> replicas = [.. partition.Replicas.Where(r => !partition.AddingReplicas.Contains(r))];
        List<int> isr = [.. partition.Isr.Where(r => !partition.AddingReplicas.Contains(r))];
        if (isr.Count == 0 && replicas.Count > 0)
        {
            return (replicas, [replicas[0]], true);
        }
        return (replicas, isr, false);
    }

    private static (ErrorCode, string?, PartitionChangeRecord?) ChangeReassignment(MetadataImage image, TopicImage topic, PartitionImage partition, List<int> target)
    {
        if (ValidateTargetReplicas(image, target) is { } invalid)
        {
            return (ErrorCode.InvalidReplicaAssignment, invalid, null);
        }
        var (replicas, adding, removing) = ReassignmentOf(partition.Replicas, target);
        var builder = new PartitionChangeBuilder(partition, topic.TopicId, r => IsActive(image, r));
        if (!replicas.SequenceEqual(partition.Replicas))
        {
            builder.WithTargetReplicas(replicas);
        }
        if (removing.Count > 0)
        {
            builder.WithTargetRemoving(removing);
        }
        if (adding.Count > 0)
        {
            builder.WithTargetAdding(adding);
        }
        return (ErrorCode.None, null, builder.Build());
    }

    /// <summary>
    /// Kafka's <c>PartitionReassignmentReplicas</c> from the current and the target replicas: removing = current minus
    /// target and adding = target minus current, each ascending; the replicas while it runs are the target followed by
    /// the removing ones.
    /// </summary>
    internal static (List<int> Replicas, List<int> Adding, List<int> Removing) ReassignmentOf(IEnumerable<int> current, IReadOnlyList<int> target)
    {
        var currentList = current.ToList();
        List<int> removing = [.. currentList.Where(r => !target.Contains(r)).Distinct().Order()];
        List<int> adding = [.. target.Where(r => !currentList.Contains(r)).Distinct().Order()];
        return ([.. target, .. removing], adding, removing);
    }

    /// <summary>Kafka's checks of a manual assignment: not empty, every broker registered, none twice; the message, or null.</summary>
    private static string? ValidateTargetReplicas(MetadataImage image, List<int> target)
    {
        if (target.Count == 0)
        {
            return "The target replica list of the reassignment is empty.";
        }
        int? previous = null;
        foreach (var brokerId in target.Order())
        {
            if (!image.Brokers.ContainsKey(brokerId))
            {
                return $"The target replicas include broker {brokerId}, which is not registered.";
            }
            if (brokerId == previous)
            {
                return $"The target replicas include broker {brokerId} more than once.";
            }
            previous = brokerId;
        }
        return null;
    }

    /// <summary>
    /// ListPartitionReassignments (key 46, v0): the partitions with a reassignment under way (replicas, adding and
    /// removing replicas), among the named topics and partitions, or every topic when the list is null. Unknown topics
    /// and partitions and those not reassigning are left out, and so is a topic with none left.
    /// </summary>
    public static ListPartitionReassignmentsResponse ListPartitionReassignments(MetadataImage image, ListPartitionReassignmentsRequest request)
    {
        var response = new ListPartitionReassignmentsResponse { ErrorMessage = null };
        IEnumerable<(TopicImage Topic, IEnumerable<int> Partitions)> wanted = request.Topics is null
            ? image.Topics.Values.Select(t => (t, t.Partitions.Select(p => p.PartitionIndex)))
            : request.Topics.Where(t => image.Topics.ContainsKey(t.Name)).Select(t => (image.Topics[t.Name], (IEnumerable<int>)t.PartitionIndexes));
        foreach (var (topic, partitions) in wanted)
        {
            var ongoing = new ListPartitionReassignmentsResponse.OngoingTopicReassignment { Name = topic.Name };
            foreach (var index in partitions)
            {
                if (topic.HasPartition(index) && topic.Partitions[index] is { IsReassigning: true } partition)
                {
                    ongoing.Partitions.Add(new ListPartitionReassignmentsResponse.OngoingPartitionReassignment
                    {
                        PartitionIndex = index,
                        Replicas = [.. partition.Replicas],
                        AddingReplicas = [.. partition.AddingReplicas],
                        RemovingReplicas = [.. partition.RemovingReplicas],
                    });
                }
            }
            if (ongoing.Partitions.Count > 0)
            {
                response.Topics.Add(ongoing);
            }
        }
        return response;
    }
}
