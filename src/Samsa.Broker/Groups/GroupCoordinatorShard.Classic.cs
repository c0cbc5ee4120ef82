using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Groups;

/// <summary>A JoinGroup as the coordinator sees it: the request's fields plus who sent it.</summary>
public sealed record JoinGroupArgs(
    string GroupId,
    string MemberId,
    string? GroupInstanceId,
    string ClientId,
    string ClientHost,
    int SessionTimeoutMs,
    int RebalanceTimeoutMs,
    string ProtocolType,
    IReadOnlyList<(string Name, byte[] Metadata)> Protocols,
    string? Reason,
    short ApiVersion);

/// <summary>A SyncGroup as the coordinator sees it.</summary>
public sealed record SyncGroupArgs(
    string GroupId,
    int GenerationId,
    string MemberId,
    string? GroupInstanceId,
    string? ProtocolType,
    string? ProtocolName,
    IReadOnlyList<(string MemberId, byte[] Assignment)> Assignments);

/// <summary>
/// The classic rebalance protocol (Kafka's <c>GroupMetadataManager</c>, classic part): JoinGroup, SyncGroup,
/// Heartbeat and LeaveGroup move a <see cref="ClassicGroup"/> through Empty, PreparingRebalance,
/// CompletingRebalance and Stable.
/// </summary>
/// <remarks>
/// A rebalance: a join (new member, changed protocols, the leader rejoining) or a departure (leave, session
/// expiry) moves the group to PreparingRebalance; every member must rejoin within the rebalance timeout (the
/// largest member's <c>max.poll.interval.ms</c>), then the join phase completes: members that did not rejoin are
/// dropped, the generation goes up, a protocol is voted, and every JoinGroup is answered (the leader's with the
/// member list). In CompletingRebalance the leader's SyncGroup brings the assignment, which is written to the log
/// and handed to every member: Stable. The first rebalance of an empty group waits
/// <c>group.initial.rebalance.delay.ms</c> (extended while members keep arriving, up to the rebalance timeout).
/// </remarks>
public sealed partial class GroupCoordinatorShard
{
    private static string HeartbeatKey(string groupId, string memberId) => $"heartbeat-{groupId}-{memberId}";

    private static string JoinKey(string groupId) => $"join-{groupId}";

    private static string SyncKey(string groupId) => $"sync-{groupId}";

    /// <summary>Kafka's member id: client id (or group instance id for static members), a dash and a random UUID.</summary>
    private static string NewMemberId(string clientId, string? groupInstanceId) => $"{groupInstanceId ?? clientId}-{Guid.NewGuid()}";

    // ---- JoinGroup ----

    /// <summary>Handles a JoinGroup; the task completes when the member's join phase does (possibly much later).</summary>
    public Task<JoinGroupResponse> JoinGroup(JoinGroupArgs args)
    {
        var response = new TaskCompletionSource<JoinGroupResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (SyncRoot)
        {
            if (Availability is var unavailable && unavailable != ErrorCode.None)
            {
                return Task.FromResult(ClassicGroupResponses.JoinError(args.MemberId, unavailable));
            }
            var isUnknownMember = args.MemberId.Length == 0;
            var isNewGroup = !_groups.ContainsKey(args.GroupId);
            var (group, error) = ClassicGroupOrCreate(args.GroupId, createIfMissing: isUnknownMember);
            if (group is null)
            {
                // A classic member joining a KIP-848 group: refused until classic members of consumer groups exist.
                return Task.FromResult(ClassicGroupResponses.JoinError(args.MemberId,
                    error == ErrorCode.GroupIdNotFound ? ErrorCode.InconsistentGroupProtocol : error));
            }
            if (group.IsDead)
            {
                // Deleted under us; the client finds the coordinator again and rejoins.
                response.TrySetResult(ClassicGroupResponses.JoinError(args.MemberId, ErrorCode.CoordinatorNotAvailable));
            }
            else if (!group.SupportsProtocols(args.ProtocolType, args.Protocols))
            {
                response.TrySetResult(ClassicGroupResponses.JoinError(args.MemberId, ErrorCode.InconsistentGroupProtocol));
            }
            else if (!AcceptJoiningMember(group, args.MemberId))
            {
                response.TrySetResult(ClassicGroupResponses.JoinError(args.MemberId, ErrorCode.GroupMaxSizeReached));
            }
            else if (isUnknownMember)
            {
                JoinNewMember(group, args, response);
            }
            else
            {
                JoinExistingMember(group, args, response);
            }
            if (isNewGroup && group.MemberCount == 0 && group.PendingJoinMembers.Count == 0)
            {
                // A group created only to be refused is forgotten again.
                _groups.Remove(group.GroupId);
            }
        }
        return response.Task;
    }

