using Samsa.Protocol;
using Samsa.Protocol.GroupCoordinatorRecords;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Groups;

/// <summary>Kafka's <c>ClassicGroupState</c>, with the names ListGroups and DescribeGroups report.</summary>
public enum ClassicGroupState
{
    /// <summary>No members; offsets may remain. Next: PreparingRebalance (a join) or Dead (deleted, expired).</summary>
    Empty,

    /// <summary>Waiting for members to (re)join. Next: CompletingRebalance, Empty, Dead.</summary>
    PreparingRebalance,

    /// <summary>Join phase done; waiting for the leader's SyncGroup. Next: Stable, PreparingRebalance, Dead.</summary>
    CompletingRebalance,

    /// <summary>Assignment handed out; heartbeats keep members alive. Next: PreparingRebalance, Dead.</summary>
    Stable,

    /// <summary>Deleted or unloaded; no transition leaves it.</summary>
    Dead,
}

/// <summary>
/// A group on the classic protocol (Kafka's <c>ClassicGroup</c>): members, the generation, the chosen protocol,
/// the leader, members not yet given an id (KIP-394 pending members) and members that have yet to SyncGroup.
/// The rules that move it between states live in <see cref="GroupCoordinatorShard"/>; this class keeps the
/// bookkeeping consistent. A group created by an OffsetCommit with no membership (a "simple" group) is a
/// classic group with no protocol type, forever Empty.
/// </summary>
public sealed class ClassicGroup : Group
{
    private readonly Dictionary<string, ClassicGroupMember> _members = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _staticMembers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _supportedProtocols = new(StringComparer.Ordinal);
    private readonly HashSet<string> _pendingJoinMembers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _pendingSyncMembers = new(StringComparer.Ordinal);

    public ClassicGroup(string groupId, long nowMs) : base(groupId)
    {
        CurrentStateTimestampMs = nowMs;
    }

    public override GroupType Type => GroupType.Classic;

    public ClassicGroupState State { get; private set; } = ClassicGroupState.Empty;

    public ClassicGroupState PreviousState { get; private set; } = ClassicGroupState.Empty;

    /// <summary>When the group entered its current state (offset expiry of an empty group counts from here).</summary>
    public long CurrentStateTimestampMs { get; private set; }

    public int GenerationId { get; set; }

    /// <summary>The members' protocol type, null for a group that never had members.</summary>
    public string? ProtocolTypeOrNull { get; set; }

    /// <summary>The protocol chosen for the current generation, null when the group is empty.</summary>
    public string? ProtocolName { get; set; }

    public string? LeaderId { get; private set; }

    /// <summary>Set when a member joins during the initial (delayed) rebalance, which then waits a little longer.</summary>
    public bool NewMemberAdded { get; set; }

    /// <summary>Topics the members subscribe to, when the protocol type is "consumer" and every subscription parsed.</summary>
    public IReadOnlySet<string>? SubscribedTopics { get; private set; }

    public override string StateName => State.ToString();

    public override string ProtocolType => ProtocolTypeOrNull ?? "";

    public override bool IsEmpty => State == ClassicGroupState.Empty;

    public override bool IsDead => State == ClassicGroupState.Dead;

    public IEnumerable<ClassicGroupMember> Members => _members.Values;

    public int MemberCount => _members.Count;

    public IReadOnlySet<string> PendingJoinMembers => _pendingJoinMembers;

    public IReadOnlySet<string> PendingSyncMembers => _pendingSyncMembers;

    public bool HasMember(string memberId) => _members.ContainsKey(memberId);

    public ClassicGroupMember Member(string memberId) => _members[memberId];

    public bool IsLeader(string memberId) => LeaderId == memberId;

    public bool IsPendingMember(string memberId) => _pendingJoinMembers.Contains(memberId);

    public bool HasStaticMember(string? groupInstanceId) => groupInstanceId is not null && _staticMembers.ContainsKey(groupInstanceId);

    public string? StaticMemberId(string groupInstanceId) => _staticMembers.GetValueOrDefault(groupInstanceId);

    public int AwaitingJoinCount => _members.Values.Count(m => m.IsAwaitingJoin);

    /// <summary>Largest rebalance timeout among members: how long the join phase may wait.</summary>
    public int RebalanceTimeoutMs => _members.Count == 0 ? 0 : _members.Values.Max(m => m.RebalanceTimeoutMs);

