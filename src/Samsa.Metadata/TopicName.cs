namespace Samsa.Metadata;

/// <summary>Kafka's topic name rules (<c>org.apache.kafka.common.internals.Topic.validate</c>).</summary>
public static class TopicName
{
    public const int MaxLength = 249;

    /// <summary>Null when the name is legal; otherwise Kafka's reason.</summary>
    public static string? Validate(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "Topic name is illegal, it can't be empty";
        }
        if (name is "." or "..")
        {
            return "Topic name cannot be \".\" or \"..\"";
        }
        if (name.Length > MaxLength)
        {
            return $"Topic name is illegal, it can't be longer than {MaxLength} characters, topic name: {name}";
        }
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return $"Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'";
            }
        }
        return null;
    }

    /// <summary>Kafka's internal topics, reported with is_internal in Metadata.</summary>
    public static bool IsInternal(string name) => name is "__consumer_offsets" or "__transaction_state" or "__share_group_state";

    /// <summary>True when the name holds '.' or '_', which Kafka's metric names cannot tell apart.</summary>
    public static bool HasCollisionChars(string name) => name.Contains('.') || name.Contains('_');

    /// <summary>Kafka's <c>Topic.unifyCollisionChars</c>: '.' replaced by '_'.</summary>
    public static string UnifyCollisionChars(string name) => name.Replace('.', '_');

    /// <summary>The metadata log's own topic name.</summary>
    public const string ClusterMetadata = "__cluster_metadata";
}
