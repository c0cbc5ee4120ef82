using System.Text;
using Samsa.Interop.Tests.Infrastructure;
using Samsa.Protocol;
using Samsa.Protocol.Records;

namespace Samsa.Interop.Tests;

/// <summary>
/// Producer state survives a restart of the server process (issue 14): an idempotent producer that resends its last
/// batches after the broker was stopped (SIGTERM: the close snapshot) or killed (SIGKILL: the last roll's snapshot
/// plus a replay of the batches after it) gets the offsets of the first copy, not a second copy; a batch older than
/// the five a producer may have in flight is out of order; the next new batch lands at the log end.
/// </summary>
public class ProducerStateRestartTests
{
    private const long ProducerId = 77_000;
    private const short Epoch = 3;
    private const int RecordsPerBatch = 10;

    private static byte[] Batch(int index)
    {
        using var builder = new RecordBatchBuilder { ProducerId = ProducerId, ProducerEpoch = Epoch, BaseSequence = index * RecordsPerBatch };
        for (var i = 0; i < RecordsPerBatch; i++)
        {
            builder.Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null, Encoding.UTF8.GetBytes($"batch-{index}-record-{i}-" + new string('x', 4000)));
        }
        return builder.Build();
    }

    [Theory]
    [InlineData("SIGKILL")]
    [InlineData("SIGTERM")]
    public async Task ResentBatches_AfterARestart_GetTheirFirstOffsets_AndNoSecondCopy(string signal)
    {
        const string topic = "resent";
        const int batches = 60;
        var broker = await BrokerProcess.StartAsync();
        broker.DeleteOnDispose = false;
        var offsets = new long[batches];
        try
        {
            // ~40 KB batches in 1 MiB segments (Kafka's least segment.bytes): two rolls, so the SIGKILL restart starts from a roll snapshot and replays the rest.
            await TopicAdmin.CreateAsync(broker.Port, topic, 1, ("segment.bytes", "1048576"));
            using var connection = await RawKafkaConnection.ConnectAsync(broker.Port);
            for (var i = 0; i < batches; i++)
            {
                var (error, baseOffset) = await RawRecords.ProduceBatchAsync(connection, topic, 0, Batch(i));
                Assert.Equal(ErrorCode.None, error);
                offsets[i] = baseOffset;
            }
            if (signal == "SIGKILL")
            {
                await broker.KillAsync();
            }
            else
            {
                Assert.Equal(0, await broker.StopAsync());
            }
        }
        finally
        {
            await broker.DisposeAsync();
        }
        Assert.Contains(Directory.EnumerateFiles(Path.Combine(broker.Directory, "data", $"{topic}-0")), f => f.EndsWith(".snapshot", StringComparison.Ordinal));

        var restarted = await BrokerProcess.StartAsync(null, broker.Directory, broker.Port);
        await using (restarted)
        {
            restarted.DeleteOnDispose = true;
            await TopicAdmin.WaitServedAsync(restarted, topic);
            using var connection = await RawKafkaConnection.ConnectAsync(restarted.Port);
            var end = await TopicAdmin.EndOffsetAsync(restarted.Port, topic);
            Assert.Equal((long)batches * RecordsPerBatch, end);

            // The producer's retries of its last five batches, newest first, as a producer resending in-flight batches does.
            for (var i = batches - 1; i >= batches - 5; i--)
            {
                var (error, baseOffset) = await RawRecords.ProduceBatchAsync(connection, topic, 0, Batch(i));
                Assert.Equal((ErrorCode.None, offsets[i]), (error, baseOffset));
            }
            Assert.Equal(end, await TopicAdmin.EndOffsetAsync(restarted.Port, topic));
            Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, (await RawRecords.ProduceBatchAsync(connection, topic, 0, Batch(batches - 6))).Error);

            var (nextError, nextOffset) = await RawRecords.ProduceBatchAsync(connection, topic, 0, Batch(batches));
            Assert.Equal((ErrorCode.None, end), (nextError, nextOffset));
            var records = await RawRecords.ReadAllAsync(connection, topic, 0);
            Assert.Equal((batches + 1) * RecordsPerBatch, records.Count);
            Assert.Equal(records.Count, records.Select(r => r.Value).Distinct().Count());
        }
    }
}
