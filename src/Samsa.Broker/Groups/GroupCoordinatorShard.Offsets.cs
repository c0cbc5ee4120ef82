using System.Text;
using Samsa.Protocol;

namespace Samsa.Broker.Groups;

/// <summary>One partition of an OffsetCommit.</summary>
public readonly record struct OffsetCommitPartition(string Topic, int Partition, long Offset, int LeaderEpoch, string? Metadata);

/// <summary>An OffsetCommit as the coordinator sees it.</summary>
public sealed record OffsetCommitArgs(
    string GroupId,
    int GenerationIdOrMemberEpoch,
    string MemberId,
    string? GroupInstanceId,
    long RetentionTimeMs,
    short ApiVersion,
    IReadOnlyList<OffsetCommitPartition> Partitions);

/// <summary>One partition of an OffsetFetch answer; offset -1 and metadata "" when nothing is committed.</summary>
public readonly record struct FetchedOffset(string Topic, int Partition, long Offset, int LeaderEpoch, string Metadata, ErrorCode Error);

/// <summary>Committed offsets (Kafka's <c>OffsetMetadataManager</c>): OffsetCommit, OffsetFetch, OffsetDelete.</summary>
public sealed partial class GroupCoordinatorShard
{
    /// <summary>
    /// Validates an OffsetCommit against the group, writes one record per partition and answers once the high
    /// watermark covers them. Errors come back per partition, in the request's order.
    /// </summary>
    public async Task<List<ErrorCode>> CommitOffsetsAsync(OffsetCommitArgs args)
    {
        Task<ErrorCode> written;
        var results = new List<ErrorCode>(args.Partitions.Count);
        lock (SyncRoot)
        {
            var error = ValidateOffsetCommit(args, out var created);
            if (error != ErrorCode.None)
            {
                results.AddRange(Enumerable.Repeat(error, args.Partitions.Count));
                return results;
            }
            var now = NowMs;
            long? expireAt = args.RetentionTimeMs == -1 ? null : now + args.RetentionTimeMs;
            var records = new List<CoordinatorRecord>();
            foreach (var p in args.Partitions)
            {
                var metadata = p.Metadata ?? "";
                if (Encoding.UTF8.GetByteCount(metadata) > _config.OffsetMetadataMaxBytes)
                {
                    results.Add(ErrorCode.OffsetMetadataTooLarge);
                    continue;
                }
                results.Add(ErrorCode.None);
                records.Add(CoordinatorRecord.OffsetCommit(args.GroupId, p.Topic, p.Partition, new OffsetAndMetadata(p.Offset, p.LeaderEpoch, metadata, now, expireAt)));
            }
            written = Context.Write(records, changes =>
            {
                if (created is not null)
                {
                    // The simple group this commit created goes too if the commit fails (Kafka's timeline map does the same).
                    changes.OnRevert(() => DropSimpleGroup(created));
                }
                foreach (var record in records)
                {
                    Replay(record, changes);
                }
            });
        }
        var outcome = OffsetWriteError(await written);
        if (outcome != ErrorCode.None)
        {
            for (var i = 0; i < results.Count; i++)
            {
                if (results[i] == ErrorCode.None)
                {
                    results[i] = outcome;
                }
            }
        }
        return results;
    }

    /// <summary>
    /// Kafka's <c>validateOffsetCommit</c>: an unknown group is created as a simple group when the commit carries
    /// no generation (-1); otherwise it is GROUP_ID_NOT_FOUND from v9 and ILLEGAL_GENERATION before.
    /// </summary>
    private ErrorCode ValidateOffsetCommit(OffsetCommitArgs args, out ClassicGroup? created)
    {
        created = null;
        if (Availability is var unavailable && unavailable != ErrorCode.None)
        {
            return unavailable;
        }
        if (!_groups.TryGetValue(args.GroupId, out var group))
        {
            if (args.GenerationIdOrMemberEpoch >= 0)
            {
                return args.ApiVersion >= 9 ? ErrorCode.GroupIdNotFound : ErrorCode.IllegalGeneration;
            }
            group = created = new ClassicGroup(args.GroupId, NowMs);
            _groups.Add(args.GroupId, group);
        }
        return group.ValidateOffsetCommit(args.MemberId, args.GroupInstanceId, args.GenerationIdOrMemberEpoch, isTransactional: false, args.ApiVersion);
    }

