using System.Globalization;
using System.Text.Json;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;

namespace Samsa.Interop.Tests.Infrastructure;

/// <summary>What <see cref="TransactionalOutput.CheckAsync"/> found: anomalies (empty when clean) and counts.</summary>
public sealed record CopyCheck(List<string> Problems, string Summary, int AbortedRecords);

/// <summary>
/// The transactional copy tests' input and their judgement of the output. The input's partition P holds values
/// <c>P:0</c>, <c>P:1</c>, ... (<c>txn-fill</c>); a correct copy has exactly those values in that order in output
/// partition P when read with read_committed. Independently of any client, the log itself is read batch by batch and
/// each transactional record is settled by its producer's next COMMIT or ABORT marker: the read_committed reader must
/// have seen exactly the committed records (no aborted or still open one), and no transaction may be left open.
/// </summary>
public static class TransactionalOutput
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromMinutes(3);

    public static Task<ProcessResult> FillAsync(string bootstrap, string topic, int partitions, int records) =>
        ExternalProcess.RunAsync("dotnet", [RepoPaths.ConfluentClientDll, "txn-fill", bootstrap, topic,
            partitions.ToString(CultureInfo.InvariantCulture), records.ToString(CultureInfo.InvariantCulture)], ClientTimeout);

    /// <summary>The group's committed offset of each partition (-1: none), read with require_stable.</summary>
    public static async Task<long[]> CommittedOffsetsAsync(int port, string group, string topic, int partitions)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var connection = await RawKafkaConnection.ConnectAsync(port);
            var response = await connection.RequestAsync<OffsetFetchResponse>(new OffsetFetchRequest
            {
                GroupId = group,
                Topics = [new() { Name = topic, PartitionIndexes = [.. Enumerable.Range(0, partitions)] }],
                RequireStable = true,
            }, 7);
            var errors = response.ErrorCode != 0 || response.Topics.SelectMany(t => t.Partitions).Any(p => p.ErrorCode != 0);
            if (!errors)
            {
                return [.. response.Topics.Single().Partitions.OrderBy(p => p.PartitionIndex).Select(p => p.CommittedOffset)];
            }
            Assert.True(DateTime.UtcNow < deadline, $"OffsetFetch {group}: {response}");
            await Task.Delay(200);
        }
    }

    /// <summary>Reads <paramref name="topic"/> with read_committed through Confluent.Kafka and checks it against the input and the log.</summary>
    public static async Task<CopyCheck> CheckAsync(string bootstrap, int port, string topic, int partitions, long[] inputEnds)
    {
        var problems = new List<string>();
        var expected = (int)inputEnds.Sum();
        var read = await ExternalProcess.RunAsync("dotnet", [RepoPaths.ConfluentClientDll, "txn-read", bootstrap, topic,
            partitions.ToString(CultureInfo.InvariantCulture), "read_committed", expected.ToString(CultureInfo.InvariantCulture)], ClientTimeout);
        Assert.True(read.ExitCode == 0, $"txn-read: {read}");
        var seen = new List<(long Offset, string Value)>[partitions];
        for (var p = 0; p < partitions; p++)
        {
            seen[p] = [];
        }
        foreach (var line in read.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.StartsWith("{\"p\"", StringComparison.Ordinal)))
        {
            var json = JsonDocument.Parse(line).RootElement;
            seen[json.GetProperty("p").GetInt32()].Add((json.GetProperty("o").GetInt64(), json.GetProperty("v").GetString()!));
        }

        var aborted = 0;
        var abortedTransactions = 0;
        for (var p = 0; p < partitions; p++)
        {
            // Exactly once, in order: the values are the input partition's, P:0 .. P:end-1, one after another.
            var values = seen[p].Select(s => s.Value).ToList();
            var expectedValues = Enumerable.Range(0, (int)inputEnds[p]).Select(i => $"{p}:{i}").ToList();
            if (!values.SequenceEqual(expectedValues))
            {
                var at = values.Zip(expectedValues).TakeWhile(z => z.First == z.Second).Count();
                problems.Add($"partition {p}: read_committed saw {values.Count} records, expected {expectedValues.Count}; first difference at #{at}: "
                    + $"saw [{string.Join(",", values.Skip(Math.Max(0, at - 2)).Take(6))}] expected [{string.Join(",", expectedValues.Skip(Math.Max(0, at - 2)).Take(6))}]; "
                    + $"duplicates {values.Count - values.Distinct().Count()}, missing {expectedValues.Except(values).Count()}");
            }

            // The log's own view: what do the markers commit?
            using var connection = await RawKafkaConnection.ConnectAsync(port);
            var log = await ReadSettledAsync(connection, topic, p);
            aborted += log.Aborted.Count;
            abortedTransactions += log.AbortedTransactions;
            if (log.Open.Count > 0)
            {
                problems.Add($"partition {p}: {log.Open.Count} records of still open transactions after the copy, from offset {log.Open.Min()}");
            }
            var readOffsets = seen[p].Select(s => s.Offset).ToList();
            if (!readOffsets.SequenceEqual(log.Committed))
            {
                var visibleAborted = readOffsets.Intersect(log.Aborted).ToList();
                var visibleOpen = readOffsets.Intersect(log.Open).ToList();
                problems.Add($"partition {p}: read_committed returned {readOffsets.Count} records, the markers commit {log.Committed.Count}; "
                    + $"aborted records visible: {visibleAborted.Count} (e.g. {string.Join(",", visibleAborted.Take(5))}), "
                    + $"open records visible: {visibleOpen.Count}, committed records not returned: {log.Committed.Except(readOffsets).Count()}");
            }
        }
        return new CopyCheck(problems, $"read_committed: {seen.Sum(s => s.Count)} records of {expected}; the log holds {aborted} aborted records in {abortedTransactions} aborted transactions", aborted);
    }

    private sealed record Settled(List<long> Committed, HashSet<long> Aborted, HashSet<long> Open, int AbortedTransactions);

    /// <summary>Every data record of a partition, settled by its producer's markers: committed (in offset order), aborted or open.</summary>
    private static async Task<Settled> ReadSettledAsync(RawKafkaConnection connection, string topic, int partition)
    {
        var committed = new List<long>();
        var aborted = new HashSet<long>();
        var pending = new Dictionary<long, List<long>>();
        var abortedTransactions = 0;
        await RawRecords.ReadBatchesAsync(connection, topic, partition, bytes =>
        {
            var batch = new RecordBatchView(bytes.Span);
            var header = batch.Header;
            Assert.True(batch.IsCrcValid, $"{topic}-{partition}: corrupt batch at offset {header.BaseOffset}");
            if (header.IsControl)
            {
                foreach (var record in batch.GetRecords())
                {
                    // A control record's key: version (int16), type (int16): 0 ABORT, 1 COMMIT.
                    var commit = record.Key.Length >= 4 && record.Key[3] == 1;
                    if (pending.Remove(header.ProducerId, out var offsets))
                    {
                        if (commit)
                        {
                            committed.AddRange(offsets);
                        }
                        else
                        {
                            aborted.UnionWith(offsets);
                            abortedTransactions++;
                        }
                    }
                }
            }
            else
            {
                foreach (var record in batch.GetRecords())
                {
                    var recordOffset = header.BaseOffset + record.OffsetDelta;
                    if (header.IsTransactional)
                    {
                        if (!pending.TryGetValue(header.ProducerId, out var open))
                        {
                            pending[header.ProducerId] = open = [];
                        }
                        open.Add(recordOffset);
                    }
                    else
                    {
                        committed.Add(recordOffset);
                    }
                }
            }
        });
        committed.Sort();
        return new Settled(committed, aborted, [.. pending.Values.SelectMany(o => o)], abortedTransactions);
    }
}
