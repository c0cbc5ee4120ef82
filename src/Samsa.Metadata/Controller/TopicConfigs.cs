using System.Globalization;

namespace Samsa.Metadata.Controller;

/// <summary>Kafka's <c>ConfigDef.Type</c> names, as DescribeConfigs v3+ reports them (<c>DescribeConfigsResponse.ConfigType</c>).</summary>
public enum TopicConfigType : sbyte
{
    Unknown = 0,
    Boolean = 1,
    String = 2,
    Int = 3,
    Short = 4,
    Long = 5,
    Double = 6,
    List = 7,
    Class = 8,
    Password = 9,
}

/// <summary>
/// One topic-level config as Kafka's <c>LogConfig</c> defines it: name, type, default (as text, the way
/// DescribeConfigs shows it), the broker config that supplies the default (its synonym), and the valid values.
/// </summary>
public sealed record TopicConfigDef(string Name, TopicConfigType Type, string? Default, string? ServerDefault, Func<string, string?>? Validator = null)
{
    /// <summary>Null when <paramref name="value"/> is valid; otherwise Kafka's reason.</summary>
    public string? Validate(string value)
    {
        var text = value.Trim();
        switch (Type)
        {
            case TopicConfigType.Int when !int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _):
            case TopicConfigType.Long when !long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _):
            case TopicConfigType.Double when !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _):
                return $"Invalid value {value} for configuration {Name}: Not a number of type {Type.ToString().ToUpperInvariant()}";
            case TopicConfigType.Boolean when !text.Equals("true", StringComparison.OrdinalIgnoreCase) && !text.Equals("false", StringComparison.OrdinalIgnoreCase):
                return $"Invalid value {value} for configuration {Name}: Expected value to be either true or false";
        }
        var reason = Validator?.Invoke(text);
        return reason is null ? null : $"Invalid value {value} for configuration {Name}: {reason}";
    }
}

/// <summary>
/// Every topic config of Kafka 4.0's <c>LogConfig</c>/<c>TopicConfig</c>, with its type, default and range.
/// Values are stored as text in ConfigRecords; <c>Samsa.Storage.LogConfig.FromProperties</c> turns the effective
/// set into what a partition log acts on.
/// </summary>
public static class TopicConfigs
{
    private const string LongMax = "9223372036854775807";

    public static IReadOnlyDictionary<string, TopicConfigDef> All { get; } = Build().ToDictionary(d => d.Name, StringComparer.Ordinal);

    public static TopicConfigDef? Find(string name) => All.TryGetValue(name, out var def) ? def : null;

    /// <summary>Null when every key is known and every value valid; otherwise the first problem, naming the key.</summary>
    public static string? Validate(IEnumerable<KeyValuePair<string, string?>> configs)
    {
        foreach (var (name, value) in configs)
        {
            if (Find(name) is not { } def)
            {
                return $"Unknown topic config name: {name}";
            }
            if (value is null)
            {
                return $"Null value not supported for topic configs: {name}";
            }
            if (def.Validate(value) is { } error)
            {
                return error;
            }
        }
        return null;
    }

