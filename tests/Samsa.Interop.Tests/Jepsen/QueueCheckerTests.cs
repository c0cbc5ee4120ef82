using static Samsa.Interop.Tests.Jepsen.HistoryOp;

namespace Samsa.Interop.Tests.Jepsen;

/// <summary>
/// The Jepsen queue checker on hand-built histories: each anomaly planted alone is found (and nothing else), and
/// clean histories, with indeterminate and failed sends, resets and a final read, have none. No processes.
/// </summary>
public sealed class QueueCheckerTests
{
    private const int Producer = 0;
    private const int Consumer = 100;
    private const int Final = 200;

    /// <summary>Producer 0 sends values 1..n round-robin to 2 partitions, each acknowledged at the next offset.</summary>
    private static List<HistoryOp> Sends(int n, int partitions = 2)
    {
        var ops = new List<HistoryOp>();
        var next = new long[partitions];
        for (var v = 1; v <= n; v++)
        {
            var p = v % partitions;
            ops.Add(Invoke(Producer, v, p));
            ops.Add(Ack(Producer, v, p, next[p]++));
        }
        return ops;
    }

    /// <summary>A read of every acknowledged send in offset order, by <paramref name="process"/>.</summary>
    private static IEnumerable<HistoryOp> ReadAll(IEnumerable<HistoryOp> sends, int process) =>
        sends.Where(o => o is { F: "send", Type: "ok" }).OrderBy(o => o.Partition).ThenBy(o => o.Offset)
            .Select(o => Poll(process, o.Partition!.Value, o.Offset!.Value, o.Value!.Value));

    private static void AssertOnly(QueueCheckResult result, Anomaly anomaly, int count = 1)
    {
        foreach (var other in Enum.GetValues<Anomaly>())
        {
            Assert.True(result.Count(other) == (other == anomaly ? count : 0), $"{other}: {result.Describe()}");
        }
    }

    [Fact]
    public void CleanHistory_WithFinalRead_HasNoAnomalies()
    {
        var sends = Sends(20);
        var result = QueueChecker.Check([.. sends, .. ReadAll(sends.Take(20), Consumer), .. ReadAll(sends, Final)]);
        Assert.True(result.Valid, result.Describe());
        Assert.Equal(20, result.Invoked);
        Assert.Equal(20, result.Acknowledged);
        Assert.Equal(1.0, result.Availability);
        Assert.Equal(20, result.DistinctValuesRead);
    }

    [Fact]
    public void CleanHistory_IndeterminateAndFailedSends_AreNotAnomalies()
    {
        List<HistoryOp> history =
        [
            Invoke(Producer, 1, 0), Ack(Producer, 1, 0, 0),
            // Timed out but written: the read shows it.
            Invoke(Producer, 2, 0), Info(Producer, 2, 0),
            // Timed out and not written.
            Invoke(Producer, 3, 0), Info(Producer, 3, 0),
            // Certainly not written.
            Invoke(Producer, 4, 0), Fail(Producer, 4, 0),
            // Never completed (the producer gave up at its end).
            Invoke(Producer, 5, 0),
            Invoke(Producer, 6, 0), Ack(Producer, 6, 0, 2),
            Poll(Final, 0, 0, 1), Poll(Final, 0, 1, 2), Poll(Final, 0, 2, 6), End(Final, 0, 3),
        ];
        var result = QueueChecker.Check(history);
        Assert.True(result.Valid, result.Describe());
        Assert.Equal((6, 2, 1, 3, 1), (result.Invoked, result.Acknowledged, result.Failed, result.Indeterminate, result.IndeterminateRead));
    }

    [Fact]
    public void CleanHistory_ConsumerResetsAndRereads_IsNotNonMonotonic()
    {
        var sends = Sends(10);
        var reads = ReadAll(sends, Consumer).ToList();
        var result = QueueChecker.Check([.. sends, .. reads, Reset(Consumer), .. reads, Reset(Consumer, 1), .. reads.Where(r => r.Partition == 1)]);
        Assert.True(result.Valid, result.Describe());
        Assert.Equal(2, result.Resets);
    }

    [Fact]
    public void CleanHistory_ConsumerJumpingOverOffsetsNobodyRead_IsNotASkip()
    {
        // Only a jump over an offset some read shows holding a record is a skip; here nobody read offsets 1 and 2.
        List<HistoryOp> history =
        [
            Invoke(Producer, 1, 0), Ack(Producer, 1, 0, 0),
            Invoke(Producer, 2, 0), Ack(Producer, 2, 0, 3),
            Poll(Consumer, 0, 0, 1), Poll(Consumer, 0, 3, 2),
        ];
        var result = QueueChecker.Check(history);
        Assert.True(result.Valid, result.Describe());
    }

