using System.Text.RegularExpressions;
using Samsa.Broker.Groups.Consumer;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Groups;

/// <summary>
/// KIP-848 consumer groups (Kafka's <c>GroupMetadataManager.consumerGroupHeartbeat</c> and friends):
/// ConsumerGroupHeartbeat, ConsumerGroupDescribe, session and revocation timeouts, replay of the records.
/// </summary>
/// <remarks>
/// One heartbeat, under the shard lock: validate; find or create the group and member; write the member's
/// metadata if it changed; refresh the subscribed topics' metadata from the image; bump the group epoch when
/// the assignor's input changed; compute a new target assignment when the group epoch is ahead of the
/// assignment epoch; reconcile the member (<see cref="CurrentAssignmentBuilder"/>); append the records. Each
/// record is replayed into the group as it is produced (the group never changes any other way), and the answer
/// leaves once the records are committed.
/// </remarks>
public sealed partial class GroupCoordinatorShard
{
    private static string ConsumerSessionKey(string groupId, string memberId) => $"consumer-session-{groupId}-{memberId}";

    private static string ConsumerRevocationKey(string groupId, string memberId) => $"consumer-revocation-{groupId}-{memberId}";

    /// <summary>Answers one ConsumerGroupHeartbeat once its records are committed.</summary>
    public async Task<ConsumerGroupHeartbeatResponse> ConsumerGroupHeartbeatAsync(
        ConsumerGroupHeartbeatRequest request, short apiVersion, string clientId, string clientHost, MetadataImage image)
    {
        Task<ErrorCode> written;
        ConsumerGroupHeartbeatResponse response;
        lock (SyncRoot)
        {
            if (Availability is var unavailable && unavailable != ErrorCode.None)
            {
                return ConsumerHeartbeatError(unavailable, null);
            }
            var records = new List<CoordinatorRecord>();
            try
            {
                response = ConsumerGroupHeartbeatLocked(request, apiVersion, clientId, clientHost, image, records);
            }
            catch (GroupException e)
            {
                // Records produced before the refusal are already applied; they still go to the log.
                written = AppendAndWait(records, replay: false);
                return ConsumerHeartbeatError(e.Error, e.Message);
            }
            written = AppendAndWait(records, replay: false);
        }
        var outcome = GroupWriteError(await written);
        return outcome == ErrorCode.None ? response : ConsumerHeartbeatError(outcome, null);
    }

    private static ConsumerGroupHeartbeatResponse ConsumerHeartbeatError(ErrorCode error, string? message) => new()
    {
        ErrorCode = (short)error,
        ErrorMessage = message ?? ErrorCodes.DefaultMessage(error),
    };

