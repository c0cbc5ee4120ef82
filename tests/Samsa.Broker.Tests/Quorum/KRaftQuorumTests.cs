using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Samsa.Broker.Config;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Tests.Quorum;

/// <summary>
/// Three nodes in one process forming a KRaft quorum over real sockets (static voters): they elect a leader whose
/// controller becomes active, every node's image follows the committed log, and when the leader stops the other two
/// elect a new one that carries on from the same log.
/// </summary>
public sealed class KRaftQuorumTests
{
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    internal sealed class Cluster : IAsyncDisposable
    {
        public List<TempDir> Dirs { get; } = [];
        public Dictionary<int, KafkaBroker?> Nodes { get; } = [];
        public Dictionary<int, (int Broker, int Controller)> Ports { get; } = [];
        public CapturingLoggerProvider Logs { get; } = new();
        public ILoggerFactory LoggerFactory { get; }

        public Cluster() => LoggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(Logs));

        public string Voters => string.Join(",", Ports.Select(p => $"{p.Key}@127.0.0.1:{p.Value.Controller}"));

        /// <summary>Extra broker configs every node starts with.</summary>
        public Dictionary<string, string> Extra { get; } = [];

        /// <summary>Extra broker configs of one node, on top of <see cref="Extra"/>.</summary>
        public Func<int, IReadOnlyDictionary<string, string>>? PerNode { get; set; }

        public static async Task<Cluster> StartAsync(int nodes, IReadOnlyDictionary<string, string>? extra = null, Func<int, IReadOnlyDictionary<string, string>>? perNode = null)
        {
            var cluster = new Cluster { PerNode = perNode };
            foreach (var (key, value) in extra ?? new Dictionary<string, string>())
            {
                cluster.Extra[key] = value;
            }
            for (var id = 1; id <= nodes; id++)
            {
                cluster.Ports[id] = (FreePort(), FreePort());
                var dir = new TempDir();
                // As kafka-storage.sh format: one cluster id on every node.
                new MetaProperties("MkU3OEVBNTcwNTJENDM2Qk", id, Uuid.Random()).Write(dir.Path, DateTimeOffset.UtcNow);
                cluster.Dirs.Add(dir);
            }
            await Task.WhenAll(Enumerable.Range(1, nodes).Select(cluster.StartNodeAsync));
            return cluster;
        }

        public async Task StartNodeAsync(int id)
        {
            var (broker, controller) = Ports[id];
            var properties = new Dictionary<string, string>
            {
                ["node.id"] = id.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["process.roles"] = "broker,controller",
                ["listeners"] = $"PLAINTEXT://127.0.0.1:{broker},CONTROLLER://127.0.0.1:{controller}",
                ["controller.listener.names"] = "CONTROLLER",
                ["listener.security.protocol.map"] = "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                ["controller.quorum.voters"] = Voters,
                ["log.dirs"] = Dirs[id - 1].Path,
            };
            foreach (var (key, value) in Extra.Concat(PerNode?.Invoke(id) ?? new Dictionary<string, string>()))
            {
                properties[key] = value;
            }
            var config = KafkaConfig.FromProperties(properties);
            var node = await KafkaBroker.StartAsync(config, LoggerFactory);
            // The nodes start concurrently; a Dictionary takes one writer at a time.
            lock (Nodes)
            {
                Nodes[id] = node;
            }
        }

        public async Task StopNodeAsync(int id)
        {
            if (Nodes[id] is { } node)
            {
                Nodes[id] = null;
                await node.DisposeAsync();
            }
        }

        public IEnumerable<KafkaBroker> Running => Nodes.Values.Where(n => n is not null).Select(n => n!);

        /// <summary>Waits until every running node names the same leader, one of them, whose controller is active.</summary>
        public async Task<int> WaitForLeaderAsync(TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (DateTime.UtcNow < deadline)
            {
                var leaders = Running.Select(n => n.Quorum!.Leader).Distinct().ToList();
                if (leaders is [{ LeaderId: >= 0 } leader] && Nodes.GetValueOrDefault(leader.LeaderId) is { Controller.IsActive: true })
                {
                    return leader.LeaderId;
                }
                await Task.Delay(50);
            }
            throw new TimeoutException("No leader: " + string.Join(", ", Running.Select(n => $"{n.NodeId}:{n.Quorum!.Leader}")));
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var id in Nodes.Keys.ToList())
            {
                await StopNodeAsync(id);
            }
            LoggerFactory.Dispose();
            Dirs.ForEach(d => d.Dispose());
        }
    }

    [Fact]
    public async Task ThreeNodes_ElectALeader_CommitTheBootstrapFeatures_AndElectAnotherWhenItStops()
    {
        await using var cluster = await Cluster.StartAsync(3);
        var leader = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));

        // The first leader writes metadata.version; every node's image gets it from the committed log.
        await WaitUntil(() => cluster.Running.All(n => n.Metadata.Current.Features.ContainsKey("metadata.version")), "metadata.version on every node");
        var epoch = cluster.Nodes[leader]!.Quorum!.Leader.Epoch;

        await cluster.StopNodeAsync(leader);
        var next = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        Assert.NotEqual(leader, next);
        Assert.True(cluster.Nodes[next]!.Quorum!.Leader.Epoch > epoch);

        // The new controller works from the same log: a feature update commits and reaches both survivors.
        var survivor = cluster.Running.First(n => n.NodeId != next);
        await using var client = await TestClient.ConnectAsync(cluster.Ports[survivor.NodeId].Broker);
        var (_, response) = await client.RequestAsync<UpdateFeaturesResponse>(new UpdateFeaturesRequest
        {
            timeoutMs = 30_000,
            FeatureUpdates = [new UpdateFeaturesRequest.FeatureUpdateKey { Feature = "group.version", MaxVersionLevel = 1, UpgradeType = 1 }],
        }, 1);
        Assert.Equal(0, response.ErrorCode);
        await WaitUntil(() => cluster.Running.All(n => n.Metadata.Current.Features.GetValueOrDefault("group.version") == 1), "group.version on both survivors");

        // The stopped node comes back as a follower and catches up.
        await cluster.StartNodeAsync(leader);
        await WaitUntil(() => cluster.Nodes[leader]!.Metadata.Current.Features.GetValueOrDefault("group.version") == 1, "the restarted node to catch up");
        Assert.Equal(next, await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30)));
    }

    internal static async Task WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}");
            await Task.Delay(50);
        }
    }
}
