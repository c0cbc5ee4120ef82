using System.Diagnostics;
using Samsa.Interop.Tests.Infrastructure;
using Samsa.Protocol.Messages;

namespace Samsa.Interop.Tests.Jepsen;

/// <summary>
/// The Jepsen cluster's wiring (<see cref="KRaftCluster"/> with proxied broker links): brokers advertise their
/// REPLICATION listener at its proxy, and cutting a broker's proxies (the partition nemesis) gets it fenced by the
/// controllers while clients still reach it, then unfenced once the links heal.
/// </summary>
public sealed class JepsenClusterTests
{
    [Fact]
    public async Task ProxiedBrokerLinks_IsolatedBrokerIsFenced_ButStillAnswersClients_AndReturnsAfterHealing()
    {
        await using var cluster = await KRaftCluster.StartAsync(3, 3, extraConfig: new Dictionary<string, string>
        {
            ["broker.heartbeat.interval.ms"] = "500",
            ["broker.session.timeout.ms"] = "4000",
        }, proxiedBrokerLinks: true);
        var observer = cluster.BrokerIds[0];
        var isolated = cluster.BrokerIds[2];
        await WaitForAsync(async () => (await BrokersAsync(cluster, observer, cluster.Ports[observer])).Count == 3, "three unfenced brokers");

        // Asked on the REPLICATION listener (through the observer's proxy), Metadata names every broker's proxy.
        var replication = await BrokersAsync(System.Net.IPAddress.Loopback, cluster.ReplicationProxies[observer].Port);
        Assert.Equal(cluster.BrokerIds.Select(b => $"{b}@127.0.0.1:{cluster.ReplicationProxies[b].Port}"),
            replication.OrderBy(b => b.NodeId).Select(b => $"{b.NodeId}@{b.Host}:{b.Port}"));

        var proxies = cluster.Links.Where(l => l.Key.From == isolated).Select(l => l.Value).Append(cluster.ReplicationProxies[isolated]).ToList();
        Assert.Equal(4, proxies.Count);
        foreach (var proxy in proxies)
        {
            proxy.SetBlackhole(true);
            proxy.Cut();
        }
        await WaitForAsync(async () => (await BrokersAsync(cluster, observer, cluster.Ports[observer])).All(b => b.NodeId != isolated), "the isolated broker fenced");
        // Clients still reach it on PLAINTEXT.
        Assert.NotEmpty(await BrokersAsync(cluster, isolated, cluster.Ports[isolated]));

        foreach (var proxy in proxies)
        {
            proxy.Heal();
        }
        await WaitForAsync(async () => (await BrokersAsync(cluster, observer, cluster.Ports[observer])).Count == 3, "the broker unfenced after healing");
    }

    private static Task<List<MetadataResponse.MetadataResponseBroker>> BrokersAsync(KRaftCluster cluster, int broker, int port) =>
        BrokersAsync(cluster.Addresses[broker], port);

    private static async Task<List<MetadataResponse.MetadataResponseBroker>> BrokersAsync(System.Net.IPAddress address, int port)
    {
        try
        {
            using var connection = await RawKafkaConnection.ConnectAsync(address, port);
            var response = await connection.RequestAsync<MetadataResponse>(new MetadataRequest { Topics = [] }, 12, TimeSpan.FromSeconds(3));
            return response.Brokers;
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or OperationCanceledException or IOException)
        {
            return [];
        }
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"no {what} within 30 s");
            await Task.Delay(200);
        }
    }
}
