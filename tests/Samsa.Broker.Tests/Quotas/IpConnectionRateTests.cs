using System.Diagnostics;
using System.Net;
using Samsa.Metadata.Image;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Tests.Quotas;

/// <summary>
/// KIP-612's per-IP connection_creation_rate with real sockets: connections from an address over its rate are not
/// served and are closed only after their throttle time; other addresses are served meanwhile. Clients bind a source
/// in 127/8, which Linux loopback accepts.
/// </summary>
public sealed class IpConnectionRateTests
{
    private const string Key = "connection_creation_rate";
    private const int Burst = 12;

    private static readonly IPAddress Throttled = IPAddress.Parse("127.0.0.1");
    private static readonly IPAddress Other = IPAddress.Parse("127.0.0.2");

    // 2 connections per second over 2 windows of 1 s: a burst of 4, then one every 500 ms.
    private static Task<TestBroker> StartAsync() => TestBroker.StartAsync(("quota.window.num", "2"), ("quota.window.size.seconds", "1"));

    [Fact]
    public async Task ConnectionsOverTheIpRate_AreClosedUnansweredAfterTheThrottle_WhileOtherAddressesAreServed()
    {
        await using var broker = await StartAsync();
        await QuotaWire.AlterQuotaAsync(broker, "ip", "127.0.0.1", Key, 2, Other);
        await WaitForQuotaAsync(broker, ClientQuotaEntity.OfIp("127.0.0.1"), 2);

        var burst = BurstAsync(broker, Throttled);
        // While the burst's refused connections are held, another address is served at once.
        var otherServed = Stopwatch.StartNew();
        await using (var other = await broker.ConnectFromAsync(Other))
        {
            var (_, versions) = await other.RequestAsync<ApiVersionsResponse>(new ApiVersionsRequest(), 0);
            Assert.Equal(0, versions.ErrorCode);
        }
        Assert.InRange(otherServed.ElapsedMilliseconds, 0, 5_000);
        var outcomes = await burst;

        var answered = outcomes.Count(o => o.Answered);
        var refused = outcomes.Where(o => !o.Answered).ToList();
        // The burst allowance is served; past it (12 connections well inside the 4 s the rate needs) some are refused.
        Assert.InRange(answered, 4, Burst - 1);
        Assert.NotEmpty(refused);
        // Each refused one closes once the bucket has had time to earn a connection: 500 ms after it started full,
        // so no sooner than 500 ms into the burst (less slack for two clocks), and within a throttle of 1 s.
        Assert.All(refused, o => Assert.InRange(o.ElapsedMs, 400, 15_000));
        Assert.Contains(broker.Logs.Lines, l => l.EventId == 220);
    }

    [Fact]
    public async Task TheDefaultIpEntity_AppliesToAddressesWithoutTheirOwn_AndRemovingItLiftsTheThrottle()
    {
        await using var broker = await StartAsync();
        // 127.0.0.2's own quota overrides the default; set it first, the default then throttles everyone else.
        await QuotaWire.AlterQuotaAsync(broker, "ip", "127.0.0.2", Key, 1000, Other);
        await QuotaWire.AlterQuotaAsync(broker, "ip", null, Key, 2, Other);
        await WaitForQuotaAsync(broker, ClientQuotaEntity.OfIp(null), 2);

        var throttled = await BurstAsync(broker, Throttled);
        Assert.Contains(throttled, o => !o.Answered);
        var own = await BurstAsync(broker, Other);
        Assert.All(own, o => Assert.True(o.Answered));

        await QuotaWire.AlterQuotaAsync(broker, "ip", null, Key, null, Other);
        await WaitForQuotaAsync(broker, ClientQuotaEntity.OfIp(null), null);
        var lifted = await BurstAsync(broker, Throttled);
        Assert.All(lifted, o => Assert.True(o.Answered));
    }

    [Fact]
    public async Task WithoutIpQuotas_ABurstFromOneAddressIsServed()
    {
        await using var broker = await StartAsync();
        var outcomes = await BurstAsync(broker, Throttled);
        Assert.All(outcomes, o => Assert.True(o.Answered));
        Assert.DoesNotContain(broker.Logs.Lines, l => l.EventId == 220);
    }

    private readonly record struct Outcome(bool Answered, long ElapsedMs);

    /// <summary>
    /// Opens <see cref="Burst"/> connections from <paramref name="source"/> at once, sends ApiVersions on each and
    /// waits for each answer or close, timed from the start of the burst.
    /// </summary>
    private static async Task<Outcome[]> BurstAsync(TestBroker broker, IPAddress source)
    {
        var clock = Stopwatch.StartNew();
        var clients = new List<TestClient>();
        try
        {
            for (var i = 0; i < Burst; i++)
            {
                clients.Add(await broker.ConnectFromAsync(source));
            }
            return await Task.WhenAll(clients.Select(async client =>
            {
                try
                {
                    await client.SendRawAsync(TestClient.EncodeRequest(new ApiVersionsRequest(), 0, 1));
                }
                catch (IOException)
                {
                    return new Outcome(false, clock.ElapsedMilliseconds);
                }
                var frame = await client.ReadFrameAsync(TimeSpan.FromSeconds(15));
                return new Outcome(frame is not null, clock.ElapsedMilliseconds);
            }));
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    /// <summary>Waits until the broker's image holds <paramref name="value"/> (null: no quota) for the entity.</summary>
    private static async Task WaitForQuotaAsync(TestBroker broker, ClientQuotaEntity entity, double? value)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            double? current = broker.Broker.Metadata.Current.TryGetClientQuota(entity, Key, out var v) ? v : null;
            if (current == value)
            {
                return;
            }
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), $"the broker's image never showed {entity} {Key}={value}");
            await Task.Delay(20);
        }
    }
}
