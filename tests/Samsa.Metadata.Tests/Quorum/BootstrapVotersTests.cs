using Samsa.Metadata.Log;
using Samsa.Metadata.Quorum;
using Samsa.Metadata.Tests.Quorum.Simulation;
using Samsa.Protocol;

namespace Samsa.Metadata.Tests.Quorum;

/// <summary>KIP-853 voters: the two configuration parsers, and the bootstrap snapshot written by format and read at start.</summary>
public sealed class BootstrapVotersTests : IDisposable
{
    private static readonly Uuid DirA = Uuid.Parse("JEXY6aqzQY-32P5TStzaFg");
    private static readonly Uuid DirB = Uuid.Parse("MvDxzVmcRsaTz33bUuRU6A");

    private readonly string _directory = Directory.CreateTempSubdirectory("samsa-bootstrap-voters-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void ParseStatic_ReadsControllerQuorumVoters_ById()
    {
        var voters = QuorumVoter.ParseStatic("2@h2:9094, 1@[::1]:9093", "controller");
        Assert.Equal(
            [new QuorumVoter(1, Uuid.Zero, [new VoterEndpoint("CONTROLLER", "::1", 9093)]), new QuorumVoter(2, Uuid.Zero, [new VoterEndpoint("CONTROLLER", "h2", 9094)])],
            voters);
        Assert.Empty(QuorumVoter.ParseStatic("", "CONTROLLER"));
        Assert.Throws<FormatException>(() => QuorumVoter.ParseStatic("1@h:1,1@h:2", "CONTROLLER"));
        Assert.Throws<FormatException>(() => QuorumVoter.ParseStatic("h:1", "CONTROLLER"));
        Assert.Throws<FormatException>(() => QuorumVoter.ParseStatic("1@h:99999", "CONTROLLER"));
    }

    [Fact]
    public void ParseInitialControllers_ReadsIdHostPortDirectory_WithKafkasErrors()
    {
        var voters = QuorumVoter.ParseInitialControllers($"1@[::1]:8083:{DirB},0@example.com:8082:{DirA}", "controller");
        Assert.Equal(
            [new QuorumVoter(0, DirA, [new VoterEndpoint("CONTROLLER", "example.com", 8082)]), new QuorumVoter(1, DirB, [new VoterEndpoint("CONTROLLER", "::1", 8083)])],
            voters);

        string Error(string text) => Assert.Throws<FormatException>(() => QuorumVoter.ParseInitialControllers(text, "CONTROLLER")).Message;
        Assert.Equal("No @ found in dynamic voter string.", Error("1:h:1:x"));
        Assert.Equal("Invalid @ at beginning of dynamic voter string.", Error("@h:1:x"));
        Assert.Equal("Failed to parse node id in dynamic voter string.", Error("a@h:1:x"));
        Assert.Equal("Invalid negative node id -1 in dynamic voter string.", Error("-1@h:1:x"));
        Assert.Equal("No hostname found after node id.", Error("1@"));
        Assert.Equal("Hostname began with left bracket, but no right bracket was found.", Error("1@[::1:1:x"));
        Assert.Equal("No colon following hostname could be found.", Error("1@h"));
        Assert.Equal("No colon following port could be found.", Error("1@h:1"));
        Assert.Equal("Failed to parse port in dynamic voter string.", Error("1@h:p:x"));
        Assert.Equal("Invalid port 70000 in dynamic voter string.", Error("1@h:70000:x"));
        Assert.Equal("Failed to parse directory ID in dynamic voter string.", Error("1@h:1:nope"));
        Assert.Equal("Node id 1 was specified more than once.", Error($"1@h:1:{DirA},1@h:2:{DirB}"));
        Assert.Equal("No voters given.", Error(","));
    }

    [Fact]
    public void BootstrapSnapshot_ReadsBack_AndIsTheVoterSetTheQuorumStartsFrom()
    {
        Assert.Null(BootstrapVoters.Read(_directory));
        QuorumVoter[] voters =
        [
            new(1, DirA, [new VoterEndpoint("CONTROLLER", "h1", 9093)]),
            new(2, DirB, [new VoterEndpoint("CONTROLLER", "h2", 9093)]),
        ];
        var path = BootstrapVoters.Write(_directory, voters, 1_700_000_000_000);
        Assert.Equal(Path.Combine(_directory, "__cluster_metadata-0", "00000000000000000000-0000000000.checkpoint"), path);
        Assert.Equal(voters, BootstrapVoters.Read(_directory)!);
        var contents = RaftSnapshot.Read(File.ReadAllBytes(path));
        Assert.Equal(1, contents.KRaftVersion);
        Assert.Empty(contents.Records);

        // The metadata log opens it as its latest snapshot, and the quorum takes its voters from there, not from config.
        using var log = PartitionRaftLog.Open(_directory);
        Assert.Equal(new OffsetAndEpoch(0, 0), log.LatestSnapshotId);
        Assert.Equal(0, log.StartOffset);
        var client = new RaftClient(1, new QuorumConfig { Voters = new HashSet<int>() }, log, new MemoryQuorumStateStore(), new DroppingChannel(), new SimulatedTime(), new Random(1));
        client.Initialize();
        Assert.True(client.Voters.SetEquals([1, 2]));
    }

    [Fact]
    public void LocalMetadataLog_LoadsBesideTheBootstrapSnapshot_SkippingItsControlRecords()
    {
        BootstrapVoters.Write(_directory, [QuorumVoter.OfId(1)], 1_700_000_000_000);
        var records = MetadataSnapshots.Read(BootstrapVoters.PathIn(_directory));
        Assert.Empty(records);
    }

    [Fact]
    public void BootstrapMetadataFile_HoldsTheFeatureLevelRecords_InSnapshotFormat()
    {
        var records = Samsa.Metadata.Controller.FeatureControlManager.BootstrapRecords(Samsa.Metadata.Image.MetadataImage.Empty("c"));
        var path = BootstrapMetadataFile.Write(_directory, records, 1_700_000_000_000);
        Assert.Equal(Path.Combine(_directory, "bootstrap.checkpoint"), path);
        var contents = RaftSnapshot.Read(File.ReadAllBytes(path));
        Assert.Null(contents.Voters);
        Assert.Equal(0, contents.KRaftVersion);
        Assert.Equal(records, BootstrapMetadataFile.Read(_directory)!);
    }

    private sealed class DroppingChannel : IRaftNetworkChannel
    {
        public void Send(RaftMessage message)
        {
        }
    }
}
