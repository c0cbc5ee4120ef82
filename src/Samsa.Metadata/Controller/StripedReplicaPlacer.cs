namespace Samsa.Metadata.Controller;

/// <summary>
/// Places the replicas of new partitions on the active brokers, rack-aware, as Kafka's <c>StripedReplicaPlacer</c>.
/// The brokers are grouped by rack (brokers without a rack form one rack of their own, sorted before the named ones;
/// names compare ordinally). Racks are visited round-robin from a start offset, and within each rack the brokers are
/// visited round-robin from their own start offset:
/// <list type="bullet">
/// <item>the first replica (the leader) of partition p comes from the p-th rack after the start, so leaders rotate
/// over racks, and within a rack over its brokers;</item>
/// <item>the other replicas come from the following racks in turn, skipping the leader's rack once, so the replicas
/// of a partition sit on distinct racks as long as there are racks left; only then does a rack give a second
/// broker;</item>
/// <item>every new partition (an iteration epoch) moves the rack offset and each rack's broker offset on by one,
/// which gives the striped pattern (A0 B0 C0, B1 C1 A1, C2 A2 B2, ...);</item>
/// <item>once as many partitions as there are brokers have been placed, the rack order and each rack's broker order
/// are shuffled, so a topic with many partitions does not repeat the same replica sets.</item>
/// </list>
/// Without racks this is exactly the rack-unaware stripe: one rack holding every broker.
/// </summary>
/// <remarks>
/// Kafka also places followers on fenced brokers when the unfenced ones run out (never the leader). Samsa does not:
/// a fenced replica would start outside the ISR, and without AlterPartition it could never join it. So the
/// replication factor is bounded by the active brokers, with Kafka's message. Everything random comes from the
/// <see cref="Random"/> passed in, so a seeded one gives the same placement every time; a cluster with a single rack
/// draws exactly the numbers the rack-unaware placer drew (one start offset, then the shuffles).
/// <para>One deliberate difference: Kafka sets its iteration epoch back to 0 when it shuffles, so a rack last asked
/// for a broker in epoch 0 of the previous round takes the new epoch 0 for the old one and carries on where it
/// stopped (or gives nothing). Here the epoch only grows and a separate count triggers the shuffle, so every
/// partition starts afresh in every rack; the placements are otherwise the same.</para>
/// </remarks>
public sealed class StripedReplicaPlacer
{
    private readonly Random _random;

    /// <summary>The racks in visiting order: sorted at first (null first), shuffled later.</summary>
    private readonly List<Rack> _racks;

    /// <summary>The racks in their sorted order, which never changes (the order their broker lists are shuffled in).</summary>
    private readonly Rack[] _sortedRacks;

    private readonly int _brokerCount;
    private int _offset;

    /// <summary>The iteration epoch: one per partition placed. It only grows, so no rack can mistake a new
    /// partition for one it already served.</summary>
    private int _epoch;

    /// <summary>The partitions placed since the last shuffle (Kafka resets its epoch instead).</summary>
    private int _sinceShuffle;

    /// <summary>A placer over brokers that have no rack (the rack-unaware stripe).</summary>
    public StripedReplicaPlacer(IEnumerable<int> activeBrokers, Random random)
        : this(activeBrokers.Select(id => (id, (string?)null)), random)
    {
    }

    /// <param name="activeBrokers">The brokers that may hold new replicas (registered, unfenced, not shutting down)
    /// with their racks.</param>
    /// <param name="existingPartitions">The replicas of the topic's existing partitions, in partition order, when
    /// adding partitions: as Kafka's placer, the new ones continue the topic's stripe, starting at the rack after the
    /// last partition's leader, and in each rack at the broker after the one the latest partition put there.</param>
    public StripedReplicaPlacer(IEnumerable<(int Id, string? Rack)> activeBrokers, Random random, IReadOnlyList<IReadOnlyList<int>>? existingPartitions = null)
    {
        _random = random;
        var byName = new Dictionary<string, Rack>(StringComparer.Ordinal);
        Rack? noRack = null;
        var rackOf = new Dictionary<int, Rack>();
        foreach (var (id, rackName) in activeBrokers)
        {
            if (rackOf.ContainsKey(id))
            {
                continue;
            }
            Rack rack;
            if (rackName is null)
            {
                rack = noRack ??= new Rack(null);
            }
            else if (!byName.TryGetValue(rackName, out rack!))
            {
                rack = new Rack(rackName);
                byName.Add(rackName, rack);
            }
            rack.Brokers.Add(id);
            rackOf.Add(id, rack);
        }
        _brokerCount = rackOf.Count;
        _sortedRacks = [.. byName.Values.OrderBy(r => r.Name, StringComparer.Ordinal)];
        if (noRack is not null)
        {
            _sortedRacks = [noRack, .. _sortedRacks];
        }
        _racks = [.. _sortedRacks];

        existingPartitions ??= [];
        foreach (var rack in _sortedRacks)
        {
            rack.Brokers.Sort();
            rack.Offset = PreviousBrokerIndex(rack, rackOf, existingPartitions) is { } previous
                ? (previous + 1) % rack.Brokers.Count
                : random.Next(rack.Brokers.Count);
        }
        if (PreviousRackIndex(rackOf, existingPartitions) is { } previousRack)
        {
            _offset = (previousRack + 1) % _racks.Count;
        }
        else if (_racks.Count > 1)
        {
            _offset = random.Next(_racks.Count);
        }
    }

