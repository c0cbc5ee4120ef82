using System.Diagnostics;
using Samsa.Interop.Tests.Infrastructure;
using Samsa.Protocol.Messages;

namespace Samsa.Interop.Tests.Jepsen;

/// <summary>The faults a <see cref="Nemesis"/> injects into a <see cref="KRaftCluster"/>'s brokers.</summary>
public enum NemesisKind
{
    /// <summary>SIGKILL a broker, leave it down for the step, start it again on its data.</summary>
    Kill,

    /// <summary>SIGSTOP a broker for the step (sessions, fetches and requests to it hang), then SIGCONT.</summary>
    Pause,

    /// <summary>SIGTERM a broker (a clean, controlled shutdown), leave it down for the step, start it again.</summary>
    Restart,

    /// <summary>
    /// Cut a partition leader off from the controllers and from the brokers that fetch from it (its REPLICATION
    /// listener's proxy and its own controller links blackholed and cut), not from clients; healed at the step's end.
    /// </summary>
    PartitionLeader,

    /// <summary>
    /// SIGKILL a broker and lose the unsynced tail of its logs, as a power loss would: the last bytes of each of the
    /// topic's newest segments on it cut off and that segment's index files removed (so recovery rebuilds them), then
    /// start it again.
    /// </summary>
    LoseTail,
}

/// <summary>
/// One step of a <see cref="NemesisSchedule"/>. <see cref="Pick"/> chooses the target when the step runs (the cluster's
/// state decides which broker leads what): an even pick is the leader of partition <c>Pick / 2</c>, an odd one the broker
/// <c>Pick / 2</c> (both modulo the count).
/// </summary>
public sealed record NemesisStep(NemesisKind Kind, int Pick, TimeSpan Duration, TimeSpan CalmAfter, int TailBytes)
{
    public override string ToString() =>
        $"{Kind} {(Pick % 2 == 0 ? "a partition leader" : "a broker")} (pick {Pick}) for {Duration.TotalSeconds:0.0} s"
        + (Kind == NemesisKind.LoseTail ? $" losing {TailBytes} bytes" : "") + $", calm {CalmAfter.TotalSeconds:0.0} s";
}

/// <summary>
/// A seeded series of nemesis steps: the same seed and kinds give the same steps (the targets they resolve to, and the
/// timing against the clients, depend on the run). The steps come in rounds, each round every kind once in a seeded
/// order, so even a short run sees every kind. One fault at a time; each heals before the calm that follows it.
/// </summary>
public static class NemesisSchedule
{
    public static readonly IReadOnlyList<NemesisKind> All = Enum.GetValues<NemesisKind>();

    public static List<NemesisStep> Plan(int seed, IReadOnlyList<NemesisKind> kinds, int count)
    {
        var random = new Random(seed);
        var steps = new List<NemesisStep>(count);
        var round = new List<NemesisKind>();
        for (var i = 0; i < count; i++)
        {
            if (round.Count == 0)
            {
                round.AddRange(kinds);
                random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(round));
            }
            var kind = round[^1];
            round.RemoveAt(round.Count - 1);
            var duration = kind switch
            {
                NemesisKind.Kill => random.Next(500, 6000),
                // Past broker.session.timeout.ms some of the time: the controller fences the paused broker.
                NemesisKind.Pause => random.Next(500, 12_000),
                NemesisKind.Restart => random.Next(0, 3000),
                NemesisKind.PartitionLeader => random.Next(2000, 15_000),
                _ => random.Next(500, 5000),
            };
            steps.Add(new NemesisStep(kind, random.Next(0, 1000), TimeSpan.FromMilliseconds(duration), TimeSpan.FromMilliseconds(random.Next(2000, 8000)),
                random.Next(1, 16 * 1024)));
        }
        return steps;
    }
}

/// <summary>
/// Applies a <see cref="NemesisSchedule"/> to a <see cref="KRaftCluster"/> started with proxied broker links, logging
/// every action with its time; <see cref="HealAsync"/> undoes whatever is still in effect (a paused broker continued,
/// links restored, a stopped broker started).
/// </summary>
public sealed class Nemesis(KRaftCluster cluster, string topic, int partitions, Action<string> log)
{
    private readonly HashSet<int> _paused = [];
    private readonly HashSet<int> _down = [];
    private readonly HashSet<int> _isolated = [];

