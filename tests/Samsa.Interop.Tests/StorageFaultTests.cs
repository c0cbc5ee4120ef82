using Samsa.Interop.Tests.Infrastructure;
using Samsa.Protocol;
using Samsa.Protocol.Records;
using Xunit.Abstractions;

namespace Samsa.Interop.Tests;

/// <summary>
/// Damaged files under the real server process (issue 12): each case copies a data directory written by a real
/// broker (stopped cleanly, or killed with SIGKILL), damages it as a failing disk or a careless operator would, and
/// restarts the broker on it. After every restart: every record outside the damaged batch is readable with its
/// value, no partition directory is deleted (a stray one is renamed <c>-stray</c> and kept byte for byte), the
/// other partitions take writes, and the log names what happened in one line, with no stack trace.
/// </summary>
public sealed class StorageFaultTests(StorageFaultTests.Templates templates, ITestOutputHelper output) : IClassFixture<StorageFaultTests.Templates>
{
    private const string TopicA = "fault-a";      // 1 partition, 1 MiB segments (Kafka's minimum): four of them
    private const string TopicB = "fault-b";      // 2 partitions
    private const string TopicLast = "fault-last"; // created last: its records are the metadata log's tail
    private const int BatchesA = 200;
    private const int BatchesB = 20;
    private const int PerBatch = 10;

    public static string ValueA(long offset) => $"a-{offset:D6}-" + new string('x', 2000);

    public static string ValueB(int partition, long offset) => $"b{partition}-{offset:D6}";

    /// <summary>Two data directories written once per run: one after SIGTERM, one after SIGKILL.</summary>
    public sealed class Templates : IAsyncLifetime
    {
        public string Clean { get; private set; } = "";
        public string Killed { get; private set; } = "";
        private string _root = "";

        public static readonly Dictionary<string, string> Config = new()
        {
            // Checkpoints every half second, so the killed template has a recovery point past its rolled segments.
            ["log.flush.offset.checkpoint.interval.ms"] = "500",
            ["log.flush.start.offset.checkpoint.interval.ms"] = "500",
            ["replica.high.watermark.checkpoint.interval.ms"] = "500",
        };

        public async Task InitializeAsync()
        {
            _root = Directory.CreateTempSubdirectory("samsa-faults-").FullName;
            var broker = await BrokerProcess.StartAsync(Config);
            broker.DeleteOnDispose = false;
            try
            {
                await TopicAdmin.CreateAsync(broker.Port, TopicA, 1, ("segment.bytes", "1048576"));
                await TopicAdmin.CreateAsync(broker.Port, TopicB, 2);
                using (var connection = await RawKafkaConnection.ConnectAsync(broker.Port))
                {
                    for (var b = 0; b < BatchesA; b++)
                    {
                        await ProduceAsync(connection, TopicA, 0, Enumerable.Range(b * PerBatch, PerBatch).Select(o => ValueA(o)));
                    }
                    for (var p = 0; p < 2; p++)
                    {
                        for (var b = 0; b < BatchesB; b++)
                        {
                            await ProduceAsync(connection, TopicB, p, Enumerable.Range(b * PerBatch, PerBatch).Select(o => ValueB(p, o)));
                        }
                    }
                }
                await TopicAdmin.CreateAsync(broker.Port, TopicLast, 1);
                using (var connection = await RawKafkaConnection.ConnectAsync(broker.Port))
                {
                    await ProduceAsync(connection, TopicLast, 0, ["last"]);
                }
                // Let the checkpoint schedules write the recovery points of the rolled (flushed) segments.
                await Task.Delay(1500);
                await broker.KillAsync();
            }
            finally
            {
                await broker.DisposeAsync();
            }
            Killed = Path.Combine(_root, "killed");
            CopyDirectory(broker.Directory, Killed);

            // The same data, restarted (recovering) and stopped cleanly.
            var again = await BrokerProcess.StartAsync(Config, reuseDirectory: broker.Directory);
            again.DeleteOnDispose = false;
            await WaitServingAsync(again.Port, TimeSpan.FromSeconds(30));
            Assert.Equal(0, await again.StopAsync());
            await again.DisposeAsync();
            Clean = Path.Combine(_root, "clean");
            Directory.Move(broker.Directory, Clean);
            Assert.True(File.Exists(Path.Combine(Clean, "data", ".kafka_cleanshutdown")));
            var recoveryPoints = File.ReadAllText(Path.Combine(Killed, "data", "recovery-point-offset-checkpoint"));
            Assert.Matches($"(?m)^{TopicA} 0 [1-9]", recoveryPoints);
        }

