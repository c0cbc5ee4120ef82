using System.Collections.Immutable;
using System.Diagnostics;
using Samsa.Broker.Config;
using Samsa.Broker.Network;
using Samsa.Broker.Quotas;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Tests.Quotas;

/// <summary>KIP-124's request_percentage: the arithmetic on a virtual clock, the exemptions, and the broker over the wire.</summary>
public sealed class RequestQuotaTests
{
    private const string Key = "request_percentage";

    private static ImmutableSortedDictionary<ClientQuotaEntity, ImmutableSortedDictionary<string, double>> Quotas(params (ClientQuotaEntity Entity, double Value)[] quotas) =>
        quotas.ToImmutableSortedDictionary(q => q.Entity, q => ImmutableSortedDictionary.Create<string, double>(StringComparer.Ordinal).Add(Key, q.Value));

    [Fact]
    public void HandlerTime_IsChargedAsPercentSeconds_AndTheThrottleIsBoundedByOneWindow()
    {
        // A millisecond of one thread is 0.1 percent-seconds (Kafka's nanosToPercentage).
        Assert.Equal(0.1, RequestQuota.ToPercentage(TimeSpan.FromMilliseconds(1)), 9);
        Assert.Equal(100, RequestQuota.ToPercentage(TimeSpan.FromSeconds(1)), 9);

        // 10 % of a thread over 2 windows of 1 s: a first burst of 200 ms of handler time is free.
        var image = MetadataImage.Empty("c") with { ClientQuotas = Quotas((ClientQuotaEntity.OfClientId("busy"), 10)) };
        var quota = new RequestQuota(() => image, samples: 2, windowSeconds: 1, TimeProvider.System);
        Assert.Equal(0, quota.RecordAndGetThrottleTimeMs("ANONYMOUS", "busy", TimeSpan.FromMilliseconds(200), nowMs: 0));
        // 50 ms more is a debt of 5 percent-seconds, repaid at 10 per second: 500 ms.
        Assert.Equal(500, quota.RecordAndGetThrottleTimeMs("ANONYMOUS", "busy", TimeSpan.FromMilliseconds(50), nowMs: 0));
        // 300 ms later 3 of it is repaid; another 100 ms of handler time leaves 12: 1200 ms, bounded at the 1 s window.
        Assert.Equal(1000, quota.RecordAndGetThrottleTimeMs("ANONYMOUS", "busy", TimeSpan.FromMilliseconds(100), nowMs: 300));
        // A client with no request_percentage is never charged.
        Assert.Equal(0, quota.RecordAndGetThrottleTimeMs("ANONYMOUS", "other", TimeSpan.FromSeconds(10), nowMs: 300));
        Assert.Null(quota.Manager.SensorFor("ANONYMOUS", "other"));
    }

    [Fact]
    public void Exemptions_AreKafkasClusterActions_FollowerFetches_AndSasl()
    {
        var client = new ConnectionContext("c1", "PLAINTEXT", SecurityProtocol.Plaintext, null);
        foreach (var key in new[] { ApiKey.Produce, ApiKey.Fetch, ApiKey.Metadata, ApiKey.ApiVersions, ApiKey.CreateTopics, ApiKey.JoinGroup, ApiKey.DescribeConfigs })
        {
            Assert.False(RequestQuota.IsExempt(key, client), key.ToString());
        }
        foreach (var key in new[] { ApiKey.SaslHandshake, ApiKey.SaslAuthenticate, ApiKey.WriteTxnMarkers, ApiKey.AlterPartition, ApiKey.BrokerHeartbeat, ApiKey.Vote })
        {
            Assert.True(RequestQuota.IsExempt(key, client), key.ToString());
        }
        var follower = new ConnectionContext("c2", "PLAINTEXT", SecurityProtocol.Plaintext, null) { FetchFromFollower = true };
        Assert.True(RequestQuota.IsExempt(ApiKey.Fetch, follower));
    }

    [Fact]
    public async Task Client_OverItsRequestPercentage_IsToldThrottleTime_AndMuted_WhileAnotherClientIsNot()
    {
        await using var broker = await TestBroker.StartAsync(("quota.window.num", "2"), ("quota.window.size.seconds", "1"));
        // 0.01 % of a thread: a burst of 0.2 ms of handler time, then 0.1 ms per second.
        await QuotaWire.SetQuotaAsync(broker, "client-id", "busy", Key, 0.01);
        await using var busy = await broker.ConnectAsync();
        var metadata = new MetadataRequest { Topics = null };
        var throttled = 0;
        for (var i = 0; i < 200 && throttled < 200; i++)
        {
            var response = await QuotaWire.SendAsync<MetadataResponse>(busy, metadata, 12, "busy", i);
            throttled = response.ThrottleTimeMs;
        }
        Assert.InRange(throttled, 200, 1000); // at most one quota window, as Kafka bounds it

        // KIP-219: the connection reads nothing more until the throttle has passed.
        var clock = Stopwatch.StartNew();
        await QuotaWire.SendAsync<MetadataResponse>(busy, metadata, 12, "busy", 1000);
        Assert.True(clock.ElapsedMilliseconds >= throttled / 2, $"answered after {clock.ElapsedMilliseconds} ms, throttled {throttled} ms");

        // The sensor is the client id's: ApiVersions (not exempt in Kafka) on another connection is throttled too.
        await using var second = await broker.ConnectAsync();
        var versions = await QuotaWire.SendAsync<ApiVersionsResponse>(second, new ApiVersionsRequest { ClientSoftwareName = "t", ClientSoftwareVersion = "1" }, 3, "busy");
        Assert.True(versions.ThrottleTimeMs > 0);

        // A client without a quota, on the same broker at the same time, is never throttled.
        await using var free = await broker.ConnectAsync();
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(0, (await QuotaWire.SendAsync<MetadataResponse>(free, metadata, 12, "free", i)).ThrottleTimeMs);
        }
    }
}
