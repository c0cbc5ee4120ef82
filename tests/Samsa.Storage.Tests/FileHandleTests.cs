namespace Samsa.Storage.Tests;

[CollectionDefinition(nameof(FileHandleCollection), DisableParallelization = true)]
public sealed class FileHandleCollection;

/// <summary>Runs alone: it counts the process-wide segment handles.</summary>
[Collection(nameof(FileHandleCollection))]
public class FileHandleTests
{
    [Fact]
    public void Startup_ManyPartitionsAndSegments_OpensOneHandlePerPartition_UntilOldSegmentsAreRead()
    {
        using var dir = new TempDir();
        var config = LogConfig.Default with { SegmentBytes = 2048 };
        var managerConfig = new LogManagerConfig { LogCleanerEnable = false };
        const int partitions = 200;
        using (var manager = new LogManager([dir.Path], managerConfig, _ => config))
        {
            manager.Startup();
            for (var p = 0; p < partitions; p++)
            {
                var log = manager.GetOrCreateLog("many", p, new Protocol.Uuid(3, 3));
                for (var i = 0; i < 8; i++)
                {
                    log.Append(Batches.Make(2, 300, seed: i), 0);
                }
                Assert.True(log.SegmentCount >= 3);
            }
        }
        var before = LogSegment.OpenHandles;
        var mappedBefore = IndexMappings.Mapped;
        using var again = new LogManager([dir.Path], managerConfig, _ => config);
        again.Startup();
        Assert.Equal(partitions, LogSegment.OpenHandles - before);
        // Indexes are mapped on first use (Kafka's LazyIndex): loading maps none.
        Assert.Equal(0, IndexMappings.Mapped - mappedBefore);
        var first = again.GetLog(new Checkpoints.TopicPartition("many", 0))!;
        Assert.Equal(2, Batches.ReadAll(first, 0)[0].Header.RecordCount);
        Assert.Equal(partitions + first.SegmentCount - 1, LogSegment.OpenHandles - before);
    }
}