    /// <summary>Kafka's <c>acceptJoiningMember</c>: group.max.size, counting waiting members while rebalancing.</summary>
    private bool AcceptJoiningMember(ClassicGroup group, string memberId) => group.State switch
    {
        ClassicGroupState.Empty or ClassicGroupState.Dead => true,
        ClassicGroupState.PreparingRebalance =>
            (group.HasMember(memberId) && group.Member(memberId).IsAwaitingJoin) || group.AwaitingJoinCount < _config.MaxSize,
        _ => group.HasMember(memberId) || group.MemberCount < _config.MaxSize,
    };

    private void JoinNewMember(ClassicGroup group, JoinGroupArgs args, TaskCompletionSource<JoinGroupResponse> response)
    {
        var newMemberId = NewMemberId(args.ClientId, args.GroupInstanceId);
        if (args.GroupInstanceId is { } instanceId)
        {
            JoinNewStaticMember(group, args, instanceId, newMemberId, response);
        }
        else if (args.ApiVersion >= 4)
        {
            // KIP-394: the member gets its id first and must come back with it, so a client that times out on
            // its first JoinGroup does not leave a ghost member behind. Until it rejoins it is a pending member,
            // expired after one session timeout.
            group.AddPendingMember(newMemberId);
            _timer.Schedule(HeartbeatKey(group.GroupId, newMemberId), TimeSpan.FromMilliseconds(args.SessionTimeoutMs),
                () => OnTimer("pending-member-expiry", () => ExpireHeartbeat(group.GroupId, newMemberId)));
            response.TrySetResult(ClassicGroupResponses.JoinError(newMemberId, ErrorCode.MemberIdRequired));
        }
        else
        {
            AddMemberAndRebalance(group, args, newMemberId, response);
        }
    }

