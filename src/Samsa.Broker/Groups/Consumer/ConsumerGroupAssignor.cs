using Samsa.Protocol;

namespace Samsa.Broker.Groups.Consumer;

/// <summary>What the assignor knows of one member: its subscribed topics (ids) and its current target assignment.</summary>
public sealed record AssignmentMemberSpec(IReadOnlySet<Uuid> SubscribedTopicIds, Assignment CurrentTarget, string? RackId = null);

/// <summary>Partition counts of the subscribed topics (Kafka's <c>SubscribedTopicDescriber</c>).</summary>
public interface ISubscribedTopicDescriber
{
    /// <summary>Number of partitions of the topic, or -1 when it does not exist.</summary>
    int PartitionCount(Uuid topicId);
}

/// <summary>A server-side assignor of KIP-848 (<c>group.consumer.assignors</c>; a member picks one with <c>group.remote.assignor</c>).</summary>
public interface IConsumerGroupAssignor
{
    /// <summary>The name members ask for (<c>uniform</c>, <c>range</c>).</summary>
    string Name { get; }

    /// <summary>The target assignment of every member; a member with nothing gets an empty assignment.</summary>
    IReadOnlyDictionary<string, Assignment> Assign(IReadOnlyDictionary<string, AssignmentMemberSpec> members, ISubscribedTopicDescriber topics);
}

/// <summary>Assignor names and lookup from <c>group.consumer.assignors</c>; the first one is the default.</summary>
public static class ConsumerGroupAssignors
{
    public static IConsumerGroupAssignor? ByName(string name) => name switch
    {
        UniformAssignor.AssignorName => new UniformAssignor(),
        RangeAssignor.AssignorName => new RangeAssignor(),
        _ => null,
    };

    /// <summary>Orders by id bits: ids in a hash set have no stable order, and assignments must be reproducible.</summary>
    internal static IEnumerable<Uuid> SortedIds(IEnumerable<Uuid> ids) =>
        ids.OrderBy(t => t.MostSignificantBits).ThenBy(t => t.LeastSignificantBits);
}
