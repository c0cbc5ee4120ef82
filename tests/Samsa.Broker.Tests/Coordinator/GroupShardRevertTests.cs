using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Samsa.Broker.Groups;
using Samsa.Protocol;

namespace Samsa.Broker.Tests.Coordinator;

/// <summary>
/// The group shard's writes that replay their records (offsets, deletions) against a log whose appends or commits
/// fail: the shard is left as it was before the write, and the client gets Kafka's mapped error.
/// </summary>
public class GroupShardRevertTests
{
    private sealed class FailingLog : ICoordinatorLog
    {
        private long _end;

        public ErrorCode AppendError { get; set; } = ErrorCode.None;

        public ErrorCode CommitError { get; set; } = ErrorCode.None;

        public (ErrorCode Error, long EndOffset) Append(int partition, IReadOnlyList<CoordinatorRecord> records)
        {
            if (AppendError != ErrorCode.None)
            {
                return (AppendError, -1);
            }
            _end += records.Count;
            return (ErrorCode.None, _end);
        }

        public Task<ErrorCode> WaitForCommitAsync(int partition, long endOffset) => Task.FromResult(CommitError);
    }

    private static (GroupCoordinatorShard Shard, FailingLog Log) NewShard()
    {
        var log = new FailingLog();
        var shard = new GroupCoordinatorShard(0, new GroupCoordinatorConfig { InitialRebalanceDelayMs = 0 }, log,
            new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000)), NullLogger.Instance);
        shard.CompleteLoad(0);
        return (shard, log);
    }

    private static OffsetCommitArgs Commit(long offset) => new("g", -1, "", null, -1, 9, [new("t", 0, offset, -1, "")]);

    [Fact]
    public async Task AnOffsetCommitWhoseAppendFails_LeavesNeitherTheOffsetNorTheSimpleGroup()
    {
        var (shard, log) = NewShard();
        log.AppendError = ErrorCode.NotLeaderOrFollower;

        Assert.Equal([ErrorCode.NotCoordinator], await shard.CommitOffsetsAsync(Commit(10)));

        Assert.Null(shard.Describe("g"));
        Assert.Equal(0, shard.GroupCount);
        Assert.Equal(0, shard.Context.UncommittedWrites);
    }

    [Fact]
    public async Task AnOffsetCommitThatDoesNotCommit_IsReverted_ToTheOffsetBefore()
    {
        var (shard, log) = NewShard();
        Assert.Equal([ErrorCode.None], await shard.CommitOffsetsAsync(Commit(10)));

        log.CommitError = ErrorCode.RequestTimedOut;
        Assert.Equal([ErrorCode.CoordinatorNotAvailable], await shard.CommitOffsetsAsync(Commit(20)));

        Assert.Equal(10, Assert.Single(shard.FetchOffsets("g", null, false).Offsets).Offset);
    }

    [Fact]
    public async Task ADeleteGroupsThatDoesNotCommit_KeepsTheGroupAndItsOffsets_AndALaterOneDeletes()
    {
        var (shard, log) = NewShard();
        Assert.Equal([ErrorCode.None], await shard.CommitOffsetsAsync(Commit(10)));

        log.CommitError = ErrorCode.RequestTimedOut;
        Assert.Equal(ErrorCode.CoordinatorNotAvailable, (await shard.DeleteGroupsAsync(["g"]))["g"]);
        Assert.NotNull(shard.Describe("g"));
        Assert.Equal(10, Assert.Single(shard.FetchOffsets("g", null, false).Offsets).Offset);

        log.CommitError = ErrorCode.None;
        Assert.Equal(ErrorCode.None, (await shard.DeleteGroupsAsync(["g"]))["g"]);
        Assert.Null(shard.Describe("g"));
        Assert.Equal(ErrorCode.GroupIdNotFound, (await shard.DeleteGroupsAsync(["g"]))["g"]);
    }
}
