using System.Globalization;
using System.Text.RegularExpressions;
using Samsa.Interop.Tests.Infrastructure;
using static Samsa.Interop.Tests.Infrastructure.BinScripts;
using static Samsa.Interop.Tests.LocalClusterTests;

namespace Samsa.Interop.Tests;

/// <summary>
/// Kafka's classic three-broker tutorial, word for word, on <c>samsa-cluster.sh start --nodes 3</c>: a topic with
/// replication factor 3 whose leaders, replicas and ISRs spread over brokers 1, 2 and 3; records written with kcat
/// (acks=all); one broker killed with SIGKILL, after which <c>--describe</c> shows it gone from every ISR and
/// <c>--under-replicated-partitions</c> lists every partition, while kcat still reads every record; the broker
/// started again catches up and rejoins, and nothing is under-replicated any more.
/// </summary>
public sealed partial class ReplicationTutorialTests
{
    private const int Records = 300;

    [GeneratedRegex(@"^\tTopic: [\w.-]+\tPartition: (\d+)\tLeader: (\d+|none)\tReplicas: ([\d,]+)\tIsr: ([\d,]*)\t", RegexOptions.Multiline)]
    private static partial Regex PartitionLine();

    private sealed record Row(int Partition, string Leader, int[] Replicas, int[] Isr);

