using Samsa.Protocol;
using Samsa.Storage.Checkpoints;

namespace Samsa.Storage.Tests;

/// <summary>
/// The log manager's load: failures stay with their partition, strays are kept, checkpointed offsets of logs that
/// are not open are never dropped from a checkpoint, deleted logs are renamed and removed after the delay.
/// </summary>
public class LogManagerTests
{
    private static readonly LogManagerConfig NoBackground = new() { LogCleanerEnable = false };

    /// <summary>Writes three partitions (t-0, t-1, t-2) with five batches each and closes them cleanly.</summary>
    private static Uuid WriteThreePartitions(string dir)
    {
        var topicId = Uuid.Random();
        using var manager = new LogManager([dir], NoBackground);
        manager.Startup();
        for (var p = 0; p < 3; p++)
        {
            var log = manager.GetOrCreateLog("t", p, topicId);
            for (var i = 0; i < 5; i++)
            {
                log.Append(Batches.Make(2, seed: i), 0);
            }
            log.UpdateHighWatermark(log.LogEndOffset);
        }
        manager.GetLog(new TopicPartition("t", 1))!.DeleteRecordsBefore(4);
        return topicId;
    }

    [Fact]
    public void Load_DamagedFilesInOnePartition_OthersLoad_AndTheDamagedOneIsRebuiltOrOffline()
    {
        using var dir = new TempDir();
        WriteThreePartitions(dir.Path);
        File.WriteAllText(Path.Combine(dir.Path, "t-0", LeaderEpochFileCache.FileName), "garbage\n");
        File.WriteAllBytes(Path.Combine(dir.Path, "t-2", PartitionMetadataFile.FileName), [1, 2, 3, 0xFF]);

        using var manager = new LogManager([dir.Path], NoBackground);
        var summary = manager.Load(null, CancellationToken.None);

        Assert.Equal(new LogLoadSummary(2, 0, 1, AllClean: true), summary);
        // The epoch checkpoint is rebuilt from the batch headers (epoch 0 from offset 0).
        Assert.Equal([new EpochEntry(0, 0)], manager.GetLog(new TopicPartition("t", 0))!.LeaderEpochCache.Entries);
        Assert.Equal(4, manager.GetLog(new TopicPartition("t", 1))!.LogStartOffset);
        Assert.Contains("partition.metadata", Assert.Single(manager.OfflineLogs).Value);
        Assert.True(Directory.Exists(Path.Combine(dir.Path, "t-2")));
    }

