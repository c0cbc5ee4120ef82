using System.Diagnostics;
using System.Text;
using Samsa.Interop.Tests.Infrastructure;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;
using Xunit.Abstractions;

namespace Samsa.Interop.Tests;

/// <summary>
/// What the log manager promises across restarts of the real server process (issue 12): DeleteRecords survives a
/// clean stop and kill -9 (log-start-offset-checkpoint is written before the answer); a clean stop leaves
/// <c>.kafka_cleanshutdown</c>, so the next start re-scans no segment, while kill -9 makes it recover the segments
/// past the recovery point.
/// </summary>
public class LogRecoveryInteropTests(ITestOutputHelper output)
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The storage engine's line for each segment recovery re-scans (event id 3002).</summary>
    private const string RecoveringLine = "Recovering unflushed segment";

    [Theory]
    [InlineData("SIGTERM")]
    [InlineData("SIGKILL")]
    public async Task DeleteRecords_SurvivesRestart(string signal)
    {
        const string topic = "deleted-records";
        var broker = await BrokerProcess.StartAsync();
        broker.DeleteOnDispose = false;
        try
        {
            await TopicAdmin.CreateAsync(broker.Port, topic);
            await ProduceLinesAsync(broker, topic, 1000);
            Assert.Equal(1000, await TopicAdmin.EndOffsetAsync(broker.Port, topic));
            using (var connection = await RawKafkaConnection.ConnectAsync(broker.Port))
            {
                var deleted = await connection.RequestAsync<DeleteRecordsResponse>(new DeleteRecordsRequest
                {
                    TimeoutMs = 10000,
                    Topics = [new() { Name = topic, Partitions = [new() { PartitionIndex = 0, Offset = 600 }] }],
                }, 2);
                var answer = deleted.Topics[0].Partitions[0];
                Assert.Equal((0, 600L), (answer.ErrorCode, answer.LowWatermark));
            }
            if (signal == "SIGKILL")
            {
                // Straight after the answer: nothing but what DeleteRecords itself wrote can carry the offset over.
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

        var restarted = await BrokerProcess.StartAsync(null, broker.Directory, broker.Port);
        await using (restarted)
        {
            restarted.DeleteOnDispose = true;
            await TopicAdmin.WaitServedAsync(restarted, topic);
            using var connection = await RawKafkaConnection.ConnectAsync(restarted.Port);
            Assert.Equal(600, await ListOffsetAsync(connection, topic, -2));
            Assert.Equal(1000, await ListOffsetAsync(connection, topic, -1));

            var fromZero = await FetchAsync(connection, topic, 0);
            Assert.Equal(1, fromZero.ErrorCode); // OFFSET_OUT_OF_RANGE
            Assert.Equal(600, fromZero.LogStartOffset);

            var from600 = await FetchAsync(connection, topic, 600);
            Assert.Equal(0, from600.ErrorCode);
            var records = from600.Records!.Value;
            Assert.True(records.Length > 0, "no records from offset 600");
            var first = RecordBatchHeader.Read(records.Span);
            Assert.InRange(600, first.BaseOffset, first.LastOffset);

            // A real client agrees: kcat from the beginning reads offsets 600-999 and nothing before.
            var consumed = await ExternalProcess.RunAsync("kcat", ["-C", "-b", restarted.Bootstrap, "-t", topic, "-p", "0", "-o", "beginning", "-e", "-f", "%o\\n"], ClientTimeout);
            Assert.Equal(Enumerable.Range(600, 400).Select(o => o.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                consumed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
    }

    /// <summary>
    /// A topic of 1 MiB segments holding ~6 MiB: after SIGTERM the restart recovers no segment and reports a clean
    /// shutdown; after more writes and SIGKILL the restart recovers the segments past the recovery point (at least
    /// the active one) and reports an unclean one. Every record is there after both.
    /// </summary>
    [Fact]
    public async Task CleanStop_RecoversNoSegment_WhileSigkillRecoversTheUnflushedOnes()
    {
        const string topic = "recovered";
        var broker = await BrokerProcess.StartAsync();
        broker.DeleteOnDispose = false;
        try
        {
            await TopicAdmin.CreateAsync(broker.Port, topic, 1, ("segment.bytes", "1048576"));
            await ProduceLinesAsync(broker, topic, 40_000, 150);
            Assert.Equal(0, await broker.StopAsync());
        }
        finally
        {
            await broker.DisposeAsync();
        }
        var segments = Directory.GetFiles(Path.Combine(broker.Directory, "data", $"{topic}-0"), "*.log").Length;
        Assert.True(segments >= 5, $"{segments} segments");

        var clean = await BrokerProcess.StartAsync(null, broker.Directory, broker.Port);
        clean.DeleteOnDispose = false;
        try
        {
            await TopicAdmin.WaitServedAsync(clean, topic);
            Assert.Equal(40_000, await TopicAdmin.EndOffsetAsync(clean.Port, topic));
            output.WriteLine($"after SIGTERM ({segments} segments): {PartitionRecoveries(clean.Output).Count} segments recovered");
            Assert.Contains("partition logs from disk after a clean shutdown", await LoadLineAsync(clean));
            Assert.Empty(PartitionRecoveries(clean.Output));

            await ProduceLinesAsync(clean, topic, 5_000, 150);
            await clean.KillAsync();
        }
        finally
        {
            await clean.DisposeAsync();
        }

        var unclean = await BrokerProcess.StartAsync(null, broker.Directory, broker.Port);
        await using (unclean)
        {
            unclean.DeleteOnDispose = true;
            await TopicAdmin.WaitServedAsync(unclean, topic);
            Assert.Equal(45_000, await TopicAdmin.EndOffsetAsync(unclean.Port, topic));
            Assert.Contains("partition logs from disk after a unclean shutdown", await LoadLineAsync(unclean));
            var recovered = PartitionRecoveries(unclean.Output);
            output.WriteLine($"after SIGKILL: {recovered.Count} segments recovered");
            Assert.Contains(recovered, l => l.EndsWith($"of {topic}-0", StringComparison.Ordinal));
        }
    }

    /// <summary>
    /// The recovery lines of partition logs. The metadata log (<c>__cluster_metadata-0</c>) is not one of the log
    /// manager's logs and is opened without the clean-shutdown shortcut, so its active segment is re-scanned on
    /// every start; it is left out here.
    /// </summary>
    private static List<string> PartitionRecoveries(string output) =>
        [.. output.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Contains(RecoveringLine, StringComparison.Ordinal) && !l.Contains("__cluster_metadata", StringComparison.Ordinal))];

    /// <summary>The log manager's line once every partition directory has been loaded (it follows the last partition's opening).</summary>
    private static async Task<string> LoadLineAsync(BrokerProcess broker)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var line = broker.Output.Split('\n').FirstOrDefault(l => l.Contains("partition logs from disk", StringComparison.Ordinal));
            if (line is not null || deadline.Elapsed > TimeSpan.FromSeconds(20))
            {
                return line ?? broker.Output;
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Produces <paramref name="count"/> lines of about <paramref name="bytes"/> bytes with kcat, acks=all.</summary>
    private static async Task ProduceLinesAsync(BrokerProcess broker, string topic, int count, int bytes = 20)
    {
        var lines = new StringBuilder();
        var padding = new string('p', Math.Max(0, bytes - 12));
        for (var i = 0; i < count; i++)
        {
            lines.Append(i).Append('-').Append(padding).Append('\n');
        }
        var produced = await ExternalProcess.RunAsync("kcat", ["-P", "-b", broker.Bootstrap, "-t", topic, "-p", "0", "-X", "acks=all"], ClientTimeout, lines.ToString());
        Assert.True(produced.ExitCode == 0, produced.ToString());
    }

    /// <summary>Logs open in the background after a restart; waits until the partition answers ListOffsets.</summary>
    private static async Task<long> ListOffsetAsync(RawKafkaConnection connection, string topic, long timestamp)
    {
        var response = await connection.RequestAsync<ListOffsetsResponse>(new ListOffsetsRequest
        {
            ReplicaId = -1,
            Topics = [new() { Name = topic, Partitions = [new() { PartitionIndex = 0, Timestamp = timestamp }] }],
        }, 7);
        var answer = response.Topics[0].Partitions[0];
        Assert.Equal(0, answer.ErrorCode);
        return answer.Offset;
    }

    private static async Task<FetchResponse.PartitionData> FetchAsync(RawKafkaConnection connection, string topic, long offset)
    {
        var response = await connection.RequestAsync<FetchResponse>(new FetchRequest
        {
            ReplicaId = -1,
            MaxWaitMs = 0,
            MinBytes = 1,
            MaxBytes = 1 << 20,
            Topics = [new() { Topic = topic, Partitions = [new() { Partition = 0, FetchOffset = offset, PartitionMaxBytes = 1 << 20 }] }],
        }, 12);
        return response.Responses[0].Partitions[0];
    }
}
