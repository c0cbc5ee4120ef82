using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Samsa.Broker.Config;
using Samsa.Broker.Metrics;
using Samsa.Broker.Network;
using Samsa.Broker.Quotas;
using Samsa.Broker.Tests.Replication;
using Samsa.Metadata.Image;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;

namespace Samsa.Broker.Tests.Quotas;

/// <summary>
/// Kafka's client quota metrics on <c>/metrics</c>, named as the JMX exporter's standard Kafka rules name them:
/// <c>kafka_server_quota_byte_rate</c>, <c>_throttle_time</c> etc. labelled <c>resource</c>, <c>user</c>,
/// <c>clientId</c> (an empty tag left out, as JMX leaves it out), and the <c>queue_size</c> of each quota.
/// </summary>
public sealed partial class QuotaMetricsTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const string ProducerByteRate = "producer_byte_rate";

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>One exported sample: its name, labels (without <c>otel_scope_name</c>) and value.</summary>
    private sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>\S+)""")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"(?<key>[a-zA-Z_][a-zA-Z0-9_]*)=""(?<value>(?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();

    private static List<Sample> Parse(string scrape)
    {
        var samples = new List<Sample>();
        foreach (var line in scrape.Split('\n'))
        {
            if (line.StartsWith('#') || SampleLine().Match(line) is not { Success: true } m)
            {
                continue;
            }
            var labels = LabelPair().Matches(m.Groups["labels"].Value)
                .Where(p => p.Groups["key"].Value != "otel_scope_name")
                .ToDictionary(p => p.Groups["key"].Value, p => p.Groups["value"].Value);
            samples.Add(new Sample(m.Groups["name"].Value, labels, double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture)));
        }
        return samples;
    }

    /// <summary>The one sample of <paramref name="name"/> with exactly these labels.</summary>
    private static Sample Single(List<Sample> samples, string name, params (string Key, string Value)[] labels) =>
        Assert.Single(samples, s => s.Name == name && s.Labels.Count == labels.Length && labels.All(l => s.Labels.GetValueOrDefault(l.Key) == l.Value));

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// A producer held to 20 KB/s (a client-id entity) shows a byte rate near what it sent and a throttle time above 0,
    /// labelled by its client id alone; its connection counts in the Produce queue while muted. A producer under a
    /// generous (user, client-id) quota shows throttle time 0, labelled by both.
    /// </summary>
    [Fact]
    public async Task ThrottledProducer_ShowsItsByteRateAndThrottleTime_AndAnUnthrottledOneThrottleTimeZero()
    {
        var port = FreePort();
        // The byte rate is measured over 4 windows of 1 s; the bucket lets a first 80 KB through.
        await using var broker = await TestBroker.StartAsync(("quota.window.num", "4"), ("quota.window.size.seconds", "1"),
            ("metrics.listener", $"http://127.0.0.1:{port}"));
        var metrics = new Uri($"http://127.0.0.1:{port}/metrics");
        await using var client = await broker.ConnectAsync();
        await ProduceFetchTests.CreateTopic(broker, client, "t");
        const double quota = 20_000;
        await QuotaWire.SetQuotaAsync(broker, "client-id", "slow", ProducerByteRate, quota);
        await SetUserAndClientQuotaAsync(broker, "ANONYMOUS", "fast", ProducerByteRate, 100_000_000);

        await using var slow = await broker.ConnectAsync();
        long sent = 0;
        var throttled = 0;
        var correlationId = 0;
        var timer = System.Diagnostics.Stopwatch.StartNew();
        while (timer.Elapsed < TimeSpan.FromSeconds(4))
        {
            var (size, throttleMs) = await ProduceAsync(slow, "slow", 2_000, ++correlationId);
            sent += size;
            throttled += throttleMs > 0 ? 1 : 0;
        }
        var sentRate = sent / timer.Elapsed.TotalSeconds;
        Assert.True(throttled > 0, "the slow producer was never throttled");

        await using var fast = await broker.ConnectAsync();
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(0, (await ProduceAsync(fast, "fast", 2_000, ++correlationId)).ThrottleMs);
        }

        var samples = Parse(await Http.GetStringAsync(metrics));
        var byteRate = Single(samples, "kafka_server_quota_byte_rate", ("resource", "Produce"), ("clientId", "slow")).Value;
        var throttleTime = Single(samples, "kafka_server_quota_throttle_time", ("resource", "Produce"), ("clientId", "slow")).Value;
        output.WriteLine($"slow: sent {sentRate:F0} B/s, byte_rate {byteRate:F0}, throttle_time {throttleTime:F0} ms over {throttled} throttled produces");
        // Measured over the last 4 windows (3 s at least) against the whole 4 s run, whose first 80 KB went at once:
        // near, allowing for a slow scrape (a window older than 4 s is forgotten).
        Assert.InRange(byteRate, sentRate / 8, sentRate * 2);
        Assert.True(throttleTime > 0, $"throttle_time {throttleTime}");

        var fastRate = Single(samples, "kafka_server_quota_byte_rate", ("resource", "Produce"), ("user", "ANONYMOUS"), ("clientId", "fast")).Value;
        Assert.True(fastRate > 0, $"byte_rate {fastRate}");
        Assert.Equal(0, Single(samples, "kafka_server_quota_throttle_time", ("resource", "Produce"), ("user", "ANONYMOUS"), ("clientId", "fast")).Value);
        // No fetch, request or mutation quota is set: no sensor, no series.
        Assert.DoesNotContain(samples, s => s.Name.StartsWith("kafka_server_quota_", StringComparison.Ordinal) && s.Labels["resource"] != "Produce");
        foreach (var name in new[] { "kafka_server_fetch_queue_size", "kafka_server_request_queue_size", "kafka_server_controllermutation_queue_size" })
        {
            Assert.Equal(0, Single(samples, name).Value);
        }
        Assert.True(Single(samples, "kafka_server_request_exempt_request_time").Value >= 0);

        // A 60 KB batch puts the slow producer some 3 s in debt: its connection is muted, in the Produce queue, until then.
        var (_, longThrottle) = await ProduceAsync(slow, "slow", 60_000, ++correlationId);
        Assert.True(longThrottle > 1000, $"throttle {longThrottle} ms");
        await WaitForAsync(metrics, "kafka_server_produce_queue_size", 1, TimeSpan.FromMilliseconds(longThrottle / 2));
        await WaitForAsync(metrics, "kafka_server_produce_queue_size", 0, TimeSpan.FromSeconds(20));
    }

    /// <summary>
    /// The labels follow the matched entity (Kafka's quotaMetricTags): a client-id entity gives <c>clientId</c> alone,
    /// a user entity <c>user</c> alone, a (user, client-id) entity both; and a sensor's series go when it expires.
    /// </summary>
    /// <remarks>Covers Produce; <see cref="EachQuota_IsItsOwnResource_AndExemptTimeIsARateBetweenScrapes"/> the others.</remarks>
    [Fact]
    public async Task Series_AreLabelledByTheMatchedEntity_AndGoWhenTheirSensorExpires()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_000_000));
        var image = MetadataImage.Empty("c") with
        {
            ClientQuotas = new[]
            {
                (ClientQuotaEntity.OfClientId("c1"), 1000.0),
                (ClientQuotaEntity.OfUser("alice"), 1000.0),
                (ClientQuotaEntity.OfUserAndClientId("bob", "c2"), 1000.0),
            }.ToImmutableSortedDictionary(q => q.Item1, q => ImmutableSortedDictionary.Create<string, double>(StringComparer.Ordinal).Add(ProducerByteRate, q.Item2)),
        };
        var produce = new ClientQuotaManager(ProducerByteRate, () => image, 2, 1, clock, inactiveSensorExpiration: TimeSpan.FromSeconds(10));
        var fetch = new ClientQuotaManager("consumer_byte_rate", () => image, 2, 1, clock);
        using var metrics = new BrokerMetrics(1);
        metrics.ObserveQuotas(new QuotaManagers(produce, fetch, new RequestQuota(() => image, 2, 1, clock), new ControllerMutationQuota(() => image, 2, 1, clock)));
        await using var server = await MetricsHttpServer.StartAsync($"http://127.0.0.1:{FreePort()}", metrics, () => true, NullLoggerFactory.Instance, default);

        // 2 s of burst is 2000 bytes: 5000 leaves c1 3 s in debt.
        Assert.Equal(3000, produce.RecordAndGetThrottleTimeMs("anyone", "c1", 5000));
        Assert.Equal(0, produce.RecordAndGetThrottleTimeMs("alice", "any-client", 500));
        Assert.Equal(0, produce.RecordAndGetThrottleTimeMs("bob", "c2", 100));
        var samples = Parse(await Http.GetStringAsync(new Uri(server.Endpoint, "/metrics")));
        // Rate: 5000 over the 1 s minimum window.
        Assert.Equal(5000, Single(samples, "kafka_server_quota_byte_rate", ("resource", "Produce"), ("clientId", "c1")).Value);
        Assert.Equal(3000, Single(samples, "kafka_server_quota_throttle_time", ("resource", "Produce"), ("clientId", "c1")).Value);
        Assert.Equal(500, Single(samples, "kafka_server_quota_byte_rate", ("resource", "Produce"), ("user", "alice")).Value);
        Assert.Equal(0, Single(samples, "kafka_server_quota_throttle_time", ("resource", "Produce"), ("user", "alice")).Value);
        Assert.Equal(100, Single(samples, "kafka_server_quota_byte_rate", ("resource", "Produce"), ("user", "bob"), ("clientId", "c2")).Value);

        clock.Advance(TimeSpan.FromSeconds(10));
        produce.Purge(clock.GetUtcNow().ToUnixTimeMilliseconds());
        Assert.Equal(0, produce.SensorCount);
        samples = Parse(await Http.GetStringAsync(new Uri(server.Endpoint, "/metrics")));
        Assert.DoesNotContain(samples, s => s.Name.StartsWith("kafka_server_quota_", StringComparison.Ordinal));
    }

    /// <summary>
    /// Fetch byte-rate, Request request-time and ControllerMutation mutation-rate are the same gauges under their own
    /// <c>resource</c>; exempt-request-time is the exempt time since the previous scrape over at least one metrics window.
    /// </summary>
    [Fact]
    public async Task EachQuota_IsItsOwnResource_AndExemptTimeIsARateBetweenScrapes()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_000_000));
        var keys = ImmutableSortedDictionary.Create<string, double>(StringComparer.Ordinal)
            .Add("consumer_byte_rate", 1000).Add("request_percentage", 10).Add("controller_mutation_rate", 1);
        var image = MetadataImage.Empty("c") with
        {
            ClientQuotas = ImmutableSortedDictionary<ClientQuotaEntity, ImmutableSortedDictionary<string, double>>.Empty.Add(ClientQuotaEntity.OfClientId("c1"), keys),
        };
        var fetch = new ClientQuotaManager("consumer_byte_rate", () => image, 2, 1, clock);
        // Metrics windows of 1 s: the exempt rate is taken over at least 1 s.
        var request = new RequestQuota(() => image, 2, 1, clock, metricsSamples: 2, metricsWindowMs: 1000);
        var mutation = new ControllerMutationQuota(() => image, 2, 1, clock);
        using var metrics = new BrokerMetrics(1);
        metrics.ObserveQuotas(new QuotaManagers(new ClientQuotaManager(ProducerByteRate, () => image, 2, 1, clock), fetch, request, mutation));
        await using var server = await MetricsHttpServer.StartAsync($"http://127.0.0.1:{FreePort()}", metrics, () => true, NullLoggerFactory.Instance, default);
        var uri = new Uri(server.Endpoint, "/metrics");
        Assert.Equal(0, Single(Parse(await Http.GetStringAsync(uri)), "kafka_server_request_exempt_request_time").Value);

        Assert.Equal(0, fetch.RecordAndGetThrottleTimeMs("anyone", "c1", 300));
        // 100 ms of a thread is 10 percent-seconds; the burst is 2 windows' worth, 20.
        Assert.Equal(0, request.RecordAndGetThrottleTimeMs("anyone", "c1", TimeSpan.FromMilliseconds(100)));
        // Strict: accepted into debt (5 permits against a burst of 2), then the response throttles 3 s.
        var budget = mutation.Begin("anyone", "c1", apiVersion: 6, strictSinceVersion: 6);
        Assert.True(budget.TryReserve(5));
        Assert.Equal(0, budget.ThrottleConnection(new ConnectionContext("c1", "PLAINTEXT", SecurityProtocol.Plaintext, null)));
        // The next request is refused and throttled for the 3 s debt, which its throttle time records.
        var refused = mutation.Begin("anyone", "c1", apiVersion: 6, strictSinceVersion: 6);
        Assert.False(refused.TryReserve(1));
        Assert.Equal(3000, refused.ThrottleConnection(new ConnectionContext("c2", "PLAINTEXT", SecurityProtocol.Plaintext, null)));
        request.RecordExempt(TimeSpan.FromMilliseconds(500));
        clock.Advance(TimeSpan.FromMilliseconds(1500));

        var samples = Parse(await Http.GetStringAsync(uri));
        // Each over the 1.5 s since its sample opened (more than the windows' minimum of 1 s, less than the 2 s that forget it).
        Assert.Equal(200, Single(samples, "kafka_server_quota_byte_rate", ("resource", "Fetch"), ("clientId", "c1")).Value, 6);
        Assert.Equal(10 / 1.5, Single(samples, "kafka_server_quota_request_time", ("resource", "Request"), ("clientId", "c1")).Value, 6);
        Assert.Equal(5 / 1.5, Single(samples, "kafka_server_quota_mutation_rate", ("resource", "ControllerMutation"), ("clientId", "c1")).Value, 6);
        Assert.Equal(0, Single(samples, "kafka_server_quota_throttle_time", ("resource", "Fetch"), ("clientId", "c1")).Value);
        Assert.Equal(0, Single(samples, "kafka_server_quota_throttle_time", ("resource", "Request"), ("clientId", "c1")).Value);
        Assert.Equal(3000, Single(samples, "kafka_server_quota_throttle_time", ("resource", "ControllerMutation"), ("clientId", "c1")).Value);
        // 500 ms of a thread in the 1.5 s since the first scrape: a third.
        Assert.Equal(50 / 1.5, Single(samples, "kafka_server_request_exempt_request_time").Value, 6);
    }

    /// <summary>Produces one batch of a <paramref name="valueBytes"/> value as <paramref name="clientId"/>: the frame's size and the throttle answered.</summary>
    private static async Task<(int Size, int ThrottleMs)> ProduceAsync(TestClient client, string clientId, int valueBytes, int correlationId)
    {
        using var builder = new RecordBatchBuilder();
        builder.Append(0, null, new byte[valueBytes]);
        var request = ProduceFetchTests.Produce("t", 0, builder.Build());
        var size = TestClient.EncodeRequest(request, 9, correlationId, clientId).Length - 4;
        var response = await QuotaWire.SendAsync<ProduceResponse>(client, request, 9, clientId, correlationId);
        Assert.Equal(0, response.Responses[0].PartitionResponses[0].ErrorCode);
        return (size, response.ThrottleTimeMs);
    }

    private static async Task WaitForAsync(Uri metrics, string name, double value, TimeSpan within)
    {
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var seen = Single(Parse(await Http.GetStringAsync(metrics)), name).Value;
            if (seen == value)
            {
                return;
            }
            Assert.True(deadline.Elapsed < within, $"{name} was {seen}, not {value}, after {deadline.Elapsed}");
            await Task.Delay(20);
        }
    }

    /// <summary>AlterClientQuotas v1 for a (user, client-id) entity.</summary>
    private static async Task SetUserAndClientQuotaAsync(TestBroker broker, string user, string clientId, string key, double value)
    {
        await using var client = await broker.ConnectAsync();
        var (_, response) = await client.RequestAsync<AlterClientQuotasResponse>(new AlterClientQuotasRequest
        {
            Entries =
            [
                new AlterClientQuotasRequest.EntryData
                {
                    Entity =
                    [
                        new AlterClientQuotasRequest.EntityData { EntityType = "user", EntityName = user },
                        new AlterClientQuotasRequest.EntityData { EntityType = "client-id", EntityName = clientId },
                    ],
                    Ops = [new AlterClientQuotasRequest.OpData { Key = key, Value = value }],
                },
            ],
        }, 1);
        Assert.All(response.Entries, e => Assert.Equal(0, e.ErrorCode));
    }
}