    /// <summary>
    /// Committed offsets of a group: the requested partitions (-1 when nothing is committed), or every committed
    /// offset when <paramref name="topics"/> is null. A group this shard does not know has no offsets, which is not
    /// an error. With <paramref name="requireStable"/> a partition holding a pending transactional offset answers
    /// UNSTABLE_OFFSET_COMMIT (offset -1), as Kafka's <c>fetchOffsets</c> and <c>fetchAllOffsets</c> do.
    /// </summary>
    public (ErrorCode Error, List<FetchedOffset> Offsets) FetchOffsets(string groupId, IReadOnlyList<(string Topic, IReadOnlyList<int> Partitions)>? topics,
        bool requireStable, string? memberId = null, int memberEpoch = -1)
    {
        lock (SyncRoot)
        {
            if (Availability is var unavailable && unavailable != ErrorCode.None)
            {
                return (unavailable, []);
            }
            if (_groups.TryGetValue(groupId, out var group) && group.ValidateOffsetFetch(memberId, memberEpoch) is var invalid && invalid != ErrorCode.None)
            {
                return (invalid, []);
            }
            var offsets = new List<FetchedOffset>();
            if (topics is null)
            {
                foreach (var (topic, partition, offset) in _offsets.OffsetsOf(groupId))
                {
                    offsets.Add(requireStable && HasPendingTransactionalOffsets(groupId, topic, partition)
                        ? Unstable(topic, partition)
                        : new FetchedOffset(topic, partition, offset.Offset, offset.LeaderEpoch, offset.Metadata, ErrorCode.None));
                }
                return (ErrorCode.None, offsets);
            }
            foreach (var (topic, partitions) in topics)
            {
                foreach (var partition in partitions)
                {
                    if (requireStable && HasPendingTransactionalOffsets(groupId, topic, partition))
                    {
                        offsets.Add(Unstable(topic, partition));
                        continue;
                    }
                    offsets.Add(_offsets.Get(groupId, topic, partition) is { } offset
                        ? new FetchedOffset(topic, partition, offset.Offset, offset.LeaderEpoch, offset.Metadata, ErrorCode.None)
                        : new FetchedOffset(topic, partition, -1, -1, "", ErrorCode.None));
                }
            }
            return (ErrorCode.None, offsets);
        }
    }

    private static FetchedOffset Unstable(string topic, int partition) => new(topic, partition, -1, -1, "", ErrorCode.UnstableOffsetCommit);

    /// <summary>
    /// OffsetDelete: tombstones for the listed partitions' offsets. GROUP_ID_NOT_FOUND for an unknown group,
    /// NON_EMPTY_GROUP for a live group not on the consumer protocol, GROUP_SUBSCRIBED_TO_TOPIC per partition of a
    /// topic live members subscribe to.
    /// </summary>
    public async Task<(ErrorCode Error, List<ErrorCode> Partitions)> DeleteOffsetsAsync(string groupId, IReadOnlyList<(string Topic, int Partition)> partitions)
    {
        Task<ErrorCode> written;
        var results = new List<ErrorCode>(partitions.Count);
        lock (SyncRoot)
        {
            if (Availability is var unavailable && unavailable != ErrorCode.None)
            {
                return (unavailable, []);
            }
            if (!_groups.TryGetValue(groupId, out var group))
            {
                return (ErrorCode.GroupIdNotFound, []);
            }
            var invalid = group.ValidateOffsetDelete();
            if (invalid != ErrorCode.None)
            {
                return (invalid, []);
            }
            var records = new List<CoordinatorRecord>();
            foreach (var (topic, partition) in partitions)
            {
                if (group.IsSubscribedToTopic(topic))
                {
                    results.Add(ErrorCode.GroupSubscribedToTopic);
                    continue;
                }
                results.Add(ErrorCode.None);
                // Kafka tombstones a partition a transaction holds an offset of too: the tombstone drops the pending offset.
                if (_offsets.Get(groupId, topic, partition) is not null || HasPendingTransactionalOffsets(groupId, topic, partition))
                {
                    records.Add(CoordinatorRecord.OffsetCommitTombstone(groupId, topic, partition));
                }
            }
            written = AppendAndWait(records, replay: true);
        }
        var outcome = GroupWriteError(await written);
        return outcome != ErrorCode.None ? (outcome, []) : (ErrorCode.None, results);
    }

    /// <summary>Describes a group for DescribeGroups; null when this shard has no such group.</summary>
    public GroupDescription? Describe(string groupId)
    {
        lock (SyncRoot)
        {
            if (!_groups.TryGetValue(groupId, out var group))
            {
                return null;
            }
            if (group is not ClassicGroup classic)
            {
                return new GroupDescription(group.GroupId, group.StateName, group.ProtocolType, "", [], group.Type);
            }
            var stable = classic.State == ClassicGroupState.Stable;
            var members = classic.Members.Select(m => new MemberDescription(m.MemberId, m.GroupInstanceId, m.ClientId, m.ClientHost,
                stable && classic.ProtocolName is { } protocol ? m.MetadataFor(protocol) : [],
                stable ? m.Assignment : [])).ToList();
            return new GroupDescription(group.GroupId, group.StateName, group.ProtocolType, stable ? classic.ProtocolName ?? "" : "", members, group.Type);
        }
    }
}

/// <summary>A group as DescribeGroups reports it.</summary>
public sealed record GroupDescription(string GroupId, string State, string ProtocolType, string ProtocolData, IReadOnlyList<MemberDescription> Members, GroupType Type);

/// <summary>A member as DescribeGroups reports it; metadata and assignment only while the group is Stable.</summary>
public sealed record MemberDescription(string MemberId, string? GroupInstanceId, string ClientId, string ClientHost, byte[] Metadata, byte[] Assignment);
