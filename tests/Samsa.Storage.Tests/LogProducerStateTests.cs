using Samsa.Protocol.Records;
using Samsa.Storage.ProducerState;

namespace Samsa.Storage.Tests;

/// <summary>
/// Producer state in the partition log (Kafka's <c>UnifiedLog</c> producer checks): retries answered with their original
/// offsets and nothing written, gaps and stale epochs refused with the log unchanged, snapshots at roll and close, the
/// state rebuilt after a clean and an unclean stop, truncation, expiry, and compaction keeping each producer's last batch.
/// </summary>
public class LogProducerStateTests
{
    private const long Pid = 4242;

    private static byte[] Idempotent(short epoch, int baseSequence, int count, string keyPrefix = "k", long producerId = Pid, long timestamp = Batches.T0)
    {
        using var builder = new RecordBatchBuilder { ProducerId = producerId, ProducerEpoch = epoch, BaseSequence = baseSequence };
        for (var i = 0; i < count; i++)
        {
            builder.Append(timestamp + i, System.Text.Encoding.UTF8.GetBytes($"{keyPrefix}{i}"), System.Text.Encoding.UTF8.GetBytes($"v{baseSequence + i}"));
        }
        return builder.Build();
    }

    private static string[] SnapshotFiles(string dir) =>
        [.. Directory.EnumerateFiles(Path.Combine(dir, "t-0"), "*.snapshot").Select(Path.GetFileName).Order()!];

    [Fact]
    public void ARetriedBatch_GetsItsOriginalOffsets_AndWritesNothing()
    {
        using var dir = new TempDir();
        using var log = Batches.Open(dir.Path);
        log.Append(Batches.Make(3), 0);
        var first = log.Append(Idempotent(0, 0, 5), 0);
        var second = log.Append(Idempotent(0, 5, 5), 0);
        var size = log.Size;

        var retry = log.Append(Idempotent(0, 0, 5), 0);

        Assert.True(retry.IsDuplicate);
        Assert.Equal((first.FirstOffset, first.LastOffset), (retry.FirstOffset, retry.LastOffset));
        Assert.Equal((3L, 7L), (retry.FirstOffset, retry.LastOffset));
        Assert.Equal(second.LastOffset + 1, log.LogEndOffset);
        Assert.Equal(size, log.Size);
    }

    [Fact]
    public void AGap_AndAStaleEpoch_AreRefused_WithTheLogUnchanged()
    {
        using var dir = new TempDir();
        using var log = Batches.Open(dir.Path);
        log.Append(Idempotent(1, 0, 5), 0);
        var end = log.LogEndOffset;

        var gap = Assert.Throws<OutOfOrderSequenceException>(() => log.Append(Idempotent(1, 7, 1), 0));
        Assert.Equal(StorageErrorCode.OutOfOrderSequenceNumber, gap.ErrorCode);
        var stale = Assert.Throws<InvalidProducerEpochException>(() => log.Append(Idempotent(0, 5, 1), 0));
        Assert.Equal(StorageErrorCode.InvalidProducerEpoch, stale.ErrorCode);
        Assert.Equal(end, log.LogEndOffset);

        // The next batch in sequence is still accepted, and a new epoch starting at 0 too.
        Assert.False(log.Append(Idempotent(1, 5, 1), 0).IsDuplicate);
        Assert.False(log.Append(Idempotent(2, 0, 1), 0).IsDuplicate);
        Assert.Equal(end + 2, log.LogEndOffset);
    }

    [Fact]
    public void Roll_AndClose_WriteSnapshots_AndACleanRestartKnowsTheProducer()
    {
        using var dir = new TempDir();
        using (var log = Batches.Open(dir.Path))
        {
            log.Append(Idempotent(0, 0, 4), 0);
            log.Roll();
            Assert.Equal(["00000000000000000004.snapshot"], SnapshotFiles(dir.Path));
            log.Append(Idempotent(0, 4, 3), 0);
            log.Close();
        }
        Assert.Equal(["00000000000000000004.snapshot", "00000000000000000007.snapshot"], SnapshotFiles(dir.Path));
        var entry = Assert.Single(ProducerSnapshotFile.Read(File.ReadAllBytes(Path.Combine(dir.Path, "t-0", "00000000000000000007.snapshot"))));
        Assert.Equal(new ProducerSnapshotEntry(Pid, 0, 6, 6, 2, Batches.T0 + 2, -1, -1), entry);

        using var reopened = Batches.Open(dir.Path, options: new LogOpenOptions { HadCleanShutdown = true, RecoveryPoint = 7 });
        var retry = reopened.Append(Idempotent(0, 4, 3), 0);
        Assert.True(retry.IsDuplicate);
        Assert.Equal((4L, 6L), (retry.FirstOffset, retry.LastOffset));
        Assert.Throws<OutOfOrderSequenceException>(() => reopened.Append(Idempotent(0, 9, 1), 0));
    }