    private void JoinNewStaticMember(ClassicGroup group, JoinGroupArgs args, string instanceId, string newMemberId, TaskCompletionSource<JoinGroupResponse> response)
    {
        if (group.StaticMemberId(instanceId) is not { } oldMemberId)
        {
            AddMemberAndRebalance(group, args, newMemberId, response);
            return;
        }
        // A known static member restarted: it takes over its old slot under a new member id; the old id is fenced.
        var member = group.ReplaceStaticMember(instanceId, oldMemberId, newMemberId);
        _timer.Cancel(HeartbeatKey(group.GroupId, oldMemberId));
        RescheduleHeartbeat(group, member);
        var oldProtocols = member.Protocols;
        var oldRebalanceTimeout = member.RebalanceTimeoutMs;
        var oldSessionTimeout = member.SessionTimeoutMs;
        var currentLeader = group.LeaderId;
        group.UpdateMember(member, args.Protocols, args.RebalanceTimeoutMs, args.SessionTimeoutMs, response);
        member.ClientId = args.ClientId;
        member.ClientHost = args.ClientHost;
        switch (group.State)
        {
            case ClassicGroupState.Stable when group.SelectProtocol() == group.ProtocolName:
                // Same protocol: no rebalance. The new id is stored and the member gets the current generation
                // back; its SyncGroup returns its old assignment.
                var generation = group.GenerationId;
                AppendThen([CoordinatorRecord.GroupMetadata(group.GroupId, group.ToRecord(group.CurrentAssignment()))], error =>
                {
                    if (member.AwaitingJoin is not { } waiting)
                    {
                        return;
                    }
                    member.AwaitingJoin = null;
                    if (error != ErrorCode.None)
                    {
                        // The store failed: the slot goes back to the old member id and the join is refused.
                        if (group.HasMember(newMemberId))
                        {
                            group.ReplaceStaticMember(instanceId, newMemberId, oldMemberId);
                            group.UpdateMember(member, oldProtocols, oldRebalanceTimeout, oldSessionTimeout, null);
                            _timer.Cancel(HeartbeatKey(group.GroupId, newMemberId));
                            RescheduleHeartbeat(group, member);
                        }
                        waiting.TrySetResult(ClassicGroupResponses.JoinError("", GroupWriteError(error)));
                        return;
                    }
                    var isLeader = group.IsLeader(newMemberId);
                    waiting.TrySetResult(new JoinGroupResponse
                    {
                        Members = isLeader ? group.CurrentMembersForLeader() : [],
                        MemberId = newMemberId,
                        GenerationId = generation,
                        ProtocolType = group.ProtocolTypeOrNull,
                        ProtocolName = group.ProtocolName,
                        Leader = currentLeader ?? "",
                        // KIP-814: the leader is told not to assign again, the assignment is unchanged.
                        SkipAssignment = isLeader,
                    });
                });
                break;
            case ClassicGroupState.Stable:
                MaybePrepareRebalanceOrCompleteJoin(group, $"static member {instanceId} rejoined with a change of protocol");
                break;
            case ClassicGroupState.CompletingRebalance:
                // The leader may already hold the old member id in its assignment: rebalance so the ids match.
                PrepareRebalance(group, $"updating metadata of static member {instanceId}");
                break;
            default:
                // PreparingRebalance: the member now waits with everyone else.
                MaybeCompleteJoinPhase(group);
                break;
        }
    }

    private void JoinExistingMember(ClassicGroup group, JoinGroupArgs args, TaskCompletionSource<JoinGroupResponse> response)
    {
        var memberId = args.MemberId;
        if (group.IsPendingMember(memberId))
        {
            // The second JoinGroup of KIP-394: the member now has its id and enters the group.
            if (args.GroupInstanceId is not null)
            {
                response.TrySetResult(ClassicGroupResponses.JoinError(memberId, ErrorCode.UnknownMemberId));
                return;
            }
            AddMemberAndRebalance(group, args, memberId, response);
            return;
        }
        var invalid = group.ValidateMember(memberId, args.GroupInstanceId);
        if (invalid != ErrorCode.None)
        {
            response.TrySetResult(ClassicGroupResponses.JoinError(memberId, invalid));
            return;
        }
        var member = group.Member(memberId);
        member.ClientId = args.ClientId;
        member.ClientHost = args.ClientHost;
        switch (group.State)
        {
            case ClassicGroupState.PreparingRebalance:
                UpdateMemberAndRebalance(group, member, args, response, $"member {memberId} rejoined during the rebalance");
                break;
            case ClassicGroupState.CompletingRebalance when member.Matches(args.Protocols):
                // A JoinGroup response got lost: the member gets the same answer again.
                response.TrySetResult(CurrentGenerationJoinResponse(group, memberId, includeMembers: group.IsLeader(memberId)));
                break;
            case ClassicGroupState.CompletingRebalance:
                UpdateMemberAndRebalance(group, member, args, response, $"member {memberId} changed its protocols while the group was completing a rebalance");
                break;
            case ClassicGroupState.Stable when group.IsLeader(memberId) || !member.Matches(args.Protocols):
                // The leader rejoining (new topics to assign, say) or changed metadata: rebalance.
                UpdateMemberAndRebalance(group, member, args, response, $"leader or member {memberId} with changed protocols rejoined");
                break;
            case ClassicGroupState.Stable:
                // A follower with nothing new: the current generation, so it can SyncGroup again.
                response.TrySetResult(CurrentGenerationJoinResponse(group, memberId, includeMembers: false));
                break;
            default:
                response.TrySetResult(ClassicGroupResponses.JoinError(memberId, ErrorCode.UnknownMemberId));
                break;
        }
    }

