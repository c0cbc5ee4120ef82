namespace Samsa.Interop.Tests.Infrastructure;

/// <summary>A delivery the producer reported acknowledged: the partition, the offset the broker gave, the record's sequence value.</summary>
public readonly record struct Acknowledged(int Partition, long Offset, long Value);

/// <summary>A record as read back from the broker.</summary>
public readonly record struct Stored(int Partition, long Offset, long Value);

/// <summary>
/// The history checker of the idempotence tests: a producer writes values 0, 1, 2, ... to each partition in order;
/// against what it was told was acknowledged and what the log holds, it counts acknowledged records lost (absent
/// from the log, or another value at the acknowledged offset), duplicates (a value stored more than once) and
/// reorderings (in offset order, a value smaller than the one before it). An unacknowledged record in the log is
/// not a fault (its acknowledgement may have been lost with a connection).
/// </summary>
public sealed class DeliveryLedger
{
    private readonly List<string> _problems = [];

    private DeliveryLedger()
    {
    }

    public int Lost { get; private set; }

    public int Misplaced { get; private set; }

    public int Duplicates { get; private set; }

    public int Reordered { get; private set; }

    /// <summary>Values stored that no acknowledgement named (allowed).</summary>
    public int Unacknowledged { get; private set; }

    public int Acknowledged { get; private set; }

    public int StoredCount { get; private set; }

    public bool Clean => Lost == 0 && Misplaced == 0 && Duplicates == 0 && Reordered == 0;

    /// <summary>The first violations, one per line, for an assertion message.</summary>
    public string Describe(int max = 20) =>
        $"acknowledged {Acknowledged}, stored {StoredCount} ({Unacknowledged} not acknowledged): lost {Lost}, misplaced {Misplaced}, duplicates {Duplicates}, reordered {Reordered}"
        + string.Concat(_problems.Take(max).Select(p => "\n  " + p))
        + (_problems.Count > max ? $"\n  ... {_problems.Count - max} more" : "");

    public static DeliveryLedger Check(IEnumerable<Acknowledged> acknowledged, IEnumerable<Stored> stored)
    {
        var ledger = new DeliveryLedger();
        var acks = acknowledged.ToList();
        var byPartition = stored.GroupBy(s => s.Partition).ToDictionary(g => g.Key, g => g.OrderBy(s => s.Offset).ToList());
        ledger.Acknowledged = acks.Count;
        ledger.StoredCount = byPartition.Values.Sum(l => l.Count);

        foreach (var (partition, records) in byPartition)
        {
            var seen = new HashSet<long>();
            for (var i = 0; i < records.Count; i++)
            {
                var r = records[i];
                if (!seen.Add(r.Value))
                {
                    ledger.Duplicates++;
                    ledger._problems.Add($"duplicate: p{partition} value {r.Value} again at offset {r.Offset}");
                }
                else if (i > 0 && r.Value < records[i - 1].Value)
                {
                    ledger.Reordered++;
                    ledger._problems.Add($"reordered: p{partition} value {r.Value} at offset {r.Offset} after {records[i - 1].Value} at {records[i - 1].Offset}");
                }
            }
        }

        var atOffset = byPartition.Values.SelectMany(l => l).GroupBy(s => (s.Partition, s.Offset)).ToDictionary(g => g.Key, g => g.First().Value);
        var values = byPartition.ToDictionary(kv => kv.Key, kv => kv.Value.Select(s => s.Value).ToHashSet());
        foreach (var ack in acks)
        {
            if (!values.TryGetValue(ack.Partition, out var inPartition) || !inPartition.Contains(ack.Value))
            {
                ledger.Lost++;
                ledger._problems.Add($"lost: p{ack.Partition} value {ack.Value} acknowledged at offset {ack.Offset}");
            }
            else if (!atOffset.TryGetValue((ack.Partition, ack.Offset), out var there) || there != ack.Value)
            {
                ledger.Misplaced++;
                ledger._problems.Add($"misplaced: p{ack.Partition} value {ack.Value} acknowledged at offset {ack.Offset}, which holds {(atOffset.ContainsKey((ack.Partition, ack.Offset)) ? there : "nothing")}");
            }
        }
        var ackedValues = acks.Select(a => (a.Partition, a.Value)).ToHashSet();
        ledger.Unacknowledged = byPartition.Values.SelectMany(l => l).Select(s => (s.Partition, s.Value)).Distinct().Count(k => !ackedValues.Contains(k));
        return ledger;
    }
}
