using System.Globalization;
using System.Text;
using Samsa.Interop.Tests.Infrastructure;
using Samsa.Protocol.Records;

namespace Samsa.Interop.Tests;

/// <summary>
/// Idempotent producers (issue 14) against the server process: Confluent.Kafka, confluent-kafka-python, kcat and
/// kafkajs each get a producer id from InitProducerId and produce 2,000 keyed records to a 3-partition topic. Read
/// back by hand, every record is there exactly once, in the order produced within each partition, and every batch
/// carries the producer id the broker handed out, epoch 0 and sequences that start at 0 and run on without a gap.
/// No faults are injected: nothing is retried, so this holds before the log checks sequences.
/// </summary>
public class IdempotentProducerInteropTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(120);
    private const int Count = 2000;
    private const int Partitions = 3;

    /// <summary>One batch as stored: its producer fields and its record values.</summary>
    private sealed record StoredBatch(long BaseOffset, long ProducerId, short ProducerEpoch, int BaseSequence, List<string?> Values);

    [Theory]
    [InlineData("confluent")]
    [InlineData("confluent-python")]
    [InlineData("kcat")]
    [InlineData("kafkajs")]
    public async Task IdempotentProducer_WritesEveryRecordOnce_InOrderPerPartition_WithTheBrokersProducerId(string client)
    {
        var topic = $"idempotent-{client}";
        await TopicAdmin.CreateAsync(fixture.Broker.Port, topic, Partitions);
        await ProduceAsync(client, fixture.Broker.Bootstrap, topic, Count);

        var producerIds = await AssertStoredExactlyOnceInOrder(fixture.Broker.Port, topic, Count);
        var producerId = Assert.Single(producerIds);
        Assert.True(producerId >= 0, $"{client} produced without a producer id");
    }

    [Fact]
    public async Task ProducerIds_AfterAServerRestart_AreLargerThanAnyBefore()
    {
        var broker = await BrokerProcess.StartAsync(new Dictionary<string, string> { ["auto.create.topics.enable"] = "false" });
        broker.DeleteOnDispose = false;
        long before;
        try
        {
            await TopicAdmin.CreateAsync(broker.Port, "before-restart", Partitions);
            await ProduceAsync("confluent", broker.Bootstrap, "before-restart", 10);
            before = Assert.Single(await AssertStoredExactlyOnceInOrder(broker.Port, "before-restart", 10));
        }
        finally
        {
            await broker.DisposeAsync();
        }
        await using var restarted = await BrokerProcess.StartAsync(new Dictionary<string, string> { ["auto.create.topics.enable"] = "false" },
            reuseDirectory: broker.Directory, reusePort: broker.Port);
        await TopicAdmin.CreateAsync(restarted.Port, "after-restart", Partitions);
        await ProduceAsync("confluent", restarted.Bootstrap, "after-restart", 10);
        var after = Assert.Single(await AssertStoredExactlyOnceInOrder(restarted.Port, "after-restart", 10));
        Assert.True(after > before, $"producer id {after} after the restart, {before} before");
    }

    private static async Task ProduceAsync(string client, string bootstrap, string topic, int count)
    {
        ProcessResult result;
        switch (client)
        {
            case "confluent":
                result = await ExternalProcess.RunAsync("dotnet", [RepoPaths.ConfluentClientDll, "idempotent-produce", bootstrap, topic, count.ToString(CultureInfo.InvariantCulture)], ClientTimeout);
                break;
            case "confluent-python":
                Peers.Require(Peers.Python);
                result = await ExternalProcess.RunAsync(Peers.Python, [RepoPaths.ClientScript("confluent_python_idempotent.py"), bootstrap, topic, count.ToString(CultureInfo.InvariantCulture)], ClientTimeout);
                break;
            case "kcat":
                {
                    Peers.Require("kcat");
                    // One kcat run, one producer: "k{i}:{i}" lines, keyed, partitioned by librdkafka's default partitioner.
                    var lines = new StringBuilder();
                    for (var i = 0; i < count; i++)
                    {
                        lines.Append(CultureInfo.InvariantCulture, $"k{i}:{i}\n");
                    }
                    result = await ExternalProcess.RunAsync("kcat", ["-P", "-b", bootstrap, "-t", topic, "-K", ":", "-X", "enable.idempotence=true"], ClientTimeout, lines.ToString());
                    break;
                }
            case "kafkajs":
                result = await ExternalProcess.RunAsync("node", [Peers.KafkaJsScript("idempotent.js"), bootstrap, topic, count.ToString(CultureInfo.InvariantCulture)], ClientTimeout);
                break;
            default:
                throw new ArgumentException(client, nameof(client));
        }
        Assert.True(result.ExitCode == 0, $"{client}: {result}");
    }

    /// <summary>
    /// Reads every partition by hand and asserts the values 0..count-1 are stored exactly once, increasing within each
    /// partition, with contiguous sequences from 0 per partition and producer epoch 0. Returns the producer ids seen.
    /// </summary>
    private static async Task<HashSet<long>> AssertStoredExactlyOnceInOrder(int port, string topic, int count)
    {
        var seen = new List<int>();
        var producerIds = new HashSet<long>();
        for (var partition = 0; partition < Partitions; partition++)
        {
            var batches = await ReadBatchesAsync(port, topic, partition);
            var values = batches.SelectMany(b => b.Values).Select(v => int.Parse(v!, CultureInfo.InvariantCulture)).ToList();
            Assert.True(values.SequenceEqual(values.Order()), $"{topic}-{partition} is out of order: {string.Join(",", values.Take(50))}");
            var nextSequence = 0;
            foreach (var batch in batches)
            {
                producerIds.Add(batch.ProducerId);
                Assert.Equal(0, batch.ProducerEpoch);
                Assert.True(batch.BaseSequence == nextSequence,
                    $"{topic}-{partition}: batch at offset {batch.BaseOffset} has base sequence {batch.BaseSequence}, expected {nextSequence}");
                nextSequence += batch.Values.Count;
            }
            seen.AddRange(values);
        }
        var duplicates = seen.GroupBy(v => v).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(duplicates.Count == 0, $"{topic}: stored more than once: {string.Join(",", duplicates.Take(20))}");
        var missing = Enumerable.Range(0, count).Except(seen).ToList();
        Assert.True(missing.Count == 0, $"{topic}: {missing.Count} records missing, e.g. {string.Join(",", missing.Take(20))}");
        Assert.Equal(count, seen.Count);
        return producerIds;
    }

    private static async Task<List<StoredBatch>> ReadBatchesAsync(int port, string topic, int partition)
    {
        using var connection = await RawKafkaConnection.ConnectAsync(port);
        var batches = new List<StoredBatch>();
        await RawRecords.ReadBatchesAsync(connection, topic, partition, bytes =>
        {
            var view = new RecordBatchView(bytes.Span);
            var header = view.Header;
            Assert.True(view.IsCrcValid, $"{topic}-{partition}: corrupt batch at offset {header.BaseOffset}");
            var values = new List<string?>();
            foreach (var record in view.GetRecords())
            {
                values.Add(record.ValueIsNull ? null : Encoding.UTF8.GetString(record.Value));
            }
            batches.Add(new StoredBatch(header.BaseOffset, header.ProducerId, header.ProducerEpoch, header.BaseSequence, values));
        });
        return batches;
    }
}
