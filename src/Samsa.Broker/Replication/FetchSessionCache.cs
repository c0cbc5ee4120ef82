using Samsa.Protocol;

namespace Samsa.Broker.Replication;

/// <summary>One partition of an incremental fetch session and what the last response told the client about it.</summary>
public sealed class CachedPartition(string topic, Uuid topicId, int partition)
{
    public string Topic { get; } = topic;
    public Uuid TopicId { get; } = topicId;
    public int Partition { get; } = partition;
    public long FetchOffset { get; set; }
    public int MaxBytes { get; set; }
    public int CurrentLeaderEpoch { get; set; } = -1;

    /// <summary>Last values sent, so an incremental response can leave out partitions that did not change.</summary>
    public long SentHighWatermark { get; set; } = -1;
    public long SentLogStartOffset { get; set; } = -1;
}

/// <summary>An incremental fetch session (KIP-227): its id, the epoch it expects next, and its partitions in order.</summary>
public sealed class FetchSession(int id)
{
    public int Id { get; } = id;

    /// <summary>The epoch the next incremental request must carry.</summary>
    public int NextEpoch { get; set; } = 1;

    public long LastUsed { get; set; }

    public OrderedDictionary<(string Topic, int Partition), CachedPartition> Partitions { get; } = [];

    /// <summary>Kafka's epoch sequence: 1, 2, ... int.MaxValue, then 1 again (0 and -1 are reserved).</summary>
    public void AdvanceEpoch() => NextEpoch = NextEpoch == int.MaxValue ? 1 : NextEpoch + 1;
}

/// <summary>
/// The broker's fetch sessions (Kafka's <c>FetchSessionCache</c>), at most
/// <c>max.incremental.fetch.session.cache.slots</c>. When full, a new session may take the slot of the least
/// recently used one only if that one has been idle for <c>min.incremental.fetch.session.eviction.ms</c>;
/// otherwise the client gets no session (id 0) and keeps sending full fetches, as with Kafka.
/// </summary>
public sealed class FetchSessionCache(int maxSlots, TimeSpan evictionAfter, TimeProvider time)
{
    private readonly Dictionary<int, FetchSession> _sessions = [];
    private readonly Lock _lock = new();

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _sessions.Count;
            }
        }
    }

    public FetchSession? Get(int id)
    {
        lock (_lock)
        {
            if (_sessions.TryGetValue(id, out var session))
            {
                session.LastUsed = time.GetTimestamp();
                return session;
            }
            return null;
        }
    }

    public void Remove(int id)
    {
        lock (_lock)
        {
            _sessions.Remove(id);
        }
    }

    /// <summary>A new session, or null when every slot is taken by a session used too recently to evict.</summary>
    public FetchSession? TryCreate()
    {
        lock (_lock)
        {
            var now = time.GetTimestamp();
            if (_sessions.Count >= maxSlots)
            {
                var oldest = _sessions.Values.MinBy(s => s.LastUsed);
                if (oldest is null || time.GetElapsedTime(oldest.LastUsed, now) < evictionAfter)
                {
                    return null;
                }
                _sessions.Remove(oldest.Id);
            }
            int id;
            do
            {
                id = Random.Shared.Next(1, int.MaxValue);
            }
            while (_sessions.ContainsKey(id));
            var session = new FetchSession(id) { LastUsed = now };
            _sessions[id] = session;
            return session;
        }
    }
}
