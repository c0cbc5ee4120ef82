using Samsa.Interop.Tests.Infrastructure;

namespace Samsa.Interop.Tests;

/// <summary>The idempotence history checker on histories with one planted fault each: every one is counted, and only it.</summary>
public class DeliveryLedgerTests
{
    /// <summary>Two partitions holding values 0..9 at offsets 0..9, every one acknowledged.</summary>
    private static (List<Acknowledged> Acks, List<Stored> Log) Clean()
    {
        var acks = new List<Acknowledged>();
        var log = new List<Stored>();
        foreach (var p in new[] { 0, 1 })
        {
            for (var v = 0; v < 10; v++)
            {
                acks.Add(new Acknowledged(p, v, v));
                log.Add(new Stored(p, v, v));
            }
        }
        return (acks, log);
    }

    [Fact]
    public void CleanHistory_HasNoViolations()
    {
        var (acks, log) = Clean();
        var ledger = DeliveryLedger.Check(acks, log);
        Assert.True(ledger.Clean, ledger.Describe());
        Assert.Equal(20, ledger.Acknowledged);
        Assert.Equal(20, ledger.StoredCount);
        Assert.Equal(0, ledger.Unacknowledged);
    }

    [Fact]
    public void UnacknowledgedRecordInTheLog_IsAllowed()
    {
        var (acks, log) = Clean();
        acks.RemoveAll(a => a is { Partition: 1, Value: 9 });
        var ledger = DeliveryLedger.Check(acks, log);
        Assert.True(ledger.Clean, ledger.Describe());
        Assert.Equal(1, ledger.Unacknowledged);
    }

    [Fact]
    public void PlantedLoss_IsCounted()
    {
        var (acks, log) = Clean();
        log.RemoveAll(s => s is { Partition: 0, Value: 4 });
        var ledger = DeliveryLedger.Check(acks, log);
        Assert.Equal((1, 0, 0, 0), (ledger.Lost, ledger.Misplaced, ledger.Duplicates, ledger.Reordered));
        Assert.Contains("lost: p0 value 4", ledger.Describe());
    }

    [Fact]
    public void PlantedDuplicate_IsCounted()
    {
        var (acks, log) = Clean();
        // Value 5 of partition 1 written twice, the retry's copy at the end.
        log.Add(new Stored(1, 10, 5));
        var ledger = DeliveryLedger.Check(acks, log);
        Assert.Equal((0, 0, 1, 0), (ledger.Lost, ledger.Misplaced, ledger.Duplicates, ledger.Reordered));
        Assert.Contains("duplicate: p1 value 5 again at offset 10", ledger.Describe());
    }

    [Fact]
    public void PlantedReorder_IsCounted()
    {
        var (acks, log) = Clean();
        // Values 6 and 7 of partition 0 stored the other way round, and acknowledged where they landed.
        log[6] = new Stored(0, 6, 7);
        log[7] = new Stored(0, 7, 6);
        acks[6] = new Acknowledged(0, 7, 6);
        acks[7] = new Acknowledged(0, 6, 7);
        var ledger = DeliveryLedger.Check(acks, log);
        Assert.Equal((0, 0, 0, 1), (ledger.Lost, ledger.Misplaced, ledger.Duplicates, ledger.Reordered));
        Assert.Contains("reordered: p0 value 6 at offset 7 after 7", ledger.Describe());
    }

    [Fact]
    public void AcknowledgementAtAnotherOffset_IsMisplaced()
    {
        var (acks, log) = Clean();
        acks[3] = new Acknowledged(0, 8, 3);
        var ledger = DeliveryLedger.Check(acks, log);
        Assert.Equal((0, 1, 0, 0), (ledger.Lost, ledger.Misplaced, ledger.Duplicates, ledger.Reordered));
    }
}
