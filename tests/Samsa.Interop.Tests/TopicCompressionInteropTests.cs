using Samsa.Interop.Tests.Infrastructure;
using Samsa.Protocol.Records;

namespace Samsa.Interop.Tests;

/// <summary>Starts a broker whose default <c>compression.type</c> is snappy, so topics without the config recompress too.</summary>
public sealed class SnappyDefaultBrokerFixture : IAsyncLifetime
{
    public BrokerProcess Broker { get; private set; } = null!;

    public async Task InitializeAsync() => Broker = await BrokerProcess.StartAsync(new Dictionary<string, string>
    {
        ["auto.create.topics.enable"] = "false",
        ["compression.type"] = "snappy",
    });

    public async Task DisposeAsync() => await Broker.DisposeAsync();
}

/// <summary>
/// Topic <c>compression.type</c> (Kafka's LogValidator): a named codec rewrites every batch that arrives with another
/// codec, <c>producer</c> keeps the batch as sent, and a topic without the config follows the broker's default.
/// Producers write the interop matrix's messages with one codec; real clients read them back byte-identical from the
/// recompressed log, and the batches in the segment file carry the topic's codec.
/// </summary>
public class TopicCompressionInteropTests(SnappyDefaultBrokerFixture fixture) : IClassFixture<SnappyDefaultBrokerFixture>
{
    /// <summary>Every codec goes in once and comes out once; plus <c>producer</c> and the broker default.</summary>
    public static TheoryData<string, string, string?, string> Cases() => new()
    {
        { "confluent", "none", "gzip", "gzip" },
        { "kafka-python", "gzip", "snappy", "snappy" },
        { "confluent", "snappy", "lz4", "lz4" },
        { "kafka-python", "lz4", "zstd", "zstd" },
        { "confluent", "zstd", "uncompressed", "none" },
        { "kafka-python", "lz4", "producer", "lz4" },
        { "kafka-python", "zstd", null, "snappy" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task TopicCodec_RewritesBatches_ClientsReadIdenticalRecords(string producer, string producerCodec, string? topicCodec, string storedCodec)
    {
        var topic = $"recompress-{producerCodec}-{topicCodec ?? "default"}";
        var broker = fixture.Broker;
        var configs = topicCodec is null ? [] : new[] { ("compression.type", topicCodec) };
        await TopicAdmin.CreateAsync(broker.Port, topic, 1, configs);
        var expected = ProduceConsumeInteropTests.Expected(withTimestamps: true);
        await ProduceConsumeInteropTests.Produce(producer, broker.Bootstrap, topic, producerCodec, expected);

        foreach (var consumer in new[] { "kcat", "kafka-python", "confluent" })
        {
            await ProduceConsumeInteropTests.ConsumeExactly(consumer, broker.Bootstrap, topic, expected);
        }

        var batches = StoredBatches(Path.Combine(broker.Directory, "data", $"{topic}-0"));
        Assert.Equal(expected.Count, batches.Sum(b => b.RecordCount));
        var want = storedCodec switch
        {
            "none" => CompressionType.None,
            "gzip" => CompressionType.Gzip,
            "snappy" => CompressionType.Snappy,
            "lz4" => CompressionType.Lz4,
            _ => CompressionType.Zstd,
        };
        if (topicCodec == "producer")
        {
            // Kept as sent, although the broker default is snappy: clients send a batch uncompressed when the codec
            // does not shrink it, so only the 1 MB value is sure to arrive compressed.
            Assert.All(batches, b => Assert.Contains(b.Compression, new[] { CompressionType.None, want }));
            Assert.Equal(want, batches.Single(b => b.BaseOffset == expected.Count - 1).Compression);
        }
        else
        {
            Assert.All(batches, b => Assert.Equal(want, b.Compression));
        }
        Assert.All(batches, b => Assert.True(b.CrcValid, $"batch at offset {b.BaseOffset} has a bad CRC"));
    }

    private sealed record StoredBatch(long BaseOffset, CompressionType Compression, int RecordCount, bool CrcValid);

    /// <summary>The batch headers of a partition's segment files, read straight from disk.</summary>
    private static List<StoredBatch> StoredBatches(string partitionDirectory)
    {
        var batches = new List<StoredBatch>();
        foreach (var file in Directory.GetFiles(partitionDirectory, "*.log").Order(StringComparer.Ordinal))
        {
            var bytes = File.ReadAllBytes(file);
            var position = 0;
            while (bytes.Length - position >= RecordBatch.HeaderSize)
            {
                var size = RecordBatch.TotalSize(bytes.AsSpan(position));
                var batch = bytes.AsSpan(position, size);
                var header = RecordBatchHeader.Read(batch);
                batches.Add(new StoredBatch(header.BaseOffset, header.Compression, header.RecordCount, RecordBatch.ComputeCrc(batch) == header.Crc));
                position += size;
            }
        }
        return batches;
    }
}
