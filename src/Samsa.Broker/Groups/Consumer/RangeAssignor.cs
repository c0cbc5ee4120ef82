namespace Samsa.Broker.Groups.Consumer;

/// <summary>
/// Server-side <c>range</c> assignor: per topic, the subscribed members in member id order each take a
/// contiguous range of partitions, the first <c>partitions % members</c> of them one more. Topics with the same
/// partition count and the same subscribers are therefore co-partitioned: partition i of each goes to the same
/// member, which is what joins over keyed topics need.
///
/// Kafka's server-side range assignor also tries to keep a member's previous partitions when the member set
/// changes; this one recomputes the ranges (documented in docs/UNSUPPORTED.md). Tests: RangeAssignorTests.
/// </summary>
public sealed class RangeAssignor : IConsumerGroupAssignor
{
    public const string AssignorName = "range";

    public string Name => AssignorName;

    public IReadOnlyDictionary<string, Assignment> Assign(IReadOnlyDictionary<string, AssignmentMemberSpec> members, ISubscribedTopicDescriber topics)
    {
        var result = members.Keys.ToDictionary(m => m, _ => new List<TopicIdPartition>(), StringComparer.Ordinal);
        var topicIds = ConsumerGroupAssignors.SortedIds(members.Values.SelectMany(m => m.SubscribedTopicIds).Distinct());
        foreach (var topicId in topicIds)
        {
            var partitionCount = topics.PartitionCount(topicId);
            if (partitionCount <= 0)
            {
                continue;
            }
            var subscribers = members.Where(m => m.Value.SubscribedTopicIds.Contains(topicId))
                .Select(m => m.Key).OrderBy(m => m, StringComparer.Ordinal).ToArray();
            var quota = partitionCount / subscribers.Length;
            var extra = partitionCount % subscribers.Length;
            var next = 0;
            for (var i = 0; i < subscribers.Length; i++)
            {
                var take = quota + (i < extra ? 1 : 0);
                for (var k = 0; k < take; k++)
                {
                    result[subscribers[i]].Add(new TopicIdPartition(topicId, next++));
                }
            }
        }
        return result.ToDictionary(e => e.Key, e => Assignment.Of(e.Value), StringComparer.Ordinal);
    }
}
