using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Broker.Config;
using Samsa.Broker.Metrics;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;

namespace Samsa.Broker.Tests.Metrics;

/// <summary>
/// The <c>metrics.listener</c> endpoint of in-process brokers: readiness follows registration, each node reports only
/// its own instruments, and the hot-path counters allocate nothing while an exporter listens.
/// </summary>
public sealed class MetricsServerTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// A broker in a quorum whose controller never answers is alive but not ready: it is not registered, so it must not
    /// take clients. Once its start is given up the endpoint closes with it.
    /// </summary>
    [Fact]
    public async Task Ready_IsServiceUnavailable_WhileTheBrokerIsNotRegistered()
    {
        using var dir = new TempDir();
        new MetaProperties("MkU3OEVBNTcwNTJENDM2Qk", 2, Uuid.Random()).Write(dir.Path, DateTimeOffset.UtcNow);
        var metricsPort = FreePort();
        var config = KafkaConfig.FromProperties(new Dictionary<string, string>
        {
            ["node.id"] = "2",
            ["process.roles"] = "broker",
            ["listeners"] = "PLAINTEXT://127.0.0.1:0",
            ["controller.listener.names"] = "CONTROLLER",
            ["listener.security.protocol.map"] = "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            // Nothing listens there: registration cannot succeed.
            ["controller.quorum.voters"] = $"1@127.0.0.1:{FreePort()}",
            ["log.dirs"] = dir.Path,
            ["metrics.listener"] = $"http://127.0.0.1:{metricsPort}",
        });
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var starting = KafkaBroker.StartAsync(config, NullLoggerFactory.Instance, stop.Token);
        var live = new Uri($"http://127.0.0.1:{metricsPort}/health/live");
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (await StatusAsync(live) != HttpStatusCode.OK)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20), "/health/live never answered");
            Assert.False(starting.IsCompleted, "the broker's start ended early");
            await Task.Delay(50);
        }
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await StatusAsync(new Uri($"http://127.0.0.1:{metricsPort}/health/ready")));
        Assert.False(starting.IsCompleted);

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => starting);
        Assert.Null(await StatusAsync(live));
    }

    [Fact]
    public async Task Ready_IsOk_OnceASingleNodeHasStarted()
    {
        var port = FreePort();
        await using var broker = await TestBroker.StartAsync(("metrics.listener", $"http://127.0.0.1:{port}"));
        // The node serves as soon as it started; its logs finish loading in the background, and then it is ready.
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (!broker.Broker.Logs.Loaded)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, await StatusAsync(new Uri($"http://127.0.0.1:{port}/health/ready")));
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), "the logs never finished loading");
            await Task.Delay(20);
        }
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(new Uri($"http://127.0.0.1:{port}/health/ready")));
        Assert.Equal(port, broker.Broker.MetricsServer!.Endpoint.Port);
    }

    [Fact]
    public async Task MetricsListener_Unset_ServesNothing()
    {
        await using var broker = await TestBroker.StartAsync();
        Assert.Null(broker.Broker.MetricsServer);
    }

    [Theory]
    [InlineData("127.0.0.1:9404")]
    [InlineData("https://127.0.0.1:9404")]
    [InlineData("http://metrics.example:9404")]
    [InlineData("http://127.0.0.1:9404/metrics")]
    public void MetricsListener_Malformed_IsAConfigError(string listener) =>
        Assert.Throws<ConfigException>(() => Samsa.Broker.Http.HttpListenerHost.Parse(listener, "metrics.listener"));

    /// <summary>Two nodes in one process (tests, a local cluster) share the meter's name; each endpoint reports its own node.</summary>
    [Fact]
    public async Task TwoNodesInOneProcess_EachEndpointReportsOnlyItsOwnTopics()
    {
        var (portA, portB) = (FreePort(), FreePort());
        await using var a = await TestBroker.StartAsync(("metrics.listener", $"http://127.0.0.1:{portA}"));
        await using var b = await TestBroker.StartAsync(("metrics.listener", $"http://127.0.0.1:{portB}"));
        await ProduceAsync(a, "only-on-a");
        await ProduceAsync(b, "only-on-b");

        var scrapeA = await Http.GetStringAsync(new Uri($"http://127.0.0.1:{portA}/metrics"));
        var scrapeB = await Http.GetStringAsync(new Uri($"http://127.0.0.1:{portB}/metrics"));
        Assert.Contains("kafka_server_brokertopicmetrics_bytesin_total{otel_scope_name=\"Samsa.Broker\",topic=\"only-on-a\"}", scrapeA, StringComparison.Ordinal);
        Assert.DoesNotContain("only-on-b", scrapeA, StringComparison.Ordinal);
        Assert.Contains("topic=\"only-on-b\"", scrapeB, StringComparison.Ordinal);
        Assert.DoesNotContain("only-on-a", scrapeB, StringComparison.Ordinal);
    }

    /// <summary>
    /// The hot-path calls (an append, a fetched partition, a request) allocate nothing per call while the Prometheus
    /// exporter listens: tag values are strings the caller holds or cached ones, and the aggregation finds its series
    /// without allocating once it exists.
    /// </summary>
    [Fact]
    public async Task HotPathCounters_AllocateNothingPerCall_WhileExported()
    {
        using var metrics = new BrokerMetrics(1);
        await using var server = await MetricsHttpServer.StartAsync($"http://127.0.0.1:{FreePort()}", metrics, () => true, NullLoggerFactory.Instance, default);
        var topic = new string("hot-topic".AsSpan()); // not interned: a topic name as a request parser makes it
        void Calls()
        {
            metrics.RecordAppend(topic, 16_384, 100);
            metrics.RecordFetched(topic, 16_384, follower: false);
            metrics.RecordFetched(topic, 16_384, follower: true);
            metrics.RecordProduce(topic, failed: false, rejectedBytes: 0);
            metrics.RecordFetchRequest(topic);
            metrics.RecordRequest((short)ApiKey.Produce, 9, new RequestTimes(10, 500, 390, 100));
            metrics.RecordRequest((short)ApiKey.Fetch, 17, new RequestTimes(10, 90, 900, 0), fromFollower: true);
        }
        long Allocated(int rounds)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < rounds; i++)
            {
                Calls();
            }
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        // Warm-up through the same loop, so its tier-up (and on-stack replacement) is done before measuring.
        Allocated(20_000);
        var small = Allocated(10_000);
        var timer = System.Diagnostics.Stopwatch.StartNew();
        var large = Allocated(100_000);
        // What one produce request costs in metric calls, for BENCHMARKS.md: one append, one request (and a fetch).
        output.WriteLine($"{timer.Elapsed.TotalNanoseconds / 100_000:F0} ns per round of 7 hot-path metric calls (append, 2 fetched, produce and fetch partition counts, 2 requests)");
        Assert.True(small == 0 && large == 0, $"{small} bytes allocated by 10,000 rounds, {large} by 100,000");
        // And they were counted.
        var scrape = await Http.GetStringAsync(new Uri(server.Endpoint, "/metrics"));
        Assert.Contains("kafka_server_brokertopicmetrics_messagesin_total{otel_scope_name=\"Samsa.Broker\",topic=\"hot-topic\"} 13000000", scrape, StringComparison.Ordinal);
    }

    /// <summary>Kafka's failed-authentication-total and successful-authentication-total, per listener.</summary>
    [Fact]
    public async Task SaslLogins_AreCountedPerListener_AsFailedOrSuccessful()
    {
        var port = FreePort();
        await using var broker = await TestBroker.StartAsync(
            ("listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0"),
            ("sasl.enabled.mechanisms", "PLAIN"),
            ("listener.name.sasl_plaintext.plain.sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required user_bob=\"bob-secret\";"),
            ("connection.failed.authentication.delay.ms", "0"),
            ("metrics.listener", $"http://127.0.0.1:{port}"));
        var saslPort = broker.Broker.BoundEndpoints.Single(e => e.ListenerName == "SASL_PLAINTEXT").Port;
        foreach (var password in new[] { "wrong", "also-wrong", "bob-secret" })
        {
            await using var client = await TestClient.ConnectAsync(saslPort);
            var (_, handshake) = await client.RequestAsync<SaslHandshakeResponse>(new SaslHandshakeRequest { Mechanism = "PLAIN" }, 1);
            Assert.Equal(0, handshake.ErrorCode);
            var (_, authenticated) = await client.RequestAsync<SaslAuthenticateResponse>(
                new SaslAuthenticateRequest { AuthBytes = System.Text.Encoding.UTF8.GetBytes($"\0bob\0{password}") }, 2, 2);
            Assert.Equal(password == "bob-secret" ? 0 : (short)ErrorCode.SaslAuthenticationFailed, authenticated.ErrorCode);
        }
        var scrape = await Http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
        Assert.Contains("kafka_server_socket_server_metrics_failed_authentication_total{otel_scope_name=\"Samsa.Broker\",listener=\"SASL_PLAINTEXT\"} 2", scrape, StringComparison.Ordinal);
        Assert.Contains("kafka_server_socket_server_metrics_successful_authentication_total{otel_scope_name=\"Samsa.Broker\",listener=\"SASL_PLAINTEXT\"} 1", scrape, StringComparison.Ordinal);
        Assert.Contains("kafka_server_socket_server_metrics_connection_creation_total{otel_scope_name=\"Samsa.Broker\",listener=\"SASL_PLAINTEXT\"} 3", scrape, StringComparison.Ordinal);
    }

    private static async Task ProduceAsync(TestBroker broker, string topic)
    {
        await using var client = await broker.ConnectAsync();
        var (_, created) = await client.RequestAsync<CreateTopicsResponse>(new CreateTopicsRequest
        {
            Topics = [new() { Name = topic, NumPartitions = 1, ReplicationFactor = 1 }],
            timeoutMs = 5000,
        }, 7);
        Assert.Equal(0, created.Topics[0].ErrorCode);
        // The new partition's leader is known once the image reaches the log manager: retried until then.
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        for (var correlationId = 2; ; correlationId++)
        {
            using var builder = new RecordBatchBuilder();
            builder.Append(1_700_000_000_000, null, "value"u8.ToArray());
            var (_, produced) = await client.RequestAsync<ProduceResponse>(new ProduceRequest
            {
                Acks = 1,
                TimeoutMs = 5000,
                TopicData = [new() { Name = topic, PartitionData = [new() { Index = 0, Records = builder.Build() }] }],
            }, 9, correlationId);
            var error = (ErrorCode)produced.Responses[0].PartitionResponses[0].ErrorCode;
            if (error == ErrorCode.None)
            {
                return;
            }
            Assert.True(error is ErrorCode.NotLeaderOrFollower or ErrorCode.UnknownTopicOrPartition && deadline.Elapsed < TimeSpan.FromSeconds(10), $"produce to {topic}: {error}");
            await Task.Delay(20);
        }
    }

    /// <summary>The status of a GET, or null when nothing accepts the connection.</summary>
    private static async Task<HttpStatusCode?> StatusAsync(Uri uri)
    {
        try
        {
            using var response = await Http.GetAsync(uri);
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }
}
