using Samsa.Metadata.Quorum;
using Samsa.Metadata.Tests.Quorum.Simulation;

namespace Samsa.Metadata.Tests.Quorum;

/// <summary>The quorum's log on the storage engine, and a one-voter quorum running on real files.</summary>
public sealed class PartitionRaftLogTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("samsa-raft-log-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static byte[] Batch(long value) => RaftRpc.DataBatch([BitConverter.GetBytes(value)], 1000);

    [Fact]
    public void LeaderAppends_AcrossEpochs_AnswerEndOffsetForEpoch_AndDivergence()
    {
        using var log = PartitionRaftLog.Open(_directory);
        Assert.Equal((0, 0), log.AppendAsLeader(Batch(1), 1));
        log.AppendAsLeader(Batch(2), 1);
        log.AppendAsLeader(Batch(3), 3);
        log.AppendAsLeader(Batch(4), 3);
        Assert.Equal(4, log.EndOffset);
        Assert.Equal(3, log.LastFetchedEpoch);
        Assert.Equal(new OffsetAndEpoch(2, 1), log.EndOffsetForEpoch(1));
        Assert.Equal(new OffsetAndEpoch(2, 1), log.EndOffsetForEpoch(2));
        Assert.Equal(new OffsetAndEpoch(4, 3), log.EndOffsetForEpoch(5));
        Assert.Equal(new OffsetAndEpoch(0, 0), log.EndOffsetForEpoch(0));
        Assert.Null(log.Diverging(4, 3));
        Assert.Null(log.Diverging(2, 1));
        // A follower that has epoch 2 entries the leader never had truncates to the end of epoch 1.
        Assert.Equal(new OffsetAndEpoch(2, 1), log.Diverging(3, 2));
        Assert.Equal(new OffsetAndEpoch(4, 3), log.Diverging(5, 3));
    }

    [Fact]
    public void Flush_TruncateAndReadWholeBatches_SurviveReopen()
    {
        using (var log = PartitionRaftLog.Open(_directory))
        {
            for (var i = 0; i < 5; i++)
            {
                log.AppendAsLeader(Batch(i), 2);
            }
            Assert.True(log.FlushedOffset < log.EndOffset);
            log.Flush();
            Assert.Equal(5, log.FlushedOffset);
            log.TruncateTo(3);
            Assert.Equal(3, log.EndOffset);
            var read = log.Read(1, 1);
            Assert.Single(RaftRpc.Batches(read.Span)); // at least one whole batch even past max bytes
            Assert.Equal(2, RaftRpc.Batches(log.Read(1, 1 << 20).Span).Count);
            Assert.True(log.Read(3, 1 << 20).IsEmpty);
            log.Flush();
        }
        using var reopened = PartitionRaftLog.Open(_directory);
        Assert.Equal(3, reopened.EndOffset);
        Assert.Equal(2, reopened.LastFetchedEpoch);
        var copy = new MockLog();
        copy.AppendAsFollower(reopened.Read(0, 1 << 20).Span);
        Assert.Equal(3, copy.EndOffset);
    }

    [Fact]
    public void Snapshot_MovesTheStart_AndSurvivesReopen_AndInstallResetsTheLog()
    {
        using (var log = PartitionRaftLog.Open(_directory))
        {
            for (var i = 0; i < 6; i++)
            {
                log.AppendAsLeader(Batch(i), i < 3 ? 1 : 2);
            }
            log.Flush();
            var id = log.CreateSnapshot(4, new RaftSnapshotContents([[1, 2, 3]], [QuorumVoter.OfId(1)], 77), 5000);
            Assert.Equal(new OffsetAndEpoch(4, 2), id);
            Assert.Equal(4, log.StartOffset);
            var file = Path.Combine(log.Directory, "00000000000000000004-0000000002.checkpoint");
            Assert.Equal(File.ReadAllBytes(file), log.ReadSnapshot(id)!.Value.ToArray());
            var contents = RaftSnapshot.Read(log.ReadSnapshot(id)!.Value.Span);
            Assert.Equal(new byte[] { 1, 2, 3 }, Assert.Single(contents.Records));
            Assert.Equal([QuorumVoter.OfId(1)], contents.Voters!);
            Assert.Equal(77, contents.LastContainedLogTimestamp);
            Assert.Equal(id, log.SnapshotNeeded(2, 1));
            Assert.Null(log.SnapshotNeeded(4, 2));
        }
        using (var log = PartitionRaftLog.Open(_directory))
        {
            Assert.Equal(new OffsetAndEpoch(4, 2), log.LatestSnapshotId);
            Assert.Equal(4, log.StartOffset);
            Assert.Equal(6, log.EndOffset);
            log.InstallSnapshot(new OffsetAndEpoch(10, 3), RaftSnapshot.Write(new OffsetAndEpoch(10, 3), new RaftSnapshotContents([[9]], null, 0, 0), 6000));
            Assert.Equal(10, log.StartOffset);
            Assert.Equal(10, log.EndOffset);
            Assert.Equal(3, log.LastFetchedEpoch);
            Assert.Null(log.ReadSnapshot(new OffsetAndEpoch(4, 2)));
        }
        using var reopened = PartitionRaftLog.Open(_directory);
        Assert.Equal(new OffsetAndEpoch(10, 3), reopened.LatestSnapshotId);
        Assert.Equal(10, reopened.EndOffset);
    }

    [Fact]
    public async Task SingleVoter_OnFiles_ElectsItself_Commits_AndAfterRestartLeadsAHigherEpochWithTheSameData()
    {
        var time = new SimulatedTime();
        var config = new QuorumConfig { Voters = new HashSet<int> { 1 } };
        var committed = new List<long>();

        RaftClient Start(PartitionRaftLog log)
        {
            var client = new RaftClient(1, config, log, new FileQuorumStateStore(_directory, [1]), new DroppingChannel(), time, new Random(1));
            client.Register(new RecordingListener(committed));
            client.Initialize();
            return client;
        }

        void RunUntil(RaftClient client, Func<bool> done)
        {
            for (var i = 0; i < 1000 && !done(); i++)
            {
                time.NowMs += Math.Clamp(client.Poll(), 1, 100);
            }
            Assert.True(done());
        }

        int firstEpoch;
        using (var log = PartitionRaftLog.Open(_directory))
        {
            var client = Start(log);
            RunUntil(client, () => client.State is LeaderState);
            firstEpoch = client.State.Epoch;
            var (offset, done) = client.ScheduleAppend(firstEpoch, [BitConverter.GetBytes(42L)]);
            RunUntil(client, () => done.IsCompleted);
            Assert.Equal(offset, await done);
            Assert.Equal([42L], committed);
        }
        committed.Clear();
        using (var log = PartitionRaftLog.Open(_directory))
        {
            var client = Start(log);
            // It led when it stopped; as the only voter it stands again at once instead of waiting out a resignation.
            Assert.IsType<ProspectiveState>(client.State);
            RunUntil(client, () => client.State is LeaderState && committed.Count == 1);
            Assert.True(client.State.Epoch > firstEpoch);
            Assert.Equal([42L], committed);
        }
    }

    private sealed class DroppingChannel : IRaftNetworkChannel
    {
        public void Send(RaftMessage message)
        {
        }
    }

    private sealed class RecordingListener(List<long> committed) : IRaftListener
    {
        public void HandleCommit(CommittedBatch batch) => committed.AddRange(batch.Records.Select(r => BitConverter.ToInt64(r)));

        public void HandleLoadSnapshot(OffsetAndEpoch id, IReadOnlyList<byte[]> records)
        {
        }

        public void HandleLeaderChange(LeaderAndEpoch leader)
        {
        }
    }
}
