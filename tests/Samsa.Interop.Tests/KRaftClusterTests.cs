using System.Buffers.Binary;
using System.Diagnostics;
using Samsa.Interop.Tests.Infrastructure;

namespace Samsa.Interop.Tests;

/// <summary>
/// The KRaft quorum as separate server processes on 127.0.0.x addresses: a SIGKILLed active controller is replaced,
/// and a 2|1 partition of the controllers (through TCP proxies on every link) lets the majority go on while the
/// minority commits nothing, with one history on every node once the partition heals.
/// </summary>
public sealed class KRaftClusterTests
{
    private static readonly TimeSpan LeaderTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task KilledActiveController_IsReplaced_WithinTheFetchAndElectionTimeouts()
    {
        await using var cluster = await KRaftCluster.StartAsync(controllers: 3, brokers: 0);
        var (leader, epoch) = await cluster.WaitForLeaderAsync(LeaderTimeout);
        var before = await cluster.DescribeQuorumAsync(leader);
        Assert.Equal(3, before!.CurrentVoters.Count);

        var watch = Stopwatch.StartNew();
        await cluster.KillAsync(leader);
        var (next, nextEpoch) = await cluster.WaitForLeaderAsync(LeaderTimeout, other: leader);
        var elapsed = watch.Elapsed;
        Assert.NotEqual(leader, next);
        Assert.True(nextEpoch > epoch);
        // Followers give up on a silent leader after controller.quorum.fetch.timeout.ms (2 s), then elect within
        // controller.quorum.election.timeout.ms (1-2 s, randomized); polling adds a little.
        Assert.True(elapsed < TimeSpan.FromSeconds(6), $"a new leader took {elapsed.TotalMilliseconds:F0} ms");

        // The killed node comes back on its data as a follower of the new leader and catches up.
        await cluster.StartNodeAsync(leader);
        var after = await cluster.WaitForLeaderAsync(LeaderTimeout);
        Assert.Equal(next, after.Leader);
        await WaitUntilAsync(async () => await cluster.DescribeQuorumAsync(next) is { } q
            && q.CurrentVoters.All(v => v.LogEndOffset >= q.HighWatermark - 1 && v.LogEndOffset > 0), "every voter caught up");
    }

    [Fact]
    public async Task ThreeControllersThreeBrokers_KillingTheActiveController_BrokersKeepServing_AndTheNextControllerTakesOver()
    {
        Peers.Require("kcat");
        await using var cluster = await KRaftCluster.StartAsync(controllers: 3, brokers: 3);
        var (leader, _) = await cluster.WaitForLeaderAsync(LeaderTimeout);

        // Every broker registers and is unfenced: a 3-partition topic with one replica each lands on all three.
        await WaitUntilAsync(async () => (await ExternalProcess.RunAsync("kcat", ["-b", cluster.BrokerBootstrap, "-L", "-m", "5"], TimeSpan.FromSeconds(30)))
            .Stdout.Contains(" 3 brokers:", StringComparison.Ordinal), "three brokers in the metadata");
        ProcessResult? create = null;
        await WaitUntilAsync(async () => (create = await BinScripts.Bin("kafka-topics.sh", "--bootstrap-server", cluster.BrokerBootstrap, "--create", "--topic", "orders",
            "--partitions", "3", "--replication-factor", "1")).ExitCode == 0, () => $"the topic to be created on three unfenced brokers: {create}\n{cluster[cluster.BrokerIds[0]]!.Output}");
        // Each broker learns of the topic from the metadata log on its own time; the describe asks any of them.
        List<string> leaders = [];
        ProcessResult? described = null;
        await WaitUntilAsync(async () =>
        {
            described = await BinScripts.Bin("kafka-topics.sh", "--bootstrap-server", cluster.BrokerBootstrap, "--describe", "--topic", "orders");
            leaders = [.. described.Stdout.Split('\n').Where(l => l.Contains("Partition: ", StringComparison.Ordinal))
                .Select(l => l.Split("Leader: ")[1].Split('\t', ' ')[0]).Order()];
            return leaders.Count == 3;
        }, () => $"three partitions described: {described}");
        Assert.Equal(cluster.BrokerIds.Select(id => id.ToString(System.Globalization.CultureInfo.InvariantCulture)), leaders);

        await ProduceAsync(cluster, "orders", Enumerable.Range(0, 30).Select(i => $"before-{i}"));
        await cluster.KillAsync(leader);
        // With no active controller the brokers serve from their cached metadata.
        await ProduceAsync(cluster, "orders", Enumerable.Range(0, 30).Select(i => $"during-{i}"));
        var (next, _) = await cluster.WaitForLeaderAsync(LeaderTimeout, other: leader);
        Assert.NotEqual(leader, next);
        await ProduceAsync(cluster, "orders", Enumerable.Range(0, 30).Select(i => $"after-{i}"));

        var consumed = await ExternalProcess.RunAsync("kcat", ["-b", cluster.BrokerBootstrap, "-C", "-t", "orders", "-o", "beginning", "-e", "-q", "-f", "%s\n"], TimeSpan.FromSeconds(60));
        var values = consumed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        Assert.Equal(90, values.Count);

        // The new active controller serves brokers' forwarded requests.
        var created = await BinScripts.Bin("kafka-topics.sh", "--bootstrap-server", cluster.BrokerBootstrap, "--create", "--topic", "after-failover",
            "--partitions", "2", "--replication-factor", "1");
        Assert.True(created.ExitCode == 0, created.ToString());
    }