    [Fact]
    public void Load_WithTheMetadata_RenamesStraysAndKeepsThem_RewritesUnreadablePartitionMetadata()
    {
        using var dir = new TempDir();
        var topicId = WriteThreePartitions(dir.Path);
        var t1Segment = File.ReadAllBytes(Path.Combine(dir.Path, "t-1", "00000000000000000000.log"));
        File.WriteAllText(Path.Combine(dir.Path, "t-0", PartitionMetadataFile.FileName), "not: a\nfile\n");

        using var manager = new LogManager([dir.Path], NoBackground);
        // The metadata hosts t-0 and t-2 here, under the same id; t-1 is not hosted (moved away, or its topic lost).
        var summary = manager.Load(tp => tp.Partition == 1 ? null : topicId, CancellationToken.None);

        Assert.Equal(new LogLoadSummary(2, 1, 0, AllClean: true), summary);
        Assert.Equal(topicId, PartitionMetadataFile.Read(Path.Combine(dir.Path, "t-0")));
        var stray = Assert.Single(Directory.GetDirectories(dir.Path, "t-1.*-stray"));
        Assert.Equal(t1Segment, File.ReadAllBytes(Path.Combine(stray, "00000000000000000000.log")));
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "t-1")));
    }

    [Fact]
    public void Load_AnotherTopicIdOnDisk_IsStray_NotOpenedUnderTheNewTopic()
    {
        using var dir = new TempDir();
        WriteThreePartitions(dir.Path);
        var recreated = Uuid.Random();

        using var manager = new LogManager([dir.Path], NoBackground);
        var summary = manager.Load(_ => recreated, CancellationToken.None);

        Assert.Equal(3, summary.Stray);
        Assert.Equal(3, Directory.GetDirectories(dir.Path, "t-*-stray").Length);
        var fresh = manager.GetOrCreateLog("t", 0, recreated);
        Assert.Equal(0, fresh.LogEndOffset);
    }

    [Fact]
    public void Checkpoints_KeepTheOffsetsOfLogsThatAreOffline()
    {
        using var dir = new TempDir();
        WriteThreePartitions(dir.Path);
        File.WriteAllBytes(Path.Combine(dir.Path, "t-1", PartitionMetadataFile.FileName), [0xFF]);

        using (var manager = new LogManager([dir.Path], NoBackground))
        {
            manager.Load(null, CancellationToken.None);
            Assert.Contains(new TopicPartition("t", 1), manager.OfflineLogs.Keys);
            manager.CheckpointLogOffsets();
        }
        var logStart = new OffsetCheckpointFile(Path.Combine(dir.Path, OffsetCheckpointFile.LogStartOffset)).Read();
        Assert.Equal(4, logStart[new TopicPartition("t", 1)]);

        // Repaired, it opens with its deleted records still deleted.
        PartitionMetadataFile.Write(Path.Combine(dir.Path, "t-1"), Uuid.Random());
        using var again = new LogManager([dir.Path], NoBackground);
        again.Load(null, CancellationToken.None);
        Assert.Equal(4, again.GetLog(new TopicPartition("t", 1))!.LogStartOffset);
    }

    [Fact]
    public void Checkpoints_WrittenWhileLogsAreStillLoading_KeepTheirOffsets()
    {
        using var dir = new TempDir();
        WriteThreePartitions(dir.Path);

        using var manager = new LogManager([dir.Path], NoBackground);
        var found = manager.BeginLoad();
        Assert.Equal(3, found.Count);
        manager.CheckpointLogOffsets(); // e.g. the schedule firing before t-1 is loaded
        var logStart = new OffsetCheckpointFile(Path.Combine(dir.Path, OffsetCheckpointFile.LogStartOffset)).Read();
        Assert.Equal(4, logStart[new TopicPartition("t", 1)]);
        foreach (var entry in found)
        {
            Assert.Equal(LogLoadOutcome.Loaded, manager.LoadOne(entry, null));
        }
        Assert.True(manager.CompleteLoad());
    }

    [Fact]
    public void DeleteLog_RenamesAtOnce_AndRemovesAfterTheDelay()
    {
        using var dir = new TempDir();
        var clock = Batches.Clock();
        WriteThreePartitions(dir.Path);
        using var manager = new LogManager([dir.Path], NoBackground with { LogSegmentDeleteDelayMs = 60_000 }, time: clock);
        manager.Startup();

        manager.DeleteLog(new TopicPartition("t", 2));

        Assert.False(Directory.Exists(Path.Combine(dir.Path, "t-2")));
        var renamed = Assert.Single(Directory.GetDirectories(dir.Path, "t-2.*-delete"));
        clock.Advance(TimeSpan.FromSeconds(61));
        Assert.False(Directory.Exists(renamed));
        // A partition of the same name can be created at once.
        Assert.Equal(0, manager.GetOrCreateLog("t", 2, Uuid.Random()).LogEndOffset);
    }

    [Fact]
    public void CleanShutdown_WritesTheMarker_AndTheNextLoadRecoversNothing()
    {
        using var dir = new TempDir();
        WriteThreePartitions(dir.Path);
        Assert.True(File.Exists(Path.Combine(dir.Path, LogManager.CleanShutdownFile)));
        var recoveryPoints = new OffsetCheckpointFile(Path.Combine(dir.Path, OffsetCheckpointFile.RecoveryPoint)).Read();
        Assert.Equal(10, recoveryPoints[new TopicPartition("t", 0)]);

        using var manager = new LogManager([dir.Path], NoBackground);
        Assert.True(manager.Load(null, CancellationToken.None).AllClean);
        Assert.False(File.Exists(Path.Combine(dir.Path, LogManager.CleanShutdownFile)));
    }

    [Fact]
    public void Dispose_WithALogThisRunNeverOpened_WritesNoMarker_SoTheNextStartRecovers()
    {
        using var dir = new TempDir();
        WriteThreePartitions(dir.Path);
        File.WriteAllBytes(Path.Combine(dir.Path, "t-1", PartitionMetadataFile.FileName), [0xFF]);

        using (var manager = new LogManager([dir.Path], NoBackground))
        {
            manager.Load(null, CancellationToken.None);
            Assert.Single(manager.OfflineLogs);
        }
        Assert.False(File.Exists(Path.Combine(dir.Path, LogManager.CleanShutdownFile)));

        // Stopped before loading everything: the same.
        PartitionMetadataFile.Write(Path.Combine(dir.Path, "t-1"), Uuid.Random());
        using (var manager = new LogManager([dir.Path], NoBackground))
        {
            var found = manager.BeginLoad();
            manager.LoadOne(found[0], null);
            manager.CompleteLoad();
        }
        Assert.False(File.Exists(Path.Combine(dir.Path, LogManager.CleanShutdownFile)));
    }
}
