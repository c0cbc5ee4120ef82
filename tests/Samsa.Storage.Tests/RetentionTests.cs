using Samsa.Storage.Checkpoints;

namespace Samsa.Storage.Tests;

/// <summary>Retention with an injected clock: nothing here sleeps.</summary>
public class RetentionTests
{
    private static readonly LogConfig Small = LogConfig.Default with { SegmentBytes = 4 * 1024, IndexIntervalBytes = 512, FileDeleteDelayMs = 60_000 };

    private static PartitionLog Fill(string dir, Microsoft.Extensions.Time.Testing.FakeTimeProvider clock, LogConfig config, int batches, long spacingMs)
    {
        var log = Batches.Open(dir, config, clock);
        for (var i = 0; i < batches; i++)
        {
            log.Append(Batches.Make(2, 300, timestamp: clock.GetUtcNow().ToUnixTimeMilliseconds(), seed: i), 0);
            clock.Advance(TimeSpan.FromMilliseconds(spacingMs));
        }
        return log;
    }

    [Fact]
    public void RetentionMs_DeletesSegmentsWhoseLargestTimestampIsTooOld_NeverTheActiveOne()
    {
        using var dir = new TempDir();
        var clock = Batches.Clock();
        using var log = Fill(dir.Path, clock, Small with { RetentionMs = 10_000 }, 40, 1000);
        var segments = log.Segments;
        Assert.True(segments.Length > 4);
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var expectedGone = segments[..^1].TakeWhile(s => now - s.LargestTimestamp > 10_000).Count();
        Assert.True(expectedGone > 0);
        Assert.Equal(expectedGone, log.DeleteOldSegments());
        Assert.Equal(segments[expectedGone].BaseOffset, log.LogStartOffset);
        LogInvariants.Check(log);

        // Everything old: all but the active segment go.
        clock.Advance(TimeSpan.FromDays(1));
        log.DeleteOldSegments();
        Assert.Equal(1, log.SegmentCount);
        Assert.True(log.ActiveSegment.Size > 0);
    }

    [Fact]
    public void RetentionBytes_DeletesOldestWhileTheLogStaysAboveTheLimit()
    {
        using var dir = new TempDir();
        var clock = Batches.Clock();
        using var log = Fill(dir.Path, clock, Small with { RetentionBytes = 10_000, RetentionMs = -1 }, 60, 10);
        var sizes = log.Segments.Select(s => s.Size).ToArray();
        var excess = sizes.Sum() - 10_000;
        var expected = 0;
        while (expected < sizes.Length - 1 && excess - sizes[expected] >= 0)
        {
            excess -= sizes[expected++];
        }
        Assert.Equal(expected, log.DeleteOldSegments());
        Assert.True(log.Size >= 10_000 || log.SegmentCount == 1);
        LogInvariants.Check(log);
    }

    /// <summary>
    /// The .deleted files go after file.delete.delay.ms on the log's own timer, as Kafka's scheduled delete, not at
    /// the next retention check (every 5 minutes by default): the cleaner replaces segments far more often.
    /// </summary>
    [Fact]
    public void FileDeleteDelay_RenamesToDeletedFirst_RemovesAfterTheDelay_WithoutARetentionPass()
    {
        using var dir = new TempDir();
        var clock = Batches.Clock();
        using var log = Fill(dir.Path, clock, Small with { RetentionMs = 1000 }, 30, 1000);
        var first = log.Segments[0].LogPath;
        Assert.True(log.DeleteOldSegments() > 0);
        Assert.False(File.Exists(first));
        Assert.True(File.Exists(first + ".deleted"));
        Assert.Equal(0, log.DeletePendingFiles());
        clock.Advance(TimeSpan.FromMilliseconds(30_000));
        // A later deletion (at +32 s) does not push the earlier one (due at +60 s) back.
        for (var i = 0; i < 20; i++)
        {
            log.Append(Batches.Make(2, 300, timestamp: clock.GetUtcNow().ToUnixTimeMilliseconds(), seed: 100 + i), 0);
        }
        clock.Advance(TimeSpan.FromMilliseconds(2_000));
        var second = log.Segments[0].LogPath;
        Assert.True(log.DeleteOldSegments() > 0);
        Assert.True(File.Exists(second + ".deleted"));
        clock.Advance(TimeSpan.FromMilliseconds(27_999));
        Assert.True(File.Exists(first + ".deleted"));
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(File.Exists(first + ".deleted"));
        Assert.True(File.Exists(second + ".deleted"));
        clock.Advance(TimeSpan.FromMilliseconds(32_000));
        Assert.False(File.Exists(second + ".deleted"));
    }

