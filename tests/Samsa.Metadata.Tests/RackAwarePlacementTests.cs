using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Metadata.Tests;

/// <summary>
/// Rack-aware replica placement, as Kafka's <c>StripedReplicaPlacer</c> (<c>StripedReplicaPlacerTest</c>): replicas
/// of a partition on distinct racks while there are racks left, leaders rotating over racks and brokers, brokers
/// without a rack forming one rack, and Kafka's refusals when the replication factor cannot be met.
/// </summary>
public sealed class RackAwarePlacementTests
{
    private static readonly (int Id, string? Rack)[] ThreeRacksOfTwo =
        [(1, "a"), (2, "a"), (3, "b"), (4, "b"), (5, "c"), (6, "c")];

    private static List<List<int>> Place(StripedReplicaPlacer placer, int partitions, int replicationFactor) =>
        [.. Enumerable.Range(0, partitions).Select(_ => placer.Place(replicationFactor))];

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(42)]
    public void ThreeRacksOfTwo_ReplicationFactorThree_PutsEveryPartitionOnThreeRacks(int seed)
    {
        var rackOf = ThreeRacksOfTwo.ToDictionary(b => b.Id, b => b.Rack);
        var placements = Place(new StripedReplicaPlacer(ThreeRacksOfTwo, new Random(seed)), 100, 3);
        Assert.All(placements, replicas =>
        {
            Assert.Equal(3, replicas.Distinct().Count());
            Assert.Equal(3, replicas.Select(r => rackOf[r]).Distinct().Count());
        });
    }

    [Theory]
    [InlineData(1, 60)]
    [InlineData(7, 61)]
    [InlineData(42, 100)]
    [InlineData(3, 5)]
    public void ThreeRacksOfTwo_SpreadsLeadersEvenlyOverBrokers(int seed, int partitions)
    {
        var placements = Place(new StripedReplicaPlacer(ThreeRacksOfTwo, new Random(seed)), partitions, 3);
        var leaders = ThreeRacksOfTwo.Select(b => placements.Count(p => p[0] == b.Id)).ToList();
        Assert.True(leaders.Max() - leaders.Min() <= 1, $"leaders per broker: {string.Join(", ", leaders)}");

        // Followers spread too: every broker holds the same number of replicas, give or take one partition's worth.
        var replicas = ThreeRacksOfTwo.Select(b => placements.Count(p => p.Contains(b.Id))).ToList();
        Assert.True(replicas.Max() - replicas.Min() <= 1, $"replicas per broker: {string.Join(", ", replicas)}");
    }

    [Fact]
    public void FirstReplica_RotatesOverRacks_InStripes()
    {
        var rackOf = ThreeRacksOfTwo.ToDictionary(b => b.Id, b => b.Rack);
        var placements = Place(new StripedReplicaPlacer(ThreeRacksOfTwo, new Random(5)), 6, 3);
        var racks = placements.Select(p => string.Concat(p.Select(r => rackOf[r]))).ToList();

        // Kafka's striped pattern: each partition starts one rack further on and goes round the racks in order.
        var order = racks[0];
        for (var p = 0; p < racks.Count; p++)
        {
            Assert.Equal(string.Concat(order[(p % 3)..], order[..(p % 3)]), racks[p]);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(9)]
    public void TwoRacks_ReplicationFactorThree_CoversBothRacks(int seed)
    {
        (int, string?)[] brokers = [(1, "east"), (2, "east"), (3, "east"), (4, "west"), (5, "west")];
        var rackOf = brokers.ToDictionary(b => b.Item1, b => b.Item2);
        var placements = Place(new StripedReplicaPlacer(brokers, new Random(seed)), 50, 3);
        Assert.All(placements, replicas =>
        {
            Assert.Equal(3, replicas.Distinct().Count());
            Assert.Equal(2, replicas.Select(r => rackOf[r]).Distinct().Count());
        });
    }

    [Fact]
    public void BrokersWithoutARack_CountAsOneRack()
    {
        (int, string?)[] brokers = [(1, null), (2, null), (3, "a"), (4, "a")];
        var placements = Place(new StripedReplicaPlacer(brokers, new Random(3)), 20, 2);
        Assert.All(placements, replicas => Assert.Single(replicas, r => r <= 2));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(11)]
    [InlineData(12345)]
    public void BrokersWithoutRacks_ArePlacedAsBefore(int seed)
    {
        int[] ids = [5, 1, 3, 2, 4];
        foreach (var replicationFactor in new[] { 1, 2, 3, 5 })
        {
            var rackless = Place(new StripedReplicaPlacer(ids.Select(id => (id, (string?)null)), new Random(seed)), 23, replicationFactor);
            Assert.Equal(RacklessStripe(ids, new Random(seed), 23, replicationFactor), rackless);
            Assert.Equal(rackless, Place(new StripedReplicaPlacer(ids, new Random(seed)), 23, replicationFactor));
        }
    }

    [Fact]
    public void AddingPartitions_ContinuesTheStripe()
    {
        var rackOf = ThreeRacksOfTwo.ToDictionary(b => b.Id, b => b.Rack);
        var existing = Place(new StripedReplicaPlacer(ThreeRacksOfTwo, new Random(8)), 4, 3);
        var added = Place(new StripedReplicaPlacer(ThreeRacksOfTwo, new Random(99), [.. existing]), 8, 3);

        // The first new partition leads from the rack after the last existing leader's rack ("a" < "b" < "c").
        var lastLeaderRack = rackOf[existing[^1][0]]![0];
        Assert.Equal((char)('a' + ((lastLeaderRack - 'a' + 1) % 3)), rackOf[added[0][0]]![0]);
        Assert.All(added, replicas => Assert.Equal(3, replicas.Select(r => rackOf[r]).Distinct().Count()));

        // Without racks, the new partitions start at the broker after the last leader.
        var rackless = new StripedReplicaPlacer([(1, null), (2, null), (3, null)], new Random(1), [[2, 3, 1]]);
        Assert.Equal([3, 1], rackless.Place(2));
    }

    [Fact]
    public void ReplicationFactorAboveTheBrokers_IsRefusedWithKafkasMessage()
    {
        var placer = new StripedReplicaPlacer(ThreeRacksOfTwo, new Random(1));
        Assert.Equal("The target replication factor of 7 cannot be reached because only 6 broker(s) are registered.", placer.Refusal(7));
        Assert.Null(placer.Refusal(6));
        Assert.Equal("Invalid replication factor 0: the replication factor must be positive.", placer.Refusal(0));
        Assert.Equal("All brokers are currently fenced.", new StripedReplicaPlacer(Array.Empty<(int, string?)>(), new Random(1)).Refusal(1));
        Assert.Throws<InvalidOperationException>(() => placer.Place(7));

        // Replication factor 6 takes every broker: each rack once, then each rack a second time.
        var six = placer.Place(6);
        Assert.Equal([1, 2, 3, 4, 5, 6], six.Order());
    }

    [Fact]
    public void CreateTopics_PlacesOverTheRegisteredRacks()
    {
        var image = MetadataImage.Empty("c");
        foreach (var (id, rack) in ThreeRacksOfTwo)
        {
            image = image.WithBroker(new BrokerRegistration(id, [new BrokerEndpoint("PLAINTEXT", "localhost", 9090 + id)], rack));
        }
        // A fenced broker on a fourth rack takes no replicas.
        image = image.WithBroker(new BrokerRegistration(7, [new BrokerEndpoint("PLAINTEXT", "localhost", 9097)], "d", Fenced: true));
        var options = new ControllerOptions { Random = new Random(4) };

        var request = new CreateTopicsRequest { Topics = [new() { Name = "t", NumPartitions = 12, ReplicationFactor = 3 }] };
        var result = ReplicationControlManager.CreateTopics(image, request, options);
        Assert.Equal(0, result.Response.Topics.Single().ErrorCode);
        var partitions = result.Records.Select(r => r.Message).OfType<Samsa.Protocol.MetadataRecords.PartitionRecord>().ToList();
        Assert.Equal(12, partitions.Count);
        var rackOf = ThreeRacksOfTwo.ToDictionary(b => b.Id, b => b.Rack);
        Assert.All(partitions, p => Assert.Equal(3, p.Replicas.Select(r => rackOf[r]).Distinct().Count()));
        Assert.All(ThreeRacksOfTwo, b => Assert.Equal(2, partitions.Count(p => p.Leader == b.Id)));

        var tooMany = new CreateTopicsRequest { Topics = [new() { Name = "u", NumPartitions = 1, ReplicationFactor = 7 }] };
        var refused = ReplicationControlManager.CreateTopics(image, tooMany, options).Response.Topics.Single();
        Assert.Equal((short)ErrorCode.InvalidReplicationFactor, refused.ErrorCode);
        Assert.Equal("Unable to replicate the partition 7 time(s): The target replication factor of 7 cannot be reached because only 6 broker(s) are registered.", refused.ErrorMessage);
    }

    /// <summary>The rack-unaware stripe Samsa placed with before racks: the brokers in id order from a random offset,
    /// one further on per partition, shuffled after as many partitions as brokers.</summary>
    private static List<List<int>> RacklessStripe(int[] ids, Random random, int partitions, int replicationFactor)
    {
        var brokers = ids.Order().ToList();
        var offset = random.Next(brokers.Count);
        var result = new List<List<int>>();
        for (var p = 0; p < partitions; p++)
        {
            if (p > 0 && p % brokers.Count == 0)
            {
                for (var i = brokers.Count - 1; i > 0; i--)
                {
                    var j = random.Next(i + 1);
                    (brokers[i], brokers[j]) = (brokers[j], brokers[i]);
                }
            }
            if (p > 0)
            {
                offset = (offset + 1) % brokers.Count;
            }
            result.Add([.. Enumerable.Range(0, replicationFactor).Select(r => brokers[(offset + r) % brokers.Count])]);
        }
        return result;
    }
}
