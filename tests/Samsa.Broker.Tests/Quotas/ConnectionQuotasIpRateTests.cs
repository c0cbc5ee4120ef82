using System.Collections.Immutable;
using System.Net;
using Microsoft.Extensions.Time.Testing;
using Samsa.Broker.Network;
using Samsa.Metadata.Image;

namespace Samsa.Broker.Tests.Quotas;

/// <summary>KIP-612's per-IP connection_creation_rate in <see cref="ConnectionQuotas"/>, on a fake clock.</summary>
public sealed class ConnectionQuotasIpRateTests
{
    private const string Listener = "PLAINTEXT";

    private static readonly IPAddress A = IPAddress.Parse("10.0.0.1");
    private static readonly IPAddress B = IPAddress.Parse("10.0.0.2");

    private readonly FakeTimeProvider _clock = new(DateTimeOffset.FromUnixTimeMilliseconds(1_000_000));

    private static MetadataImage Image(params (string? Ip, double Rate)[] quotas) => MetadataImage.Empty("c") with
    {
        ClientQuotas = quotas.ToImmutableSortedDictionary(q => ClientQuotaEntity.OfIp(q.Ip),
            q => ImmutableSortedDictionary.Create<string, double>(StringComparer.Ordinal).Add("connection_creation_rate", q.Rate)),
    };

    // 2 windows of 1 s: a rate r allows a burst of 2r, then one connection every 1/r s.
    private ConnectionQuotas Quotas(Func<MetadataImage> image, int brokerRate = int.MaxValue, string[]? listeners = null, string? interBroker = null) =>
        new(int.MaxValue, int.MaxValue, new Dictionary<IPAddress, int>(), (listeners ?? [Listener]).ToDictionary(l => l, _ => int.MaxValue), interBroker,
            brokerRate, null, samples: 2, windowSeconds: 1, time: _clock, image: image);

    private static ConnectionAdmission Acquire(ConnectionQuotas quotas, IPAddress address, string listener = Listener, Action<int>? onThrottle = null)
    {
        var pending = quotas.AcquireAsync(listener, address, null, CancellationToken.None, onThrottle);
        Assert.True(pending.IsCompletedSuccessfully, "the acceptor was held");
        return pending.Result;
    }

    [Fact]
    public void OverItsRate_AnAddressIsRefusedWithTheThrottle_AndTheRefusalIsTakenBack()
    {
        var quotas = Quotas(() => Image(("10.0.0.1", 2)));
        for (var i = 0; i < 4; i++)
        {
            Assert.True(Acquire(quotas, A).IsAdmitted);
        }
        Assert.Equal(ConnectionAdmission.Throttled(500), Acquire(quotas, A));
        // The refused connection was not counted: the next one waits the same 500 ms, not 1 s.
        Assert.Equal(ConnectionAdmission.Throttled(500), Acquire(quotas, A));
        Assert.True(Acquire(quotas, B).IsAdmitted);
        Assert.Equal(5, quotas.Total);
        _clock.Advance(TimeSpan.FromMilliseconds(500));
        Assert.True(Acquire(quotas, A).IsAdmitted);
        Assert.Equal(ConnectionAdmission.Throttled(500), Acquire(quotas, A));
    }

    [Fact]
    public void TheDefaultEntity_AppliesWithoutAnOwnQuota_AndQuotaChangesApplyToTheExistingSensor()
    {
        var image = Image((null, 1), ("10.0.0.2", 100));
        var quotas = Quotas(() => image);
        Assert.True(Acquire(quotas, A).IsAdmitted);
        Assert.True(Acquire(quotas, A).IsAdmitted);
        Assert.Equal(ConnectionAdmission.Throttled(1000), Acquire(quotas, A));
        for (var i = 0; i < 20; i++)
        {
            Assert.True(Acquire(quotas, B).IsAdmitted);
        }

        // A higher default reaches A's sensor at its next connection: its debt is repaid at 10 a second.
        image = Image((null, 10), ("10.0.0.2", 100));
        Assert.Equal(ConnectionAdmission.Throttled(100), Acquire(quotas, A));

        image = Image();
        for (var i = 0; i < 20; i++)
        {
            Assert.True(Acquire(quotas, A).IsAdmitted);
        }
    }

    [Fact]
    public void ARefusedConnection_IsTakenBackFromTheBrokerRate()
    {
        var onThrottle = 0;
        // Broker: burst 4. A: burst 2.
        var quotas = Quotas(() => Image(("10.0.0.1", 1)), brokerRate: 2);
        Assert.True(Acquire(quotas, A, onThrottle: _ => onThrottle++).IsAdmitted);
        Assert.True(Acquire(quotas, A, onThrottle: _ => onThrottle++).IsAdmitted);
        for (var i = 0; i < 5; i++)
        {
            Assert.True(Acquire(quotas, A, onThrottle: _ => onThrottle++).ThrottleMs > 0);
        }
        // Had the refusals counted, the broker's rate would hold these.
        Assert.True(Acquire(quotas, B, onThrottle: _ => onThrottle++).IsAdmitted);
        Assert.True(Acquire(quotas, B, onThrottle: _ => onThrottle++).IsAdmitted);
        Assert.Equal(0, onThrottle);
    }

    [Fact]
    public void TheIpRate_AppliesOnTheInterBrokerListenerToo()
    {
        var quotas = Quotas(() => Image(("10.0.0.1", 1)), listeners: [Listener, "INTERNAL"], interBroker: "INTERNAL");
        Assert.True(Acquire(quotas, A, "INTERNAL").IsAdmitted);
        Assert.True(Acquire(quotas, A, "INTERNAL").IsAdmitted);
        Assert.Equal(ConnectionAdmission.Throttled(1000), Acquire(quotas, A, "INTERNAL"));
        Assert.Equal(ConnectionAdmission.Throttled(1000), Acquire(quotas, A));
    }

    [Fact]
    public void Sensors_AreDroppedWhenIdle_AndBounded()
    {
        var image = Image((null, 1));
        var rates = new IpConnectionRates(() => image, samples: 2, windowSeconds: 1, maxSensors: 2);
        var now = 1_000_000L;
        Assert.Equal(0, rates.RecordOrThrottle(A, now, 1000));
        Assert.Equal(0, rates.RecordOrThrottle(B, now, 1000));
        Assert.Equal(2, rates.SensorCount);
        // Past the bound a new address goes untracked (and unthrottled) rather than lock every newcomer out.
        var c = IPAddress.Parse("10.0.0.3");
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(0, rates.RecordOrThrottle(c, now, 1000));
        }
        Assert.Equal(2, rates.SensorCount);
        // Idle for the whole span (2 windows), the sensors are as good as new and are dropped.
        now += 2000;
        Assert.Equal(0, rates.RecordOrThrottle(c, now, 1000));
        Assert.Equal(1, rates.SensorCount);
        Assert.Equal(1, rates.RateFor(A));
        image = Image();
        Assert.Equal(int.MaxValue, rates.RateFor(A));
    }
}