        public Task DisposeAsync()
        {
            Directory.Delete(_root, recursive: true);
            return Task.CompletedTask;
        }
    }

    public enum Fault
    {
        BitFlipInOldSegment,
        BitFlipInOldSegmentAfterKill,
        TruncatedTail,
        GarbageTail,
        DeletedIndexes,
        GarbageIndexes,
        GarbageCheckpoints,
        MissingCheckpoints,
        GarbagePartitionMetadata,
        CorruptMetadataLogTail,
        PartitionMetadataWithAnotherTopicId,
        MissingMetaProperties,
    }

    [Theory]
    [InlineData(Fault.BitFlipInOldSegment, false, null)]
    [InlineData(Fault.BitFlipInOldSegmentAfterKill, true, "Recovering unflushed segment")]
    [InlineData(Fault.TruncatedTail, true, "Found invalid data in log segment")]
    [InlineData(Fault.GarbageTail, true, "Found invalid data in log segment")]
    [InlineData(Fault.DeletedIndexes, false, "is corrupt or missing; rebuilding it from the log")]
    [InlineData(Fault.GarbageIndexes, false, "is corrupt or missing; rebuilding it from the log")]
    [InlineData(Fault.GarbageCheckpoints, true, "rebuilt from the log's batches")]
    [InlineData(Fault.MissingCheckpoints, true, "Recovering unflushed segment")]
    [InlineData(Fault.GarbagePartitionMetadata, false, "has an unreadable partition.metadata; rewriting it")]
    [InlineData(Fault.CorruptMetadataLogTail, false, "Log of fault-last-0 is stray")]
    [InlineData(Fault.PartitionMetadataWithAnotherTopicId, false, "Log of fault-b-1 is stray")]
    [InlineData(Fault.MissingMetaProperties, false, "meta.properties is missing from")]
    public async Task DamagedFiles_CostNoMoreThanTheDamagedBatch(Fault fault, bool afterKill, string? expectedLine)
    {
        var root = Directory.CreateTempSubdirectory("samsa-fault-case-").FullName;
        CopyDirectory(afterKill ? templates.Killed : templates.Clean, root);
        var data = Path.Combine(root, "data");
        var partitionDirsBefore = PartitionDirectories(data);
        var damaged = Damage(fault, data);
        output.WriteLine($"{fault}: {damaged.Description}");

        var broker = await BrokerProcess.StartAsync(Templates.Config, reuseDirectory: root);
        try
        {
            await WaitServingAsync(broker.Port, TimeSpan.FromSeconds(30), damaged.Offline);
            var log = broker.Output;

            // Every record outside the damaged batch, with its value.
            var a = await ReadAllAsync(broker.Port, TopicA, 0);
            AssertComplete(a, BatchesA * PerBatch, ValueA, damaged.LostA, fault == Fault.TruncatedTail);
            for (var p = 0; p < 2; p++)
            {
                var partition = p;
                if (damaged.Offline.Contains($"{TopicB}-{p}"))
                {
                    continue;
                }
                AssertComplete(await ReadAllAsync(broker.Port, TopicB, p), BatchesB * PerBatch, o => ValueB(partition, o), default, false);
            }

            // No partition directory deleted: each is where it was, or renamed -stray with its segments intact.
            var after = Directory.GetDirectories(data).Select(Path.GetFileName).ToList();
            Assert.DoesNotContain(after, d => d!.EndsWith("-delete", StringComparison.Ordinal));
            foreach (var dir in partitionDirsBefore)
            {
                var stray = after.FirstOrDefault(d => d!.StartsWith(dir + ".", StringComparison.Ordinal) && d.EndsWith("-stray", StringComparison.Ordinal));
                Assert.True(after.Contains(dir) || stray is not null, $"{dir} is gone; left: {string.Join(", ", after)}");
                if (stray is not null)
                {
                    foreach (var segment in Directory.GetFiles(Path.Combine(templates.Clean, "data", dir), "*.log"))
                    {
                        var copy = Path.Combine(data, stray, Path.GetFileName(segment));
                        Assert.True(File.Exists(copy), $"{copy} missing from the stray directory");
                    }
                }
            }

            // The other partitions take writes.
            using (var connection = await RawKafkaConnection.ConnectAsync(broker.Port))
            {
                await ProduceAsync(connection, TopicB, 0, ["after-restart"]);
            }

            // One line says what happened; nothing is logged with a stack trace.
            if (expectedLine is not null)
            {
                Assert.Contains(expectedLine, log);
            }
            Assert.DoesNotContain(log.Split('\n'), l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal) && l.Contains("Samsa", StringComparison.Ordinal));
            Assert.Equal(0, await broker.StopAsync());
        }
        catch
        {
            output.WriteLine(broker.Output);
            throw;
        }
        finally
        {
            await broker.DisposeAsync();
        }
    }

    /// <summary>What a fault damaged: records of fault-a-0 allowed to be missing, partitions allowed to be offline.</summary>
    private sealed record Damaged(string Description, (long First, long Last) LostA, HashSet<string> Offline);

    private static Damaged Damage(Fault fault, string data)
    {
        var partitionA = Path.Combine(data, $"{TopicA}-0");
        var segmentsA = Directory.GetFiles(partitionA, "*.log").Order(StringComparer.Ordinal).ToArray();
        var none = (-1L, -1L);
        switch (fault)
        {
            case Fault.BitFlipInOldSegment:
            case Fault.BitFlipInOldSegmentAfterKill:
                {
                    var (position, baseOffset, count) = Batches(segmentsA[1]).ElementAt(3);
                    FlipByte(segmentsA[1], position + RecordBatch.RecordsOffset + 20);
                    return new Damaged($"flipped a byte in the batch at offset {baseOffset} of {segmentsA[1]}", (baseOffset, baseOffset + count - 1), []);
                }
            case Fault.TruncatedTail:
                {
                    var active = segmentsA[^1];
                    var (_, baseOffset, count) = Batches(active).Last();
                    using (var file = File.OpenWrite(active))
                    {
                        file.SetLength(file.Length - 50);
                    }
                    return new Damaged($"cut 50 bytes off {active}", (baseOffset, baseOffset + count - 1), []);
                }
            case Fault.GarbageTail:
                AppendGarbage(segmentsA[^1], 300);
                return new Damaged("300 random bytes after the last batch", none, []);
            case Fault.DeletedIndexes:
                File.Delete(Path.ChangeExtension(segmentsA[1], ".index"));
                File.Delete(Path.ChangeExtension(segmentsA[1], ".timeindex"));
                return new Damaged("deleted the indexes of an old segment", none, []);
            case Fault.GarbageIndexes:
                File.WriteAllBytes(Path.ChangeExtension(segmentsA[1], ".index"), RandomBytes(8 * 7));
                File.WriteAllBytes(Path.ChangeExtension(segmentsA[0], ".timeindex"), RandomBytes(12 * 5));
                File.WriteAllBytes(Path.ChangeExtension(segmentsA[2], ".index"), RandomBytes(13));
                return new Damaged("random bytes in three indexes", none, []);
            case Fault.GarbageCheckpoints:
                foreach (var name in CheckpointFiles)
                {
                    File.WriteAllBytes(Path.Combine(data, name), RandomBytes(64));
                }
                File.WriteAllText(Path.Combine(partitionA, "leader-epoch-checkpoint"), "0\n1\nnot an epoch\n");
                return new Damaged("garbage in every offset checkpoint and a leader-epoch-checkpoint", none, []);
            case Fault.MissingCheckpoints:
                foreach (var name in CheckpointFiles)
                {
                    File.Delete(Path.Combine(data, name));
                }
                File.Delete(Path.Combine(partitionA, "leader-epoch-checkpoint"));
                return new Damaged("deleted every offset checkpoint and a leader-epoch-checkpoint", none, []);
            case Fault.GarbagePartitionMetadata:
                File.WriteAllBytes(Path.Combine(partitionA, "partition.metadata"), RandomBytes(40));
                return new Damaged("random bytes in partition.metadata", none, []);
            case Fault.CorruptMetadataLogTail:
                {
                    var metadataSegment = Directory.GetFiles(Path.Combine(data, "__cluster_metadata-0"), "*.log").Order(StringComparer.Ordinal).Last();
                    var (position, _, _) = Batches(metadataSegment).Last();
                    FlipByte(metadataSegment, position + RecordBatch.RecordsOffset + 3);
                    AppendGarbage(metadataSegment, 100);
                    return new Damaged("flipped a byte in the last metadata batch (fault-last's creation) and appended garbage", none, [$"{TopicLast}-0"]);
                }
            case Fault.PartitionMetadataWithAnotherTopicId:
                File.WriteAllText(Path.Combine(data, $"{TopicB}-1", "partition.metadata"), $"version: 0\ntopic_id: {Samsa.Protocol.Uuid.Random()}\n");
                return new Damaged("fault-b-1's partition.metadata names another topic id", none, [$"{TopicB}-1"]);
            case Fault.MissingMetaProperties:
                File.Delete(Path.Combine(data, "meta.properties"));
                return new Damaged("deleted meta.properties", none, []);
            default:
                throw new ArgumentOutOfRangeException(nameof(fault));
        }
    }

    private static readonly string[] CheckpointFiles =
        ["recovery-point-offset-checkpoint", "log-start-offset-checkpoint", "replication-offset-checkpoint", "cleaner-offset-checkpoint"];

    private static void AssertComplete(Dictionary<long, string?> records, long expected, Func<long, string> valueOf, (long First, long Last) lost, bool lostAtTheEnd)
    {
        for (long o = 0; o < expected; o++)
        {
            if (o >= lost.First && o <= lost.Last)
            {
                continue;
            }
            Assert.True(records.TryGetValue(o, out var value), $"offset {o} is missing ({records.Count} records read)");
            Assert.Equal(valueOf(o), value);
        }
        if (lostAtTheEnd)
        {
            Assert.DoesNotContain(records.Keys, o => o > lost.Last);
        }
    }

    /// <summary>Every record of a partition whose batch's CRC holds, by offset.</summary>
    private static async Task<Dictionary<long, string?>> ReadAllAsync(int port, string topic, int partition)
    {
        using var connection = await RawKafkaConnection.ConnectAsync(port);
        return (await RawRecords.ReadAllAsync(connection, topic, partition)).Where(r => r.CrcValid).ToDictionary(r => r.Offset, r => r.Value);
    }

    /// <summary>Waits until every partition answers ListOffsets (logs load in the background after a restart).</summary>
    private static async Task WaitServingAsync(int port, TimeSpan timeout, HashSet<string>? offline = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        var partitions = new[] { (TopicA, 0), (TopicB, 0), (TopicB, 1), (TopicLast, 0) }
            .Where(p => offline is null || !offline.Contains($"{p.Item1}-{p.Item2}"));
        foreach (var (topic, partition) in partitions)
        {
            while (await TopicAdmin.EndOffsetAsync(port, topic, partition) < 0)
            {
                Assert.True(DateTime.UtcNow < deadline, $"{topic}-{partition} did not come back within {timeout}");
                await Task.Delay(50);
            }
        }
    }

    private static async Task ProduceAsync(RawKafkaConnection connection, string topic, int partition, IEnumerable<string> values) =>
        Assert.Equal(ErrorCode.None, (await RawRecords.ProduceAsync(connection, topic, partition, values)).Error);

    /// <summary>(file position, base offset, record count) of each whole batch in a segment file.</summary>
    private static IEnumerable<(long Position, long BaseOffset, int Count)> Batches(string segment)
    {
        var bytes = File.ReadAllBytes(segment);
        var position = 0;
        while (bytes.Length - position >= RecordBatch.HeaderSize)
        {
            var header = RecordBatchHeader.Read(bytes.AsSpan(position));
            if (header.SizeInBytes <= 0 || position + header.SizeInBytes > bytes.Length)
            {
                yield break;
            }
            yield return (position, header.BaseOffset, header.RecordCount);
            position += header.SizeInBytes;
        }
    }

    private static HashSet<string> PartitionDirectories(string data) =>
        [.. Directory.GetDirectories(data).Select(d => Path.GetFileName(d)!).Where(n => n != "__cluster_metadata-0")];

    private static void FlipByte(string path, long position)
    {
        using var file = File.Open(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = position;
        var b = file.ReadByte();
        file.Position = position;
        file.WriteByte((byte)(b ^ 0x5A));
    }

    private static void AppendGarbage(string path, int count)
    {
        using var file = File.Open(path, FileMode.Append);
        file.Write(RandomBytes(count));
    }

    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        new Random(count).NextBytes(bytes);
        return bytes;
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        }
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)), overwrite: true);
        }
    }
}
