using Samsa.Interop.Tests.Infrastructure;

namespace Samsa.Interop.Tests;

/// <summary>
/// What the members of a group consumed, read back from their JSON-line events: ownership spans (from one
/// assignment of a partition to the member's next assignment, revocation or exit), the records read in each span,
/// and every commit, as requested and as confirmed. It answers the at-least-once questions: was any produced record never consumed,
/// did a span skip or repeat an offset, did each span start at the group's committed offset, how many records were
/// read twice.
/// </summary>
internal sealed class GroupLedger
{
    public sealed record Span(string Member, int Partition, long AssignedTs, List<long> Offsets);

    public sealed record Commit(string Member, long Ts, int Partition, long Offset);

    public List<Span> Spans { get; } = [];

    /// <summary>Commits the broker acknowledged, at the time the member printed the acknowledgement.</summary>
    public List<Commit> Commits { get; } = [];

    /// <summary>
    /// Commits as the members were about to send them. A member frozen (SIGSTOP) with a commit in flight prints its
    /// acknowledgement only when it runs again, so a commit may be in force before its "committed" line says so.
    /// </summary>
    public List<Commit> Requested { get; } = [];

    /// <summary>Records printed while the member owned no span of their partition (must stay empty).</summary>
    public List<ClientEvent> Unowned { get; } = [];

    public Dictionary<(int Partition, long Offset), (string Value, int Times)> Consumed { get; } = [];

    public static GroupLedger Read(IEnumerable<ClientProcess> members)
    {
        var ledger = new GroupLedger();
        foreach (var member in members)
        {
            var open = new Dictionary<int, Span>();
            foreach (var e in member.Events)
            {
                switch (e.Name)
                {
                    case "assigned":
                        open.Clear();
                        foreach (var p in e.Partitions)
                        {
                            var span = new Span(member.Name, p, e.Ts, []);
                            ledger.Spans.Add(span);
                            open[p] = span;
                        }
                        break;
                    case "revoked" or "lost" or "closed":
                        open.Clear();
                        break;
                    case "committed":
                        ledger.Commits.Add(new Commit(member.Name, e.Ts, e.Partition, e.Offset));
                        break;
                    case "committing":
                        ledger.Requested.Add(new Commit(member.Name, e.Ts, e.Partition, e.Offset));
                        break;
                    case "record":
                        if (!open.TryGetValue(e.Partition, out var owner))
                        {
                            ledger.Unowned.Add(e);
                            break;
                        }
                        owner.Offsets.Add(e.Offset);
                        var key = (e.Partition, e.Offset);
                        ledger.Consumed[key] = ledger.Consumed.TryGetValue(key, out var seen) ? (seen.Value, seen.Times + 1) : (e.Value, 1);
                        break;
                }
            }
        }
        return ledger;
    }

    public int Duplicates => Consumed.Values.Sum(c => c.Times - 1);

    public int Total => Consumed.Values.Sum(c => c.Times);

    /// <summary>The least the group's committed offset can be at a moment: the largest commit acknowledged before it.</summary>
    public long? CommittedAt(int partition, long ts) =>
        Commits.Where(c => c.Partition == partition && c.Ts <= ts).Select(c => (long?)c.Offset).Max();

    /// <summary>Every violation of at-least-once delivery, as readable lines (empty when all is well).</summary>
    public List<string> Violations(IEnumerable<ClientEvent> sent, long earliestWithoutCommit = 0)
    {
        var problems = new List<string>();
        foreach (var s in sent)
        {
            if (!Consumed.TryGetValue((s.Partition, s.Offset), out var got))
            {
                problems.Add($"lost: {s.Value} at {s.Partition}/{s.Offset}");
            }
            else if (got.Value != s.Value)
            {
                problems.Add($"{s.Partition}/{s.Offset} held {got.Value}, expected {s.Value}");
            }
        }
        foreach (var span in Spans.Where(s => s.Offsets.Count > 0))
        {
            for (var i = 1; i < span.Offsets.Count; i++)
            {
                if (span.Offsets[i] != span.Offsets[i - 1] + 1)
                {
                    problems.Add($"{span.Member} p{span.Partition}: offset {span.Offsets[i]} after {span.Offsets[i - 1]} in one span");
                }
            }
            // A new owner reads from the committed offset, the next offset to read; with none, from the reset point.
            // That is a commit requested before the assignment, and none acknowledged before it was larger.
            var start = span.Offsets[0];
            var atLeast = CommittedAt(span.Partition, span.AssignedTs) ?? earliestWithoutCommit;
            var candidates = Requested.Where(c => c.Partition == span.Partition && c.Ts <= span.AssignedTs).Select(c => c.Offset).Append(earliestWithoutCommit);
            if (start < atLeast || !candidates.Contains(start))
            {
                problems.Add($"{span.Member} p{span.Partition}: span assigned at {span.AssignedTs} started at {start}, not a commit requested before it (acknowledged commit was {atLeast})");
            }
        }
        problems.AddRange(Unowned.Select(e => $"{e.Client} consumed {e.Partition}/{e.Offset} without owning the partition"));
        return problems;
    }

    /// <summary>Spans that re-read records an earlier span had consumed but not committed before the rebalance.</summary>
    public IEnumerable<(Span Span, long Count)> Rereads()
    {
        foreach (var span in Spans.Where(s => s.Offsets.Count > 0))
        {
            var earlier = Spans.Where(o => o.Partition == span.Partition && o.AssignedTs < span.AssignedTs && o.Offsets.Count > 0)
                .SelectMany(o => o.Offsets).DefaultIfEmpty(-1).Max();
            if (span.Offsets[0] <= earlier)
            {
                yield return (span, Math.Min(earlier, span.Offsets[^1]) - span.Offsets[0] + 1);
            }
        }
    }
}
