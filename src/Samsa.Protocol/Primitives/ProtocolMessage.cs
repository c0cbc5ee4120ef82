namespace Samsa.Protocol;

/// <summary>
/// A struct of a Kafka schema: read, written and measured for one version at a time. One generated type
/// serves every version; the version is an argument, as in Kafka's own generator.
/// </summary>
public interface IProtocolStruct
{
    /// <summary>Reads every field present in <paramref name="version"/>; absent fields take their defaults.</summary>
    void Read(ref ProtocolReader reader, short version);

    /// <summary>Writes exactly <see cref="Size"/> bytes. Throws <see cref="UnsupportedVersionException"/> when a non-ignorable field set away from its default does not exist in <paramref name="version"/>.</summary>
    void Write(ref ProtocolWriter writer, short version);

    /// <summary>The exact number of bytes <see cref="Write"/> produces for <paramref name="version"/>.</summary>
    int Size(short version);
}

/// <summary>A top-level schema (request, response, header, record or data type) with its valid versions.</summary>
public interface IProtocolMessage : IProtocolStruct
{
    short LowestSupportedVersion { get; }

    short HighestSupportedVersion { get; }
}

/// <summary>A request or response body of one API key.</summary>
public interface IApiMessage : IProtocolMessage
{
    ApiKey ApiKey { get; }
}

/// <summary>
/// A response whose top level carries <c>throttle_time_ms</c> (the generator marks every such schema), so a quota
/// applied to every API (KIP-124's request time) can report its throttle without knowing the type. Versions without the
/// field leave it out when written, as the field is ignorable in Kafka's schemas.
/// </summary>
public interface IThrottledResponse : IApiMessage
{
    int ThrottleTimeMs { get; set; }
}

public static class ProtocolMessageExtensions
{
    /// <summary>Serializes into a new array of exactly the message's size.</summary>
    public static byte[] ToArray(this IProtocolStruct message, short version)
    {
        var buffer = new byte[message.Size(version)];
        var writer = new ProtocolWriter(buffer);
        message.Write(ref writer, version);
        return buffer;
    }

    /// <summary>Serializes into a buffer writer, asking it for exactly the message's size.</summary>
    public static int WriteTo(this IProtocolStruct message, System.Buffers.IBufferWriter<byte> output, short version)
    {
        var size = message.Size(version);
        var writer = new ProtocolWriter(output.GetSpan(size)[..size]);
        message.Write(ref writer, version);
        output.Advance(size);
        return size;
    }

    /// <summary>Reads a message of type <typeparamref name="T"/> that spans all of <paramref name="bytes"/>.</summary>
    public static T Parse<T>(ReadOnlyMemory<byte> bytes, short version)
        where T : IProtocolStruct, new()
    {
        var reader = new ProtocolReader(bytes);
        var message = new T();
        message.Read(ref reader, version);
        return message;
    }
}