    private static JoinGroupResponse CurrentGenerationJoinResponse(ClassicGroup group, string memberId, bool includeMembers) => new()
    {
        Members = includeMembers ? group.CurrentMembersForLeader() : [],
        MemberId = memberId,
        GenerationId = group.GenerationId,
        ProtocolType = group.ProtocolTypeOrNull,
        ProtocolName = group.ProtocolName,
        Leader = group.LeaderId ?? "",
    };

    private void AddMemberAndRebalance(ClassicGroup group, JoinGroupArgs args, string memberId, TaskCompletionSource<JoinGroupResponse> response)
    {
        var member = new ClassicGroupMember(memberId, args.GroupInstanceId, args.ClientId, args.ClientHost,
            args.RebalanceTimeoutMs, args.SessionTimeoutMs, args.ProtocolType, args.Protocols)
        {
            IsNew = true,
        };
        if (group.State == ClassicGroupState.PreparingRebalance && group.PreviousState == ClassicGroupState.Empty)
        {
            // Joined during the initial delay: the delay may be extended once more.
            group.NewMemberAdded = true;
        }
        group.Add(member, response);
        // Sockets are muted while a JoinGroup waits, so a client that went away is only noticed by this timeout.
        _timer.Schedule(HeartbeatKey(group.GroupId, memberId), TimeSpan.FromMilliseconds(_config.NewMemberJoinTimeoutMs),
            () => OnTimer("new-member-expiry", () => ExpireHeartbeat(group.GroupId, memberId)));
        MaybePrepareRebalanceOrCompleteJoin(group, $"adding new member {memberId} with group instance id {args.GroupInstanceId ?? "null"}; client reason: {args.Reason ?? "not provided"}");
    }

    private void UpdateMemberAndRebalance(ClassicGroup group, ClassicGroupMember member, JoinGroupArgs args, TaskCompletionSource<JoinGroupResponse> response, string reason)
    {
        group.UpdateMember(member, args.Protocols, args.RebalanceTimeoutMs, args.SessionTimeoutMs, response);
        MaybePrepareRebalanceOrCompleteJoin(group, reason);
    }

    private void MaybePrepareRebalanceOrCompleteJoin(ClassicGroup group, string reason)
    {
        if (group.CanRebalance)
        {
            PrepareRebalance(group, reason);
        }
        else
        {
            MaybeCompleteJoinPhase(group);
        }
    }

    private void PrepareRebalance(ClassicGroup group, string reason)
    {
        if (group.State == ClassicGroupState.CompletingRebalance)
        {
            // Members waiting in SyncGroup must rejoin instead.
            ResetAndPropagateAssignmentWithError(group, ErrorCode.RebalanceInProgress);
        }
        _timer.Cancel(SyncKey(group.GroupId));
        var isInitialRebalance = group.State == ClassicGroupState.Empty;
        group.TransitionTo(ClassicGroupState.PreparingRebalance, NowMs);
        GroupLog.PreparingRebalance(_logger, group.GroupId, group.GenerationId, reason);
        if (isInitialRebalance)
        {
            var delayMs = _config.InitialRebalanceDelayMs;
            var remainingMs = Math.Max(group.RebalanceTimeoutMs - delayMs, 0);
            ScheduleInitialRebalance(group, delayMs, remainingMs);
        }
        else
        {
            MaybeCompleteJoinElseSchedule(group);
        }
    }

    private void ScheduleInitialRebalance(ClassicGroup group, int delayMs, int remainingMs) =>
        _timer.Schedule(JoinKey(group.GroupId), TimeSpan.FromMilliseconds(delayMs),
            () => OnTimer("initial-rebalance", () => TryCompleteInitialRebalanceElseSchedule(group, delayMs, remainingMs)));

