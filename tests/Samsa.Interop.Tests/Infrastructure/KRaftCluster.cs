using System.Globalization;
using System.Net;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using static Samsa.Interop.Tests.Infrastructure.BinScripts;

namespace Samsa.Interop.Tests.Infrastructure;

/// <summary>
/// A KRaft cluster of real server processes: controllers 1..C on 127.0.0.1..C (controller listener only) and brokers
/// C+1.. on the next 127.0.0.x addresses (broker listener only), every node formatted with <c>kafka-storage.sh
/// format</c> and started with <c>controller.quorum.voters</c>. With <c>proxiedControllerLinks</c>, each controller
/// reaches each other controller through its own <see cref="TcpProxy"/>, so a test can cut any link. With
/// <c>proxiedBrokerLinks</c> (the Jepsen tests), each broker reaches each controller through its own proxy, and has a
/// second listener, REPLICATION (its <c>inter.broker.listener.name</c>), advertised at a proxy in front of it: a test
/// can cut a broker off from the controllers and from the brokers that fetch from it, while clients still reach it
/// on PLAINTEXT.
/// </summary>
public sealed class KRaftCluster : IAsyncDisposable
{
    public const string ClusterId = "4L6g3nShT-eMCtK--X86sw";

    private readonly Dictionary<int, BrokerProcess?> _processes = [];
    private readonly Dictionary<int, string> _directories = [];
    private readonly Dictionary<int, IDictionary<string, string>> _configs = [];

    private KRaftCluster(int controllers, int brokers)
    {
        ControllerIds = [.. Enumerable.Range(1, controllers)];
        BrokerIds = [.. Enumerable.Range(controllers + 1, brokers)];
        foreach (var id in ControllerIds.Concat(BrokerIds))
        {
            Addresses[id] = IPAddress.Parse($"127.0.0.{id}");
            Ports[id] = BrokerProcess.FreePort();
        }
    }

    public IReadOnlyList<int> ControllerIds { get; }

    public IReadOnlyList<int> BrokerIds { get; }

    public Dictionary<int, IPAddress> Addresses { get; } = [];

    /// <summary>Each node's one listener port: the controller listener of a controller, the broker listener of a broker.</summary>
    public Dictionary<int, int> Ports { get; } = [];

    /// <summary>Controller links (from, to) when started with proxied links; (broker, controller) ones with proxied broker links.</summary>
    public Dictionary<(int From, int To), TcpProxy> Links { get; } = [];

    /// <summary>Each broker's REPLICATION listener port, when started with proxied broker links.</summary>
    public Dictionary<int, int> ReplicationPorts { get; } = [];

    /// <summary>The proxy in front of each broker's REPLICATION listener (what the other brokers reach it at).</summary>
    public Dictionary<int, TcpProxy> ReplicationProxies { get; } = [];

    public BrokerProcess? this[int id] => _processes.GetValueOrDefault(id);

    public string BrokerBootstrap => string.Join(",", BrokerIds.Select(id => $"{Addresses[id]}:{Ports[id]}"));

    public static async Task<KRaftCluster> StartAsync(int controllers, int brokers, bool proxiedControllerLinks = false, IDictionary<string, string>? extraConfig = null,
        bool proxiedBrokerLinks = false)
    {
        var cluster = new KRaftCluster(controllers, brokers);
        try
        {
            if (proxiedControllerLinks)
            {
                foreach (var from in cluster.ControllerIds)
                {
                    foreach (var to in cluster.ControllerIds.Where(to => to != from))
                    {
                        cluster.Links[(from, to)] = TcpProxy.Start(cluster.Addresses[to], cluster.Ports[to]);
                    }
                }
            }
            if (proxiedBrokerLinks)
            {
                foreach (var broker in cluster.BrokerIds)
                {
                    foreach (var controller in cluster.ControllerIds)
                    {
                        cluster.Links[(broker, controller)] = TcpProxy.Start(cluster.Addresses[controller], cluster.Ports[controller]);
                    }
                    cluster.ReplicationPorts[broker] = BrokerProcess.FreePort();
                    cluster.ReplicationProxies[broker] = TcpProxy.Start(cluster.Addresses[broker], cluster.ReplicationPorts[broker]);
                }
            }
            foreach (var id in cluster.ControllerIds.Concat(cluster.BrokerIds))
            {
                cluster._configs[id] = cluster.ConfigOf(id, extraConfig);
            }
            await Task.WhenAll(cluster.ControllerIds.Select(cluster.StartNodeAsync));
            await Task.WhenAll(cluster.BrokerIds.Select(cluster.StartNodeAsync));
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
        return cluster;
    }

    private Dictionary<string, string> ConfigOf(int id, IDictionary<string, string>? extra)
    {
        var isController = ControllerIds.Contains(id);
        var voters = string.Join(",", ControllerIds.Select(v =>
            Links.TryGetValue((id, v), out var link) ? $"{v}@127.0.0.1:{link.Port}" : $"{v}@{Addresses[v]}:{Ports[v]}"));
        var config = new Dictionary<string, string>
        {
            ["node.id"] = id.ToString(CultureInfo.InvariantCulture),
            ["process.roles"] = isController ? "controller" : "broker",
            ["listeners"] = isController ? $"CONTROLLER://{Addresses[id]}:{Ports[id]}" : $"PLAINTEXT://{Addresses[id]}:{Ports[id]}",
            ["controller.listener.names"] = "CONTROLLER",
            ["listener.security.protocol.map"] = "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            ["controller.quorum.voters"] = voters,
        };
        if (!isController)
        {
            config["inter.broker.listener.name"] = "PLAINTEXT";
        }
        if (ReplicationProxies.TryGetValue(id, out var replication))
        {
            config["listeners"] = $"PLAINTEXT://{Addresses[id]}:{Ports[id]},REPLICATION://{Addresses[id]}:{ReplicationPorts[id]}";
            config["advertised.listeners"] = $"PLAINTEXT://{Addresses[id]}:{Ports[id]},REPLICATION://127.0.0.1:{replication.Port}";
            config["listener.security.protocol.map"] = "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,REPLICATION:PLAINTEXT";
            config["inter.broker.listener.name"] = "REPLICATION";
        }
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            config[key] = value;
        }
        return config;
    }

