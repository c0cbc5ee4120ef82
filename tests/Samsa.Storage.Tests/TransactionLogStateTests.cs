using Samsa.Protocol.Records;

namespace Samsa.Storage.Tests;

/// <summary>
/// Transactions on the partition log (Kafka's <c>UnifiedLog</c> with its producer state and transaction index): the last
/// stable offset held below open transactions, markers ending them, aborts indexed in the marker's segment (Kafka's
/// <c>.txnindex</c> bytes), read_committed reads, marker epoch checks, and all of it rebuilt after restarts.
/// </summary>
public class TransactionLogStateTests
{
    private static byte[] Transactional(long producerId, short epoch, int baseSequence, int count, string prefix = "t")
    {
        using var builder = new RecordBatchBuilder { ProducerId = producerId, ProducerEpoch = epoch, BaseSequence = baseSequence, IsTransactional = true };
        for (var i = 0; i < count; i++)
        {
            builder.Append(Batches.T0 + i, System.Text.Encoding.UTF8.GetBytes($"{prefix}{i}"), System.Text.Encoding.UTF8.GetBytes("v"));
        }
        return builder.Build();
    }

    private static byte[] Marker(long producerId, short epoch, bool commit, int coordinatorEpoch = 0) =>
        RecordBatchBuilder.EndTransactionMarker(commit ? ControlRecordType.Commit : ControlRecordType.Abort, producerId, epoch, coordinatorEpoch, Batches.T0);

    /// <summary>Appends and moves the high watermark to the log end, as the single-node replica manager does.</summary>
    private static LogAppendInfo Write(PartitionLog log, byte[] batch, AppendOrigin origin = AppendOrigin.Client)
    {
        var info = log.Append(batch, 0, origin);
        log.UpdateHighWatermark(log.LogEndOffset);
        return info;
    }

    private static string[] TxnIndexFiles(string dir) =>
        [.. Directory.EnumerateFiles(Path.Combine(dir, "t-0"), "*.txnindex").Select(Path.GetFileName).Order()!];

    [Fact]
    public void AnOpenTransaction_HoldsTheLastStableOffset_AndItsAbortIsIndexed()
    {
        using var dir = new TempDir();
        using var log = Batches.Open(dir.Path);
        Write(log, Batches.Make(2));
        Write(log, Transactional(7, 0, 0, 3));
        Write(log, Batches.Make(1));
        Assert.Equal((6L, 2L), (log.HighWatermark, log.LastStableOffset));
        Assert.Equal(0, log.Read(2, 1 << 20, FetchIsolation.TxnCommitted).Records.Length);
        Assert.Equal(2, log.Read(2, 1 << 20, FetchIsolation.TxnCommitted).LastStableOffset);
        Assert.True(log.Read(2, 1 << 20, FetchIsolation.HighWatermark).Records.Length > 0);

        Write(log, Marker(7, 0, commit: false), AppendOrigin.Coordinator);

        Assert.Equal(7, log.LastStableOffset);
        Assert.Equal([new AbortedTxn(7, 2, 6, 7)], log.CollectAbortedTransactions(0, 7));
        Assert.Empty(log.CollectAbortedTransactions(7, 7));
        Assert.Equal(["00000000000000000000.txnindex"], TxnIndexFiles(dir.Path));
        // Kafka's AbortedTxn bytes: version 0, producer id, first offset, last offset, last stable offset.
        Assert.Equal("0000" + "0000000000000007" + "0000000000000002" + "0000000000000006" + "0000000000000007",
            Batches.Hex(File.ReadAllBytes(Path.Combine(dir.Path, "t-0", "00000000000000000000.txnindex"))));
    }

    [Fact]
    public void ACommit_IsNotIndexed_AndTheStableOffsetStopsAtTheOldestOpenTransaction()
    {
        using var dir = new TempDir();
        using var log = Batches.Open(dir.Path);
        Write(log, Transactional(1, 0, 0, 2));           // 0-1
        Write(log, Transactional(2, 0, 0, 2));           // 2-3
        Assert.Equal(0, log.LastStableOffset);
        Write(log, Marker(1, 0, commit: true), AppendOrigin.Coordinator); // 4
        Assert.Equal(2, log.LastStableOffset);
        Write(log, Marker(2, 0, commit: false), AppendOrigin.Coordinator); // 5
        Assert.Equal(6, log.LastStableOffset);
        // Producer 2's abort was written while nothing else was open: its stable offset is the one after the marker.
        Assert.Equal([new AbortedTxn(2, 2, 5, 6)], log.CollectAbortedTransactions(0, 6));
        Assert.Empty(log.OngoingTransactions());
    }

