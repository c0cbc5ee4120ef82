using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Samsa.Broker.Network;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Tests;

/// <summary>
/// The inter-node client over real sockets: pipelined requests matched by correlation id against a real broker, a
/// request past its deadline, a connection cut mid-request, back-off between failed connection attempts on the
/// injected clock, and a response claiming more bytes than allowed.
/// </summary>
public class NetworkClientTests
{
    private static NetworkClient NewClient(TimeProvider? time = null, NetworkClientOptions? options = null) =>
        new(options ?? new NetworkClientOptions(), time ?? TimeProvider.System, NullLogger.Instance);

    private static ApiVersionsRequest ApiVersions() => new() { ClientSoftwareName = "samsa-node", ClientSoftwareVersion = "1.0" };

    [Fact]
    public async Task PipelinedRequests_EachGetTheirOwnResponse()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = NewClient();
        var node = new NodeEndpoint(broker.Broker.NodeId, "127.0.0.1", broker.Port);

        var versions = Enumerable.Range(0, 20).Select(_ => client.SendAsync<ApiVersionsResponse>(node, ApiVersions(), 3)).ToArray();
        var metadata = Enumerable.Range(0, 20).Select(_ => client.SendAsync<MetadataResponse>(node, new MetadataRequest { Topics = null }, 12)).ToArray();

        foreach (var response in await Task.WhenAll(versions))
        {
            Assert.Equal((short)ErrorCode.None, response.ErrorCode);
            Assert.Contains(response.ApiKeys, k => k.ApiKey == (short)ApiKey.Metadata);
        }
        foreach (var response in await Task.WhenAll(metadata))
        {
            Assert.Equal(broker.Broker.ClusterId, response.ClusterId);
            Assert.Equal(node.Id, Assert.Single(response.Brokers).NodeId);
        }
    }

    [Fact]
    public async Task ARequestPastItsDeadline_FailsWithTimeout_AndDropsTheConnection()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        await using var client = NewClient();
        var node = new NodeEndpoint(7, "127.0.0.1", ((IPEndPoint)silent.LocalEndpoint).Port);

        var sent = client.SendAsync<ApiVersionsResponse>(node, ApiVersions(), 3, timeout: TimeSpan.FromMilliseconds(300));
        using var accepted = await silent.AcceptTcpClientAsync();
        await Assert.ThrowsAsync<TimeoutException>(() => sent);

        // The client closed its end: the peer reads the request, then end of stream.
        await DrainUntilClosedAsync(accepted.GetStream());
    }

    /// <summary>Reads until the other end closes (end of stream or reset); fails after ten seconds.</summary>
    private static async Task DrainUntilClosedAsync(NetworkStream stream)
    {
        var buffer = new byte[4096];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            while (await stream.ReadAsync(buffer, deadline.Token) > 0)
            {
            }
        }
        catch (IOException)
        {
            // Reset: closed too.
        }
    }

    [Fact]
    public async Task AConnectionCutMidRequest_FailsThatRequest_AndTheNextOneReconnects()
    {
        await using var broker = await TestBroker.StartAsync();
        using var front = new TcpListener(IPAddress.Loopback, 0);
        front.Start();
        var serving = Task.Run(async () =>
        {
            // First connection: read the request's size, then hang up. Second: relay to the real broker.
            using (var first = await front.AcceptTcpClientAsync())
            {
                await first.GetStream().ReadExactlyAsync(new byte[4]);
            }
            using var second = await front.AcceptTcpClientAsync();
            using var upstream = new TcpClient();
            await upstream.ConnectAsync(IPAddress.Loopback, broker.Port);
            await Task.WhenAny(second.GetStream().CopyToAsync(upstream.GetStream()), upstream.GetStream().CopyToAsync(second.GetStream()));
        });
        await using var client = NewClient();
        var node = new NodeEndpoint(1, "127.0.0.1", ((IPEndPoint)front.LocalEndpoint).Port);

        await Assert.ThrowsAsync<NodeDisconnectedException>(() => client.SendAsync<ApiVersionsResponse>(node, ApiVersions(), 3));
        var response = await client.SendAsync<ApiVersionsResponse>(node, ApiVersions(), 3);
        Assert.Equal((short)ErrorCode.None, response.ErrorCode);
        await client.DisposeAsync();
        await serving.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task FailedConnections_BackOffExponentially_OnTheInjectedClock()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var options = new NetworkClientOptions { ReconnectBackoff = TimeSpan.FromMilliseconds(100), ReconnectBackoffMax = TimeSpan.FromMilliseconds(1000) };
        await using var client = NewClient(clock, options);
        var node = new NodeEndpoint(3, "127.0.0.1", UnusedPort());

        // The first attempt goes at once and is refused.
        await Assert.ThrowsAsync<NodeDisconnectedException>(() => client.SendAsync<ApiVersionsResponse>(node, ApiVersions(), 3));

        // The second waits 100 ms ± 20 % of the client's clock: not before 80 ms, surely by 120 ms.
        var second = client.SendAsync<ApiVersionsResponse>(node, ApiVersions(), 3);
        clock.Advance(TimeSpan.FromMilliseconds(79));
        Assert.NotSame(second, await Task.WhenAny(second, Task.Delay(300)));
        clock.Advance(TimeSpan.FromMilliseconds(41));
        await Assert.ThrowsAsync<NodeDisconnectedException>(() => second.WaitAsync(TimeSpan.FromSeconds(10)));

        // The third waits twice as long: 200 ms ± 20 %.
        var third = client.SendAsync<ApiVersionsResponse>(node, ApiVersions(), 3);
        clock.Advance(TimeSpan.FromMilliseconds(159));
        Assert.NotSame(third, await Task.WhenAny(third, Task.Delay(300)));
        clock.Advance(TimeSpan.FromMilliseconds(81));
        await Assert.ThrowsAsync<NodeDisconnectedException>(() => third.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task AResponseClaimingTooManyBytes_ClosesTheConnection_BeforeAllocating()
    {
        using var liar = new TcpListener(IPAddress.Loopback, 0);
        liar.Start();
        var serving = Task.Run(async () =>
        {
            using var connection = await liar.AcceptTcpClientAsync();
            var stream = connection.GetStream();
            await stream.ReadExactlyAsync(new byte[4]);
            var claim = new byte[8];
            BinaryPrimitives.WriteInt32BigEndian(claim, int.MaxValue - 1);
            BinaryPrimitives.WriteInt32BigEndian(claim.AsSpan(4), 1);
            await stream.WriteAsync(claim);
            await DrainUntilClosedAsync(stream);
        });
        await using var client = NewClient();
        var node = new NodeEndpoint(9, "127.0.0.1", ((IPEndPoint)liar.LocalEndpoint).Port);

        var failure = await Assert.ThrowsAsync<NodeDisconnectedException>(() => client.SendAsync<ApiVersionsResponse>(node, ApiVersions(), 3));
        Assert.IsType<ProtocolException>(failure.InnerException);
        await serving.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static int UnusedPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
