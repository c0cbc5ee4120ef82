using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Samsa.Broker.Groups;
using Samsa.Protocol;

namespace Samsa.Broker.Tests.Groups;

/// <summary>
/// Transactional offsets on the group shard (Kafka's <c>OffsetMetadataManagerTest</c> transactional cases): pending per
/// producer until the marker, committed or dropped by it, a later plain commit winning, require_stable, retention and
/// deletion around open transactions, and the same state rebuilt by replaying the log.
/// </summary>
public class TransactionalOffsetTests
{
    /// <summary>An in-memory partition keeping what was appended, as plain records, transactional batches and markers.</summary>
    private sealed class TxnMemoryLog : ICoordinatorLog
    {
        public List<(long ProducerId, short Epoch, bool? Commit, IReadOnlyList<CoordinatorRecord> Records)> Entries { get; } = [];

        public (ErrorCode Error, long EndOffset) Append(int partition, IReadOnlyList<CoordinatorRecord> records) =>
            Add((-1, -1, null, [.. records]));

        public (ErrorCode Error, long EndOffset) AppendTransactional(int partition, long producerId, short producerEpoch, IReadOnlyList<CoordinatorRecord> records) =>
            Add((producerId, producerEpoch, null, [.. records]));

        public (ErrorCode Error, long EndOffset) AppendEndTransactionMarker(int partition, long producerId, short producerEpoch, int coordinatorEpoch, bool commit) =>
            Add((producerId, producerEpoch, commit, []));

        public Task<ErrorCode> WaitForCommitAsync(int partition, long endOffset) => Task.FromResult(ErrorCode.None);

        private (ErrorCode, long) Add((long, short, bool?, IReadOnlyList<CoordinatorRecord>) entry)
        {
            Entries.Add(entry);
            return (ErrorCode.None, Entries.Count);
        }

        /// <summary>Replays the partition into a new shard, as the runtime's loader does.</summary>
        public GroupCoordinatorShard Reload(TimeProvider clock)
        {
            var shard = new GroupCoordinatorShard(0, new GroupCoordinatorConfig(), this, clock, NullLogger.Instance);
            lock (shard.SyncRoot)
            {
                foreach (var (producerId, epoch, commit, records) in Entries)
                {
                    if (commit is { } isCommit)
                    {
                        shard.ReplayEndTransactionMarker(producerId, epoch, isCommit, null);
                        continue;
                    }
                    foreach (var record in records)
                    {
                        if (producerId >= 0)
                        {
                            shard.ReplayTransactional(producerId, epoch, record, null);
                        }
                        else
                        {
                            shard.Replay(record);
                        }
                    }
                }
            }
            shard.CompleteLoad(Entries.Count);
            return shard;
        }
    }

