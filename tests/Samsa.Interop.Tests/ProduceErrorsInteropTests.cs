using Samsa.Interop.Tests.Infrastructure;

namespace Samsa.Interop.Tests;

/// <summary>
/// Broker-side produce errors as real clients report them: MESSAGE_TOO_LARGE (topic max.message.bytes) and
/// INVALID_TIMESTAMP (message.timestamp.before.max.ms), each in at least two clients, with the log unchanged
/// afterwards; an unknown partition is refused by every client. CORRUPT_MESSAGE needs a hand-built batch and
/// is covered in Samsa.Broker.Tests (ProduceFetchTests).
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

    [Fact]
    public async Task UnknownPartition_IsRefusedByTheClient()
    {
        await CreateTopic("one-partition");
        var bootstrap = fixture.Broker.Bootstrap;
        var kcat = await ExternalProcess.RunAsync("kcat", ["-P", "-b", bootstrap, "-t", "one-partition", "-p", "5"], ClientTimeout, "x\n");
        Assert.Contains("Unknown partition", kcat.Stderr + kcat.Stdout);
        Assert.Equal(0, await EndOffset("one-partition"));
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