    /// <summary>Every member has sent its JoinGroup and no member is still fetching its id.</summary>
    public bool HasAllMembersJoined => _members.Count == AwaitingJoinCount && _pendingJoinMembers.Count == 0;

    public bool CanRebalance => State is ClassicGroupState.Stable or ClassicGroupState.CompletingRebalance or ClassicGroupState.Empty;

    public void TransitionTo(ClassicGroupState target, long nowMs)
    {
        var valid = target switch
        {
            ClassicGroupState.Empty => State is ClassicGroupState.PreparingRebalance,
            ClassicGroupState.PreparingRebalance => State is ClassicGroupState.Stable or ClassicGroupState.CompletingRebalance or ClassicGroupState.Empty,
            ClassicGroupState.CompletingRebalance => State is ClassicGroupState.PreparingRebalance,
            ClassicGroupState.Stable => State is ClassicGroupState.CompletingRebalance,
            _ => true,
        };
        if (!valid)
        {
            throw new InvalidOperationException($"Group {GroupId} should be in a state before {target}, not {State}");
        }
        PreviousState = State;
        State = target;
        CurrentStateTimestampMs = nowMs;
    }

    /// <summary>Loaded groups start in the state their record implies, without the usual transition checks.</summary>
    internal void LoadState(ClassicGroupState state, long timestampMs)
    {
        PreviousState = State;
        State = state;
        CurrentStateTimestampMs = timestampMs;
    }

    public void AddPendingMember(string memberId) => _pendingJoinMembers.Add(memberId);

    public bool RemovePendingMember(string memberId) => _pendingJoinMembers.Remove(memberId);

    public void AddPendingSyncMember(string memberId) => _pendingSyncMembers.Add(memberId);

    public bool RemovePendingSyncMember(string memberId) => _pendingSyncMembers.Remove(memberId);

    public void ClearPendingSyncMembers() => _pendingSyncMembers.Clear();

    /// <summary>Adds a member; the first member of a generation becomes leader.</summary>
    public void Add(ClassicGroupMember member, TaskCompletionSource<JoinGroupResponse>? awaitingJoin)
    {
        if (_members.Count == 0)
        {
            ProtocolTypeOrNull = member.ProtocolType;
        }
        _members[member.MemberId] = member;
        foreach (var (name, _) in member.Protocols)
        {
            _supportedProtocols[name] = _supportedProtocols.GetValueOrDefault(name) + 1;
        }
        if (member.GroupInstanceId is { } instanceId)
        {
            _staticMembers[instanceId] = member.MemberId;
        }
        member.AwaitingJoin = awaitingJoin;
        _pendingJoinMembers.Remove(member.MemberId);
        LeaderId ??= member.MemberId;
    }

    /// <summary>Removes a member (or a pending one); a removed leader is replaced by any remaining member.</summary>
    public void Remove(string memberId)
    {
        _pendingJoinMembers.Remove(memberId);
        if (!_members.Remove(memberId, out var member))
        {
            return;
        }
        foreach (var (name, _) in member.Protocols)
        {
            DecrementSupport(name);
        }
        if (member.GroupInstanceId is { } instanceId && _staticMembers.GetValueOrDefault(instanceId) == memberId)
        {
            _staticMembers.Remove(instanceId);
        }
        _pendingSyncMembers.Remove(memberId);
        if (LeaderId == memberId)
        {
            LeaderId = _members.Count == 0 ? null : _members.Keys.First();
        }
    }

    private void DecrementSupport(string protocol)
    {
        var left = _supportedProtocols.GetValueOrDefault(protocol) - 1;
        if (left <= 0)
        {
            _supportedProtocols.Remove(protocol);
        }
        else
        {
            _supportedProtocols[protocol] = left;
        }
    }

    /// <summary>Replaces a member's protocols and timeouts and parks its new JoinGroup.</summary>
    public void UpdateMember(ClassicGroupMember member, IReadOnlyList<(string Name, byte[] Metadata)> protocols, int rebalanceTimeoutMs, int sessionTimeoutMs,
        TaskCompletionSource<JoinGroupResponse>? awaitingJoin)
    {
        foreach (var (name, _) in member.Protocols)
        {
            DecrementSupport(name);
        }
        member.Protocols = protocols;
        foreach (var (name, _) in protocols)
        {
            _supportedProtocols[name] = _supportedProtocols.GetValueOrDefault(name) + 1;
        }
        member.RebalanceTimeoutMs = rebalanceTimeoutMs;
        member.SessionTimeoutMs = sessionTimeoutMs;
        if (awaitingJoin is not null && member.AwaitingJoin is { } earlier && !ReferenceEquals(earlier, awaitingJoin))
        {
            // The client gave up on the earlier JoinGroup and sent another; the earlier one is answered so nothing leaks.
            earlier.TrySetResult(ClassicGroupResponses.JoinError(member.MemberId, ErrorCode.RebalanceInProgress));
        }
        member.AwaitingJoin = awaitingJoin ?? member.AwaitingJoin;
    }

