using Samsa.Metadata.Log;

namespace Samsa.Metadata.Controller;

/// <summary>
/// What a controller operation decided: the records to commit and the response to send once they are committed
/// (Kafka's <c>ControllerResult</c>). Operations never change state themselves; replaying the records does.
/// </summary>
public sealed record ControllerResult<T>(IReadOnlyList<MetadataRecord> Records, T Response);

/// <summary>Controller settings taken from the broker config.</summary>
public sealed record ControllerOptions
{
    public int NodeId { get; init; } = 1;

    public int NumPartitions { get; init; } = 1;                 // num.partitions

    public short DefaultReplicationFactor { get; init; } = 1;     // default.replication.factor

    public bool DeleteTopicEnable { get; init; } = true;          // delete.topic.enable

    /// <summary>Checks a dynamic broker config (name, value); returns the problem, naming the key, or null.</summary>
    public Func<string, string, string?> ValidateBrokerConfig { get; init; } = (_, _) => null;
}