    /// <summary>Runs the steps of <paramref name="seed"/> until <paramref name="stop"/>; a step under way finishes and heals first.</summary>
    public async Task<List<string>> RunAsync(int seed, IReadOnlyList<NemesisKind> kinds, CancellationToken stop)
    {
        var taken = new List<string>();
        foreach (var step in NemesisSchedule.Plan(seed, kinds, 10_000))
        {
            if (stop.IsCancellationRequested)
            {
                break;
            }
            var target = await TargetAsync(step.Pick);
            var what = $"{step} -> broker {target}";
            taken.Add(what);
            log($"nemesis: {what}");
            try
            {
                await ApplyAsync(step, target);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                log($"nemesis: {step.Kind} on {target} failed: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
            }
            await HealAsync();
            try
            {
                await Task.Delay(step.CalmAfter, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        return taken;
    }

    private async Task ApplyAsync(NemesisStep step, int target)
    {
        switch (step.Kind)
        {
            case NemesisKind.Kill:
                await cluster.KillAsync(target);
                _down.Add(target);
                await Task.Delay(step.Duration);
                break;
            case NemesisKind.Restart:
                await cluster.StopNodeAsync(target);
                _down.Add(target);
                await Task.Delay(step.Duration);
                break;
            case NemesisKind.Pause:
                await cluster.SignalAsync(target, "STOP");
                _paused.Add(target);
                await Task.Delay(step.Duration);
                break;
            case NemesisKind.PartitionLeader:
                Isolate(target);
                await Task.Delay(step.Duration);
                break;
            case NemesisKind.LoseTail:
                await cluster.KillAsync(target);
                _down.Add(target);
                foreach (var cut in LoseTail(Path.Combine(cluster.DirectoryOf(target), "data"), topic, step.TailBytes))
                {
                    log($"nemesis: broker {target} {cut}");
                }
                await Task.Delay(step.Duration);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(step), step.Kind, null);
        }
    }

    /// <summary>Blackholes the broker's REPLICATION proxy and its controller links, and cuts what they carry.</summary>
    private void Isolate(int broker)
    {
        _isolated.Add(broker);
        foreach (var proxy in Proxies(broker))
        {
            proxy.SetBlackhole(true);
            proxy.Cut();
        }
    }

    private IEnumerable<TcpProxy> Proxies(int broker) =>
        cluster.Links.Where(l => l.Key.From == broker).Select(l => l.Value)
            .Concat(cluster.ReplicationProxies.TryGetValue(broker, out var replication) ? [replication] : []);

    /// <summary>Undoes every fault still in effect: continues paused brokers, restores links, starts stopped brokers.</summary>
    public async Task HealAsync()
    {
        foreach (var broker in _paused.ToList())
        {
            await cluster.SignalAsync(broker, "CONT");
            _paused.Remove(broker);
            log($"nemesis: broker {broker} continued");
        }
        foreach (var broker in _isolated.ToList())
        {
            foreach (var proxy in Proxies(broker))
            {
                proxy.Heal();
            }
            _isolated.Remove(broker);
            log($"nemesis: broker {broker} reconnected");
        }
        foreach (var broker in _down.ToList())
        {
            var clock = Stopwatch.StartNew();
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await cluster.StartNodeAsync(broker);
                    _down.Remove(broker);
                    log($"nemesis: broker {broker} started in {clock.Elapsed.TotalSeconds:0.0} s");
                    break;
                }
                catch (Exception e) when (attempt < 3 && e is TimeoutException or InvalidOperationException)
                {
                    log($"nemesis: broker {broker} start attempt {attempt} failed: {e.Message.Split('\n')[0]}");
                }
            }
        }
    }

    /// <summary>The broker <paramref name="pick"/> names: a partition's current leader (even), or a broker by index (odd).</summary>
    private async Task<int> TargetAsync(int pick)
    {
        if (pick % 2 == 0 && await LeadersAsync(cluster, topic) is { } leaders
            && leaders.GetValueOrDefault(pick / 2 % partitions, -1) is var leader && cluster.BrokerIds.Contains(leader))
        {
            return leader;
        }
        return cluster.BrokerIds[pick / 2 % cluster.BrokerIds.Count];
    }

    /// <summary>Each partition's leader and ISR as the first broker that answers Metadata sees them; null if none answers.</summary>
    public static async Task<Dictionary<int, int>?> LeadersAsync(KRaftCluster cluster, string topic) =>
        (await DescribeAsync(cluster, topic))?.ToDictionary(p => p.PartitionIndex, p => p.LeaderId);

    public static async Task<List<MetadataResponse.MetadataResponsePartition>?> DescribeAsync(KRaftCluster cluster, string topic)
    {
        foreach (var broker in cluster.BrokerIds.Where(b => cluster[b] is { HasExited: false }))
        {
            try
            {
                using var connection = await RawKafkaConnection.ConnectAsync(cluster.Addresses[broker], cluster.Ports[broker]);
                var response = await connection.RequestAsync<MetadataResponse>(new MetadataRequest
                {
                    Topics = [new() { Name = topic }],
                    AllowAutoTopicCreation = false,
                }, 12, TimeSpan.FromSeconds(2));
                if (response.Topics is [{ ErrorCode: 0 } answer])
                {
                    return answer.Partitions;
                }
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or OperationCanceledException or IOException)
            {
            }
        }
        return null;
    }

    /// <summary>
    /// Cuts up to <paramref name="bytes"/> off the end of the newest segment of each of <paramref name="topic"/>'s
    /// partitions in <paramref name="logDir"/> and deletes that segment's offset and time indexes (recovery rebuilds
    /// them and truncates the torn last batch). The broker must not be running. Returns what was cut, one line each.
    /// </summary>
    public static List<string> LoseTail(string logDir, string topic, int bytes)
    {
        var cuts = new List<string>();
        if (!Directory.Exists(logDir))
        {
            return cuts;
        }
        foreach (var partitionDir in Directory.GetDirectories(logDir, $"{topic}-*").Order(StringComparer.Ordinal))
        {
            // Only the partition directories themselves (not "-stray" or "-delete" ones).
            if (!int.TryParse(Path.GetFileName(partitionDir)[(topic.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture, out _))
            {
                continue;
            }
            if (Directory.GetFiles(partitionDir, "*.log").OrderBy(f => long.Parse(Path.GetFileNameWithoutExtension(f), System.Globalization.CultureInfo.InvariantCulture)).LastOrDefault() is not { } segment)
            {
                continue;
            }
            var before = new FileInfo(segment).Length;
            var after = Math.Max(0, before - bytes);
            using (var file = new FileStream(segment, FileMode.Open, FileAccess.Write))
            {
                file.SetLength(after);
            }
            foreach (var index in new[] { ".index", ".timeindex" })
            {
                File.Delete(Path.ChangeExtension(segment, index));
            }
            cuts.Add($"{Path.GetFileName(partitionDir)}/{Path.GetFileName(segment)}: {before} -> {after} bytes");
        }
        return cuts;
    }
}
