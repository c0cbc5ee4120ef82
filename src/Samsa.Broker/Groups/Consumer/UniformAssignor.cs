using Samsa.Protocol;

namespace Samsa.Broker.Groups.Consumer;

/// <summary>
/// Kafka's default server-side assignor (<c>uniform</c>): spreads partitions as evenly as subscriptions allow
/// and moves as few as it can from the current target assignment.
///
/// 1. Every member keeps the partitions of its current target that still exist, that it still subscribes to, and
///    that no earlier member kept.
/// 2. Each unassigned partition goes to the least-loaded member subscribed to its topic (ties by member id).
/// 3. While some member could hand a partition to a subscribed member with at least two fewer, it does. Each move
///    lowers the sum of squared loads, so this ends; when all members share one subscription it ends with every
///    load within one of the others (Kafka's balance for the homogeneous case).
/// Tests: UniformAssignorTests (balance, every partition once, stickiness).
/// </summary>
public sealed class UniformAssignor : IConsumerGroupAssignor
{
    public const string AssignorName = "uniform";

    public string Name => AssignorName;

    public IReadOnlyDictionary<string, Assignment> Assign(IReadOnlyDictionary<string, AssignmentMemberSpec> members, ISubscribedTopicDescriber topics)
    {
        var memberIds = members.Keys.OrderBy(m => m, StringComparer.Ordinal).ToArray();
        var owned = memberIds.ToDictionary(m => m, _ => new SortedSet<TopicIdPartition>(PartitionOrder.Instance), StringComparer.Ordinal);
        var owner = new Dictionary<TopicIdPartition, string>();

        // Subscribers per topic, in member id order.
        var subscribers = new Dictionary<Uuid, List<string>>();
        foreach (var memberId in memberIds)
        {
            foreach (var topicId in members[memberId].SubscribedTopicIds)
            {
                if (topics.PartitionCount(topicId) > 0)
                {
                    (subscribers.TryGetValue(topicId, out var list) ? list : subscribers[topicId] = []).Add(memberId);
                }
            }
        }

        // 1. Stickiness.
        foreach (var memberId in memberIds)
        {
            var spec = members[memberId];
            foreach (var p in spec.CurrentTarget.All())
            {
                if (spec.SubscribedTopicIds.Contains(p.TopicId) && p.Partition < topics.PartitionCount(p.TopicId) && owner.TryAdd(p, memberId))
                {
                    owned[memberId].Add(p);
                }
            }
        }

        // 2. Unassigned partitions to the least-loaded subscriber; topics with fewer subscribers first, so the
        //    constrained members fill before the flexible ones.
        foreach (var topicId in ConsumerGroupAssignors.SortedIds(subscribers.Keys).OrderBy(t => subscribers[t].Count))
        {
            var count = topics.PartitionCount(topicId);
            for (var partition = 0; partition < count; partition++)
            {
                var p = new TopicIdPartition(topicId, partition);
                if (owner.ContainsKey(p))
                {
                    continue;
                }
                var target = LeastLoaded(subscribers[topicId], owned);
                owned[target].Add(p);
                owner[p] = target;
            }
        }

        // 3. Balance by single moves, always from the most loaded member that can give: a donor never becomes a
        //    receiver when all share one subscription, so no partition moves twice.
        while (MoveOne(memberIds, owned, subscribers))
        {
        }

        return owned.ToDictionary(e => e.Key, e => Assignment.Of(e.Value), StringComparer.Ordinal);
    }

    private static bool MoveOne(string[] memberIds, Dictionary<string, SortedSet<TopicIdPartition>> owned, Dictionary<Uuid, List<string>> subscribers)
    {
        foreach (var from in memberIds.OrderByDescending(m => owned[m].Count).ThenBy(m => m, StringComparer.Ordinal))
        {
            // Hand over the highest partitions first: the low ones tend to stay where they were.
            foreach (var p in owned[from].Reverse())
            {
                var to = LeastLoaded(subscribers[p.TopicId], owned);
                if (owned[to].Count + 1 < owned[from].Count)
                {
                    owned[from].Remove(p);
                    owned[to].Add(p);
                    return true;
                }
            }
        }
        return false;
    }

    private static string LeastLoaded(List<string> candidates, Dictionary<string, SortedSet<TopicIdPartition>> owned)
    {
        var best = candidates[0];
        foreach (var candidate in candidates)
        {
            if (owned[candidate].Count < owned[best].Count)
            {
                best = candidate;
            }
        }
        return best;
    }

    private sealed class PartitionOrder : IComparer<TopicIdPartition>
    {
        public static readonly PartitionOrder Instance = new();

        public int Compare(TopicIdPartition x, TopicIdPartition y)
        {
            var c = x.TopicId.MostSignificantBits.CompareTo(y.TopicId.MostSignificantBits);
            if (c == 0)
            {
                c = x.TopicId.LeastSignificantBits.CompareTo(y.TopicId.LeastSignificantBits);
            }
            return c != 0 ? c : x.Partition.CompareTo(y.Partition);
        }
    }
}