    [Fact]
    public void Markers_AreTheCoordinatorsOnly_AndOldEpochsAreRefused()
    {
        using var dir = new TempDir();
        using var log = Batches.Open(dir.Path);
        Assert.Throws<InvalidRecordException>(() => log.Append(Marker(3, 0, commit: true), 0));
        Write(log, Transactional(3, 2, 0, 1));
        Write(log, Marker(3, 2, commit: true, coordinatorEpoch: 5), AppendOrigin.Coordinator);
        var end = log.LogEndOffset;

        Assert.Throws<InvalidProducerEpochException>(() => log.Append(Marker(3, 1, commit: false, coordinatorEpoch: 5), 0, AppendOrigin.Coordinator));
        var fenced = Assert.Throws<TransactionCoordinatorFencedException>(() => log.Append(Marker(3, 2, commit: false, coordinatorEpoch: 4), 0, AppendOrigin.Coordinator));
        Assert.Equal(StorageErrorCode.TransactionCoordinatorFenced, fenced.ErrorCode);
        Assert.Equal(end, log.LogEndOffset);
    }

    [Fact]
    public void CoordinatorTransactionalBatches_SkipSequenceAndDuplicateChecks_ButNotTheEpoch()
    {
        // Kafka's ProducerAppendInfo checks sequences (and UnifiedLog duplicates) only for AppendOrigin.CLIENT: a
        // coordinator writes every transactional batch of a producer with sequence 0 (TxnOffsetCommit on __consumer_offsets).
        using var dir = new TempDir();
        using var log = Batches.Open(dir.Path);
        var first = Write(log, Transactional(9, 3, 0, 2), AppendOrigin.Coordinator);
        var second = Write(log, Transactional(9, 3, 0, 2), AppendOrigin.Coordinator);
        Assert.False(second.IsDuplicate);
        Assert.Equal(first.LastOffset + 1, second.FirstOffset);
        Assert.Throws<OutOfOrderSequenceException>(() => log.Append(Transactional(9, 3, 0, 1), 0, AppendOrigin.Client));
        var end = log.LogEndOffset;
        Assert.Throws<InvalidProducerEpochException>(() => log.Append(Transactional(9, 2, 0, 1), 0, AppendOrigin.Coordinator));
        Assert.Equal(end, log.LogEndOffset);
        Assert.Equal(0, log.LastStableOffset);
    }

    [Fact]
    public void AfterACleanAndAnUncleanRestart_TheOpenTransactionAndTheAbortIndexAreBack()
    {
        using var dir = new TempDir();
        using (var log = Batches.Open(dir.Path))
        {
            Write(log, Transactional(1, 0, 0, 2));   // 0-1 aborted
            Write(log, Marker(1, 0, commit: false), AppendOrigin.Coordinator); // 2
            log.Roll();
            Write(log, Transactional(2, 0, 0, 2));   // 3-4 open
            log.Close();
        }
        using (var log = Batches.Open(dir.Path, options: new LogOpenOptions { HadCleanShutdown = true, RecoveryPoint = 5, HighWatermark = 5 }))
        {
            Assert.Equal(3, log.LastStableOffset);
            Assert.Equal([(2L, 3L)], log.OngoingTransactions());
            Assert.Equal([new AbortedTxn(1, 0, 2, 3)], log.CollectAbortedTransactions(0, 3));
        }
        // Unclean: snapshots and the transaction index gone, as if never written; the replay of the log restores both.
        foreach (var file in Directory.EnumerateFiles(Path.Combine(dir.Path, "t-0")).Where(f => f.EndsWith(".snapshot") || f.EndsWith(".txnindex")))
        {
            File.Delete(file);
        }
        using (var log = Batches.Open(dir.Path, options: new LogOpenOptions { HadCleanShutdown = false, RecoveryPoint = 0, HighWatermark = 5 }))
        {
            Assert.Equal(3, log.LastStableOffset);
            Assert.Equal([new AbortedTxn(1, 0, 2, 3)], log.CollectAbortedTransactions(0, 3));
            Write(log, Marker(2, 0, commit: true), AppendOrigin.Coordinator);
            Assert.Equal(6, log.LastStableOffset);
        }
    }

    [Fact]
    public void TruncatingAMarker_ReopensItsTransaction_AndDropsItsIndexEntry()
    {
        using var dir = new TempDir();
        using var log = Batches.Open(dir.Path);
        Write(log, Transactional(1, 0, 0, 2));
        Write(log, Marker(1, 0, commit: false), AppendOrigin.Coordinator);
        Assert.Single(log.CollectAbortedTransactions(0, 3));

        log.TruncateTo(2);

        Assert.Empty(log.CollectAbortedTransactions(0, 3));
        Assert.Equal([(1L, 0L)], log.OngoingTransactions());
        Assert.Equal(0, log.LastStableOffset);
        Assert.Empty(TxnIndexFiles(dir.Path));
    }
}
