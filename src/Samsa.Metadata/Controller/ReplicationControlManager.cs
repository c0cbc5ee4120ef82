using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Metadata.Controller;

/// <summary>
/// Topic and partition decisions of the controller (Kafka's <c>ReplicationControlManager</c>): validates
/// CreateTopics, DeleteTopics and CreatePartitions against an image and turns them into TopicRecord,
/// PartitionRecord, ConfigRecord and RemoveTopicRecord. Replicas are placed over the active brokers (registered,
/// unfenced, not in controlled shutdown) by the rack-aware <see cref="StripedReplicaPlacer"/>. It also moves partition leadership
/// when a broker is fenced, shuts down or comes back (<see cref="HandleBrokerFenced"/>,
/// <see cref="HandleBrokerUnfenced"/>), as Kafka's <c>generateLeaderAndIsrUpdates</c> does.
/// </summary>
public static partial class ReplicationControlManager
{
    /// <summary>
    /// Kafka's <c>MAX_PARTITIONS_PER_BATCH</c>: a CreateTopics or CreatePartitions request adding more partitions
    /// than this is refused whole with POLICY_VIOLATION, before the broker runs out of file handles creating them.
    /// </summary>
    public const int MaxPartitionsPerRequest = 10_000;

    public const string ExcessivePartitionsMessage = "Excessively large number of partitions per request.";

    public static ControllerResult<CreateTopicsResponse> CreateTopics(MetadataImage image, CreateTopicsRequest request, ControllerOptions options)
    {
        var records = new List<MetadataRecord>();
        var response = new CreateTopicsResponse();
        var duplicates = request.Topics.GroupBy(t => t.Name, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
        if (RequestedPartitions(request, duplicates, options.NumPartitions) > MaxPartitionsPerRequest)
        {
            // Kafka's controller throws before looking at names, and the error answers every topic of the request.
            foreach (var topic in request.Topics)
            {
                var refused = new CreateTopicsResponse.CreatableTopicResult { Name = topic.Name };
                Fail(refused, ErrorCode.PolicyViolation, ExcessivePartitionsMessage);
                response.Topics.Add(refused);
            }
            return new ControllerResult<CreateTopicsResponse>([], response);
        }
        var createdNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var topic in request.Topics)
        {
            var result = new CreateTopicsResponse.CreatableTopicResult { Name = topic.Name, ErrorMessage = null };
            response.Topics.Add(result);
            if (duplicates.Contains(topic.Name))
            {
                Fail(result, ErrorCode.InvalidRequest, "Duplicate topic name.");
                continue;
            }
            var topicRecords = new List<MetadataRecord>();
            var error = CreateTopic(image, topic, options, createdNames, topicRecords, result);
            if (error is { } e)
            {
                Fail(result, e.Code, e.Message);
                continue;
            }
            createdNames.Add(topic.Name);
            if (!request.validateOnly)
            {
                records.AddRange(topicRecords);
            }
        }
        return new ControllerResult<CreateTopicsResponse>(records, response);
    }

