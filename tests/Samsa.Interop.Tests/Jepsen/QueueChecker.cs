using System.Text;

namespace Samsa.Interop.Tests.Jepsen;

/// <summary>The kinds of anomaly <see cref="QueueChecker"/> looks for.</summary>
public enum Anomaly
{
    /// <summary>
    /// An acknowledged send that no read saw, though some read in its partition reached its offset or beyond; or one
    /// missing from a final read that read its partition to the end (even if an earlier read saw it).
    /// </summary>
    Lost,

    /// <summary>An acknowledged send no read saw, and no read reached its offset: after a final read from 0 to the end, loss too.</summary>
    Unseen,

    /// <summary>One value read at two or more offsets.</summary>
    Duplicate,

    /// <summary>One offset holding two or more values: two reads of it disagree, or a read disagrees with the acknowledgement.</summary>
    InconsistentOffset,

    /// <summary>A consumer's next offset in a partition at or below its last one, with no reset between.</summary>
    NonMonotonicPoll,

    /// <summary>A consumer's next offset in a partition jumping over an offset that some read shows holds a record.</summary>
    SkippedPoll,

    /// <summary>One producer's sends to a partition acknowledged at offsets out of their send order.</summary>
    NonMonotonicSend,

    /// <summary>A value read that was never sent, sent to another partition, or whose send certainly failed; or a value sent twice.</summary>
    Unexpected,
}

/// <summary>What <see cref="QueueChecker.Check"/> found: anomalies with examples, and the workload's counts.</summary>
public sealed class QueueCheckResult
{
    private const int ExamplesKept = 10;
    private readonly Dictionary<Anomaly, int> _counts = Enum.GetValues<Anomaly>().ToDictionary(a => a, _ => 0);
    private readonly Dictionary<Anomaly, List<string>> _examples = Enum.GetValues<Anomaly>().ToDictionary(a => a, _ => new List<string>());

    public int Count(Anomaly anomaly) => _counts[anomaly];

    public IReadOnlyList<string> Examples(Anomaly anomaly) => _examples[anomaly];

    public int TotalAnomalies => _counts.Values.Sum();

    public bool Valid => TotalAnomalies == 0;

    public int Invoked { get; internal set; }

    public int Acknowledged { get; internal set; }

    /// <summary>Sends that certainly did not happen.</summary>
    public int Failed { get; internal set; }

    /// <summary>Sends that may or may not have happened: <c>info</c>, or never completed.</summary>
    public int Indeterminate { get; internal set; }

    /// <summary>Indeterminate sends some read saw (they did happen).</summary>
    public int IndeterminateRead { get; internal set; }

    public int Reads { get; internal set; }

    public int DistinctValuesRead { get; internal set; }

    public int Resets { get; internal set; }

    public int FatalErrors { get; internal set; }

    /// <summary>Acknowledged sends over invoked ones.</summary>
    public double Availability => Invoked == 0 ? 0 : (double)Acknowledged / Invoked;

    internal void Add(Anomaly anomaly, string example)
    {
        _counts[anomaly]++;
        if (_examples[anomaly].Count < ExamplesKept)
        {
            _examples[anomaly].Add(example);
        }
    }

    public string Summary() =>
        $"sends: {Invoked} invoked, {Acknowledged} ok, {Failed} failed, {Indeterminate} indeterminate ({IndeterminateRead} of them read); availability {Availability:P1}; "
        + $"reads: {Reads} ({DistinctValuesRead} distinct values), {Resets} resets; producer fatal errors {FatalErrors}; anomalies: "
        + string.Join(", ", Enum.GetValues<Anomaly>().Select(a => $"{a} {_counts[a]}"));

    public string Describe()
    {
        var text = new StringBuilder(Summary());
        foreach (var anomaly in Enum.GetValues<Anomaly>().Where(a => _counts[a] > 0))
        {
            text.Append('\n').Append(anomaly).Append(':');
            foreach (var example in _examples[anomaly])
            {
                text.Append("\n  ").Append(example);
            }
            if (_counts[anomaly] > _examples[anomaly].Count)
            {
                text.Append($"\n  ... {_counts[anomaly] - _examples[anomaly].Count} more");
            }
        }
        return text.ToString();
    }
}