    private ConsumerGroupHeartbeatResponse ConsumerGroupHeartbeatLocked(
        ConsumerGroupHeartbeatRequest request, short apiVersion, string clientId, string clientHost, MetadataImage image, List<CoordinatorRecord> records)
    {
        var config = ConsumerConfigOf(request.GroupId, image);
        ValidateConsumerHeartbeat(request, apiVersion, config);

        if (request.MemberEpoch is ConsumerGroupMember.LeaveGroupMemberEpoch or ConsumerGroupMember.LeaveGroupStaticMemberEpoch)
        {
            return ConsumerGroupLeave(request, image, records);
        }

        var group = ConsumerGroupOrCreate(request.GroupId, createIfMissing: request.MemberEpoch == 0, records);
        var owned = request.TopicPartitions is null
            ? null
            : Assignment.Of(request.TopicPartitions.Select(t => new KeyValuePair<Uuid, IEnumerable<int>>(t.TopicId, t.Partitions)));

        ConsumerGroupMember member;
        var isNew = false;
        if (request.MemberEpoch == 0)
        {
            (member, isNew) = JoiningMember(group, request, records, config);
        }
        else
        {
            member = group.MemberOrNull(request.MemberId)
                ?? throw new GroupException(ErrorCode.UnknownMemberId, $"Member {request.MemberId} is not a member of group {request.GroupId}.");
            if (member.InstanceId is not null && request.InstanceId is not null && member.InstanceId != request.InstanceId)
            {
                throw new GroupException(ErrorCode.FencedInstanceId, $"Member {request.MemberId} is not the owner of instance id {request.InstanceId}.");
            }
            ThrowIfEpochIsInvalid(member, request.MemberEpoch, owned);
        }

        // The member as this heartbeat describes it; absent fields mean "unchanged".
        var updated = member with
        {
            InstanceId = request.InstanceId ?? member.InstanceId,
            RackId = request.RackId ?? member.RackId,
            RebalanceTimeoutMs = request.RebalanceTimeoutMs != -1 ? request.RebalanceTimeoutMs : member.RebalanceTimeoutMs,
            SubscribedTopicNames = request.SubscribedTopicNames is { } names ? [.. names.Distinct(StringComparer.Ordinal)] : member.SubscribedTopicNames,
            SubscribedTopicRegex = request.SubscribedTopicRegex is { } regex ? (regex.Length == 0 ? null : regex) : member.SubscribedTopicRegex,
            ServerAssignor = request.ServerAssignor ?? member.ServerAssignor,
            ClientId = clientId,
            ClientHost = clientHost,
        };
        var bumpEpoch = isNew || !updated.SameSubscriptionAs(member);
        if (isNew || !updated.SameMetadataAs(member))
        {
            Apply(group, ConsumerGroupRecords.MemberMetadata(group.GroupId, updated), records);
        }

        // The subscribed topics as the image has them now: a new topic, a deleted one or added partitions move the epoch.
        var subscribed = SubscribedTopics(group, image);
        if (!SameSubscriptionMetadata(subscribed, group.SubscriptionMetadata))
        {
            Apply(group, ConsumerGroupRecords.SubscriptionMetadata(group.GroupId, subscribed), records);
            bumpEpoch = true;
        }
        if (bumpEpoch)
        {
            Apply(group, ConsumerGroupRecords.GroupEpoch(group.GroupId, group.GroupEpoch + 1), records);
        }
        if (group.GroupEpoch > group.AssignmentEpoch)
        {
            UpdateTargetAssignment(group, image, config, records);
        }

        member = group.MemberOrNull(updated.MemberId)!;
        var reconciled = CurrentAssignmentBuilder.Reconcile(
            member, group.AssignmentEpoch, group.TargetOf(member.MemberId), SubscribedTopicIds(member, image), group.PartitionEpoch, owned);
        if (!reconciled.SameAssignmentAs(member))
        {
            Apply(group, ConsumerGroupRecords.CurrentAssignment(group.GroupId, reconciled), records);
        }
        ScheduleConsumerTimeouts(group, reconciled, config.SessionTimeoutMs);

        var response = new ConsumerGroupHeartbeatResponse
        {
            MemberId = reconciled.MemberId,
            MemberEpoch = reconciled.MemberEpoch,
            HeartbeatIntervalMs = config.HeartbeatIntervalMs,
        };
        // Kafka answers with the assignment on a full request (a join, or a client resending everything after an
        // error) and whenever the assignment changed; otherwise the client keeps what it has.
        var fullRequest = request.MemberEpoch == 0 ||
            (request.RebalanceTimeoutMs != -1 && request.SubscribedTopicNames is not null && request.TopicPartitions is not null);
        if (fullRequest || !reconciled.AssignedPartitions.Equals(member.AssignedPartitions))
        {
            response.Assignment = new ConsumerGroupHeartbeatResponse.AssignmentData
            {
                TopicPartitions = [.. reconciled.AssignedPartitions.Sorted().Select(t => new ConsumerGroupHeartbeatResponse.TopicPartitions { TopicId = t.Key, Partitions = [.. t.Value] })],
            };
        }
        return response;
    }

