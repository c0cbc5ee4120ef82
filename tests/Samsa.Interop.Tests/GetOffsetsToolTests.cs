using Samsa.Interop.Tests.Infrastructure;
using Samsa.Protocol;
using static Samsa.Interop.Tests.Infrastructure.BinScripts;

namespace Samsa.Interop.Tests;

/// <summary>
/// <c>kafka-get-offsets.sh</c> (Kafka's <c>GetOffsetShell</c>) against a broker process: each <c>--time</c> spec,
/// topic regexes, partition lists and <c>--topic-partitions</c> rules, with Kafka's <c>topic:partition:offset</c> lines
/// in Kafka's order (by <c>topic-partition</c> text) and Kafka's error lines.
/// </summary>
public class GetOffsetsToolTests
{
    [Fact]
    public async Task GetOffsets_EachTimeSpecFiltersAndErrors_PrintKafkasLines()
    {
        await using var broker = await BrokerProcess.StartAsync();
        string[] b = ["--bootstrap-server", broker.Bootstrap];
        await TopicAdmin.CreateAsync(broker.Port, "events", 3);
        await TopicAdmin.CreateAsync(broker.Port, "orders", 12);
        await TopicAdmin.CreateAsync(broker.Port, "other", 1);
        const long T = 1_700_000_000_000;
        using (var connection = await RawKafkaConnection.ConnectAsync(broker.Port))
        {
            // events-0: single-record batches at T+100, T+400, T+250, so offset 1 holds the max timestamp whether
            // the broker answers -3 with the record's offset or its batch's last offset.
            foreach (var (timestamp, value) in new[] { (T + 100, "a"), (T + 400, "b"), (T + 250, "c") })
            {
                Assert.Equal(ErrorCode.None, (await RawRecords.ProduceAsync(connection, "events", 0, [(timestamp, value)])).Error);
            }
            // events-1: one batch of two records; orders-10 one record so it sorts before orders-2 in Kafka's order.
            Assert.Equal(ErrorCode.None, (await RawRecords.ProduceAsync(connection, "events", 1, [(T + 10, "x"), (T + 20, "y")])).Error);
            Assert.Equal(ErrorCode.None, (await RawRecords.ProduceAsync(connection, "orders", 10, [(T, "o")])).Error);
        }

        var latest = await Bin("kafka-get-offsets.sh", [.. b, "--topic", "events"]);
        Assert.True(latest.ExitCode == 0, latest.ToString());
        Assert.Equal("events:0:3\nevents:1:2\nevents:2:0\n", latest.Stdout);
        Assert.Equal(latest.Stdout, (await Bin("kafka-get-offsets.sh", [.. b, "--topic", "events", "--time", "-1"])).Stdout);
        Assert.Equal("events:0:0\nevents:1:0\nevents:2:0\n", (await Bin("kafka-get-offsets.sh", [.. b, "--topic", "events", "--time", "-2"])).Stdout);
        Assert.Equal("events:0:0\nevents:1:0\nevents:2:0\n", (await Bin("kafka-get-offsets.sh", [.. b, "--topic", "events", "--time", "earliest-local"])).Stdout);

        // -3: the offset of the record with the largest timestamp (an empty partition answers no offset, left out).
        var max = await Bin("kafka-get-offsets.sh", [.. b, "--topic", "events", "--partitions", "0", "--time", "-3"]);
        Assert.True(max.ExitCode == 0, max.ToString());
        Assert.Equal("events:0:1\n", max.Stdout);
        Assert.Equal(max.Stdout, (await Bin("kafka-get-offsets.sh", [.. b, "--topic", "events", "--partitions", "0", "--time", "max-timestamp"])).Stdout);

        // A timestamp: the first offset whose timestamp is at or after it; none past the last, so no line.
        Assert.Equal("events:0:1\n", (await Bin("kafka-get-offsets.sh", [.. b, "--topic", "events", "--partitions", "0", "--time", (T + 300).ToString()])).Stdout);
        Assert.Equal("events:0:0\nevents:1:1\n", (await Bin("kafka-get-offsets.sh", [.. b, "--topic", "events", "--partitions", "0,1", "--time", (T + 15).ToString()])).Stdout);
        Assert.Equal("", (await Bin("kafka-get-offsets.sh", [.. b, "--topic", "events", "--time", (T + 1000).ToString()])).Stdout);

        // A regex topic and a partition list; Kafka sorts "orders-10" before "orders-2".
        var regex = await Bin("kafka-get-offsets.sh", [.. b, "--topic", "ord.*|oth.*", "--partitions", "2,10,0"]);
        Assert.Equal("orders:0:0\norders:10:1\norders:2:0\nother:0:0\n", regex.Stdout);
        var rules = await Bin("kafka-get-offsets.sh", [.. b, "--topic-partitions", "events:1,orders:9-11,other"]);
        Assert.Equal("events:1:2\norders:10:1\norders:9:0\nother:0:0\n", rules.Stdout);
        var all = await Bin("kafka-get-offsets.sh", [.. b, "--exclude-internal-topics"]);
        Assert.Equal(3 + 12 + 1, all.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        var none = await Bin("kafka-get-offsets.sh", [.. b, "--topic", "nothing-.*"]);
        Assert.Equal(1, none.ExitCode);
        Assert.Equal("Error occurred: Could not match any topic-partitions with the specified filters\n", none.Stderr);
        var both = await Bin("kafka-get-offsets.sh", [.. b, "--topic-partitions", "events", "--topic", "events"]);
        Assert.Equal(1, both.ExitCode);
        Assert.Equal("Error occurred: --topic-partitions cannot be used with --topic or --partitions\n", both.Stderr);
        var badTime = await Bin("kafka-get-offsets.sh", [.. b, "--time", "yesterday"]);
        Assert.Equal(1, badTime.ExitCode);
        Assert.Equal("Error occurred: Malformed time argument yesterday. Please use -1 or latest / -2 or earliest / -3 or max-timestamp / -4 or earliest-local / -5 or latest-tiered / -6 or earliest-pending-upload, or a specified long format timestamp\n", badTime.Stderr);
        var badPartitions = await Bin("kafka-get-offsets.sh", [.. b, "--partitions", "one"]);
        Assert.Equal("Error occurred: --partitions expects a comma separated list of numeric partition ids, but received: one\n", badPartitions.Stderr);

        // Kafka's docs still show the tool through kafka-run-class.sh.
        var runClass = await Bin("kafka-run-class.sh", ["kafka.tools.GetOffsetShell", .. b, "--topic", "events", "--partitions", "1"]);
        Assert.Equal("events:1:2\n", runClass.Stdout);
    }
}
