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

    [Fact]
    public void FileDeleteDelay_RenamesToDeletedFirst_RemovesAfterTheDelay()
    {
        using var dir = new TempDir();
        var clock = Batches.Clock();
        using var log = Fill(dir.Path, clock, Small with { RetentionMs = 1000 }, 30, 1000);
        var first = log.Segments[0].LogPath;
        Assert.True(log.DeleteOldSegments() > 0);
        Assert.False(File.Exists(first));
        Assert.True(File.Exists(first + ".deleted"));
        Assert.Equal(0, log.DeletePendingFiles());
        clock.Advance(TimeSpan.FromMilliseconds(59_999));
        Assert.Equal(0, log.DeletePendingFiles());
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(log.DeletePendingFiles() > 0);
        Assert.False(File.Exists(first + ".deleted"));
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
