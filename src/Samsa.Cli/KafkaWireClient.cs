using System.Buffers.Binary;
using System.Net.Sockets;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Cli;

/// <summary>
/// A minimal blocking Kafka protocol client on Samsa's generated messages, for the few calls Confluent's
/// AdminClient does not expose (a broker's ApiVersions). One request at a time on one connection.
/// </summary>
internal sealed class KafkaWireClient : IDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private int _correlationId;

    private KafkaWireClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public static async Task<KafkaWireClient> ConnectAsync(string host, int port, CancellationToken cancellationToken)
    {
        var tcp = new TcpClient { NoDelay = true };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        await tcp.ConnectAsync(host, port, timeout.Token);
        return new KafkaWireClient(tcp);
    }

    public async Task<TResponse> SendAsync<TResponse>(IApiMessage request, short version, CancellationToken cancellationToken)
        where TResponse : IApiMessage, new()
    {
        var header = new RequestHeader
        {
            RequestApiKey = (short)request.ApiKey,
            RequestApiVersion = version,
            CorrelationId = ++_correlationId,
            ClientId = "samsa-cli",
        };
        var headerVersion = ApiMessages.RequestHeaderVersion(request.ApiKey, version);
        var size = header.Size(headerVersion) + request.Size(version);
        var frame = new byte[4 + size];
        BinaryPrimitives.WriteInt32BigEndian(frame, size);
        var writer = new ProtocolWriter(frame.AsSpan(4));
        header.Write(ref writer, headerVersion);
        request.Write(ref writer, version);
        await _stream.WriteAsync(frame, cancellationToken);

        var lengthBytes = new byte[4];
        await _stream.ReadExactlyAsync(lengthBytes, cancellationToken);
        var body = new byte[BinaryPrimitives.ReadInt32BigEndian(lengthBytes)];
        await _stream.ReadExactlyAsync(body, cancellationToken);
        var reader = new ProtocolReader(body);
        var responseHeader = new ResponseHeader();
        responseHeader.Read(ref reader, ApiMessages.ResponseHeaderVersion(request.ApiKey, version));
        if (responseHeader.CorrelationId != header.CorrelationId)
        {
            throw new CommandException($"Correlation id {responseHeader.CorrelationId} does not match request {header.CorrelationId}");
        }
        var response = new TResponse();
        response.Read(ref reader, version);
        return response;
    }

    public void Dispose()
    {
        _stream.Dispose();
        _tcp.Dispose();
    }
}