    private static async Task ProduceAsync(KRaftCluster cluster, string topic, IEnumerable<string> values)
    {
        var produced = await ExternalProcess.RunAsync("kcat", ["-b", cluster.BrokerBootstrap, "-P", "-t", topic, "-X", "acks=all"], TimeSpan.FromSeconds(60),
            string.Join("\n", values) + "\n");
        Assert.True(produced.ExitCode == 0, produced.ToString());
    }

    [Fact]
    public async Task ControllersPartitionedTwoToOne_TheMinorityCommitsNothing_TheMajorityGoesOn_AndNoForkAfterHealing()
    {
        await using var cluster = await KRaftCluster.StartAsync(controllers: 3, brokers: 0, proxiedControllerLinks: true);
        var (leader, _) = await cluster.WaitForLeaderAsync(LeaderTimeout);
        var start = await cluster.DescribeQuorumAsync(leader);

        // Isolate the leader itself: the hardest minority, which must stop committing on its own (check-quorum).
        var minority = leader;
        var majority = cluster.ControllerIds.Where(id => id != minority).ToList();
        foreach (var other in majority)
        {
            Isolate(cluster.Links[(minority, other)]);
            Isolate(cluster.Links[(other, minority)]);
        }
        var cutAt = start!.HighWatermark;

        var (newLeader, _) = await WaitForMajorityLeaderAsync(cluster, majority);
        // A new leader knows its high watermark once the first batch of its epoch commits, which holds everything
        // committed before: from then on it is at least what the old leader could ever have reported.
        await WaitUntilAsync(async () => (await cluster.DescribeQuorumAsync(newLeader))?.HighWatermark > cutAt, "the new leader's first commit");
        var majorityStart = (await cluster.DescribeQuorumAsync(newLeader))!.HighWatermark;
        // The active controller writes a NoOpRecord every metadata.max.idle.interval.ms: the majority's log advances.
        await WaitUntilAsync(async () => (await cluster.DescribeQuorumAsync(newLeader))?.HighWatermark > majorityStart + 3, "the majority to commit");

        // The old leader, alone, never reports a high watermark past what it had when it was cut off, plus the
        // records a majority acknowledged in flight at that moment (at most one fetch round of no-ops).
        var minorityView = await cluster.DescribeQuorumAsync(minority);
        Assert.True(minorityView is null || minorityView.ErrorCode != 0 || minorityView.HighWatermark <= majorityStart,
            $"the minority reports high watermark {minorityView?.HighWatermark} beyond the {majorityStart} the majority started from");

        foreach (var link in cluster.Links.Values)
        {
            link.Heal();
        }
        var (healedLeader, _) = await cluster.WaitForLeaderAsync(LeaderTimeout);
        Assert.Contains(healedLeader, majority);
        var healedAt = (await cluster.DescribeQuorumAsync(healedLeader))!.HighWatermark;
        await WaitUntilAsync(async () => await cluster.DescribeQuorumAsync(healedLeader) is { } q && q.CurrentVoters.All(v => v.LogEndOffset >= healedAt),
            "every voter past the healed high watermark");

        // No fork: stopped, every node's log holds the same batches (offset, epoch, CRC) up to where the shortest ends,
        // which is past everything committed before the heal.
        var directories = cluster.ControllerIds.ToDictionary(id => id, id => cluster[id]!.Directory);
        foreach (var id in cluster.ControllerIds)
        {
            await cluster[id]!.StopAsync();
        }
        var logs = directories.ToDictionary(d => d.Key, d => Batches(Path.Combine(d.Value, "data", "__cluster_metadata-0")));
        var common = logs.Values.Min(l => l.Count);
        Assert.True(logs.Values.All(l => l.Take(common).Select(b => b.LastOffset).LastOrDefault() + 1 >= healedAt), "a node lost committed records");
        foreach (var (id, batches) in logs)
        {
            Assert.Equal(logs[healedLeader].Take(common), batches.Take(common));
        }
        Assert.True(cutAt <= healedAt);
    }

