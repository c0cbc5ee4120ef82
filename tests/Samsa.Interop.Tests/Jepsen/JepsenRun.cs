using System.Diagnostics;
using System.Globalization;
using Samsa.Interop.Tests.Infrastructure;
using Samsa.Protocol.Messages;

namespace Samsa.Interop.Tests.Jepsen;

/// <summary>What one Jepsen run does: the topic's replication, the nemeses, the workload's size and the producers' config.</summary>
public sealed record JepsenOptions
{
    public required int Seed { get; init; }

    /// <summary>How long the nemesis runs; the producers go on for <see cref="Tail"/> more after it heals.</summary>
    public required TimeSpan Duration { get; init; }

    public required IReadOnlyList<NemesisKind> Nemeses { get; init; }

    public int ReplicationFactor { get; init; } = 3;

    public int MinInsyncReplicas { get; init; } = 2;

    public int Partitions { get; init; } = 3;

    public int Producers { get; init; } = 2;

    public int Consumers { get; init; } = 2;

    /// <summary>Sends per second of each producer.</summary>
    public int Rate { get; init; } = 100;

    public TimeSpan Tail { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>librdkafka settings over the workload producer's (idempotent, acks=all), e.g. <c>acks=1</c>.</summary>
    public IReadOnlyList<string> ProducerOverrides { get; init; } = [];

    public override string ToString() =>
        $"seed {Seed}, {Duration.TotalSeconds:0} s + {Tail.TotalSeconds:0} s, RF {ReplicationFactor}, min ISR {MinInsyncReplicas}, {Partitions} partitions, "
        + $"{Producers} producers x {Rate}/s{(ProducerOverrides.Count > 0 ? $" ({string.Join(' ', ProducerOverrides)})" : "")}, {Consumers} consumers, "
        + $"nemeses {string.Join(",", Nemeses)}";
}

/// <summary>What a run found: the checker's result, the timeline, where the histories are, how long it took.</summary>
public sealed record JepsenOutcome(JepsenOptions Options, QueueCheckResult Result, IReadOnlyList<string> Timeline, string HistoryDirectory,
    TimeSpan Elapsed, TimeSpan LongestWithoutAck, bool FinalReadComplete, string ClientErrors)
{
    /// <summary>With replication: the first difference found between the replicas' segment files after the run, or null.</summary>
    public string? ReplicaDivergence { get; init; }

    public string Report() =>
        $"{Options}\n{Result.Summary()}\nlongest time without an acknowledged send: {LongestWithoutAck.TotalSeconds:0.0} s; final read complete: {FinalReadComplete}; "
        + $"run took {Elapsed.TotalSeconds:0} s; histories in {HistoryDirectory}";

    public string Describe() =>
        $"{Report()}\n{Result.Describe()}\n--- timeline\n{string.Join('\n', Timeline)}\n--- clients\n{ClientErrors}";
}

/// <summary>
/// One run of the Jepsen queue workload against a fresh <see cref="KRaftCluster"/> of 3 controllers and 3 brokers
/// (proxied broker links, so the partition nemesis can cut a leader off): a topic of <see cref="JepsenOptions.Partitions"/>
/// partitions at the options' replication factor and min.insync.replicas; Confluent.Kafka producers and consumers
/// (<c>jepsen-produce</c>, <c>jepsen-consume</c>) on the brokers' client listeners while the seeded
/// <see cref="Nemesis"/> runs for the duration; then everything healed, the producers' tail, a wait for every partition
/// to have a leader (and a full enough ISR), a final read of every partition from offset 0 to its end
/// (<c>jepsen-final</c>), and <see cref="QueueChecker"/> over all the histories.
/// </summary>
public static class JepsenRun
{
    public const string Topic = "jepsen";

    /// <summary>A topic like <see cref="Topic"/> for one acks=all produce before the workload starts.</summary>
    public const string ProbeTopic = "jepsen-probe";
    private const int FinalProcess = 200;

