using System.Globalization;
using System.Text.Json;
using Samsa.Interop.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Samsa.Interop.Tests;

/// <summary>
/// Partition reassignment on real processes (3 controllers, brokers 4-6): a replication-factor-2 partition on brokers
/// {4, 5} moved to {5, 6} with <c>kafka-reassign-partitions.sh --execute</c> while an idempotent Confluent.Kafka
/// producer writes with acks=all; <c>--verify</c> until completed; every acknowledged record read back with kcat, none
/// lost or duplicated; broker 4's partition directory gone; <c>kafka-topics.sh --describe</c> shows replicas 5,6.
/// </summary>
public sealed class ReassignmentTests(ITestOutputHelper output)
{
    private const string Topic = "moving";
    private const int Records = 2_000;
    private const int Rate = 150;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task MovingAReplicaUnderIdempotentLoad_LosesAndDuplicatesNothing_AndTheOldReplicaIsDeleted()
    {
        Peers.Require("kcat");
        await using var cluster = await KRaftCluster.StartAsync(controllers: 3, brokers: 3, extraConfig: new Dictionary<string, string>
        {
            ["replica.fetch.backoff.ms"] = "200",
            ["log.segment.delete.delay.ms"] = "500",
        });
        var bootstrap = cluster.BrokerBootstrap;
        await WaitUntilAsync(async () => (await ExternalProcess.RunAsync("kcat", ["-b", bootstrap, "-L", "-m", "5"], Timeout)).Stdout.Contains(" 3 brokers:", StringComparison.Ordinal),
            () => "three brokers in the metadata");
        ProcessResult? step = null;
        await WaitUntilAsync(async () => (step = await Tool("kafka-topics.sh", "--bootstrap-server", bootstrap, "--create", "--topic", Topic, "--replica-assignment", "4:5")).ExitCode == 0,
            () => $"the topic on brokers 4 and 5: {step}");
        await WaitUntilAsync(async () => (step = await Tool("kafka-topics.sh", "--bootstrap-server", bootstrap, "--describe", "--topic", Topic)).Stdout.Contains("Isr: 4,5", StringComparison.Ordinal),
            () => $"both replicas in sync: {step}");

        var producing = ExternalProcess.RunAsync("dotnet", [RepoPaths.ConfluentClientDll, "idempotent-fault-produce", bootstrap, Topic, "1",
            Records.ToString(CultureInfo.InvariantCulture), Rate.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(90));
        await Task.Delay(TimeSpan.FromSeconds(3));

        var plan = Path.Combine(Path.GetTempPath(), $"reassign-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(plan, $$"""{"version":1,"partitions":[{"topic":"{{Topic}}","partition":0,"replicas":[5,6],"log_dirs":["any","any"]}]}""");
        try
        {
            var executed = await Tool("kafka-reassign-partitions.sh", "--bootstrap-server", bootstrap, "--reassignment-json-file", plan, "--execute");
            Assert.True(executed.ExitCode == 0, executed.ToString());
            Assert.Equal(
                "Current partition replica assignment\n\n"
                + $$"""{"version":1,"partitions":[{"topic":"{{Topic}}","partition":0,"replicas":[4,5],"log_dirs":["any","any"]}]}""" + "\n\n"
                + "Save this to use as the --reassignment-json-file option during rollback\n"
                + $"Successfully started partition reassignment for {Topic}-0\n",
                executed.Stdout);

            await WaitUntilAsync(async () => (step = await Tool("kafka-reassign-partitions.sh", "--bootstrap-server", bootstrap, "--reassignment-json-file", plan, "--verify"))
                .Stdout.Contains($"Reassignment of partition {Topic}-0 is completed.", StringComparison.Ordinal), () => $"the reassignment to complete: {step}");
            Assert.StartsWith("Status of partition reassignment:\n", step!.Stdout, StringComparison.Ordinal);
            Assert.False(producing.IsCompleted, "the producer finished before the reassignment did: it ran under no load");
            output.WriteLine(step.Stdout);
            var listed = await Tool("kafka-reassign-partitions.sh", "--bootstrap-server", bootstrap, "--list");
            Assert.Equal("No partition reassignments found.\n", listed.Stdout);
        }
        finally
        {
            File.Delete(plan);
        }

        var produced = await producing;
        var acknowledged = new List<Acknowledged>();
        foreach (var line in produced.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.StartsWith('{')))
        {
            var json = JsonDocument.Parse(line).RootElement;
            if (json.TryGetProperty("o", out var offset))
            {
                acknowledged.Add(new Acknowledged(json.GetProperty("p").GetInt32(), offset.GetInt64(), json.GetProperty("v").GetInt64()));
            }
        }
        var stderrTail = produced.Stderr[Math.Max(0, produced.Stderr.Length - 4000)..];
        Assert.True(produced.ExitCode == 0 && acknowledged.Count == Records, $"{acknowledged.Count} of {Records} acknowledged, exit {produced.ExitCode}\n{stderrTail}");

        var consumed = await ExternalProcess.RunAsync("kcat", ["-b", bootstrap, "-C", "-t", Topic, "-o", "beginning", "-e", "-q", "-f", "%p %o %s\n"], TimeSpan.FromSeconds(60));
        var stored = consumed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' '))
            .Select(f => new Stored(int.Parse(f[0], CultureInfo.InvariantCulture), long.Parse(f[1], CultureInfo.InvariantCulture), long.Parse(f[2], CultureInfo.InvariantCulture)))
            .ToList();
        var ledger = DeliveryLedger.Check(acknowledged, stored);
        output.WriteLine(ledger.Describe());
        Assert.True(ledger.Clean, ledger.Describe());
        Assert.Equal(Records, ledger.StoredCount);

        // Broker 4 no longer hosts the partition: its directory was renamed for deletion and then deleted.
        var dataDir = Path.Combine(cluster[4]!.Directory, "data");
        await WaitUntilAsync(() => Task.FromResult(!Directory.EnumerateDirectories(dataDir, $"{Topic}-0*").Any()),
            () => $"broker 4's {Topic}-0 directory to go: {string.Join(", ", Directory.EnumerateDirectories(dataDir))}");
        Assert.True(Directory.Exists(Path.Combine(cluster[6]!.Directory, "data", $"{Topic}-0")));

        var described = await Tool("kafka-topics.sh", "--bootstrap-server", bootstrap, "--describe", "--topic", Topic);
        Assert.Contains("Replicas: 5,6", described.Stdout, StringComparison.Ordinal);

        // --generate proposes a placement on the given brokers, after the current one.
        var topics = Path.Combine(Path.GetTempPath(), $"topics-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(topics, $$"""{"topics":[{"topic":"{{Topic}}"}],"version":1}""");
        try
        {
            var generated = await Tool("kafka-reassign-partitions.sh", "--bootstrap-server", bootstrap, "--topics-to-move-json-file", topics, "--broker-list", "4,6", "--generate");
            Assert.True(generated.ExitCode == 0, generated.ToString());
            var lines = generated.Stdout.Split('\n');
            Assert.Equal("Current partition replica assignment", lines[0]);
            Assert.Equal($$"""{"version":1,"partitions":[{"topic":"{{Topic}}","partition":0,"replicas":[5,6],"log_dirs":["any","any"]}]}""", lines[1]);
            Assert.Equal("Proposed partition reassignment configuration", lines[3]);
            Assert.Matches($$"""^\{"version":1,"partitions":\[\{"topic":"{{Topic}}","partition":0,"replicas":\[(4,6|6,4)\],"log_dirs":\["any","any"\]\}\]\}$""", lines[4]);
        }
        finally
        {
            File.Delete(topics);
        }
    }

    private static Task<ProcessResult> Tool(string script, params string[] args) => BinScripts.Bin(script, args);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, Func<string> what)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what()}");
            await Task.Delay(200);
        }
    }
}