    private static void Isolate(TcpProxy link)
    {
        link.SetBlackhole(true);
        link.Cut();
    }

    private static async Task<(int Leader, int Epoch)> WaitForMajorityLeaderAsync(KRaftCluster cluster, IReadOnlyList<int> majority)
    {
        var deadline = DateTime.UtcNow + LeaderTimeout;
        while (DateTime.UtcNow < deadline)
        {
            var answers = await Task.WhenAll(majority.Select(cluster.DescribeQuorumAsync));
            if (answers.All(a => a is { ErrorCode: 0 }) && answers.Select(a => (a!.LeaderId, a.LeaderEpoch)).Distinct().ToList() is [var agreed] && majority.Contains(agreed.LeaderId))
            {
                return agreed;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException("the majority elected no leader");
    }

    /// <summary>Every record batch of a partition directory's segments: (base offset, last offset, epoch, CRC).</summary>
    private static List<(long BaseOffset, long LastOffset, int Epoch, uint Crc)> Batches(string directory)
    {
        var batches = new List<(long, long, int, uint)>();
        foreach (var file in Directory.GetFiles(directory, "*.log").Order(StringComparer.Ordinal))
        {
            var bytes = File.ReadAllBytes(file);
            var position = 0;
            while (bytes.Length - position >= 61)
            {
                var span = bytes.AsSpan(position);
                var baseOffset = BinaryPrimitives.ReadInt64BigEndian(span);
                var length = BinaryPrimitives.ReadInt32BigEndian(span[8..]);
                if (length <= 0 || position + 12 + length > bytes.Length)
                {
                    break; // an unflushed tail cut by the stop
                }
                var epoch = BinaryPrimitives.ReadInt32BigEndian(span[12..]);
                var crc = BinaryPrimitives.ReadUInt32BigEndian(span[17..]);
                var lastOffsetDelta = BinaryPrimitives.ReadInt32BigEndian(span[23..]);
                batches.Add((baseOffset, baseOffset + lastOffsetDelta, epoch, crc));
                position += 12 + length;
            }
        }
        return batches;
    }

    private static Task WaitUntilAsync(Func<Task<bool>> condition, string what) => WaitUntilAsync(condition, () => what);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, Func<string> what)
    {
        var deadline = DateTime.UtcNow + LeaderTimeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what()}");
            await Task.Delay(100);
        }
    }
}