    private void TryCompleteInitialRebalanceElseSchedule(ClassicGroup group, int delayMs, int remainingMs)
    {
        if (group.NewMemberAdded && remainingMs != 0)
        {
            // Members are still arriving: wait another delay, within the rebalance timeout.
            group.NewMemberAdded = false;
            var nextDelay = Math.Min(_config.InitialRebalanceDelayMs, remainingMs);
            ScheduleInitialRebalance(group, nextDelay, Math.Max(remainingMs - delayMs, 0));
        }
        else
        {
            CompleteJoinPhase(group);
        }
    }

    private void MaybeCompleteJoinElseSchedule(ClassicGroup group)
    {
        if (group.HasAllMembersJoined)
        {
            CompleteJoinPhase(group);
        }
        else
        {
            _timer.Schedule(JoinKey(group.GroupId), TimeSpan.FromMilliseconds(group.RebalanceTimeoutMs),
                () => OnTimer("rebalance-timeout", () => CompleteJoinPhase(group)));
        }
    }

    /// <summary>Completes the join phase early once everyone is in, except during the initial delay.</summary>
    private void MaybeCompleteJoinPhase(ClassicGroup group)
    {
        if (group.State == ClassicGroupState.PreparingRebalance && group.HasAllMembersJoined && group.PreviousState != ClassicGroupState.Empty)
        {
            CompleteJoinPhase(group);
        }
    }

    /// <summary>
    /// Ends the join phase (all members in, or the rebalance timeout passed): dynamic members that did not rejoin
    /// are dropped, the next generation starts, and every waiting JoinGroup is answered.
    /// </summary>
    private void CompleteJoinPhase(ClassicGroup group)
    {
        _timer.Cancel(JoinKey(group.GroupId));
        if (group.State != ClassicGroupState.PreparingRebalance || !ReferenceEquals(_groups.GetValueOrDefault(group.GroupId), group))
        {
            return;
        }
        if (!group.MaybeElectNewJoinedLeader() && group.MemberCount > 0)
        {
            // Nobody rejoined: wait another rebalance timeout while session expiry clears the silent members.
            _timer.Schedule(JoinKey(group.GroupId), TimeSpan.FromMilliseconds(group.RebalanceTimeoutMs),
                () => OnTimer("rebalance-timeout", () => CompleteJoinPhase(group)));
            return;
        }
        foreach (var member in group.NotYetRejoinedMembers())
        {
            if (!member.IsStatic)
            {
                _timer.Cancel(HeartbeatKey(group.GroupId, member.MemberId));
                group.Remove(member.MemberId);
                GroupLog.MemberRemoved(_logger, group.GroupId, member.MemberId, "did not rejoin within the rebalance timeout");
            }
        }
        group.InitNextGeneration(NowMs);
        if (group.IsEmpty)
        {
            GroupLog.GroupEmpty(_logger, group.GroupId, group.GenerationId);
            AppendThen([CoordinatorRecord.GroupMetadata(group.GroupId, group.ToRecord(new Dictionary<string, byte[]>()))], _ => { });
            return;
        }
        GroupLog.Stabilized(_logger, group.GroupId, group.GenerationId, group.MemberCount, group.ProtocolName);
        foreach (var member in group.Members)
        {
            if (member.AwaitingJoin is { } waiting)
            {
                member.AwaitingJoin = null;
                waiting.TrySetResult(CurrentGenerationJoinResponse(group, member.MemberId, includeMembers: group.IsLeader(member.MemberId)));
            }
            member.IsNew = false;
            RescheduleHeartbeat(group, member);
            group.AddPendingSyncMember(member.MemberId);
        }
        SchedulePendingSync(group);
    }

