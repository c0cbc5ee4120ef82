using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Broker.Config;
using Samsa.Protocol;

namespace Samsa.Broker.Tests;

public class MetaPropertiesTests
{
    [Fact]
    public void FileText_IsExactlyKafkasKraftFormat()
    {
        var meta = new MetaProperties("J8qXhHTMQ8yzNIbZYc9KAA", 1, Uuid.Parse("ErEuSmkGL9CZRKZPbPt6jw"));
        var text = meta.ToFileText(new DateTimeOffset(2024, 4, 4, 10, 39, 16, TimeSpan.Zero));
        Assert.Equal(
            "#\n#Thu Apr 04 10:39:16 UTC 2024\ncluster.id=J8qXhHTMQ8yzNIbZYc9KAA\ndirectory.id=ErEuSmkGL9CZRKZPbPt6jw\nnode.id=1\nversion=1\n",
            text);
    }

    [Fact]
    public void Read_AcceptsAFileKafkaWrote()
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "meta.properties"),
            "#\n#Thu Apr 04 10:39:16 UTC 2024\nnode.id=3\ndirectory.id=ErEuSmkGL9CZRKZPbPt6jw\nversion=1\ncluster.id=MkU3OEVBNTcwNTJENDM2Qk\n");
        var meta = MetaProperties.Read(dir.Path);
        Assert.Equal(new MetaProperties("MkU3OEVBNTcwNTJENDM2Qk", 3, Uuid.Parse("ErEuSmkGL9CZRKZPbPt6jw")), meta);
    }

    [Theory]
    [InlineData("version=0\ncluster.id=x\nbroker.id=1\n", "unsupported meta.properties version 0")]
    [InlineData("version=1\nnode.id=1\n", "cluster.id is missing")]
    [InlineData("version=1\ncluster.id=x\nnode.id=one\n", "node.id 'one'")]
    [InlineData("version=1\ncluster.id=x\nnode.id=1\ndirectory.id=short\n", "directory.id 'short'")]
    public void Read_RejectsBadFiles_NamingTheProblem(string content, string fragment)
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "meta.properties"), content);
        var error = Assert.Throws<ConfigException>(() => MetaProperties.Read(dir.Path));
        Assert.Contains(fragment, error.Message);
    }

    [Fact]
    public void FirstStart_FormatsEveryDirWithOneClusterIdAndDistinctDirectoryIds()
    {
        using var root = new TempDir();
        var dirs = new[] { Path.Combine(root.Path, "a"), Path.Combine(root.Path, "b") };

        var clusterId = MetaPropertiesEnsemble.LoadOrFormat(dirs, 2, NullLogger.Instance);

        Assert.True(Uuid.TryParse(clusterId, out _));
        var metas = dirs.Select(d => MetaProperties.Read(d)!).ToArray();
        Assert.All(metas, m => Assert.Equal((clusterId, 2), (m.ClusterId, m.NodeId)));
        Assert.NotEqual(metas[0].DirectoryId, metas[1].DirectoryId);
        Assert.False(File.Exists(Path.Combine(dirs[0], "meta.properties.tmp")));
    }

    [Fact]
    public void LaterStart_KeepsTheClusterId_AndFormatsOnlyNewDirs()
    {
        using var root = new TempDir();
        var first = Path.Combine(root.Path, "a");
        var clusterId = MetaPropertiesEnsemble.LoadOrFormat([first], 1, NullLogger.Instance);
        var before = File.ReadAllText(Path.Combine(first, "meta.properties"));
        var added = Path.Combine(root.Path, "b");

        Assert.Equal(clusterId, MetaPropertiesEnsemble.LoadOrFormat([first, added], 1, NullLogger.Instance));
        Assert.Equal(before, File.ReadAllText(Path.Combine(first, "meta.properties")));
        Assert.Equal(clusterId, MetaProperties.Read(added)!.ClusterId);
    }

    [Fact]
    public void LaterStart_WithAnotherNodeId_RefusesClearly()
    {
        using var dir = new TempDir();
        MetaPropertiesEnsemble.LoadOrFormat([dir.Path], 1, NullLogger.Instance);
        var error = Assert.Throws<ConfigException>(() => MetaPropertiesEnsemble.LoadOrFormat([dir.Path], 2, NullLogger.Instance));
        Assert.Contains("Stored node id 1", error.Message);
        Assert.Contains("configured node.id 2", error.Message);
    }

    [Fact]
    public void Dirs_FromDifferentClusters_AreRefused()
    {
        using var root = new TempDir();
        var a = Path.Combine(root.Path, "a");
        var b = Path.Combine(root.Path, "b");
        MetaPropertiesEnsemble.LoadOrFormat([a], 1, NullLogger.Instance);
        MetaPropertiesEnsemble.LoadOrFormat([b], 1, NullLogger.Instance);
        var error = Assert.Throws<ConfigException>(() => MetaPropertiesEnsemble.LoadOrFormat([a, b], 1, NullLogger.Instance));
        Assert.Contains("disagree on the cluster id", error.Message);
    }
}