    /// <summary>Kafka's <c>throwIfConsumerGroupHeartbeatRequestIsInvalid</c>.</summary>
    private static void ValidateConsumerHeartbeat(ConsumerGroupHeartbeatRequest request, short apiVersion, ConsumerGroupConfig config)
    {
        static GroupException Invalid(string message) => new(ErrorCode.InvalidRequest, message);
        if (string.IsNullOrEmpty(request.GroupId))
        {
            throw Invalid("GroupId can't be empty.");
        }
        if (request.RackId is { Length: 0 })
        {
            throw Invalid("RackId can't be empty.");
        }
        if (request.InstanceId is { Length: 0 })
        {
            throw Invalid("InstanceId can't be empty.");
        }
        if (request.MemberEpoch == 0)
        {
            if (apiVersion >= 1 && string.IsNullOrEmpty(request.MemberId))
            {
                // From v1 the client makes its member id up (KIP-1082).
                throw Invalid("MemberId can't be empty.");
            }
            if (request.RebalanceTimeoutMs == -1)
            {
                throw Invalid("RebalanceTimeoutMs must be provided in first request.");
            }
            if (request.TopicPartitions is null || request.TopicPartitions.Count > 0)
            {
                throw Invalid("TopicPartitions must be empty when (re-)joining.");
            }
            if (request.SubscribedTopicNames is null && request.SubscribedTopicRegex is null)
            {
                throw Invalid("SubscribedTopicNames or SubscribedTopicRegex must be set in first request.");
            }
        }
        else if (request.MemberEpoch > 0 || request.MemberEpoch == ConsumerGroupMember.LeaveGroupMemberEpoch)
        {
            if (string.IsNullOrEmpty(request.MemberId))
            {
                throw Invalid("MemberId can't be empty.");
            }
        }
        else if (request.MemberEpoch == ConsumerGroupMember.LeaveGroupStaticMemberEpoch)
        {
            if (string.IsNullOrEmpty(request.MemberId))
            {
                throw Invalid("MemberId can't be empty.");
            }
            if (request.InstanceId is null)
            {
                throw Invalid("InstanceId can't be null.");
            }
        }
        else
        {
            throw Invalid($"MemberEpoch is invalid: {request.MemberEpoch}.");
        }
        if (request.SubscribedTopicRegex is { Length: > 0 } pattern)
        {
            try
            {
                _ = new Regex(pattern, RegexOptions.None, TimeSpan.FromMilliseconds(100));
            }
            catch (ArgumentException e)
            {
                throw new GroupException(ErrorCode.InvalidRegularExpression, $"SubscribedTopicRegex `{pattern}` is not a valid regular expression: {e.Message}.");
            }
        }
        if (request.ServerAssignor is { } assignor && !config.Assignors.Contains(assignor))
        {
            throw new GroupException(ErrorCode.UnsupportedAssignor, $"ServerAssignor {assignor} is not supported. Supported assignors: {string.Join(", ", config.Assignors)}.");
        }
    }

    /// <summary>
    /// Kafka's <c>getOrMaybeCreateConsumerGroup</c>: the consumer group with this id, created when a member joins.
    /// An empty classic group (committed offsets only) is upgraded in place, as Kafka 4.0 does; a classic group
    /// with members is GROUP_ID_NOT_FOUND.
    /// </summary>
    private ConsumerGroup ConsumerGroupOrCreate(string groupId, bool createIfMissing, List<CoordinatorRecord> records)
    {
        if (_groups.TryGetValue(groupId, out var group))
        {
            if (group is ConsumerGroup consumer)
            {
                return consumer;
            }
            if (!createIfMissing || !group.IsEmpty)
            {
                throw new GroupException(ErrorCode.GroupIdNotFound, $"Group {groupId} is not a consumer group.");
            }
            // Upgrade: the classic group record goes away, its committed offsets stay.
            records.Add(CoordinatorRecord.GroupMetadataTombstone(groupId));
            _groups.Remove(groupId);
        }
        else if (!createIfMissing)
        {
            throw new GroupException(ErrorCode.GroupIdNotFound, $"Consumer group {groupId} not found.");
        }
        var created = new ConsumerGroup(groupId);
        _groups.Add(groupId, created);
        return created;
    }

