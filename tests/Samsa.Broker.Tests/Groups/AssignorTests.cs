using Samsa.Broker.Groups.Consumer;
using Samsa.Protocol;

namespace Samsa.Broker.Tests.Groups;

internal sealed class TopicCounts(Dictionary<Uuid, int> counts) : ISubscribedTopicDescriber
{
    public int PartitionCount(Uuid topicId) => counts.TryGetValue(topicId, out var n) ? n : -1;
}

public class UniformAssignorTests
{
    private static readonly Uuid TopicA = new(1, 1);
    private static readonly Uuid TopicB = new(2, 2);
    private static readonly Uuid TopicC = new(3, 3);

    private static void AssertEveryPartitionOnce(IReadOnlyDictionary<string, Assignment> result, Dictionary<Uuid, int> counts,
        IReadOnlyDictionary<string, AssignmentMemberSpec> members)
    {
        var seen = new HashSet<TopicIdPartition>();
        foreach (var (memberId, assignment) in result)
        {
            foreach (var p in assignment.All())
            {
                Assert.True(seen.Add(p), $"{p} assigned twice");
                Assert.Contains(p.TopicId, members[memberId].SubscribedTopicIds);
                Assert.InRange(p.Partition, 0, counts[p.TopicId] - 1);
            }
        }
        foreach (var (topicId, count) in counts)
        {
            if (members.Values.Any(m => m.SubscribedTopicIds.Contains(topicId)))
            {
                for (var p = 0; p < count; p++)
                {
                    Assert.Contains(new TopicIdPartition(topicId, p), seen);
                }
            }
        }
    }

    [Fact]
    public void Assign_OneMember_GetsAllPartitions()
    {
        var counts = new Dictionary<Uuid, int> { [TopicA] = 3 };
        var members = new Dictionary<string, AssignmentMemberSpec> { ["m1"] = new(new HashSet<Uuid> { TopicA }, Assignment.Empty) };
        var result = new UniformAssignor().Assign(members, new TopicCounts(counts));
        Assert.Equal(Assignment.Of((TopicA, [0, 1, 2])), result["m1"]);
    }

    [Fact]
    public void Assign_SecondMemberJoins_MovesOnlyOnePartition()
    {
        var counts = new Dictionary<Uuid, int> { [TopicA] = 3 };
        var members = new Dictionary<string, AssignmentMemberSpec>
        {
            ["m1"] = new(new HashSet<Uuid> { TopicA }, Assignment.Of((TopicA, [0, 1, 2]))),
            ["m2"] = new(new HashSet<Uuid> { TopicA }, Assignment.Empty),
        };
        var result = new UniformAssignor().Assign(members, new TopicCounts(counts));
        Assert.Equal(2, result["m1"].Count);
        Assert.Equal(1, result["m2"].Count);
        Assert.True(result["m1"].Except(Assignment.Of((TopicA, [0, 1, 2]))).IsEmpty, "m1 gains nothing");
        AssertEveryPartitionOnce(result, counts, members);
    }

    [Fact]
    public void Assign_FourMembersThreePartitions_OneMemberGetsNothing()
    {
        var counts = new Dictionary<Uuid, int> { [TopicA] = 3 };
        var members = Enumerable.Range(1, 4).ToDictionary(i => $"m{i}", _ => new AssignmentMemberSpec(new HashSet<Uuid> { TopicA }, Assignment.Empty));
        var result = new UniformAssignor().Assign(members, new TopicCounts(counts));
        Assert.Equal([0, 1, 1, 1], result.Values.Select(a => a.Count).Order());
        AssertEveryPartitionOnce(result, counts, members);
    }

    /// <summary>Random homogeneous groups, then random membership changes: always balanced within one, every partition once, and sticky.</summary>
    [Fact]
    public void Assign_RandomHomogeneousGroups_BalancedCompleteAndSticky()
    {
        var random = new Random(848);
        for (var round = 0; round < 200; round++)
        {
            var counts = new Dictionary<Uuid, int> { [TopicA] = random.Next(1, 20), [TopicB] = random.Next(1, 20), [TopicC] = random.Next(1, 5) };
            var subscription = new HashSet<Uuid> { TopicA, TopicB, TopicC };
            var total = counts.Values.Sum();
            var memberCount = random.Next(1, 12);
            var members = Enumerable.Range(0, memberCount).ToDictionary(i => $"member-{i:D2}", _ => new AssignmentMemberSpec(subscription, Assignment.Empty));
            var result = new UniformAssignor().Assign(members, new TopicCounts(counts));
            AssertBalanced(result);
            AssertEveryPartitionOnce(result, counts, members);

            // One member leaves and two join: only the leaver's partitions and what balance needs may move.
            var leaver = members.Keys.ElementAt(random.Next(members.Count));
            var next = members.Keys.Where(m => m != leaver).ToDictionary(m => m, m => new AssignmentMemberSpec(subscription, result[m]));
            next[$"joiner-{round}-a"] = new AssignmentMemberSpec(subscription, Assignment.Empty);
            next[$"joiner-{round}-b"] = new AssignmentMemberSpec(subscription, Assignment.Empty);
            var after = new UniformAssignor().Assign(next, new TopicCounts(counts));
            AssertBalanced(after);
            AssertEveryPartitionOnce(after, counts, next);

            var quotaFloor = total / next.Count;
            foreach (var m in next.Keys.Where(m => !m.StartsWith("joiner", StringComparison.Ordinal)))
            {
                // A stayer keeps min(previous, floor quota) of its partitions at least.
                var kept = after[m].Intersect(result[m]).Count;
                Assert.True(kept >= Math.Min(result[m].Count, quotaFloor), $"round {round}: {m} kept {kept} of {result[m].Count}, floor {quotaFloor}");
                Assert.True(after[m].Except(result[m]).IsEmpty || result[m].Count < quotaFloor + 1, $"round {round}: {m} gained partitions while already at quota");
            }
        }
    }

