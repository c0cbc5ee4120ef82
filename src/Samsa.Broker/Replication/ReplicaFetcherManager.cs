using Microsoft.Extensions.Logging;
using Samsa.Broker.Cluster;
using Samsa.Broker.Network;
using Samsa.Metadata.Image;
using Samsa.Storage.Checkpoints;

namespace Samsa.Broker.Replication;

/// <summary>The follower side's settings: Kafka's <c>replica.fetch.*</c> configs.</summary>
public sealed record ReplicaFetcherConfig
{
    public int NodeId { get; init; }

    /// <summary>The listener followers reach their leaders on (the inter-broker listener).</summary>
    public required string ListenerName { get; init; }

    public int MaxWaitMs { get; init; } = 500;

    public int MinBytes { get; init; } = 1;

    public int MaxBytes { get; init; } = 10 * 1024 * 1024;

    public int PartitionMaxBytes { get; init; } = 1024 * 1024;

    public TimeSpan Backoff { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// The follower side of replication (Kafka's <c>ReplicaFetcherManager</c>): every hosted partition this node follows
/// (a replica, not the leader, the leader known, its log open) is assigned to the <see cref="ReplicaFetcherThread"/>
/// of its leader, one per source broker, which batches all of that leader's partitions into one Fetch. Reconciled
/// whenever the hosted partitions change: a new leader or leader epoch moves the partition to the right fetcher,
/// becoming leader (or losing the replica) removes it.
/// </summary>
public sealed class ReplicaFetcherManager : IAsyncDisposable
{
    private readonly PartitionRegistry _partitions;
    private readonly MetadataCache _metadata;
    private readonly NetworkClient _client;
    private readonly ReplicaFetcherConfig _config;
    private readonly Func<long> _brokerEpoch;
    private readonly Action<TopicPartition> _appended;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<int, ReplicaFetcherThread> _fetchers = [];
    private readonly Dictionary<TopicPartition, (int Leader, int Epoch)> _assigned = [];
    private bool _closed;

    /// <param name="appended">Called after a follower append, so fetches waiting on the partition can complete.</param>
    public ReplicaFetcherManager(PartitionRegistry partitions, MetadataCache metadata, NetworkClient client, ReplicaFetcherConfig config,
        Func<long> brokerEpoch, Action<TopicPartition> appended, TimeProvider time, ILogger logger)
    {
        _partitions = partitions;
        _metadata = metadata;
        _client = client;
        _config = config;
        _brokerEpoch = brokerEpoch;
        _appended = appended;
        _time = time;
        _logger = logger;
    }

    /// <summary>The source brokers fetched from now (tests and tools).</summary>
    public IReadOnlyList<int> SourceBrokers
    {
        get
        {
            lock (_lock)
            {
                return [.. _fetchers.Keys];
            }
        }
    }

    /// <summary>Assigns every followed partition to its leader's fetcher and drops the rest.</summary>
    public void Reconcile()
    {
        lock (_lock)
        {
            if (_closed)
            {
                return;
            }
            var wanted = new Dictionary<TopicPartition, (Partition Partition, int Leader, int Epoch)>();
            foreach (var partition in _partitions.All)
            {
                if (partition.State is { Leader: >= 0 } state && state.Leader != _config.NodeId && partition.Log is not null)
                {
                    wanted[partition.TopicPartition] = (partition, state.Leader, state.LeaderEpoch);
                }
            }
            foreach (var (tp, (leader, _)) in _assigned.ToList())
            {
                if (!wanted.TryGetValue(tp, out var now) || now.Leader != leader)
                {
                    _fetchers[leader].Remove(tp);
                    _assigned.Remove(tp);
                }
            }
            foreach (var (tp, (partition, leader, epoch)) in wanted)
            {
                if (_assigned.TryGetValue(tp, out var current) && current == (leader, epoch))
                {
                    continue;
                }
                if (!_fetchers.TryGetValue(leader, out var fetcher))
                {
                    fetcher = new ReplicaFetcherThread(leader, _metadata, _client, _config, _brokerEpoch, _appended, _time, _logger);
                    _fetchers[leader] = fetcher;
                    fetcher.Start();
                }
                fetcher.AddOrUpdate(partition, epoch);
                _assigned[tp] = (leader, epoch);
            }
            foreach (var (leader, fetcher) in _fetchers.ToList())
            {
                if (fetcher.IsEmpty)
                {
                    _fetchers.Remove(leader);
                    _ = fetcher.DisposeAsync().AsTask();
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        List<ReplicaFetcherThread> fetchers;
        lock (_lock)
        {
            _closed = true;
            fetchers = [.. _fetchers.Values];
            _fetchers.Clear();
            _assigned.Clear();
        }
        foreach (var fetcher in fetchers)
        {
            await fetcher.DisposeAsync();
        }
    }
}
