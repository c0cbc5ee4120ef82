using Samsa.Interop.Tests.Infrastructure;

namespace Samsa.Interop.Tests;

/// <summary>
/// The console producer and consumer as Kafka's tutorials use them, word for word, through bin/kafka-*.sh
/// against a broker process (the topic is created by the producer's metadata request, as with Kafka's
/// default <c>auto.create.topics.enable=true</c>).
/// </summary>
public class ConsoleToolTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private static Task<ProcessResult> Bin(string script, string? stdin, params string[] args) =>
        ExternalProcess.RunAsync(Path.Combine(RepoPaths.Root, "bin", script), args, Timeout, stdin);

    [Fact]
    public async Task KeyedTutorialFlow_ProducesAndPrintsKeysWithTheSeparator()
    {
        await using var broker = await BrokerProcess.StartAsync();
        var produce = await Bin("kafka-console-producer.sh", "first:one\nsecond:two\nthird:three\n",
            "--topic", "t", "--bootstrap-server", broker.Bootstrap, "--property", "parse.key=true", "--property", "key.separator=:");
        Assert.True(produce.ExitCode == 0, produce.ToString());

        var consume = await Bin("kafka-console-consumer.sh", null,
            "--topic", "t", "--bootstrap-server", broker.Bootstrap, "--from-beginning", "--property", "print.key=true", "--property", "key.separator=-", "--max-messages", "3");
        Assert.True(consume.ExitCode == 0, consume.ToString());
        Assert.Equal("first-one\nsecond-two\nthird-three\n", consume.Stdout);
        Assert.Contains("Processed a total of 3 messages", consume.Stderr);
    }

    [Fact]
    public async Task Consumer_PrintsTimestampPartitionOffsetAndHeaders_AndStopsAtTimeout()
    {
        await using var broker = await BrokerProcess.StartAsync();
        var produce = await Bin("kafka-console-producer.sh", "h1:a,h2:b\tk\tv\n",
            "--topic", "h", "--bootstrap-server", broker.Bootstrap, "--property", "parse.key=true", "--property", "parse.headers=true",
            "--request-required-acks", "1", "--compression-codec", "lz4");
        Assert.True(produce.ExitCode == 0, produce.ToString());

        var consume = await Bin("kafka-console-consumer.sh", null,
            "--topic", "h", "--bootstrap-server", broker.Bootstrap, "--partition", "0", "--offset", "earliest", "--timeout-ms", "3000",
            "--property", "print.timestamp=true", "--property", "print.partition=true", "--property", "print.offset=true",
            "--property", "print.headers=true", "--property", "print.key=true");
        var line = Assert.Single(consume.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Matches(@"^CreateTime:\d{13}\tPartition:0\tOffset:0\th1:a,h2:b\tk\tv$", line);
        Assert.Contains("Processed a total of 1 messages", consume.Stderr);
    }

    [Fact]
    public async Task Producer_MissingKeySeparator_FailsWithKafkasMessage()
    {
        await using var broker = await BrokerProcess.StartAsync();
        var produce = await Bin("kafka-console-producer.sh", "no-separator-here\n",
            "--topic", "t", "--bootstrap-server", broker.Bootstrap, "--property", "parse.key=true");
        Assert.NotEqual(0, produce.ExitCode);
        Assert.Contains("No key separator found on line number 1: 'no-separator-here'", produce.Stderr);
    }
}

/// <summary>The perf tools print Kafka's lines and move real records through the broker.</summary>
public class PerfToolTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(180);

    private static Task<ProcessResult> Bin(string script, params string[] args) =>
        ExternalProcess.RunAsync(Path.Combine(RepoPaths.Root, "bin", script), args, Timeout);

    [Fact]
    public async Task ProducerConsumerAndLatencyTools_PrintKafkasLines()
    {
        await using var broker = await BrokerProcess.StartAsync();
        await TopicAdmin.CreateAsync(broker.Port, "perf");
        var produce = await Bin("kafka-producer-perf-test.sh", "--topic", "perf", "--num-records", "20000", "--record-size", "100", "--throughput", "-1",
            "--producer-props", $"bootstrap.servers={broker.Bootstrap}", "acks=all", "linger.ms=5", "batch.size=131072");
        Assert.True(produce.ExitCode == 0, produce.ToString());
        Assert.Matches(@"(?m)^20000 records sent, [\d.]+ records/sec \([\d.]+ MB/sec\), [\d.]+ ms avg latency, [\d.]+ ms max latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99\.9th\.$", produce.Stdout);
        Assert.Equal(20000, await TopicAdmin.EndOffsetAsync(broker.Port, "perf"));

        var consume = await Bin("kafka-consumer-perf-test.sh", "--bootstrap-server", broker.Bootstrap, "--topic", "perf", "--messages", "20000");
        Assert.True(consume.ExitCode == 0, consume.ToString());
        var lines = consume.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec", lines[0]);
        Assert.Equal("20000", lines[1].Split(", ")[4]);

        await TopicAdmin.CreateAsync(broker.Port, "latency");
        var latency = await Bin("kafka-e2e-latency.sh", broker.Bootstrap, "latency", "200", "1", "100");
        Assert.True(latency.ExitCode == 0, latency.ToString());
        Assert.Matches(@"(?m)^Avg latency: [\d.]+ ms$", latency.Stdout);
        Assert.Matches(@"(?m)^Percentiles: 50th = [\d.]+, 99th = [\d.]+, 99\.9th = [\d.]+$", latency.Stdout);
        Assert.Equal(200, await TopicAdmin.EndOffsetAsync(broker.Port, "latency"));
    }
}