    /// <summary>The member a join (epoch 0) speaks for: new, the same dynamic member rejoining, or a static member's replacement.</summary>
    private (ConsumerGroupMember Member, bool IsNew) JoiningMember(ConsumerGroup group, ConsumerGroupHeartbeatRequest request, List<CoordinatorRecord> records, ConsumerGroupConfig config)
    {
        var memberId = string.IsNullOrEmpty(request.MemberId) ? Uuid.Random().ToString() : request.MemberId;
        if (request.InstanceId is { } instanceId && group.StaticMemberOrNull(instanceId) is { } previous)
        {
            if (previous.MemberEpoch != ConsumerGroupMember.LeaveGroupStaticMemberEpoch && previous.MemberId != memberId)
            {
                throw new GroupException(ErrorCode.UnreleasedInstanceId,
                    $"Static member {memberId} with instance id {instanceId} cannot join the group because the instance id is owned by {previous.MemberId} member.");
            }
            if (previous.MemberId != memberId)
            {
                // The restarted static member takes over the old one's assignment and epoch without a rebalance.
                var replacement = previous with { MemberId = memberId };
                RemoveConsumerMemberRecords(group, previous.MemberId, records);
                var target = group.TargetOf(previous.MemberId);
                Apply(group, ConsumerGroupRecords.MemberMetadata(group.GroupId, replacement), records);
                Apply(group, ConsumerGroupRecords.TargetAssignment(group.GroupId, memberId, target), records);
                Apply(group, ConsumerGroupRecords.CurrentAssignment(group.GroupId, replacement with
                {
                    MemberEpoch = replacement.PreviousMemberEpoch > 0 ? replacement.PreviousMemberEpoch : group.AssignmentEpoch,
                }), records);
                return (group.MemberOrNull(memberId)!, false);
            }
            return (previous, false);
        }
        if (group.MemberOrNull(memberId) is { } existing)
        {
            return (existing, false);
        }
        if (group.Members.Count >= config.MaxSize)
        {
            throw new GroupException(ErrorCode.GroupMaxSizeReached, $"The consumer group has reached its maximum capacity of {config.MaxSize} members.");
        }
        return (new ConsumerGroupMember { MemberId = memberId }, true);
    }

    /// <summary>
    /// Kafka's <c>throwIfMemberEpochIsInvalid</c>: an epoch ahead of the coordinator's is fenced; one behind is
    /// accepted only when it is the previous epoch (the answer moving the member on was lost) and the member
    /// owns nothing beyond its current assignment.
    /// </summary>
    private static void ThrowIfEpochIsInvalid(ConsumerGroupMember member, int receivedEpoch, Assignment? owned)
    {
        if (receivedEpoch > member.MemberEpoch)
        {
            throw new GroupException(ErrorCode.FencedMemberEpoch,
                $"The consumer group member has a greater member epoch ({receivedEpoch}) than the one known by the group coordinator ({member.MemberEpoch}). The member must abandon all its partitions and rejoin.");
        }
        if (receivedEpoch < member.MemberEpoch &&
            (receivedEpoch != member.PreviousMemberEpoch || (owned is not null && !owned.Except(member.AssignedPartitions).IsEmpty)))
        {
            throw new GroupException(ErrorCode.FencedMemberEpoch,
                $"The consumer group member has a smaller member epoch ({receivedEpoch}) than the one known by the group coordinator ({member.MemberEpoch}). The member must abandon all its partitions and rejoin.");
        }
    }

    /// <summary>A member leaving: for good (epoch -1) it is removed; a static member (-2) keeps its place until its session expires.</summary>
    private ConsumerGroupHeartbeatResponse ConsumerGroupLeave(ConsumerGroupHeartbeatRequest request, MetadataImage image, List<CoordinatorRecord> records)
    {
        if (!_groups.TryGetValue(request.GroupId, out var found) || found is not ConsumerGroup group)
        {
            throw new GroupException(ErrorCode.GroupIdNotFound, $"Consumer group {request.GroupId} not found.");
        }
        var member = (request.InstanceId is { } instanceId ? group.StaticMemberOrNull(instanceId) : group.MemberOrNull(request.MemberId))
            ?? throw new GroupException(ErrorCode.UnknownMemberId, $"Member {request.MemberId} is not a member of group {request.GroupId}.");
        if (member.MemberId != request.MemberId)
        {
            throw new GroupException(ErrorCode.FencedInstanceId, $"Member {request.MemberId} is not the owner of instance id {request.InstanceId}.");
        }
        if (request.MemberEpoch == ConsumerGroupMember.LeaveGroupStaticMemberEpoch)
        {
            // Kept with its assignment (epoch -2) so a restart within the session timeout gets it back.
            Apply(group, ConsumerGroupRecords.CurrentAssignment(group.GroupId, member.WithEpoch(ConsumerGroupMember.LeaveGroupStaticMemberEpoch)), records);
            _timer.Cancel(ConsumerRevocationKey(group.GroupId, member.MemberId));
        }
        else
        {
            RemoveConsumerMember(group, member.MemberId, image, records, "left the group");
        }
        return new ConsumerGroupHeartbeatResponse
        {
            MemberId = request.MemberId,
            MemberEpoch = request.MemberEpoch,
        };
    }