    [Fact]
    public void AcknowledgedWrite_MissingBelowTheHighestOffsetRead_IsLost()
    {
        var sends = Sends(10);
        // Value 4 (p0, offset 1) is acknowledged but the log read back lacks it; later offsets were read.
        var result = QueueChecker.Check([.. sends, .. ReadAll(sends, Final).Where(r => r.Value != 4)]);
        AssertOnly(result, Anomaly.Lost);
        Assert.Contains("value 4", result.Examples(Anomaly.Lost)[0]);
    }

    [Fact]
    public void AcknowledgedWrite_BeyondTheEndOfEveryRead_IsUnseen()
    {
        var sends = Sends(10);
        // A truncated tail: p0's last acknowledged value (10, offset 4) is past everything read.
        var result = QueueChecker.Check([.. sends, .. ReadAll(sends, Final).Where(r => r.Value != 10)]);
        AssertOnly(result, Anomaly.Unseen);
    }

    [Fact]
    public void AcknowledgedWrite_BeyondTheEndOfACompleteFinalRead_IsLost()
    {
        var sends = Sends(10);
        var final = ReadAll(sends, Final).Where(r => r.Value != 10).ToList();
        var result = QueueChecker.Check([.. sends, .. final, End(Final, 0, 4), End(Final, 1, 5)]);
        AssertOnly(result, Anomaly.Lost);
        Assert.Contains("final read", result.Examples(Anomaly.Lost)[0]);
    }

    [Fact]
    public void AcknowledgedWrite_ReadOnce_ThenGoneFromTheFinalRead_IsLost()
    {
        List<HistoryOp> history =
        [
            Invoke(Producer, 1, 0), Ack(Producer, 1, 0, 0),
            Invoke(Producer, 2, 0), Ack(Producer, 2, 0, 1),
            Poll(Consumer, 0, 0, 1), Poll(Consumer, 0, 1, 2),
            // The log was emptied (a restarted broker set its partition aside) and value 3 took offset 0.
            Invoke(Producer, 3, 0), Ack(Producer, 3, 0, 0),
            End(Final, 0, 1), Poll(Final, 0, 0, 3),
        ];
        var result = QueueChecker.Check(history);
        Assert.Equal(2, result.Count(Anomaly.Lost));
        Assert.Equal(1, result.Count(Anomaly.InconsistentOffset));
        // Producer 0's acknowledgements went back from offset 1 to 0.
        Assert.Equal(1, result.Count(Anomaly.NonMonotonicSend));
        Assert.Equal(4, result.TotalAnomalies);
    }

    [Fact]
    public void IncompleteFinalRead_DoesNotCountWhatItDidNotReachAsLost()
    {
        var sends = Sends(10);
        // The final read of p0 stopped at offset 2 of 5: values past it are unseen, not lost.
        var final = ReadAll(sends, Final).Where(r => r.Partition == 1 || r.Offset <= 2).ToList();
        var result = QueueChecker.Check([.. sends, .. final, End(Final, 0, 5), End(Final, 1, 5)]);
        AssertOnly(result, Anomaly.Unseen, 2);
    }

    [Fact]
    public void ValueAtTwoOffsets_IsADuplicate()
    {
        List<HistoryOp> history =
        [
            Invoke(Producer, 1, 0), Ack(Producer, 1, 0, 0),
            Invoke(Producer, 2, 0), Info(Producer, 2, 0),
            // Value 2 written twice (a retry the broker did not deduplicate).
            Poll(Final, 0, 0, 1), Poll(Final, 0, 1, 2), Poll(Final, 0, 2, 2),
        ];
        AssertOnly(QueueChecker.Check(history), Anomaly.Duplicate);
    }

    [Fact]
    public void TwoReadsOfOneOffset_Disagreeing_IsAnInconsistentOffset()
    {
        List<HistoryOp> history =
        [
            Invoke(Producer, 1, 0), Info(Producer, 1, 0),
            Invoke(Producer, 2, 0), Info(Producer, 2, 0),
            // Offset 0 first held 1 (read before a failover), then 2 (the new leader's log).
            Poll(Consumer, 0, 0, 1),
            Poll(Final, 0, 0, 2),
        ];
        AssertOnly(QueueChecker.Check(history), Anomaly.InconsistentOffset);
    }

    [Fact]
    public void ReadDisagreeingWithTheAcknowledgedOffset_IsAnInconsistentOffset_AndTheWriteLost()
    {
        List<HistoryOp> history =
        [
            Invoke(Producer, 1, 0), Ack(Producer, 1, 0, 0),
            // Producer 1's value 3 took offset 0 after value 1 was truncated away.
            Invoke(1, 3, 0), Ack(1, 3, 0, 0),
            Poll(Final, 0, 0, 3),
        ];
        var result = QueueChecker.Check(history);
        Assert.Equal(1, result.Count(Anomaly.InconsistentOffset));
        Assert.Equal(1, result.Count(Anomaly.Lost));
        Assert.Equal(2, result.TotalAnomalies);
    }

