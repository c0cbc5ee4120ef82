using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Time.Testing;
using Samsa.Protocol.Records;

namespace Samsa.Storage.Tests;

public class CompactionTests
{
    private static readonly LogConfig Compacted = LogConfig.Default with
    {
        Compact = true,
        Delete = false,
        SegmentBytes = 2048,
        IndexIntervalBytes = 256,
        FileDeleteDelayMs = 0,
        DeleteRetentionMs = 10_000,
    };

    private static (LogManager Manager, PartitionLog Log) Open(string dir, FakeTimeProvider clock, LogConfig config, LogManagerConfig? managerConfig = null)
    {
        var manager = new LogManager([dir], managerConfig ?? new LogManagerConfig { LogCleanerEnable = false }, _ => config, clock);
        manager.Startup();
        return (manager, manager.GetOrCreateLog("compacted", 0, new Protocol.Uuid(9, 9)));
    }

    private static Dictionary<string, string?> LastValues(IEnumerable<(string Key, string? Value)> writes)
    {
        var map = new Dictionary<string, string?>();
        foreach (var (k, v) in writes)
        {
            map[k] = v;
        }
        return map;
    }

    [Fact]
    public void Clean_KeepsOnlyTheLastValuePerKey_InOffsetOrder()
    {
        using var dir = new TempDir();
        var clock = Batches.Clock();
        var (manager, log) = Open(dir.Path, clock, Compacted);
        using (manager)
        {
            var writes = new List<(string, string?)>();
            for (var i = 0; i < 300; i++)
            {
                var key = $"key{i % 17}";
                var value = $"v{i}";
                writes.Add((key, value));
                log.Append(Batches.Keyed(Batches.T0 + i, (key, value)), 0);
            }
            var stats = manager.Cleaner.Clean(log);
            Assert.NotNull(stats);
            var dirtyEnd = log.ActiveSegment.BaseOffset;
            var records = Batches.Records(log);
            var cleanPart = records.Where(r => r.Offset < dirtyEnd).ToList();
            var expected = LastValues(writes.Take((int)dirtyEnd));
            // Every key whose last write is in the cleaned part appears exactly once there, with that value...
            foreach (var (key, value) in expected)
            {
                var lastOffset = writes.Take((int)dirtyEnd).Select((w, i) => (w, i)).Last(x => x.w.Item1 == key).i;
                Assert.Equal([(lastOffset, key, value)], cleanPart.Where(r => r.Key == key).Select(r => (r.Offset, r.Key, r.Value)).ToList());
            }
            // ...offsets are kept, not renumbered, and the active segment is untouched.
            Assert.Equal(300, log.LogEndOffset);
            Assert.Equal(writes.Skip((int)dirtyEnd).Select(w => w.Item2), records.Where(r => r.Offset >= dirtyEnd).Select(r => r.Value));
            LogInvariants.Check(log, contiguous: false);
            Assert.Equal($"0\n1\ncompacted 0 {dirtyEnd}\n", File.ReadAllText(Path.Combine(dir.Path, Checkpoints.OffsetCheckpointFile.CleanerOffset)));
        }
    }

    [Fact]
    public void Tombstones_GetADeleteHorizon_AndAreDroppedOnlyAfterDeleteRetentionMs()
    {
        using var dir = new TempDir();
        var clock = Batches.Clock();
        var (manager, log) = Open(dir.Path, clock, Compacted);
        using (manager)
        {
            for (var i = 0; i < 40; i++)
            {
                log.Append(Batches.Keyed(Batches.T0 + i, ($"k{i % 4}", $"value-{i}")), 0);
            }
            log.Append(Batches.Keyed(Batches.T0 + 40, ("k1", null)), 0);
            for (var i = 0; i < 40; i++)
            {
                log.Append(Batches.Keyed(Batches.T0 + 50 + i, ($"x{i}", new string('p', 40))), 0);
            }
            manager.Cleaner.Clean(log);
            var tombstone = Batches.ReadAll(log).Single(b => new RecordBatchView(b.Bytes).Header.BaseOffset == 40);
            Assert.True(tombstone.Header.HasDeleteHorizon);
            Assert.Equal(Batches.T0 + 10_000, tombstone.Header.BaseTimestamp);
            Assert.Contains(Batches.Records(log), r => r.Key == "k1" && r.Value is null && r.Offset == 40);
            Assert.DoesNotContain(Batches.Records(log), r => r.Key == "k1" && r.Value is not null);

            clock.Advance(TimeSpan.FromMilliseconds(9_999));
            ForceFullClean(manager, log);
            Assert.Contains(Batches.Records(log), r => r.Key == "k1");
            clock.Advance(TimeSpan.FromMilliseconds(1));
            ForceFullClean(manager, log);
            Assert.DoesNotContain(Batches.Records(log), r => r.Key == "k1");
        }
    }

    private static void ForceFullClean(LogManager manager, PartitionLog log)
    {
        // Forget the checkpoint so the whole log is dirty again: the strongest form of "clean again".
        manager.Cleaner.Forget(log.TopicPartition);
        manager.Cleaner.Clean(log);
    }

