using Samsa.Protocol;
using Samsa.Storage.Checkpoints;

namespace Samsa.Storage.Tests;

public class CheckpointFileTests
{
    [Fact]
    public void OffsetCheckpoint_WritesKafkasTextFormat_AndReadsItBack()
    {
        using var dir = new TempDir();
        var file = new OffsetCheckpointFile(Path.Combine(dir.Path, OffsetCheckpointFile.RecoveryPoint));
        file.Write(new Dictionary<TopicPartition, long> { [new("b", 1)] = 42, [new("a", 0)] = 7 });
        Assert.Equal("0\n2\na 0 7\nb 1 42\n", File.ReadAllText(file.Path));
        Assert.Equal(42, file.Read()[new TopicPartition("b", 1)]);
        Assert.False(File.Exists(file.Path + ".tmp"));
    }

    [Fact]
    public void OffsetCheckpoint_Malformed_ThrowsInvalidData()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "cp");
        File.WriteAllText(path, "0\n3\na 0 1\n");
        Assert.Throws<InvalidDataException>(() => new OffsetCheckpointFile(path).Read());
        File.WriteAllText(path, "1\n0\n");
        Assert.Throws<InvalidDataException>(() => new OffsetCheckpointFile(path).Read());
    }

    [Fact]
    public void LeaderEpochCheckpoint_FormatAndTruncation()
    {
        using var dir = new TempDir();
        var cache = new LeaderEpochFileCache(dir.Path);
        cache.Assign(0, 0);
        cache.Assign(2, 10);
        cache.Assign(2, 15);   // same epoch again: ignored
        cache.Assign(5, 30);
        Assert.Equal("0\n3\n0 0\n2 10\n5 30\n", File.ReadAllText(Path.Combine(dir.Path, LeaderEpochFileCache.FileName)));
        Assert.Equal((2, 30L), cache.EndOffsetFor(2, 50));
        Assert.Equal((5, 50L), cache.EndOffsetFor(5, 50));
        Assert.Equal((2, 30L), cache.EndOffsetFor(4, 50));
        Assert.Equal((-1, -1L), cache.EndOffsetFor(6, 50));
        Assert.Equal((-1, -1L), cache.EndOffsetFor(-1, 50));
        Assert.Equal(2, cache.EpochForOffset(29));
        cache.TruncateFromEnd(30);
        cache.TruncateFromStart(12);
        Assert.Equal([new EpochEntry(2, 12)], new LeaderEpochFileCache(dir.Path).Entries);
        // An epoch older than every entry answers itself with the first entry's start offset (Kafka's floorEntry null).
        Assert.Equal((1, 12L), cache.EndOffsetFor(1, 50));
    }

    [Fact]
    public void PartitionMetadata_IsVersionAndBase64TopicId()
    {
        using var dir = new TempDir();
        var id = new Uuid(0x0102030405060708, 0x090A0B0C0D0E0F10);
        PartitionMetadataFile.Write(dir.Path, id);
        Assert.Equal("version: 0\ntopic_id: AQIDBAUGBwgJCgsMDQ4PEA\n", File.ReadAllText(Path.Combine(dir.Path, PartitionMetadataFile.FileName)));
        Assert.Equal(id, PartitionMetadataFile.Read(dir.Path));
    }
}
