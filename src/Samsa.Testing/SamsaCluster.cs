using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Broker;
using Samsa.Broker.Config;
using Samsa.Broker.Handlers;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Testing;

/// <summary>
/// Real Samsa brokers inside a .NET test: the same <see cref="KafkaBroker"/> the server runs, in this process, on
/// ephemeral loopback ports, with a data directory that is deleted on dispose (Java's EmbeddedKafka, franz-go's
/// kfake). Start one per test; they share nothing.
/// </summary>
/// <example>
/// <code>
/// await using var cluster = await SamsaCluster.StartAsync(o => o.Topic("orders", partitions: 3));
/// using var producer = new ProducerBuilder&lt;string, string&gt;(new ProducerConfig { BootstrapServers = cluster.BootstrapServers }).Build();
/// await producer.ProduceAsync("orders", new Message&lt;string, string&gt; { Key = "k", Value = "v" });
/// </code>
/// </example>
public sealed class SamsaCluster : IAsyncDisposable
{
    private readonly SamsaClusterOptions _options;
    private readonly ClusterInterceptor _interceptor = new();
    private readonly ILoggerFactory _loggerFactory;
    private readonly AdvanceableTimeProvider? _clock;
    private readonly string _root;
    private readonly bool _ownsRoot;
    private readonly SortedDictionary<int, Node> _nodes = [];
    private readonly Lock _gate = new();
    private int _disposed;

    private SamsaCluster(SamsaClusterOptions options, string root, bool ownsRoot, string clusterId)
    {
        _options = options;
        _root = root;
        _ownsRoot = ownsRoot;
        ClusterId = clusterId;
        _loggerFactory = options.LoggerFactoryValue ?? NullLoggerFactory.Instance;
        _clock = options.ManualClockValue ? new AdvanceableTimeProvider() : null;
    }