    private static (ErrorCode Code, string Message)? CreateTopic(MetadataImage image, CreateTopicsRequest.CreatableTopic topic, ControllerOptions options,
        HashSet<string> createdInRequest, List<MetadataRecord> records, CreateTopicsResponse.CreatableTopicResult result)
    {
        if (TopicName.Validate(topic.Name) is { } invalid)
        {
            return (ErrorCode.InvalidTopicException, invalid);
        }
        if (image.Topics.ContainsKey(topic.Name) || createdInRequest.Contains(topic.Name))
        {
            return (ErrorCode.TopicAlreadyExists, $"Topic '{topic.Name}' already exists.");
        }
        var unified = TopicName.UnifyCollisionChars(topic.Name);
        if (TopicName.HasCollisionChars(topic.Name)
            && image.Topics.Keys.Concat(createdInRequest).FirstOrDefault(t => t != topic.Name && TopicName.UnifyCollisionChars(t) == unified) is { } colliding)
        {
            return (ErrorCode.InvalidTopicException, $"Topic '{topic.Name}' collides with existing topic: {colliding}");
        }
        List<List<int>> assignment;
        List<List<int>> isrs;
        if (topic.Assignments.Count > 0)
        {
            if (topic.NumPartitions != -1 || topic.ReplicationFactor != -1)
            {
                return (ErrorCode.InvalidRequest, "A manual partition assignment was specified, but numPartitions or replicationFactor was not set to -1.");
            }
            var byIndex = topic.Assignments.OrderBy(a => a.PartitionIndex).ToList();
            for (var i = 0; i < byIndex.Count; i++)
            {
                if (byIndex[i].PartitionIndex != i)
                {
                    return (ErrorCode.InvalidReplicaAssignment, "Partitions should be a consecutive 0-based integer sequence");
                }
                if (ValidateReplicas(byIndex[i].BrokerIds, image, byIndex[0].BrokerIds.Count) is { } bad)
                {
                    return (ErrorCode.InvalidReplicaAssignment, bad);
                }
            }
            assignment = byIndex.Select(a => a.BrokerIds.ToList()).ToList();
            isrs = [];
            for (var i = 0; i < assignment.Count; i++)
            {
                if (ActiveReplicas(image, assignment[i]) is not { Count: > 0 } isr)
                {
                    return (ErrorCode.InvalidReplicaAssignment, AllReplicasInactiveMessage(i));
                }
                isrs.Add(isr);
            }
        }
        else
        {
            var partitions = topic.NumPartitions == -1 ? options.NumPartitions : topic.NumPartitions;
            var replicationFactor = topic.ReplicationFactor == -1 ? options.DefaultReplicationFactor : topic.ReplicationFactor;
            if (partitions <= 0)
            {
                return (ErrorCode.InvalidPartitions, "Number of partitions was set to an invalid non-positive value.");
            }
            if (replicationFactor <= 0)
            {
                return (ErrorCode.InvalidReplicationFactor, "Replication factor must be larger than 0, or -1 to use the default value.");
            }
            var placer = new StripedReplicaPlacer(ActiveBrokers(image), options.Random);
            if (placer.Refusal(replicationFactor) is { } refusal)
            {
                return (ErrorCode.InvalidReplicationFactor, $"Unable to replicate the partition {replicationFactor} time(s): {refusal}");
            }
            assignment = Place(placer, partitions, replicationFactor);
            isrs = assignment;
        }
        var configs = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var config in topic.Configs)
        {
            if (!configs.TryAdd(config.Name, config.Value))
            {
                return (ErrorCode.InvalidRequest, $"Duplicate config key {config.Name} for topic {topic.Name}.");
            }
        }
        if (TopicConfigs.Validate(configs) is { } configError)
        {
            return (ErrorCode.InvalidConfig, configError);
        }

