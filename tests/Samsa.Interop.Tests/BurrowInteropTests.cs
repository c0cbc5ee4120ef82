using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Samsa.Interop.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Samsa.Interop.Tests;

/// <summary>
/// Issue 18's lag monitoring with the tool operators run for it: Debian's Burrow, configured against a Samsa broker as
/// against Kafka, finds a kafka-python consumer group from <c>__consumer_offsets</c>, rates it OK while it keeps up
/// with a steady producer, and ERR (its partition STOP or STALL) once the consumer stops and the lag grows. Samsa's own
/// evaluation (the broker's lag monitor, in Burrow's HTTP shape on <c>metrics.listener</c>, and kafka_exporter's and
/// burrow_exporter's gauges on <c>/metrics</c>) is read beside it and must agree.
/// </summary>
public sealed class BurrowInteropTests(ITestOutputHelper output)
{
    private const string Topic = "lag-orders";
    private const string Group = "lag-watchers";

    [Fact]
    public async Task Burrow_RatesAConsumerGroup_OkWhileConsuming_ThenErrAfterItStopsAndLagGrows()
    {
        BurrowProcess.RequirePeers();
        var metrics = new Uri($"http://127.0.0.1:{BrokerProcess.FreePort()}/");
        await using var broker = await BrokerProcess.StartAsync(new Dictionary<string, string>
        {
            ["auto.create.topics.enable"] = "false",
            ["metrics.listener"] = metrics.ToString().TrimEnd('/'),
            ["consumer.lag.sample.interval.ms"] = "250",
            ["consumer.lag.alert.threshold"] = "10",
        });
        using var http = new HttpClient { BaseAddress = metrics, Timeout = TimeSpan.FromSeconds(5) };
        var cluster = (await GetWhenServedAsync(http, "v3/kafka")).GetProperty("clusters")[0].GetString()!;
        await TopicAdmin.CreateAsync(broker.Port, Topic);
        await using var producer = GroupClients.Ticker(broker.Bootstrap, Topic, partitions: 1, intervalMs: 50);
        await using var member = GroupClients.KafkaPython("member", broker.Bootstrap, Topic, Group);

        // Keeping up: every poll commits, so each stored commit is at (or within a poll of) the log end.
        var samsaOk = await WaitForSamsaAsync(http, cluster, s => s.Status == "OK", "Samsa's OK while consuming");
        output.WriteLine($"consuming, Samsa: {samsaOk}");
        // Burrow starts only now: its consumer module exits at start when __consumer_offsets does not exist yet, and
        // that topic (in Kafka as here) is created by the first group's FindCoordinator. It reads the topic from the start.
        await using var burrow = await BurrowProcess.StartAsync(broker.Bootstrap);
        var ok = await WaitForStatusAsync(burrow, s => s.Status == "OK" && s.Partitions.Length == 1 && s.Partitions[0].Status == "OK", "OK while consuming");
        Assert.Contains(Group, await burrow.ConsumerGroupsAsync());
        Assert.Equal((Topic, 0), (ok.Partitions[0].Topic, ok.Partitions[0].Partition));
        output.WriteLine($"consuming: {ok}");

        // Stopped (still a member, no more polls or commits) while the producer goes on: the lag only grows.
        await member.SendAsync("stop-polling");
        var stopped = await WaitForStatusAsync(burrow, s => s.Status == "ERR" && s.Partitions.Length == 1 && s.Partitions[0].Status is "STOP" or "STALL" && s.TotalLag > 0,
            "ERR after the consumer stops");
        output.WriteLine($"stopped: {stopped}");
        var samsaStopped = await WaitForSamsaAsync(http, cluster, s => s.Status == "ERR" && s.Partitions[0].Status is "STOP" or "STALL" && s.TotalLag > 10,
            "Samsa's ERR after the consumer stops");
        output.WriteLine($"stopped, Samsa: {samsaStopped}");
        var scrape = await http.GetStringAsync("metrics");
        (string, string)[] partition = [("consumergroup", Group), ("topic", Topic), ("partition", "0")];
        var lag = Gauge(scrape, "kafka_consumergroup_lag", partition);
        var committed = Gauge(scrape, "kafka_consumergroup_current_offset", partition);
        Assert.True(lag >= samsaStopped.TotalLag && committed > 0, scrape);
        // burrow_exporter's codes: 5 STOP, 6 STALL; the group 4 ERR.
        Assert.True(Gauge(scrape, "kafka_burrow_partition_status", ("group", Group), ("topic", Topic), ("partition", "0")) is 5 or 6, scrape);
        Assert.Equal(4, Gauge(scrape, "kafka_burrow_status", ("group", Group)));
        Assert.Equal(1, Gauge(scrape, "samsa_consumergroup_lag_alert", ("consumergroup", Group)));
        var later = await WaitForStatusAsync(burrow, s => s.TotalLag > stopped.TotalLag, "the lag growing");
        Assert.Equal("ERR", later.Status);
        output.WriteLine($"later: {later}");
    }

    /// <summary>The metrics listener starts just after the broker's: the first request may find it not yet bound.</summary>
    private static async Task<JsonElement> GetWhenServedAsync(HttpClient http, string path)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await http.GetFromJsonAsync<JsonElement>(path);
            }
            catch (HttpRequestException) when (attempt < 100)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>A sample's value from a Prometheus text scrape: the series of <paramref name="name"/> carrying every one of <paramref name="labels"/>.</summary>
    private static double Gauge(string scrape, string name, params (string Key, string Value)[] labels)
    {
        var line = scrape.Split('\n').FirstOrDefault(l => l.StartsWith(name + "{", StringComparison.Ordinal)
                && labels.All(label => l.Contains($"{label.Key}=\"{label.Value}\"", StringComparison.Ordinal)))
            ?? throw new Xunit.Sdk.XunitException($"{name} with {string.Join(", ", labels)} is not in the scrape:\n{scrape}");
        return double.Parse(line[(line.LastIndexOf('}') + 2)..].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<BurrowProcess.GroupStatus> WaitForSamsaAsync(HttpClient http, string cluster, Func<BurrowProcess.GroupStatus, bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        BurrowProcess.GroupStatus? last = null;
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            using var response = await http.GetAsync($"v3/kafka/{cluster}/consumer/{Group}/lag");
            if (response.IsSuccessStatusCode)
            {
                last = BurrowProcess.ParseStatus(await response.Content.ReadFromJsonAsync<JsonElement>());
                if (condition(last))
                {
                    return last;
                }
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"Samsa did not report {what} within 60 s; last: {last?.ToString() ?? "no evaluation"}");
    }

    private static async Task<BurrowProcess.GroupStatus> WaitForStatusAsync(BurrowProcess burrow, Func<BurrowProcess.GroupStatus, bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        BurrowProcess.GroupStatus? last = null;
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            last = await burrow.StatusAsync(Group);
            if (last is not null && condition(last))
            {
                return last;
            }
            await Task.Delay(500);
        }
        throw new TimeoutException($"Burrow did not report {what} within 60 s; last: {last?.ToString() ?? "no evaluation"}\n{burrow.Log}");
    }
}