/// <summary>
/// The checker of Jepsen's Kafka queue workload (<c>jepsen.tests.kafka</c>, as used for Redpanda and Bufstream), for
/// a history of single-value sends with unique values and of consumers reading by assignment:
/// <list type="bullet">
/// <item>every acknowledged send must be read once some read reaches its offset (<see cref="Anomaly.Lost"/>); one no
/// read reached is <see cref="Anomaly.Unseen"/>, which after a final read from offset 0 to every partition's end is
/// loss as well;</item>
/// <item>a value lives at one offset (<see cref="Anomaly.Duplicate"/>) and an offset holds one value, whoever observed
/// it, reads and acknowledgements alike (<see cref="Anomaly.InconsistentOffset"/>);</item>
/// <item>a consumer's offsets in a partition only go up until it resets (<see cref="Anomaly.NonMonotonicPoll"/>), and
/// skip nothing the log holds (<see cref="Anomaly.SkippedPoll"/>: offsets are dense here, idempotent producers and no
/// transactions leave no control records);</item>
/// <item>an idempotent producer's sends to one partition land in send order (<see cref="Anomaly.NonMonotonicSend"/>);</item>
/// <item>only values sent, to that partition, and not certainly failed, are read (<see cref="Anomaly.Unexpected"/>).</item>
/// </list>
/// Indeterminate sends (<c>info</c>, or no completion) may be read or not; a certainly failed one must not be read.
/// </summary>
public static class QueueChecker
{
    private sealed class Send(int process, int partition, int order)
    {
        public int Process { get; } = process;

        public int Partition { get; } = partition;

        public int Order { get; } = order;

        public string Outcome { get; set; } = "pending";

        public long? Offset { get; set; }
    }

