using System.Diagnostics;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Tests;

/// <summary>
/// Kafka's connection limits over real sockets: <c>max.connections.per.ip</c> (and overrides) refuses at once,
/// <c>max.connections</c> makes the acceptor wait for a slot, <c>connections.max.idle.ms</c> closes idle connections.
/// </summary>
public class ConnectionLimitTests
{
    private static async Task ServedAsync(TestClient client, int correlationId)
    {
        var (correlation, body) = await client.RequestAsync<ApiVersionsResponse>(new ApiVersionsRequest { ClientSoftwareName = "samsa-tests", ClientSoftwareVersion = "1.0" }, 3, correlationId);
        Assert.Equal(correlationId, correlation);
        Assert.Equal((short)ErrorCode.None, body.ErrorCode);
    }

    private static byte[] ApiVersionsFrame(int correlationId) =>
        TestClient.EncodeRequest(new ApiVersionsRequest { ClientSoftwareName = "samsa-tests", ClientSoftwareVersion = "1.0" }, 3, correlationId);

    private static async Task<List<TestClient>> ConnectServedAsync(TestBroker broker, int count)
    {
        var clients = new List<TestClient>();
        for (var i = 0; i < count; i++)
        {
            var client = await broker.ConnectAsync();
            await ServedAsync(client, i + 1);
            clients.Add(client);
        }
        return clients;
    }

    [Fact]
    public async Task MaxConnectionsPerIp_TheNextConnectionFromThatAddressIsClosedAtOnce_AndOthersCarryOn()
    {
        await using var broker = await TestBroker.StartAsync(("max.connections.per.ip", "5"));
        var clients = await ConnectServedAsync(broker, 5);

        await using var sixth = await broker.ConnectAsync();
        Assert.True(await sixth.WaitForCloseAsync(TimeSpan.FromSeconds(5)));
        Assert.Contains(broker.Logs.Lines, l => l.EventId == 208 && l.Level == Microsoft.Extensions.Logging.LogLevel.Information
            && l.Message == "Rejected connection from 127.0.0.1, address already has the configured maximum of 5 connections.");
        await ServedAsync(clients[0], 10);

        // A closed connection frees its slot for the next one.
        await clients[4].DisposeAsync();
        await using var replacement = await ConnectWhenFreedAsync(broker);
        foreach (var client in clients.Take(4))
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task MaxConnectionsPerIpOverrides_GiveTheAddressItsOwnLimit()
    {
        await using var broker = await TestBroker.StartAsync(("max.connections.per.ip", "0"), ("max.connections.per.ip.overrides", "127.0.0.1:3"));
        var clients = await ConnectServedAsync(broker, 3);
        await using var fourth = await broker.ConnectAsync();
        Assert.True(await fourth.WaitForCloseAsync(TimeSpan.FromSeconds(5)));
        Assert.Contains(broker.Logs.Lines, l => l.EventId == 208 && l.Message.Contains("maximum of 3 connections", StringComparison.Ordinal));
        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task MaxConnections_TheAcceptorWaitsForASlot_SoTheNextClientIsServedOnlyWhenOneCloses()
    {
        await using var broker = await TestBroker.StartAsync(("max.connections", "10"));
        var clients = await ConnectServedAsync(broker, 10);

        // The TCP handshake completes in the kernel's backlog, but the broker does not take the connection.
        await using var waiting = await broker.ConnectAsync();
        await waiting.SendRawAsync(ApiVersionsFrame(77));
        var answer = waiting.ReadFrameAsync(TimeSpan.FromSeconds(30));
        Assert.NotSame(answer, await Task.WhenAny(answer, Task.Delay(1500)));
        Assert.Contains(broker.Logs.Lines, l => l.EventId == 209);

        await clients[3].DisposeAsync();
        var frame = await answer;
        Assert.NotNull(frame);
        Assert.Equal(77, TestClient.ParseResponse<ApiVersionsResponse>(frame, 3, 0).CorrelationId);
        await ServedAsync(clients[0], 20);
        foreach (var client in clients.Where((_, i) => i != 3))
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task ConnectionsMaxIdleMs_ClosesAnIdleConnection_AndSparesABusyOne()
    {
        await using var broker = await TestBroker.StartAsync(("connections.max.idle.ms", "500"));
        await using var idle = await broker.ConnectAsync();
        await using var active = await broker.ConnectAsync();
        await ServedAsync(idle, 1);
        // The busy one is served first too: run alone, the first request (JIT) can take longer than the limit, and a
        // connection silent since it was opened is idle as well.
        await ServedAsync(active, 2);
        var watch = Stopwatch.StartNew();
        var closedAfter = idle.WaitForCloseAsync(TimeSpan.FromSeconds(10)).ContinueWith(t => (Closed: t.Result, Ms: watch.ElapsedMilliseconds), TaskScheduler.Default);
        for (var i = 0; i < 8; i++)
        {
            await Task.Delay(200);
            await ServedAsync(active, 10 + i);
        }
        var (closed, ms) = await closedAfter;
        Assert.True(closed);
        // Closed between 500 ms (the limit) and about 600 ms (the limit plus one sweep); generous for a busy machine.
        Assert.InRange(ms, 450, 1500);
        Assert.Contains(broker.Logs.Lines, l => l.EventId == 210 && l.Message.Contains("connections.max.idle.ms", StringComparison.Ordinal));
        await ServedAsync(active, 99);
    }

    [Fact]
    public async Task ConnectionsMaxIdleMs_Negative_NeverClosesIdleConnections()
    {
        await using var broker = await TestBroker.StartAsync(("connections.max.idle.ms", "-1"));
        await using var idle = await broker.ConnectAsync();
        await ServedAsync(idle, 1);
        var read = idle.ReadFrameAsync(TimeSpan.FromSeconds(30));
        Assert.NotSame(read, await Task.WhenAny(read, Task.Delay(700)));
        await using var other = await broker.ConnectAsync();
        await ServedAsync(other, 2);
    }

    private static async Task<TestClient> ConnectWhenFreedAsync(TestBroker broker)
    {
        // The broker sees the close asynchronously; until then the address still holds five.
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var client = await broker.ConnectAsync();
            try
            {
                await ServedAsync(client, 42);
                return client;
            }
            catch (IOException) when (deadline.Elapsed < TimeSpan.FromSeconds(10))
            {
                await client.DisposeAsync();
                await Task.Delay(50);
            }
        }
    }

    [Fact]
    public void AcceptFailures_BackOffAndReportOncePerSecond()
    {
        var time = new ManualTime();
        var failures = new Network.AcceptFailures(time);
        var delays = new List<double>();
        var reports = new List<long>();
        for (var i = 0; i < 12; i++)
        {
            var delay = failures.Failed(out var report, out var suppressed);
            delays.Add(delay.TotalMilliseconds);
            if (report)
            {
                reports.Add(suppressed);
            }
            time.Advance(delay);
        }
        Assert.Equal([10, 20, 40, 80, 160, 320, 500, 500, 500, 500, 500, 500], delays);
        // Reported at 0 ms, then at the first failure a second or more later (1,130 ms), then 2,130 and 3,130 ms.
        Assert.Equal([0L, 6, 1, 1], reports);
        failures.Succeeded();
        Assert.Equal(10, failures.Failed(out _, out _).TotalMilliseconds);
    }

    private sealed class ManualTime : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