    [Fact]
    public void AcknowledgementWithoutAnOffset_IsNoOrderingAnomaly_ButStillLostIfNeverRead()
    {
        List<HistoryOp> history =
        [
            Invoke(Producer, 1, 0), Invoke(Producer, 2, 0), Invoke(Producer, 3, 0),
            // Value 1's answer was lost; librdkafka acknowledges it without an offset once value 2's arrives.
            Ack(Producer, 2, 0, 1), Ack(Producer, 1, 0, -1001), Ack(Producer, 3, 0, 2),
            End(Final, 0, 3), Poll(Final, 0, 0, 1), Poll(Final, 0, 1, 2), Poll(Final, 0, 2, 3),
        ];
        Assert.True(QueueChecker.Check(history).Valid);
        var withoutValue1 = history.Where(op => !(op.Process == Final && op.Value == 1)).ToList();
        Assert.Equal(1, QueueChecker.Check(withoutValue1).Count(Anomaly.Lost));
    }

    [Fact]
    public void ConsumerGoingBackWithoutReset_IsNonMonotonic()
    {
        var sends = Sends(10);
        var reads = ReadAll(sends, Consumer).ToList();
        // p0 offsets 0..4, then offset 2 again with no reset between.
        var p0 = reads.Where(r => r.Partition == 0).ToList();
        var result = QueueChecker.Check([.. sends, .. p0, p0[2], .. ReadAll(sends, Final)]);
        AssertOnly(result, Anomaly.NonMonotonicPoll);
    }

    [Fact]
    public void ConsumerJumpingOverARecordSomeoneRead_IsASkip()
    {
        var sends = Sends(10);
        var p0 = ReadAll(sends, Consumer).Where(r => r.Partition == 0).ToList();
        var result = QueueChecker.Check([.. sends, .. p0.Where((_, i) => i != 2), .. ReadAll(sends, Final)]);
        AssertOnly(result, Anomaly.SkippedPoll);
    }

    [Fact]
    public void ProducerAcknowledgedOutOfSendOrder_IsNonMonotonicSend()
    {
        List<HistoryOp> history =
        [
            Invoke(Producer, 1, 0), Invoke(Producer, 2, 0),
            Ack(Producer, 2, 0, 0), Ack(Producer, 1, 0, 1),
            Poll(Final, 0, 0, 2), Poll(Final, 0, 1, 1),
        ];
        AssertOnly(QueueChecker.Check(history), Anomaly.NonMonotonicSend);
    }

    [Fact]
    public void TwoProducersInterleaving_IsNotNonMonotonicSend()
    {
        List<HistoryOp> history =
        [
            Invoke(0, 1, 0), Invoke(1, 2, 0),
            Ack(1, 2, 0, 0), Ack(0, 1, 0, 1),
            Poll(Final, 0, 0, 2), Poll(Final, 0, 1, 1),
        ];
        Assert.True(QueueChecker.Check(history).Valid);
    }

    [Theory]
    [InlineData("never sent")]
    [InlineData("other partition")]
    [InlineData("failed")]
    [InlineData("sent twice")]
    public void UnexpectedValues_AreFound(string how)
    {
        List<HistoryOp> history = [Invoke(Producer, 1, 0), Ack(Producer, 1, 0, 0), Poll(Final, 0, 0, 1)];
        switch (how)
        {
            case "never sent":
                history.Add(Poll(Final, 0, 1, 99));
                break;
            case "other partition":
                history.AddRange([Invoke(Producer, 2, 1), Info(Producer, 2, 1), Poll(Final, 0, 1, 2)]);
                break;
            case "failed":
                history.AddRange([Invoke(Producer, 2, 0), Fail(Producer, 2, 0), Poll(Final, 0, 1, 2)]);
                break;
            default:
                history.Add(Invoke(1, 1, 0));
                break;
        }
        AssertOnly(QueueChecker.Check(history), Anomaly.Unexpected);
    }

    [Fact]
    public void History_RoundTripsThroughJsonLines_AndATornLastLineIsSkipped()
    {
        var path = Path.GetTempFileName();
        try
        {
            var sends = Sends(4);
            List<HistoryOp> ops = [.. sends, Reset(Consumer), End(Final, 0, 2), new HistoryOp("info", "fatal", Producer, 5, Error: "boom")];
            History.Write(path, ops);
            File.AppendAllText(path, "{\"type\":\"ok\",\"f\":\"po");
            Assert.Equal(ops, History.Read(path));
            Assert.Contains("\"f\":\"send\"", File.ReadAllLines(path)[0]);
            Assert.DoesNotContain("error", File.ReadAllLines(path)[0]);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
