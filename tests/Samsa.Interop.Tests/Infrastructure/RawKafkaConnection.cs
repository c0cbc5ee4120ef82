using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Interop.Tests.Infrastructure;

/// <summary>A hand-driven Kafka connection: builds frames from the generated messages, or sends raw bytes.</summary>
public sealed class RawKafkaConnection : IDisposable
{
    private readonly Socket _socket;
    private int _correlationId;

    private RawKafkaConnection(Socket socket) => _socket = socket;

    public Socket Socket => _socket;

    public static Task<RawKafkaConnection> ConnectAsync(int port) => ConnectAsync(IPAddress.Loopback, port);

    public static async Task<RawKafkaConnection> ConnectAsync(IPAddress address, int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(address, port);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new RawKafkaConnection(socket);
    }

    /// <summary>A size-prefixed request frame: header (version chosen by the API's rules) and body.</summary>
    public static byte[] Frame(IApiMessage request, short version, int correlationId, string? clientId = "samsa-test") =>
        RequestFrames.Build(request, version, correlationId, clientId);

    public async Task SendRawAsync(ReadOnlyMemory<byte> bytes) => await _socket.SendAsync(bytes, SocketFlags.None);

    /// <summary>Sends a request and reads its response, checking the correlation id.</summary>
    public async Task<T> RequestAsync<T>(IApiMessage request, short version, TimeSpan? timeout = null)
        where T : IApiMessage, new()
    {
        var correlationId = ++_correlationId;
        await SendRawAsync(Frame(request, version, correlationId));
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var payload = await ReadFrameAsync(deadline.Token);
        return RequestFrames.ReadResponse<T>(payload, request.ApiKey, version, correlationId);
    }

    /// <summary>FindCoordinator creates __consumer_offsets on first use; retried until the coordinator is loaded.</summary>
    public async Task FindCoordinatorAsync(string group)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var found = await RequestAsync<FindCoordinatorResponse>(new FindCoordinatorRequest { Key = group }, 3);
            if (found.ErrorCode == 0)
            {
                return;
            }
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20), $"FindCoordinator: error {found.ErrorCode}");
            await Task.Delay(100);
        }
    }

    /// <summary>Reads one size-prefixed response frame; null when the broker closed the connection.</summary>
    public async Task<byte[]> ReadFrameAsync(CancellationToken cancellation)
    {
        var size = new byte[4];
        await ReadExactlyAsync(size, cancellation);
        var payload = new byte[RequestFrames.PayloadSize(size)];
        await ReadExactlyAsync(payload, cancellation);
        return payload;
    }

    /// <summary>True when the broker has closed the connection (a read returns end of stream).</summary>
    public async Task<bool> IsClosedByPeerAsync(TimeSpan within)
    {
        using var deadline = new CancellationTokenSource(within);
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var read = await _socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
                if (read == 0)
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    private async Task ReadExactlyAsync(Memory<byte> buffer, CancellationToken cancellation)
    {
        while (buffer.Length > 0)
        {
            var read = await _socket.ReceiveAsync(buffer, SocketFlags.None, cancellation);
            if (read == 0)
            {
                throw new EndOfStreamException("broker closed the connection");
            }
            buffer = buffer[read..];
        }
    }

    public void Dispose() => _socket.Dispose();
}