    /// <summary>
    /// Gives a static member's slot a new member id (a restarted static member): the old id's waiting requests
    /// are answered FENCED_INSTANCE_ID, and assignment, protocols and leadership move to the new id.
    /// </summary>
    public ClassicGroupMember ReplaceStaticMember(string groupInstanceId, string oldMemberId, string newMemberId)
    {
        if (!_members.Remove(oldMemberId, out var member))
        {
            throw new InvalidOperationException($"Static member {groupInstanceId} has no member {oldMemberId}");
        }
        member.AwaitingJoin?.TrySetResult(ClassicGroupResponses.JoinError(oldMemberId, ErrorCode.FencedInstanceId));
        member.AwaitingJoin = null;
        member.AwaitingSync?.TrySetResult(ClassicGroupResponses.SyncError(ErrorCode.FencedInstanceId));
        member.AwaitingSync = null;
        member.MemberId = newMemberId;
        _members[newMemberId] = member;
        _staticMembers[groupInstanceId] = newMemberId;
        if (LeaderId == oldMemberId)
        {
            LeaderId = newMemberId;
        }
        if (_pendingSyncMembers.Remove(oldMemberId))
        {
            _pendingSyncMembers.Add(newMemberId);
        }
        return member;
    }

    /// <summary>
    /// Kafka's <c>validateMember</c>: a static member must present the member id currently bound to its instance id
    /// (FENCED_INSTANCE_ID otherwise, UNKNOWN_MEMBER_ID if the instance id is unknown), a dynamic one a known id.
    /// </summary>
    public ErrorCode ValidateMember(string memberId, string? groupInstanceId)
    {
        if (groupInstanceId is not null)
        {
            var current = StaticMemberId(groupInstanceId);
            if (current is null)
            {
                return ErrorCode.UnknownMemberId;
            }
            return current == memberId ? ErrorCode.None : ErrorCode.FencedInstanceId;
        }
        return HasMember(memberId) ? ErrorCode.None : ErrorCode.UnknownMemberId;
    }

    /// <summary>
    /// Kafka's <c>supportsProtocols</c>: the first member sets the protocol type (and must bring one and at least one
    /// protocol); later members must share the type and at least one protocol every member supports.
    /// </summary>
    public bool SupportsProtocols(string protocolType, IReadOnlyList<(string Name, byte[] Metadata)> protocols)
    {
        if (State == ClassicGroupState.Empty)
        {
            return protocolType.Length > 0 && protocols.Count > 0;
        }
        return ProtocolTypeOrNull == protocolType && protocols.Any(p => _supportedProtocols.GetValueOrDefault(p.Name) == _members.Count);
    }

