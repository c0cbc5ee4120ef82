using System.Text.RegularExpressions;
using Samsa.Metadata.Log;
using Samsa.Metadata.Quorum;
using Samsa.Protocol;
using static Samsa.Interop.Tests.Infrastructure.BinScripts;

namespace Samsa.Interop.Tests;

/// <summary>
/// <c>kafka-storage.sh format</c> with KIP-853's <c>--standalone</c> and <c>--initial-controllers</c>, run through
/// bin/ on fresh directories, as Kafka 4.0's StorageTool and Formatter: the files written (meta.properties with the
/// voter's directory id, the bootstrap snapshot, bootstrap.checkpoint), read back through Samsa's readers, and
/// Kafka's refusals with a non-zero exit.
/// </summary>
public sealed class StorageToolTests : IDisposable
{
    private const string ClusterId = "q1Sh-9_ISia_zwGINzRvyQ";
    private static readonly Uuid DirA = Uuid.Parse("JEXY6aqzQY-32P5TStzaFg");
    private static readonly Uuid DirB = Uuid.Parse("MvDxzVmcRsaTz33bUuRU6A");

    private readonly string _home = Directory.CreateTempSubdirectory("samsa-storage-tool-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    private string DataDir => Path.Combine(_home, "data");

    private string MetaDir => Path.Combine(_home, "meta");

    private string Config(string roles = "controller", string? voters = null)
    {
        var path = Path.Combine(_home, "server.properties");
        File.WriteAllText(path, $"""
            process.roles={roles}
            node.id=3
            listeners=CONTROLLER://:19093{(roles.Contains("broker", StringComparison.Ordinal) ? ",PLAINTEXT://:19092" : "")}
            advertised.listeners=CONTROLLER://ctl.example:29093{(roles.Contains("broker", StringComparison.Ordinal) ? ",PLAINTEXT://localhost:19092" : "")}
            controller.listener.names=CONTROLLER
            listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
            {(voters is null ? "controller.quorum.bootstrap.servers=localhost:19093" : "controller.quorum.voters=" + voters)}
            log.dirs={DataDir},{MetaDir}
            metadata.log.dir={MetaDir}
            """);
        return path;
    }

    private static Uuid DirectoryId(string dir) =>
        Uuid.Parse(Regex.Match(File.ReadAllText(Path.Combine(dir, "meta.properties")), "^directory.id=(.*)$", RegexOptions.Multiline).Groups[1].Value);

    [Fact]
    public async Task Standalone_WritesTheBootstrapSnapshot_WithThisNodeAtItsAdvertisedControllerListener()
    {
        var result = await Bin("kafka-storage.sh", "format", "-t", ClusterId, "-c", Config(), "--standalone");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(
            $"Formatting data directory {DataDir} with metadata.version 4.0-IV3.\n" +
            $"Formatting dynamic metadata voter directory {MetaDir} with metadata.version 4.0-IV3.\n",
            result.Stdout);

        var voter = Assert.Single(BootstrapVoters.Read(MetaDir)!);
        Assert.Equal(3, voter.Id);
        Assert.Equal([new VoterEndpoint("CONTROLLER", "ctl.example", 29093)], voter.Endpoints);
        Assert.Equal(voter.DirectoryId, DirectoryId(MetaDir));
        Assert.NotEqual(Uuid.Zero, voter.DirectoryId);
        Assert.NotEqual(voter.DirectoryId, DirectoryId(DataDir));
        Assert.Null(BootstrapVoters.Read(DataDir));
        Assert.False(Directory.Exists(Path.Combine(DataDir, "__cluster_metadata-0")));
        foreach (var dir in new[] { DataDir, MetaDir })
        {
            var features = BootstrapMetadataFile.Read(dir)!;
            Assert.Contains(features, r => r.Message is Samsa.Protocol.MetadataRecords.FeatureLevelRecord { Name: "metadata.version" });
        }
    }

    [Fact]
    public async Task InitialControllers_WritesEveryVoter_AndThisNodesDirectoryIdFromTheSet()
    {
        var result = await Bin("kafka-storage.sh", "format", "-t", ClusterId, "-c", Config(), "--initial-controllers", $"3@[::1]:9093:{DirA},1@c1.example:9094:{DirB}");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"Formatting dynamic metadata voter directory {MetaDir} with metadata.version 4.0-IV3.", result.Stdout);
        Assert.Equal(
            [new QuorumVoter(1, DirB, [new VoterEndpoint("CONTROLLER", "c1.example", 9094)]), new QuorumVoter(3, DirA, [new VoterEndpoint("CONTROLLER", "::1", 9093)])],
            BootstrapVoters.Read(MetaDir)!);
        Assert.Equal(DirA, DirectoryId(MetaDir));
    }

