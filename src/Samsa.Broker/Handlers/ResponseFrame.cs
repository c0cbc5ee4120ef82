using Samsa.Broker.Network;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Handlers;

/// <summary>A response header and body at their versions, measured once and written into the frame the connection provides.</summary>
internal sealed class ResponseFrame : IResponseFrame, IDisposable
{
    private List<IDisposable>? _resources;

    private readonly ResponseHeader _header;
    private readonly short _headerVersion;
    private readonly IApiMessage _body;
    private readonly short _version;

    public ResponseFrame(int correlationId, IApiMessage body, short version)
        : this(correlationId, ApiMessages.ResponseHeaderVersion(body.ApiKey, version), body, version)
    {
    }

    public ResponseFrame(int correlationId, short headerVersion, IApiMessage body, short version)
    {
        _header = new ResponseHeader { CorrelationId = correlationId };
        _headerVersion = headerVersion;
        _body = body;
        _version = version;
        Size = _header.Size(headerVersion) + body.Size(version);
    }

    public int Size { get; }

    /// <summary>Resources (pooled record buffers) the body points into, released after <see cref="Write"/>.</summary>
    public ResponseFrame WithResources(List<IDisposable>? resources)
    {
        _resources = resources;
        return this;
    }

    public void Dispose()
    {
        Release(_resources);
        _resources = null;
    }

    /// <summary>Returns pooled resources a response pointed into (also for responses that are never written).</summary>
    public static void Release(List<IDisposable>? resources)
    {
        foreach (var resource in resources ?? [])
        {
            resource.Dispose();
        }
    }

    public void Write(Span<byte> destination)
    {
        var writer = new ProtocolWriter(destination);
        _header.Write(ref writer, _headerVersion);
        _body.Write(ref writer, _version);
    }
}