    public int BrokerCount => _brokerCount;

    /// <summary>
    /// Why <paramref name="replicationFactor"/> replicas cannot be placed, as Kafka's <c>InvalidReplicationFactorException</c>
    /// says it (CreateTopics prefixes "Unable to replicate the partition N time(s): "), or null when they can.
    /// </summary>
    public string? Refusal(int replicationFactor) =>
        replicationFactor <= 0 ? $"Invalid replication factor {replicationFactor}: the replication factor must be positive."
        : _brokerCount == 0 ? "All brokers are currently fenced."
        : replicationFactor > _brokerCount ? $"The target replication factor of {replicationFactor} cannot be reached because only {_brokerCount} broker(s) are registered."
        : null;

    /// <summary>The replicas of the next partition, leader first. <see cref="Refusal"/> must be null for this factor.</summary>
    public List<int> Place(int replicationFactor)
    {
        if (Refusal(replicationFactor) is { } refusal)
        {
            throw new InvalidOperationException(refusal);
        }
        if (_sinceShuffle == _brokerCount && _brokerCount > 1)
        {
            Shuffle();
            _sinceShuffle = 0;
        }
        if (_offset == _racks.Count)
        {
            _offset = 0;
        }
        var replicas = new List<int>(replicationFactor);

        // The leader: the first rack from the offset on that still has a broker for this partition.
        var leaderRack = _offset;
        while (true)
        {
            if (_racks[leaderRack].Next(_epoch) is { } leader)
            {
                replicas.Add(leader);
                break;
            }
            leaderRack = (leaderRack + 1) % _racks.Count;
        }

        // The followers: the racks in turn from the offset, passing over the leader's rack the first time round, so
        // each rack gives one replica before any gives a second.
        var skip = leaderRack;
        var index = _offset;
        while (replicas.Count < replicationFactor)
        {
            int? follower = null;
            while (follower is null)
            {
                if (index == skip)
                {
                    skip = -1;
                }
                else
                {
                    follower = _racks[index].Next(_epoch);
                }
                index = (index + 1) % _racks.Count;
            }
            replicas.Add(follower.Value);
        }
        _epoch++;
        _sinceShuffle++;
        _offset++;
        return replicas;
    }

    private void Shuffle()
    {
        Shuffle(_racks);
        foreach (var rack in _sortedRacks)
        {
            Shuffle(rack.Brokers);
        }
    }

    private void Shuffle<T>(List<T> list)
    {
        for (var i = list.Count - 1; i > 0; i--)
        {
            var j = _random.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }

    /// <summary>Where the rack of the last existing partition's leader stands among the sorted racks, if it is still active.</summary>
    private int? PreviousRackIndex(Dictionary<int, Rack> rackOf, IReadOnlyList<IReadOnlyList<int>> existingPartitions)
    {
        if (existingPartitions.Count == 0 || existingPartitions[^1].Count == 0 || !rackOf.TryGetValue(existingPartitions[^1][0], out var rack))
        {
            return null;
        }
        return _racks.IndexOf(rack);
    }

    /// <summary>
    /// Where, in the rack's sorted brokers, stands the broker of this rack that the latest existing partition placed
    /// there (the partitions searched from the last, each one's replicas in order), if any.
    /// </summary>
    private static int? PreviousBrokerIndex(Rack rack, Dictionary<int, Rack> rackOf, IReadOnlyList<IReadOnlyList<int>> existingPartitions)
    {
        for (var p = existingPartitions.Count - 1; p >= 0; p--)
        {
            foreach (var broker in existingPartitions[p])
            {
                if (rackOf.TryGetValue(broker, out var brokerRack) && brokerRack == rack)
                {
                    return rack.Brokers.IndexOf(broker);
                }
            }
        }
        return null;
    }

    /// <summary>
    /// The active brokers of one rack, visited round-robin: each epoch (partition) starts one place further on and
    /// gives every broker at most once.
    /// </summary>
    private sealed class Rack(string? name)
    {
        public string? Name { get; } = name;

        public List<int> Brokers { get; } = [];

        public int Offset { get; set; }

        private int _index;
        private int _epoch;

        /// <summary>The next broker of this rack for the partition of <paramref name="epoch"/>, or null when it has given them all.</summary>
        public int? Next(int epoch)
        {
            if (_epoch != epoch)
            {
                _epoch = epoch;
                _index = 0;
                Offset = (Offset + 1) % Brokers.Count;
            }
            if (_index >= Brokers.Count)
            {
                return null;
            }
            return Brokers[(_index++ + Offset) % Brokers.Count];
        }
    }
}
