using System.Diagnostics;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Tests.Quotas;

/// <summary>KIP-612's max.connection.creation.rate with real sockets: connections past the burst are served at the rate.</summary>
public sealed class ConnectionRateTests
{
    private const int Connections = 20;

    [Theory]
    [InlineData("max.connection.creation.rate")]
    [InlineData("listener.name.plaintext.max.connection.creation.rate")]
    public async Task ConnectionsPastTheBurst_AreAcceptedAtTheCreationRate(string key)
    {
        // 5 connections per second over 2 windows of 1 s: a burst of 10, then one every 200 ms.
        await using var broker = await TestBroker.StartAsync((key, "5"), ("quota.window.num", "2"), ("quota.window.size.seconds", "1"));
        var clock = Stopwatch.StartNew();
        var clients = new List<TestClient>();
        try
        {
            for (var i = 0; i < Connections; i++)
            {
                var client = await broker.ConnectAsync();
                clients.Add(client);
                // Answered only once the acceptor has taken the connection in.
                var (_, versions) = await client.RequestAsync<ApiVersionsResponse>(new ApiVersionsRequest(), 0);
                Assert.Equal(0, versions.ErrorCode);
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
        // The 10 past the burst take about 2 s; generous bands for a loaded machine.
        Assert.InRange(clock.ElapsedMilliseconds, 1000, 20_000);
        Assert.Contains(broker.Logs.Lines, l => l.EventId == 219);
    }

    [Fact]
    public async Task WithoutACreationRate_TheSameConnectionsAreNotHeld()
    {
        await using var broker = await TestBroker.StartAsync(("quota.window.num", "2"), ("quota.window.size.seconds", "1"));
        var logs = broker.Logs;
        for (var i = 0; i < Connections; i++)
        {
            await using var client = await broker.ConnectAsync();
            await client.RequestAsync<ApiVersionsResponse>(new ApiVersionsRequest(), 0);
        }
        Assert.DoesNotContain(logs.Lines, l => l.EventId == 219);
    }
}
