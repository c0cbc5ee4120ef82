using System.Text;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;

namespace Samsa.Interop.Tests.Infrastructure;

/// <summary>One record as a hand-built fetch read it back, with whether its batch's CRC-32C held.</summary>
public readonly record struct FetchedRecord(long Offset, string? Value, bool CrcValid);

/// <summary>
/// Hand-built Produce and Fetch over a <see cref="RawKafkaConnection"/>, independent of any client under test: what
/// the storage tests write and read back to check the broker's files record by record.
/// </summary>
public static class RawRecords
{
    /// <summary>Produces one batch of UTF-8 values (no keys) with acks=all; returns the partition's answer.</summary>
    public static Task<(ErrorCode Error, long BaseOffset)> ProduceAsync(RawKafkaConnection connection, string topic, int partition, IEnumerable<string> values)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        return ProduceAsync(connection, topic, partition, values.Select(v => (now, v)));
    }

    /// <summary>Produces one batch of UTF-8 values with the given create timestamps (no keys), acks=all.</summary>
    public static async Task<(ErrorCode Error, long BaseOffset)> ProduceAsync(RawKafkaConnection connection, string topic, int partition, IEnumerable<(long Timestamp, string Value)> records)
    {
        using var builder = new RecordBatchBuilder();
        foreach (var (timestamp, value) in records)
        {
            builder.Append(timestamp, null, Encoding.UTF8.GetBytes(value));
        }
        return await ProduceBatchAsync(connection, topic, partition, builder.Build());
    }

    /// <summary>Produces one hand-built record batch with acks=all; returns the partition's answer.</summary>
    public static async Task<(ErrorCode Error, long BaseOffset)> ProduceBatchAsync(RawKafkaConnection connection, string topic, int partition, byte[] batch)
    {
        var response = await connection.RequestAsync<ProduceResponse>(new ProduceRequest
        {
            Acks = -1,
            TimeoutMs = 5000,
            TopicData = [new() { Name = topic, PartitionData = [new() { Index = partition, Records = batch }] }],
        }, 9);
        var answer = response.Responses[0].PartitionResponses[0];
        return ((ErrorCode)answer.ErrorCode, answer.BaseOffset);
    }

    /// <summary>
    /// Every record batch of a partition from offset 0 up to the high watermark (read_uncommitted), whole, in offset
    /// order, each handed to <paramref name="visit"/> as its bytes; fails if the broker stops short of the watermark.
    /// </summary>
    public static async Task ReadBatchesAsync(RawKafkaConnection connection, string topic, int partition, Action<ReadOnlyMemory<byte>> visit)
    {
        long offset = 0;
        while (true)
        {
            var response = await connection.RequestAsync<FetchResponse>(new FetchRequest
            {
                MaxWaitMs = 0,
                MinBytes = 1,
                MaxBytes = 8 * 1024 * 1024,
                Topics = [new() { Topic = topic, Partitions = [new() { Partition = partition, FetchOffset = offset, PartitionMaxBytes = 4 * 1024 * 1024 }] }],
            }, 12);
            var answer = response.Responses[0].Partitions[0];
            Assert.True(answer.ErrorCode == 0, $"fetch {topic}-{partition} at {offset}: error {answer.ErrorCode}");
            var bytes = answer.Records?.ToArray() ?? [];
            var position = 0;
            var next = offset;
            while (bytes.Length - position >= RecordBatch.HeaderSize)
            {
                var header = RecordBatchHeader.Read(bytes.AsSpan(position));
                if (position + header.SizeInBytes > bytes.Length)
                {
                    break;
                }
                visit(bytes.AsMemory(position, header.SizeInBytes));
                next = header.NextOffset;
                position += header.SizeInBytes;
            }
            if (next == offset)
            {
                Assert.True(offset >= answer.HighWatermark, $"no whole batch at {offset} below the high watermark {answer.HighWatermark}");
                return;
            }
            offset = next;
        }
    }

    /// <summary>
    /// Every record of a partition from offset 0 up to the high watermark, batch by batch; a batch whose CRC does not
    /// hold is still walked (its length frames it), its records marked <see cref="FetchedRecord.CrcValid"/> false.
    /// </summary>
    public static async Task<List<FetchedRecord>> ReadAllAsync(RawKafkaConnection connection, string topic, int partition)
    {
        var result = new List<FetchedRecord>();
        await ReadBatchesAsync(connection, topic, partition, bytes =>
        {
            var batch = new RecordBatchView(bytes.Span);
            var header = batch.Header;
            if (batch.IsCrcValid)
            {
                foreach (var record in batch.GetRecords())
                {
                    result.Add(new FetchedRecord(header.BaseOffset + record.OffsetDelta, record.ValueIsNull ? null : Encoding.UTF8.GetString(record.Value), true));
                }
            }
            else
            {
                // The damaged bytes cannot be trusted to frame records: the batch's offsets, no values.
                for (var o = header.BaseOffset; o < header.NextOffset; o++)
                {
                    result.Add(new FetchedRecord(o, null, false));
                }
            }
        });
        return result;
    }
}
