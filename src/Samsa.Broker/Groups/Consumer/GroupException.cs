using Samsa.Protocol;

namespace Samsa.Broker.Groups.Consumer;

/// <summary>A consumer-group request refused with a Kafka error code; becomes that request's answer, never a crash.</summary>
public sealed class GroupException(ErrorCode error, string message) : Exception(message)
{
    public ErrorCode Error { get; } = error;
}
