namespace Samsa.Broker.Config;

/// <summary>
/// A configuration that cannot be used. The message is one line naming the key, in Kafka's wording
/// (<c>Invalid value x for configuration y: why</c>), so the server can print it and exit.
/// </summary>
public sealed class ConfigException(string message) : Exception(message)
{
    public static ConfigException InvalidValue(string name, object? value, string reason) =>
        new($"Invalid value {value ?? "null"} for configuration {name}: {reason}");
}
