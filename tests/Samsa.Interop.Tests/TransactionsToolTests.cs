using System.Text;
using Samsa.Interop.Tests.Infrastructure;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;
using static Samsa.Interop.Tests.Infrastructure.BinScripts;

namespace Samsa.Interop.Tests;

/// <summary>
/// kafka-transactions.sh against a broker process (issue 14): a hand-built transactional batch left open (no marker)
/// holds the partition's last stable offset back; describe-producers shows its producer with the transaction's start
/// offset, <c>abort --start-offset</c> writes the abort marker (DescribeProducers then WriteTxnMarkers, as Kafka's
/// AbortTransactionHandler), after which the LSO reaches the log end and a read_committed consumer gets the
/// committed records around the aborted ones. Usage errors are Kafka's (argparse4j's and TransactionsCommand's).
/// </summary>
public class TransactionsToolTests
{
    private const long ProducerId = 4242;

    private static async Task<long> OffsetAsync(int port, string topic, sbyte isolationLevel)
    {
        using var connection = await RawKafkaConnection.ConnectAsync(port);
        var response = await connection.RequestAsync<ListOffsetsResponse>(new ListOffsetsRequest
        {
            ReplicaId = -1,
            IsolationLevel = isolationLevel,
            Topics = [new() { Name = topic, Partitions = [new() { PartitionIndex = 0, Timestamp = -1 }] }],
        }, 7);
        var answer = response.Topics[0].Partitions[0];
        Assert.Equal(0, answer.ErrorCode);
        return answer.Offset;
    }

    /// <summary>Kafka's prettyPrintTable: every cell padded to its column's widest, then a tab.</summary>
    private static string[] Table(params string[][] rows)
    {
        var widths = rows[0].Select((_, i) => rows.Max(r => r[i].Length)).ToArray();
        return [.. rows.Select(r => string.Concat(r.Select((c, i) => c.PadRight(widths[i]) + "\t")))];
    }

    private static readonly string[] ProducerHeaders = ["ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence", "LastTimestamp", "CurrentTransactionStartOffset"];

    [Fact]
    public async Task AbortByStartOffset_ClearsAnOpenTransaction_AndReadCommittedMovesOn()
    {
        await using var broker = await BrokerProcess.StartAsync();
        const string topic = "txn";
        await TopicAdmin.CreateAsync(broker.Port, topic, 1);
        long timestamp;
        using (var connection = await RawKafkaConnection.ConnectAsync(broker.Port))
        {
            Assert.Equal(ErrorCode.None, (await RawRecords.ProduceAsync(connection, topic, 0, ["before"])).Error);
            timestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            using var builder = new RecordBatchBuilder { ProducerId = ProducerId, ProducerEpoch = 0, BaseSequence = 0, IsTransactional = true };
            builder.Append(timestamp, null, Encoding.UTF8.GetBytes("open-1"));
            builder.Append(timestamp, null, Encoding.UTF8.GetBytes("open-2"));
            var (error, baseOffset) = await RawRecords.ProduceBatchAsync(connection, topic, 0, builder.Build());
            Assert.Equal(ErrorCode.None, error);
            Assert.Equal(1, baseOffset);
            Assert.Equal(ErrorCode.None, (await RawRecords.ProduceAsync(connection, topic, 0, ["after"])).Error);
        }
        // The open transaction holds the last stable offset at its first record.
        Assert.Equal(4, await OffsetAsync(broker.Port, topic, 0));
        Assert.Equal(1, await OffsetAsync(broker.Port, topic, 1));

        string[] b = ["--bootstrap-server", broker.Bootstrap];
        var describe = await Bin("kafka-transactions.sh", [.. b, "describe-producers", "--topic", topic, "--partition", "0"]);
        Assert.True(describe.ExitCode == 0, describe.ToString());
        Assert.Equal(
            Table(ProducerHeaders, [$"{ProducerId}", "0", "-1", "1", $"{timestamp}", "1"]),
            describe.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        var wrongOffset = await Bin("kafka-transactions.sh", [.. b, "abort", "--topic", topic, "--partition", "0", "--start-offset", "2"]);
        Assert.Equal(1, wrongOffset.ExitCode);
        Assert.Equal("Could not find any open transactions starting at offset 2 on partition txn-0\n", wrongOffset.Stderr);

        var abort = await Bin("kafka-transactions.sh", [.. b, "abort", "--topic", topic, "--partition", "0", "--start-offset", "1"]);
        Assert.True(abort.ExitCode == 0, abort.ToString());
        Assert.Equal("", abort.Stdout);

        // The marker takes offset 4; nothing is left open.
        Assert.Equal(5, await OffsetAsync(broker.Port, topic, 0));
        Assert.Equal(5, await OffsetAsync(broker.Port, topic, 1));
        var after = await Bin("kafka-transactions.sh", [.. b, "describe-producers", "--topic", topic, "--partition", "0"]);
        Assert.True(after.ExitCode == 0, after.ToString());
        // The marker moves the producer's coordinator epoch to the one it carried (0) and its last timestamp to the marker's.
        var lines = after.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        var cells = lines[1].Split('\t').Select(c => c.Trim()).ToArray();
        Assert.Equal([$"{ProducerId}", "0", "0", "1"], cells[..4]);
        Assert.Equal("None", cells[5]);

        var consume = await Bin("kafka-console-consumer.sh",
            [.. b, "--topic", topic, "--from-beginning", "--isolation-level", "read_committed", "--max-messages", "2", "--timeout-ms", "20000"]);
        Assert.True(consume.ExitCode == 0, consume.ToString());
        Assert.Equal("before\nafter\n", consume.Stdout);
    }

    [Fact]
    public async Task AbortByProducerId_WritesTheMarkerWithoutDescribing()
    {
        await using var broker = await BrokerProcess.StartAsync();
        const string topic = "txn-old";
        await TopicAdmin.CreateAsync(broker.Port, topic, 1);
        using (var connection = await RawKafkaConnection.ConnectAsync(broker.Port))
        {
            using var builder = new RecordBatchBuilder { ProducerId = ProducerId, ProducerEpoch = 3, BaseSequence = 0, IsTransactional = true };
            builder.Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null, Encoding.UTF8.GetBytes("open"));
            Assert.Equal(ErrorCode.None, (await RawRecords.ProduceBatchAsync(connection, topic, 0, builder.Build())).Error);
        }
        Assert.Equal(0, await OffsetAsync(broker.Port, topic, 1));
        // A coordinator epoch of -1 (as describe-producers shows before any marker) is sent as 0.
        var abort = await Bin("kafka-transactions.sh", ["--bootstrap-server", broker.Bootstrap, "abort", "--topic", topic, "--partition", "0",
            "--producer-id", $"{ProducerId}", "--producer-epoch", "3", "--coordinator-epoch", "-1"]);
        Assert.True(abort.ExitCode == 0, abort.ToString());
        Assert.Equal(2, await OffsetAsync(broker.Port, topic, 1));
    }

