using System.Globalization;
using Samsa.Interop.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Samsa.Interop.Tests;

/// <summary>
/// The consume-transform-produce flow of <see cref="TransactionalCopyTests"/> with each client's transactions API,
/// without faults: Confluent.Kafka (<c>SendOffsetsToTransaction</c>), confluent-kafka-python
/// (<c>send_offsets_to_transaction</c>) and kafkajs (<c>transactional: true</c>, <c>transaction.sendOffsets</c>) each copy
/// 300 records from a 3-partition input to an output, in transactions of 50 whose second one is aborted on purpose.
/// The aborted records stay in the log but a read_committed reader never sees them; the copy is still exactly once,
/// in order per partition, and the group's committed offsets are the input's end offsets.
/// </summary>
public class TransactionalClientsTests(BrokerFixture fixture, ITestOutputHelper output) : IClassFixture<BrokerFixture>
{
    private const int Records = 300;
    private const int Partitions = 3;
    private const int BatchSize = 50;
    private const int AbortedTransaction = 2;
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromMinutes(2);

    [Theory]
    [InlineData("confluent")]
    [InlineData("confluent-python")]
    [InlineData("kafkajs")]
    public async Task ConsumeTransformProduce_WithOneTransactionAborted_CopiesEveryRecordExactlyOnce(string client)
    {
        var (input, outputTopic, group, transactionalId) = ($"txn-{client}-in", $"txn-{client}-out", $"txn-{client}-group", $"txn-{client}-copier");
        var broker = fixture.Broker;
        await TopicAdmin.CreateAsync(broker.Port, input, Partitions);
        await TopicAdmin.CreateAsync(broker.Port, outputTopic, Partitions);
        var fill = await TransactionalOutput.FillAsync(broker.Bootstrap, input, Partitions, Records);
        Assert.True(fill.ExitCode == 0, $"fill: {fill}");

        string[] copyArgs = [broker.Bootstrap, input, outputTopic, group, transactionalId];
        var batch = BatchSize.ToString(CultureInfo.InvariantCulture);
        var abort = AbortedTransaction.ToString(CultureInfo.InvariantCulture);
        var count = Records.ToString(CultureInfo.InvariantCulture);
        var result = client switch
        {
            "confluent" => await ExternalProcess.RunAsync("dotnet",
                [RepoPaths.ConfluentClientDll, "txn-copy", .. copyArgs, Partitions.ToString(CultureInfo.InvariantCulture), batch, abort], ClientTimeout),
            "confluent-python" => await ExternalProcess.RunAsync(Peers.Python,
                [RepoPaths.ClientScript("confluent_python_txn_copy.py"), .. copyArgs, batch, abort, count], ClientTimeout),
            "kafkajs" => await ExternalProcess.RunAsync("node", [Peers.KafkaJsScript("txn_copy.js"), .. copyArgs, batch, abort, count], ClientTimeout),
            _ => throw new ArgumentException(client, nameof(client)),
        };
        output.WriteLine(result.Stdout);
        Assert.True(result.ExitCode == 0, $"{client} copier: {result}");
        Assert.Contains("\"aborted\"", result.Stdout, StringComparison.Ordinal);

        var ends = new long[Partitions];
        for (var p = 0; p < Partitions; p++)
        {
            ends[p] = await TopicAdmin.EndOffsetAsync(broker.Port, input, p);
        }
        Assert.Equal(Records, ends.Sum());
        var committed = await TransactionalOutput.CommittedOffsetsAsync(broker.Port, group, input, Partitions);
        Assert.Equal(ends, committed);

        var check = await TransactionalOutput.CheckAsync(broker.Bootstrap, broker.Port, outputTopic, Partitions, ends);
        output.WriteLine(check.Summary);
        Assert.True(check.Problems.Count == 0, $"{client}: {string.Join('\n', check.Problems)}\n{check.Summary}\n{result}");
        Assert.True(check.AbortedRecords > 0, $"{client}: the deliberately aborted transaction's records are not in the log as aborted\n{check.Summary}");
    }
}
