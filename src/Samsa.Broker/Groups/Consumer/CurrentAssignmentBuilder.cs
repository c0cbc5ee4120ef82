namespace Samsa.Broker.Groups.Consumer;

/// <summary>
/// Moves one member from its current assignment towards the group's target assignment (KIP-848's member
/// reconciliation, Kafka's <c>CurrentAssignmentBuilder</c>).
///
/// The rules keep one invariant: a partition is owned (assigned or pending revocation) by at most one member at
/// any time. So a member first gives up what it must (state UNREVOKED_PARTITIONS, epoch unchanged, the client is
/// told its smaller assignment and acknowledges by no longer reporting the partitions as owned); only then does it
/// move to the target epoch and receive new partitions, and only those nobody else still owns (state
/// UNRELEASED_PARTITIONS while it waits for the rest). Tests: CurrentAssignmentBuilderTests.
/// </summary>
public static class CurrentAssignmentBuilder
{
    /// <summary>
    /// The member's next state.
    /// </summary>
    /// <param name="member">The member as the coordinator knows it.</param>
    /// <param name="targetEpoch">The group's assignment epoch.</param>
    /// <param name="target">The member's target assignment at that epoch.</param>
    /// <param name="subscribedTopicIds">The topics the member subscribes to now; assigned partitions of others are revoked.</param>
    /// <param name="currentPartitionEpoch">Epoch of the member currently owning a partition, or -1 when it is free.</param>
    /// <param name="ownedPartitions">What the member reported owning in this heartbeat; null when it did not say.</param>
    public static ConsumerGroupMember Reconcile(
        ConsumerGroupMember member,
        int targetEpoch,
        Assignment target,
        IReadOnlySet<Samsa.Protocol.Uuid> subscribedTopicIds,
        Func<TopicIdPartition, int> currentPartitionEpoch,
        Assignment? ownedPartitions)
    {
        switch (member.State)
        {
            case MemberState.Stable:
                return member.MemberEpoch != targetEpoch
                    ? ComputeNextAssignment(member, member.MemberEpoch, targetEpoch, target, subscribedTopicIds, currentPartitionEpoch, ownedPartitions)
                    : member;
            case MemberState.UnrevokedPartitions:
                // Waits until the client stops reporting the revoked partitions as owned.
                return OwnsAny(ownedPartitions, member.PartitionsPendingRevocation)
                    ? member
                    : ComputeNextAssignment(member, member.MemberEpoch, targetEpoch, target, subscribedTopicIds, currentPartitionEpoch, ownedPartitions);
            case MemberState.UnreleasedPartitions:
                return ComputeNextAssignment(member, member.MemberEpoch, targetEpoch, target, subscribedTopicIds, currentPartitionEpoch, ownedPartitions);
            default:
                // A state from a newer broker: the member must drop everything and rejoin.
                if (ownedPartitions is null || !ownedPartitions.IsEmpty)
                {
                    throw new GroupException(Protocol.ErrorCode.FencedMemberEpoch,
                        "The consumer group member is in an unknown state. The member must abandon all its partitions and rejoin.");
                }
                return ComputeNextAssignment(member, targetEpoch, targetEpoch, target, subscribedTopicIds, currentPartitionEpoch, ownedPartitions);
        }
    }

    private static ConsumerGroupMember ComputeNextAssignment(
        ConsumerGroupMember member,
        int memberEpoch,
        int targetEpoch,
        Assignment target,
        IReadOnlySet<Samsa.Protocol.Uuid> subscribedTopicIds,
        Func<TopicIdPartition, int> currentPartitionEpoch,
        Assignment? ownedPartitions)
    {
        var current = member.AssignedPartitions;
        // A topic the member no longer subscribes to is revoked even if the target (computed earlier) still lists it.
        var effectiveTarget = Assignment.Of(target.All().Where(p => subscribedTopicIds.Contains(p.TopicId)));

        var kept = current.Intersect(effectiveTarget);
        var pendingRevocation = current.Except(kept);
        var pendingAssignment = new List<TopicIdPartition>();
        var hasUnreleased = false;
        foreach (var p in effectiveTarget.All())
        {
            if (kept.Contains(p.TopicId, p.Partition))
            {
                continue;
            }
            // Owned by another member (its own pending revocation does not count: it is the one owning it).
            if (currentPartitionEpoch(p) != -1 && !member.PartitionsPendingRevocation.Contains(p.TopicId, p.Partition))
            {
                hasUnreleased = true;
                continue;
            }
            pendingAssignment.Add(p);
        }

        if (!pendingRevocation.IsEmpty && OwnsAny(ownedPartitions, pendingRevocation))
        {
            // Revocation first: same epoch, smaller assignment.
            return member.WithEpoch(memberEpoch) with
            {
                State = MemberState.UnrevokedPartitions,
                AssignedPartitions = kept,
                PartitionsPendingRevocation = pendingRevocation,
            };
        }
        var assigned = pendingAssignment.Count == 0 ? kept : kept.Union(Assignment.Of(pendingAssignment));
        return member.WithEpoch(targetEpoch) with
        {
            State = hasUnreleased ? MemberState.UnreleasedPartitions : MemberState.Stable,
            AssignedPartitions = assigned,
            PartitionsPendingRevocation = Assignment.Empty,
        };
    }

    /// <summary>Whether the client still owns any of <paramref name="partitions"/>; a client that did not say is assumed to.</summary>
    private static bool OwnsAny(Assignment? ownedPartitions, Assignment partitions) =>
        ownedPartitions is null || ownedPartitions.Overlaps(partitions);
}