    [Fact]
    public async Task UsageErrors_AreKafkas()
    {
        async Task ExpectAsync(string expected, params string[] args)
        {
            var result = await Bin("kafka-transactions.sh", args);
            Assert.Equal(1, result.ExitCode);
            Assert.Equal("", result.Stdout);
            Assert.EndsWith(expected + "\n", result.Stderr, StringComparison.Ordinal);
        }

        string[] b = ["--bootstrap-server", "localhost:1"];
        await ExpectAsync("kafka-transactions.sh: error: too few arguments", b);
        await ExpectAsync("kafka-transactions.sh describe-producers: error: argument --topic is required", [.. b, "describe-producers", "--partition", "0"]);
        await ExpectAsync("kafka-transactions.sh describe-producers: error: argument --partition is required", [.. b, "describe-producers", "--topic", "foo"]);
        await ExpectAsync("kafka-transactions.sh describe: error: argument --transactional-id is required", [.. b, "describe"]);
        await ExpectAsync("kafka-transactions.sh force-terminate: error: argument --transactional-id is required", [.. b, "force-terminate"]);
        await ExpectAsync("kafka-transactions.sh abort: error: argument --topic is required", [.. b, "abort", "--partition", "0", "--start-offset", "9990"]);
        await ExpectAsync("kafka-transactions.sh abort: error: argument --partition is required", [.. b, "abort", "--topic", "foo", "--start-offset", "9990"]);
        await ExpectAsync("kafka-transactions.sh abort: error: argument --partition: could not convert 'x' to Integer (For input string: \"x\")",
            [.. b, "abort", "--topic", "foo", "--partition", "x"]);
        await ExpectAsync("kafka-transactions.sh: error: argument --bootstrap-server is required", "list");
        await ExpectAsync("The transaction to abort must be identified either with --start-offset (for brokers on 3.0 or above) or with --producer-id, --producer-epoch, and --coordinator-epoch (for older brokers)",
            [.. b, "abort", "--topic", "foo", "--partition", "0"]);
        await ExpectAsync("Missing required argument --producer-epoch", [.. b, "abort", "--topic", "foo", "--partition", "0", "--producer-id", "12345"]);
        await ExpectAsync("Missing required argument --coordinator-epoch",
            [.. b, "abort", "--topic", "foo", "--partition", "0", "--producer-id", "12345", "--producer-epoch", "15"]);
        await ExpectAsync("The `find-hanging` command requires either --topic or --broker-id to limit the scope of the search", [.. b, "find-hanging"]);
        await ExpectAsync("The --partition argument requires --topic to be provided", [.. b, "find-hanging", "--broker-id", "0", "--partition", "5"]);
    }
}