    /// <summary>Removes a member and bumps the group epoch so the others get its partitions.</summary>
    private void RemoveConsumerMember(ConsumerGroup group, string memberId, MetadataImage? image, List<CoordinatorRecord> records, string reason)
    {
        RemoveConsumerMemberRecords(group, memberId, records);
        if (image is not null)
        {
            var subscribed = SubscribedTopics(group, image);
            if (!SameSubscriptionMetadata(subscribed, group.SubscriptionMetadata))
            {
                Apply(group, ConsumerGroupRecords.SubscriptionMetadata(group.GroupId, subscribed), records);
            }
        }
        Apply(group, ConsumerGroupRecords.GroupEpoch(group.GroupId, group.GroupEpoch + 1), records);
        GroupLog.MemberRemoved(_logger, group.GroupId, memberId, reason);
    }

    /// <summary>Kafka's removal order: current assignment, target assignment, then the member itself.</summary>
    private void RemoveConsumerMemberRecords(ConsumerGroup group, string memberId, List<CoordinatorRecord> records)
    {
        Apply(group, ConsumerGroupRecords.CurrentAssignmentTombstone(group.GroupId, memberId), records);
        Apply(group, ConsumerGroupRecords.TargetAssignmentTombstone(group.GroupId, memberId), records);
        Apply(group, ConsumerGroupRecords.MemberMetadataTombstone(group.GroupId, memberId), records);
        _timer.Cancel(ConsumerSessionKey(group.GroupId, memberId));
        _timer.Cancel(ConsumerRevocationKey(group.GroupId, memberId));
    }

    private static void Apply(ConsumerGroup group, CoordinatorRecord record, List<CoordinatorRecord> records)
    {
        group.Replay(record);
        records.Add(record);
    }

    /// <summary>Every topic some member subscribes to (by name or regex) that the image has, with its id and partition count.</summary>
    private static Dictionary<string, SubscribedTopic> SubscribedTopics(ConsumerGroup group, MetadataImage image)
    {
        var result = new Dictionary<string, SubscribedTopic>(StringComparer.Ordinal);
        foreach (var member in group.Members.Values)
        {
            foreach (var name in SubscribedTopicNames(member, image))
            {
                if (!result.ContainsKey(name) && image.Topics.TryGetValue(name, out var topic))
                {
                    result[name] = new SubscribedTopic(topic.TopicId, topic.Partitions.Length);
                }
            }
        }
        return result;
    }

    private static IEnumerable<string> SubscribedTopicNames(ConsumerGroupMember member, MetadataImage image)
    {
        foreach (var name in member.SubscribedTopicNames)
        {
            yield return name;
        }
        if (member.SubscribedTopicRegex is { } pattern)
        {
            var regex = new Regex(pattern, RegexOptions.None, TimeSpan.FromMilliseconds(100));
            foreach (var topic in image.Topics.Values)
            {
                // Internal topics are never matched by a pattern subscription (as in Kafka).
                if (!topic.IsInternal && regex.IsMatch(topic.Name))
                {
                    yield return topic.Name;
                }
            }
        }
    }

    private static HashSet<Uuid> SubscribedTopicIds(ConsumerGroupMember member, MetadataImage image) =>
        [.. SubscribedTopicNames(member, image).Select(n => image.Topics.TryGetValue(n, out var t) ? t.TopicId : Uuid.Zero).Where(id => !id.IsZero)];

    private static bool SameSubscriptionMetadata(Dictionary<string, SubscribedTopic> now, IReadOnlyDictionary<string, SubscribedTopic> before) =>
        now.Count == before.Count && now.All(t => before.TryGetValue(t.Key, out var b) && b == t.Value);