    /// <summary>Starts (or restarts, on its old data) node <paramref name="id"/>.</summary>
    public async Task StartNodeAsync(int id)
    {
        var reuse = _directories.GetValueOrDefault(id);
        Func<string, Task>? format = reuse is not null ? null : async configFile =>
        {
            var formatted = await Bin("kafka-storage.sh", "format", "-t", ClusterId, "-c", configFile);
            if (formatted.ExitCode != 0)
            {
                throw new InvalidOperationException($"format of node {id} failed: {formatted}");
            }
        };
        var process = await BrokerProcess.StartAsync(_configs[id], reuseDirectory: reuse, reusePort: Ports[id], address: Addresses[id], format: format);
        process.DeleteOnDispose = false;
        // Nodes start concurrently; a Dictionary takes one writer at a time.
        lock (_processes)
        {
            _directories[id] = process.Directory;
            _processes[id] = process;
        }
    }

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public async Task KillAsync(int id)
    {
        if (_processes.GetValueOrDefault(id) is { } process)
        {
            await process.KillAsync();
            await process.DisposeAsync();
            _processes[id] = null;
        }
    }

    /// <summary>SIGTERM, then wait for a clean stop (the data directory is kept for <see cref="StartNodeAsync"/>).</summary>
    public async Task StopNodeAsync(int id)
    {
        if (_processes.GetValueOrDefault(id) is { } process)
        {
            await process.StopAsync(TimeSpan.FromSeconds(30));
            await process.DisposeAsync();
            _processes[id] = null;
        }
    }

    /// <summary>Sends <paramref name="signal"/> (e.g. STOP, CONT) to node <paramref name="id"/>'s server process, if it runs.</summary>
    public async Task SignalAsync(int id, string signal)
    {
        if (_processes.GetValueOrDefault(id) is { HasExited: false } process)
        {
            using var kill = System.Diagnostics.Process.Start("kill", [$"-{signal}", process.ServerPid.ToString(CultureInfo.InvariantCulture)])!;
            await kill.WaitForExitAsync();
        }
    }

    /// <summary>Node <paramref name="id"/>'s directory (its <c>data</c> log directory and config), kept across restarts.</summary>
    public string DirectoryOf(int id) => _directories[id];

    /// <summary>DescribeQuorum v2 sent to controller <paramref name="id"/>'s own listener; null when it cannot be reached.</summary>
    public async Task<DescribeQuorumResponse.PartitionData?> DescribeQuorumAsync(int id)
    {
        try
        {
            using var connection = await RawKafkaConnection.ConnectAsync(Addresses[id], Ports[id]);
            var response = await connection.RequestAsync<DescribeQuorumResponse>(new DescribeQuorumRequest
            {
                Topics = [new() { TopicName = "__cluster_metadata", Partitions = [new() { PartitionIndex = 0 }] }],
            }, 2, TimeSpan.FromSeconds(5));
            return response.Topics.FirstOrDefault()?.Partitions.FirstOrDefault();
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or OperationCanceledException or IOException)
        {
            return null;
        }
    }

    /// <summary>Polls the running controllers until they agree on a leader; returns it and its epoch.</summary>
    public async Task<(int Leader, int Epoch)> WaitForLeaderAsync(TimeSpan timeout, int? other = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var running = ControllerIds.Where(id => _processes.GetValueOrDefault(id) is not null).ToList();
            var answers = await Task.WhenAll(running.Select(DescribeQuorumAsync));
            if (answers.All(a => a is { ErrorCode: 0 }) && answers.Select(a => (a!.LeaderId, a.LeaderEpoch)).Distinct().ToList() is [var agreed]
                && running.Contains(agreed.LeaderId) && agreed.LeaderId != other)
            {
                return agreed;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException("The controllers did not agree on a leader");
    }

    /// <summary>AllocateProducerIds sent to controller <paramref name="id"/>: one committed metadata record when it is active.</summary>
    public async Task<ErrorCode> AllocateProducerIdsAsync(int id, TimeSpan timeout)
    {
        try
        {
            using var connection = await RawKafkaConnection.ConnectAsync(Addresses[id], Ports[id]);
            var response = await connection.RequestAsync<AllocateProducerIdsResponse>(new AllocateProducerIdsRequest { BrokerId = BrokerIds.FirstOrDefault(), BrokerEpoch = -1 }, 0, timeout);
            return (ErrorCode)response.ErrorCode;
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or OperationCanceledException or IOException)
        {
            return ErrorCode.RequestTimedOut;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes.Values.Where(p => p is not null))
        {
            await process!.DisposeAsync();
        }
        foreach (var link in Links.Values.Concat(ReplicationProxies.Values))
        {
            await link.DisposeAsync();
        }
        foreach (var directory in _directories.Values)
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
