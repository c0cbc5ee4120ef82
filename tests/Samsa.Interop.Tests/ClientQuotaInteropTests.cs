using System.Globalization;
using System.Text.Json;
using Samsa.Interop.Tests.Infrastructure;
using Xunit.Abstractions;
using static Samsa.Interop.Tests.Infrastructure.BinScripts;

namespace Samsa.Interop.Tests;

/// <summary>
/// Issue 17's quota with real clients against the server process: a producer whose client id is limited to 1 MB/s by
/// kafka-configs.sh is held near that over 30 s and is told throttle_time_ms, while an unquota'd producer beside it,
/// on the same broker at the same time, runs unthrottled. The issue asks for ±10 %, which the test holds.
/// </summary>
public sealed class ClientQuotaInteropTests(ITestOutputHelper output)
{
    private const double Quota = 1048576;
    private const int Seconds = 30;

    /// <summary>Past Kafka's 11 one-second quota windows, after which the rate the broker enforces is the steady one.</summary>
    private const int WarmupSeconds = 12;

    [Fact]
    public async Task ProducerLimitedTo1MBps_IsHeldNearItOver30s_WithThrottleTimes_AndAnUnlimitedProducerBesideItIsUnaffected()
    {
        Peers.Require(Peers.Python);
        await using var broker = await BrokerProcess.StartAsync(new Dictionary<string, string> { ["auto.create.topics.enable"] = "false" });
        await TopicAdmin.CreateAsync(broker.Port, "limited");
        await TopicAdmin.CreateAsync(broker.Port, "unlimited");
        var alter = await Bin("kafka-configs.sh", "--bootstrap-server", broker.Bootstrap, "--alter", "--add-config", $"producer_byte_rate={Quota:0}",
            "--entity-type", "clients", "--entity-name", "slow-producer");
        Assert.True(alter.ExitCode == 0, alter.ToString());
        Assert.Equal("Completed updating config for client slow-producer.", alter.Stdout.Trim());

        var timeout = TimeSpan.FromSeconds(WarmupSeconds + Seconds + 60);
        var seconds = Seconds.ToString(CultureInfo.InvariantCulture);
        var warmup = WarmupSeconds.ToString(CultureInfo.InvariantCulture);
        var slow = ExternalProcess.RunAsync(Peers.Python, [RepoPaths.ClientScript("confluent_python_rate.py"), broker.Bootstrap, "limited", "slow-producer", seconds, warmup], timeout);
        var fast = ExternalProcess.RunAsync(Peers.Python, [RepoPaths.ClientScript("confluent_python_rate.py"), broker.Bootstrap, "unlimited", "fast-producer", seconds, warmup], timeout);
        var (limited, unlimited) = (Parse(await slow), Parse(await fast));

        // Measured over the 30 s after the warm-up. The quota counts whole produce requests; the clients count value
        // bytes, which are all but about 1 % of them (records of 1000 bytes in batches of hundreds).
        var limitedRate = limited.AckedBytes / limited.Seconds;
        var unlimitedRate = unlimited.AckedBytes / unlimited.Seconds;
        var summary = $"limited {limitedRate / Quota:F3} MB/s, {limited.ThrottleEvents} throttles (max {limited.MaxThrottleMs:F0} ms); unlimited {unlimitedRate / Quota:F3} MB/s, {unlimited.ThrottleEvents} throttles";
        output.WriteLine(summary);
        Assert.True(limitedRate >= 0.9 * Quota && limitedRate <= 1.1 * Quota, summary);
        Assert.True(limited.ThrottleEvents > 0 && limited.MaxThrottleMs > 0, summary);
        Assert.True(unlimitedRate > 3 * Quota, summary);
        Assert.True(unlimited.ThrottleEvents == 0, summary);
    }

    private sealed record Run(double AckedBytes, double Seconds, int ThrottleEvents, double MaxThrottleMs);

    private static Run Parse(ProcessResult result)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        var json = JsonDocument.Parse(result.Stdout.Trim().Split('\n')[^1]).RootElement;
        return new Run(json.GetProperty("acked_bytes").GetDouble(), json.GetProperty("seconds").GetDouble(),
            json.GetProperty("throttle_events").GetInt32(), json.GetProperty("max_throttle_ms").GetDouble());
    }
}