    [Fact]
    public void DirtyRatio_BelowMinCleanable_IsNotCleanedByTheBackgroundPass_UnlessMaxLagPassed()
    {
        using var dir = new TempDir();
        var clock = Batches.Clock();
        var (manager, log) = Open(dir.Path, clock, Compacted with { MinCleanableDirtyRatio = 0.99, MaxCompactionLagMs = 60_000 });
        using (manager)
        {
            for (var i = 0; i < 100; i++)
            {
                log.Append(Batches.Keyed(Batches.T0 + i, ($"k{i % 3}", $"v{i}")), 0);
            }
            manager.Cleaner.Clean(log);
            for (var i = 0; i < 20; i++)
            {
                log.Append(Batches.Keyed(Batches.T0 + 100 + i, ($"k{i % 3}", $"w{i}")), 0);
            }
            Assert.True(manager.Cleaner.DirtyRatio(log, out var must) < 0.99);
            Assert.False(must);
            Assert.False(manager.Cleaner.CleanDirtiest());
            clock.Advance(TimeSpan.FromMilliseconds(60_200));
            Assert.True(manager.Cleaner.DirtyRatio(log, out must) > 0);
            Assert.True(must);
            Assert.True(manager.Cleaner.CleanDirtiest());
        }
    }

    [Fact]
    public void MinCompactionLag_KeepsRecentSegmentsDirty()
    {
        using var dir = new TempDir();
        var clock = Batches.Clock();
        var (manager, log) = Open(dir.Path, clock, Compacted with { MinCompactionLagMs = 1_000_000 });
        using (manager)
        {
            for (var i = 0; i < 100; i++)
            {
                log.Append(Batches.Keyed(Batches.T0 + i, ($"k{i % 3}", $"v{i}")), 0);
            }
            Assert.Null(manager.Cleaner.Clean(log));
            Assert.Equal(100, Batches.Records(log).Count);
        }
    }

    [Fact]
    public void Throttle_CleanerIo_IsHeldToTheConfiguredRate()
    {
        using var dir = new TempDir();
        var clock = Batches.Clock();
        var (manager, log) = Open(dir.Path, clock, Compacted, new LogManagerConfig { LogCleanerEnable = false, LogCleanerIoMaxBytesPerSecond = 10_000 });
        using (manager)
        {
            manager.Cleaner.Throttler.Sleep = clock.Advance;
            for (var i = 0; i < 100; i++)
            {
                log.Append(Batches.Keyed(Batches.T0 + i, ($"k{i % 3}", new string('v', 100))), 0);
            }
            var start = clock.GetUtcNow();
            var stats = manager.Cleaner.Clean(log)!.Value;
            // Map building reads the dirty bytes once, cleaning reads and writes them again: all through the throttle.
            var throttledBytes = stats.BytesRead * 2 + stats.BytesWritten;
            var expectedMs = throttledBytes * 1000 / 10_000;
            Assert.InRange(manager.Cleaner.ThrottledMs, expectedMs - 1000, expectedMs + 1000);
            Assert.Equal(manager.Cleaner.ThrottledMs, (long)(clock.GetUtcNow() - start).TotalMilliseconds);
        }
    }

    [Fact]
    public void Throttler_OverTheRate_SleepsForTheExcess()
    {
        var clock = Batches.Clock();
        var throttler = new Throttler(1000, clock, checkIntervalMs: 300) { Sleep = clock.Advance };
        throttler.MaybeThrottle(100);   // under a check period's worth: no sleep
        Assert.Equal(0, throttler.SleptMs);
        throttler.MaybeThrottle(900);   // 1000 bytes at 1000 B/s in 0 ms: sleep 1 s
        Assert.Equal(1000, throttler.SleptMs);
        clock.Advance(TimeSpan.FromSeconds(5));
        throttler.MaybeThrottle(1000);  // slower than the rate: no sleep
        Assert.Equal(1000, throttler.SleptMs);
    }

    /// <summary>Property: compaction keeps exactly the last value per key (over the cleaned range) and cleaning again changes nothing.</summary>
    [Property(MaxTest = 20)]
    public Property Clean_AnyWrites_LastValuePerKey_AndIdempotent() =>
        Prop.ForAll(Gen.Choose(0, 9).Zip(Gen.Choose(0, 5)).ArrayOf().Where(a => a.Length > 20).ToArbitrary(), writes =>
        {
            using var dir = new TempDir();
            var clock = Batches.Clock();
            var (manager, log) = Open(dir.Path, clock, Compacted with { SegmentBytes = 1024 });
            using (manager)
            {
                var list = writes.Select((w, i) => ($"key{w.Item1}", w.Item2 == 0 ? null : $"value{i}")).ToList();
                for (var i = 0; i < list.Count; i++)
                {
                    log.Append(Batches.Keyed(Batches.T0 + i, list[i]), 0);
                }
                log.Roll();
                manager.Cleaner.Clean(log);
                var once = Batches.Records(log);
                var expected = LastValues(list).OrderBy(e => e.Key).ToList();
                Assert.Equal(expected, once.GroupBy(r => r.Key).Select(g => new KeyValuePair<string, string?>(g.Key, g.Single().Value)).OrderBy(e => e.Key).ToList());
                var bytesOnce = Batches.ReadAll(log).Select(b => Batches.Hex(b.Bytes)).ToList();
                ForceFullClean(manager, log);
                Assert.Equal(bytesOnce, Batches.ReadAll(log).Select(b => Batches.Hex(b.Bytes)).ToList());
                LogInvariants.Check(log, contiguous: false);
            }
        });
}