    private static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);

    private static (GroupCoordinatorShard Shard, FakeTimeProvider Clock, TxnMemoryLog Log) NewShard(GroupCoordinatorConfig? config = null)
    {
        var clock = new FakeTimeProvider(Start);
        var log = new TxnMemoryLog();
        var shard = new GroupCoordinatorShard(0, config ?? new GroupCoordinatorConfig(), log, clock, NullLogger.Instance);
        shard.CompleteLoad(0);
        return (shard, clock, log);
    }

    private static Task<List<ErrorCode>> TxnCommit(GroupCoordinatorShard shard, long producerId, string topic, int partition, long offset, int generation = -1,
        string groupId = "g") =>
        shard.CommitTransactionalOffsetsAsync(new TxnOffsetCommitArgs(groupId, producerId, 0, generation, "", null, 4, [new(topic, partition, offset, -1, "m")]));

    private static Task<List<ErrorCode>> PlainCommit(GroupCoordinatorShard shard, string topic, int partition, long offset) =>
        shard.CommitOffsetsAsync(new OffsetCommitArgs("g", -1, "", null, -1, 9, [new(topic, partition, offset, -1, "")]));

    private static Task<ErrorCode> EndTxn(GroupCoordinatorShard shard, long producerId, bool commit)
    {
        lock (shard.SyncRoot)
        {
            return shard.Context.CompleteTransaction(producerId, 0, 0, commit);
        }
    }

    private static FetchedOffset Fetch(GroupCoordinatorShard shard, string topic, int partition, bool requireStable = false)
    {
        var (error, offsets) = shard.FetchOffsets("g", [(topic, [partition])], requireStable);
        Assert.Equal(ErrorCode.None, error);
        return Assert.Single(offsets);
    }

    [Fact]
    public async Task PendingOffsets_AreInvisibleUntilTheCommitMarker_AndUnstableForRequireStable()
    {
        var (shard, _, log) = NewShard();

        Assert.Equal([ErrorCode.None], await TxnCommit(shard, 7, "t", 0, 42));

        Assert.Equal(7, log.Entries.Single().ProducerId);
        Assert.Equal(-1, Fetch(shard, "t", 0).Offset);
        Assert.Equal(ErrorCode.UnstableOffsetCommit, Fetch(shard, "t", 0, requireStable: true).Error);
        Assert.Equal(ErrorCode.None, Fetch(shard, "t", 1, requireStable: true).Error);
        Assert.NotNull(shard.GroupOrNull("g"));

        Assert.Equal(ErrorCode.None, await EndTxn(shard, 7, commit: true));

        var fetched = Fetch(shard, "t", 0, requireStable: true);
        Assert.Equal((42L, "m", ErrorCode.None), (fetched.Offset, fetched.Metadata, fetched.Error));
        Assert.Null(shard.PendingOffset(7, "g", "t", 0));
        Assert.False(shard.HasOpenTransactions("g"));
    }

    [Fact]
    public async Task AnAbortMarker_DropsThePendingOffsets()
    {
        var (shard, _, _) = NewShard();
        Assert.Equal([ErrorCode.None], await PlainCommit(shard, "t", 0, 5));
        Assert.Equal([ErrorCode.None], await TxnCommit(shard, 7, "t", 0, 42));

        Assert.Equal(ErrorCode.None, await EndTxn(shard, 7, commit: false));

        Assert.Equal((5L, ErrorCode.None), (Fetch(shard, "t", 0, requireStable: true).Offset, Fetch(shard, "t", 0, requireStable: true).Error));
        Assert.False(shard.HasOpenTransactions("g"));
    }

    [Fact]
    public async Task APlainCommitWrittenAfterThePendingOffset_WinsOverItAtTheCommitMarker()
    {
        var (shard, _, _) = NewShard();
        Assert.Equal([ErrorCode.None], await TxnCommit(shard, 7, "t", 0, 42));
        Assert.Equal([ErrorCode.None], await TxnCommit(shard, 7, "t", 1, 43));
        Assert.Equal([ErrorCode.None], await PlainCommit(shard, "t", 0, 100));

        Assert.Equal(ErrorCode.None, await EndTxn(shard, 7, commit: true));

        Assert.Equal(100, Fetch(shard, "t", 0).Offset);
        Assert.Equal(43, Fetch(shard, "t", 1).Offset);
    }

    [Fact]
    public async Task AnUnknownGroupWithAGeneration_IsIllegalGeneration_AndNothingIsWritten()
    {
        var (shard, _, log) = NewShard();

        Assert.Equal([ErrorCode.IllegalGeneration], await TxnCommit(shard, 7, "t", 0, 42, generation: 1));

        Assert.Empty(log.Entries);
        Assert.Null(shard.GroupOrNull("g"));
    }

    [Fact]
    public async Task Reloading_RebuildsPendingAndCommittedOffsetsFromTransactionalBatchesAndMarkers()
    {
        var (shard, clock, log) = NewShard();
        Assert.Equal([ErrorCode.None], await TxnCommit(shard, 7, "t", 0, 10));
        Assert.Equal([ErrorCode.None], await TxnCommit(shard, 8, "t", 1, 20));
        Assert.Equal([ErrorCode.None], await TxnCommit(shard, 9, "t", 2, 30));
        Assert.Equal([ErrorCode.None], await PlainCommit(shard, "t", 0, 99));
        Assert.Equal(ErrorCode.None, await EndTxn(shard, 7, commit: true));
        Assert.Equal(ErrorCode.None, await EndTxn(shard, 8, commit: false));

        var reloaded = log.Reload(clock);

        Assert.Equal(99, Fetch(reloaded, "t", 0).Offset);
        Assert.Equal(-1, Fetch(reloaded, "t", 1).Offset);
        Assert.Equal(ErrorCode.UnstableOffsetCommit, Fetch(reloaded, "t", 2, requireStable: true).Error);
        Assert.Equal(30, reloaded.PendingOffset(9, "g", "t", 2)?.Offset);
        Assert.True(reloaded.HasOpenTransactions("g"));

        Assert.Equal(ErrorCode.None, await EndTxn(reloaded, 9, commit: true));
        Assert.Equal(30, Fetch(reloaded, "t", 2, requireStable: true).Offset);
    }

    [Fact]
    public async Task Retention_KeepsAGroupAndAnOffsetThatAnOpenTransactionHolds()
    {
        var (shard, clock, _) = NewShard(new GroupCoordinatorConfig { OffsetsRetentionMs = 1000 });
        Assert.Equal([ErrorCode.None], await PlainCommit(shard, "t", 0, 5));
        Assert.Equal([ErrorCode.None], await TxnCommit(shard, 7, "t", 0, 6));
        clock.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal(0, shard.ExpireOffsets());
        Assert.NotNull(shard.GroupOrNull("g"));

        Assert.Equal(ErrorCode.None, await EndTxn(shard, 7, commit: false));
        Assert.Equal(1, shard.ExpireOffsets());
        Assert.Null(shard.GroupOrNull("g"));
    }

    [Fact]
    public async Task DeletingTheGroup_TombstonesPendingOnlyPartitions_AndDropsThePendingOffsets()
    {
        var (shard, _, log) = NewShard();
        Assert.Equal([ErrorCode.None], await TxnCommit(shard, 7, "t", 3, 6));

        Assert.Equal(ErrorCode.None, (await shard.DeleteGroupsAsync(["g"]))["g"]);

        Assert.Contains(log.Entries[^1].Records, r => r.Key is Samsa.Protocol.GroupCoordinatorRecords.OffsetCommitKey { partition: 3 } && r.Value is null);
        Assert.False(shard.HasOpenTransactions("g"));
        Assert.Equal(ErrorCode.None, await EndTxn(shard, 7, commit: true));
        Assert.Equal(-1, Fetch(shard, "t", 3).Offset);
    }
}
