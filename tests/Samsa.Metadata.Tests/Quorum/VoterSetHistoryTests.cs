using Samsa.Metadata.Quorum;
using Samsa.Metadata.Tests.Quorum.Simulation;

namespace Samsa.Metadata.Tests.Quorum;

/// <summary>KIP-853 voter sets: the VotersRecord control batch, the history's rollback, and the snapshot header.</summary>
public class VoterSetHistoryTests
{
    [Fact]
    public void VotersBatch_IsAControlBatch_WhoseVotersRecordReadsBack()
    {
        var log = new MockLog();
        log.AppendAsLeader(RaftRpc.DataBatch([[1]], 0), 1);
        log.AppendAsLeader(VoterSetHistory.VotersBatch([3, 1, 2], 0), 1);
        var batch = log.Batches[1].Bytes;
        Assert.True(Samsa.Protocol.Records.RecordBatchHeader.Read(batch).IsControl);
        var found = Assert.Single(VoterSetHistory.VotersIn(log.Read(0, 1 << 20).Span));
        Assert.Equal(1, found.Offset);
        Assert.True(found.Voters.SetEquals([1, 2, 3]));
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
    public void SnapshotHeader_CarriesTheVoters_AndLeavesTheStateAlone()
    {
        var stored = VoterSetHistory.WrapSnapshot(new HashSet<int> { 5, 1 }, [9, 8, 7]);
        Assert.Equal("534d5131" + "00000002" + "00000001" + "00000005" + "090807", Convert.ToHexStringLower(stored));
        var (voters, state) = VoterSetHistory.UnwrapSnapshot(stored);
        Assert.True(voters!.SetEquals([1, 5]));
        Assert.Equal(new byte[] { 9, 8, 7 }, state.ToArray());
        Assert.Null(VoterSetHistory.UnwrapSnapshot(new byte[] { 1, 2, 3 }).Voters);
    }
}
