using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using Samsa.Interop.Tests.Infrastructure;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Xunit.Abstractions;

namespace Samsa.Interop.Tests;

/// <summary>
/// Hostile input over real sockets: at least 100,000 random, mutated, oversized, negative and truncated
/// frames from several connections at once. Afterwards the broker must still answer ApiVersions and
/// Metadata correctly, and its resident memory must have stayed bounded throughout (a claimed size is
/// never allocated before the bytes arrive).
/// </summary>
public class FrameFuzzTests(ITestOutputHelper output)
{
    private const int Frames = 100_000;
    private const int Workers = 4;
    private const long MemoryHeadroom = 256L * 1024 * 1024;

    [Fact]
    public async Task HundredThousandHostileFrames_LeaveTheBrokerServingWithBoundedMemory()
    {
        await using var broker = await BrokerProcess.StartAsync();
        // Warm up the code paths once so the baseline includes the JIT and first-use allocations.
        using (var warm = await RawKafkaConnection.ConnectAsync(broker.Port))
        {
            await warm.RequestAsync<ApiVersionsResponse>(new ApiVersionsRequest { ClientSoftwareName = "fuzz", ClientSoftwareVersion = "1" }, 3);
            await warm.RequestAsync<MetadataResponse>(new MetadataRequest { Topics = null }, 12);
        }
        var baseline = broker.ResidentBytes();
        var peak = baseline;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peak = Math.Max(peak, broker.ResidentBytes());
                await Task.Delay(100);
            }
        });

        var clock = Stopwatch.StartNew();
        var counts = await Task.WhenAll(Enumerable.Range(0, Workers).Select(w => Task.Run(() => FuzzAsync(broker.Port, Frames / Workers, seed: w + 1))));
        stop.Cancel();
        await sampler;
        var sent = counts.Sum(c => c.Frames);
        var connections = counts.Sum(c => c.Connections);
        output.WriteLine($"{sent} frames over {connections} connections in {clock.Elapsed.TotalSeconds:F1} s; RSS baseline {baseline >> 20} MiB, peak {peak >> 20} MiB");

        Assert.True(sent >= Frames, $"only {sent} frames sent");
        Assert.False(broker.HasExited, broker.Output);
        Assert.True(peak - baseline < MemoryHeadroom, $"RSS grew from {baseline >> 20} MiB to {peak >> 20} MiB");

        using var check = await RawKafkaConnection.ConnectAsync(broker.Port);
        var versions = await check.RequestAsync<ApiVersionsResponse>(new ApiVersionsRequest { ClientSoftwareName = "after-fuzz", ClientSoftwareVersion = "1" }, 3);
        Assert.Equal(0, versions.ErrorCode);
        Assert.Equal(12, versions.FindApiKeys((short)ApiKey.Metadata)!.MaxVersion);
        var metadata = await check.RequestAsync<MetadataResponse>(new MetadataRequest { Topics = null }, 12);
        Assert.Equal(broker.Port, Assert.Single(metadata.Brokers).Port);
        Assert.Equal(1, metadata.ControllerId);
    }

    private sealed record WorkerCount(int Frames, int Connections);

    private static async Task<WorkerCount> FuzzAsync(int port, int frames, int seed)
    {
        var random = new Random(seed);
        var sent = 0;
        var connections = 0;
        while (sent < frames)
        {
            using var connection = await RawKafkaConnection.ConnectAsync(port);
            connections++;
            using var drain = new CancellationTokenSource();
            var drainer = DrainAsync(connection.Socket, drain.Token);
            try
            {
                // Keep sending on this connection until a frame ends it (or the broker closes it).
                for (var onThis = 0; sent < frames && onThis < 200; onThis++)
                {
                    var (bytes, endsConnection) = NextFrame(random, sent);
                    await connection.SendRawAsync(bytes);
                    sent++;
                    if (endsConnection || drainer.IsCompleted)
                    {
                        break;
                    }
                }
            }
            catch (SocketException)
            {
                // The broker closed this connection because of an earlier frame; that is the point.
            }
            drain.Cancel();
            connection.Socket.Close();
            await drainer;
        }
        return new WorkerCount(sent, connections);
    }

    private static async Task DrainAsync(Socket socket, CancellationToken cancellation)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, cancellation) > 0)
            {
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private static readonly short[] ApiVersionsVersions = [0, 1, 2, 3, 4];

    private static (byte[] Bytes, bool EndsConnection) NextFrame(Random r, int n)
    {
        var kind = r.Next(100);
        switch (kind)
        {
            case < 20: // a valid request
                return (ValidRequest(r, n), false);
            case < 60: // a valid request with a few bytes changed (size prefix kept)
                {
                    var frame = ValidRequest(r, n);
                    for (var i = r.Next(1, 5); i > 0; i--)
                    {
                        frame[4 + r.Next(frame.Length - 4)] = (byte)r.Next(256);
                    }
                    return (frame, false);
                }
            case < 75: // a correct size prefix around random bytes
                {
                    var body = new byte[r.Next(0, 256)];
                    r.NextBytes(body);
                    var frame = new byte[4 + body.Length];
                    BinaryPrimitives.WriteInt32BigEndian(frame, body.Length);
                    body.CopyTo(frame, 4);
                    return (frame, false);
                }
            case < 85: // raw noise
                {
                    var noise = new byte[r.Next(1, 64)];
                    r.NextBytes(noise);
                    return (noise, false);
                }
            case < 92: // a claim at or beyond socket.request.max.bytes, then only a few bytes and a hang-up
                {
                    int[] claims = [104_857_600, 104_857_601, 500_000_000, int.MaxValue];
                    var frame = new byte[4 + r.Next(0, 16)];
                    BinaryPrimitives.WriteInt32BigEndian(frame, claims[r.Next(claims.Length)]);
                    return (frame, true);
                }
            case < 96: // a negative size
                {
                    var frame = new byte[4];
                    BinaryPrimitives.WriteInt32BigEndian(frame, -r.Next(1, int.MaxValue));
                    return (frame, true);
                }
            default: // truncated: a valid request cut short, then a hang-up
                {
                    var frame = ValidRequest(r, n);
                    return (frame[..r.Next(1, frame.Length)], true);
                }
        }
    }

    private static byte[] ValidRequest(Random r, int correlationId)
    {
        if (r.Next(2) == 0)
        {
            var version = ApiVersionsVersions[r.Next(ApiVersionsVersions.Length)];
            var request = new ApiVersionsRequest();
            if (version >= 3)
            {
                request.ClientSoftwareName = "fuzz";
                request.ClientSoftwareVersion = "1.0";
            }
            return RawKafkaConnection.Frame(request, version, correlationId);
        }
        var metadataVersion = (short)r.Next(0, 13);
        var metadata = new MetadataRequest
        {
            Topics = metadataVersion == 0 || r.Next(2) == 0 ? [] : [new() { Name = "t" + r.Next(10) }],
            AllowAutoTopicCreation = metadataVersion < 4 || r.Next(2) == 0,
        };
        return RawKafkaConnection.Frame(metadata, metadataVersion, correlationId);
    }
}