    [Fact]
    public void AnUncleanStop_RebuildsTheStateFromTheLastSnapshotAndTheBatchesAfterIt()
    {
        using var dir = new TempDir();
        var crashed = Path.Combine(dir.Path, "crashed");
        using (var log = Batches.Open(dir.Path))
        {
            log.Append(Idempotent(0, 0, 2), 0);
            log.Roll();
            log.Append(Idempotent(0, 2, 2), 0);
            log.Append(Idempotent(0, 4, 2, producerId: 99), 0);
            log.Flush();
            // The directory as a SIGKILL would leave it: no close, so no snapshot at the log end.
            CopyDirectory(Path.Combine(dir.Path, "t-0"), Path.Combine(crashed, "t-0"));
        }
        Assert.Equal(["00000000000000000002.snapshot"], SnapshotFiles(crashed));

        using var reopened = Batches.Open(crashed, options: new LogOpenOptions { HadCleanShutdown = false, RecoveryPoint = 0 });
        Assert.Equal(6, reopened.LogEndOffset);
        Assert.True(reopened.Append(Idempotent(0, 2, 2), 0).IsDuplicate);
        Assert.True(reopened.Append(Idempotent(0, 4, 2, producerId: 99), 0).IsDuplicate);
        Assert.Equal([99L, Pid], reopened.ActiveProducers().Select(p => p.ProducerId));
    }

    [Fact]
    public void AnUnreadableSnapshot_IsDeleted_AndTheStateComesFromTheLog()
    {
        using var dir = new TempDir();
        using (var log = Batches.Open(dir.Path))
        {
            log.Append(Idempotent(0, 0, 2), 0);
            log.Close();
        }
        var snapshot = Path.Combine(dir.Path, "t-0", "00000000000000000002.snapshot");
        File.WriteAllBytes(snapshot, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

        using var reopened = Batches.Open(dir.Path, options: new LogOpenOptions { HadCleanShutdown = false });
        Assert.False(File.Exists(snapshot));
        Assert.True(reopened.Append(Idempotent(0, 0, 2), 0).IsDuplicate);
    }

    [Fact]
    public void Truncation_ForgetsTheBatchesItRemoves()
    {
        using var dir = new TempDir();
        using var log = Batches.Open(dir.Path);
        log.Append(Idempotent(0, 0, 2), 0);
        log.Roll();
        log.Append(Idempotent(0, 2, 2), 0);
        log.Roll();
        Assert.Equal(["00000000000000000002.snapshot", "00000000000000000004.snapshot"], SnapshotFiles(dir.Path));

        log.TruncateTo(2);

        Assert.Equal(["00000000000000000002.snapshot"], SnapshotFiles(dir.Path));
        // Sequences 2-3 are gone with their batch: they append again as new, at offset 2.
        var again = log.Append(Idempotent(0, 2, 2), 0);
        Assert.False(again.IsDuplicate);
        Assert.Equal(2, again.FirstOffset);
    }

    [Fact]
    public void IdleProducers_Expire_AndTheirNextBatchIsAcceptedAtAnySequence()
    {
        using var dir = new TempDir();
        var clock = Batches.Clock();
        using var log = Batches.Open(dir.Path, time: clock);
        log.Append(Idempotent(0, 0, 2, timestamp: Batches.T0), 0);
        Assert.Equal(0, log.RemoveExpiredProducers(60_000));
        clock.Advance(TimeSpan.FromMinutes(2));

        Assert.Equal(1, log.RemoveExpiredProducers(60_000));

        Assert.Empty(log.ActiveProducers());
        Assert.False(log.Append(Idempotent(0, 17, 1), 0).IsDuplicate);
    }

    [Fact]
    public void Compaction_KeepsEachProducersLastBatch_AsAnEmptyBatch()
    {
        using var dir = new TempDir();
        var clock = Batches.Clock();
        var config = LogConfig.Default with { Compact = true, Delete = false, FileDeleteDelayMs = 0 };
        using var manager = new LogManager([dir.Path], new LogManagerConfig { LogCleanerEnable = false }, _ => config, clock);
        manager.Startup();
        var log = manager.GetOrCreateLog("t", 0, new Protocol.Uuid(1, 2));
        // The producer's only batch writes key "k0"; a later plain write of "k0" supersedes it.
        log.Append(Idempotent(0, 0, 1), 0);
        log.Append(Batches.Keyed(Batches.T0, ("k0", "newer")), 0);
        log.Roll();

        Assert.NotNull(manager.Cleaner.Clean(log));

        var batches = Batches.ReadAll(log);
        var kept = Assert.Single(batches, b => b.Header.ProducerId == Pid);
        Assert.Equal((0, 0L, 0L), (kept.Header.RecordCount, kept.Header.BaseOffset, kept.Header.LastOffset));
        Assert.Equal(0, kept.Header.BaseSequence);
        Assert.Equal([(1L, "k0", (string?)"newer")], Batches.Records(log));
        // The retry after the cleaning is still a duplicate.
        Assert.True(log.Append(Idempotent(0, 0, 1), 0).IsDuplicate);
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
    }
}
