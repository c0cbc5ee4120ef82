using Samsa.Interop.Tests.Infrastructure;

namespace Samsa.Interop.Tests;

/// <summary>
/// Broker-side produce errors as real clients report them: MESSAGE_TOO_LARGE (topic max.message.bytes) and
/// INVALID_TIMESTAMP (message.timestamp.before.max.ms), each in at least two clients, with the log unchanged
/// afterwards; an unknown partition is refused by kcat, Confluent.Kafka and kafka-python; CORRUPT_MESSAGE from
/// kafka-python made to send a bad CRC, beside the hand-built batch in Samsa.Broker.Tests (ProduceFetchTests).
/// </summary>
public class ProduceErrorsInteropTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(90);

    private Task CreateTopic(string name, params (string Key, string Value)[] configs) => TopicAdmin.CreateAsync(fixture.Broker.Port, name, 1, configs);

    private Task<long> EndOffset(string topic) => TopicAdmin.EndOffsetAsync(fixture.Broker.Port, topic);

    private static string Line(string? key, string value, long? timestamp) => System.Text.Json.JsonSerializer.Serialize(new
    {
        key = key is null ? null : Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(key)),
        value = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(value)),
        headers = Array.Empty<string[]>(),
        timestamp,
    }) + "\n";

    [Fact]
    public async Task MessageTooLarge_IsReportedByKcatConfluentAndKafkaPython_AndTheLogIsUnchanged()
    {
        await CreateTopic("small", ("max.message.bytes", "1000"));
        var big = new string('x', 5000);
        var bootstrap = fixture.Broker.Bootstrap;

        var kcat = await ExternalProcess.RunAsync("kcat", ["-P", "-b", bootstrap, "-t", "small", "-p", "0", "-X", "message.max.bytes=100000"], ClientTimeout, big + "\n");
        Assert.Contains("Message size too large", kcat.Stderr + kcat.Stdout);
        var confluent = await ExternalProcess.RunAsync("dotnet", [RepoPaths.ConfluentClientDll, "produce", bootstrap, "small", "none"], ClientTimeout, Line(null, big, null));
        Assert.NotEqual(0, confluent.ExitCode);
        Assert.Contains("Message size too large", confluent.Stderr);
        var python = await ExternalProcess.RunAsync(Peers.Python, [RepoPaths.ClientScript("kafka_python_io.py"), "produce", bootstrap, "small", "none"], ClientTimeout, Line(null, big, null));
        Assert.NotEqual(0, python.ExitCode);
        Assert.Contains("MessageSizeTooLargeError", python.Stderr);
        Assert.Equal(0, await EndOffset("small"));
    }

    [Fact]
    public async Task InvalidTimestamp_IsReportedByConfluentAndKafkaPython_AndTheLogIsUnchanged()
    {
        await CreateTopic("recent-only", ("message.timestamp.before.max.ms", "60000"));
        var bootstrap = fixture.Broker.Bootstrap;
        var old = DateTimeOffset.UtcNow.AddDays(-2).ToUnixTimeMilliseconds();

        var confluent = await ExternalProcess.RunAsync("dotnet", [RepoPaths.ConfluentClientDll, "produce", bootstrap, "recent-only", "none"], ClientTimeout, Line("k", "v", old));
        Assert.NotEqual(0, confluent.ExitCode);
        Assert.Contains("Invalid timestamp", confluent.Stderr);
        var python = await ExternalProcess.RunAsync(Peers.Python, [RepoPaths.ClientScript("kafka_python_io.py"), "produce", bootstrap, "recent-only", "none"], ClientTimeout, Line("k", "v", old));
        Assert.NotEqual(0, python.ExitCode);
        Assert.Contains("InvalidTimestampError", python.Stderr);
        Assert.Equal(0, await EndOffset("recent-only"));

        // A current timestamp is accepted.
        var fresh = await ExternalProcess.RunAsync("dotnet", [RepoPaths.ConfluentClientDll, "produce", bootstrap, "recent-only", "none"], ClientTimeout,
            Line("k", "v", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
        Assert.True(fresh.ExitCode == 0, fresh.ToString());
        Assert.Equal(1, await EndOffset("recent-only"));
    }

    /// <summary>
    /// Clients learn the partition count from Metadata and refuse an unknown partition themselves, as against
    /// Kafka (the broker's own UNKNOWN_TOPIC_OR_PARTITION answer is checked with hand-built requests in
    /// Samsa.Broker.Tests); nothing reaches the log.
    /// </summary>
    [Fact]
    public async Task UnknownPartition_IsRefusedByKcatConfluentAndKafkaPython()
    {
        await CreateTopic("one-partition");
        var bootstrap = fixture.Broker.Bootstrap;
        var kcat = await ExternalProcess.RunAsync("kcat", ["-P", "-b", bootstrap, "-t", "one-partition", "-p", "5"], ClientTimeout, "x\n");
        Assert.Contains("Unknown partition", kcat.Stderr + kcat.Stdout);
        var confluent = await ExternalProcess.RunAsync("dotnet", [RepoPaths.ConfluentClientDll, "produce", bootstrap, "one-partition", "none", "5"], ClientTimeout, Line(null, "x", null));
        Assert.NotEqual(0, confluent.ExitCode);
        Assert.Contains("Unknown partition", confluent.Stderr);
        var python = await ExternalProcess.RunAsync(Peers.Python, [RepoPaths.ClientScript("kafka_python_io.py"), "produce", bootstrap, "one-partition", "none", "5"], ClientTimeout, Line(null, "x", null));
        Assert.NotEqual(0, python.ExitCode);
        Assert.Contains("Unrecognized partition", python.Stderr);
        Assert.Equal(0, await EndOffset("one-partition"));
    }

    /// <summary>
    /// CORRUPT_MESSAGE from a real client: kafka-python with its CRC-32C function flipped sends batches whose CRC
    /// does not match (no client does that on its own; the hand-built case is in Samsa.Broker.Tests). The broker
    /// refuses the batch and the log is unchanged.
    /// </summary>
    [Fact]
    public async Task CorruptMessage_IsReportedByKafkaPython_ForABatchWithABadCrc_AndTheLogIsUnchanged()
    {
        await CreateTopic("crc-checked");
        var bootstrap = fixture.Broker.Bootstrap;
        var python = await ExternalProcess.RunAsync(Peers.Python, [RepoPaths.ClientScript("kafka_python_io.py"), "produce-bad-crc", bootstrap, "crc-checked"], ClientTimeout, Line("k", "v", null));
        Assert.NotEqual(0, python.ExitCode);
        Assert.Contains("CorruptRecordException", python.Stderr);
        Assert.Equal(0, await EndOffset("crc-checked"));
        // Logged once, naming the partition and the cause.
        Assert.Single(fixture.Broker.Output.Split('\n'), l => l.Contains("crc-checked-0") && l.Contains("fails its CRC check"));
    }

    [Fact]
    public async Task AcksOne_AndAcksAll_AreBothAcknowledged()
    {
        await CreateTopic("acks");
        var bootstrap = fixture.Broker.Bootstrap;
        foreach (var acks in new[] { "1", "all", "0" })
        {
            var result = await ExternalProcess.RunAsync("kcat", ["-P", "-b", bootstrap, "-t", "acks", "-p", "0", "-X", $"acks={acks}"], ClientTimeout, $"with-acks-{acks}\n");
            Assert.True(result.ExitCode == 0, result.ToString());
        }
        var consumed = await ExternalProcess.RunAsync("kcat", ["-C", "-b", bootstrap, "-t", "acks", "-p", "0", "-o", "beginning", "-c", "3"], ClientTimeout);
        Assert.Equal(["with-acks-1", "with-acks-all", "with-acks-0"], consumed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
