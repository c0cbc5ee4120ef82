using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Samsa.Interop.Tests.Infrastructure;
using Samsa.Protocol;
using Samsa.Protocol.Records;

namespace Samsa.Interop.Tests;

/// <summary>
/// <c>metrics.listener</c> on the real server process: a scrape after a known volume was produced (by the test's own
/// wire client, whose batch bytes it knows exactly, and by kcat, whose batches it measures on disk) counts BytesIn and
/// MessagesIn within 1 %; the scrape passes <c>promtool check metrics</c>; the health endpoints answer; every metric the
/// Grafana dashboard asks for is served; lag in seconds, the request time breakdown, the per-topic request counters,
/// the log gauges and the group gauges agree with what real clients did. One broker for the class keeps the CI cost
/// to one start.
/// </summary>
public sealed partial class MetricsEndpointTests(MetricsEndpointTests.MeteredBroker fixture, Xunit.Abstractions.ITestOutputHelper output)
    : IClassFixture<MetricsEndpointTests.MeteredBroker>
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(60);

    public sealed class MeteredBroker : IAsyncLifetime
    {
        public BrokerProcess Broker { get; private set; } = null!;

        public Uri Endpoint { get; private set; } = null!;

        public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(10) };

        public async Task InitializeAsync()
        {
            var port = BrokerProcess.FreePort();
            Endpoint = new Uri($"http://127.0.0.1:{port}");
            Broker = await BrokerProcess.StartAsync(new Dictionary<string, string>
            {
                ["metrics.listener"] = Endpoint.ToString().TrimEnd('/'),
                ["consumer.lag.sample.interval.ms"] = "250",
            });
            // The Kafka listener accepts first; the HTTP listener starts as the broker's start-up ends.
            var deadline = System.Diagnostics.Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    using var live = await Http.GetAsync(new Uri(Endpoint, "/health/live"));
                    return;
                }
                catch (HttpRequestException) when (deadline.Elapsed < TimeSpan.FromSeconds(20))
                {
                    await Task.Delay(50);
                }
            }
        }

        public async Task DisposeAsync()
        {
            Http.Dispose();
            await Broker.DisposeAsync();
        }

        public async Task<string> ScrapeAsync()
        {
            using var response = await Http.GetAsync(new Uri(Endpoint, "/metrics"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType ?? "", StringComparison.Ordinal);
            return await response.Content.ReadAsStringAsync();
        }

        /// <summary>Scrapes until <paramref name="done"/> holds (10 s at most): a request is counted just after its
        /// response left, and a new partition's log opens just after CreateTopics answered.</summary>
        public async Task<Scrape> ScrapeUntilAsync(Func<Scrape, bool> done)
        {
            var deadline = System.Diagnostics.Stopwatch.StartNew();
            while (true)
            {
                var scrape = Parse(await ScrapeAsync());
                if (done(scrape) || deadline.Elapsed > TimeSpan.FromSeconds(10))
                {
                    return scrape;
                }
                await Task.Delay(50);
            }
        }
    }

    [Fact]
    public async Task Scrape_AfterWireClientProduce_CountsBatchBytesAndRecordsWithinOnePercent()
    {
        const string topic = "metered-wire";
        await TopicAdmin.CreateAsync(fixture.Broker.Port, topic, partitions: 2);
        using var connection = await RawKafkaConnection.ConnectAsync(fixture.Broker.Port);
        long sentBytes = 0;
        var sentRecords = 0;
        var value = new byte[100];
        for (var batch = 0; batch < 100; batch++)
        {
            using var builder = new RecordBatchBuilder();
            var records = 1 + (batch % 20);
            for (var i = 0; i < records; i++)
            {
                value.AsSpan().Fill((byte)('a' + (i % 26)));
                builder.Append(1_700_000_000_000 + batch, Encoding.UTF8.GetBytes($"k{i}"), value);
            }
            var bytes = builder.Build();
            var (error, _) = await RawRecords.ProduceBatchAsync(connection, topic, batch % 2, bytes);
            Assert.Equal(ErrorCode.None, error);
            sentBytes += bytes.Length;
            sentRecords += records;
        }

        var scrape = await fixture.ScrapeUntilAsync(s => s.Sum("kafka_network_requestmetrics_requests_total", ("request", "Produce")) >= 100);
        var bytesIn = scrape.Value("kafka_server_brokertopicmetrics_bytesin_total", ("topic", topic));
        var messagesIn = scrape.Value("kafka_server_brokertopicmetrics_messagesin_total", ("topic", topic));
        // Kafka's BytesIn is the appended batches' bytes (records.sizeInBytes), MessagesIn their record count.
        AssertWithinOnePercent(sentBytes, bytesIn, "BytesIn");
        AssertWithinOnePercent(sentRecords, messagesIn, "MessagesIn");
        Assert.True(scrape.Sum("kafka_network_requestmetrics_requests_total", ("request", "Produce")) >= 100);
        // One latency observation per request: the histogram's count agrees with the request counter.
        Assert.Equal(scrape.Sum("kafka_network_requestmetrics_requests_total", ("request", "Produce")),
            scrape.Value("kafka_network_requestmetrics_totaltimems_count", ("request", "Produce")));
        var logSize = scrape.Value("kafka_log_log_size", ("topic", topic), ("partition", "0")) + scrape.Value("kafka_log_log_size", ("topic", topic), ("partition", "1"));
        Assert.Equal(sentBytes, logSize);
    }

    [Fact]
    public async Task Scrape_AfterKcatProduceAndConsume_CountsWhatReachedTheLogWithinOnePercent()
    {
        Peers.Require("kcat");
        const string topic = "metered-kcat";
        const int messages = 5000;
        await TopicAdmin.CreateAsync(fixture.Broker.Port, topic, partitions: 1);
        var lines = string.Join("\n", Enumerable.Range(0, messages).Select(i => $"message-{i:D6}-{new string('x', 64)}")) + "\n";
        var produced = await ExternalProcess.RunAsync("kcat", ["-P", "-b", fixture.Broker.Bootstrap, "-t", topic, "-p", "0", "-X", "acks=all", "-X", "linger.ms=5"],
            ClientTimeout, lines);
        Assert.True(produced.ExitCode == 0, produced.ToString());
        var consumed = await ExternalProcess.RunAsync("kcat", ["-C", "-b", fixture.Broker.Bootstrap, "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q"], ClientTimeout);
        Assert.True(consumed.ExitCode == 0, consumed.ToString());
        Assert.Equal(messages, consumed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        // What kcat's batches took on disk, measured apart from the broker's counters: the segment files' bytes.
        var onDisk = Directory.EnumerateFiles(Path.Combine(fixture.Broker.Directory, "data", $"{topic}-0"), "*.log").Sum(f => new FileInfo(f).Length);
        var scrape = Parse(await fixture.ScrapeAsync());
        AssertWithinOnePercent(onDisk, scrape.Value("kafka_server_brokertopicmetrics_bytesin_total", ("topic", topic)), "BytesIn");
        AssertWithinOnePercent(messages, scrape.Value("kafka_server_brokertopicmetrics_messagesin_total", ("topic", topic)), "MessagesIn");
        // The consumer read the whole log once.
        AssertWithinOnePercent(onDisk, scrape.Value("kafka_server_brokertopicmetrics_bytesout_total", ("topic", topic)), "BytesOut");
        // Kafka names a consumer's fetch FetchConsumer (a follower's FetchFollower), never Fetch.
        Assert.True(scrape.Sum("kafka_network_requestmetrics_requests_total", ("request", "FetchConsumer")) >= 1);
        Assert.DoesNotContain(scrape.Samples, s => s.Labels.GetValueOrDefault("request") == "Fetch");
    }

    [Fact]
    public async Task Scrape_PassesPromtool_AndServesKafkasGaugesAndRuntimeMetrics()
    {
        Peers.Require("promtool");
        const string topic = "metered-gauges";
        await TopicAdmin.CreateAsync(fixture.Broker.Port, topic, partitions: 3);
        await fixture.ScrapeUntilAsync(s => s.Samples.Count(x => x.Name == "kafka_log_log_size" && x.Labels.GetValueOrDefault("topic") == topic) == 3);
        var text = await fixture.ScrapeAsync();
        var check = await ExternalProcess.RunAsync("promtool", ["check", "metrics"], ClientTimeout, text);
        // Exit 1 is a text-format error; 3 is lint findings only. The lint findings allowed are the "_count" suffix of
        // gauges whose names are Kafka's (connection_count) or .NET's (dotnet_thread_pool_thread_count), and the "_sum"
        // suffix of kafka_exporter's kafka_consumergroup_lag_sum, present once another test has made a group.
        var findings = (check.Stdout + check.Stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(check.ExitCode is 0 or 3, check.ToString());
        Assert.All(findings, f => Assert.True(f.EndsWith("non-histogram and non-summary metrics should not have \"_count\" suffix", StringComparison.Ordinal)
            || (f.StartsWith("kafka_consumergroup_lag_sum ", StringComparison.Ordinal) && f.EndsWith("should not have \"_sum\" suffix", StringComparison.Ordinal)), f));

        var scrape = Parse(text);
        Assert.True(scrape.Value("kafka_server_replicamanager_partitioncount") >= 3);
        Assert.Equal(scrape.Value("kafka_server_replicamanager_partitioncount"), scrape.Value("kafka_server_replicamanager_leadercount"));
        Assert.Equal(0, scrape.Value("kafka_server_replicamanager_underreplicatedpartitions"));
        Assert.Equal(1, scrape.Value("kafka_controller_kafkacontroller_activecontrollercount"));
        Assert.Equal(0, scrape.Value("kafka_controller_kafkacontroller_offlinepartitionscount"));
        Assert.Equal(0, scrape.Value("kafka_log_log_size", ("topic", topic), ("partition", "2")));
        Assert.True(scrape.Value("kafka_server_socket_server_metrics_connection_count", ("listener", "PLAINTEXT")) >= 0);
        Assert.Contains(scrape.Samples, s => s.Name == "kafka_network_requestmetrics_totaltimems_bucket" && s.Labels.GetValueOrDefault("request") == "CreateTopics");
        Assert.Contains(scrape.Samples, s => s.Name == "dotnet_gc_heap_total_allocated_bytes_total");
        Assert.Contains(scrape.Samples, s => s.Name == "process_cpu_time_seconds_total");
    }

    /// <summary>
    /// kafka-lag-exporter's time lag from the broker's own log: kafka-python produces ten records created 100 s, 90 s,
    /// ... 10 s ago (CreateTime), and a group commits offset 4; the scrape gives the age of record 4 (about 60 s) under
    /// kafka-lag-exporter's names and labels, and 0 for a group that has read everything.
    /// </summary>
    [Fact]
    public async Task Scrape_AfterKafkaPythonCommitsBehind_ShowsLagSecondsFromTheRecordTimestamps()
    {
        Peers.Require(Peers.Python);
        const string topic = "metered-aged";
        const string Script = """
            import sys, time
            from kafka import KafkaProducer, KafkaConsumer, TopicPartition
            from kafka.structs import OffsetAndMetadata
            bootstrap, topic = sys.argv[1], sys.argv[2]
            start = int(time.time() * 1000) - 100000
            producer = KafkaProducer(bootstrap_servers=bootstrap, acks='all', linger_ms=0)
            for i in range(10):
                producer.send(topic, value=b'aged-%d' % i, partition=0, timestamp_ms=start + i * 10000).get(timeout=30)
            producer.close()
            tp = TopicPartition(topic, 0)
            for group, offset in (('aged-readers', 4), ('aged-done', 10)):
                consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
                consumer.assign([tp])
                consumer.commit({tp: OffsetAndMetadata(offset, None)})
                print('committed', group, consumer.committed(tp))
                consumer.close()
            print('start', start)
            """;
        await TopicAdmin.CreateAsync(fixture.Broker.Port, topic, partitions: 1);
        var run = await ExternalProcess.RunAsync(Peers.Python, ["-c", Script, fixture.Broker.Bootstrap, topic], ClientTimeout);
        Assert.True(run.ExitCode == 0, run.ToString());
        var start = long.Parse(run.Stdout.Split('\n').Single(l => l.StartsWith("start ", StringComparison.Ordinal))[6..], CultureInfo.InvariantCulture);

        (string, string)[] readers = [("group", "aged-readers"), ("topic", topic), ("partition", "0")];
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var scrape = await fixture.ScrapeUntilAsync(s => s.Samples.Any(x => x.Name == "kafka_consumergroup_group_lag_seconds" && x.Labels.GetValueOrDefault("group") == "aged-readers")
            && s.Samples.Any(x => x.Name == "kafka_consumergroup_group_lag_seconds" && x.Labels.GetValueOrDefault("group") == "aged-done"));
        var after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var seconds = scrape.Value("kafka_consumergroup_group_lag_seconds", readers);
        output.WriteLine($"record 4 created at {start + 40_000}, lag seconds {seconds} scraped between {before} and {after}");
        // The monitor samples every 250 ms, so the figure is at most one interval older than the scrape.
        Assert.InRange(seconds, ((before - (start + 40_000)) / 1000.0) - 1, (after - (start + 40_000)) / 1000.0);
        Assert.Equal(seconds, scrape.Value("kafka_consumergroup_group_max_lag_seconds", ("group", "aged-readers")));
        Assert.Equal(0, scrape.Value("kafka_consumergroup_group_lag_seconds", ("group", "aged-done"), ("topic", topic), ("partition", "0")));
        Assert.Equal(0, scrape.Value("kafka_consumergroup_group_max_lag_seconds", ("group", "aged-done")));
        var sample = scrape.Samples.First(x => x.Name == "kafka_consumergroup_group_lag_seconds" && x.Labels.GetValueOrDefault("group") == "aged-readers");
        Assert.Equal(["cluster_name", "group", "partition", "topic"], sample.Labels.Keys.Where(k => !k.StartsWith("otel_", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.Equal(6, scrape.Value("kafka_consumergroup_lag", ("consumergroup", "aged-readers"), ("topic", topic), ("partition", "0")));
    }

    /// <summary>
    /// Kafka's request time breakdown: a consumer fetch with max.wait 500 ms on an empty partition spends those 500 ms
    /// in the fetch purgatory, which is RemoteTimeMs; LocalTimeMs (the handler's own work) and RequestQueueTimeMs stay
    /// small, and TotalTimeMs is the sum of the parts.
    /// </summary>
    [Fact]
    public async Task Scrape_AfterAnEmptyLongPollFetch_PutsTheWaitInRemoteTimeNotLocalTime()
    {
        const string topic = "metered-longpoll";
        await TopicAdmin.CreateAsync(fixture.Broker.Port, topic, partitions: 1);
        (string, string) fetch = ("request", "FetchConsumer");
        // Another test's consumer (kcat) may have left a long-poll behind that is answered only when its wait ends:
        // start from a moment when no fetch has been counted for longer than such a wait.
        var before = Parse(await fixture.ScrapeAsync());
        for (var settled = false; !settled;)
        {
            await Task.Delay(700);
            var again = Parse(await fixture.ScrapeAsync());
            settled = again.Sum("kafka_network_requestmetrics_totaltimems_count", fetch) == before.Sum("kafka_network_requestmetrics_totaltimems_count", fetch);
            before = again;
        }
        using (var connection = await RawKafkaConnection.ConnectAsync(fixture.Broker.Port))
        {
            var timer = System.Diagnostics.Stopwatch.StartNew();
            var response = await connection.RequestAsync<Samsa.Protocol.Messages.FetchResponse>(new Samsa.Protocol.Messages.FetchRequest
            {
                MaxWaitMs = 500,
                MinBytes = 1,
                MaxBytes = 1024 * 1024,
                Topics = [new() { Topic = topic, Partitions = [new() { Partition = 0, FetchOffset = 0, PartitionMaxBytes = 1024 * 1024 }] }],
            }, 12);
            output.WriteLine($"fetch answered in {timer.ElapsedMilliseconds} ms");
            Assert.Equal(0, response.Responses[0].Partitions[0].ErrorCode);
            Assert.True(timer.ElapsedMilliseconds >= 450, $"answered after {timer.ElapsedMilliseconds} ms");
        }
        var count = before.Sum("kafka_network_requestmetrics_totaltimems_count", fetch);
        var after = await fixture.ScrapeUntilAsync(s => s.Sum("kafka_network_requestmetrics_totaltimems_count", fetch) > count);
        double Delta(string part) => after.Sum($"kafka_network_requestmetrics_{part}_sum", fetch) - before.Sum($"kafka_network_requestmetrics_{part}_sum", fetch);
        var (total, queue, local, remote, send) = (Delta("totaltimems"), Delta("requestqueuetimems"), Delta("localtimems"), Delta("remotetimems"), Delta("responsesendtimems"));
        output.WriteLine($"total {total:F3} ms = queue {queue:F3} + local {local:F3} + remote {remote:F3} + send {send:F3}");
        Assert.Equal(1, after.Sum("kafka_network_requestmetrics_remotetimems_count", fetch) - before.Sum("kafka_network_requestmetrics_remotetimems_count", fetch));
        Assert.InRange(remote, 450, 1500);
        Assert.InRange(local, 0, 100);
        Assert.InRange(queue, 0, 50);
        Assert.Equal(total, queue + local + remote + send, 3);
        // The 500 ms fall in the remote histogram's (250, 500] or (500, 1000] bucket, the local one's first buckets.
        double Bucket(Scrape s, string part, string le) => s.Sum($"kafka_network_requestmetrics_{part}_bucket", fetch, ("le", le));
        Assert.Equal(0, Bucket(after, "remotetimems", "250") - Bucket(before, "remotetimems", "250"));
        Assert.Equal(1, Bucket(after, "localtimems", "100") - Bucket(before, "localtimems", "100"));
    }

    /// <summary>
    /// Kafka's per-topic request counters and log gauges: three good produces, one batch over max.message.bytes (its
    /// bytes rejected, not a failure, as in Kafka) and one with a timestamp beyond message.timestamp.after.max.ms (a
    /// failure); two fetches, one at an offset out of range (not a failure); and the partition's log start, log end
    /// and segment count.
    /// </summary>
    [Fact]
    public async Task Scrape_AfterGoodAndRefusedProducesAndFetches_CountsThemPerTopic_AndServesTheLogGauges()
    {
        const string topic = "metered-requests";
        await TopicAdmin.CreateAsync(fixture.Broker.Port, topic, 1, ("max.message.bytes", "10000"));
        using var connection = await RawKafkaConnection.ConnectAsync(fixture.Broker.Port);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(ErrorCode.None, (await RawRecords.ProduceAsync(connection, topic, 0, [(now, $"good-{i}"), (now, "more")])).Error);
        }
        byte[] big;
        using (var builder = new RecordBatchBuilder())
        {
            builder.Append(now, null, new byte[20_000]);
            big = builder.Build();
        }
        Assert.Equal(ErrorCode.MessageTooLarge, (await RawRecords.ProduceBatchAsync(connection, topic, 0, big)).Error);
        Assert.Equal(ErrorCode.InvalidTimestamp, (await RawRecords.ProduceAsync(connection, topic, 0, [(now + (3 * 3600 * 1000), "from the future")])).Error);
        Assert.Equal(6, (await RawRecords.ReadAllAsync(connection, topic, 0)).Count);
        var outOfRange = await connection.RequestAsync<Samsa.Protocol.Messages.FetchResponse>(new Samsa.Protocol.Messages.FetchRequest
        {
            MaxWaitMs = 0,
            MinBytes = 1,
            MaxBytes = 1024 * 1024,
            Topics = [new() { Topic = topic, Partitions = [new() { Partition = 0, FetchOffset = 1000, PartitionMaxBytes = 1024 * 1024 }] }],
        }, 12);
        Assert.Equal((short)ErrorCode.OffsetOutOfRange, outOfRange.Responses[0].Partitions[0].ErrorCode);

        var scrape = await fixture.ScrapeUntilAsync(s => s.Sum("kafka_server_brokertopicmetrics_totalfetchrequests_total", ("topic", topic)) >= 2);
        Assert.Equal(5, scrape.Value("kafka_server_brokertopicmetrics_totalproducerequests_total", ("topic", topic)));
        Assert.Equal(1, scrape.Value("kafka_server_brokertopicmetrics_failedproducerequests_total", ("topic", topic)));
        Assert.Equal(big.Length, scrape.Value("kafka_server_brokertopicmetrics_bytesrejected_total", ("topic", topic)));
        // ReadAll's fetch(es) and the out-of-range one; none failed.
        Assert.True(scrape.Value("kafka_server_brokertopicmetrics_totalfetchrequests_total", ("topic", topic)) >= 2);
        Assert.Equal(0, scrape.Sum("kafka_server_brokertopicmetrics_failedfetchrequests_total", ("topic", topic)));
        (string, string)[] partition = [("topic", topic), ("partition", "0")];
        Assert.Equal(0, scrape.Value("kafka_log_log_logstartoffset", partition));
        Assert.Equal(6, scrape.Value("kafka_log_log_logendoffset", partition));
        Assert.Equal(1, scrape.Value("kafka_log_log_numlogsegments", partition));
    }

    /// <summary>
    /// Kafka's GroupMetadataManager gauges with a real group: a kafka-python member joins and commits, so one group is
    /// Stable and its offset counts in NumOffsets; once it leaves, the group is Empty and no group is Stable.
    /// </summary>
    [Fact]
    public async Task Scrape_WithAKafkaPythonGroup_CountsGroupsByStateAndCommittedOffsets()
    {
        Peers.Require(Peers.Python);
        const string topic = "metered-census";
        const string prefix = "kafka_coordinator_group_groupmetadatamanager_";
        await TopicAdmin.CreateAsync(fixture.Broker.Port, topic, partitions: 1);
        using (var connection = await RawKafkaConnection.ConnectAsync(fixture.Broker.Port))
        {
            Assert.Equal(ErrorCode.None, (await RawRecords.ProduceAsync(connection, topic, 0, ["one", "two"])).Error);
        }
        var before = Parse(await fixture.ScrapeAsync());
        await using var member = GroupClients.KafkaPython("census", fixture.Broker.Bootstrap, topic, "census-group");
        await member.WaitForAsync(e => e.Name == "committed" && e.Offset == 2, ClientTimeout, "the member's commit of offset 2");

        var live = await fixture.ScrapeUntilAsync(s => s.Sum(prefix + "numgroupsstable") >= 1);
        Assert.Equal(1, live.Value(prefix + "numgroupsstable"));
        Assert.Equal(0, live.Value(prefix + "numgroupspreparingrebalance"));
        Assert.Equal(0, live.Value(prefix + "numgroupscompletingrebalance"));
        Assert.Equal(0, live.Value(prefix + "numgroupsdead"));
        Assert.Equal(before.Sum(prefix + "numoffsets") + 1, live.Value(prefix + "numoffsets"));
        Assert.Equal(before.Sum(prefix + "numgroups") + 1, live.Value(prefix + "numgroups"));
        Assert.Equal(live.Value(prefix + "numgroups"), live.Value(prefix + "numgroupsstable") + live.Value(prefix + "numgroupsempty"));

        await member.CloseAsync(ClientTimeout);
        var left = await fixture.ScrapeUntilAsync(s => s.Sum(prefix + "numgroupsstable") == 0);
        Assert.Equal(0, left.Value(prefix + "numgroupsstable"));
        Assert.Equal(live.Value(prefix + "numgroupsempty") + 1, left.Value(prefix + "numgroupsempty"));
        Assert.Equal(live.Value(prefix + "numoffsets"), left.Value(prefix + "numoffsets"));
    }

    [Fact]
    public async Task HealthEndpoints_AnswerLiveAndReady_AndOtherPathsAreNotFound()
    {
        using var live = await fixture.Http.GetAsync(new Uri(fixture.Endpoint, "/health/live"));
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        using var ready = await fixture.Http.GetAsync(new Uri(fixture.Endpoint, "/health/ready"));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("OK\n", await ready.Content.ReadAsStringAsync());
        using var missing = await fixture.Http.GetAsync(new Uri(fixture.Endpoint, "/nothing-here"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    /// <summary>
    /// The dashboard in docs/grafana loads against this endpoint: every metric name in its PromQL (and its variable
    /// queries) is a series of a real scrape, except <c>kafka_consumergroup_*</c>, which lag monitoring will serve, and
    /// <c>kafka_server_quota_*</c>, served for clients under a quota (<c>QuotaMetricsTests</c> scrapes them).
    /// </summary>
    [Fact]
    public async Task GrafanaDashboard_AsksOnlyForServedMetrics()
    {
        // Traffic first, so the per-topic and per-request series exist.
        const string topic = "metered-dashboard";
        await TopicAdmin.CreateAsync(fixture.Broker.Port, topic, partitions: 1);
        using (var connection = await RawKafkaConnection.ConnectAsync(fixture.Broker.Port))
        {
            Assert.Equal(ErrorCode.None, (await RawRecords.ProduceAsync(connection, topic, 0, ["one", "two"])).Error);
            Assert.Equal(2, (await RawRecords.ReadAllAsync(connection, topic, 0)).Count);
        }
        var served = Parse(await fixture.ScrapeAsync()).Samples.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);

        using var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "docs", "grafana", "samsa.json")));
        var expressions = new List<string>();
        Collect(dashboard.RootElement, expressions);
        Assert.True(expressions.Count >= 10, $"only {expressions.Count} expressions found");
        var asked = expressions.SelectMany(e => MetricName().Matches(e).Select(m => m.Value)).ToHashSet(StringComparer.Ordinal);
        // The four views the issue asks for: throughput, request latency, under-replicated partitions, lag.
        Assert.Contains("kafka_server_brokertopicmetrics_bytesin_total", asked);
        Assert.Contains("kafka_network_requestmetrics_totaltimems_bucket", asked);
        Assert.Contains("kafka_server_replicamanager_underreplicatedpartitions", asked);
        Assert.Contains("kafka_consumergroup_lag", asked);
        Assert.Empty(asked.Where(name => !name.StartsWith("kafka_consumergroup_", StringComparison.Ordinal)
            && !name.StartsWith("kafka_server_quota_", StringComparison.Ordinal) && !served.Contains(name)).Order());
    }

    private static void Collect(JsonElement element, List<string> expressions)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (property.Name is "expr" or "definition" && property.Value.ValueKind == JsonValueKind.String)
                    {
                        expressions.Add(property.Value.GetString()!);
                    }
                    Collect(property.Value, expressions);
                }
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    Collect(item, expressions);
                }
                break;
        }
    }

    /// <summary>Names of the families Samsa serves (Kafka's, .NET's, the process's); label names and functions never match.</summary>
    [GeneratedRegex(@"\b(?:kafka|dotnet|process)_[a-z0-9_]+\b")]
    private static partial Regex MetricName();

    private void AssertWithinOnePercent(double expected, double actual, string what)
    {
        output.WriteLine($"{what}: expected {expected}, scraped {actual} ({(actual - expected) / expected:P3})");
        Assert.True(Math.Abs(actual - expected) <= expected * 0.01, $"{what}: expected {expected} within 1 %, scraped {actual}");
    }

    public sealed record Sample(string Name, Dictionary<string, string> Labels, double Value);

    public sealed record Scrape(List<Sample> Samples)
    {
        /// <summary>The one sample of <paramref name="name"/> carrying these labels (others may be present too).</summary>
        public double Value(string name, params (string Key, string Value)[] labels)
        {
            var matching = Samples.Where(s => s.Name == name && labels.All(l => s.Labels.GetValueOrDefault(l.Key) == l.Value)).ToList();
            Assert.True(matching.Count == 1, $"{matching.Count} samples of {name} with {string.Join(",", labels)}");
            return matching[0].Value;
        }

        public double Sum(string name, params (string Key, string Value)[] labels) =>
            Samples.Where(s => s.Name == name && labels.All(l => s.Labels.GetValueOrDefault(l.Key) == l.Value)).Sum(s => s.Value);
    }

    /// <summary>Prometheus' text format, as far as these tests read it: <c>name{label="value",...} value</c>.</summary>
    private static Scrape Parse(string text)
    {
        var samples = new List<Sample>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            var match = SampleLine().Match(line);
            Assert.True(match.Success, $"unparsed line: {line}");
            var labels = LabelPair().Matches(match.Groups["labels"].Value)
                .ToDictionary(m => m.Groups["key"].Value, m => m.Groups["value"].Value, StringComparer.Ordinal);
            samples.Add(new Sample(match.Groups["name"].Value, labels, ParseValue(match.Groups["value"].Value)));
        }
        return new Scrape(samples);
    }

    private static double ParseValue(string text) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.Parse(text, CultureInfo.InvariantCulture),
    };

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?<labels>.*)\})? (?<value>\S+)(?: \d+)?$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"(?<key>[a-zA-Z_][a-zA-Z0-9_]*)=""(?<value>(?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();
}