    /// <summary>
    /// Kafka's <c>TargetAssignmentBuilder</c>: runs the group's assignor over every member and writes the
    /// changed member targets, then the new assignment epoch (= group epoch).
    /// </summary>
    private static void UpdateTargetAssignment(ConsumerGroup group, MetadataImage image, ConsumerGroupConfig config, List<CoordinatorRecord> records)
    {
        var assignor = ConsumerGroupAssignors.ByName(PreferredAssignor(group, config))
            ?? throw new GroupException(ErrorCode.UnsupportedAssignor, "No server-side assignor is configured.");
        var specs = group.Members.Values.ToDictionary(
            m => m.MemberId,
            m => new AssignmentMemberSpec(SubscribedTopicIds(m, image), group.TargetOf(m.MemberId), m.RackId),
            StringComparer.Ordinal);
        var describer = new ImageTopicDescriber(group.SubscriptionMetadata);
        foreach (var (memberId, target) in assignor.Assign(specs, describer).OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            if (!group.TargetAssignment.TryGetValue(memberId, out var before) || !before.Equals(target))
            {
                Apply(group, ConsumerGroupRecords.TargetAssignment(group.GroupId, memberId, target), records);
            }
        }
        Apply(group, ConsumerGroupRecords.TargetAssignmentEpoch(group.GroupId, group.GroupEpoch), records);
    }

