using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Metadata.Controller;

/// <summary>How a <see cref="PartitionChangeBuilder"/> picks a leader (Kafka's <c>PartitionChangeBuilder.Election</c>).</summary>
public enum PartitionElection
{
    /// <summary>Keep the partition online from the ISR; the current leader stays while it may.</summary>
    Online,

    /// <summary>The first replica if it is in the ISR and acceptable; else as <see cref="Online"/>.</summary>
    Preferred,

    /// <summary>As <see cref="Online"/>, but when no ISR member can lead, any acceptable replica may (data may be lost).</summary>
    Unclean,
}

/// <summary>
/// Turns a wanted partition state (ISR, replicas, reassignment lists, recovery state) into the one
/// PartitionChangeRecord that gets there, electing a leader on the way, or into nothing when nothing changes
/// (Kafka's <c>PartitionChangeBuilder</c>, with eligible leader replicas (KIP-966) off, as Samsa's metadata.version
/// has them).
/// </summary>
/// <remarks>
/// <para>The steps, in Kafka's order: a reassignment whose target replicas are all in the target ISR completes
/// (replicas become the target, the removed ones leave the ISR); a leader is elected (<see cref="Elect"/>); the
/// leader epoch is bumped when replicas are removed even if the leader stays, so followers that left cannot keep
/// fetching; the ISR is set if it differs (an empty ISR is never written: the partition keeps its last ISR so only
/// one of those replicas can lead it again cleanly); the replica lists and the recovery state are set if they
/// differ.</para>
/// <para>An unclean election sets the ISR to just the new leader and the recovery state to RECOVERING; the leader
/// clears it with an AlterPartition once its log is consistent again. Replaying the record bumps the partition epoch,
/// and the leader epoch when <c>Leader</c> is set (<see cref="MetadataDelta"/>).</para>
/// </remarks>
public sealed class PartitionChangeBuilder(PartitionImage partition, Uuid topicId, Func<int, bool> isAcceptableLeader)
{
    /// <summary>PartitionRecord's "no leader".</summary>
    public const int NoLeader = -1;

    /// <summary>PartitionChangeRecord's "leader unchanged".</summary>
    public const int NoLeaderChange = -2;

    /// <summary>PartitionChangeRecord's "recovery state unchanged".</summary>
    private const sbyte NoRecoveryStateChange = -1;

    private List<int> _targetIsr = [.. partition.Isr];
    private List<int> _targetReplicas = [.. partition.Replicas];
    private List<int> _targetAdding = [.. partition.AddingReplicas];
    private List<int> _targetRemoving = [.. partition.RemovingReplicas];
    private sbyte _targetRecoveryState = partition.LeaderRecoveryState;

    public PartitionElection Election { get; set; } = PartitionElection.Online;

    public PartitionChangeBuilder WithTargetIsr(IEnumerable<int> isr)
    {
        _targetIsr = [.. isr];
        return this;
    }

    public PartitionChangeBuilder WithTargetReplicas(IEnumerable<int> replicas)
    {
        _targetReplicas = [.. replicas];
        return this;
    }

    public PartitionChangeBuilder WithTargetAdding(IEnumerable<int> adding)
    {
        _targetAdding = [.. adding];
        return this;
    }

    public PartitionChangeBuilder WithTargetRemoving(IEnumerable<int> removing)
    {
        _targetRemoving = [.. removing];
        return this;
    }

    public PartitionChangeBuilder WithTargetRecoveryState(sbyte state)
    {
        _targetRecoveryState = state;
        return this;
    }

    public PartitionChangeBuilder WithElection(PartitionElection election)
    {
        Election = election;
        return this;
    }