    private static IEnumerable<TopicConfigDef> Build()
    {
        yield return new("cleanup.policy", TopicConfigType.List, "delete", "log.cleanup.policy", ValidList("compact", "delete"));
        yield return new("compression.type", TopicConfigType.String, "producer", "compression.type", OneOf("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"));
        yield return new("compression.gzip.level", TopicConfigType.Int, "-1", "compression.gzip.level", v => Int(v) is -1 or (>= 1 and <= 9) ? null : "Value must be between 1 and 9, or -1");
        yield return new("compression.lz4.level", TopicConfigType.Int, "9", "compression.lz4.level", Between(1, 17));
        yield return new("compression.zstd.level", TopicConfigType.Int, "3", "compression.zstd.level", Between(-131072, 22));
        yield return new("delete.retention.ms", TopicConfigType.Long, "86400000", "log.cleaner.delete.retention.ms", AtLeast(0));
        yield return new("file.delete.delay.ms", TopicConfigType.Long, "60000", "log.segment.delete.delay.ms", AtLeast(0));
        yield return new("flush.messages", TopicConfigType.Long, LongMax, "log.flush.interval.messages", AtLeast(1));
        yield return new("flush.ms", TopicConfigType.Long, LongMax, "log.flush.interval.ms", AtLeast(0));
        yield return new("follower.replication.throttled.replicas", TopicConfigType.List, "", "follower.replication.throttled.replicas", ThrottledReplicas);
        yield return new("index.interval.bytes", TopicConfigType.Int, "4096", "log.index.interval.bytes", AtLeast(0));
        yield return new("leader.replication.throttled.replicas", TopicConfigType.List, "", "leader.replication.throttled.replicas", ThrottledReplicas);
        yield return new("local.retention.bytes", TopicConfigType.Long, "-2", "log.local.retention.bytes", AtLeast(-2));
        yield return new("local.retention.ms", TopicConfigType.Long, "-2", "log.local.retention.ms", AtLeast(-2));
        yield return new("max.compaction.lag.ms", TopicConfigType.Long, LongMax, "log.cleaner.max.compaction.lag.ms", AtLeast(1));
        yield return new("max.message.bytes", TopicConfigType.Int, "1048588", "message.max.bytes", AtLeast(0));
        yield return new("message.timestamp.after.max.ms", TopicConfigType.Long, "3600000", "log.message.timestamp.after.max.ms", AtLeast(0));
        yield return new("message.timestamp.before.max.ms", TopicConfigType.Long, LongMax, "log.message.timestamp.before.max.ms", AtLeast(0));
        yield return new("message.timestamp.type", TopicConfigType.String, "CreateTime", "log.message.timestamp.type", OneOf("CreateTime", "LogAppendTime"));
        yield return new("min.cleanable.dirty.ratio", TopicConfigType.Double, "0.5", "log.cleaner.min.cleanable.ratio", v => Double(v) is >= 0 and <= 1 ? null : "Value must be between 0 and 1");
        yield return new("min.compaction.lag.ms", TopicConfigType.Long, "0", "log.cleaner.min.compaction.lag.ms", AtLeast(0));
        yield return new("min.insync.replicas", TopicConfigType.Int, "1", "min.insync.replicas", AtLeast(1));
        yield return new("preallocate", TopicConfigType.Boolean, "false", "log.preallocate");
        yield return new("remote.log.copy.disable", TopicConfigType.Boolean, "false", null);
        yield return new("remote.log.delete.on.disable", TopicConfigType.Boolean, "false", null);
        yield return new("remote.storage.enable", TopicConfigType.Boolean, "false", null);
        yield return new("retention.bytes", TopicConfigType.Long, "-1", "log.retention.bytes");
        yield return new("retention.ms", TopicConfigType.Long, "604800000", "log.retention.ms", AtLeast(-1));
        yield return new("segment.bytes", TopicConfigType.Int, "1073741824", "log.segment.bytes", AtLeast(1024 * 1024));
        yield return new("segment.index.bytes", TopicConfigType.Int, "10485760", "log.index.size.max.bytes", AtLeast(4));
        yield return new("segment.jitter.ms", TopicConfigType.Long, "0", "log.roll.jitter.ms", AtLeast(0));
        yield return new("segment.ms", TopicConfigType.Long, "604800000", "log.roll.ms", AtLeast(1));
        yield return new("unclean.leader.election.enable", TopicConfigType.Boolean, "false", "unclean.leader.election.enable");
    }

    private static long? Int(string v) => long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : null;

    private static double? Double(string v) => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null;

    private static Func<string, string?> AtLeast(long min) => v => Int(v) >= min ? null : $"Value must be at least {min}";

    private static Func<string, string?> Between(long min, long max) => v => Int(v) is { } n && n >= min && n <= max ? null : $"Value must be between {min} and {max}";

    private static Func<string, string?> OneOf(params string[] allowed) =>
        v => allowed.Contains(v, StringComparer.Ordinal) ? null : $"String must be one of: {string.Join(", ", allowed)}";

    private static Func<string, string?> ValidList(params string[] allowed) => v =>
    {
        var items = v.Split(',', StringSplitOptions.TrimEntries);
        var bad = items.FirstOrDefault(i => !allowed.Contains(i, StringComparer.Ordinal));
        return bad is null ? null : $"Invalid value {bad} for configuration cleanup.policy: String must be one of: {string.Join(", ", allowed)}";
    };

    /// <summary>Kafka's <c>ThrottledReplicaListValidator</c>: "*" or partition:broker pairs.</summary>
    private static string? ThrottledReplicas(string v)
    {
        if (v.Length == 0 || v == "*")
        {
            return null;
        }
        foreach (var item in v.Split(',', StringSplitOptions.TrimEntries))
        {
            var parts = item.Split(':');
            if (parts.Length != 2 || Int(parts[0]) is null || Int(parts[1]) is null)
            {
                return "Must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...";
            }
        }
        return null;
    }
}
