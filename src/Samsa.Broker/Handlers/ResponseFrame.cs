using Samsa.Broker.Network;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;

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

    /// <summary>Resources (pooled record buffers) the body points into, released after the frame is written.</summary>
    public ResponseFrame WithResources(List<IDisposable>? resources)
    {
        _resources = resources;
        foreach (var resource in resources ?? [])
        {
            if (resource is FileRegionRecords records)
            {
                ExternalBytes += records.Length;
            }
        }
        return this;
    }

    /// <summary>Bytes of fetched records the body points to in segment files (attached as resources by the handler).</summary>
    public int ExternalBytes { get; private set; }

    public void Write(Span<byte> destination, List<ExternalSlice> external)
    {
        var writer = new ProtocolWriter(destination, external);
        _header.Write(ref writer, _headerVersion);
        _body.Write(ref writer, _version);
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