    /// <summary>The record reaching the targets, or null when the partition would not change.</summary>
    public PartitionChangeRecord? Build()
    {
        var record = new PartitionChangeRecord { TopicId = topicId, PartitionId = partition.PartitionIndex };
        CompleteReassignmentIfNeeded();
        TryElection(record);
        if (record.Leader == NoLeaderChange && !_targetReplicas.ToHashSet().IsSupersetOf(partition.Replicas))
        {
            // Replicas leave: a new leader epoch fences them, even though the leader stays.
            record.Leader = partition.Leader;
        }
        if (record.Isr is null && _targetIsr.Count > 0 && !_targetIsr.SequenceEqual(partition.Isr))
        {
            record.Isr = _targetIsr;
        }
        if (_targetReplicas.Count > 0 && !_targetReplicas.SequenceEqual(partition.Replicas))
        {
            record.Replicas = _targetReplicas;
        }
        if (!_targetRemoving.SequenceEqual(partition.RemovingReplicas))
        {
            record.RemovingReplicas = _targetRemoving;
        }
        if (!_targetAdding.SequenceEqual(partition.AddingReplicas))
        {
            record.AddingReplicas = _targetAdding;
        }
        if (record.LeaderRecoveryState == NoRecoveryStateChange && _targetRecoveryState != partition.LeaderRecoveryState)
        {
            record.LeaderRecoveryState = _targetRecoveryState;
        }
        var noOp = record.Isr is null && record.Leader == NoLeaderChange && record.Replicas is null
            && record.RemovingReplicas is null && record.AddingReplicas is null && record.LeaderRecoveryState == NoRecoveryStateChange;
        return noOp ? null : record;
    }

    /// <summary>
    /// Kafka's <c>PartitionReassignmentReplicas.maybeCompleteReassignment</c>: once every replica the partition keeps
    /// is in the target ISR (and some replica outside the removing ones is), the removing replicas leave replicas and
    /// ISR and the lists clear.
    /// </summary>
    private void CompleteReassignmentIfNeeded()
    {
        if (_targetAdding.Count == 0 && _targetRemoving.Count == 0)
        {
            return;
        }
        var isr = _targetIsr;
        var replicas = _targetReplicas;
        if (_targetRemoving.Count > 0)
        {
            isr = [.. _targetIsr.Where(r => !_targetRemoving.Contains(r))];
            replicas = [.. _targetReplicas.Where(r => !_targetRemoving.Contains(r))];
            if (isr.Count == 0 || replicas.Count == 0)
            {
                return;
            }
        }
        if (!replicas.All(isr.Contains))
        {
            return;
        }
        _targetIsr = isr;
        _targetReplicas = replicas;
        _targetAdding = [];
        _targetRemoving = [];
    }

    private bool IsValidNewLeader(int replica) => _targetIsr.Contains(replica) && isAcceptableLeader(replica);

    /// <summary>The leader the election picks, and whether it was picked from outside the ISR.</summary>
    private (int Leader, bool Unclean) Elect()
    {
        if (Election == PartitionElection.Preferred)
        {
            if (_targetReplicas.Count > 0 && IsValidNewLeader(_targetReplicas[0]))
            {
                return (_targetReplicas[0], false);
            }
            if (IsValidNewLeader(partition.Leader))
            {
                return (partition.Leader, false);
            }
            return (_targetReplicas.Skip(1).FirstOrDefault(IsValidNewLeader, NoLeader), false);
        }
        if (IsValidNewLeader(partition.Leader))
        {
            return (partition.Leader, false);
        }
        var clean = _targetReplicas.FirstOrDefault(IsValidNewLeader, NoLeader);
        if (clean != NoLeader)
        {
            return (clean, false);
        }
        if (Election == PartitionElection.Unclean)
        {
            var unclean = _targetReplicas.FirstOrDefault(isAcceptableLeader, NoLeader);
            if (unclean != NoLeader)
            {
                return (unclean, true);
            }
        }
        return (NoLeader, false);
    }

    private void TryElection(PartitionChangeRecord record)
    {
        var (leader, unclean) = Elect();
        if (leader == partition.Leader)
        {
            return;
        }
        record.Leader = leader;
        if (unclean)
        {
            // The new leader was not in sync: it is the whole ISR now, and recovering (this can lose data).
            record.Isr = [leader];
            if (partition.LeaderRecoveryState != PartitionImage.Recovering)
            {
                record.LeaderRecoveryState = PartitionImage.Recovering;
            }
        }
    }
}
