namespace Samsa.Metadata.Controller;

/// <summary>
/// Places the replicas of new partitions on the active brokers (Kafka's <c>StripedReplicaPlacer</c>, for a cluster
/// without racks). The brokers are taken in id order from a start offset: partition p gets the RF brokers that follow
/// the offset, and every new partition moves the offset on by one, so leaders (the first replica) and followers
/// spread evenly. Once as many partitions as there are brokers have been placed the list is shuffled, so a topic with
/// many partitions does not repeat the same replica sets over and over.
/// </summary>
/// <remarks>
/// Kafka also places followers on fenced brokers when the unfenced ones run out (never the leader). Samsa does not:
/// a fenced replica would start outside the ISR, and without AlterPartition it could never join it. So the
/// replication factor is bounded by the active brokers, with Kafka's message. Everything random comes from the
/// <see cref="Random"/> passed in, so a seeded one gives the same placement every time.
/// </remarks>
public sealed class StripedReplicaPlacer
{
    private readonly Random _random;
    private readonly List<int> _brokers;
    private int _offset;
    private int _listEpoch;
    private int _index;
    private int _epoch;

    /// <param name="activeBrokers">The brokers that may hold new replicas: registered, unfenced, not shutting down.</param>
    /// <param name="previousLeader">The leader of the topic's last existing partition, when adding partitions: the
    /// new ones start at the broker after it, as Kafka's placer continues a topic's stripe.</param>
    public StripedReplicaPlacer(IEnumerable<int> activeBrokers, Random random, int? previousLeader = null)
    {
        _random = random;
        _brokers = [.. activeBrokers.Order()];
        if (_brokers.Count > 0)
        {
            var previous = previousLeader is { } leader ? _brokers.IndexOf(leader) : -1;
            _offset = previous >= 0 ? (previous + 1) % _brokers.Count : random.Next(_brokers.Count);
        }
    }

    public int BrokerCount => _brokers.Count;

    /// <summary>
    /// Why <paramref name="replicationFactor"/> replicas cannot be placed, as Kafka's <c>InvalidReplicationFactorException</c>
    /// says it (CreateTopics prefixes "Unable to replicate the partition N time(s): "), or null when they can.
    /// </summary>
    public string? Refusal(int replicationFactor) =>
        replicationFactor <= 0 ? $"Invalid replication factor {replicationFactor}: the replication factor must be positive."
        : _brokers.Count == 0 ? "All brokers are currently fenced."
        : replicationFactor > _brokers.Count ? $"The target replication factor of {replicationFactor} cannot be reached because only {_brokers.Count} broker(s) are registered."
        : null;

    /// <summary>The replicas of the next partition, leader first. <see cref="Refusal"/> must be null for this factor.</summary>
    public List<int> Place(int replicationFactor)
    {
        if (Refusal(replicationFactor) is { } refusal)
        {
            throw new InvalidOperationException(refusal);
        }
        if (_epoch == _brokers.Count && _brokers.Count > 1)
        {
            Shuffle();
            _epoch = 0;
        }
        var replicas = new List<int>(replicationFactor);
        for (var r = 0; r < replicationFactor; r++)
        {
            replicas.Add(Next());
        }
        _epoch++;
        return replicas;
    }

    /// <summary>The next broker of this partition: a new partition (epoch) starts one place further on.</summary>
    private int Next()
    {
        if (_listEpoch != _epoch)
        {
            _listEpoch = _epoch;
            _index = 0;
            _offset = (_offset + 1) % _brokers.Count;
        }
        return _brokers[(_index++ + _offset) % _brokers.Count];
    }

    private void Shuffle()
    {
        for (var i = _brokers.Count - 1; i > 0; i--)
        {
            var j = _random.Next(i + 1);
            (_brokers[i], _brokers[j]) = (_brokers[j], _brokers[i]);
        }
    }
}