    public static QueueCheckResult Check(IEnumerable<HistoryOp> history)
    {
        var result = new QueueCheckResult();
        var sends = new Dictionary<long, Send>();
        // Offsets each value was read at, values read at each offset, offsets read per partition.
        var readAt = new Dictionary<long, SortedSet<(int Partition, long Offset)>>();
        var readValues = new Dictionary<(int Partition, long Offset), SortedSet<long>>();
        var readOffsets = new Dictionary<int, SortedSet<long>>();
        var lastRead = new Dictionary<(int Process, int Partition), long>();
        // Final readers' end offsets and the values they read, per partition.
        var ends = new Dictionary<(int Process, int Partition), long>();
        var finalValues = new Dictionary<(int Process, int Partition), (HashSet<long> Values, long Highest)>();
        var jumps = new List<(int Process, int Partition, long From, long To)>();
        var order = 0;

        foreach (var op in history)
        {
            switch (op.F, op.Type)
            {
                case ("send", "invoke"):
                    if (sends.ContainsKey(op.Value!.Value))
                    {
                        result.Add(Anomaly.Unexpected, $"value {op.Value} sent twice (process {op.Process})");
                        break;
                    }
                    sends[op.Value.Value] = new Send(op.Process, op.Partition!.Value, order++);
                    result.Invoked++;
                    break;
                case ("send", "ok" or "fail" or "info"):
                    if (!sends.TryGetValue(op.Value!.Value, out var send))
                    {
                        result.Add(Anomaly.Unexpected, $"value {op.Value} completed ({op.Type}) without an invoke (process {op.Process})");
                        break;
                    }
                    send.Outcome = op.Type;
                    // A negative offset is none: librdkafka acknowledges a batch whose own answer was lost, once a
                    // later batch of the same idempotent producer is acknowledged, with no offset (-1001).
                    send.Offset = op.Offset is >= 0 ? op.Offset : null;
                    break;
                case ("poll", "ok"):
                    {
                        var (partition, offset, value) = (op.Partition!.Value, op.Offset!.Value, op.Value!.Value);
                        result.Reads++;
                        (readAt.TryGetValue(value, out var positions) ? positions : readAt[value] = []).Add((partition, offset));
                        (readValues.TryGetValue((partition, offset), out var values) ? values : readValues[(partition, offset)] = []).Add(value);
                        (readOffsets.TryGetValue(partition, out var offsets) ? offsets : readOffsets[partition] = []).Add(offset);
                        if (lastRead.TryGetValue((op.Process, partition), out var last))
                        {
                            if (offset <= last)
                            {
                                result.Add(Anomaly.NonMonotonicPoll, $"process {op.Process} read p{partition} offset {offset} after offset {last}");
                            }
                            else if (offset > last + 1)
                            {
                                jumps.Add((op.Process, partition, last, offset));
                            }
                        }
                        lastRead[(op.Process, partition)] = offset;
                        var mine = finalValues.TryGetValue((op.Process, partition), out var found) ? found : finalValues[(op.Process, partition)] = ([], -1);
                        mine.Values.Add(value);
                        finalValues[(op.Process, partition)] = (mine.Values, Math.Max(mine.Highest, offset));
                        break;
                    }
                case ("reset", _):
                    result.Resets++;
                    foreach (var key in lastRead.Keys.Where(k => k.Process == op.Process && (op.Partition is null || k.Partition == op.Partition)).ToList())
                    {
                        lastRead.Remove(key);
                    }
                    break;
                case ("end", "ok"):
                    ends[(op.Process, op.Partition!.Value)] = op.Offset!.Value;
                    break;
                case ("fatal", _):
                    result.FatalErrors++;
                    break;
                default:
                    break;
            }
        }

        // Reads against what was sent.
        foreach (var (value, positions) in readAt)
        {
            if (!sends.TryGetValue(value, out var send))
            {
                result.Add(Anomaly.Unexpected, $"value {value} read at {Positions(positions)} was never sent");
            }
            else if (positions.Any(p => p.Partition != send.Partition))
            {
                result.Add(Anomaly.Unexpected, $"value {value} sent to p{send.Partition} read at {Positions(positions)}");
            }
            else if (send.Outcome == "fail")
            {
                result.Add(Anomaly.Unexpected, $"value {value} certainly failed, yet read at {Positions(positions)}");
            }
            if (positions.Count > 1)
            {
                result.Add(Anomaly.Duplicate, $"value {value} read at {Positions(positions)}");
            }
        }

        // Offsets: every observer must agree, the acknowledgement included.
        var observed = readValues.ToDictionary(kv => kv.Key, kv => new SortedSet<long>(kv.Value));
        foreach (var (value, send) in sends.Where(s => s.Value is { Outcome: "ok", Offset: not null }))
        {
            var key = (send.Partition, send.Offset!.Value);
            (observed.TryGetValue(key, out var values) ? values : observed[key] = []).Add(value);
        }
        foreach (var ((partition, offset), values) in observed.OrderBy(kv => kv.Key))
        {
            if (values.Count > 1)
            {
                var acked = values.Where(v => sends.TryGetValue(v, out var s) && s.Outcome == "ok" && s.Partition == partition && s.Offset == offset).ToList();
                result.Add(Anomaly.InconsistentOffset, $"p{partition} offset {offset} holds {string.Join(", ", values)}"
                    + (acked.Count > 0 ? $" (acknowledged: {string.Join(", ", acked)})" : ""));
            }
        }

        // Final reads that reached their partition's end: the log as it stands, which must hold every acknowledged send.
        var complete = ends.Where(e => e.Value == 0 || finalValues.TryGetValue(e.Key, out var f) && f.Highest >= e.Value - 1)
            .GroupBy(e => e.Key.Partition)
            .ToDictionary(g => g.Key, g => g.Select(e => (e.Key.Process, End: e.Value, Values: finalValues.TryGetValue(e.Key, out var f) ? f.Values : [])).ToList());

        // Acknowledged sends that were not read.
        foreach (var (value, send) in sends.OrderBy(s => s.Value.Order))
        {
            var read = readAt.ContainsKey(value);
            if (send.Outcome is "info" or "pending")
            {
                result.Indeterminate++;
                if (read)
                {
                    result.IndeterminateRead++;
                }
                continue;
            }
            if (send.Outcome == "fail")
            {
                result.Failed++;
                continue;
            }
            result.Acknowledged++;
            if (complete.TryGetValue(send.Partition, out var finals))
            {
                if (finals.FirstOrDefault(f => !f.Values.Contains(value)) is { Values: not null } missing)
                {
                    result.Add(Anomaly.Lost, $"value {value} acknowledged at p{send.Partition} offset {send.Offset} is not in process {missing.Process}'s final read "
                        + $"of p{send.Partition} (end offset {missing.End}){(read ? $", though read at {Positions(readAt[value])}" : "")}");
                }
                continue;
            }
            if (read || send.Offset is not { } offset)
            {
                continue;
            }
            var highest = readOffsets.TryGetValue(send.Partition, out var offsets) && offsets.Count > 0 ? offsets.Max : -1;
            if (highest >= offset)
            {
                result.Add(Anomaly.Lost, $"value {value} acknowledged at p{send.Partition} offset {offset} never read; reads reached offset {highest}"
                    + (readValues.TryGetValue((send.Partition, offset), out var there) ? $", which held {string.Join(", ", there)} there" : ""));
            }
            else
            {
                result.Add(Anomaly.Unseen, $"value {value} acknowledged at p{send.Partition} offset {offset} never read; reads reached only offset {highest}");
            }
        }

        // Jumps over offsets that exist.
        foreach (var (process, partition, from, to) in jumps)
        {
            var between = readOffsets[partition].GetViewBetween(from + 1, to - 1);
            if (between.Count > 0)
            {
                result.Add(Anomaly.SkippedPoll, $"process {process} read p{partition} offset {to} after {from}, skipping {between.Count} records (first at offset {between.Min})");
            }
        }

        // Each producer's acknowledged offsets, per partition, in send order.
        foreach (var group in sends.Where(s => s.Value is { Outcome: "ok", Offset: not null }).GroupBy(s => (s.Value.Process, s.Value.Partition)))
        {
            var highest = (Value: 0L, Offset: -1L);
            foreach (var (value, send) in group.OrderBy(s => s.Value.Order))
            {
                if (send.Offset!.Value <= highest.Offset)
                {
                    result.Add(Anomaly.NonMonotonicSend, $"process {group.Key.Process} p{group.Key.Partition}: value {value} acknowledged at offset {send.Offset} after value {highest.Value} at offset {highest.Offset}");
                }
                else
                {
                    highest = (value, send.Offset.Value);
                }
            }
        }

        result.DistinctValuesRead = readAt.Count;
        return result;
    }

    private static string Positions(IEnumerable<(int Partition, long Offset)> positions) =>
        string.Join(", ", positions.Select(p => $"p{p.Partition}@{p.Offset}"));
}
