using System.Collections.Immutable;
using System.Text;
using Samsa.Protocol;

namespace Samsa.Broker.Groups.Consumer;

/// <summary>One partition of one topic, by topic id (KIP-848 speaks topic ids, never names).</summary>
public readonly record struct TopicIdPartition(Uuid TopicId, int Partition);

/// <summary>
/// An immutable set of partitions grouped by topic id (Kafka's <c>Assignment</c>): a member's assigned
/// partitions, its partitions pending revocation, or its target assignment. Topics with no partition are
/// never stored, so two equal sets are equal however they were built.
/// </summary>
public sealed class Assignment : IEquatable<Assignment>
{
    public static readonly Assignment Empty = new(ImmutableDictionary<Uuid, ImmutableSortedSet<int>>.Empty);

    private Assignment(ImmutableDictionary<Uuid, ImmutableSortedSet<int>> partitions)
    {
        Partitions = partitions;
        Count = partitions.Values.Sum(p => p.Count);
    }

    public ImmutableDictionary<Uuid, ImmutableSortedSet<int>> Partitions { get; }

    /// <summary>Number of partitions over all topics.</summary>
    public int Count { get; }

    public bool IsEmpty => Count == 0;

    public static Assignment Of(IEnumerable<KeyValuePair<Uuid, IEnumerable<int>>> topics)
    {
        var builder = ImmutableDictionary.CreateBuilder<Uuid, ImmutableSortedSet<int>>();
        foreach (var (topicId, partitions) in topics)
        {
            var set = builder.TryGetValue(topicId, out var existing) ? existing.Union(partitions) : partitions.ToImmutableSortedSet();
            if (set.Count > 0)
            {
                builder[topicId] = set;
            }
        }
        return builder.Count == 0 ? Empty : new Assignment(builder.ToImmutable());
    }

    public static Assignment Of(IEnumerable<TopicIdPartition> partitions) =>
        Of(partitions.GroupBy(p => p.TopicId).Select(g => new KeyValuePair<Uuid, IEnumerable<int>>(g.Key, g.Select(p => p.Partition))));

    public static Assignment Of(params (Uuid TopicId, int[] Partitions)[] topics) =>
        Of(topics.Select(t => new KeyValuePair<Uuid, IEnumerable<int>>(t.TopicId, t.Partitions)));

    public bool Contains(Uuid topicId, int partition) => Partitions.TryGetValue(topicId, out var set) && set.Contains(partition);

    public ImmutableSortedSet<int> PartitionsOf(Uuid topicId) =>
        Partitions.TryGetValue(topicId, out var set) ? set : ImmutableSortedSet<int>.Empty;

    public IEnumerable<TopicIdPartition> All() =>
        Partitions.SelectMany(t => t.Value.Select(p => new TopicIdPartition(t.Key, p)));

    /// <summary>Topics in a stable order (by id bits), so wire answers and records do not depend on hashing.</summary>
    public IEnumerable<KeyValuePair<Uuid, ImmutableSortedSet<int>>> Sorted() =>
        Partitions.OrderBy(t => t.Key.MostSignificantBits).ThenBy(t => t.Key.LeastSignificantBits);

    public bool Overlaps(Assignment other) => All().Any(p => other.Contains(p.TopicId, p.Partition));

    public Assignment Except(Assignment other) => other.IsEmpty ? this : Of(All().Where(p => !other.Contains(p.TopicId, p.Partition)));

    public Assignment Intersect(Assignment other) => Of(All().Where(p => other.Contains(p.TopicId, p.Partition)));

    public Assignment Union(Assignment other) => other.IsEmpty ? this : IsEmpty ? other : Of(All().Concat(other.All()));

    public bool Equals(Assignment? other)
    {
        if (other is null || other.Count != Count || other.Partitions.Count != Partitions.Count)
        {
            return false;
        }
        foreach (var (topicId, set) in Partitions)
        {
            if (!other.Partitions.TryGetValue(topicId, out var theirs) || !set.SetEquals(theirs))
            {
                return false;
            }
        }
        return true;
    }

    public override bool Equals(object? obj) => Equals(obj as Assignment);

    public override int GetHashCode()
    {
        var hash = 0;
        foreach (var p in All())
        {
            hash ^= p.GetHashCode();
        }
        return hash;
    }

    public override string ToString()
    {
        var text = new StringBuilder("{");
        foreach (var (topicId, set) in Sorted())
        {
            text.Append(text.Length > 1 ? ", " : "").Append(topicId).Append('=').Append('[').AppendJoin(',', set).Append(']');
        }
        return text.Append('}').ToString();
    }
}
