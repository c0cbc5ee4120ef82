using System.Buffers.Binary;
using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Broker.Config;
using Samsa.Broker.Network;

namespace Samsa.Broker.Tests;

/// <summary>
/// The network layer with a handler whose timing the test controls: responses stay in request order even when
/// later requests would finish first, and a request without a response (acks=0) leaves no gap.
/// </summary>
public class ConnectionOrderingTests
{
    /// <summary>Echoes the 4-byte id of each request after a delay that shrinks with the id; odd ids get no response.</summary>
    private sealed class SlowEarlyHandler : IRequestHandler
    {
        public int InFlight;
        public int MaxInFlight;

        public async ValueTask<IResponseFrame?> HandleAsync(ConnectionContext connection, ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
        {
            var id = BinaryPrimitives.ReadInt32BigEndian(request.Span);
            var now = Interlocked.Increment(ref InFlight);
            MaxInFlight = Math.Max(MaxInFlight, now);
            await Task.Delay(Math.Max(0, 40 - id * 4), cancellationToken);
            Interlocked.Decrement(ref InFlight);
            return id % 2 == 1 ? null : new Echo(id);
        }
    }

    private sealed class Echo(int id) : IResponseFrame
    {
        public int Size => 4;

        public void Write(Span<byte> destination) => BinaryPrimitives.WriteInt32BigEndian(destination, id);
    }

    [Fact]
    public async Task SlowEarlierRequests_StillAnswerFirst_AndNoResponseLeavesNoGap()
    {
        var config = KafkaConfig.FromProperties([new("listeners", "PLAINTEXT://127.0.0.1:0"), new("log.dirs", "/unused")]);
        var handler = new SlowEarlyHandler();
        await using var server = await SocketServer.BindAsync(config, handler, NullLoggerFactory.Instance);
        server.Start();
        await using var client = await TestClient.ConnectAsync(server.BoundEndpoints[0].Port);

        var frames = new byte[10 * 8];
        for (var id = 0; id < 10; id++)
        {
            BinaryPrimitives.WriteInt32BigEndian(frames.AsSpan(id * 8), 4);
            BinaryPrimitives.WriteInt32BigEndian(frames.AsSpan(id * 8 + 4), id);
        }
        await client.SendRawAsync(frames);

        for (var id = 0; id < 10; id += 2)
        {
            var response = await client.ReadFrameAsync();
            Assert.NotNull(response);
            Assert.Equal(id, BinaryPrimitives.ReadInt32BigEndian(response));
        }
        Assert.Equal(1, handler.MaxInFlight);
    }
}