    [Fact]
    public void CompactOnlyPolicy_IsNotDeletedByTime()
    {
        using var dir = new TempDir();
        var clock = Batches.Clock();
        using var log = Fill(dir.Path, clock, Small with { RetentionMs = 1000, Compact = true, Delete = false }, 30, 1000);
        Assert.Equal(0, log.DeleteOldSegments());
    }

    [Fact]
    public void LogManager_BackgroundRetention_RunsOnTheFakeClock_AndCheckpointsSurviveRestart()
    {
        using var dir = new TempDir();
        var clock = Batches.Clock();
        var managerConfig = new LogManagerConfig { LogRetentionCheckIntervalMs = 5000, LogCleanerEnable = false };
        var topicConfig = Small with { RetentionMs = 10_000, FileDeleteDelayMs = 0 };
        long start;
        using (var manager = new LogManager([dir.Path], managerConfig, _ => topicConfig, clock))
        {
            manager.Startup();
            manager.StartBackground();
            var log = manager.GetOrCreateLog("events", 3, new Protocol.Uuid(5, 6));
            for (var i = 0; i < 30; i++)
            {
                log.Append(Batches.Make(2, 300, timestamp: clock.GetUtcNow().ToUnixTimeMilliseconds(), seed: i), 0);
                clock.Advance(TimeSpan.FromMilliseconds(1000));
            }
            log.UpdateHighWatermark(log.LogEndOffset);
            var segmentsBefore = log.SegmentCount;
            clock.Advance(TimeSpan.FromMilliseconds(5000));   // fires the retention timer
            Assert.True(log.SegmentCount < segmentsBefore);
            start = log.LogStartOffset;
            Assert.True(start > 0);
        }
        Assert.True(File.Exists(Path.Combine(dir.Path, LogManager.CleanShutdownFile)));
        var text = File.ReadAllText(Path.Combine(dir.Path, OffsetCheckpointFile.LogStartOffset));
        Assert.Equal($"0\n1\nevents 3 {start}\n", text);
        Assert.StartsWith("0\n1\nevents 3 60\n", File.ReadAllText(Path.Combine(dir.Path, OffsetCheckpointFile.RecoveryPoint)));
        Assert.Equal("0\n1\nevents 3 60\n", File.ReadAllText(Path.Combine(dir.Path, OffsetCheckpointFile.ReplicationOffset)));

        using var again = new LogManager([dir.Path], managerConfig, _ => topicConfig, clock);
        Assert.True(again.Startup());
        Assert.False(File.Exists(Path.Combine(dir.Path, LogManager.CleanShutdownFile)));
        var reopened = again.GetLog(new TopicPartition("events", 3))!;
        Assert.Equal((start, 60L, 60L), (reopened.LogStartOffset, reopened.LogEndOffset, reopened.HighWatermark));
        Assert.Equal(new Protocol.Uuid(5, 6), reopened.TopicId);
    }
}

public class FlushTests
{
    [Fact]
    public void FlushMessages_MovesTheRecoveryPointEveryNMessages()
    {
        using var dir = new TempDir();
        using var log = Batches.Open(dir.Path, LogConfig.Default with { FlushMessages = 5 });
        log.Append(Batches.Make(3), 0);
        Assert.Equal(0, log.RecoveryPoint);
        log.Append(Batches.Make(2), 0);
        Assert.Equal(5, log.RecoveryPoint);
    }

    [Fact]
    public void FlushMs_IsAppliedByTheLogManagerScheduler_OnTheFakeClock()
    {
        using var dir = new TempDir();
        var clock = Batches.Clock();
        using var manager = new LogManager([dir.Path], new LogManagerConfig { LogFlushSchedulerIntervalMs = 1000, LogFlushIntervalMs = 3000, LogCleanerEnable = false }, null, clock);
        manager.Startup();
        manager.StartBackground();
        var log = manager.GetOrCreateLog("f", 0, new Protocol.Uuid(1, 1));
        Assert.Equal(3000, log.Config.FlushMs);
        log.Append(Batches.Make(4), 0);
        clock.Advance(TimeSpan.FromMilliseconds(2000));
        Assert.Equal(0, log.RecoveryPoint);
        clock.Advance(TimeSpan.FromMilliseconds(1000));
        Assert.Equal(4, log.RecoveryPoint);
    }

    [Fact]
    public void DefaultConfig_LeavesFlushingToThePageCache()
    {
        using var dir = new TempDir();
        using var log = Batches.Open(dir.Path);
        for (var i = 0; i < 20; i++)
        {
            log.Append(Batches.Make(10), 0);
        }
        Assert.Equal(0, log.RecoveryPoint);
        log.Flush();
        Assert.Equal(200, log.RecoveryPoint);
    }
}
