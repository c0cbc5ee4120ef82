using System.Collections.Immutable;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Broker.Coordinator;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Records;
using Samsa.Storage;

namespace Samsa.Broker.Tests.Coordinator;

/// <summary>
/// The coordinator runtime with a key/value shard over a real <see cref="PartitionLog"/>, behind a writer whose
/// appends can be made to fail and whose commits the test completes or fails by hand.
/// </summary>
public sealed class CoordinatorRuntimeTests : IDisposable
{
    private const string Topic = "__kv";
    private const int Node = 1;
    private static readonly Uuid TopicId = new(7, 7);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "samsa-runtime-" + Guid.NewGuid().ToString("N"));
    private readonly TestWriter _writer;
    private readonly MetadataCache _metadata = new(Image(leader: Node));
    private readonly CoordinatorRuntime<KvShard, KvRecord> _runtime;

    public CoordinatorRuntimeTests()
    {
        _writer = new TestWriter(_dir);
        var options = new CoordinatorRuntimeOptions
        {
            Topic = Topic,
            NumPartitions = 1,
            ReplicationFactor = 1,
            CommitTimeout = TimeSpan.FromSeconds(5),
            ThreadName = "kv-coordinator",
        };
        _runtime = new CoordinatorRuntime<KvShard, KvRecord>(options, new KvSerde(), _writer, _metadata, context => new KvShard(context), null, Node,
            TimeProvider.System, NullLogger.Instance);
    }

    public void Dispose()
    {
        _runtime.Dispose();
        _writer.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static MetadataImage Image(int leader) => MetadataImage.Empty("c").WithTopic(new TopicImage(Topic, TopicId, true,
        [new PartitionImage(0, leader, 1, [1, 2], [1, 2], [])]));

    private async Task<KvShard> StartedAsync()
    {
        _runtime.Start();
        var shard = _runtime.Shards[0];
        await shard.Context.Loaded.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(CoordinatorState.Active, shard.Context.State);
        return shard;
    }

    private ValueTask<(ErrorCode Error, string? Response)> Put(string key, string? value) =>
        _runtime.ScheduleWriteOperation(0, _ => new CoordinatorResult<string, KvRecord>([new KvRecord(key, value)], "put " + key), CancellationToken.None);

    private async Task<string?> Get(string key) => (await _runtime.ScheduleReadOperation(0, shard => shard.Values.GetValueOrDefault(key), CancellationToken.None)).Response;

    [Fact]
    public async Task AWrite_IsAnsweredOnlyAfterTheHighWatermarkPassesItsRecords()
    {
        await StartedAsync();
        _writer.AutoCommit = false;

        var put = Put("k", "v").AsTask();
        await _writer.WaitForPendingCommitsAsync(1);
        Assert.False(put.IsCompleted);
        // Applied in memory (reads see it), answered only once committed.
        Assert.Equal("v", await Get("k"));

        _writer.CommitAll();
        Assert.Equal((ErrorCode.None, "put k"), await put.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(1, _writer.Log.HighWatermark);
    }

    [Fact]
    public async Task AFailedAppend_RevertsTheShard_AndAnswersTheError()
    {
        var shard = await StartedAsync();
        Assert.Equal(ErrorCode.None, (await Put("k", "v1")).Error);

        _writer.FailAppends = ErrorCode.NotLeaderOrFollower;
        Assert.Equal((ErrorCode.NotLeaderOrFollower, null), await Put("k", "v2"));
        Assert.Equal((ErrorCode.NotLeaderOrFollower, null), await Put("other", "x"));

        Assert.Equal("v1", await Get("k"));
        Assert.Null(await Get("other"));
        Assert.Equal(0, shard.Context.UncommittedWrites);
    }

    [Fact]
    public async Task AFailedCommit_RevertsThatWriteAndEveryLaterOne()
    {
        var shard = await StartedAsync();
        Assert.Equal(ErrorCode.None, (await Put("k", "v1")).Error);
        _writer.AutoCommit = false;

        var first = Put("k", "v2").AsTask();
        var second = Put("k", "v3").AsTask();
        var third = Put("new", "x").AsTask();
        await _writer.WaitForPendingCommitsAsync(3);
        Assert.Equal("v3", await Get("k"));

        _writer.FailFirstPending(ErrorCode.RequestTimedOut);

        Assert.Equal((ErrorCode.RequestTimedOut, null), await first.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal((ErrorCode.RequestTimedOut, null), await second.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal((ErrorCode.RequestTimedOut, null), await third.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("v1", await Get("k"));
        Assert.Null(await Get("new"));
        Assert.Equal(0, shard.Context.UncommittedWrites);
    }

    [Fact]
    public async Task ALaterCommit_CommitsEarlierWrites_AndTheirLateFailureChangesNothing()
    {
        var shard = await StartedAsync();
        _writer.AutoCommit = false;
        var first = Put("a", "1").AsTask();
        var second = Put("b", "2").AsTask();
        await _writer.WaitForPendingCommitsAsync(2);

        _writer.CompleteLastPending(ErrorCode.None);
        Assert.Equal((ErrorCode.None, "put a"), await first.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal((ErrorCode.None, "put b"), await second.WaitAsync(TimeSpan.FromSeconds(10)));
        _writer.FailFirstPending(ErrorCode.RequestTimedOut);

        Assert.Equal("1", await Get("a"));
        Assert.Equal("2", await Get("b"));
        Assert.Equal(0, shard.Context.UncommittedWrites);
    }

    [Fact]
    public async Task AResultThatDoesNotReplay_IsWrittenButLeavesTheShardToTheOperation()
    {
        var shard = await StartedAsync();
        var result = await _runtime.ScheduleWriteOperation(0, s =>
        {
            s.Values["direct"] = "set by the operation";
            return new CoordinatorResult<string, KvRecord>([new KvRecord("direct", "from the record")], "done", ReplayRecords: false);
        }, CancellationToken.None);

        Assert.Equal((ErrorCode.None, "done"), result);
        Assert.Equal("set by the operation", await Get("direct"));
        Assert.Equal(1, _writer.Log.LogEndOffset);
        Assert.Equal(0, shard.Context.UncommittedWrites);
    }

    [Fact]
    public async Task Loading_ReplaysThePartitionFromItsStart_SkippingControlBatches_BeforeServing()
    {
        _writer.AppendDirect(Batch(("a", "1"), ("b", "2")));
        _writer.AppendDirect(RecordBatchBuilder.EndTransactionMarker(ControlRecordType.Commit, 5, 0, 0, 0));
        _writer.AppendDirect(Batch(("a", "3"), ("b", null)));
        var opened = new TaskCompletionSource();
        _writer.Opening = opened.Task;

        _runtime.Start();
        Assert.Equal((ErrorCode.CoordinatorLoadInProgress, null), await Put("x", "y"));
        opened.SetResult();

        var shard = _runtime.Shards[0];
        await shard.Context.Loaded.WaitAsync(TimeSpan.FromSeconds(10));
        // Four data records; the transaction marker would have been a fifth.
        Assert.Equal(4, shard.LoadedRecords);
        Assert.Equal("3", await Get("a"));
        Assert.Null(await Get("b"));
        Assert.Equal(ErrorCode.None, (await Put("c", "4")).Error);
    }

    [Fact]
    public async Task LosingLeadership_ClosesTheShard_AndAnswersNotCoordinator()
    {
        var shard = await StartedAsync();
        _metadata.Publish(Image(leader: 2));

        Assert.Equal(CoordinatorState.Closed, shard.Context.State);
        Assert.True(shard.Unloaded);
        Assert.Empty(_runtime.Shards);
        Assert.Equal((ErrorCode.NotCoordinator, null), await Put("k", "v"));
        Assert.Equal(ErrorCode.NotCoordinator, _runtime.ShardFor(0).Error);

        _metadata.Publish(Image(leader: Node));
        await _runtime.Shards[0].Context.Loaded.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(ErrorCode.None, _runtime.ShardFor(0).Error);
    }

    private ValueTask<(ErrorCode Error, string? Response)> PutInTransaction(long producerId, short epoch, params (string Key, string? Value)[] records) =>
        _runtime.ScheduleTransactionalWriteOperation(0, producerId, epoch,
            _ => new CoordinatorResult<string, KvRecord>([.. records.Select(r => new KvRecord(r.Key, r.Value))], "txn"), CancellationToken.None);

    private RecordBatchHeader HeaderAt(long offset) => RecordBatchHeader.Read(_writer.Log.Read(offset, 1 << 20, FetchIsolation.LogEnd).Records.ToArray());

    [Fact]
    public async Task ATransactionalWrite_IsOneTransactionalBatch_WhoseRecordsWaitForTheCommitMarker()
    {
        var shard = await StartedAsync();

        Assert.Equal((ErrorCode.None, "txn"), await PutInTransaction(7, 1, ("a", "1"), ("b", "2")));
        // Kafka's runtime writes every transactional batch with sequence 0: the log checks only the epoch.
        Assert.Equal((ErrorCode.None, "txn"), await PutInTransaction(7, 1, ("c", "3")));

        var header = HeaderAt(0);
        Assert.True(header.IsTransactional);
        Assert.False(header.IsControl);
        Assert.Equal((7L, (short)1, 0, 1L), (header.ProducerId, header.ProducerEpoch, header.BaseSequence, header.LastOffset));
        Assert.Null(await Get("a"));
        Assert.Equal(3, shard.Pending[7].Count);
        Assert.Equal(0, _writer.Log.LastStableOffset);

        Assert.Equal(ErrorCode.None, await _runtime.ScheduleTransactionCompletion(0, 7, 1, coordinatorEpoch: 4, commit: true, CancellationToken.None));

        var marker = HeaderAt(3);
        Assert.True(marker.IsControl);
        Assert.Equal(7, marker.ProducerId);
        Assert.Equal(("1", "2", "3"), (await Get("a"), await Get("b"), await Get("c")));
        Assert.Empty(shard.Pending);
        Assert.Equal(4, _writer.Log.LastStableOffset);
        Assert.Equal(0, shard.Context.UncommittedWrites);
    }

    [Fact]
    public async Task AnAbortMarker_DropsThePendingRecords()
    {
        var shard = await StartedAsync();
        Assert.Equal(ErrorCode.None, (await Put("a", "old")).Error);
        Assert.Equal(ErrorCode.None, (await PutInTransaction(7, 0, ("a", "new"))).Error);

        Assert.Equal(ErrorCode.None, await _runtime.ScheduleTransactionCompletion(0, 7, 0, 0, commit: false, CancellationToken.None));

        Assert.Equal("old", await Get("a"));
        Assert.Empty(shard.Pending);
        Assert.Equal(_writer.Log.LogEndOffset, _writer.Log.LastStableOffset);
    }

    [Fact]
    public async Task AMarkerTheLogRefuses_OrFailsToCommit_LeavesTheTransactionPending()
    {
        var shard = await StartedAsync();
        Assert.Equal(ErrorCode.None, (await PutInTransaction(7, 3, ("a", "1"))).Error);

        // An older epoch than the producer's: the log refuses the batch and the marker, and nothing changes.
        Assert.Equal((ErrorCode.InvalidProducerEpoch, null), await PutInTransaction(7, 2, ("b", "2")));
        Assert.Equal(ErrorCode.InvalidProducerEpoch, await _runtime.ScheduleTransactionCompletion(0, 7, 2, 0, commit: true, CancellationToken.None));
        Assert.Single(shard.Pending[7]);

        _writer.AutoCommit = false;
        var completion = _runtime.ScheduleTransactionCompletion(0, 7, 3, 0, commit: true, CancellationToken.None).AsTask();
        await _writer.WaitForPendingCommitsAsync(1);
        Assert.Equal("1", await Get("a"));
        _writer.FailFirstPending(ErrorCode.RequestTimedOut);

        Assert.Equal(ErrorCode.RequestTimedOut, await completion.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Null(await Get("a"));
        Assert.Single(shard.Pending[7]);
        Assert.Equal(0, shard.Context.UncommittedWrites);
    }

    [Fact]
    public async Task Loading_ReplaysTransactionalBatchesAndMarkers_IntoTheShard()
    {
        await StartedAsync();
        Assert.Equal(ErrorCode.None, (await PutInTransaction(7, 0, ("a", "committed"))).Error);
        Assert.Equal(ErrorCode.None, (await PutInTransaction(8, 0, ("b", "aborted"))).Error);
        Assert.Equal(ErrorCode.None, (await PutInTransaction(9, 0, ("c", "open"))).Error);
        Assert.Equal(ErrorCode.None, (await Put("d", "plain")).Error);
        Assert.Equal(ErrorCode.None, await _runtime.ScheduleTransactionCompletion(0, 7, 0, 0, commit: true, CancellationToken.None));
        Assert.Equal(ErrorCode.None, await _runtime.ScheduleTransactionCompletion(0, 8, 0, 0, commit: false, CancellationToken.None));

        _metadata.Publish(Image(leader: 2));
        _metadata.Publish(Image(leader: Node));
        var reloaded = _runtime.Shards[0];
        await reloaded.Context.Loaded.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(4, reloaded.LoadedRecords);
        Assert.Equal(("committed", null, null, "plain"), (await Get("a"), await Get("b"), await Get("c"), await Get("d")));
        Assert.Equal([new KvRecord("c", "open")], reloaded.Pending[9]);
        Assert.Single(reloaded.Pending);
    }

    private static byte[] Batch(params (string Key, string? Value)[] records)
    {
        var serde = new KvSerde();
        using var builder = new RecordBatchBuilder();
        foreach (var (key, value) in records)
        {
            var (k, v) = serde.Serialize(new KvRecord(key, value));
            builder.Append(0, k, v);
        }
        return builder.Build();
    }

    public sealed record KvRecord(string Key, string? Value);

    private sealed class KvSerde : ICoordinatorSerde<KvRecord>
    {
        public (byte[] Key, byte[]? Value) Serialize(KvRecord record) =>
            (Encoding.UTF8.GetBytes(record.Key), record.Value is null ? null : Encoding.UTF8.GetBytes(record.Value));

        public KvRecord? Deserialize(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool valueIsNull) =>
            new(Encoding.UTF8.GetString(key), valueIsNull ? null : Encoding.UTF8.GetString(value));
    }

    /// <summary>
    /// A map replayed from records; each live change registers how to put the old value back. Records written in a
    /// transaction wait in <see cref="Pending"/> until the producer's marker.
    /// </summary>
    public sealed class KvShard(CoordinatorContext<KvRecord> context) : ITransactionalCoordinatorShard<KvRecord>
    {
        public Dictionary<string, string> Values { get; } = [];

        public Dictionary<long, List<KvRecord>> Pending { get; } = [];

        public void ReplayTransactional(long producerId, short producerEpoch, KvRecord record, CoordinatorChanges? changes)
        {
            if (!Pending.TryGetValue(producerId, out var records))
            {
                records = [];
                Pending.Add(producerId, records);
                changes?.OnRevert(() => Pending.Remove(producerId));
            }
            records.Add(record);
            changes?.OnRevert(() => records.RemoveAt(records.Count - 1));
        }

        public void ReplayEndTransactionMarker(long producerId, short producerEpoch, bool commit, CoordinatorChanges? changes)
        {
            if (!Pending.Remove(producerId, out var records))
            {
                return;
            }
            changes?.OnRevert(() => Pending[producerId] = records);
            if (commit)
            {
                foreach (var record in records)
                {
                    Replay(record, changes);
                }
            }
        }

        public long LoadedRecords { get; private set; } = -1;

        public bool Unloaded { get; private set; }

        public CoordinatorContext<KvRecord> Context { get; } = context;

        public void Replay(KvRecord record, CoordinatorChanges? changes)
        {
            if (changes is not null)
            {
                var had = Values.TryGetValue(record.Key, out var previous);
                changes.OnRevert(() =>
                {
                    if (had)
                    {
                        Values[record.Key] = previous!;
                    }
                    else
                    {
                        Values.Remove(record.Key);
                    }
                });
            }
            if (record.Value is null)
            {
                Values.Remove(record.Key);
            }
            else
            {
                Values[record.Key] = record.Value;
            }
        }

        public void OnLoaded(long records, MetadataImage? image) => LoadedRecords = records;

        public void OnUnloaded() => Unloaded = true;
    }

    /// <summary>Appends to a real log; commits are automatic or left pending for the test to complete or fail.</summary>
    private sealed class TestWriter(string dir) : IPartitionWriter, IDisposable
    {
        private readonly List<(long EndOffset, TaskCompletionSource<ErrorCode> Done)> _pending = [];

        public PartitionLog Log { get; } = PartitionLog.Open(dir, Topic, 0, TopicId, LogConfig.Default);

        public bool AutoCommit { get; set; } = true;

        public ErrorCode FailAppends { get; set; } = ErrorCode.None;

        public Task Opening { get; set; } = Task.CompletedTask;

        /// <summary>Writes a batch as a follower would (so a control batch is allowed), at the log end, committed.</summary>
        public void AppendDirect(byte[] batch)
        {
            // The base offset is outside the CRC, so it can be set in place.
            System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(batch, Log.LogEndOffset);
            var info = Log.AppendAsFollower(batch);
            Log.UpdateHighWatermark(info.LastOffset + 1);
        }

        public (ErrorCode Error, long EndOffset) Append(string topic, int partition, ReadOnlyMemory<byte> batch)
        {
            if (FailAppends != ErrorCode.None)
            {
                return (FailAppends, -1);
            }
            try
            {
                var info = Log.Append(batch.ToArray(), 0, AppendOrigin.Coordinator);
                return (ErrorCode.None, info.LastOffset + 1);
            }
            catch (InvalidProducerEpochException)
            {
                return (ErrorCode.InvalidProducerEpoch, -1);
            }
            catch (TransactionCoordinatorFencedException)
            {
                return (ErrorCode.TransactionCoordinatorFenced, -1);
            }
        }

        public Task<ErrorCode> WaitForCommitAsync(string topic, int partition, long endOffset, TimeSpan timeout)
        {
            if (AutoCommit)
            {
                Log.UpdateHighWatermark(endOffset);
                return Task.FromResult(ErrorCode.None);
            }
            var done = new TaskCompletionSource<ErrorCode>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_pending)
            {
                _pending.Add((endOffset, done));
            }
            return done.Task;
        }

        public async Task WaitForPendingCommitsAsync(int count)
        {
            for (var i = 0; i < 500; i++)
            {
                lock (_pending)
                {
                    if (_pending.Count >= count)
                    {
                        return;
                    }
                }
                await Task.Delay(10);
            }
            throw new TimeoutException($"{count} commit waits never started");
        }

        public void CommitAll()
        {
            lock (_pending)
            {
                foreach (var (endOffset, done) in _pending)
                {
                    Log.UpdateHighWatermark(endOffset);
                    done.SetResult(ErrorCode.None);
                }
                _pending.Clear();
            }
        }

        public void FailFirstPending(ErrorCode error)
        {
            lock (_pending)
            {
                _pending[0].Done.SetResult(error);
                _pending.RemoveAt(0);
            }
        }

        public void CompleteLastPending(ErrorCode error)
        {
            lock (_pending)
            {
                var (endOffset, done) = _pending[^1];
                Log.UpdateHighWatermark(endOffset);
                done.SetResult(error);
                _pending.RemoveAt(_pending.Count - 1);
            }
        }

        public async Task<ICoordinatorLogReader> OpenForLoadAsync(string topic, int partition, Uuid topicId, CancellationToken cancellationToken)
        {
            await Opening.WaitAsync(cancellationToken);
            return new Reader(Log);
        }

        public void OpenAhead(string topic, int partition)
        {
        }

        public void Dispose() => Log.Dispose();

        private sealed class Reader(PartitionLog log) : ICoordinatorLogReader
        {
            public long LogStartOffset => log.LogStartOffset;

            public long LogEndOffset => log.LogEndOffset;

            public ReadOnlyMemory<byte> Read(long offset, int maxBytes) => log.Read(offset, maxBytes, FetchIsolation.LogEnd).Records.ToArray();
        }
    }
}
