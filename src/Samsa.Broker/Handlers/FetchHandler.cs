using Samsa.Broker.Network;
using Samsa.Broker.Replication;
using Samsa.Broker.Security;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Storage;
using static Samsa.Protocol.Messages.FetchResponse;

namespace Samsa.Broker.Handlers;

/// <summary>
/// Fetch (key 1), versions 4-17 (the versions that carry v2 record batches), consumer side.
/// <list type="bullet">
/// <item>Long poll: when fewer than <c>min_bytes</c> are readable the fetch waits in the purgatory, watched on its
/// partitions, and the append that makes enough bytes readable completes it; otherwise it is answered at
/// <c>max_wait_ms</c> with what there is.</item>
/// <item>Limits: <c>max_bytes</c> over the response and <c>partition_max_bytes</c> per partition, except that the
/// first batch found is always returned whole, however large (KIP-74).</item>
/// <item>Isolation: read_uncommitted reads to the high watermark, read_committed to the last stable offset (below
/// every open transaction) with the aborted transactions overlapping the returned data (null for read_uncommitted).</item>
/// <item>Sessions (v7+, KIP-227): full and incremental fetches, forgotten topics, FETCH_SESSION_ID_NOT_FOUND,
/// INVALID_FETCH_SESSION_EPOCH; an incremental response lists only partitions with news (records, a moved
/// high watermark or log start offset, an error).</item>
/// <item>Topic ids (v13+): topics are named by id; an unknown id answers UNKNOWN_TOPIC_ID.</item>
/// <item>Records go from the segment file to the socket with sendfile, never decoded or copied into memory.</item>
/// <item>Follower fetches (replica id >= 0; v15+ in <c>ReplicaState</c> with the broker epoch): read to the log end,
/// tell the partition where the follower is (its log end offset, so the high watermark and the ISR can move), and
/// answer a follower whose last fetched epoch diverged from this leader's log with <c>DivergingEpoch</c> (KIP-279)
/// instead of records.</item>
/// </list>
/// </summary>
public sealed class FetchHandler(ReplicaManager replicas, MetadataCache metadata, FetchSessionCache sessions,
    Samsa.Broker.Quotas.ClientQuotaManager? fetchQuota = null, Samsa.Broker.Metrics.BrokerMetrics? brokerMetrics = null) : ApiHandler<FetchRequest, FetchResponse>
{
    public override ApiKey ApiKey => ApiKey.Fetch;

    public override short MinVersion => 4;

    public override short MaxVersion => 17;

    private sealed record Target(string Topic, Uuid TopicId, int Partition, long FetchOffset, int MaxBytes, int CurrentLeaderEpoch, CachedPartition? Cached)
    {
        public int LastFetchedEpoch { get; init; } = -1;

        public long LogStartOffset { get; init; } = -1;
    }

    /// <summary>Who is fetching: a consumer (replica id -1) or a follower broker with its broker epoch.</summary>
    private readonly record struct Fetcher(int ReplicaId, long BrokerEpoch)
    {
        public bool IsFollower => ReplicaId >= 0;
    }

    protected override async ValueTask<FetchResponse?> HandleAsync(RequestContext context, FetchRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        var image = metadata.Current;
        var (error, session, incremental, targets) = ResolveSession(request, version, image);
        if (error != ErrorCode.None)
        {
            return new FetchResponse { ErrorCode = (short)error, SessionId = 0 };
        }
        var fetcher = version >= 15 ? new Fetcher(request.ReplicaState.ReplicaId, request.ReplicaState.ReplicaEpoch) : new Fetcher(request.ReplicaId, -1);
        context.Connection.FetchFromFollower = fetcher.IsFollower;
        var isolation = fetcher.IsFollower ? FetchIsolation.LogEnd
            : request.IsolationLevel == 1 ? FetchIsolation.TxnCommitted : FetchIsolation.HighWatermark;
        // A follower's fetch offsets are its log end offsets: the leader learns them before anything waits, so the
        // high watermark (and the acks=all produces waiting on it) moves at once.
        var denied = Unauthorized(context, fetcher, targets);
        var readable = denied is null ? targets : targets.Where(t => !denied.Contains(t)).ToList();
        var notFollowing = fetcher.IsFollower ? UpdateFollowers(fetcher, readable) : null;

        // KIP-392: a consumer that says where it is (v11+) may read from a follower.
        var fromFollowerAllowed = version >= 11 && !fetcher.IsFollower;
        if (request.MaxWaitMs > 0 && readable.Count > 0 && ReadableBytes(readable, isolation, fromFollowerAllowed) < request.MinBytes)
        {
            var waiting = new DelayedFetch(TimeSpan.FromMilliseconds(request.MaxWaitMs), request.MinBytes, () => ReadableBytes(readable, isolation, fromFollowerAllowed));
            var keys = readable.Select(t => new Samsa.Storage.Checkpoints.TopicPartition(t.Topic, t.Partition)).Distinct().ToList();
            replicas.FetchPurgatory.TryCompleteElseWatch(waiting, keys);
            var waitStarted = System.Diagnostics.Stopwatch.GetTimestamp();
            await waiting.Completion.WaitAsync(cancellationToken);
            context.Connection.AddRemoteTime(waitStarted);
        }

        var response = new FetchResponse { SessionId = session?.Id ?? 0 };
        // A consumer under consumer_byte_rate may be answered empty instead (below): the session learns what was sent
        // only once that is decided, so only then do its partitions take the sent high watermarks.
        var quotaSensor = fetcher.IsFollower ? null : fetchQuota?.SensorFor(context.Connection.Principal.Name, context.Header.ClientId ?? "");
        List<(CachedPartition Cached, long HighWatermark, long LogStartOffset)>? sent = quotaSensor is null ? null : [];
        // Kafka caps a quota'd consumer's max_bytes at what one quota window allows.
        var remaining = quotaSensor is null ? request.MaxBytes
            : Math.Min(request.MaxBytes, (int)Math.Clamp(fetchQuota!.MaxValueInQuotaWindow(quotaSensor), 1, int.MaxValue));
        var anyRecords = false;
        FetchableTopicResponse? current = null;
        foreach (var target in targets)
        {
            var data = denied?.Contains(target) == true ? ErrorData(target, ErrorCode.TopicAuthorizationFailed)
                : notFollowing?.Contains(target) == true ? ErrorData(target, ErrorCode.NotLeaderOrFollower)
                : ReadPartition(context, target, isolation, fetcher, fromFollowerAllowed ? request.RackId : null, ref remaining, ref anyRecords);
            if (incremental && !HasNews(target.Cached!, data))
            {
                continue;
            }
            if (target.Cached is { } cached)
            {
                if (sent is not null)
                {
                    sent.Add((cached, data.HighWatermark, data.LogStartOffset));
                }
                else
                {
                    cached.SentHighWatermark = data.HighWatermark;
                    cached.SentLogStartOffset = data.LogStartOffset;
                }
            }
            // Consecutive partitions of one topic share its entry; the name (v12-) or the id (v13+) says which topic.
            var (topicName, topicId) = version <= 12 ? (target.Topic, Uuid.Zero) : ("", target.TopicId);
            if (current is null || current.Topic != topicName || current.TopicId != topicId)
            {
                current = new FetchableTopicResponse { Topic = topicName, TopicId = topicId };
                response.Responses.Add(current);
            }
            current.Partitions.Add(data);
        }
        if (quotaSensor is not null)
        {
            // Kafka's consumer_byte_rate: the response's size; followers are under replication quotas instead.
            var size = response.Size(version);
            var throttleTimeMs = context.RecordQuota(fetchQuota, size);
            if (throttleTimeMs > 0)
            {
                // Kafka's getThrottledResponse: a throttled consumer gets no data, so the bytes are taken back; a full
                // fetch answers with no session (INVALID_SESSION_ID), an incremental one with its session and no news.
                // The records read (file regions and pooled buffers the response would have pointed into) are released.
                ResponseFrame.Release(context.DetachResources());
                fetchQuota!.Unrecord(context.Connection.Principal.Name, context.Header.ClientId ?? "", size);
                return new FetchResponse { ThrottleTimeMs = throttleTimeMs, SessionId = incremental ? session!.Id : 0 };
            }
            foreach (var (cached, highWatermark, logStartOffset) in sent!)
            {
                cached.SentHighWatermark = highWatermark;
                cached.SentLogStartOffset = logStartOffset;
            }
        }
        return response;
    }

    /// <summary>
    /// KIP-227: works out which partitions this request reads and which session, if any, it belongs to.
    /// Epoch 0 starts a full fetch (and a new session when a slot is free), -1 is a sessionless full fetch that
    /// also closes the named session, anything else continues the named session incrementally.
    /// </summary>
    private (ErrorCode Error, FetchSession? Session, bool Incremental, List<Target> Targets) ResolveSession(FetchRequest request, short version, MetadataImage image)
    {
        var requested = new List<Target>();
        foreach (var topic in request.Topics)
        {
            var name = version >= 13 ? image.TopicNamesById.GetValueOrDefault(topic.TopicId, "") : topic.Topic;
            var id = version >= 13 ? topic.TopicId : image.Topics.TryGetValue(topic.Topic, out var t) ? t.TopicId : Uuid.Zero;
            foreach (var p in topic.Partitions)
            {
                requested.Add(new Target(name, id, p.Partition, p.FetchOffset, p.PartitionMaxBytes, p.CurrentLeaderEpoch, null)
                {
                    LastFetchedEpoch = version >= 12 ? p.LastFetchedEpoch : -1,
                    LogStartOffset = p.LogStartOffset,
                });
            }
        }
        if (version < 7 || request.SessionEpoch == -1)
        {
            if (version >= 7 && request.SessionId != 0)
            {
                sessions.Remove(request.SessionId);
            }
            return (ErrorCode.None, null, false, requested);
        }
        if (request.SessionEpoch == 0)
        {
            if (request.SessionId != 0)
            {
                sessions.Remove(request.SessionId);
            }
            var created = requested.Count > 0 ? sessions.TryCreate() : null;
            if (created is null)
            {
                return (ErrorCode.None, null, false, requested);
            }
            lock (created)
            {
                return (ErrorCode.None, created, false, Update(created, requested, []));
            }
        }
        var session = sessions.Get(request.SessionId);
        if (session is null)
        {
            return (ErrorCode.FetchSessionIdNotFound, null, false, []);
        }
        lock (session)
        {
            if (session.NextEpoch != request.SessionEpoch)
            {
                return (ErrorCode.InvalidFetchSessionEpoch, null, false, []);
            }
            var forgotten = request.ForgottenTopicsData
                .SelectMany(f => f.Partitions.Select(p => (version >= 13 ? image.TopicNamesById.GetValueOrDefault(f.TopicId, "") : f.Topic, p)))
                .ToList();
            var targets = Update(session, requested, forgotten);
            session.AdvanceEpoch();
            return (ErrorCode.None, session, true, targets);
        }
    }

    /// <summary>Adds or updates the requested partitions in the session, drops the forgotten ones, and returns all of them in session order.</summary>
    private static List<Target> Update(FetchSession session, List<Target> requested, List<(string Topic, int Partition)> forgotten)
    {
        foreach (var key in forgotten)
        {
            session.Partitions.Remove(key);
        }
        foreach (var r in requested)
        {
            if (!session.Partitions.TryGetValue((r.Topic, r.Partition), out var cached))
            {
                cached = new CachedPartition(r.Topic, r.TopicId, r.Partition);
                session.Partitions.Add((r.Topic, r.Partition), cached);
            }
            cached.FetchOffset = r.FetchOffset;
            cached.MaxBytes = r.MaxBytes;
            cached.CurrentLeaderEpoch = r.CurrentLeaderEpoch;
        }
        return [.. session.Partitions.Values.Select(c => new Target(c.Topic, c.TopicId, c.Partition, c.FetchOffset, c.MaxBytes, c.CurrentLeaderEpoch, c))];
    }

    private static bool HasNews(CachedPartition cached, PartitionData data) =>
        data.ErrorCode != 0 || data.Records is { Length: > 0 } || data.HighWatermark != cached.SentHighWatermark || data.LogStartOffset != cached.SentLogStartOffset;

    /// <summary>How many bytes the targets could return now; an error counts as enough, so the fetch answers at once.</summary>
    private long ReadableBytes(List<Target> targets, FetchIsolation isolation, bool fromFollowerAllowed)
    {
        long total = 0;
        foreach (var target in targets)
        {
            var lookup = replicas.ReadableLog(target.Topic, target.Partition, target.CurrentLeaderEpoch, fromFollowerAllowed);
            if (lookup.Log is not { } log)
            {
                return long.MaxValue;
            }
            try
            {
                total += lookup.Partition!.Read(log, target.FetchOffset, Math.Max(target.MaxBytes, 1), isolation).Records.Length;
            }
            catch (StorageException)
            {
                return long.MaxValue;
            }
        }
        return total;
    }

    private static PartitionData ErrorData(Target target, ErrorCode error) => new()
    {
        PartitionIndex = target.Partition,
        ErrorCode = (short)error,
        HighWatermark = -1,
        LastStableOffset = -1,
        LogStartOffset = -1,
        AbortedTransactions = null,
        Records = ReadOnlyMemory<byte>.Empty,
    };

    /// <summary>
    /// Kafka's fetch authorization: a follower needs CLUSTER_ACTION on the cluster (else every partition is refused),
    /// a consumer READ on each topic. The refused targets, or null when none is.
    /// </summary>
    private static HashSet<Target>? Unauthorized(RequestContext context, Fetcher fetcher, List<Target> targets)
    {
        if (targets.Count == 0 || !context.HasAuthorizer)
        {
            return null;
        }
        if (fetcher.IsFollower)
        {
            return context.AuthorizeCluster(AclOperation.ClusterAction) ? null : [.. targets];
        }
        HashSet<Target>? denied = null;
        Dictionary<string, bool>? decided = null;
        foreach (var target in targets)
        {
            // An unknown topic id has no name to authorize; it is answered UNKNOWN_TOPIC_ID as before.
            if (target.Topic.Length == 0)
            {
                continue;
            }
            decided ??= new(StringComparer.Ordinal);
            if (!decided.TryGetValue(target.Topic, out var allowed))
            {
                allowed = context.Authorize(AclOperation.Read, AclResourceType.Topic, target.Topic);
                decided[target.Topic] = allowed;
            }
            if (!allowed)
            {
                (denied ??= []).Add(target);
            }
        }
        return denied;
    }

    /// <summary>
    /// Tells each led partition where the follower is (Kafka's <c>updateFollowerFetchState</c>); the targets whose
    /// partition does not count <paramref name="fetcher"/> among its followers, answered NOT_LEADER_OR_FOLLOWER.
    /// </summary>
    private HashSet<Target>? UpdateFollowers(Fetcher fetcher, List<Target> targets)
    {
        HashSet<Target>? refused = null;
        foreach (var target in targets)
        {
            var lookup = replicas.LeaderLog(target.Topic, target.Partition, target.CurrentLeaderEpoch);
            if (lookup.Partition is { } partition && !replicas.UpdateFollowerFetchState(partition, fetcher.ReplicaId, fetcher.BrokerEpoch, target.FetchOffset, target.LogStartOffset))
            {
                (refused ??= []).Add(target);
            }
        }
        return refused;
    }

    /// <param name="clientRack">The consumer's rack when it may read from a follower (v11+), else null.</param>
    private PartitionData ReadPartition(RequestContext context, Target target, FetchIsolation isolation, Fetcher fetcher, string? clientRack, ref int remaining, ref bool anyRecords)
    {
        var data = new PartitionData
        {
            PartitionIndex = target.Partition,
            HighWatermark = -1,
            LastStableOffset = -1,
            LogStartOffset = -1,
            AbortedTransactions = null,
            Records = ReadOnlyMemory<byte>.Empty,
        };
        if (context.ApiVersion >= 13 && target.Topic.Length == 0)
        {
            data.ErrorCode = (short)ErrorCode.UnknownTopicId;
            return data;
        }
        var lookup = replicas.ReadableLog(target.Topic, target.Partition, target.CurrentLeaderEpoch, clientRack is not null);
        if (lookup.Error != ErrorCode.UnknownTopicOrPartition)
        {
            // Kafka's TotalFetchRequests counts each partition read; an unknown one is left out so a client's typo
            // cannot add series.
            brokerMetrics?.RecordFetchRequest(target.Topic);
        }
        if (lookup.Log is not { } log)
        {
            data.ErrorCode = (short)lookup.Error;
            return data;
        }
        var partition = lookup.Partition!;
        if (clientRack is { Length: > 0 } && replicas.SelectsReadReplicas && partition.IsLeader
            && partition.PreferredReadReplica(clientRack, target.FetchOffset, replicas.RackOf) is var preferred and >= 0)
        {
            // KIP-392: the consumer is sent to a replica in its rack; this answer carries no records.
            data.PreferredReadReplica = preferred;
            data.HighWatermark = log.HighWatermark;
            data.LastStableOffset = log.LastStableOffset;
            data.LogStartOffset = log.LogStartOffset;
            return data;
        }
        data.HighWatermark = log.HighWatermark;
        data.LastStableOffset = log.LastStableOffset;
        data.LogStartOffset = log.LogStartOffset;
        if (isolation == FetchIsolation.TxnCommitted)
        {
            data.AbortedTransactions = [];
        }
        if (fetcher.IsFollower && target.LastFetchedEpoch >= 0)
        {
            // KIP-279: the follower's log ends in an epoch this leader's log ends sooner in (or never had): it must
            // truncate to the diverging epoch's end before it may copy anything more.
            var (epoch, endOffset) = partition.LastOffsetForLeaderEpoch(log, target.LastFetchedEpoch);
            if (epoch < target.LastFetchedEpoch || endOffset < target.FetchOffset)
            {
                data.DivergingEpoch = new EpochEndOffset { Epoch = epoch, EndOffset = endOffset };
                return data;
            }
        }
        try
        {
            var limit = Math.Min(target.MaxBytes, Math.Max(remaining, 0));
            // KIP-74: the first batch of the response is returned whole even beyond the limits.
            var info = partition.Read(log, target.FetchOffset, limit, isolation, minOneMessage: !anyRecords);
            if (info.Records.Length > 0)
            {
                // The region itself, not its bytes: the connection sends it from the file (sendfile).
                var records = new FileRegionRecords(info.Records);
                context.Attach(records);
                data.Records = records.Memory;
                remaining -= info.Records.Length;
                anyRecords = true;
                // Kafka's BytesOutPerSec (consumers, per topic) or ReplicationBytesOutPerSec (followers).
                brokerMetrics?.RecordFetched(target.Topic, info.Records.Length, fetcher.IsFollower);
            }
            data.HighWatermark = info.HighWatermark;
            data.LastStableOffset = info.LastStableOffset;
            data.LogStartOffset = info.LogStartOffset;
            if (isolation == FetchIsolation.TxnCommitted && info.Records.Length > 0)
            {
                // The aborted transactions the returned batches may belong to, so the consumer drops their records.
                foreach (var aborted in log.CollectAbortedTransactions(target.FetchOffset, info.LastStableOffset))
                {
                    data.AbortedTransactions!.Add(new AbortedTransaction { ProducerId = aborted.ProducerId, FirstOffset = aborted.FirstOffset });
                }
            }
        }
        catch (StorageException e)
        {
            data.ErrorCode = (short)e.ErrorCode;
            if (e.ErrorCode is not (StorageErrorCode.OffsetOutOfRange or StorageErrorCode.KafkaStorageError))
            {
                brokerMetrics?.RecordFetchFailed(target.Topic);
            }
        }
        return data;
    }

    protected override FetchResponse ErrorResponse(RequestContext context, FetchRequest request, ErrorCode error) =>
        new() { ErrorCode = (short)error, SessionId = 0 };
}
