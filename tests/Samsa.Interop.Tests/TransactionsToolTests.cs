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

    // A hanging transaction is one no coordinator knows: a hand-built batch the broker does not verify with one.
    private static Dictionary<string, string> Unverified => new() { ["transaction.partition.verification.enable"] = "false" };

    private static readonly string[] HangingHeaders = ["Topic", "Partition", "ProducerId", "ProducerEpoch", "CoordinatorEpoch", "StartOffset", "LastTimestamp", "Duration(min)"];

    [Fact]
    public async Task AbortByStartOffset_ClearsAnOpenTransaction_AndReadCommittedMovesOn()
    {
        await using var broker = await BrokerProcess.StartAsync(Unverified);
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

        // Older than the maximum timeout (0 minutes) and unknown to the coordinator: hanging. The default 15 minutes hides it.
        await Task.Delay(50);
        var hanging = await Bin("kafka-transactions.sh", [.. b, "find-hanging", "--topic", topic, "--max-transaction-timeout", "0"]);
        Assert.True(hanging.ExitCode == 0, hanging.ToString());
        Assert.Equal(
            Table(HangingHeaders, [topic, "0", $"{ProducerId}", "0", "-1", "1", $"{timestamp}", "0"]),
            hanging.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var notYet = await Bin("kafka-transactions.sh", [.. b, "find-hanging", "--broker-id", "1"]);
        Assert.True(notYet.ExitCode == 0, notYet.ToString());
        Assert.Equal(Table(HangingHeaders), notYet.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

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

        var none = await Bin("kafka-transactions.sh", [.. b, "find-hanging", "--topic", topic, "--partition", "0", "--max-transaction-timeout", "0"]);
        Assert.True(none.ExitCode == 0, none.ToString());
        Assert.Equal(Table(HangingHeaders), none.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        var consume = await Bin("kafka-console-consumer.sh",
            [.. b, "--topic", topic, "--from-beginning", "--isolation-level", "read_committed", "--max-messages", "2", "--timeout-ms", "20000"]);
        Assert.True(consume.ExitCode == 0, consume.ToString());
        Assert.Equal("before\nafter\n", consume.Stdout);
    }

    [Fact]
    public async Task AbortByProducerId_WritesTheMarkerWithoutDescribing()
    {
        await using var broker = await BrokerProcess.StartAsync(Unverified);
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

    /// <summary>
    /// A real transactional producer (confluent-kafka-python) SIGKILLed mid-transaction leaves it open: the last stable
    /// offset stays at its first record. The coordinator still holds the partition in that transaction, so
    /// <c>find-hanging</c> does not report it (Kafka's rule: only a transaction no coordinator accounts for hangs; this
    /// one would end at its timeout); an operator's <c>abort</c> ends it now, and read_committed moves on.
    /// </summary>
    [Fact]
    public async Task ATransactionLeftOpenByAKilledProducer_HoldsTheLso_UntilAbortClearsIt()
    {
        Peers.Require(Peers.Python);
        await using var broker = await BrokerProcess.StartAsync();
        const string topic = "txn-killed";
        await TopicAdmin.CreateAsync(broker.Port, topic, 1);
        await using (var producer = InteractiveProcess.Start(Peers.Python,
            [RepoPaths.ClientScript("confluent_python_open_txn.py"), broker.Bootstrap, topic, "killed-txn", "3"]))
        {
            await producer.WaitForAsync(l => l == "open", TimeSpan.FromSeconds(60), "the open transaction");
            await producer.KillAsync();
        }
        using (var connection = await RawKafkaConnection.ConnectAsync(broker.Port))
        {
            Assert.Equal(ErrorCode.None, (await RawRecords.ProduceAsync(connection, topic, 0, ["after"])).Error);
        }
        Assert.Equal(4, await OffsetAsync(broker.Port, topic, 0));
        Assert.Equal(0, await OffsetAsync(broker.Port, topic, 1));

        string[] b = ["--bootstrap-server", broker.Bootstrap];
        var producers = await Bin("kafka-transactions.sh", [.. b, "describe-producers", "--topic", topic, "--partition", "0"]);
        Assert.True(producers.ExitCode == 0, producers.ToString());
        var row = producers.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1].Split('\t').Select(c => c.Trim()).ToArray();
        Assert.Equal("0", row[5]);

        var list = await Bin("kafka-transactions.sh", [.. b, "list"]);
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains(list.Stdout.Split('\n'), l => l.StartsWith("killed-txn", StringComparison.Ordinal) && l.TrimEnd().EndsWith("Ongoing", StringComparison.Ordinal));
        var hanging = await Bin("kafka-transactions.sh", [.. b, "find-hanging", "--topic", topic, "--max-transaction-timeout", "0"]);
        Assert.True(hanging.ExitCode == 0, hanging.ToString());
        Assert.Equal(Table(HangingHeaders), hanging.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        var abort = await Bin("kafka-transactions.sh", [.. b, "abort", "--topic", topic, "--partition", "0", "--start-offset", "0"]);
        Assert.True(abort.ExitCode == 0, abort.ToString());
        // The abort marker takes offset 4: the last stable offset is the log end again.
        Assert.Equal(5, await OffsetAsync(broker.Port, topic, 1));
        var consume = await Bin("kafka-console-consumer.sh",
            [.. b, "--topic", topic, "--from-beginning", "--isolation-level", "read_committed", "--max-messages", "1", "--timeout-ms", "20000"]);
        Assert.True(consume.ExitCode == 0, consume.ToString());
        Assert.Equal("after\n", consume.Stdout);
    }

    /// <summary>An ongoing transaction begun over the wire as a transactional producer does (transaction version 2 requests).</summary>
    private static async Task<(long ProducerId, short Epoch)> BeginTransactionAsync(int port, string transactionalId, string topic, long timestamp)
    {
        using var connection = await RawKafkaConnection.ConnectAsync(port);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var coordinator = Assert.Single((await connection.RequestAsync<FindCoordinatorResponse>(new FindCoordinatorRequest { KeyType = 1, CoordinatorKeys = [transactionalId] }, 4)).Coordinators);
            if (coordinator.ErrorCode == 0)
            {
                break;
            }
            Assert.True(DateTime.UtcNow < deadline, $"FindCoordinator: error {coordinator.ErrorCode}");
            await Task.Delay(100);
        }
        InitProducerIdResponse init;
        while (true)
        {
            init = await connection.RequestAsync<InitProducerIdResponse>(new InitProducerIdRequest
            {
                TransactionalId = transactionalId,
                TransactionTimeoutMs = 60_000,
                ProducerId = -1,
                ProducerEpoch = -1,
            }, 4);
            if (init.ErrorCode == 0)
            {
                break;
            }
            Assert.True(DateTime.UtcNow < deadline, $"InitProducerId: error {init.ErrorCode}");
            await Task.Delay(100);
        }
        var added = await connection.RequestAsync<AddPartitionsToTxnResponse>(new AddPartitionsToTxnRequest
        {
            V3AndBelowTransactionalId = transactionalId,
            V3AndBelowProducerId = init.ProducerId,
            V3AndBelowProducerEpoch = init.ProducerEpoch,
            V3AndBelowTopics = [new() { Name = topic, Partitions = [0] }],
        }, 3);
        Assert.Equal(0, added.ResultsByTopicV3AndBelow[0].ResultsByPartition[0].PartitionErrorCode);
        using var builder = new RecordBatchBuilder { ProducerId = init.ProducerId, ProducerEpoch = init.ProducerEpoch, BaseSequence = 0, IsTransactional = true };
        builder.Append(timestamp, null, Encoding.UTF8.GetBytes("pending"));
        var produced = await connection.RequestAsync<ProduceResponse>(new ProduceRequest
        {
            TransactionalId = transactionalId,
            Acks = -1,
            TimeoutMs = 5000,
            TopicData = [new() { Name = topic, PartitionData = [new() { Index = 0, Records = builder.Build() }] }],
        }, 9);
        Assert.Equal(0, produced.Responses[0].PartitionResponses[0].ErrorCode);
        return (init.ProducerId, init.ProducerEpoch);
    }

    [Fact]
    public async Task ListDescribeAndForceTerminate_SeeTheCoordinatorsTransaction()
    {
        await using var broker = await BrokerProcess.StartAsync();
        const string topic = "ongoing";
        await TopicAdmin.CreateAsync(broker.Port, topic, 1);
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var (producerId, epoch) = await BeginTransactionAsync(broker.Port, "tool-txn", topic, timestamp);
        string[] b = ["--bootstrap-server", broker.Bootstrap];

        var list = await Bin("kafka-transactions.sh", [.. b, "list"]);
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Equal(
            Table(["TransactionalId", "Coordinator", "ProducerId", "TransactionState"], ["tool-txn", "1", $"{producerId}", "Ongoing"]),
            list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        // Running longer than an hour: none.
        var longRunning = await Bin("kafka-transactions.sh", [.. b, "list", "--duration-filter", "3600000"]);
        Assert.True(longRunning.ExitCode == 0, longRunning.ToString());
        Assert.Single(longRunning.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        var describe = await Bin("kafka-transactions.sh", [.. b, "describe", "--transactional-id", "tool-txn"]);
        Assert.True(describe.ExitCode == 0, describe.ToString());
        var lines = describe.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Equal(["CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch", "TransactionState", "TransactionTimeoutMs", "CurrentTransactionStartTimeMs", "TransactionDurationMs", "TopicPartitions"],
            lines[0].Split('\t', StringSplitOptions.RemoveEmptyEntries).Select(c => c.Trim()));
        var cells = lines[1].Split('\t').Select(c => c.Trim()).ToArray();
        Assert.Equal(["1", "tool-txn", $"{producerId}", $"{epoch}", "Ongoing", "60000"], cells[..6]);
        Assert.True(long.Parse(cells[6], System.Globalization.CultureInfo.InvariantCulture) > 0 && long.Parse(cells[7], System.Globalization.CultureInfo.InvariantCulture) >= 0, lines[1]);
        Assert.Equal($"{topic}-0", cells[8]);

        // Open and old enough, but the coordinator still holds the partition in the transaction: not hanging.
        await Task.Delay(50);
        var hanging = await Bin("kafka-transactions.sh", [.. b, "find-hanging", "--topic", topic, "--max-transaction-timeout", "0"]);
        Assert.True(hanging.ExitCode == 0, hanging.ToString());
        Assert.Equal(Table(HangingHeaders), hanging.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        var unknown = await Bin("kafka-transactions.sh", [.. b, "describe", "--transactional-id", "nobody"]);
        Assert.Equal(1, unknown.ExitCode);
        Assert.StartsWith("Failed to describe transaction state of transactional-id `nobody`: ", unknown.Stderr, StringComparison.Ordinal);
        Assert.EndsWith(". Enable debug logging for additional detail.\n", unknown.Stderr, StringComparison.Ordinal);

        Assert.Equal(0, await OffsetAsync(broker.Port, topic, 1));
        var terminate = await Bin("kafka-transactions.sh", [.. b, "force-terminate", "--transactional-id", "tool-txn"]);
        Assert.True(terminate.ExitCode == 0, terminate.ToString());
        Assert.Equal("", terminate.Stdout);
        // The coordinator aborts: its marker reaches the partition and the last stable offset the log end.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await OffsetAsync(broker.Port, topic, 1) != 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "the abort marker was not written");
            await Task.Delay(100);
        }
        var after = await Bin("kafka-transactions.sh", [.. b, "list"]);
        Assert.True(after.ExitCode == 0, after.ToString());
        // The fence is an InitProducerId: once the abort completes it takes the id over with a new epoch, nothing open.
        Assert.Equal(
            Table(["TransactionalId", "Coordinator", "ProducerId", "TransactionState"], ["tool-txn", "1", $"{producerId}", "Empty"]),
            after.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task ProducerPerfTest_WithATransactionalId_CommitsEveryDuration()
    {
        await using var broker = await BrokerProcess.StartAsync();
        const string topic = "perf-txn";
        await TopicAdmin.CreateAsync(broker.Port, topic, 1);
        var perf = await Bin("kafka-producer-perf-test.sh", ["--topic", topic, "--num-records", "200", "--record-size", "10", "--throughput", "400",
            "--producer-props", $"bootstrap.servers={broker.Bootstrap}", "--transactional-id", "perf-1", "--transaction-duration-ms", "100"]);
        Assert.True(perf.ExitCode == 0, perf.ToString());
        Assert.Contains("200 records sent", perf.Stdout);
        // Every transaction committed: nothing left open, and read_committed reads all 200.
        var end = await OffsetAsync(broker.Port, topic, 0);
        Assert.True(end > 200, $"end {end}: expected commit markers after the 200 records");
        Assert.Equal(end, await OffsetAsync(broker.Port, topic, 1));
        var consume = await Bin("kafka-console-consumer.sh", ["--bootstrap-server", broker.Bootstrap, "--topic", topic, "--from-beginning",
            "--isolation-level", "read_committed", "--max-messages", "200", "--timeout-ms", "20000"]);
        Assert.True(consume.ExitCode == 0, consume.ToString());
        Assert.Equal(200, consume.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        var list = await Bin("kafka-transactions.sh", ["--bootstrap-server", broker.Bootstrap, "list"]);
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains("perf-1", list.Stdout);
        Assert.Contains("CompleteCommit", list.Stdout);

        var invalid = await Bin("kafka-producer-perf-test.sh", ["--topic", topic, "--num-records", "1", "--record-size", "1", "--throughput", "-1",
            "--producer-props", $"bootstrap.servers={broker.Bootstrap}", "--transaction-duration-ms", "0"]);
        Assert.Equal(1, invalid.ExitCode);
        Assert.Contains("--transaction-duration-ms should be greater than zero", invalid.Stderr);
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