        var topicId = Uuid.Random();
        records.Add(MetadataRecord.Of(new TopicRecord { Name = topic.Name, TopicId = topicId }));
        foreach (var (name, value) in configs)
        {
            records.Add(MetadataRecord.Of(new ConfigRecord { ResourceType = (sbyte)ConfigResourceType.Topic, ResourceName = topic.Name, Name = name, Value = value!.Trim() }));
        }
        for (var p = 0; p < assignment.Count; p++)
        {
            records.Add(MetadataRecord.Of(NewPartition(topicId, p, assignment[p], isrs[p])));
        }
        result.TopicId = topicId;
        result.NumPartitions = assignment.Count;
        result.ReplicationFactor = (short)assignment[0].Count;
        return null;
    }

    /// <summary>
    /// Kafka's <c>validateTotalNumberOfPartitions</c>: a topic counts its assignments when it has any, else its
    /// partition count (the broker default for -1); invalid counts add nothing. Duplicate names are answered by the
    /// broker before Kafka's controller sees the request, so they do not count either.
    /// </summary>
    private static long RequestedPartitions(CreateTopicsRequest request, HashSet<string> duplicates, int defaultPartitions)
    {
        long total = 0;
        foreach (var topic in request.Topics)
        {
            if (duplicates.Contains(topic.Name))
            {
                continue;
            }
            total += topic.Assignments.Count > 0 ? topic.Assignments.Count
                : topic.NumPartitions == -1 ? defaultPartitions
                : Math.Max(topic.NumPartitions, 0);
        }
        return total;
    }

    /// <summary>A new partition: its ISR is its active replicas, and the first of them leads (Kafka's <c>buildPartitionRegistration</c>).</summary>
    private static PartitionRecord NewPartition(Uuid topicId, int partition, List<int> replicas, List<int> isr) => new()
    {
        PartitionId = partition,
        TopicId = topicId,
        Replicas = replicas,
        Isr = [.. isr],
        Leader = isr[0],
        LeaderEpoch = 0,
        PartitionEpoch = 0,
    };

    private static string? ValidateReplicas(IReadOnlyList<int> replicas, MetadataImage image, int expectedCount)
    {
        if (replicas.Count == 0)
        {
            return "The manual partition assignment includes an empty replica list.";
        }
        if (replicas.Count != expectedCount)
        {
            return $"The manual partition assignment includes a partition with {replicas.Count} replica(s), but this is not consistent with previous partitions, which have {expectedCount} replica(s).";
        }
        if (replicas.Distinct().Count() != replicas.Count)
        {
            return "The manual partition assignment includes the broker " + replicas.GroupBy(r => r).First(g => g.Count() > 1).Key + " more than once.";
        }
        var unknown = replicas.FirstOrDefault(r => !image.Brokers.ContainsKey(r), int.MinValue);
        return unknown != int.MinValue
            ? $"The manual partition assignment includes broker {unknown}, but no such broker is registered."
            : null;
    }

    private static List<List<int>> Place(StripedReplicaPlacer placer, int count, int replicationFactor)
    {
        var result = new List<List<int>>(count);
        for (var p = 0; p < count; p++)
        {
            result.Add(placer.Place(replicationFactor));
        }
        return result;
    }

    /// <summary>The brokers that may lead and receive new replicas (registered, unfenced, not in controlled shutdown), with their racks.</summary>
    public static IEnumerable<(int Id, string? Rack)> ActiveBrokers(MetadataImage image) =>
        image.Brokers.Values.Where(b => b.IsActive).Select(b => (b.NodeId, b.Rack));

    private static bool IsActive(MetadataImage image, int brokerId) => image.Brokers.TryGetValue(brokerId, out var broker) && broker.IsActive;

    private static List<int> ActiveReplicas(MetadataImage image, IReadOnlyList<int> replicas) => replicas.Where(r => IsActive(image, r)).ToList();

    private static string AllReplicasInactiveMessage(int partition) =>
        $"All brokers specified in the manual partition assignment for partition {partition} are fenced or in controlled shutdown.";

    public static ControllerResult<DeleteTopicsResponse> DeleteTopics(MetadataImage image, DeleteTopicsRequest request, short version, ControllerOptions options)
    {
        var records = new List<MetadataRecord>();
        var response = new DeleteTopicsResponse();
        var removed = new HashSet<Uuid>();
        IEnumerable<(string? Name, Uuid Id)> wanted = version >= 6
            ? request.Topics.Select(t => (t.Name, t.TopicId))
            : request.TopicNames.Select(n => ((string?)n, Uuid.Zero));
        foreach (var (name, id) in wanted)
        {
            var result = new DeleteTopicsResponse.DeletableTopicResult { Name = name, TopicId = id };
            response.Responses.Add(result);
            if (name is not null && !id.IsZero)
            {
                Fail(result, ErrorCode.InvalidRequest, "You may not specify both topic name and topic id.");
                continue;
            }
            var topic = name is not null ? image.Topics.GetValueOrDefault(name) : image.TopicById(id);
            if (topic is null)
            {
                Fail(result, name is not null ? ErrorCode.UnknownTopicOrPartition : ErrorCode.UnknownTopicId,
                    name is not null ? "This server does not host this topic-partition." : "This server does not host this topic ID.");
                continue;
            }
            result.Name = topic.Name;
            result.TopicId = topic.TopicId;
            if (!options.DeleteTopicEnable)
            {
                Fail(result, ErrorCode.TopicDeletionDisabled, "Topic deletion is disabled.");
                continue;
            }
            if (topic.IsInternal)
            {
                // Kafka's ControllerApis refuses to delete internal topics.
                Fail(result, ErrorCode.InvalidRequest, $"Cannot delete internal topic {topic.Name}.");
                continue;
            }
            if (removed.Add(topic.TopicId))
            {
                records.Add(MetadataRecord.Of(new RemoveTopicRecord { TopicId = topic.TopicId }));
            }
        }
        return new ControllerResult<DeleteTopicsResponse>(records, response);
    }

    public static ControllerResult<CreatePartitionsResponse> CreatePartitions(MetadataImage image, CreatePartitionsRequest request) =>
        CreatePartitions(image, request, new ControllerOptions());

    public static ControllerResult<CreatePartitionsResponse> CreatePartitions(MetadataImage image, CreatePartitionsRequest request, ControllerOptions options)
    {
        var records = new List<MetadataRecord>();
        var response = new CreatePartitionsResponse();
        var duplicates = request.Topics.GroupBy(t => t.Name, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
        // Kafka has no explicit count here: its bound of 10,000 records per operation fails the topic that crosses
        // it (and those after) midway. Counting first refuses the request whole, with CreateTopics' error.
        var requested = request.Topics.Where(t => !duplicates.Contains(t.Name) && image.Topics.TryGetValue(t.Name, out var existing) && t.Count > existing.Partitions.Length)
            .Sum(t => (long)t.Count - image.Topics[t.Name].Partitions.Length);
        if (requested > MaxPartitionsPerRequest)
        {
            foreach (var topic in request.Topics)
            {
                var refused = new CreatePartitionsResponse.CreatePartitionsTopicResult { Name = topic.Name };
                Fail(refused, ErrorCode.PolicyViolation, ExcessivePartitionsMessage);
                response.Results.Add(refused);
            }
            return new ControllerResult<CreatePartitionsResponse>([], response);
        }
        foreach (var request1 in request.Topics)
        {
            var result = new CreatePartitionsResponse.CreatePartitionsTopicResult { Name = request1.Name };
            response.Results.Add(result);
            if (duplicates.Contains(request1.Name))
            {
                Fail(result, ErrorCode.InvalidRequest, "Duplicate topic name.");
                continue;
            }
            if (!image.Topics.TryGetValue(request1.Name, out var topic))
            {
                Fail(result, ErrorCode.UnknownTopicOrPartition, "This server does not host this topic-partition.");
                continue;
            }
            var current = topic.Partitions.Length;
            if (request1.Count < current)
            {
                Fail(result, ErrorCode.InvalidPartitions, $"The topic {topic.Name} currently has {current} partition(s); {request1.Count} would not be an increase.");
                continue;
            }
            if (request1.Count == current)
            {
                Fail(result, ErrorCode.InvalidPartitions, $"Topic already has {current} partition(s).");
                continue;
            }
            var added = request1.Count - current;
            List<List<int>> assignment;
            List<List<int>> isrs;
            if (request1.Assignments is { Count: > 0 } manual)
            {
                if (manual.Count != added)
                {
                    Fail(result, ErrorCode.InvalidReplicaAssignment, $"Attempted to add {added} additional partition(s), but only {manual.Count} assignment(s) were specified.");
                    continue;
                }
                var bad = manual.Select(a => ValidateReplicas(a.BrokerIds, image, topic.ReplicationFactor)).FirstOrDefault(e => e is not null);
                if (bad is not null)
                {
                    Fail(result, ErrorCode.InvalidReplicaAssignment, bad);
                    continue;
                }
                assignment = manual.Select(a => a.BrokerIds.ToList()).ToList();
                isrs = assignment.Select(a => ActiveReplicas(image, a)).ToList();
                var inactive = isrs.FindIndex(isr => isr.Count == 0);
                if (inactive >= 0)
                {
                    Fail(result, ErrorCode.InvalidReplicaAssignment, AllReplicasInactiveMessage(current + inactive));
                    continue;
                }
            }
            else
            {
                var placer = new StripedReplicaPlacer(ActiveBrokers(image), options.Random, [.. topic.Partitions.Select(p => (IReadOnlyList<int>)p.Replicas)]);
                if (placer.Refusal(topic.ReplicationFactor) is { } refusal)
                {
                    Fail(result, ErrorCode.InvalidReplicationFactor, $"Unable to replicate the partition {topic.ReplicationFactor} time(s): {refusal}");
                    continue;
                }
                assignment = Place(placer, added, topic.ReplicationFactor);
                isrs = assignment;
            }
            if (!request.ValidateOnly)
            {
                for (var i = 0; i < assignment.Count; i++)
                {
                    records.Add(MetadataRecord.Of(NewPartition(topic.TopicId, current + i, assignment[i], isrs[i])));
                }
            }
        }
        return new ControllerResult<CreatePartitionsResponse>(records, response);
    }

    /// <summary>True when <paramref name="brokerId"/> leads at least one partition.</summary>
    public static bool HasLeaderships(MetadataImage image, int brokerId) =>
        image.Topics.Values.Any(t => t.Partitions.Any(p => p.Leader == brokerId));

    /// <summary>
    /// The partition changes for a broker that may no longer lead or stay in sync: fenced, or entering controlled
    /// shutdown (Kafka's <c>generateLeaderAndIsrUpdates</c> with a broker to remove). It leaves the ISR of every
    /// partition where another member remains; where it leads, the current leader's successor is elected by
    /// <see cref="PartitionChangeBuilder"/>: the first replica (in assignment order) in the remaining ISR that is
    /// active. When none is, the partition is left without a leader (-1) and keeps its ISR, so that only an in-sync
    /// replica can lead it again (<see cref="HandleBrokerUnfenced"/>) -- unless the topic's
    /// <c>unclean.leader.election.enable</c> is true, when any active replica leads it, alone in the ISR and RECOVERING.
    /// </summary>
    /// <remarks><paramref name="image"/> may still show the broker as active; it is treated as gone.</remarks>
    public static void HandleBrokerFenced(MetadataImage image, int brokerId, List<MetadataRecord> records, ControllerOptions options)
    {
        foreach (var topic in image.Topics.Values)
        {
            PartitionElection? election = null;
            foreach (var partition in topic.Partitions)
            {
                if (!partition.Isr.Contains(brokerId))
                {
                    continue;
                }
                election ??= UncleanLeaderElectionEnabled(image, topic.Name, options) ? PartitionElection.Unclean : PartitionElection.Online;
                var change = new PartitionChangeBuilder(partition, topic.TopicId, r => r != brokerId && IsActive(image, r))
                    .WithElection(election.Value)
                    .WithTargetIsr(partition.Isr.Where(r => r != brokerId))
                    .Build();
                if (change is not null)
                {
                    records.Add(MetadataRecord.Of(change));
                }
            }
        }
    }

    /// <summary>
    /// The partition changes for a broker that has just been unfenced: every partition without a leader gets one if
    /// it can, counting this broker as active (Kafka's <c>handleBrokerUnfenced</c>): the first replica (in assignment
    /// order) that is in the ISR and active, or, where the topic allows unclean elections, any active replica.
    /// </summary>
    public static void HandleBrokerUnfenced(MetadataImage image, int brokerId, List<MetadataRecord> records, ControllerOptions options) =>
        ElectLeaderless(image, records, r => r == brokerId || IsActive(image, r), options, int.MaxValue);

    /// <summary>
    /// Elects a leader for partitions that have none, at most <paramref name="maxElections"/> of them: from the ISR,
    /// or from any acceptable replica where the topic's <c>unclean.leader.election.enable</c> is true.
    /// </summary>
    private static void ElectLeaderless(MetadataImage image, List<MetadataRecord> records, Func<int, bool> isAcceptable, ControllerOptions options, int maxElections)
    {
        var elected = 0;
        foreach (var topic in image.Topics.Values)
        {
            PartitionElection? election = null;
            foreach (var partition in topic.Partitions)
            {
                if (partition.Leader != NoLeader)
                {
                    continue;
                }
                if (elected >= maxElections)
                {
                    return;
                }
                election ??= UncleanLeaderElectionEnabled(image, topic.Name, options) ? PartitionElection.Unclean : PartitionElection.Online;
                if (new PartitionChangeBuilder(partition, topic.TopicId, isAcceptable).WithElection(election.Value).Build() is { } change)
                {
                    records.Add(MetadataRecord.Of(change));
                    elected++;
                }
            }
        }
    }

    /// <summary>
    /// The effective <c>unclean.leader.election.enable</c> of a topic, as Kafka's controller resolves it: the topic's
    /// own config, else this controller's dynamic broker config, else the cluster-wide dynamic default, else the
    /// static broker config (<see cref="ControllerOptions.UncleanLeaderElectionEnable"/>).
    /// </summary>
    public static bool UncleanLeaderElectionEnabled(MetadataImage image, string topic, ControllerOptions options)
    {
        const string Key = "unclean.leader.election.enable";
        foreach (var resource in (ReadOnlySpan<ConfigResource>)[new(ConfigResourceType.Topic, topic),
            new(ConfigResourceType.Broker, options.NodeId.ToString(System.Globalization.CultureInfo.InvariantCulture)), new(ConfigResourceType.Broker, "")])
        {
            if (image.ConfigsOf(resource).TryGetValue(Key, out var value))
            {
                return value.Trim().Equals("true", StringComparison.OrdinalIgnoreCase);
            }
        }
        return options.UncleanLeaderElectionEnable;
    }

    /// <summary>PartitionRecord's "no leader".</summary>
    public const int NoLeader = PartitionChangeBuilder.NoLeader;

    private static void Fail(CreateTopicsResponse.CreatableTopicResult result, ErrorCode code, string message)
    {
        result.ErrorCode = (short)code;
        result.ErrorMessage = message;
    }

    private static void Fail(DeleteTopicsResponse.DeletableTopicResult result, ErrorCode code, string message)
    {
        result.ErrorCode = (short)code;
        result.ErrorMessage = message;
    }

    private static void Fail(CreatePartitionsResponse.CreatePartitionsTopicResult result, ErrorCode code, string message)
    {
        result.ErrorCode = (short)code;
        result.ErrorMessage = message;
    }
}
