using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Samsa.Interop.Tests.Infrastructure;

namespace Samsa.Interop.Tests;

/// <summary>
/// <c>kafka-verifiable-producer.sh</c> and <c>kafka-verifiable-consumer.sh</c> run as processes against a broker
/// process; their JSON event lines are parsed and checked the way Kafka's system tests use them: every acked
/// offset is contiguous per partition, and the consumer sees each one exactly once.
/// </summary>
public class VerifiableToolsTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private static string Script(string name) => Path.Combine(RepoPaths.Root, "bin", name);

    private static List<JsonElement> Events(string stdout) =>
        [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    private static string Name(JsonElement e) => e.GetProperty("name").GetString()!;

    /// <summary>Kafka's field order: timestamp and name first, then the event's own fields.</summary>
    private static void AssertFields(JsonElement e, params string[] fields) =>
        Assert.Equal(["timestamp", "name", .. fields], e.EnumerateObject().Select(p => p.Name));

    /// <summary>Checks the producer's events; returns the acked (partition, offset, key, value) in order of acknowledgement.</summary>
    private static List<(int Partition, long Offset, string? Key, string Value)> AckedSends(List<JsonElement> events, string topic, long expectedSent)
    {
        Assert.Equal("startup_complete", Name(events[0]));
        AssertFields(events[0]);
        Assert.Equal("shutdown_complete", Name(events[^2]));
        var toolData = events[^1];
        Assert.Equal("tool_data", Name(toolData));
        AssertFields(toolData, "sent", "acked", "target_throughput", "avg_throughput");
        var sends = events[1..^2];
        Assert.All(sends, e => Assert.Equal("producer_send_success", Name(e)));
        var acked = sends.Select(e =>
        {
            AssertFields(e, "key", "value", "topic", "partition", "offset");
            Assert.Equal(topic, e.GetProperty("topic").GetString());
            return (e.GetProperty("partition").GetInt32(), e.GetProperty("offset").GetInt64(), e.GetProperty("key").GetString(), e.GetProperty("value").GetString()!);
        }).ToList();
        Assert.Equal(expectedSent, toolData.GetProperty("sent").GetInt64());
        Assert.Equal(acked.Count, toolData.GetProperty("acked").GetInt64());
        Assert.True(toolData.GetProperty("avg_throughput").GetDouble() > 0, toolData.ToString());
        // Every partition's acked offsets run 0, 1, 2, ... with no gap and no repeat.
        foreach (var partition in acked.GroupBy(a => a.Item1))
        {
            Assert.Equal(Enumerable.Range(0, partition.Count()).Select(i => (long)i), partition.Select(a => a.Item2).Order());
        }
        return acked;
    }

    [Fact]
    public async Task VerifiableProducer_AcksEveryMessage_WithContiguousOffsetsPerPartition()
    {
        const string topic = "verifiable-produce";
        await TopicAdmin.CreateAsync(fixture.Broker.Port, topic, partitions: 3);
        var result = await ExternalProcess.RunAsync(Script("kafka-verifiable-producer.sh"),
            ["--topic", topic, "--bootstrap-server", fixture.Broker.Bootstrap, "--max-messages", "300", "--acks", "-1",
             "--repeating-keys", "7", "--value-prefix", "9", "--message-create-time", "1700000000000"], Timeout);
        Assert.True(result.ExitCode == 0, result.ToString());
        var events = Events(result.Stdout);
        var acked = AckedSends(events, topic, expectedSent: 300);
        Assert.Equal(300, acked.Count);
        Assert.Equal(Enumerable.Range(0, 300).Select(i => $"9.{i}"), acked.Select(a => a.Value).OrderBy(v => int.Parse(v[2..])));
        // Keys cycle 0..6 with the value's sequence number, and one key always lands on one partition.
        Assert.All(acked, a => Assert.Equal((int.Parse(a.Value[2..]) % 7).ToString(), a.Key));
        Assert.All(acked.GroupBy(a => a.Key), g => Assert.Single(g.Select(a => a.Partition).Distinct()));
        Assert.Equal(-1, events[^1].GetProperty("target_throughput").GetInt64());
        var total = 0L;
        for (var p = 0; p < 3; p++)
        {
            total += await TopicAdmin.EndOffsetAsync(fixture.Broker.Port, topic, p);
        }
        Assert.Equal(300, total);
    }

    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public async Task VerifiableProducer_StopsCleanlyOnSignal_AndReportsWhatWasAcked(string signal)
    {
        var topic = $"verifiable-signal-{signal}";
        await TopicAdmin.CreateAsync(fixture.Broker.Port, topic);
        var (exitCode, stdout) = await RunUntilSignal(Script("kafka-verifiable-producer.sh"),
            ["--topic", topic, "--bootstrap-server", fixture.Broker.Bootstrap, "--throughput", "200"],
            signal, line => line.Contains("\"offset\":20}", StringComparison.Ordinal));
        Assert.True(exitCode == 0, stdout);
        var events = Events(stdout);
        var acked = AckedSends(events, topic, expectedSent: events[^1].GetProperty("sent").GetInt64());
        Assert.True(acked.Count > 20, stdout);
        Assert.Equal(acked.Count, events[^1].GetProperty("sent").GetInt64());
        Assert.Equal(200, events[^1].GetProperty("target_throughput").GetInt64());
        Assert.Equal(acked.Count, await TopicAdmin.EndOffsetAsync(fixture.Broker.Port, topic));
    }

    [Fact]
    public async Task VerifiableConsumer_SeesEveryAckedOffsetOnce_AndCommitsThem()
    {
        const string topic = "verifiable-consume";
        await TopicAdmin.CreateAsync(fixture.Broker.Port, topic, partitions: 3);
        var produced = await ExternalProcess.RunAsync(Script("kafka-verifiable-producer.sh"),
            ["--topic", topic, "--bootstrap-server", fixture.Broker.Bootstrap, "--max-messages", "500", "--repeating-keys", "11"], Timeout);
        Assert.True(produced.ExitCode == 0, produced.ToString());
        var acked = AckedSends(Events(produced.Stdout), topic, expectedSent: 500);

        var result = await ExternalProcess.RunAsync(Script("kafka-verifiable-consumer.sh"),
            ["--topic", topic, "--bootstrap-server", fixture.Broker.Bootstrap, "--group-id", "verifiable-group", "--max-messages", "500",
             "--session-timeout", "10000", "--reset-policy", "earliest", "--verbose"], Timeout);
        Assert.True(result.ExitCode == 0, result.ToString());
        var events = Events(result.Stdout);
        Assert.Equal("startup_complete", Name(events[0]));
        Assert.Equal("shutdown_complete", Name(events[^1]));

        var assigned = events.First(e => Name(e) == "partitions_assigned");
        AssertFields(assigned, "partitions");
        Assert.Equal([0, 1, 2], assigned.GetProperty("partitions").EnumerateArray().Select(p => p.GetProperty("partition").GetInt32()).Order());

        // Offsets from the records_consumed summaries and from record_data must both equal what the producer had acked.
        var fromSummaries = new List<(int, long)>();
        foreach (var e in events.Where(e => Name(e) == "records_consumed"))
        {
            AssertFields(e, "count", "partitions");
            foreach (var p in e.GetProperty("partitions").EnumerateArray())
            {
                Assert.Equal(["topic", "partition", "count", "minOffset", "maxOffset"], p.EnumerateObject().Select(f => f.Name));
                var (min, max) = (p.GetProperty("minOffset").GetInt64(), p.GetProperty("maxOffset").GetInt64());
                Assert.Equal(max - min + 1, p.GetProperty("count").GetInt64());
                for (var o = min; o <= max; o++)
                {
                    fromSummaries.Add((p.GetProperty("partition").GetInt32(), o));
                }
            }
        }
        var records = events.Where(e => Name(e) == "record_data").ToList();
        Assert.All(records, r => AssertFields(r, "key", "value", "topic", "partition", "offset"));
        var expected = acked.Select(a => (a.Partition, a.Offset)).Order().ToList();
        Assert.Equal(expected, fromSummaries.Order());
        Assert.Equal(acked.Select(a => (a.Partition, a.Offset, a.Key, a.Value)).Order(),
            records.Select(r => (r.GetProperty("partition").GetInt32(), r.GetProperty("offset").GetInt64(), r.GetProperty("key").GetString(), r.GetProperty("value").GetString()!)).Order());

        // Auto-commit is off: each poll's offsets are committed synchronously and reported; the last commit per partition is its end.
        var commits = events.Where(e => Name(e) == "offsets_committed").ToList();
        Assert.NotEmpty(commits);
        Assert.All(commits, c =>
        {
            AssertFields(c, "offsets", "success");
            Assert.True(c.GetProperty("success").GetBoolean(), c.ToString());
        });
        var lastCommitted = commits.SelectMany(c => c.GetProperty("offsets").EnumerateArray())
            .GroupBy(o => o.GetProperty("partition").GetInt32())
            .ToDictionary(g => g.Key, g => g.Last().GetProperty("offset").GetInt64());
        foreach (var partition in acked.GroupBy(a => a.Partition))
        {
            Assert.Equal(partition.Count(), lastCommitted[partition.Key]);
        }
    }

    [Fact]
    public async Task VerifiableConsumer_StaticMemberWithAutoCommit_StopsOnSignal()
    {
        const string topic = "verifiable-consume-static";
        await TopicAdmin.CreateAsync(fixture.Broker.Port, topic, partitions: 2);
        var produced = await ExternalProcess.RunAsync(Script("kafka-verifiable-producer.sh"),
            ["--topic", topic, "--bootstrap-server", fixture.Broker.Bootstrap, "--max-messages", "50", "--repeating-keys", "5"], Timeout);
        Assert.True(produced.ExitCode == 0, produced.ToString());

        var total = 0L;
        var (exitCode, stdout) = await RunUntilSignal(Script("kafka-verifiable-consumer.sh"),
            ["--topic", topic, "--bootstrap-server", fixture.Broker.Bootstrap, "--group-id", "verifiable-static", "--group-instance-id", "member-1",
             "--enable-autocommit", "--assignment-strategy", "org.apache.kafka.clients.consumer.RoundRobinAssignor"],
            "TERM", line =>
            {
                if (line.Contains("\"records_consumed\"", StringComparison.Ordinal))
                {
                    total += JsonDocument.Parse(line).RootElement.GetProperty("partitions").EnumerateArray().Sum(p => p.GetProperty("count").GetInt64());
                }
                return total >= 50;
            });
        Assert.True(exitCode == 0, stdout);
        var events = Events(stdout);
        Assert.Equal("shutdown_complete", Name(events[^1]));
        Assert.DoesNotContain(events, e => Name(e) == "offsets_committed");
        Assert.Equal(50, events.Where(e => Name(e) == "records_consumed").SelectMany(e => e.GetProperty("partitions").EnumerateArray()).Sum(p => p.GetProperty("count").GetInt64()));
    }

    /// <summary>Starts a tool, waits for a line matching <paramref name="ready"/>, sends the signal with kill(1), and collects the rest.</summary>
    private static async Task<(int ExitCode, string Stdout)> RunUntilSignal(string file, string[] args, string signal, Func<string, bool> ready)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        using var process = Process.Start(start)!;
        var stdout = new StringBuilder();
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            lock (stdout)
            {
                stdout.AppendLine(e.Data);
            }
            if (ready(e.Data))
            {
                seen.TrySetResult();
            }
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await seen.Task.WaitAsync(Timeout);
            var kill = await ExternalProcess.RunAsync("kill", [$"-{signal}", process.Id.ToString()], Timeout);
            Assert.Equal(0, kill.ExitCode);
            await process.WaitForExitAsync().WaitAsync(Timeout);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        process.WaitForExit();
        lock (stdout)
        {
            return (process.ExitCode, stdout.ToString());
        }
    }
}