    public static async Task<JepsenOutcome> RunAsync(JepsenOptions options)
    {
        var clock = Stopwatch.StartNew();
        var timeline = new List<string>();
        void Log(string line)
        {
            lock (timeline)
            {
                timeline.Add($"{clock.Elapsed.TotalSeconds,6:0.0}s {line}");
            }
        }
        var directory = Directory.CreateTempSubdirectory($"samsa-jepsen-{options.Seed}-").FullName;
        var extraConfig = new Dictionary<string, string>
        {
            // Failures are noticed within seconds, so a minute's run sees them handled.
            ["broker.heartbeat.interval.ms"] = "500",
            ["broker.session.timeout.ms"] = "4000",
            ["replica.lag.time.max.ms"] = "5000",
            ["auto.create.topics.enable"] = "false",
            ["unclean.leader.election.enable"] = "false",
        };
        await using var cluster = await KRaftCluster.StartAsync(3, 3, extraConfig: extraConfig, proxiedBrokerLinks: true);
        Log($"cluster up: brokers {cluster.BrokerBootstrap}");
        await CreateTopicAsync(cluster, options, Topic);
        Log($"topic {Topic} created: {await DescribeTextAsync(cluster)}");
        await ProbeAsync(cluster, options);
        Log($"an acks=all produce to {ProbeTopic} was acknowledged");

        var nemesis = new Nemesis(cluster, Topic, options.Partitions, Log);
        var clientSeconds = (int)Math.Ceiling((options.Duration + options.Tail).TotalSeconds);
        var clients = new List<(string Name, Task<ProcessResult> Run)>();
        for (var p = 0; p < options.Producers; p++)
        {
            clients.Add(($"producer {p}", Client("jepsen-produce", cluster, [Topic, Int(options.Partitions), Int(p), Int(clientSeconds), Int(options.Rate),
                Path.Combine(directory, $"producer-{p}.jsonl"), .. options.ProducerOverrides], TimeSpan.FromSeconds(clientSeconds + 120))));
        }
        for (var c = 0; c < options.Consumers; c++)
        {
            clients.Add(($"consumer {100 + c}", Client("jepsen-consume", cluster, [Topic, Int(options.Partitions), Int(100 + c), Int(clientSeconds + 2),
                Path.Combine(directory, $"consumer-{100 + c}.jsonl"), Int(15 + 5 * c)], TimeSpan.FromSeconds(clientSeconds + 60))));
        }
        Log($"{options.Producers} producers and {options.Consumers} consumers started");

        List<string> steps;
        using (var stop = new CancellationTokenSource(options.Duration))
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(3), stop.Token);
                steps = await nemesis.RunAsync(options.Seed, options.Nemeses, stop.Token);
            }
            catch (OperationCanceledException)
            {
                steps = [];
            }
            finally
            {
                await nemesis.HealAsync();
            }
        }
        Log($"nemesis stopped and healed after {steps.Count} steps");

        var results = await Task.WhenAll(clients.Select(c => c.Run));
        Log("clients done: " + string.Join(", ", clients.Select((c, i) => $"{c.Name} exit {results[i].ExitCode}")));
        var healthy = await WaitHealthyAsync(cluster, options, TimeSpan.FromSeconds(30));
        Log($"{(healthy ? "healthy" : "NOT healthy after 30 s")}: {await DescribeTextAsync(cluster)}");

        var final = await Client("jepsen-final", cluster, [Topic, Int(options.Partitions), Int(FinalProcess), "90", Path.Combine(directory, "final.jsonl")], TimeSpan.FromSeconds(150));
        Log($"final read: exit {final.ExitCode} {final.Stdout.Trim()}");

        string? divergence = null;
        if (options.ReplicationFactor > 1)
        {
            // Replication survives real disks: once every replica is back in sync, all of them hold the same batches.
            var full = options with { MinInsyncReplicas = options.ReplicationFactor };
            var inSync = await WaitHealthyAsync(cluster, full, TimeSpan.FromSeconds(60));
            var dataDirectories = cluster.BrokerIds.ToDictionary(id => id, id => Path.Combine(cluster.DirectoryOf(id), "data"));
            var settle = Stopwatch.StartNew();
            do
            {
                divergence = Enumerable.Range(0, options.Partitions).Select(p => ReplicaFiles.Compare(dataDirectories, Topic, p)).FirstOrDefault(d => d is not null);
                if (divergence is null)
                {
                    break;
                }
                await Task.Delay(500);
            }
            while (settle.Elapsed < TimeSpan.FromSeconds(15));
            divergence = inSync ? divergence : $"not every replica back in sync after 60 s: {await DescribeTextAsync(cluster)}";
            Log(divergence is null ? "replica segment files: every partition's replicas hold the same batches, byte for byte" : $"replicas differ: {divergence}");
        }

        var history = new List<HistoryOp>();
        foreach (var file in Directory.GetFiles(directory, "producer-*.jsonl").Order(StringComparer.Ordinal)
            .Concat(Directory.GetFiles(directory, "consumer-*.jsonl").Order(StringComparer.Ordinal)).Append(Path.Combine(directory, "final.jsonl")))
        {
            if (File.Exists(file))
            {
                history.AddRange(History.Read(file));
            }
        }
        History.Write(Path.Combine(directory, "history.jsonl"), history.OrderBy(op => op.Time));
        var result = QueueChecker.Check(history);
        var clientErrors = string.Join('\n', clients.Select((c, i) => (c.Name, Result: results[i])).Append((Name: "final", Result: final))
            .Select(c => $"--- {c.Name}: exit {c.Result.ExitCode}, stderr tail\n{Tail(c.Result.Stderr, 30)}"));
        File.WriteAllText(Path.Combine(directory, "timeline.txt"), string.Join('\n', timeline) + "\n" + clientErrors);
        return new JepsenOutcome(options, result, timeline, directory, clock.Elapsed, LongestWithoutAck(history),
            final.ExitCode == 0, clientErrors)
        { ReplicaDivergence = divergence };
    }

    private static Task<ProcessResult> Client(string mode, KRaftCluster cluster, IEnumerable<string> args, TimeSpan timeout) =>
        ExternalProcess.RunAsync("dotnet", [RepoPaths.ConfluentClientDll, mode, cluster.BrokerBootstrap, .. args], timeout);

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Tail(string text, int lines) => string.Join('\n', text.Split('\n').TakeLast(lines));

    /// <summary>The longest stretch between the first invoke and the last acknowledgement with no send acknowledged.</summary>
    private static TimeSpan LongestWithoutAck(List<HistoryOp> history)
    {
        var times = history.Where(o => o is { F: "send", Type: "ok" }).Select(o => o.Time).Order().ToList();
        if (history.FirstOrDefault(o => o is { F: "send", Type: "invoke" }) is not { } first || times.Count == 0)
        {
            return TimeSpan.Zero;
        }
        var longest = times[0] - first.Time;
        for (var i = 1; i < times.Count; i++)
        {
            longest = Math.Max(longest, times[i] - times[i - 1]);
        }
        return TimeSpan.FromMicroseconds(longest);
    }

    /// <summary>
    /// Fails fast, before the workload's minutes, when the cluster cannot acknowledge an acks=all produce at the run's
    /// replication factor and min.insync.replicas at all (e.g. a broker that does not replicate yet).
    /// </summary>
    private static async Task ProbeAsync(KRaftCluster cluster, JepsenOptions options)
    {
        await CreateTopicAsync(cluster, options, ProbeTopic);
        var deadline = Stopwatch.StartNew();
        var last = "no leader";
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (await Nemesis.LeadersAsync(cluster, ProbeTopic) is { } leaders && leaders.GetValueOrDefault(0, -1) is var leader && cluster.BrokerIds.Contains(leader))
            {
                try
                {
                    using var connection = await RawKafkaConnection.ConnectAsync(cluster.Addresses[leader], cluster.Ports[leader]);
                    var (error, _) = await RawRecords.ProduceAsync(connection, ProbeTopic, 0, ["probe"]);
                    if (error == Samsa.Protocol.ErrorCode.None)
                    {
                        return;
                    }
                    last = error.ToString();
                }
                catch (Exception e) when (e is System.Net.Sockets.SocketException or OperationCanceledException or IOException)
                {
                    last = e.Message;
                }
            }
            await Task.Delay(500);
        }
        Assert.Fail($"seed {options.Seed}: an acks=all produce to a topic of replication factor {options.ReplicationFactor} and min.insync.replicas "
            + $"{options.MinInsyncReplicas} was not acknowledged within 30 s (last: {last}); does the broker replicate?\n{await DescribeTextAsync(cluster, ProbeTopic)}");
    }

    /// <summary>Creates a topic through a broker, retrying while not every broker is registered and unfenced yet.</summary>
    private static async Task CreateTopicAsync(KRaftCluster cluster, JepsenOptions options, string topic)
    {
        var deadline = Stopwatch.StartNew();
        var broker = cluster.BrokerIds[0];
        while (true)
        {
            using (var connection = await RawKafkaConnection.ConnectAsync(cluster.Addresses[broker], cluster.Ports[broker]))
            {
                var response = await connection.RequestAsync<CreateTopicsResponse>(new CreateTopicsRequest
                {
                    timeoutMs = 10000,
                    Topics =
                    [
                        new()
                        {
                            Name = topic,
                            NumPartitions = options.Partitions,
                            ReplicationFactor = (short)options.ReplicationFactor,
                            Configs = [new() { Name = "min.insync.replicas", Value = Int(options.MinInsyncReplicas) }],
                        },
                    ],
                }, 7, TimeSpan.FromSeconds(15));
                var error = response.Topics[0].ErrorCode;
                // 36: TOPIC_ALREADY_EXISTS (an earlier attempt went through).
                if (error is 0 or 36)
                {
                    break;
                }
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), $"CreateTopics: error {error} {response.Topics[0].ErrorMessage}");
            }
            await Task.Delay(200);
        }
        Assert.True(await WaitHealthyAsync(cluster, options, TimeSpan.FromSeconds(30), topic), $"topic {topic} has no leader for every partition: {await DescribeTextAsync(cluster, topic)}");
    }

    /// <summary>Until every partition has a leader and at least min.insync.replicas in its ISR (all of them, for a replication factor of 1).</summary>
    private static async Task<bool> WaitHealthyAsync(KRaftCluster cluster, JepsenOptions options, TimeSpan timeout, string topic = Topic)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (await Nemesis.DescribeAsync(cluster, topic) is { } described && described.Count == options.Partitions
                && described.All(p => p.ErrorCode == 0 && p.LeaderId >= 0 && p.IsrNodes.Count >= options.MinInsyncReplicas))
            {
                return true;
            }
            await Task.Delay(250);
        }
        return false;
    }

    private static async Task<string> DescribeTextAsync(KRaftCluster cluster, string topic = Topic) =>
        await Nemesis.DescribeAsync(cluster, topic) is { } described
            ? string.Join("; ", described.OrderBy(p => p.PartitionIndex).Select(p =>
                $"p{p.PartitionIndex} leader {p.LeaderId} epoch {p.LeaderEpoch} replicas [{string.Join(",", p.ReplicaNodes)}] isr [{string.Join(",", p.IsrNodes)}]{(p.ErrorCode != 0 ? $" error {p.ErrorCode}" : "")}"))
            : "(no broker answered Metadata)";
}