    /// <summary>Members that do not SyncGroup within the rebalance timeout are removed and the group rebalances.</summary>
    private void SchedulePendingSync(ClassicGroup group)
    {
        var generation = group.GenerationId;
        _timer.Schedule(SyncKey(group.GroupId), TimeSpan.FromMilliseconds(group.RebalanceTimeoutMs), () => OnTimer("sync-timeout", () =>
        {
            if (generation != group.GenerationId || group.State is not (ClassicGroupState.CompletingRebalance or ClassicGroupState.Stable)
                || group.PendingSyncMembers.Count == 0 || !ReferenceEquals(_groups.GetValueOrDefault(group.GroupId), group))
            {
                return;
            }
            foreach (var memberId in group.PendingSyncMembers.ToList())
            {
                RemoveMember(group, memberId, "did not sync within the rebalance timeout");
            }
            MaybePrepareRebalanceOrCompleteJoin(group, "members did not sync within the rebalance timeout");
        }));
    }

    private void ResetAndPropagateAssignmentWithError(ClassicGroup group, ErrorCode error)
    {
        foreach (var member in group.Members)
        {
            member.Assignment = [];
            if (member.AwaitingSync is { } waiting)
            {
                member.AwaitingSync = null;
                waiting.TrySetResult(ClassicGroupResponses.SyncError(error));
            }
        }
    }

    // ---- SyncGroup ----

    public Task<SyncGroupResponse> SyncGroup(SyncGroupArgs args)
    {
        lock (SyncRoot)
        {
            if (Availability is var unavailable && unavailable != ErrorCode.None)
            {
                return Task.FromResult(ClassicGroupResponses.SyncError(unavailable));
            }
            var (group, error) = ClassicGroupOrCreate(args.GroupId, createIfMissing: false);
            if (group is null)
            {
                return Task.FromResult(ClassicGroupResponses.SyncError(error));
            }
            if (group.IsDead)
            {
                return Task.FromResult(ClassicGroupResponses.SyncError(ErrorCode.CoordinatorNotAvailable));
            }
            var invalid = group.ValidateMember(args.MemberId, args.GroupInstanceId);
            if (invalid == ErrorCode.None && args.GenerationId != group.GenerationId)
            {
                invalid = ErrorCode.IllegalGeneration;
            }
            if (invalid == ErrorCode.None
                && ((args.ProtocolType is not null && args.ProtocolType != group.ProtocolTypeOrNull)
                    || (args.ProtocolName is not null && args.ProtocolName != group.ProtocolName)))
            {
                invalid = ErrorCode.InconsistentGroupProtocol;
            }
            if (invalid != ErrorCode.None)
            {
                return Task.FromResult(ClassicGroupResponses.SyncError(invalid));
            }
            var member = group.Member(args.MemberId);
            switch (group.State)
            {
                case ClassicGroupState.PreparingRebalance:
                    return Task.FromResult(ClassicGroupResponses.SyncError(ErrorCode.RebalanceInProgress));
                case ClassicGroupState.CompletingRebalance:
                    {
                        var response = new TaskCompletionSource<SyncGroupResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
                        member.AwaitingSync?.TrySetResult(ClassicGroupResponses.SyncError(ErrorCode.RebalanceInProgress));
                        member.AwaitingSync = response;
                        group.RemovePendingSyncMember(args.MemberId);
                        RescheduleHeartbeat(group, member);
                        if (group.IsLeader(args.MemberId))
                        {
                            StoreLeaderAssignment(group, args);
                        }
                        return response.Task;
                    }
                case ClassicGroupState.Stable:
                    group.RemovePendingSyncMember(args.MemberId);
                    RescheduleHeartbeat(group, member);
                    return Task.FromResult(new SyncGroupResponse
                    {
                        ProtocolType = group.ProtocolTypeOrNull,
                        ProtocolName = group.ProtocolName,
                        Assignment = member.Assignment,
                    });
                default:
                    return Task.FromResult(ClassicGroupResponses.SyncError(ErrorCode.UnknownMemberId));
            }
        }
    }