    /// <summary>Kafka's choice: the assignor most members ask for, else the first configured one.</summary>
    private static string PreferredAssignor(ConsumerGroup group, ConsumerGroupConfig config) =>
        group.Members.Values.Where(m => m.ServerAssignor is not null && config.Assignors.Contains(m.ServerAssignor))
            .GroupBy(m => m.ServerAssignor!).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => g.Key).FirstOrDefault()
        ?? config.Assignors.FirstOrDefault() ?? UniformAssignor.AssignorName;

    private sealed class ImageTopicDescriber(IReadOnlyDictionary<string, SubscribedTopic> topics) : ISubscribedTopicDescriber
    {
        private readonly Dictionary<Uuid, int> _byId = topics.Values.ToDictionary(t => t.TopicId, t => t.PartitionCount);

        public int PartitionCount(Uuid topicId) => _byId.TryGetValue(topicId, out var count) ? count : -1;
    }

    /// <summary>
    /// Session timeout for every member; a revocation deadline (the member's rebalance timeout) while it must give
    /// partitions up. Either expiring removes the member (Kafka fences it) and moves its partitions.
    /// </summary>
    private void ScheduleConsumerTimeouts(ConsumerGroup group, ConsumerGroupMember member, int sessionTimeoutMs)
    {
        var groupId = group.GroupId;
        var memberId = member.MemberId;
        _timer.Schedule(ConsumerSessionKey(groupId, memberId), TimeSpan.FromMilliseconds(sessionTimeoutMs),
            () => OnTimer(ConsumerSessionKey(groupId, memberId), () => ExpireConsumerMember(groupId, memberId, "session timeout expired")));
        if (member.State == MemberState.UnrevokedPartitions)
        {
            var key = ConsumerRevocationKey(groupId, memberId);
            if (!_timer.IsScheduled(key))
            {
                _timer.Schedule(key, TimeSpan.FromMilliseconds(Math.Max(0, member.RebalanceTimeoutMs)),
                    () => OnTimer(key, () => ExpireConsumerMember(groupId, memberId, "did not revoke its partitions within the rebalance timeout")));
            }
        }
        else
        {
            _timer.Cancel(ConsumerRevocationKey(groupId, memberId));
        }
    }

    private void ExpireConsumerMember(string groupId, string memberId, string reason)
    {
        if (_groups.GetValueOrDefault(groupId) is not ConsumerGroup group || group.MemberOrNull(memberId) is null)
        {
            return;
        }
        var records = new List<CoordinatorRecord>();
        RemoveConsumerMember(group, memberId, _image?.Invoke(), records, reason);
        _ = AppendAndWait(records, replay: false);
    }

    /// <summary>The current metadata image for work that starts on a timer (expiry); set by the coordinator.</summary>
    private Func<MetadataImage>? _image;

    /// <summary>Gives the shard the metadata image for timer-driven work.</summary>
    public void UseMetadata(Func<MetadataImage> image) => _image = image;

    /// <summary>Applies a KIP-848 record read back while loading; false when the record is not one.</summary>
    private bool ReplayConsumerGroupRecord(CoordinatorRecord record)
    {
        if (ConsumerGroupRecords.GroupIdOf(record.Key) is not { } groupId)
        {
            return false;
        }
        if (!_groups.TryGetValue(groupId, out var group) || group is not ConsumerGroup consumer)
        {
            if (record.Value is null)
            {
                return true;
            }
            consumer = new ConsumerGroup(groupId);
            _groups[groupId] = consumer;
        }
        if (!consumer.Replay(record))
        {
            _groups.Remove(groupId);
        }
        return true;
    }

    /// <summary>The group.consumer.* configs with the group's own GROUP configs (KIP-848) over them.</summary>
    private ConsumerGroupConfig ConsumerConfigOf(string groupId, MetadataImage? image) =>
        image is null ? _config.Consumer : _config.Consumer.WithGroupConfigs(image.ConfigsOf(new ConfigResource(ConfigResourceType.Group, groupId)));

    /// <summary>After loading, every consumer-group member gets a fresh session timeout.</summary>
    private void ScheduleConsumerSessionsAfterLoad(MetadataImage? image)
    {
        foreach (var group in _groups.Values.OfType<ConsumerGroup>())
        {
            foreach (var member in group.Members.Values)
            {
                ScheduleConsumerTimeouts(group, member, ConsumerConfigOf(group.GroupId, image).SessionTimeoutMs);
            }
        }
    }

    private void CancelConsumerTimers(ConsumerGroup group)
    {
        foreach (var memberId in group.Members.Keys)
        {
            _timer.Cancel(ConsumerSessionKey(group.GroupId, memberId));
            _timer.Cancel(ConsumerRevocationKey(group.GroupId, memberId));
        }
    }

    /// <summary>
    /// ConsumerGroupDescribe for the ids this shard owns: a classic group or an unknown id is GROUP_ID_NOT_FOUND.
    /// Topic names come from the image (a deleted topic's partitions are left out).
    /// </summary>
    public List<ConsumerGroupDescribeResponse.DescribedGroup> DescribeConsumerGroups(IReadOnlyList<string> groupIds, MetadataImage image)
    {
        var result = new List<ConsumerGroupDescribeResponse.DescribedGroup>();
        lock (SyncRoot)
        {
            foreach (var groupId in groupIds)
            {
                if (Availability is var unavailable && unavailable != ErrorCode.None)
                {
                    result.Add(new() { GroupId = groupId, ErrorCode = (short)unavailable, ErrorMessage = ErrorCodes.DefaultMessage(unavailable) });
                    continue;
                }
                if (!_groups.TryGetValue(groupId, out var found) || found is not ConsumerGroup group || group.IsDead)
                {
                    result.Add(new()
                    {
                        GroupId = groupId,
                        ErrorCode = (short)ErrorCode.GroupIdNotFound,
                        ErrorMessage = found is null ? $"Group {groupId} not found." : $"Group {groupId} is not a consumer group.",
                    });
                    continue;
                }
                result.Add(new()
                {
                    GroupId = groupId,
                    GroupState = group.StateName,
                    GroupEpoch = group.GroupEpoch,
                    AssignmentEpoch = group.AssignmentEpoch,
                    AssignorName = PreferredAssignor(group, _config.Consumer),
                    Members = [.. group.Members.Values.OrderBy(m => m.MemberId, StringComparer.Ordinal).Select(m => new ConsumerGroupDescribeResponse.Member
                    {
                        MemberId = m.MemberId,
                        InstanceId = m.InstanceId,
                        RackId = m.RackId,
                        MemberEpoch = m.MemberEpoch,
                        ClientId = m.ClientId,
                        ClientHost = m.ClientHost,
                        SubscribedTopicNames = [.. m.SubscribedTopicNames],
                        SubscribedTopicRegex = m.SubscribedTopicRegex,
                        Assignment = Described(m.AssignedPartitions, image),
                        TargetAssignment = Described(group.TargetOf(m.MemberId), image),
                    })],
                });
            }
        }
        return result;
    }

    private static ConsumerGroupDescribeResponse.Assignment Described(Assignment assignment, MetadataImage image) => new()
    {
        TopicPartitions = [.. assignment.Sorted()
            .Where(t => image.TopicById(t.Key) is not null)
            .Select(t => new ConsumerGroupDescribeResponse.TopicPartitions { TopicId = t.Key, TopicName = image.TopicById(t.Key)!.Name, Partitions = [.. t.Value] })],
    };
}
