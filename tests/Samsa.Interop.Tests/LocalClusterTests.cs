using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Broker.Config;
using Samsa.Interop.Tests.Infrastructure;
using static Samsa.Interop.Tests.Infrastructure.BinScripts;

namespace Samsa.Interop.Tests;

/// <summary>
/// <c>bin/samsa-cluster.sh start/stop</c> (<c>samsa cluster start/stop</c>): three combined nodes as daemons,
/// listed by kcat, a topic's leaders spread over them, all stopped again; its one-line errors; and the sample
/// config/kraft set of 3 controllers and 3 brokers loaded as the server loads it.
/// </summary>
public partial class LocalClusterTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(180);

    [Fact]
    public async Task StartThreeNodes_ServesKcatAndTopics_StopStopsThemAll()
    {
        var baseDir = Directory.CreateTempSubdirectory("samsa-local-cluster-").FullName;
        var (brokerBase, controllerBase) = FreePortRanges(3);
        var clusterId = (await Bin("kafka-storage.sh", "random-uuid")).Stdout.Trim();
        var bootstrap = string.Join(",", Enumerable.Range(0, 3).Select(i => $"localhost:{brokerBase + i}"));
        try
        {
            var start = await Bin("samsa-cluster.sh", "start", "--nodes", "3", "--base-dir", baseDir, "--cluster-id", clusterId,
                "--base-port", Text(brokerBase), "--controller-base-port", Text(controllerBase));
            Assert.True(start.ExitCode == 0, start + Logs(baseDir));
            var lines = start.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Contains($"Bootstrap servers: {bootstrap}", lines);
            Assert.Contains($"Started 3 Samsa node(s) with cluster id {clusterId} in {baseDir}.", lines);
            Assert.Contains($"Node 1: broker localhost:{brokerBase}, controller localhost:{controllerBase}, log {baseDir}/node-1/logs/kafkaServer.out", lines);
            var pids = Enumerable.Range(1, 3).Select(id => int.Parse(File.ReadAllText(Path.Combine(baseDir, $"node-{id}", "logs", "samsa-server.pid")).Trim(), CultureInfo.InvariantCulture)).ToList();
            Assert.All(pids, pid => Assert.True(Runs(pid)));
            Assert.Contains($"controller.quorum.voters=1@localhost:{controllerBase},2@localhost:{controllerBase + 1},3@localhost:{controllerBase + 2}",
                await File.ReadAllTextAsync(Path.Combine(baseDir, "node-2", "server.properties")));

            var kcat = await ExternalProcess.RunAsync("kcat", ["-b", bootstrap, "-L"], TimeSpan.FromSeconds(60));
            Assert.True(kcat.ExitCode == 0, kcat.ToString());
            Assert.Contains(" 3 brokers:", kcat.Stdout);
            for (var id = 1; id <= 3; id++)
            {
                Assert.Matches($@"broker {id} at localhost:{brokerBase + id - 1}\b", kcat.Stdout);
            }

            // Kafka's kafka-cluster.sh subcommands still dispatch through the same `samsa cluster`.
            var id1 = await Bin("samsa-cluster.sh", "cluster-id", "--bootstrap-server", bootstrap);
            Assert.Equal($"Cluster ID: {clusterId}\n", id1.Stdout);

            var create = await Bin("kafka-topics.sh", "--bootstrap-server", bootstrap, "--create", "--topic", "spread", "--replication-factor", "1", "--partitions", "3");
            Assert.True(create.ExitCode == 0, create.ToString());
            var describe = await Bin("kafka-topics.sh", "--bootstrap-server", bootstrap, "--describe", "--topic", "spread");
            Assert.True(describe.ExitCode == 0, describe.ToString());
            var leaders = LeaderPattern().Matches(describe.Stdout).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Order().ToList();
            Assert.Equal([1, 2, 3], leaders);

            var again = await Bin("samsa-cluster.sh", "start", "--nodes", "3", "--base-dir", baseDir, "--base-port", Text(brokerBase), "--controller-base-port", Text(controllerBase));
            Assert.Equal(1, again.ExitCode);
            Assert.Equal($"A cluster is already running in {baseDir} (3 node(s)); stop it with `samsa cluster stop --base-dir {baseDir}`.\n", again.Stderr);

            var stop = await Bin("samsa-cluster.sh", "stop", "--base-dir", baseDir);
            Assert.True(stop.ExitCode == 0, stop.ToString());
            Assert.Equal($"Stopped 3 Samsa node(s) in {baseDir}.\n", stop.Stdout);
            Assert.All(pids, pid => Assert.False(Runs(pid), $"pid {pid} still runs"));
            Assert.All(Enumerable.Range(1, 3), id => Assert.False(File.Exists(Path.Combine(baseDir, $"node-{id}", "logs", "samsa-server.pid"))));
            Assert.All(Enumerable.Range(0, 3), i => Assert.True(PortIsFree(brokerBase + i) && PortIsFree(controllerBase + i)));
        }
        finally
        {
            await Bin("samsa-cluster.sh", "stop", "--base-dir", baseDir);
            Directory.Delete(baseDir, recursive: true);
        }
    }

    [Fact]
    public async Task StopWithNothingRunning_AndStartOnATakenPort_AreOneLineErrors()
    {
        var baseDir = Directory.CreateTempSubdirectory("samsa-local-cluster-").FullName;
        try
        {
            var stop = await Bin("samsa-cluster.sh", "stop", "--base-dir", baseDir);
            Assert.Equal(1, stop.ExitCode);
            Assert.Equal("", stop.Stdout);
            Assert.Equal($"No Samsa cluster is running in {baseDir}.\n", stop.Stderr);

            var missing = Path.Combine(baseDir, "never-started");
            var stopMissing = await Bin("samsa-cluster.sh", "stop", "--base-dir", missing);
            Assert.Equal(1, stopMissing.ExitCode);
            Assert.Equal($"No Samsa cluster is running in {missing}.\n", stopMissing.Stderr);

            var (brokerBase, controllerBase) = FreePortRanges(3);
            using var holder = new TcpListener(IPAddress.Loopback, brokerBase + 1);
            holder.Start();
            var start = await Bin("samsa-cluster.sh", "start", "--nodes", "3", "--base-dir", baseDir, "--base-port", Text(brokerBase), "--controller-base-port", Text(controllerBase));
            Assert.Equal(1, start.ExitCode);
            Assert.Equal("", start.Stdout);
            Assert.Equal($"Port {brokerBase + 1} is already in use; choose other ports with --base-port (and --controller-base-port).\n", start.Stderr);
            Assert.Empty(Directory.EnumerateFileSystemEntries(baseDir));
        }
        finally
        {
            Directory.Delete(baseDir, recursive: true);
        }
    }

    [Fact]
    public void SampleKRaftConfigs_LoadAsTheServerDoes_AndAgreeOnTheVoters()
    {
        var dir = Path.Combine(RepoPaths.Root, "config", "kraft");
        var controllers = Enumerable.Range(1, 3).Select(n => (Id: n, Config: KafkaConfig.Load(Path.Combine(dir, $"controller-{n}.properties"), [], NullLogger.Instance))).ToList();
        var brokers = Enumerable.Range(4, 3).Select(n => (Id: n, Config: KafkaConfig.Load(Path.Combine(dir, $"broker-{n}.properties"), [], NullLogger.Instance))).ToList();
        var all = controllers.Concat(brokers).ToList();

        foreach (var (id, config) in all)
        {
            Assert.Equal(id, config.NodeId);
            Assert.Empty(config.UnknownKeys);
            Assert.Equal(["CONTROLLER"], config.ControllerListenerNames);
        }
        Assert.All(controllers, c => Assert.Equal(["controller"], c.Config.ProcessRoles));
        Assert.All(brokers, b => Assert.Equal(["broker"], b.Config.ProcessRoles));

        // One static voter set, the same in every file: the three controllers at their own controller listeners.
        var voters = all.Select(n => string.Join(",", n.Config.QuorumVoters.Select(v => $"{v.Id}@{v.Endpoints[0].Host}:{v.Endpoints[0].Port}"))).Distinct().ToList();
        Assert.Equal(["1@localhost:9093,2@localhost:9095,3@localhost:9097"], voters);
        foreach (var (id, config) in controllers)
        {
            var listener = Assert.Single(config.Listeners);
            var voter = Assert.Single(config.QuorumVoters, v => v.Id == id);
            Assert.Equal(("CONTROLLER", voter.Endpoints[0].Host, voter.Endpoints[0].Port), (listener.ListenerName, listener.Host, listener.Port));
        }
        Assert.Equal([9092, 9094, 9096], brokers.Select(b => Assert.Single(b.Config.Listeners, l => l.ListenerName == "PLAINTEXT").Port));

        // Every node has its own directory and port.
        Assert.Equal(6, all.SelectMany(n => n.Config.LogDirs).Distinct().Count());
        Assert.Equal(6, all.SelectMany(n => n.Config.Listeners.Select(l => l.Port)).Distinct().Count());
    }

    [GeneratedRegex(@"Partition: \d+\tLeader: (\d+)\t")]
    private static partial Regex LeaderPattern();

    /// <summary>Whether the process is alive: a zombie (exited, waiting for its adopter to reap it) is not.</summary>
    internal static bool Runs(int pid)
    {
        try
        {
            return !File.ReadLines($"/proc/{pid}/status").Any(l => l.StartsWith("State:", StringComparison.Ordinal) && l.Contains('Z', StringComparison.Ordinal));
        }
        catch (IOException)
        {
            return false;
        }
    }

    internal static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    internal static string Logs(string baseDir) =>
        string.Concat(Directory.EnumerateFiles(baseDir, "kafkaServer.out", SearchOption.AllDirectories).Select(f => $"\n--- {f}\n{File.ReadAllText(f)}"));

    /// <summary>
    /// Two ranges of <paramref name="count"/> consecutive free ports, below the ephemeral range (32768-60999) so
    /// that no outgoing connection takes one between this check and the cluster's start.
    /// </summary>
    internal static (int Brokers, int Controllers) FreePortRanges(int count)
    {
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            var brokers = Random.Shared.Next(20000, 26000);
            var controllers = Random.Shared.Next(26000, 32000);
            if (Enumerable.Range(0, count).All(i => PortIsFree(brokers + i) && PortIsFree(controllers + i)))
            {
                return (brokers, controllers);
            }
        }
        throw new InvalidOperationException("no free port ranges");
    }

    private static bool PortIsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Any, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
