using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Samsa.Broker.Config;
using Samsa.Broker.Lag;
using Samsa.Broker.Metrics;
using Samsa.Broker.WebConsole;
using Samsa.Metadata.Image;
using Samsa.Metadata.Scram;

namespace Samsa.Broker.Tests.WebConsole;

/// <summary>The console's parts that need no browser: Basic authentication, the assignment reader, the chart sampler.</summary>
public sealed class ConsoleTests
{
    private static KafkaConfig Config(params (string Key, string Value)[] extra) =>
        KafkaConfig.FromProperties([new("listeners", "PLAINTEXT://127.0.0.1:0"), new("log.dirs", "/unused"), .. extra.Select(e => new KeyValuePair<string, string>(e.Key, e.Value))]);

    private static string Basic(string user, string password) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));

    private static MetadataImage WithScram(MetadataImage image, string user, ScramMechanism mechanism, ScramCredential credential) => image with
    {
        ScramCredentials = image.ScramCredentials.SetItem(user,
            (image.ScramCredentials.GetValueOrDefault(user) ?? ImmutableSortedDictionary<ScramMechanism, ScramCredential>.Empty).SetItem(mechanism, credential)),
    };

    [Fact]
    public void Authenticator_WithoutSaslUsers_AsksForNothing()
    {
        var authenticator = new ConsoleAuthenticator(Config(), new MetadataCache(MetadataImage.Empty("c")));
        Assert.False(authenticator.Required);
    }

    [Fact]
    public void Authenticator_ChecksPlainJaasUsers()
    {
        var config = Config(("sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required user_alice=\"alice-pw\" user_bob=\"b:o:b\";"));
        var authenticator = new ConsoleAuthenticator(config, new MetadataCache(MetadataImage.Empty("c")));
        Assert.True(authenticator.Required);
        Assert.Equal("alice", authenticator.Authenticate(Basic("alice", "alice-pw")));
        Assert.Equal("bob", authenticator.Authenticate(Basic("bob", "b:o:b"))); // the password may hold colons
        Assert.Null(authenticator.Authenticate(Basic("alice", "alice-pw2")));
        Assert.Null(authenticator.Authenticate(Basic("carol", "alice-pw")));
        Assert.Null(authenticator.Authenticate(null));
        Assert.Null(authenticator.Authenticate("Basic not-base64!"));
        Assert.Null(authenticator.Authenticate("Bearer " + Convert.ToBase64String("alice:alice-pw"u8)));
    }

    [Fact]
    public void Authenticator_ChecksScramCredentials_AndForgetsAChangedOne()
    {
        var formatter = new ScramFormatter(ScramMechanism.ScramSha512);
        var cache = new MetadataCache(WithScram(MetadataImage.Empty("c"), "admin", ScramMechanism.ScramSha512, formatter.GenerateCredential("first", 4096)));
        var authenticator = new ConsoleAuthenticator(Config(), cache);
        Assert.True(authenticator.Required);
        Assert.Equal("admin", authenticator.Authenticate(Basic("admin", "first")));
        Assert.Equal("admin", authenticator.Authenticate(Basic("admin", "first"))); // remembered
        Assert.Null(authenticator.Authenticate(Basic("admin", "second")));

        // kafka-configs --alter --add-config 'SCRAM-SHA-512=[password=second]': the old password stops working at once.
        cache.Publish(WithScram(cache.Current, "admin", ScramMechanism.ScramSha512, formatter.GenerateCredential("second", 4096)));
        Assert.Null(authenticator.Authenticate(Basic("admin", "first")));
        Assert.Equal("admin", authenticator.Authenticate(Basic("admin", "second")));
    }

    [Fact]
    public void Assignment_ReadsConsumerProtocolAssignment_AndRefusesGarbage()
    {
        // version 1, [orders: 0, 2], [audit: 1], user data null
        var bytes = new List<byte>();
        void Int16(short v) { var b = new byte[2]; BinaryPrimitives.WriteInt16BigEndian(b, v); bytes.AddRange(b); }
        void Int32(int v) { var b = new byte[4]; BinaryPrimitives.WriteInt32BigEndian(b, v); bytes.AddRange(b); }
        void Str(string s) { Int16((short)s.Length); bytes.AddRange(Encoding.UTF8.GetBytes(s)); }
        Int16(1);
        Int32(2);
        Str("orders");
        Int32(2);
        Int32(0);
        Int32(2);
        Str("audit");
        Int32(1);
        Int32(1);
        Int32(-1);
        var assignment = ConsoleApi.Assignment([.. bytes]);
        Assert.Equal(2, assignment.Count);
        Assert.Equal("orders", assignment[0].Topic);
        Assert.Equal([0, 2], assignment[0].Partitions);
        Assert.Equal("audit", assignment[1].Topic);
        Assert.Equal([1], assignment[1].Partitions);

        Assert.Empty(ConsoleApi.Assignment([]));
        Assert.Empty(ConsoleApi.Assignment([0, 1, 0x7f, 0xff, 0xff, 0xff, 0, 0]));
    }

    [Fact]
    public async Task Sampler_TurnsCountersIntoRates_AndKeepsAnHourOfLag()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000));
        using var metrics = new BrokerMetrics(1);
        using var other = new BrokerMetrics(2);
        IReadOnlyDictionary<string, GroupLag>? lag = null;
        await using var sampler = new ConsoleSampler(metrics, () => lag, time, TimeSpan.FromSeconds(1));
        sampler.Sample();
        metrics.RecordAppend("t", 3000, 30);
        other.RecordAppend("t", 999_999, 1); // another node's meter in the same process is not this broker's traffic
        metrics.RecordFetched("t", 500, follower: false);
        time.Advance(TimeSpan.FromSeconds(2));
        sampler.Sample();
        var sample = Assert.Single(sampler.Throughput);
        Assert.Equal(1500, sample.BytesInPerSec);
        Assert.Equal(15, sample.MessagesInPerSec);
        Assert.Equal(250, sample.BytesOutPerSec);

        GroupLag Lagging(long total) => new("g", LagStatus.Ok, total, []);
        lag = new Dictionary<string, GroupLag> { ["g"] = Lagging(40) };
        sampler.Sample();
        sampler.Sample(); // the same monitor sample is one point
        Assert.Equal([40L], sampler.LagHistory("g").Select(p => p.TotalLag));
        time.Advance(TimeSpan.FromMinutes(30));
        lag = new Dictionary<string, GroupLag> { ["g"] = Lagging(5) };
        sampler.Sample();
        Assert.Equal([40L, 5L], sampler.LagHistory("g").Select(p => p.TotalLag));
        time.Advance(TimeSpan.FromMinutes(31));
        lag = new Dictionary<string, GroupLag> { ["g"] = Lagging(0) };
        sampler.Sample();
        // The point from 61 minutes ago has aged out; throughput keeps only the last hour too.
        Assert.Equal([5L, 0L], sampler.LagHistory("g").Select(p => p.TotalLag));
        Assert.All(sampler.Throughput, s => Assert.True(s.TimeMs >= time.GetUtcNow().ToUnixTimeMilliseconds() - 3_600_000));
        Assert.Empty(sampler.LagHistory("unknown"));
    }
}