    [Fact]
    public void Assign_HeterogeneousSubscriptions_OnlySubscribedTopicsAndEveryPartitionOnce()
    {
        var random = new Random(4848);
        var all = new[] { TopicA, TopicB, TopicC };
        for (var round = 0; round < 200; round++)
        {
            var counts = all.ToDictionary(t => t, _ => random.Next(1, 10));
            var members = Enumerable.Range(0, random.Next(1, 8)).ToDictionary(i => $"m{i}", _ =>
                new AssignmentMemberSpec(all.Where(_ => random.Next(2) == 0).DefaultIfEmpty(TopicA).ToHashSet(), Assignment.Empty));
            var result = new UniformAssignor().Assign(members, new TopicCounts(counts));
            AssertEveryPartitionOnce(result, counts, members);
            // No single move to a member subscribed to the partition's topic would narrow the spread.
            foreach (var (from, assignment) in result)
            {
                foreach (var p in assignment.All())
                {
                    foreach (var (to, spec) in members)
                    {
                        if (spec.SubscribedTopicIds.Contains(p.TopicId))
                        {
                            Assert.True(result[to].Count + 1 >= assignment.Count, $"round {round}: {p} could move from {from} to {to}");
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public void Assign_DeletedTopicInCurrentTarget_IsDropped()
    {
        var counts = new Dictionary<Uuid, int> { [TopicA] = 2 };
        var members = new Dictionary<string, AssignmentMemberSpec>
        {
            ["m1"] = new(new HashSet<Uuid> { TopicA, TopicB }, Assignment.Of((TopicA, [0, 1]), (TopicB, [0]))),
        };
        var result = new UniformAssignor().Assign(members, new TopicCounts(counts));
        Assert.Equal(Assignment.Of((TopicA, [0, 1])), result["m1"]);
    }

    private static void AssertBalanced(IReadOnlyDictionary<string, Assignment> result)
    {
        var sizes = result.Values.Select(a => a.Count).ToArray();
        Assert.True(sizes.Max() - sizes.Min() <= 1, $"unbalanced: {string.Join(",", sizes)}");
    }
}

public class RangeAssignorTests
{
    private static readonly Uuid TopicA = new(1, 1);
    private static readonly Uuid TopicB = new(2, 2);

    [Fact]
    public void Assign_ThreeMembersSevenPartitions_ContiguousRangesFirstMembersGetMore()
    {
        var counts = new TopicCounts(new() { [TopicA] = 7 });
        var sub = new HashSet<Uuid> { TopicA };
        var members = new Dictionary<string, AssignmentMemberSpec> { ["c"] = new(sub, Assignment.Empty), ["a"] = new(sub, Assignment.Empty), ["b"] = new(sub, Assignment.Empty) };
        var result = new RangeAssignor().Assign(members, counts);
        Assert.Equal(Assignment.Of((TopicA, [0, 1, 2])), result["a"]);
        Assert.Equal(Assignment.Of((TopicA, [3, 4])), result["b"]);
        Assert.Equal(Assignment.Of((TopicA, [5, 6])), result["c"]);
    }

    [Fact]
    public void Assign_RandomGroups_CoPartitionsTopicsWithSameCountAndSubscribers()
    {
        var random = new Random(68);
        for (var round = 0; round < 200; round++)
        {
            var partitions = random.Next(1, 30);
            var counts = new TopicCounts(new() { [TopicA] = partitions, [TopicB] = partitions });
            var sub = new HashSet<Uuid> { TopicA, TopicB };
            var members = Enumerable.Range(0, random.Next(1, 10)).ToDictionary(i => Guid.NewGuid().ToString(), _ => new AssignmentMemberSpec(sub, Assignment.Empty));
            var result = new RangeAssignor().Assign(members, counts);
            var seen = new HashSet<TopicIdPartition>();
            foreach (var assignment in result.Values)
            {
                Assert.Equal(assignment.PartitionsOf(TopicA), assignment.PartitionsOf(TopicB));
                Assert.All(assignment.All(), p => Assert.True(seen.Add(p)));
                var sizes = result.Values.Select(a => a.PartitionsOf(TopicA).Count).ToArray();
                Assert.True(sizes.Max() - sizes.Min() <= 1);
            }
            Assert.Equal(partitions * 2, seen.Count);
        }
    }

    [Fact]
    public void Assign_MemberNotSubscribed_GetsNothingOfThatTopic()
    {
        var counts = new TopicCounts(new() { [TopicA] = 4, [TopicB] = 2 });
        var members = new Dictionary<string, AssignmentMemberSpec>
        {
            ["a"] = new(new HashSet<Uuid> { TopicA, TopicB }, Assignment.Empty),
            ["b"] = new(new HashSet<Uuid> { TopicA }, Assignment.Empty),
        };
        var result = new RangeAssignor().Assign(members, counts);
        Assert.Equal(Assignment.Of((TopicA, [0, 1]), (TopicB, [0, 1])), result["a"]);
        Assert.Equal(Assignment.Of((TopicA, [2, 3])), result["b"]);
    }
}
