using Samsa.Protocol;

namespace Samsa.Broker.Groups;

/// <summary>
/// Reads the topic list out of a consumer's JoinGroup metadata (Kafka's <c>ConsumerProtocolSubscription</c>:
/// int16 version, then an array of topic names; later versions add user data, owned partitions, generation and
/// rack after it, and every version is non-flexible). The coordinator needs only the topics: OffsetDelete refuses
/// subscribed topics and offset expiry spares them.
/// </summary>
public static class ConsumerProtocol
{
    /// <summary>The subscribed topics, or null when the bytes are not a subscription this reader understands.</summary>
    public static IReadOnlyList<string>? SubscribedTopics(ReadOnlySpan<byte> metadata)
    {
        try
        {
            var reader = new ProtocolReader(metadata);
            var version = reader.ReadInt16();
            if (version < 0)
            {
                return null;
            }
            var count = reader.ReadInt32();
            if (count < 0 || count > metadata.Length)
            {
                return null;
            }
            var topics = new List<string>(count);
            for (var i = 0; i < count; i++)
            {
                topics.Add(reader.ReadString());
            }
            return topics;
        }
        catch (ProtocolException)
        {
            return null;
        }
    }
}