    private static List<Row> Rows(string describe) => [.. PartitionLine().Matches(describe).Select(m => new Row(
        int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture),
        m.Groups[2].Value,
        [.. m.Groups[3].Value.Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture))],
        [.. m.Groups[4].Value.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(v => int.Parse(v, CultureInfo.InvariantCulture))]))];

    [Fact]
    public async Task ThreeBrokerTutorial_ReplicasSpread_IsrShrinksOnKill_AndGrowsBackOnRestart()
    {
        var baseDir = Directory.CreateTempSubdirectory("samsa-replication-tutorial-").FullName;
        var (brokerBase, controllerBase) = FreePortRanges(3);
        var bootstrap = string.Join(",", Enumerable.Range(0, 3).Select(i => $"localhost:{brokerBase + i}"));
        try
        {
            var start = await Bin("samsa-cluster.sh", "start", "--nodes", "3", "--base-dir", baseDir, "--base-port", Text(brokerBase), "--controller-base-port", Text(controllerBase));
            Assert.True(start.ExitCode == 0, start + Logs(baseDir));

            var create = await Bin("kafka-topics.sh", "--create", "--topic", "first-test", "--partitions", "3", "--replication-factor", "3", "--bootstrap-server", bootstrap);
            Assert.True(create.ExitCode == 0, create.ToString());
            Assert.Equal("Created topic first-test.\n", create.Stdout);

            var describe = await Bin("kafka-topics.sh", "--describe", "--topic", "first-test", "--bootstrap-server", bootstrap);
            Assert.True(describe.ExitCode == 0, describe.ToString());
            Assert.Matches(@"^Topic: first-test\tTopicId: [A-Za-z0-9_-]{22}\tPartitionCount: 3\tReplicationFactor: 3\tConfigs: ", describe.Stdout);
            var rows = Rows(describe.Stdout);
            Assert.Equal([0, 1, 2], rows.Select(r => r.Partition));
            // Leaders spread over the three brokers; every partition on all three, all in sync.
            Assert.Equal(["1", "2", "3"], rows.Select(r => r.Leader).Order());
            Assert.All(rows, r => Assert.Equal([1, 2, 3], r.Replicas.Order()));
            Assert.All(rows, r => Assert.Equal([1, 2, 3], r.Isr.Order()));
            Assert.All(rows, r => Assert.Equal(r.Leader, Text(r.Replicas[0])));

            var input = string.Join("\n", Enumerable.Range(0, Records).Select(i => $"record-{i}")) + "\n";
            var produce = await ExternalProcess.RunAsync("kcat", ["-P", "-b", bootstrap, "-t", "first-test", "-X", "acks=all", "-X", "partitioner=murmur2_random"], TimeSpan.FromSeconds(60), input);
            Assert.True(produce.ExitCode == 0, produce.ToString());

            // kill -9 broker 2: once the controller fences it, it is in no ISR and leads nothing.
            var pid = int.Parse((await File.ReadAllTextAsync(Path.Combine(baseDir, "node-2", "logs", "samsa-server.pid"))).Trim(), CultureInfo.InvariantCulture);
            await ExternalProcess.RunAsync("kill", ["-9", Text(pid)], TimeSpan.FromSeconds(10));
            var shrunk = await WaitForDescribeAsync(bootstrap, rows => rows.Count == 3 && rows.All(r => !r.Isr.Contains(2) && r.Leader != "2"), "broker 2 out of every ISR");
            Assert.All(shrunk, r => Assert.Equal([1, 3], r.Isr.Order()));

            var under = await Bin("kafka-topics.sh", "--describe", "--under-replicated-partitions", "--bootstrap-server", bootstrap);
            Assert.True(under.ExitCode == 0, under.ToString());
            Assert.Equal([0, 1, 2], Rows(under.Stdout).Select(r => r.Partition));

            var consume = await ExternalProcess.RunAsync("kcat", ["-C", "-b", bootstrap, "-t", "first-test", "-o", "beginning", "-e", "-q"], TimeSpan.FromSeconds(60));
            Assert.True(consume.ExitCode == 0, consume.ToString());
            Assert.Equal(Enumerable.Range(0, Records).Select(i => $"record-{i}").Order(), consume.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order());

            // Broker 2 comes back on its own data: it catches up and rejoins every ISR.
            var restart = await ExternalProcess.RunAsync("bash", ["-c", $"LOG_DIR={baseDir}/node-2/logs {RepoPaths.Root}/bin/kafka-server-start.sh -daemon {baseDir}/node-2/server.properties"], TimeSpan.FromSeconds(60));
            Assert.True(restart.ExitCode == 0, restart.ToString());
            await WaitForDescribeAsync(bootstrap, rows => rows.Count == 3 && rows.All(r => r.Isr.Length == 3), "broker 2 back in every ISR");
            var none = await Bin("kafka-topics.sh", "--describe", "--under-replicated-partitions", "--bootstrap-server", bootstrap);
            Assert.True(none.ExitCode == 0, none.ToString());
            Assert.Equal("", none.Stdout);
        }
        finally
        {
            await Bin("samsa-cluster.sh", "stop", "--base-dir", baseDir);
            Directory.Delete(baseDir, recursive: true);
        }
    }

    private static async Task<List<Row>> WaitForDescribeAsync(string bootstrap, Func<List<Row>, bool> condition, string what, string topic = "first-test")
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        string last = "";
        while (DateTime.UtcNow < deadline)
        {
            var describe = await Bin("kafka-topics.sh", "--describe", "--topic", topic, "--bootstrap-server", bootstrap);
            last = describe.ToString();
            if (describe.ExitCode == 0 && Rows(describe.Stdout) is var rows && condition(rows))
            {
                return rows;
            }
            await Task.Delay(500);
        }
        throw new TimeoutException($"Timed out waiting for {what}; last describe:\n{last}");
    }

    [Fact]
    public async Task FollowerFetching_AConsumerWithClientRackReadsFromTheReplicaInItsRack()
    {
        var baseDir = Directory.CreateTempSubdirectory("samsa-follower-fetching-").FullName;
        var (brokerBase, controllerBase) = FreePortRanges(3);
        var bootstrap = string.Join(",", Enumerable.Range(0, 3).Select(i => $"localhost:{brokerBase + i}"));
        try
        {
            var start = await Bin("samsa-cluster.sh", "start", "--nodes", "3", "--base-dir", baseDir, "--base-port", Text(brokerBase), "--controller-base-port", Text(controllerBase));
            Assert.True(start.ExitCode == 0, start + Logs(baseDir));
            // KIP-392 as an operator sets it up: each broker in its own rack, the rack-aware selector on.
            var stop = await Bin("samsa-cluster.sh", "stop", "--base-dir", baseDir);
            Assert.True(stop.ExitCode == 0, stop.ToString());
            for (var id = 1; id <= 3; id++)
            {
                await File.AppendAllTextAsync(Path.Combine(baseDir, $"node-{id}", "server.properties"),
                    $"broker.rack=rack-{id}\nreplica.selector.class=org.apache.kafka.common.replica.RackAwareReplicaSelector\n");
                var node = await ExternalProcess.RunAsync("bash", ["-c", $"LOG_DIR={baseDir}/node-{id}/logs {RepoPaths.Root}/bin/kafka-server-start.sh -daemon {baseDir}/node-{id}/server.properties"], TimeSpan.FromSeconds(60));
                Assert.True(node.ExitCode == 0, node.ToString());
            }
            var registered = DateTime.UtcNow.AddSeconds(60);
            while (!(await ExternalProcess.RunAsync("kcat", ["-L", "-b", bootstrap, "-m", "5"], TimeSpan.FromSeconds(30))).Stdout.Contains(" 3 brokers:", StringComparison.Ordinal))
            {
                Assert.True(DateTime.UtcNow < registered, "the restarted brokers never all registered");
                await Task.Delay(500);
            }
            var create = await Bin("kafka-topics.sh", "--create", "--topic", "racked", "--partitions", "1", "--replication-factor", "3", "--bootstrap-server", bootstrap);
            Assert.True(create.ExitCode == 0, create.ToString());
            var input = string.Join("\n", Enumerable.Range(0, Records).Select(i => $"record-{i}")) + "\n";
            var produce = await ExternalProcess.RunAsync("kcat", ["-P", "-b", bootstrap, "-t", "racked", "-p", "0", "-X", "acks=all"], TimeSpan.FromSeconds(60), input);
            Assert.True(produce.ExitCode == 0, produce.ToString());
            var rows = await WaitForDescribeAsync(bootstrap, rows => rows.Count == 1 && rows[0].Isr.Length == 3, "a full ISR", "racked");
            var follower = rows[0].Replicas.First(r => Text(r) != rows[0].Leader);

            // librdkafka with client.rack of the follower's rack: the leader names that follower, which serves the reads.
            var consume = await ExternalProcess.RunAsync("kcat", ["-C", "-b", bootstrap, "-t", "racked", "-p", "0", "-o", "beginning", "-e",
                "-X", $"client.rack=rack-{follower}", "-X", "debug=topic,fetch"], TimeSpan.FromSeconds(60));
            Assert.True(consume.ExitCode == 0, consume.ToString());
            Assert.Equal(Enumerable.Range(0, Records).Select(i => $"record-{i}"), consume.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('%')));
            // librdkafka's own account (debug=topic): the leader named the follower, and the partition moved to it.
            Assert.Contains($"migrating from broker {rows[0].Leader} to {follower} (leader is {rows[0].Leader}): preferred replica updated", consume.Stderr);
        }
        finally
        {
            await Bin("samsa-cluster.sh", "stop", "--base-dir", baseDir);
            Directory.Delete(baseDir, recursive: true);
        }
    }
}
