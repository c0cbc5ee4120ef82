using System.Globalization;
using System.Text.Json;
using Samsa.Interop.Tests.Infrastructure;
using Samsa.Protocol.Messages;
using static Samsa.Interop.Tests.Infrastructure.BinScripts;

namespace Samsa.Interop.Tests;

/// <summary>
/// Replication's promises with a real client (confluent-kafka-python, acks=all, idempotent) against 3 controllers
/// and 3 brokers as server processes: a SIGKILLed leader is replaced within 2 s and nothing acknowledged is lost; a
/// SIGSTOPped follower leaves the ISR and rejoins on SIGCONT while writes go on; below min.insync.replicas acks=all
/// is refused, never falsely acknowledged; with unclean election off a partition whose in-sync replicas are all
/// gone stays offline until one returns, losing nothing; a leader stopped with SIGTERM hands over with no error
/// the client cannot retry; and kafka-leader-election.sh moves leadership back to the preferred replica.
/// </summary>
public sealed class ReplicationBehaviourTests
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(120);

    /// <summary>Short sessions and back-offs: a silent broker is fenced within a second.</summary>
    private static readonly Dictionary<string, string> FastFailover = new()
    {
        ["broker.heartbeat.interval.ms"] = "100",
        ["broker.session.timeout.ms"] = "800",
        ["replica.fetch.backoff.ms"] = "100",
        ["replica.lag.time.max.ms"] = "3000",
    };

    private sealed record Record(int Value, long Sent, long? Acked, long? Offset, string? Error);

    private static async Task CreateTopicAsync(KRaftCluster cluster, string topic, int minInSync)
    {
        var create = await Bin("kafka-topics.sh", "--create", "--topic", topic, "--partitions", "1", "--replication-factor", "3",
            "--config", $"min.insync.replicas={minInSync}", "--bootstrap-server", cluster.BrokerBootstrap);
        Assert.True(create.ExitCode == 0, create.ToString());
        await StateAsync(cluster, topic, s => s.Isr.Length == 3, "the topic on every broker");
    }

    /// <summary>Partition 0's leader and ISR as a running broker reports them.</summary>
    private static async Task<(int Leader, int[] Isr, int[] Replicas)> StateAsync(KRaftCluster cluster, string topic, Func<(int Leader, int[] Isr, int[] Replicas), bool> until, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        (int, int[], int[]) last = (-1, [], []);
        while (DateTime.UtcNow < deadline)
        {
            foreach (var id in cluster.BrokerIds.Where(id => cluster[id] is not null))
            {
                try
                {
                    using var connection = await RawKafkaConnection.ConnectAsync(cluster.Addresses[id], cluster.Ports[id]);
                    var response = await connection.RequestAsync<MetadataResponse>(new MetadataRequest { Topics = [new() { Name = topic }] }, 12, TimeSpan.FromSeconds(5));
                    if (response.Topics.FirstOrDefault()?.Partitions.FirstOrDefault() is { } p)
                    {
                        last = (p.LeaderId, [.. p.IsrNodes.Order()], [.. p.ReplicaNodes]);
                        if (until(last))
                        {
                            return last;
                        }
                    }
                    break;
                }
                catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or OperationCanceledException or TimeoutException)
                {
                }
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"Timed out waiting for {what}; last leader {last.Item1}, ISR [{string.Join(",", last.Item2)}]");
    }

    private static Task<ProcessResult> ProduceAsync(KRaftCluster cluster, string topic, double seconds, int intervalMs, params string[] settings) =>
        ExternalProcess.RunAsync(Peers.Python, [RepoPaths.ClientScript("confluent_python_availability.py"), cluster.BrokerBootstrap, topic,
            seconds.ToString(CultureInfo.InvariantCulture), intervalMs.ToString(CultureInfo.InvariantCulture), .. settings], ClientTimeout);

    private static List<Record> Parse(ProcessResult result)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        return [.. result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
        {
            var json = JsonDocument.Parse(line).RootElement;
            long? Maybe(string name) => json.GetProperty(name).ValueKind == JsonValueKind.Null ? null : json.GetProperty(name).GetInt64();
            return new Record(json.GetProperty("value").GetInt32(), json.GetProperty("sent").GetInt64(), Maybe("acked"), Maybe("offset"),
                json.GetProperty("error").ValueKind == JsonValueKind.Null ? null : json.GetProperty("error").GetString());
        })];
    }

    /// <summary>Every value of the partition, in offset order, read with kcat from the start to the end.</summary>
    private static async Task<List<int>> ReadAllAsync(KRaftCluster cluster, string topic)
    {
        var consume = await ExternalProcess.RunAsync("kcat", ["-C", "-b", cluster.BrokerBootstrap, "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q", "-f", "%o %s\\n"], ClientTimeout);
        Assert.True(consume.ExitCode == 0, consume.ToString());
        var pairs = consume.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ')).Select(p => (Offset: long.Parse(p[0], CultureInfo.InvariantCulture), Value: int.Parse(p[1], CultureInfo.InvariantCulture))).ToList();
        Assert.Equal(pairs.Select(p => p.Offset).Order(), pairs.Select(p => p.Offset));
        return [.. pairs.Select(p => p.Value)];
    }

    /// <summary>Every acknowledged value is in the log once, at the offset its acknowledgement named.</summary>
    private static void AssertNoAcknowledgedLoss(List<Record> records, List<int> log)
    {
        Assert.Equal(log.Count, log.Distinct().Count());
        var position = log.Select((value, index) => (value, index)).ToDictionary(p => p.value, p => (long)p.index);
        foreach (var record in records.Where(r => r.Error is null))
        {
            Assert.True(position.TryGetValue(record.Value, out var offset), $"acknowledged value {record.Value} is not in the log");
            Assert.Equal(record.Offset, offset);
        }
    }

    [Fact]
    public async Task KilledLeader_IsReplacedWithinTwoSeconds_AndNothingAcknowledgedIsLost()
    {
        // A shorter session still: the fencing (and so the election) starts 600 ms after the last heartbeat; the
        // client refreshes its metadata every 200 ms, so it learns of the new leader soon after the election.
        await using var cluster = await KRaftCluster.StartAsync(3, 3, extraConfig: new Dictionary<string, string>(FastFailover) { ["broker.session.timeout.ms"] = "600" });
        await CreateTopicAsync(cluster, "failover", minInSync: 2);
        var producing = ProduceAsync(cluster, "failover", 26, 20, "retry.backoff.ms=20", "topic.metadata.refresh.interval.ms=200", "reconnect.backoff.ms=20", "reconnect.backoff.max.ms=200");
        var kills = new List<long>();
        var elections = new List<long>();
        for (var round = 0; round < 3; round++)
        {
            await Task.Delay(TimeSpan.FromSeconds(round == 0 ? 4 : 2));
            var (leader, _, _) = await StateAsync(cluster, "failover", s => s.Isr.Length == 3 && s.Leader > 0, "a leader with a full ISR");
            kills.Add(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            await cluster.KillAsync(leader);
            await StateAsync(cluster, "failover", s => s.Leader > 0 && s.Leader != leader, "a new leader");
            elections.Add(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - kills[^1]);
            await Task.Delay(TimeSpan.FromSeconds(3));
            await cluster.StartNodeAsync(leader);
        }
        var records = Parse(await producing);

        Assert.All(records, r => Assert.True(r.Error is null, $"value {r.Value}: {r.Error}"));
        // Unavailability per kill: from the SIGKILL to the first acknowledgement of a record sent after it.
        var outages = kills.Select(k => records.Where(r => r.Sent >= k).Min(r => r.Acked!.Value) - k).ToList();
        Assert.True(outages.Max() < 2000, $"produce unavailability after each kill: {string.Join(", ", outages)} ms (a new leader in the metadata after {string.Join(", ", elections)} ms)");
        AssertNoAcknowledgedLoss(records, await ReadAllAsync(cluster, "failover"));
    }

    [Fact]
    public async Task SigstoppedFollower_LeavesTheIsr_AndRejoinsOnSigcont_WhileAcksAllGoesOn()
    {
        await using var cluster = await KRaftCluster.StartAsync(3, 3, extraConfig: FastFailover);
        await CreateTopicAsync(cluster, "paused", minInSync: 2);
        var (leader, _, _) = await StateAsync(cluster, "paused", s => s.Isr.Length == 3, "a full ISR");
        var follower = cluster.BrokerIds.First(id => id != leader);
        var producing = ProduceAsync(cluster, "paused", 12, 20);
        await Task.Delay(TimeSpan.FromSeconds(2));

        var pid = cluster[follower]!.ServerPid.ToString(CultureInfo.InvariantCulture);
        await ExternalProcess.RunAsync("kill", ["-STOP", pid], TimeSpan.FromSeconds(10));
        var shrunk = await StateAsync(cluster, "paused", s => !s.Isr.Contains(follower), "the stopped follower out of the ISR");
        Assert.Equal(2, shrunk.Isr.Length);
        await Task.Delay(TimeSpan.FromSeconds(2));
        await ExternalProcess.RunAsync("kill", ["-CONT", pid], TimeSpan.FromSeconds(10));
        await StateAsync(cluster, "paused", s => s.Isr.Contains(follower) && s.Isr.Length == 3, "the follower back in the ISR");

        var records = Parse(await producing);
        Assert.All(records, r => Assert.True(r.Error is null, $"value {r.Value}: {r.Error}"));
        AssertNoAcknowledgedLoss(records, await ReadAllAsync(cluster, "paused"));
    }

    [Fact]
    public async Task BelowMinIsr_AcksAllIsRefused_AndWithUncleanElectionOffTheLastReplicaIsWaitedFor()
    {
        await using var cluster = await KRaftCluster.StartAsync(3, 3, extraConfig: FastFailover);
        await CreateTopicAsync(cluster, "strict", minInSync: 2);
        var (leader, _, _) = await StateAsync(cluster, "strict", s => s.Isr.Length == 3, "a full ISR");
        var before = Parse(await ProduceAsync(cluster, "strict", 1, 20));
        Assert.All(before, r => Assert.Null(r.Error));

        // Both followers die: the ISR is the leader alone, below min.insync.replicas=2, and no write is acknowledged.
        var followers = cluster.BrokerIds.Where(id => id != leader).ToList();
        foreach (var id in followers)
        {
            await cluster.KillAsync(id);
        }
        await StateAsync(cluster, "strict", s => s.Isr.Length == 1, "the ISR down to the leader");
        using (var connection = await RawKafkaConnection.ConnectAsync(cluster.Addresses[leader], cluster.Ports[leader]))
        {
            Assert.Equal(Samsa.Protocol.ErrorCode.NotEnoughReplicas, (await RawRecords.ProduceAsync(connection, "strict", 0, ["refused"])).Error);
        }
        // The client retries NOT_ENOUGH_REPLICAS until its message timeout: not one record is acknowledged.
        var refused = Parse(await ProduceAsync(cluster, "strict", 2, 100, "message.timeout.ms=3000"));
        Assert.NotEmpty(refused);
        Assert.All(refused, r => Assert.True(r.Error is not null && r.Offset is null, $"value {r.Value} acknowledged at {r.Offset}"));

        // The leader dies too. Unclean election is off: the followers coming back are not in the ISR, so the
        // partition stays without a leader until the last in-sync replica returns.
        await cluster.KillAsync(leader);
        foreach (var id in followers)
        {
            await cluster.StartNodeAsync(id);
        }
        await StateAsync(cluster, "strict", s => s.Leader == -1, "the partition offline");
        await Task.Delay(TimeSpan.FromSeconds(3));
        var unavailable = await Bin("kafka-topics.sh", "--describe", "--unavailable-partitions", "--bootstrap-server", cluster.BrokerBootstrap);
        Assert.True(unavailable.ExitCode == 0, unavailable.ToString());
        Assert.Contains("Topic: strict\tPartition: 0\tLeader: none", unavailable.Stdout);

        await cluster.StartNodeAsync(leader);
        await StateAsync(cluster, "strict", s => s.Leader == leader && s.Isr.Length == 3, "the last in-sync replica leading again, the others caught up");
        var log = await ReadAllAsync(cluster, "strict");
        AssertNoAcknowledgedLoss(before, log);
        Assert.Equal(before.Count, log.Count);
    }

    [Fact]
    public async Task SigtermedLeader_HandsOverWithNoErrorTheClientSees_AndThePreferredReplicaLeadsAgainOnElection()
    {
        await using var cluster = await KRaftCluster.StartAsync(3, 3, extraConfig: FastFailover);
        await CreateTopicAsync(cluster, "handover", minInSync: 2);
        var (leader, _, replicas) = await StateAsync(cluster, "handover", s => s.Isr.Length == 3, "a full ISR");
        Assert.Equal(replicas[0], leader);
        var producing = ProduceAsync(cluster, "handover", 8, 20);
        await Task.Delay(TimeSpan.FromSeconds(2));

        // Controlled shutdown: leadership moves before the broker stops serving.
        Assert.Equal(0, await cluster[leader]!.StopAsync());
        var moved = await StateAsync(cluster, "handover", s => s.Leader > 0 && s.Leader != leader, "another leader");
        await cluster.StartNodeAsync(leader);
        await StateAsync(cluster, "handover", s => s.Isr.Length == 3, "the stopped broker back in the ISR");
        var records = Parse(await producing);
        Assert.All(records, r => Assert.True(r.Error is null, $"value {r.Value}: {r.Error}"));
        AssertNoAcknowledgedLoss(records, await ReadAllAsync(cluster, "handover"));

        // kafka-leader-election.sh gives the partition back to its preferred (first) replica.
        var election = await Bin("kafka-leader-election.sh", "--bootstrap-server", cluster.BrokerBootstrap, "--election-type", "PREFERRED", "--all-topic-partitions");
        Assert.True(election.ExitCode == 0, election.ToString());
        Assert.Contains("Successfully completed leader election (PREFERRED) for partitions handover-0", election.Stdout);
        await StateAsync(cluster, "handover", s => s.Leader == replicas[0], "the preferred replica leading");
        Assert.NotEqual(replicas[0], moved.Leader);
    }
}
