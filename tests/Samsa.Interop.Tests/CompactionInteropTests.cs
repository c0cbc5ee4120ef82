using System.Diagnostics;
using System.Text;
using Samsa.Interop.Tests.Infrastructure;
using Samsa.Protocol.Messages;
using Xunit.Abstractions;

namespace Samsa.Interop.Tests;

/// <summary>
/// Log compaction in the running broker (issue 12): the cleaner threads started from server.properties compact a
/// <c>cleanup.policy=compact</c> topic to one record per key (its last value) and remove tombstones after
/// <c>delete.retention.ms</c>, read back with kcat; <c>__consumer_offsets</c> stays bounded under a commit loop and
/// the coordinator replays the compacted log to the last commits after a restart.
/// </summary>
/// <remarks>
/// The active segment is never cleaned (Kafka too), so each test rolls it with <c>segment.ms</c> and one more
/// write of another key before counting; what it asserts is "exactly one record per key below that last write".
/// </remarks>
public class CompactionInteropTests(ITestOutputHelper output)
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Broker settings that let the cleaner run within a second of a segment rolling.</summary>
    private static readonly Dictionary<string, string> FastCleaner = new()
    {
        ["log.cleaner.backoff.ms"] = "100",
        ["log.segment.delete.delay.ms"] = "500",
    };

    private const int Keys = 10;
    private const int Updates = 50_000;
    private const int SegmentMs = 1500;

    [Fact]
    public async Task CompactedTopic_With50000UpdatesOver10Keys_KeepsEachKeysLastValue_AndTombstonesGoAfterDeleteRetention()
    {
        const string topic = "compacted";
        const long deleteRetentionMs = 4000;
        await using var broker = await BrokerProcess.StartAsync(FastCleaner);
        await TopicAdmin.CreateAsync(broker.Port, topic, 1,
            ("cleanup.policy", "compact"),
            // segment.bytes cannot go below 1 MiB (Kafka 4's minimum); 50,000 x ~130 B records make 6-7 segments.
            ("segment.bytes", "1048576"),
            ("segment.ms", SegmentMs.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("min.cleanable.dirty.ratio", "0.01"),
            ("delete.retention.ms", deleteRetentionMs.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        var lines = new StringBuilder();
        var last = new Dictionary<string, string?>();
        var padding = new string('x', 100);
        for (var i = 0; i < Updates; i++)
        {
            var key = $"key-{i % Keys}";
            var value = $"{i}-{padding}";
            lines.Append(key).Append(':').Append(value).Append('\n');
            last[key] = value;
        }
        // Deletes: tombstones for two keys (kcat -Z sends an empty value as null).
        foreach (var deleted in new[] { "key-8", "key-9" })
        {
            lines.Append(deleted).Append(":\n");
            last[deleted] = null;
        }
        await ProduceAsync(broker, topic, lines.ToString());
        Assert.Equal(Updates + 2, await TopicAdmin.EndOffsetAsync(broker.Port, topic));

        // Roll the active segment: after segment.ms the next append starts a new one, so every update is cleanable.
        await Task.Delay(SegmentMs + 200);
        await ProduceAsync(broker, topic, "roll-1:r\n");

        var watch = Stopwatch.StartNew();
        var firstPass = await ReadUntilAsync(broker, topic, records => records.Count <= Keys + 1);
        output.WriteLine($"compacted to {firstPass.Count} records {watch.ElapsedMilliseconds} ms after the roll");
        // Exactly one record per key below the roll: its last value, tombstones still there within delete.retention.ms.
        var expected = last.Select(kv => (kv.Key, kv.Value ?? "NULL")).Append(("roll-1", "r")).Order().ToList();
        Assert.Equal(expected, firstPass.Select(r => (r.Key, r.Value)).Order().ToList());
        Assert.Equal(Updates + 2, firstPass.Single(r => r.Key == "roll-1").Offset);
        Assert.Contains($"Cleaned {topic}-0", broker.Output);

        // After delete.retention.ms the next cleaning (made due by another roll) drops the tombstones.
        await Task.Delay(TimeSpan.FromMilliseconds(deleteRetentionMs));
        await ProduceAsync(broker, topic, "roll-2:r\n");
        await Task.Delay(SegmentMs + 200);
        await ProduceAsync(broker, topic, "roll-3:r\n");
        var secondPass = await ReadUntilAsync(broker, topic, records => !records.Any(r => r.Value == "NULL"));
        var live = last.Where(kv => kv.Value is not null).Select(kv => (kv.Key, kv.Value!))
            .Concat([("roll-1", "r"), ("roll-2", "r"), ("roll-3", "r")]).Order().ToList();
        Assert.Equal(live, secondPass.Select(r => (r.Key, r.Value)).Order().ToList());
        output.WriteLine($"after delete.retention.ms: {secondPass.Count} records, tombstones gone ({watch.ElapsedMilliseconds} ms)");
    }

    private static async Task ProduceAsync(BrokerProcess broker, string topic, string lines)
    {
        var produced = await ExternalProcess.RunAsync("kcat", ["-P", "-b", broker.Bootstrap, "-t", topic, "-p", "0", "-K", ":", "-Z", "-X", "acks=all"], ClientTimeout, lines);
        Assert.True(produced.ExitCode == 0, produced.ToString());
    }

    /// <summary>Reads the whole partition with kcat until <paramref name="done"/> holds (the cleaner runs in the background) or 30 s pass.</summary>
    private static async Task<List<(long Offset, string Key, string Value)>> ReadUntilAsync(BrokerProcess broker, string topic, Func<List<(long Offset, string Key, string Value)>, bool> done)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var read = await ExternalProcess.RunAsync("kcat", ["-C", "-b", broker.Bootstrap, "-t", topic, "-p", "0", "-o", "beginning", "-e", "-Z", "-f", "%o %k %s\\n"], ClientTimeout);
            Assert.True(read.ExitCode == 0, read.ToString());
            var records = read.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split(' ', 3))
                .Select(p => (long.Parse(p[0], System.Globalization.CultureInfo.InvariantCulture), p[1], p[2]))
                .ToList();
            if (done(records) || deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                return records;
            }
            await Task.Delay(250);
        }
    }

    /// <summary>
    /// A commit loop of 10,000 OffsetCommit requests (4 partitions each, 2,000-byte metadata: 40,000 records of
    /// about 2.1 KB, ~80 MiB) against 1 MiB __consumer_offsets segments. During the loop the partition's segment
    /// files stay under 32 MiB at every sample: rolled segments wait for the cleaner while the writer outruns it
    /// (on 2 shared cores the loop rolls a segment every 30 ms in bursts, and a cleaning pass of 14 segments took
    /// ~0.7 s), plus replaced files until log.segment.delete.delay.ms. Once the loop stops, the cleaner catches up
    /// and the partition shrinks to at most 2 MiB (the active segment, possibly one just rolled, and the 4 live
    /// records). After kill -9 the coordinator, replaying the compacted log, answers the last commits.
    /// </summary>
    [Fact]
    public async Task ConsumerOffsets_UnderACommitLoop_StaysBounded_AndReplaysTheLastCommitsAfterSigkill()
    {
        const string group = "commit-loop";
        const string topic = "committed";
        const int partitions = 4;
        const int commits = 10_000;
        var config = new Dictionary<string, string>(FastCleaner)
        {
            ["offsets.topic.num.partitions"] = "1",
            ["offsets.topic.segment.bytes"] = "1048576",
        };
        var broker = await BrokerProcess.StartAsync(config);
        broker.DeleteOnDispose = false;
        var offsetsDir = Path.Combine(broker.Directory, "data", "__consumer_offsets-0");
        long peak = 0;
        try
        {
            await TopicAdmin.CreateAsync(broker.Port, topic, partitions);
            using var connection = await RawKafkaConnection.ConnectAsync(broker.Port);
            await connection.FindCoordinatorAsync(group);
            // Within offset.metadata.max.bytes (4096): fewer, larger commits write the same bytes in less time.
            var metadata = new string('m', 2000);
            var watch = Stopwatch.StartNew();
            for (var i = 0; i < commits; i++)
            {
                var response = await connection.RequestAsync<OffsetCommitResponse>(new OffsetCommitRequest
                {
                    GroupId = group,
                    GenerationIdOrMemberEpoch = -1,
                    Topics = [new() { Name = topic, Partitions = [.. Enumerable.Range(0, partitions).Select(p => new OffsetCommitRequest.OffsetCommitRequestPartition { PartitionIndex = p, CommittedOffset = i * 10L + p, CommittedMetadata = metadata })] }],
                }, 8);
                Assert.All(response.Topics[0].Partitions, p => Assert.Equal(0, p.ErrorCode));
                if (i % 125 == 124)
                {
                    peak = Math.Max(peak, SegmentBytesOnDisk(offsetsDir));
                }
            }
            var loopMs = watch.ElapsedMilliseconds;
            var records = await TopicAdmin.EndOffsetAsync(broker.Port, "__consumer_offsets");
            Assert.Equal(commits * partitions, records);
            // Kafka's record layout: key ~30 bytes, value ~2,030 bytes, ~10 bytes of record framing.
            var written = records * 2070.0;

            watch.Restart();
            long settled;
            while ((settled = SegmentBytesOnDisk(offsetsDir)) > 2L * 1024 * 1024 && watch.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(100);
            }
            output.WriteLine($"{commits} commits in {loopMs} ms: {records} records, ~{written / 1048576:F0} MiB written; __consumer_offsets-0 segment files " +
                $"at most {peak / 1024} KiB during the loop, {settled / 1024} KiB {watch.ElapsedMilliseconds} ms after it");
            Assert.InRange(peak, 1, 32L * 1024 * 1024);
            Assert.InRange(settled, 1, 2L * 1024 * 1024);
            Assert.Contains("Cleaned __consumer_offsets-0", broker.Output);
            await broker.KillAsync();
        }
        finally
        {
            await broker.DisposeAsync();
        }

        var restarted = await BrokerProcess.StartAsync(config, broker.Directory, broker.Port);
        await using (restarted)
        {
            restarted.DeleteOnDispose = true;
            using var connection = await RawKafkaConnection.ConnectAsync(restarted.Port);
            await connection.FindCoordinatorAsync(group);
            OffsetFetchResponse fetched;
            var deadline = Stopwatch.StartNew();
            do
            {
                // COORDINATOR_LOAD_IN_PROGRESS while the shard replays; retried as clients do.
                fetched = await connection.RequestAsync<OffsetFetchResponse>(new OffsetFetchRequest
                {
                    GroupId = group,
                    Topics = [new() { Name = topic, PartitionIndexes = [.. Enumerable.Range(0, partitions)] }],
                }, 7);
            }
            while (fetched.ErrorCode == 14 && deadline.Elapsed < TimeSpan.FromSeconds(20) && await Delay());
            Assert.Equal(0, fetched.ErrorCode);
            Assert.Equal(Enumerable.Range(0, partitions).Select(p => (p, (commits - 1) * 10L + p)),
                fetched.Topics[0].Partitions.Select(p => (p.PartitionIndex, p.CommittedOffset)).Order());
            Assert.Matches(@"Loaded __consumer_offsets-0: 1 groups from \d+ records", restarted.Output);
        }
    }

    private static async Task<bool> Delay()
    {
        await Task.Delay(100);
        return true;
    }

    /// <summary>Bytes of the partition's segment files, including ones renamed .deleted and not yet removed.</summary>
    private static long SegmentBytesOnDisk(string partitionDir)
    {
        long total = 0;
        foreach (var file in new DirectoryInfo(partitionDir).EnumerateFiles("*.log*"))
        {
            try
            {
                total += file.Length;
            }
            catch (FileNotFoundException)
            {
                // Removed by the cleaner between the listing and the stat: it no longer takes space.
            }
        }
        return total;
    }
}
