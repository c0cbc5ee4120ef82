using System.Text.Json;
using Samsa.Interop.Tests.Infrastructure;
using Xunit.Abstractions;
using static Samsa.Interop.Tests.Infrastructure.BinScripts;

namespace Samsa.Interop.Tests;

/// <summary>
/// request_percentage (KIP-124) and controller_mutation_rate (KIP-599) set with kafka-configs.sh and seen by real
/// clients: librdkafka's throttle_cb reports the request quota's throttle_time_ms to a producer whose client id has a
/// tiny share of a request thread, not to one beside it; kafka-python's CreateTopics v3 is accepted over the mutation
/// quota and throttled (Kafka's permissive quota below v6).
/// </summary>
public sealed class RequestAndMutationQuotaInteropTests(ITestOutputHelper output)
{
    private static readonly Dictionary<string, string> ShortWindows = new()
    {
        ["auto.create.topics.enable"] = "false",
        ["quota.window.num"] = "2",
        ["quota.window.size.seconds"] = "1",
    };

    [Fact]
    public async Task ProducerOverItsRequestPercentage_IsToldThrottleTime_AndAProducerBesideItIsNot()
    {
        Peers.Require(Peers.Python);
        await using var broker = await BrokerProcess.StartAsync(ShortWindows);
        await TopicAdmin.CreateAsync(broker.Port, "busy-topic");
        await TopicAdmin.CreateAsync(broker.Port, "free-topic");
        var alter = await Bin("kafka-configs.sh", "--bootstrap-server", broker.Bootstrap, "--alter", "--add-config", "request_percentage=0.01",
            "--entity-type", "clients", "--entity-name", "busy-producer");
        Assert.True(alter.ExitCode == 0, alter.ToString());

        var timeout = TimeSpan.FromSeconds(60);
        var busy = ExternalProcess.RunAsync(Peers.Python, [RepoPaths.ClientScript("confluent_python_rate.py"), broker.Bootstrap, "busy-topic", "busy-producer", "4"], timeout);
        var free = ExternalProcess.RunAsync(Peers.Python, [RepoPaths.ClientScript("confluent_python_rate.py"), broker.Bootstrap, "free-topic", "free-producer", "4"], timeout);
        var (limited, unlimited) = (Json(await busy), Json(await free));
        output.WriteLine($"busy {limited}; free {unlimited}");
        Assert.True(limited.GetProperty("throttle_events").GetInt32() > 0, limited.ToString());
        Assert.InRange(limited.GetProperty("max_throttle_ms").GetDouble(), 1, 1000); // bounded by one quota window
        Assert.Equal(0, unlimited.GetProperty("throttle_events").GetInt32());
    }

    [Fact]
    public async Task KafkaPythonCreateTopicsV3_OverTheMutationQuota_IsAcceptedAndThrottled()
    {
        Peers.Require(Peers.Python);
        await using var broker = await BrokerProcess.StartAsync(ShortWindows);
        // One partition per second, a burst of 2: five partitions leave a debt of 3, three seconds to repay.
        var alter = await Bin("kafka-configs.sh", "--bootstrap-server", broker.Bootstrap, "--alter", "--add-config", "controller_mutation_rate=1",
            "--entity-type", "clients", "--entity-name", "py-admin");
        Assert.True(alter.ExitCode == 0, alter.ToString());

        var result = Json(await ExternalProcess.RunAsync(Peers.Python, [RepoPaths.ClientScript("kafka_python_mutation_quota.py"), broker.Bootstrap, "py-admin"], TimeSpan.FromSeconds(60)));
        output.WriteLine(result.ToString());
        var first = result.GetProperty("first");
        Assert.Equal([0], first.GetProperty("errors").EnumerateArray().Select(e => e.GetInt32()));
        Assert.InRange(first.GetProperty("throttle_time_ms").GetInt32(), 2000, 3000);
        // The client waited out the throttle (KIP-219) or the broker muted it; either way the debt left is under a
        // second's worth, so the next topic is accepted too, and throttled while the debt lasts.
        Assert.Equal([0], result.GetProperty("second").GetProperty("errors").EnumerateArray().Select(e => e.GetInt32()));
    }

    private static JsonElement Json(ProcessResult result)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        return JsonDocument.Parse(result.Stdout.Trim().Split('\n')[^1]).RootElement.Clone();
    }
}
