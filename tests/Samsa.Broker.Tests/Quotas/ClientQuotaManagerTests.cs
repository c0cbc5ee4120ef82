using System.Collections.Immutable;
using Samsa.Broker.Quotas;
using Samsa.Metadata.Image;

namespace Samsa.Broker.Tests.Quotas;

/// <summary>Kafka's Rate, SampledStat and QuotaUtils arithmetic, worked by hand, and the DefaultQuotaCallback precedence.</summary>
public sealed class ClientQuotaManagerTests
{
    private const string Key = "producer_byte_rate";

    [Fact]
    public void Rate_BeforeTheSamplesFill_CountsTheMissingWindowsAsEmpty()
    {
        var rate = new SampledRate(11, 1000);
        rate.Record(100, 0);
        // 100 over (0 elapsed + 10 missing whole windows) = 10 s.
        Assert.Equal(10000, rate.WindowSize(0));
        Assert.Equal(10.0, rate.Measure(0));
        // At 1500 the next sample opens aligned at 1000; 1500 ms elapsed, 1 whole window, 9 missing: 10.5 s.
        rate.Record(900, 1500);
        Assert.Equal(10500, rate.WindowSize(1500));
        Assert.Equal(1000 / 10.5, rate.Measure(1500), 9);
    }

    [Fact]
    public void Rate_SamplesOlderThanAllWindows_AreForgotten()
    {
        var rate = new SampledRate(11, 1000);
        rate.Record(1100, 0);
        Assert.Equal(110.0, rate.Measure(5000));
        Assert.Equal(0.0, rate.Measure(11000));
        rate.Record(50, 11000);
        Assert.Equal(5.0, rate.Measure(11000));
    }

    [Fact]
    public void Rate_AfterAllWindowsFill_IsTheSumOverTheTimeSinceTheOldestSample()
    {
        var rate = new SampledRate(3, 1000);
        for (var t = 0; t <= 2500; t += 500)
        {
            rate.Record(100, t);
        }
        // Samples start at 0, 1000, 2000 and hold 200 each; at 2500: 600 over 2.5 s.
        Assert.Equal(2500, rate.WindowSize(2500));
        Assert.Equal(240.0, rate.Measure(2500));
        // At 3000 the sample of 0 is obsolete and restarts empty at 3000: 400 over (2000 since 1000).
        Assert.Equal(200.0, rate.Measure(3000));
    }

    [Fact]
    public void ThrottleTime_IsKafkasFormula_RoundedAsJava_AndBounded()
    {
        Assert.Equal(0, QuotaUtils.ThrottleTime(16.5, 16.5, 1000));
        Assert.Equal(1000, QuotaUtils.ThrottleTime(20, 10, 1000));
        Assert.Equal(10, QuotaUtils.ThrottleTime(101, 100, 1005)); // 10.05
        Assert.Equal(1, QuotaUtils.ThrottleTime(1.5, 1, 1)); // 0.5 rounds up, as Math.round
        Assert.Equal(500, QuotaUtils.BoundedThrottleTime(20, 10, 1000, 500));
    }

    [Fact]
    public void Sensor_InDebt_ThrottlesForTheTimeThatRepaysIt()
    {
        var sensor = new QuotaSensor(11, 1000) { Quota = 100 };
        // The bucket starts with 11 windows' worth (1100) of credit: a first burst of that much is not throttled.
        Assert.Equal(0, sensor.RecordAndGetThrottleTimeMs(1100, 0));
        // 50 more is a debt of 50 at 100/s: 500 ms.
        Assert.Equal(500, sensor.RecordAndGetThrottleTimeMs(50, 0));
        // 300 ms later 30 of it is repaid; another 10 leaves 30 owed: 300 ms, bounded at 200 when asked.
        Assert.Equal(200, sensor.RecordAndGetThrottleTimeMs(10, 300, maxThrottleTimeMs: 200));
        // Taken back (a throttled fetch sends nothing), the debt is 20 again: after 200 ms, even.
        sensor.Unrecord(10, 300);
        Assert.Equal(0, sensor.RecordAndGetThrottleTimeMs(0, 500));
        // The measured rate is Kafka's windowed one: 1150 over 10.5 s (0.5 elapsed and 10 windows counted empty).
        Assert.Equal(1150 / 10.5, sensor.MeasuredRate(500), 9);
    }