    [Fact]
    public async Task InitialControllers_WithoutThisNode_FormatsADynamicMetadataDirectory_WithAFreshDirectoryId()
    {
        var result = await Bin("kafka-storage.sh", "format", "-t", ClusterId, "-c", Config(), "-I", $"1@c1.example:9094:{DirB}");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"Formatting dynamic metadata directory {MetaDir} with metadata.version 4.0-IV3.", result.Stdout);
        Assert.Equal([1], BootstrapVoters.Read(MetaDir)!.Select(v => v.Id));
        Assert.NotEqual(DirB, DirectoryId(MetaDir));
    }

    [Fact]
    public async Task BrokerOnlyNode_IgnoresInitialControllers_AndRefusesStandalone()
    {
        var config = Config(roles: "broker");
        var standalone = await Bin("kafka-storage.sh", "format", "-t", ClusterId, "-c", config, "--standalone");
        Assert.Equal(1, standalone.ExitCode);
        Assert.Equal("You can only use --standalone on a controller.\n", standalone.Stderr);

        var result = await Bin("kafka-storage.sh", "format", "-t", ClusterId, "-c", config, "-I", $"3@h:9093:{DirA}");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"Formatting metadata directory {MetaDir} with metadata.version 4.0-IV3.", result.Stdout);
        Assert.Null(BootstrapVoters.Read(MetaDir));
        Assert.NotEqual(DirA, DirectoryId(MetaDir));
    }

    [Fact]
    public async Task Refusals_ExitNonZero_WithKafkasMessages_AndWriteNothing()
    {
        var dynamic = Config();
        var both = await Bin("kafka-storage.sh", "format", "-t", ClusterId, "-c", dynamic, "--standalone", "--initial-controllers", $"3@h:9093:{DirA}");
        Assert.Equal(1, both.ExitCode);
        Assert.Equal("argument --initial-controllers/-I: not allowed with argument --standalone/-s\n", both.Stderr);

        var neither = await Bin("kafka-storage.sh", "format", "-t", ClusterId, "-c", dynamic);
        Assert.Equal(1, neither.ExitCode);
        Assert.Equal("Because controller.quorum.voters is not set on this controller, you must specify one of the following: --standalone, --initial-controllers, or --no-initial-controllers.\n", neither.Stderr);

        var badVoter = await Bin("kafka-storage.sh", "format", "-t", ClusterId, "-c", dynamic, "-I", "3@h:9093");
        Assert.Equal(1, badVoter.ExitCode);
        Assert.Equal("No colon following port could be found.\n", badVoter.Stderr);

        var staticQuorum = Config(voters: "3@localhost:19093");
        const string WithVoters = "You cannot specify controller.quorum.voters and format the node with --initial-controllers or --standalone. " +
            "If you want to use dynamic quorum, please remove controller.quorum.voters and specify controller.quorum.bootstrap.servers instead.\n";
        var standalone = await Bin("kafka-storage.sh", "format", "-t", ClusterId, "-c", staticQuorum, "--standalone");
        Assert.Equal(1, standalone.ExitCode);
        Assert.Equal(WithVoters, standalone.Stderr);
        var initial = await Bin("kafka-storage.sh", "format", "-t", ClusterId, "-c", staticQuorum, "--initial-controllers", $"3@h:9093:{DirA}");
        Assert.Equal(1, initial.ExitCode);
        Assert.Equal(WithVoters, initial.Stderr);

        Assert.False(Directory.Exists(MetaDir));
        Assert.False(Directory.Exists(DataDir));

        // A static quorum formats as before: no bootstrap snapshot.
        var plain = await Bin("kafka-storage.sh", "format", "-t", ClusterId, "-c", staticQuorum);
        Assert.True(plain.ExitCode == 0, plain.ToString());
        Assert.Contains($"Formatting metadata directory {MetaDir} with metadata.version 4.0-IV3.", plain.Stdout);
        Assert.Null(BootstrapVoters.Read(MetaDir));
        var noInitial = await Bin("kafka-storage.sh", "format", "-t", ClusterId, "-c", dynamic, "--no-initial-controllers", "-g");
        Assert.True(noInitial.ExitCode == 0, noInitial.ToString());
        Assert.Equal("All of the log directories are already formatted.\n", noInitial.Stdout);
    }
}
