namespace Samsa.Cli;

/// <summary>
/// The iteration order of a Java <c>HashMap&lt;String, V&gt;</c> built with <c>new HashMap&lt;&gt;(n)</c> and filled in
/// a given order. Kafka's tools print collections the admin client keeps in such maps (a topic's
/// <c>Config</c> entries), so matching Kafka's output character for character means matching this order:
/// bucket = spread(String.hashCode) &amp; (capacity - 1), insertion order within a bucket.
/// </summary>
internal static class JavaHashOrder
{
    public static IEnumerable<T> Order<T>(IReadOnlyList<T> items, Func<T, string> key) =>
        OrderByHash(items, item => StringHash(key(item)), TableSize(items.Count));

    /// <summary>The order of a default <c>new HashMap&lt;&gt;()</c> (16 buckets to start) keyed by strings.</summary>
    public static IEnumerable<T> OrderDefault<T>(IReadOnlyList<T> items, Func<T, string> key) =>
        OrderByHash(items, item => StringHash(key(item)), 16);

    /// <summary>
    /// The order of a default <c>HashMap&lt;TopicPartition, V&gt;</c>: Kafka's <c>TopicPartition.hashCode</c> is
    /// <c>31 * (31 + partition) + topic.hashCode()</c>.
    /// </summary>
    public static IEnumerable<T> OrderByTopicPartition<T>(IReadOnlyList<T> items, Func<T, (string Topic, int Partition)> key) =>
        OrderByHash(items, item =>
        {
            var (topic, partition) = key(item);
            return unchecked((31 * (31 + partition)) + StringHash(topic));
        }, 16);

    /// <summary>The order of a default <c>HashMap&lt;Long, V&gt;</c>: <c>Long.hashCode</c> folds the high word in.</summary>
    public static IEnumerable<T> OrderByLong<T>(IReadOnlyList<T> items, Func<T, long> key) =>
        OrderByHash(items, item =>
        {
            var value = key(item);
            return unchecked((int)(value ^ (long)((ulong)value >> 32)));
        }, 16);

    private static IEnumerable<T> OrderByHash<T>(IReadOnlyList<T> items, Func<T, int> hash, int capacity)
    {
        // HashMap doubles its table once the size passes 0.75 of capacity; a split keeps each bucket's order.
        while (items.Count > capacity * 3 / 4)
        {
            capacity *= 2;
        }
        return items.Select((item, index) => (item, index, bucket: Spread(hash(item)) & (capacity - 1)))
            .OrderBy(x => x.bucket).ThenBy(x => x.index).Select(x => x.item).ToList();
    }

    private static int TableSize(int n)
    {
        var size = 1;
        while (size < n)
        {
            size <<= 1;
        }
        return Math.Max(size, 1);
    }

    private static int Spread(int h) => h ^ (int)((uint)h >> 16);

    public static int StringHash(string s)
    {
        var h = 0;
        foreach (var c in s)
        {
            h = unchecked((31 * h) + c);
        }
        return h;
    }
}