    /// <summary>
    /// The protocol for the next generation: among the protocols every member supports, each member votes for its
    /// most preferred, and the most votes win (ties go to the candidate the earliest-joined member prefers).
    /// </summary>
    public string SelectProtocol()
    {
        if (_members.Count == 0)
        {
            throw new InvalidOperationException($"Cannot select a protocol for empty group {GroupId}");
        }
        var candidates = _supportedProtocols.Where(p => p.Value == _members.Count).Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
        var votes = new Dictionary<string, int>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var member in _members.Values)
        {
            var vote = member.Vote(candidates);
            if (votes.TryAdd(vote, 1))
            {
                order.Add(vote);
            }
            else
            {
                votes[vote]++;
            }
        }
        var best = order[0];
        foreach (var name in order)
        {
            if (votes[name] > votes[best])
            {
                best = name;
            }
        }
        return best;
    }

    /// <summary>Moves to the next generation: a protocol is chosen when members remain (CompletingRebalance), else Empty.</summary>
    public void InitNextGeneration(long nowMs)
    {
        GenerationId++;
        if (_members.Count > 0)
        {
            ProtocolName = SelectProtocol();
            SubscribedTopics = ComputeSubscribedTopics();
            TransitionTo(ClassicGroupState.CompletingRebalance, nowMs);
        }
        else
        {
            ProtocolName = null;
            SubscribedTopics = null;
            TransitionTo(ClassicGroupState.Empty, nowMs);
        }
        _pendingSyncMembers.Clear();
    }

    /// <summary>
    /// The leader wants a previous leader's replacement when the current one did not rejoin: any member that did
    /// becomes leader. False when nobody rejoined.
    /// </summary>
    public bool MaybeElectNewJoinedLeader()
    {
        if (LeaderId is { } leader && _members.TryGetValue(leader, out var current) && current.IsAwaitingJoin)
        {
            return true;
        }
        var joined = _members.Values.FirstOrDefault(m => m.IsAwaitingJoin);
        if (joined is null)
        {
            return false;
        }
        LeaderId = joined.MemberId;
        return true;
    }

    /// <summary>Members who have not sent their JoinGroup in this rebalance.</summary>
    public IReadOnlyList<ClassicGroupMember> NotYetRejoinedMembers() => [.. _members.Values.Where(m => !m.IsAwaitingJoin)];

    /// <summary>The member list the leader gets in its JoinGroup response: ids and metadata for the chosen protocol.</summary>
    public List<JoinGroupResponse.JoinGroupResponseMember> CurrentMembersForLeader() =>
        [.. _members.Values.Select(m => new JoinGroupResponse.JoinGroupResponseMember
        {
            MemberId = m.MemberId,
            GroupInstanceId = m.GroupInstanceId,
            Metadata = m.MetadataFor(ProtocolName!),
        })];

    /// <summary>The record of this group with <paramref name="assignment"/> (member id to assignment bytes).</summary>
    public GroupMetadataValue ToRecord(IReadOnlyDictionary<string, byte[]> assignment) => new()
    {
        protocolType = ProtocolType,
        generation = GenerationId,
        protocol = ProtocolName,
        leader = LeaderId,
        currentStateTimestamp = CurrentStateTimestampMs,
        members = [.. _members.Values.Select(m => new GroupMetadataValue.MemberMetadata
        {
            memberId = m.MemberId,
            groupInstanceId = m.GroupInstanceId,
            clientId = m.ClientId,
            clientHost = m.ClientHost,
            rebalanceTimeout = m.RebalanceTimeoutMs,
            sessionTimeout = m.SessionTimeoutMs,
            subscription = ProtocolName is null ? [] : m.MetadataFor(ProtocolName),
            assignment = assignment.GetValueOrDefault(m.MemberId) ?? [],
        })],
    };

    /// <summary>Every member's current assignment (what the record of a stable group holds).</summary>
    public Dictionary<string, byte[]> CurrentAssignment() => _members.Values.ToDictionary(m => m.MemberId, m => m.Assignment, StringComparer.Ordinal);

    /// <summary>Rebuilds a group from its record (load on start or leadership change).</summary>
    public static ClassicGroup FromRecord(string groupId, GroupMetadataValue value, long nowMs)
    {
        var group = new ClassicGroup(groupId, nowMs)
        {
            GenerationId = value.generation,
            ProtocolTypeOrNull = value.protocolType.Length == 0 && value.members.Count == 0 ? null : value.protocolType,
            ProtocolName = value.protocol,
        };
        foreach (var m in value.members)
        {
            var protocols = value.protocol is null ? Array.Empty<(string, byte[])>() : [(value.protocol, m.subscription)];
            var member = new ClassicGroupMember(m.memberId, m.groupInstanceId, m.clientId, m.clientHost,
                m.rebalanceTimeout == -1 ? m.sessionTimeout : m.rebalanceTimeout, m.sessionTimeout, value.protocolType, protocols)
            {
                Assignment = m.assignment,
            };
            group.Add(member, null);
        }
        if (value.leader is { } leader && group.HasMember(leader))
        {
            group.LeaderId = leader;
        }
        group.SubscribedTopics = group.ComputeSubscribedTopics();
        group.LoadState(value.members.Count == 0 ? ClassicGroupState.Empty : ClassicGroupState.Stable,
            value.currentStateTimestamp >= 0 ? value.currentStateTimestamp : nowMs);
        return group;
    }

    /// <summary>
    /// The union of the members' subscribed topics for the "consumer" protocol type, read from each member's
    /// ConsumerProtocolSubscription; null when the type is another or a subscription does not parse.
    /// </summary>
    private HashSet<string>? ComputeSubscribedTopics()
    {
        if (ProtocolTypeOrNull != "consumer" || ProtocolName is null)
        {
            return null;
        }
        var topics = new HashSet<string>(StringComparer.Ordinal);
        foreach (var member in _members.Values)
        {
            if (ConsumerProtocol.SubscribedTopics(member.MetadataFor(ProtocolName)) is not { } subscribed)
            {
                return null;
            }
            topics.UnionWith(subscribed);
        }
        return topics;
    }

    public override ErrorCode ValidateOffsetCommit(string memberId, string? groupInstanceId, int generationIdOrMemberEpoch, bool isTransactional, short apiVersion)
    {
        if (IsDead)
        {
            return ErrorCode.CoordinatorNotAvailable;
        }
        if (generationIdOrMemberEpoch < 0 && IsEmpty)
        {
            // A simple consumer (or the admin client) may commit for a group with no live members.
            return ErrorCode.None;
        }
        if (generationIdOrMemberEpoch >= 0 || memberId.Length > 0 || groupInstanceId is not null)
        {
            var error = ValidateMember(memberId, groupInstanceId);
            if (error != ErrorCode.None)
            {
                return error;
            }
            if (generationIdOrMemberEpoch != GenerationId)
            {
                return ErrorCode.IllegalGeneration;
            }
        }
        else if (!isTransactional && !IsEmpty)
        {
            // Without member id and generation (v0), commits are only accepted while nobody is a member.
            return ErrorCode.UnknownMemberId;
        }
        if (!isTransactional && State == ClassicGroupState.CompletingRebalance)
        {
            // The member knows the new generation from its JoinGroup but has no assignment yet.
            return ErrorCode.RebalanceInProgress;
        }
        return ErrorCode.None;
    }

    public override ErrorCode ValidateOffsetFetch(string? memberId, int memberEpoch) =>
        IsDead ? ErrorCode.GroupIdNotFound : ErrorCode.None;

    public override ErrorCode ValidateOffsetDelete() => State switch
    {
        ClassicGroupState.Dead => ErrorCode.GroupIdNotFound,
        ClassicGroupState.PreparingRebalance or ClassicGroupState.CompletingRebalance or ClassicGroupState.Stable
            when ProtocolTypeOrNull != "consumer" => ErrorCode.NonEmptyGroup,
        _ => ErrorCode.None,
    };

    public override ErrorCode ValidateDeleteGroup() => State switch
    {
        ClassicGroupState.Dead => ErrorCode.GroupIdNotFound,
        ClassicGroupState.PreparingRebalance or ClassicGroupState.CompletingRebalance or ClassicGroupState.Stable => ErrorCode.NonEmptyGroup,
        _ => ErrorCode.None,
    };

    public override bool IsSubscribedToTopic(string topic) =>
        State != ClassicGroupState.Empty && (SubscribedTopics?.Contains(topic) ?? true);

    public override Func<OffsetAndMetadata, long>? OffsetExpirationBase()
    {
        if (ProtocolTypeOrNull is null)
        {
            // Offsets only (simple consumers): each offset ages from its own commit.
            return o => o.CommitTimestampMs;
        }
        if (State == ClassicGroupState.Empty)
        {
            // Nobody left: offsets age from the moment the group became empty.
            var since = CurrentStateTimestampMs;
            return _ => since;
        }
        if (ProtocolTypeOrNull == "consumer" && SubscribedTopics is not null && State == ClassicGroupState.Stable)
        {
            // Live consumers: offsets of topics nobody subscribes to any more age from their commit.
            return o => o.CommitTimestampMs;
        }
        return null;
    }

    public override void Close(ErrorCode error)
    {
        foreach (var member in _members.Values)
        {
            member.AwaitingJoin?.TrySetResult(ClassicGroupResponses.JoinError(member.MemberId, error));
            member.AwaitingJoin = null;
            member.AwaitingSync?.TrySetResult(ClassicGroupResponses.SyncError(error));
            member.AwaitingSync = null;
        }
        if (State != ClassicGroupState.Dead)
        {
            TransitionTo(ClassicGroupState.Dead, CurrentStateTimestampMs);
        }
    }
}

/// <summary>Error-only JoinGroup and SyncGroup responses, as Kafka builds them.</summary>
public static class ClassicGroupResponses
{
    public static JoinGroupResponse JoinError(string memberId, ErrorCode error) => new()
    {
        ErrorCode = (short)error,
        GenerationId = -1,
        MemberId = memberId,
        Leader = "",
        ProtocolName = null,
    };

    public static SyncGroupResponse SyncError(ErrorCode error) => new() { ErrorCode = (short)error, Assignment = [] };
}
