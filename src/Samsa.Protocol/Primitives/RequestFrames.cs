using System.Buffers.Binary;
using Samsa.Protocol.Messages;

namespace Samsa.Protocol;

/// <summary>
/// The client side of Kafka's framing, for tools, tests and benchmarks that speak the protocol by hand: a request
/// becomes <c>size | header | body</c> with the header version the API's rules pick, and a response payload (the
/// bytes after its size) becomes the typed response after its correlation id is checked.
/// </summary>
public static class RequestFrames
{
    /// <summary>The largest response a hand-driven client accepts before allocating (Kafka's default socket.request.max.bytes).</summary>
    public const int MaxResponseBytes = 100 * 1024 * 1024;

    /// <summary>A size-prefixed request frame.</summary>
    public static byte[] Build(IApiMessage request, short version, int correlationId, string? clientId)
    {
        var header = new RequestHeader { RequestApiKey = (short)request.ApiKey, RequestApiVersion = version, CorrelationId = correlationId, ClientId = clientId };
        var headerVersion = ApiMessages.RequestHeaderVersion(request.ApiKey, version);
        var size = header.Size(headerVersion) + request.Size(version);
        var frame = new byte[4 + size];
        BinaryPrimitives.WriteInt32BigEndian(frame, size);
        var writer = new ProtocolWriter(frame.AsSpan(4));
        header.Write(ref writer, headerVersion);
        request.Write(ref writer, version);
        return frame;
    }

    /// <summary>The payload size a response's 4-byte prefix claims, refused when negative or beyond <see cref="MaxResponseBytes"/>.</summary>
    public static int PayloadSize(ReadOnlySpan<byte> sizePrefix)
    {
        var size = BinaryPrimitives.ReadInt32BigEndian(sizePrefix);
        if (size < 0 || size > MaxResponseBytes)
        {
            throw new ProtocolException($"Response claims {size} bytes (limit {MaxResponseBytes})");
        }
        return size;
    }

    /// <summary>Parses a response payload for <paramref name="apiKey"/> at <paramref name="version"/>, checking the correlation id.</summary>
    public static TResponse ReadResponse<TResponse>(ReadOnlyMemory<byte> payload, ApiKey apiKey, short version, int expectedCorrelationId)
        where TResponse : IApiMessage, new()
    {
        var reader = new ProtocolReader(payload);
        var header = new ResponseHeader();
        header.Read(ref reader, ApiMessages.ResponseHeaderVersion(apiKey, version));
        if (header.CorrelationId != expectedCorrelationId)
        {
            throw new ProtocolException($"Response correlation id {header.CorrelationId} does not match request {expectedCorrelationId}");
        }
        var response = new TResponse();
        response.Read(ref reader, version);
        return response;
    }
}