    /// <summary>Starts the cluster and creates its seed topics; returns once a client can produce to every one of them.</summary>
    public static async Task<SamsaCluster> StartAsync(Action<SamsaClusterOptions>? configure = null, CancellationToken cancellationToken = default)
    {
        var options = new SamsaClusterOptions();
        configure?.Invoke(options);
        if (options.AuthorizerValue && options.BrokerCount > 1 && options.PlainUsers.Count == 0)
        {
            // Without SASL every node would reach the others as User:ANONYMOUS, which the authorizer refuses.
            throw new ArgumentException("A multi-broker cluster with an authorizer needs SASL users (SaslPlainUser) so the nodes can authenticate to each other");
        }
        var ownsRoot = options.DataDirectoryValue is null;
        var root = options.DataDirectoryValue ?? Path.Combine(TempRoot(options.InMemoryValue), "samsa-testing-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        var clusterId = options.ClusterIdValue ?? Uuid.Random().ToString();
        var cluster = new SamsaCluster(options, root, ownsRoot, clusterId);
        try
        {
            for (var id = 1; id <= options.BrokerCount; id++)
            {
                var dir = Path.Combine(root, "node-" + id.ToString(CultureInfo.InvariantCulture));
                Directory.CreateDirectory(dir);
                if (!File.Exists(Path.Combine(dir, MetaProperties.FileName)))
                {
                    // As kafka-storage.sh format: the same cluster id on every node.
                    new MetaProperties(clusterId, id, Uuid.Random()).Write(dir, cluster.Time.GetUtcNow());
                }
                // A quorum's voters must be known before any node starts, so its controller ports are picked up front.
                cluster._nodes[id] = new Node(id, dir, options.BrokerCount > 1 ? FreePort() : 0, options.BrokerCount > 1 ? FreePort() : 0);
            }
            await Task.WhenAll(cluster._nodes.Keys.Select(id => cluster.StartNodeAsync(id, cancellationToken)));
            if (options.BrokerCount > 1)
            {
                await cluster.WaitUntilAsync(c => c.Running.Any(n => n.Controller?.IsActive == true)
                    && c.Running.All(n => n.Metadata.Current.Brokers.Values.Count(b => !b.Fenced) == options.BrokerCount), "an active controller and every broker unfenced", cancellationToken);
            }
            foreach (var topic in options.SeedTopics)
            {
                await cluster.CreateTopicAsync(topic.Name, topic.Partitions, topic.ReplicationFactor, topic.Configs, cancellationToken);
            }
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>The cluster id every node was formatted with.</summary>
    public string ClusterId { get; }

    /// <summary><c>host:port</c> of every running broker, for a client's <c>bootstrap.servers</c>.</summary>
    public string BootstrapServers => string.Join(",", Running.Select(b => b.BootstrapServers));

    /// <summary>The ids of every node, running or stopped (1 to the number of brokers).</summary>
    public IReadOnlyList<int> BrokerIds => [.. _nodes.Keys];

    /// <summary>The folder holding every node's data (one <c>node-N</c> folder each).</summary>
    public string DataDirectory => _root;

    /// <summary>
    /// The clock every node runs on: the system's, or with <see cref="SamsaClusterOptions.AdvanceableClock"/> one that
    /// <see cref="AdvanceTime"/> moves.
    /// </summary>
    public TimeProvider Time => (TimeProvider?)_clock ?? TimeProvider.System;

    /// <summary>A running node itself, for what the wire does not show (its logs, its metadata image).</summary>
    public KafkaBroker Broker(int id) => NodeOf(id).Broker ?? throw new InvalidOperationException($"Broker {id} is stopped");

    /// <summary>The port broker <paramref name="id"/>'s client listener is bound to (kept across a restart).</summary>
    public int Port(int id) => NodeOf(id).BrokerPort;

    private IEnumerable<KafkaBroker> Running
    {
        get
        {
            lock (_gate)
            {
                return [.. _nodes.Values.Select(n => n.Broker).OfType<KafkaBroker>()];
            }
        }
    }

    /// <summary>
    /// Hands every <paramref name="apiKey"/> request, on any broker, to <paramref name="handler"/> before the broker's
    /// own handler: it may watch it, hold it (await a delay, then <see cref="InterceptedRequest.Continue"/>), answer
    /// with an error (<see cref="InterceptedRequest.Fail"/>) or close the connection. <paramref name="times"/> limits
    /// the rule to that many requests (null: every one, until the returned rule is disposed).
    /// </summary>
    public RequestInterception Intercept(ApiKey apiKey, Func<InterceptedRequest, ValueTask<Interception>> handler, int? times = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentOutOfRangeException.ThrowIfLessThan(times ?? 1, 1);
        return _interceptor.Add(apiKey, handler, times);
    }

    /// <inheritdoc cref="Intercept(ApiKey, Func{InterceptedRequest, ValueTask{Interception}}, int?)"/>
    public RequestInterception Intercept(ApiKey apiKey, Func<InterceptedRequest, Interception> handler, int? times = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Intercept(apiKey, request => ValueTask.FromResult(handler(request)), times);
    }

    /// <summary>The next <paramref name="apiKey"/> request only.</summary>
    public RequestInterception InterceptOnce(ApiKey apiKey, Func<InterceptedRequest, Interception> handler) => Intercept(apiKey, handler, times: 1);

    /// <summary>Removes every interception rule.</summary>
    public void ClearInterceptions() => _interceptor.Clear();

    /// <summary>
    /// Creates a topic through the active controller and waits until every partition has a leader whose log is
    /// open. A replication factor of -1 takes min(brokers, 3).
    /// </summary>
    public async Task CreateTopicAsync(string name, int partitions = 1, short replicationFactor = -1, IReadOnlyDictionary<string, string>? configs = null,
        CancellationToken cancellationToken = default)
    {
        var replicas = replicationFactor > 0 ? replicationFactor : (short)Math.Min(_nodes.Count, 3);
        var request = new CreateTopicsRequest
        {
            timeoutMs = 30_000,
            Topics =
            [
                new()
                {
                    Name = name,
                    NumPartitions = partitions,
                    ReplicationFactor = replicas,
                    Configs = [.. (configs ?? new Dictionary<string, string>()).Select(c => new CreateTopicsRequest.CreatableTopicConfig { Name = c.Key, Value = c.Value })],
                },
            ],
        };
        var controller = Running.FirstOrDefault(n => n.Controller?.IsActive == true)?.Controller
            ?? throw new InvalidOperationException("No active controller to create the topic");
        var response = await controller.CreateTopicsAsync(request, cancellationToken);
        var result = response.Topics.Single();
        if (result.ErrorCode != 0)
        {
            throw new InvalidOperationException($"Creating topic {name} failed: {(ErrorCode)result.ErrorCode} {result.ErrorMessage}");
        }
        await WaitUntilAsync(c => c.Running.All(n => Enumerable.Range(0, partitions).All(p =>
            n.Metadata.Current.Partition(name, p) is { Leader: >= 0 } partition
            && c.Running.FirstOrDefault(l => l.NodeId == partition.Leader)?.Logs.Get(name, p) is not null)), $"topic {name} to be led everywhere", cancellationToken);
    }

    /// <summary>Stops broker <paramref name="id"/> as a server shutdown would; its data and port stay for a restart.</summary>
    public async Task StopBrokerAsync(int id)
    {
        var node = NodeOf(id);
        KafkaBroker? broker;
        lock (_gate)
        {
            broker = node.Broker;
            node.Broker = null;
        }
        if (broker is not null)
        {
            await broker.DisposeAsync();
        }
    }

    /// <summary>Starts broker <paramref name="id"/> again on its data and its port (stopping it first if it runs).</summary>
    public async Task RestartBrokerAsync(int id, CancellationToken cancellationToken = default)
    {
        await StopBrokerAsync(id);
        await StartNodeAsync(id, cancellationToken);
        if (_nodes.Count > 1)
        {
            await WaitUntilAsync(c => c.Running.All(n => n.Metadata.Current.Brokers.GetValueOrDefault(id) is { Fenced: false }), $"broker {id} to be unfenced", cancellationToken);
        }
    }

    /// <summary>
    /// Makes broker <paramref name="to"/>, one of the partition's replicas, its leader once it is in sync (needs several brokers):
    /// the replica list is reordered so <paramref name="to"/> comes first (a reassignment to the same replicas), then a
    /// preferred-leader election, as <c>kafka-reassign-partitions.sh</c> and <c>kafka-leader-election.sh</c> would.
    /// Returns once every running broker's image names the new leader; clients learn it from NOT_LEADER_OR_FOLLOWER.
    /// </summary>
    public async Task MoveLeaderAsync(string topic, int partition, int to, CancellationToken cancellationToken = default)
    {
        var controller = Running.FirstOrDefault(n => n.Controller?.IsActive == true)?.Controller
            ?? throw new InvalidOperationException("No active controller to move the leader");
        var active = Running.First(n => n.Controller == controller);
        var current = active.Metadata.Current.Partition(topic, partition)
            ?? throw new ArgumentException($"No partition {topic}-{partition}", nameof(topic));
        if (!current.Replicas.Contains(to))
        {
            throw new ArgumentException($"Broker {to} is not a replica of {topic}-{partition} ({string.Join(",", current.Replicas)})", nameof(to));
        }
        // A broker just restarted is still catching up: the election would refuse it until it is back in the ISR.
        await WaitUntilAsync(_ => active.Metadata.Current.Partition(topic, partition)?.Isr.Contains(to) == true, $"broker {to} to join the ISR of {topic}-{partition}", cancellationToken);
        current = active.Metadata.Current.Partition(topic, partition)!;
        if (current.Leader == to)
        {
            return;
        }
        var reassigned = await controller.AlterPartitionReassignmentsAsync(new AlterPartitionReassignmentsRequest
        {
            Topics = [new() { Name = topic, Partitions = [new() { PartitionIndex = partition, Replicas = [to, .. current.Replicas.Where(r => r != to)] }] }],
        }, cancellationToken);
        var reassignError = reassigned.ErrorCode != 0 ? reassigned.ErrorCode : reassigned.Responses.Single().Partitions.Single().ErrorCode;
        if (reassignError != 0)
        {
            throw new InvalidOperationException($"Reordering the replicas of {topic}-{partition} failed: {(ErrorCode)reassignError}");
        }
        await WaitUntilAsync(c => c.Running.First(n => n.Controller?.IsActive == true).Metadata.Current.Partition(topic, partition)?.Replicas[0] == to,
            $"broker {to} to be the preferred replica of {topic}-{partition}", cancellationToken);
        var elected = await controller.ElectLeadersAsync(new ElectLeadersRequest
        {
            ElectionType = 0, // PREFERRED
            TopicPartitions = [new() { Topic = topic, Partitions = [partition] }],
        }, 2, cancellationToken);
        var electError = elected.ErrorCode != 0 ? elected.ErrorCode : elected.ReplicaElectionResults.Single().PartitionResult.Single().ErrorCode;
        if (electError is not 0 and not (short)ErrorCode.ElectionNotNeeded)
        {
            throw new InvalidOperationException($"Electing broker {to} for {topic}-{partition} failed: {(ErrorCode)electError}");
        }
        await WaitUntilAsync(c => c.Running.All(n => n.Metadata.Current.Partition(topic, partition)?.Leader == to), $"broker {to} to lead {topic}-{partition}", cancellationToken);
    }

    /// <summary>
    /// Moves the cluster's clock forward (needs <see cref="SamsaClusterOptions.AdvanceableClock"/>): every timer the
    /// jump passed fires now, so retention, session and transaction timeouts happen without waiting for them.
    /// </summary>
    public void AdvanceTime(TimeSpan by)
    {
        if (_clock is null)
        {
            throw new InvalidOperationException("AdvanceTime needs a cluster started with o.AdvanceableClock()");
        }
        _clock.Advance(by);
    }

    private Node NodeOf(int id) => _nodes.TryGetValue(id, out var node) ? node : throw new ArgumentOutOfRangeException(nameof(id), id, "No such broker");

    private async Task StartNodeAsync(int id, CancellationToken cancellationToken)
    {
        var node = NodeOf(id);
        var config = KafkaConfig.FromProperties(ConfigFor(node));
        var broker = await KafkaBroker.StartAsync(config, _loggerFactory, cancellationToken, _clock);
        broker.Dispatcher.Interceptor = _interceptor.ForBroker(id);
        lock (_gate)
        {
            node.Broker = broker;
            // Bound once on port 0, then kept, so clients find the broker where it was after a restart.
            node.BrokerPort = broker.BoundEndpoints.First(e => e.ListenerName == "PLAINTEXT").Port;
        }
    }

    private Dictionary<string, string> ConfigFor(Node node)
    {
        var count = _nodes.Count;
        var replication = Math.Min(count, 3).ToString(CultureInfo.InvariantCulture);
        var properties = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["node.id"] = node.Id.ToString(CultureInfo.InvariantCulture),
            ["log.dirs"] = node.Directory,
            ["listeners"] = $"PLAINTEXT://127.0.0.1:{node.BrokerPort}",
            // Kafka's own integration-test settings: a group's first rebalance starts at once, and the internal
            // topics get one partition each instead of 50, so the first group or transaction does not open 50 logs.
            ["group.initial.rebalance.delay.ms"] = "0",
            ["offsets.topic.num.partitions"] = "1",
            ["offsets.topic.replication.factor"] = replication,
            ["transaction.state.log.num.partitions"] = "1",
            ["transaction.state.log.replication.factor"] = replication,
            ["transaction.state.log.min.isr"] = "1",
        };
        var protocol = _options.PlainUsers.Count > 0 ? "SASL_PLAINTEXT" : "PLAINTEXT";
        if (count > 1)
        {
            properties["process.roles"] = "broker,controller";
            properties["listeners"] = $"PLAINTEXT://127.0.0.1:{node.BrokerPort},CONTROLLER://127.0.0.1:{node.ControllerPort}";
            properties["controller.listener.names"] = "CONTROLLER";
            properties["inter.broker.listener.name"] = "PLAINTEXT";
            properties["controller.quorum.voters"] = string.Join(",", _nodes.Values.Select(n => $"{n.Id}@127.0.0.1:{n.ControllerPort}"));
            // Failures are noticed in about a second rather than Kafka's production 9 s.
            properties["broker.heartbeat.interval.ms"] = "200";
            properties["broker.session.timeout.ms"] = "2000";
            properties["replica.fetch.backoff.ms"] = "100";
            properties["controller.quorum.election.timeout.ms"] = "300";
            properties["controller.quorum.fetch.timeout.ms"] = "600";
        }
        properties["listener.security.protocol.map"] = $"PLAINTEXT:{protocol},CONTROLLER:{protocol}";
        if (_options.PlainUsers.Count > 0)
        {
            // The nodes log in to each other as an internal super user; the test's users are the others.
            var jaas = "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"samsa-broker\" password=\"samsa-broker-secret\" "
                + "user_samsa-broker=\"samsa-broker-secret\" "
                + string.Join(" ", _options.PlainUsers.Select(u => $"user_{u.Key}=\"{u.Value}\"")) + ";";
            properties["sasl.enabled.mechanisms"] = "PLAIN";
            properties["sasl.mechanism.inter.broker.protocol"] = "PLAIN";
            properties["sasl.mechanism.controller.protocol"] = "PLAIN";
            properties["listener.name.plaintext.plain.sasl.jaas.config"] = jaas;
            properties["listener.name.controller.plain.sasl.jaas.config"] = jaas;
        }
        if (_options.AuthorizerValue)
        {
            properties["authorizer.class.name"] = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";
            properties["super.users"] = string.Join(";", _options.SuperUsers.Select(u => u.Contains(':', StringComparison.Ordinal) ? u : "User:" + u)
                .Append("User:samsa-broker"));
        }
        foreach (var (key, value) in _options.Configs)
        {
            properties[key] = value;
        }
        return properties;
    }

    private async Task WaitUntilAsync(Func<SamsaCluster, bool> condition, string what, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        while (!condition(this))
        {
            try
            {
                // Real time, not the cluster's clock: the wait is the test's, and an advanced clock must not end it early.
                await Task.Delay(2, timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"Timed out after 30 s waiting for {what}");
            }
        }
    }

    private static string TempRoot(bool inMemory) =>
        inMemory && OperatingSystem.IsLinux() && Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();

    /// <summary>A free loopback port, for listeners that must be known before they are bound (a quorum's voters).</summary>
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _interceptor.Clear();
        // The active controller last, so the others' controlled shutdowns have someone to ask.
        var order = _nodes.Values.OrderBy(n => n.Broker?.Controller?.IsActive == true ? 1 : 0).Select(n => n.Id).ToList();
        List<Exception> failures = [];
        foreach (var id in order)
        {
            try
            {
                await StopBrokerAsync(id);
            }
            catch (Exception e)
            {
                // Every node is stopped and the folder deleted even when one stop fails; the failure is still reported.
                failures.Add(e);
            }
        }
        if (_ownsRoot)
        {
            try
            {
                Directory.Delete(_root, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
                // Already gone.
            }
        }
        if (failures.Count > 0)
        {
            throw new AggregateException("Stopping the cluster failed", failures);
        }
    }

    private sealed class Node(int id, string directory, int brokerPort, int controllerPort)
    {
        public int Id { get; } = id;

        public string Directory { get; } = directory;

        public int BrokerPort { get; set; } = brokerPort;

        public int ControllerPort { get; } = controllerPort;

        public KafkaBroker? Broker { get; set; }
    }
}