    /// <summary>
    /// The leader's assignment (members it left out get an empty one) is written with the group; once committed,
    /// if the group is still in the same generation, every member waiting in SyncGroup gets its part: Stable.
    /// </summary>
    private void StoreLeaderAssignment(ClassicGroup group, SyncGroupArgs args)
    {
        var assignment = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (memberId, bytes) in args.Assignments)
        {
            assignment[memberId] = bytes;
        }
        foreach (var member in group.Members)
        {
            assignment.TryAdd(member.MemberId, []);
        }
        var generation = args.GenerationId;
        AppendThen([CoordinatorRecord.GroupMetadata(group.GroupId, group.ToRecord(assignment))], error =>
        {
            if (group.State != ClassicGroupState.CompletingRebalance || group.GenerationId != generation)
            {
                return;
            }
            if (error != ErrorCode.None)
            {
                var answer = GroupWriteError(error);
                ResetAndPropagateAssignmentWithError(group, answer);
                MaybePrepareRebalanceOrCompleteJoin(group, $"error {answer} when storing the assignment of generation {generation}");
                return;
            }
            foreach (var member in group.Members)
            {
                member.Assignment = assignment.GetValueOrDefault(member.MemberId) ?? [];
                if (member.AwaitingSync is { } waiting)
                {
                    member.AwaitingSync = null;
                    waiting.TrySetResult(new SyncGroupResponse
                    {
                        ProtocolType = group.ProtocolTypeOrNull,
                        ProtocolName = group.ProtocolName,
                        Assignment = member.Assignment,
                    });
                }
                RescheduleHeartbeat(group, member);
            }
            group.TransitionTo(ClassicGroupState.Stable, NowMs);
        });
    }

    // ---- Heartbeat ----

    public ErrorCode Heartbeat(string groupId, string memberId, string? groupInstanceId, int generationId)
    {
        lock (SyncRoot)
        {
            if (Availability is var unavailable && unavailable != ErrorCode.None)
            {
                return unavailable;
            }
            var (group, error) = ClassicGroupOrCreate(groupId, createIfMissing: false);
            if (group is null)
            {
                return error;
            }
            if (group.IsDead)
            {
                return ErrorCode.CoordinatorNotAvailable;
            }
            var invalid = group.ValidateMember(memberId, groupInstanceId);
            if (invalid != ErrorCode.None)
            {
                return invalid;
            }
            if (generationId != group.GenerationId)
            {
                return ErrorCode.IllegalGeneration;
            }
            switch (group.State)
            {
                case ClassicGroupState.Empty:
                    return ErrorCode.UnknownMemberId;
                case ClassicGroupState.PreparingRebalance:
                    // Alive, but must rejoin.
                    RescheduleHeartbeat(group, group.Member(memberId));
                    return ErrorCode.RebalanceInProgress;
                default:
                    RescheduleHeartbeat(group, group.Member(memberId));
                    return ErrorCode.None;
            }
        }
    }

    private void RescheduleHeartbeat(ClassicGroup group, ClassicGroupMember member)
    {
        var memberId = member.MemberId;
        _timer.Schedule(HeartbeatKey(group.GroupId, memberId), TimeSpan.FromMilliseconds(member.SessionTimeoutMs),
            () => OnTimer("session-expiry", () => ExpireHeartbeat(group.GroupId, memberId)));
    }

    /// <summary>A member's session timed out (or a pending member never came back): it leaves and the group rebalances.</summary>
    private void ExpireHeartbeat(string groupId, string memberId)
    {
        if (_groups.GetValueOrDefault(groupId) is not ClassicGroup group || group.IsDead)
        {
            return;
        }
        if (group.IsPendingMember(memberId))
        {
            group.RemovePendingMember(memberId);
            GroupLog.MemberRemoved(_logger, groupId, memberId, "pending member did not rejoin within the session timeout");
            MaybeCompleteJoinPhase(group);
            return;
        }
        if (!group.HasMember(memberId) || group.Member(memberId).HasSatisfiedHeartbeat)
        {
            return;
        }
        RemoveMember(group, memberId, "session timeout expired");
        MaybePrepareRebalanceOrCompleteJoinAfterRemoval(group, $"removing member {memberId} on heartbeat expiration");
    }

    /// <summary>
    /// Removes a live member: a JoinGroup it has waiting gets UNKNOWN_MEMBER_ID (so a client that is still alive
    /// rejoins), then the member goes.
    /// </summary>
    private void RemoveMember(ClassicGroup group, string memberId, string reason)
    {
        var member = group.Member(memberId);
        _timer.Cancel(HeartbeatKey(group.GroupId, memberId));
        if (member.AwaitingJoin is { } waiting)
        {
            member.AwaitingJoin = null;
            waiting.TrySetResult(ClassicGroupResponses.JoinError("", ErrorCode.UnknownMemberId));
        }
        member.AwaitingSync?.TrySetResult(ClassicGroupResponses.SyncError(ErrorCode.UnknownMemberId));
        member.AwaitingSync = null;
        group.Remove(memberId);
        GroupLog.MemberRemoved(_logger, group.GroupId, memberId, reason);
    }

    private void MaybePrepareRebalanceOrCompleteJoinAfterRemoval(ClassicGroup group, string reason)
    {
        switch (group.State)
        {
            case ClassicGroupState.Stable or ClassicGroupState.CompletingRebalance:
                PrepareRebalance(group, reason);
                break;
            case ClassicGroupState.PreparingRebalance:
                MaybeCompleteJoinPhase(group);
                break;
        }
    }

    // ---- LeaveGroup ----

    /// <summary>
    /// LeaveGroup for a batch of members (v3+; older versions send one). Each gets its own error; the group
    /// rebalances once if anyone left. The first element is the request-level error (UNKNOWN_MEMBER_ID for an
    /// unknown group, COORDINATOR_NOT_AVAILABLE for a dead one, the shard's availability).
    /// </summary>
    public (ErrorCode Error, List<ErrorCode> Members) LeaveGroup(string groupId, IReadOnlyList<(string MemberId, string? GroupInstanceId, string? Reason)> members)
    {
        lock (SyncRoot)
        {
            if (Availability is var unavailable && unavailable != ErrorCode.None)
            {
                return (unavailable, []);
            }
            var (group, error) = ClassicGroupOrCreate(groupId, createIfMissing: false);
            if (group is null)
            {
                return (error, []);
            }
            if (group.IsDead)
            {
                return (ErrorCode.CoordinatorNotAvailable, []);
            }
            var results = new List<ErrorCode>(members.Count);
            var anyLeft = false;
            foreach (var (memberId, instanceId, reason) in members)
            {
                var why = $"left the group; client reason: {reason ?? "not provided"}";
                if (memberId.Length == 0)
                {
                    // Admin removal of a static member by its instance id alone (KIP-345).
                    if (instanceId is not null && group.StaticMemberId(instanceId) is { } staticMemberId)
                    {
                        RemoveMember(group, staticMemberId, why);
                        results.Add(ErrorCode.None);
                        anyLeft = true;
                    }
                    else
                    {
                        results.Add(ErrorCode.UnknownMemberId);
                    }
                }
                else if (group.IsPendingMember(memberId))
                {
                    group.RemovePendingMember(memberId);
                    _timer.Cancel(HeartbeatKey(groupId, memberId));
                    results.Add(ErrorCode.None);
                    anyLeft = true;
                }
                else if (group.ValidateMember(memberId, instanceId) is var invalid && invalid != ErrorCode.None)
                {
                    results.Add(invalid);
                }
                else
                {
                    RemoveMember(group, memberId, why);
                    results.Add(ErrorCode.None);
                    anyLeft = true;
                }
            }
            if (anyLeft)
            {
                MaybePrepareRebalanceOrCompleteJoinAfterRemoval(group, "members left the group");
            }
            return (ErrorCode.None, results);
        }
    }
}
