using System.Text;
using Samsa.Metadata.Quorum;
using Samsa.Protocol;
using Samsa.Protocol.RaftRecords;

namespace Samsa.Metadata.Tests.Quorum;

/// <summary>The <c>quorum-state</c> file: byte-for-byte Kafka's JSON, in both versions, and durable replacement.</summary>
public sealed class FileQuorumStateStoreTests : IDisposable
{
    // What Kafka's FileQuorumStateStore writes (QuorumStateDataJsonConverter field order plus "data_version").
    private const string KafkaV0 = """{"clusterId":"","leaderId":1,"leaderEpoch":5,"votedId":-1,"appliedOffset":0,"currentVoters":[{"voterId":1},{"voterId":2},{"voterId":3}],"data_version":0}""";
    private const string KafkaV1 = """{"leaderId":-1,"leaderEpoch":6,"votedId":2,"votedDirectoryId":"AAAAAAAAAAAAAAAAAAAAAA","data_version":1}""";

    private readonly string _directory = Directory.CreateTempSubdirectory("samsa-quorum-state-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Format_V0_MatchesKafkaBytes()
    {
        var data = new QuorumStateData
        {
            LeaderId = 1,
            LeaderEpoch = 5,
            VotedId = -1,
            CurrentVoters = [new() { VoterId = 1 }, new() { VoterId = 2 }, new() { VoterId = 3 }],
        };
        Assert.Equal(KafkaV0, Encoding.UTF8.GetString(FileQuorumStateStore.Format(data, 0)));
    }

    [Fact]
    public void Format_V1_MatchesKafkaBytes()
    {
        var data = new QuorumStateData { LeaderId = -1, LeaderEpoch = 6, VotedId = 2, VotedDirectoryId = Uuid.Zero };
        Assert.Equal(KafkaV1, Encoding.UTF8.GetString(FileQuorumStateStore.Format(data, 1)));
    }

    [Fact]
    public void Read_KafkaFilesOfEitherVersion()
    {
        var path = Path.Combine(_directory, FileQuorumStateStore.FileName);
        var store = new FileQuorumStateStore(_directory);
        File.WriteAllText(path, KafkaV0);
        Assert.Equal(new ElectionState(5, 1, -1), store.Read());
        File.WriteAllText(path, KafkaV1);
        Assert.Equal(new ElectionState(6, -1, 2), store.Read());
    }

    [Fact]
    public void Read_WithoutAFile_IsNull() => Assert.Null(new FileQuorumStateStore(_directory).Read());

    [Fact]
    public void Write_StaticVoters_WritesVersion0_AndReplacesAtomically()
    {
        var store = new FileQuorumStateStore(_directory, [3, 1, 2]);
        store.Write(new ElectionState(4, -1, 3));
        store.Write(new ElectionState(5, 1, -1));
        Assert.Equal(KafkaV0, File.ReadAllText(store.FilePath));
        Assert.False(File.Exists(store.FilePath + ".tmp"));
        Assert.Equal(new ElectionState(5, 1, -1), new FileQuorumStateStore(_directory).Read());
    }

    [Fact]
    public void Write_WithoutStaticVoters_WritesVersion1()
    {
        var store = new FileQuorumStateStore(_directory);
        store.Write(new ElectionState(6, -1, 2));
        Assert.Equal(KafkaV1, File.ReadAllText(store.FilePath));
    }

    [Fact]
    public void Read_UnknownDataVersion_Throws()
    {
        File.WriteAllText(Path.Combine(_directory, FileQuorumStateStore.FileName), """{"leaderId":1,"leaderEpoch":5,"votedId":-1,"data_version":7}""");
        Assert.Throws<InvalidDataException>(() => new FileQuorumStateStore(_directory).Read());
    }
}