    [Theory]
    [InlineData(16384)]
    [InlineData(1048576)]
    public void Sensor_HoldsAClientThatAlwaysHasMoreToSend_AtTheQuota_InEvery30Seconds(int requestBytes)
    {
        // A producer with an endless backlog sends its next request the moment its connection is unmuted. After the
        // first burst, every 30 s it sends within a request of 30 s of quota (Kafka's windowed Rate alone gives
        // 0.74 or 1.10 by where the 30 s fall).
        const double quota = 1048576;
        var sensor = new QuotaSensor(11, 1000) { Quota = quota };
        var sentAt = new List<(long At, int Bytes)>();
        for (long now = 0; now < 120_000;)
        {
            sentAt.Add((now, requestBytes));
            now += Math.Max(1, sensor.RecordAndGetThrottleTimeMs(requestBytes, now));
        }
        for (long from = 12_000; from <= 90_000; from += 1_000)
        {
            var bytes = sentAt.Where(s => s.At >= from && s.At < from + 30_000).Sum(s => (double)s.Bytes);
            Assert.InRange(bytes, (30 * quota) - requestBytes, (30 * quota) + requestBytes);
        }
    }

    private static ImmutableSortedDictionary<ClientQuotaEntity, ImmutableSortedDictionary<string, double>> Quotas(params (ClientQuotaEntity Entity, double Value)[] quotas) =>
        quotas.ToImmutableSortedDictionary(q => q.Entity, q => ImmutableSortedDictionary.Create<string, double>(StringComparer.Ordinal).Add(Key, q.Value));

    [Fact]
    public void Resolve_FollowsKafkasPrecedence_AndTagsTheSensorByTheMatch()
    {
        var all = new List<(ClientQuotaEntity, double)>
        {
            (ClientQuotaEntity.OfUserAndClientId("u", "c"), 1),
            (ClientQuotaEntity.OfUserAndClientId("u", null), 2),
            (ClientQuotaEntity.OfUser("u"), 3),
            (ClientQuotaEntity.OfUserAndClientId(null, "c"), 4),
            (ClientQuotaEntity.OfUserAndClientId(null, null), 5),
            (ClientQuotaEntity.OfUser(null), 6),
            (ClientQuotaEntity.OfClientId("c"), 7),
            (ClientQuotaEntity.OfClientId(null), 8),
        };
        var expectedTags = new[] { ("u", "c"), ("u", "c"), ("u", ""), ("u", "c"), ("u", "c"), ("u", ""), ("", "c"), ("", "c") };
        for (var i = 0; i < all.Count; i++)
        {
            var match = ClientQuotaManager.Resolve(Quotas([.. all.Skip(i)]), Key, "u", "c");
            Assert.NotNull(match);
            Assert.Equal(i + 1, match.Value.Quota);
            Assert.Equal(expectedTags[i], (match.Value.TagUser, match.Value.TagClientId));
        }
        Assert.Null(ClientQuotaManager.Resolve(Quotas(), Key, "u", "c"));
        // Another user's or client's entity, and another key, do not apply.
        Assert.Null(ClientQuotaManager.Resolve(Quotas((ClientQuotaEntity.OfUser("v"), 1), (ClientQuotaEntity.OfClientId("d"), 1)), Key, "u", "c"));
        Assert.Null(ClientQuotaManager.Resolve(Quotas((ClientQuotaEntity.OfUser("u"), 1)), "consumer_byte_rate", "u", "c"));
    }

    [Fact]
    public void Manager_SharesASensorPerMatchedEntity_FollowsQuotaChanges_AndExpiresIdleSensors()
    {
        var image = MetadataImage.Empty("c") with { ClientQuotas = Quotas((ClientQuotaEntity.OfClientId(null), 100)) };
        var manager = new ClientQuotaManager(Key, () => image, 11, 1, TimeProvider.System, inactiveSensorExpiration: TimeSpan.FromSeconds(10));
        // Two users with client id "c" share the /clients/<default> sensor of "c"; client "d" has its own.
        Assert.Same(manager.SensorFor("alice", "c"), manager.SensorFor("bob", "c"));
        Assert.NotSame(manager.SensorFor("alice", "c"), manager.SensorFor("alice", "d"));
        Assert.Equal(0, manager.RecordAndGetThrottleTimeMs("alice", "c", 1100, 0));
        Assert.Equal(1000, manager.RecordAndGetThrottleTimeMs("bob", "c", 100, 0));
        Assert.Equal(0, manager.RecordAndGetThrottleTimeMs("alice", "d", 1100, 0));

        // A raised quota repays the debt of 100 faster: 100 ms at 1000/s.
        image = image with { ClientQuotas = Quotas((ClientQuotaEntity.OfClientId(null), 1000)) };
        Assert.Equal(100, manager.RecordAndGetThrottleTimeMs("bob", "c", 0, 0));
        image = image with { ClientQuotas = Quotas() };
        Assert.Null(manager.SensorFor("bob", "c"));

        Assert.Equal(2, manager.SensorCount);
        manager.Purge(10_000);
        Assert.Equal(0, manager.SensorCount);
    }
}
