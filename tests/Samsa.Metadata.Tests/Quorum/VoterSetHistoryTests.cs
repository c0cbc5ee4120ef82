using Samsa.Metadata.Quorum;
using Samsa.Metadata.Tests.Quorum.Simulation;
using Samsa.Protocol;

namespace Samsa.Metadata.Tests.Quorum;

/// <summary>KIP-853 voter sets: the VotersRecord control batch, the history's rollback, and the voters a snapshot stores.</summary>
public class VoterSetHistoryTests
{
    [Fact]
    public void VotersBatch_IsAControlBatch_WhoseVotersRecordReadsBack()
    {
        var log = new MockLog();
        log.AppendAsLeader(RaftRpc.DataBatch([[1]], 0), 1);
        log.AppendAsLeader(VoterSetHistory.VotersBatch([QuorumVoter.OfId(3), QuorumVoter.OfId(1), QuorumVoter.OfId(2)], 0), 1);
        var batch = log.Batches[1].Bytes;
        Assert.True(Samsa.Protocol.Records.RecordBatchHeader.Read(batch).IsControl);
        var found = Assert.Single(VoterSetHistory.VotersIn(log.Read(0, 1 << 20).Span));
        Assert.Equal(1, found.Offset);
        Assert.Equal([1, 2, 3], found.Voters.Select(v => v.Id));
    }

    [Fact]
    public void History_AnswersTheSetAtAnOffset_AndRollsBackWithTruncation()
    {
        var history = new VoterSetHistory(new HashSet<int> { 1, 2, 3 });
        history.Add(10, new HashSet<int> { 1, 2, 3, 4 });
        history.Add(20, new HashSet<int> { 2, 3, 4 });
        Assert.True(history.At(10).SetEquals([1, 2, 3]));
        Assert.True(history.At(11).SetEquals([1, 2, 3, 4]));
        Assert.True(history.Latest.SetEquals([2, 3, 4]));
        Assert.Throws<InvalidOperationException>(() => history.Add(15, new HashSet<int> { 1 }));
        history.TruncateTo(20);
        Assert.True(history.Latest.SetEquals([1, 2, 3, 4]));
        history.TruncateTo(0);
        Assert.True(history.Latest.SetEquals([1, 2, 3]));
        Assert.Equal(-1, history.LatestOffset);
    }

    [Fact]
    public void VotersRecordAt_IsNullForTheStaticSet_AndKeepsDirectoryIdsAndEndpoints()
    {
        var history = new VoterSetHistory(new HashSet<int> { 1, 2, 3 });
        Assert.Null(history.VotersRecordAt(100));
        Assert.Equal([QuorumVoter.OfId(1), QuorumVoter.OfId(2), QuorumVoter.OfId(3)], history.LatestVoters);
        var directory = Uuid.Parse("JEXY6aqzQY-32P5TStzaFg");
        QuorumVoter[] voters = [new(1, directory, [new VoterEndpoint("CONTROLLER", "localhost", 9093)]), QuorumVoter.OfId(4)];
        history.Add(10, voters);
        Assert.Null(history.VotersRecordAt(10));
        Assert.Equal(voters, history.VotersRecordAt(11)!);
        Assert.True(history.At(11).SetEquals([1, 4]));
        history.Reset(voters);
        Assert.Equal(voters, history.VotersRecordAt(0)!);
        Assert.Equal(-1, history.LatestOffset);
    }

    [Fact]
    public void VotersBatch_RoundTripsThroughVotersIn()
    {
        QuorumVoter[] voters = [new(2, Uuid.Parse("MvDxzVmcRsaTz33bUuRU6A"), [new VoterEndpoint("CONTROLLER", "::1", 9094)]), QuorumVoter.OfId(1)];
        var batch = VoterSetHistory.VotersBatch(voters, 1000);
        var (offset, found) = Assert.Single(VoterSetHistory.VotersIn(batch));
        Assert.Equal(0, offset);
        Assert.Equal([voters[1], voters[0]], found);
    }
}
