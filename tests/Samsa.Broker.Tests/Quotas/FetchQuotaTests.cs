using System.Buffers.Binary;
using Samsa.Broker.Tests.Replication;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;

namespace Samsa.Broker.Tests.Quotas;

/// <summary>consumer_byte_rate as Kafka's KafkaApis.handleFetchRequest applies it: max_bytes capped, a throttled fetch answered empty.</summary>
public sealed class FetchQuotaTests
{
    private const int Batches = 10;
    private const int ValueBytes = 400;

    [Fact]
    public async Task ThrottledConsumerFetch_IsAnsweredEmpty_WithItsBytesTakenBack_AndEachFetchFitsOneQuotaWindow()
    {
        await using var broker = await TestBroker.StartAsync(("quota.window.num", "2"), ("quota.window.size.seconds", "1"));
        await using var producer = await broker.ConnectAsync();
        await ProduceFetchTests.CreateTopic(broker, producer, "t");
        for (var i = 0; i < Batches; i++)
        {
            using var builder = new RecordBatchBuilder();
            builder.Append(0, null, new byte[ValueBytes]);
            var (_, produced) = await producer.RequestAsync<ProduceResponse>(ProduceFetchTests.Produce("t", 0, builder.Build()), 9, i);
            Assert.Equal(0, produced.Responses[0].PartitionResponses[0].ErrorCode);
        }
        // 1000 bytes per second: a fetch may take (2 - 1) windows' worth, 1000 bytes (two batches); the bucket holds
        // 2000, so reading the 10 batches' 4,700 bytes takes at least 2.7 s and some fetch is throttled.
        const int quota = 1000;
        await QuotaWire.SetQuotaAsync(broker, "client-id", "slow", "consumer_byte_rate", quota);

        await using var consumer = await broker.ConnectAsync();
        long offset = 0;
        var throttled = 0;
        for (var i = 0; i < 30 && offset < Batches; i++)
        {
            var response = await QuotaWire.SendAsync<FetchResponse>(consumer, ProduceFetchTests.Fetch("t", offset), 12, "slow", i);
            if (response.ThrottleTimeMs > 0)
            {
                // Kafka's getThrottledResponse for a sessionless fetch: no partitions, no session.
                Assert.Empty(response.Responses);
                Assert.Equal(0, response.SessionId);
                throttled++;
                continue;
            }
            var records = Assert.Single(Assert.Single(response.Responses).Partitions).Records!.Value;
            Assert.InRange(records.Length, 1, quota);
            offset = NextOffset(records.Span);
        }
        Assert.Equal(Batches, offset);
        Assert.True(throttled > 0, "no fetch was throttled");

        // Another client id on the same broker reads everything at once.
        var free = await QuotaWire.SendAsync<FetchResponse>(consumer, ProduceFetchTests.Fetch("t", 0), 12, "fast", 100);
        Assert.Equal(0, free.ThrottleTimeMs);
        Assert.Equal(Batches, NextOffset(Assert.Single(Assert.Single(free.Responses).Partitions).Records!.Value.Span));
    }

    /// <summary>The offset after the last whole batch: base offset (8 bytes), length (4), ..., last offset delta at 23.</summary>
    private static long NextOffset(ReadOnlySpan<byte> records)
    {
        long next = -1;
        while (records.Length >= 27)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(records[8..]);
            next = BinaryPrimitives.ReadInt64BigEndian(records) + BinaryPrimitives.ReadInt32BigEndian(records[23..]) + 1;
            records = records[Math.Min(records.Length, 12 + length)..];
        }
        return next;
    }
}
