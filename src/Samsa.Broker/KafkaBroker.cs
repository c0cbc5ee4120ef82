using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Samsa.Broker.Cluster;
using Samsa.Broker.Config;
using Samsa.Broker.Groups;
using Samsa.Broker.Handlers;
using Samsa.Broker.Http;
using Samsa.Broker.Lag;
using Samsa.Broker.Log;
using Samsa.Broker.Metrics;
using Samsa.Broker.Network;
using Samsa.Broker.Quotas;
using Samsa.Broker.Replication;
using Samsa.Broker.Security;
using Samsa.Broker.Security.Sasl;
using Samsa.Broker.Transactions;
using Samsa.Broker.WebConsole;
using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Metadata.Quorum;
using Samsa.Protocol.Messages;

namespace Samsa.Broker;

/// <summary>
/// One Samsa node as a library: formats or checks its log dirs, binds its listeners, and serves requests until
/// disposed. The server executable and in-process tests start exactly this.
/// </summary>
/// <example>
/// <code>
/// var config = KafkaConfig.FromProperties([new("listeners", "PLAINTEXT://127.0.0.1:0"), new("log.dirs", dir)]);
/// await using var broker = await KafkaBroker.StartAsync(config, loggerFactory, ct);
/// var port = broker.BoundEndpoints[0].Port;
/// </code>
/// </example>
public sealed class KafkaBroker : IAsyncDisposable
{
    private readonly SocketServer _socketServer;
    private readonly ILogger _logger;
    private int _disposed;

    private readonly IMetadataLog _metadataLog;

    private KafkaBroker(KafkaConfig config, string clusterId, SocketServer socketServer, MetadataCache metadata, RequestDispatcher dispatcher,
        IMetadataLog metadataLog, QuorumController? controller, LogMetadataPublisher logs, ILogger logger)
    {
        Config = config;
        ClusterId = clusterId;
        _socketServer = socketServer;
        Metadata = metadata;
        Dispatcher = dispatcher;
        _metadataLog = metadataLog;
        Controller = controller;
        Logs = logs;
        _logger = logger;
    }

    /// <summary>This node's own controller (null on a broker-only node); everything else in the broker reaches it as <see cref="IController"/>.</summary>
    public QuorumController? Controller { get; }

    /// <summary>This node's replica of the metadata quorum; null on a single node that keeps its own metadata log.</summary>
    public RaftMetadataLog? Quorum => _metadataLog as RaftMetadataLog;

    /// <summary>A broker's registration and heartbeats with the active controller (null outside a quorum).</summary>
    public BrokerLifecycleManager? Lifecycle { get; private init; }

    /// <summary>The follower side: one fetcher per leader this broker copies from (null outside a quorum).</summary>
    public ReplicaFetcherManager? ReplicaFetchers { get; private init; }

    private AlterPartitionManager? AlterPartitions { get; init; }

    /// <summary>The network clients this node owns (quorum, controller requests), closed with it.</summary>
    private IReadOnlyList<NetworkClient> NetworkClients { get; init; } = [];

    /// <summary>This node's instruments (<c>System.Diagnostics.Metrics</c>), exported on <c>metrics.listener</c> when set.</summary>
    public BrokerMetrics Metrics { get; private init; } = null!;

    /// <summary>The <c>metrics.listener</c> HTTP server (/metrics, /health/live, /health/ready); null when not configured.</summary>
    public MetricsHttpServer? MetricsServer { get; private init; }

    /// <summary>The <c>console.listener</c> web console; null when not configured.</summary>
    public ConsoleHttpServer? ConsoleServer { get; private init; }

    /// <summary>The partition logs of this node.</summary>
    public LogMetadataPublisher Logs { get; }

    /// <summary>Produce and fetch against the partitions this node leads.</summary>
    public ReplicaManager? Replicas { get; private init; }

    /// <summary>The group coordinator: consumer groups and committed offsets in <c>__consumer_offsets</c>.</summary>
    public GroupCoordinator? Groups { get; private init; }

    /// <summary>Consumer lag by group, sampled every <c>consumer.lag.sample.interval.ms</c>; null without <c>metrics.listener</c> or <c>console.listener</c>.</summary>
    public ConsumerLagMonitor? LagMonitor { get; private init; }

    /// <summary>The transaction coordinator: transactional ids in <c>__transaction_state</c>.</summary>
    public TransactionCoordinator? Transactions { get; private init; }

    /// <summary>Kafka's min.incremental.fetch.session.eviction.ms: a session idle this long may lose its slot to a new one.</summary>
    private static readonly TimeSpan FetchSessionEviction = TimeSpan.FromMilliseconds(120_000);

    /// <summary>Metadata log records replayed at start-up after the newest snapshot.</summary>
    public long ReplayedRecords { get; private init; }

    public KafkaConfig Config { get; }

    public int NodeId => Config.NodeId;

    public string ClusterId { get; }

    /// <summary>Listeners as bound; with port 0 in the config these carry the ports the OS chose.</summary>
    public IReadOnlyList<BoundEndpoint> BoundEndpoints => _socketServer.BoundEndpoints;

    public MetadataCache Metadata { get; }

    /// <summary>The SASL mechanisms of each listener, for the connections' authentication stage.</summary>
    public SaslServerFactory SaslServers { get; private init; } = null!;

    public RequestDispatcher Dispatcher { get; }

    /// <summary><c>host:port</c> of the first advertised listener, ready for a client's bootstrap.servers.</summary>
    public string BootstrapServers
    {
        get
        {
            var endpoint = Metadata.Current.Brokers[NodeId].Endpoints[0];
            return $"{endpoint.Host}:{endpoint.Port}";
        }
    }

    /// <param name="time">The one clock of this node (default: the system's); every timer, deadline and timestamp
    /// the broker takes comes from it, so a test can run the broker on a fake clock.</param>
    public static async Task<KafkaBroker> StartAsync(KafkaConfig config, ILoggerFactory loggerFactory, CancellationToken cancellationToken = default,
        TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        var logger = loggerFactory.CreateLogger("Samsa.Broker");
        BrokerLog.Starting(logger, config.NodeId, string.Join(",", config.ProcessRoles), string.Join(",", config.LogDirs));
        cancellationToken.ThrowIfCancellationRequested();
        // An authorizer that cannot be loaded fails start-up before anything is opened, as in Kafka.
        StandardAuthorizer.IsConfigured(config);
        var clusterId = MetaPropertiesEnsemble.LoadOrFormat(config.LogDirs, config.NodeId, logger);
        var metricsListener = config.GetString("metrics.listener") is { Length: > 0 } listener ? listener : null;
        if (metricsListener is not null)
        {
            // A malformed listener fails start-up before anything is opened.
            HttpListenerHost.Parse(metricsListener, "metrics.listener");
        }
        var consoleListener = config.GetString("console.listener") is { Length: > 0 } consoleValue ? consoleValue : null;
        if (consoleListener is not null)
        {
            HttpListenerHost.Parse(consoleListener, "console.listener");
        }
        var brokerMetrics = new BrokerMetrics(config.NodeId);

        var metadataLogDir = config.GetString("metadata.log.dir") ?? config.LogDirs[0];
        var isController = config.ProcessRoles.Contains("controller");
        var isBroker = config.ProcessRoles.Contains("broker");
        var metadataDirectoryId = MetaProperties.Read(metadataLogDir)?.DirectoryId ?? Protocol.Uuid.Zero;
        // Set once the listeners are bound; DescribeQuorum reports the controller listeners' ports from it.
        IReadOnlyList<BoundEndpoint> boundEndpoints = [];
        var describer = new ConfigDescriber(config);

        IMetadataLog metadataLog;
        MetadataCache metadata;
        long replayed = 0;
        KafkaNetworkChannel? raftChannel = null;
        List<NetworkClient> networkClients = [];
        Func<NodeEndpoint?> activeController = () => null;
        IReadOnlyList<QuorumVoter> quorumVoters = [];
        if (UsesQuorum(config, metadataLogDir))
        {
            // A KRaft quorum: the image comes from what the quorum commits, once this node hears from its leader.
            var raftClient = new NetworkClient(new NetworkClientOptions
            {
                ClientId = $"raft-client-{config.NodeId}",
                Security = ControllerClientSecurity(config),
                RequestTimeout = TimeSpan.FromMilliseconds(config.GetInt("controller.quorum.request.timeout.ms") + 500),
                ReconnectBackoffMax = TimeSpan.FromMilliseconds(Math.Max(config.GetInt("controller.quorum.retry.backoff.ms"), 200)),
            }, time, loggerFactory.CreateLogger("Samsa.RaftNetwork"));
            networkClients.Add(raftClient);
            quorumVoters = await ResolveVotersAsync(config, metadataLogDir, raftClient, time, logger, cancellationToken);
            var controllerListener = config.ControllerListenerNames.FirstOrDefault() ?? "CONTROLLER";
            var voters = quorumVoters.Where(v => v.Endpoints.Count > 0).ToDictionary(v => v.Id, v =>
            {
                var endpoint = v.Endpoints.FirstOrDefault(e => e.Name == controllerListener) ?? v.Endpoints[0];
                return new NodeEndpoint(v.Id, endpoint.Host, endpoint.Port);
            });
            var quorum = QuorumConfigFrom(config, clusterId, quorumVoters.Select(v => v.Id));
            RaftMetadataLog? raftLogRef = null;
            // A voter added later (KIP-853) is reached at the endpoint its VotersRecord names.
            NodeEndpoint? EndpointOf(int id)
            {
                if (voters.TryGetValue(id, out var configured))
                {
                    return configured;
                }
                var voter = raftLogRef?.Voters.FirstOrDefault(v => v.Id == id && v.Endpoints.Count > 0);
                var endpoint = voter?.Endpoints.FirstOrDefault(e => e.Name == controllerListener) ?? voter?.Endpoints[0];
                return endpoint is null ? null : new NodeEndpoint(id, endpoint.Host, endpoint.Port);
            }
            raftChannel = new KafkaNetworkChannel(config.NodeId, raftClient, EndpointOf,
                TimeSpan.FromMilliseconds(quorum.RequestTimeoutMs + quorum.FetchMaxWaitMs), loggerFactory.CreateLogger("Samsa.RaftNetwork"));
            var raftLog = RaftMetadataLog.Open(new RaftMetadataLogOptions
            {
                NodeId = config.NodeId,
                MetadataLogDir = metadataLogDir,
                Quorum = quorum,
                Logger = loggerFactory.CreateLogger("Samsa.Raft"),
                Time = time,
                MaxRecordBytesBetweenSnapshots = config.GetLong("metadata.log.max.record.bytes.between.snapshots"),
            }, raftChannel);
            raftChannel.Connect(raftLog.Deliver);
            metadataLog = raftLog;
            // Clients never reach a quorum's controllers: like Kafka's KRaft brokers, a broker names itself (a live
            // broker, which forwards admin requests) as the controller; a controller names the quorum's leader.
            metadata = new MetadataCache(MetadataImage.Empty(clusterId) with { ControllerId = isBroker ? config.NodeId : -1 });
            raftLogRef = raftLog;
            activeController = () => raftLog.Leader.LeaderId is var leader and >= 0 ? EndpointOf(leader) : null;
        }
        else
        {
            // Cluster state: newest snapshot plus the tail of __cluster_metadata, replayed before anything is served.
            var localLog = LocalMetadataLog.Open(metadataLogDir, new MetadataLogOptions
            {
                SegmentBytes = config.GetInt("metadata.log.segment.bytes"),
                SegmentMs = config.GetLong("metadata.log.segment.ms"),
                MaxRecordBytesBetweenSnapshots = config.GetLong("metadata.log.max.record.bytes.between.snapshots"),
                Logger = loggerFactory.CreateLogger("Samsa.MetadataLog"),
                Time = time,
            });
            var replayStarted = time.GetTimestamp();
            var (loaded, replayedRecords) = localLog.Load(MetadataImage.Empty(clusterId));
            replayed = replayedRecords;
            BrokerLog.MetadataLoaded(logger, loaded.Topics.Count, loaded.PartitionCount, replayed, (long)time.GetElapsedTime(replayStarted).TotalMilliseconds);
            metadataLog = localLog;
            metadata = new MetadataCache(loaded);
        }

        // Set once registered: the broker epoch its fetches and ISR changes carry (KIP-903).
        BrokerLifecycleManager? lifecycle = null;
        var replication = new ReplicationSettings
        {
            Time = time,
            ReplicaLagTimeMaxMs = config.GetLong("replica.lag.time.max.ms"),
            BrokerEpoch = () => lifecycle?.BrokerEpoch ?? -1,
            // KIP-841: only a registered broker that is neither fenced nor shutting down may join an ISR.
            IsEligible = id => metadata.Current.Brokers.GetValueOrDefault(id) is { IsActive: true },
        };
        var logs = new LogMetadataPublisher(config, describer, metadata, time, loggerFactory.CreateLogger("Samsa.LogManager"), replication);
        metadata.Published += logs.Apply;
        QuorumController? localController = null;
        if (isController)
        {
            localController = new QuorumController(metadataLog, metadata, new ControllerOptions
            {
                NodeId = config.NodeId,
                NumPartitions = config.NumPartitions,
                DefaultReplicationFactor = (short)config.DefaultReplicationFactor,
                DeleteTopicEnable = config.GetBool("delete.topic.enable"),
                ValidateBrokerConfigs = DynamicBrokerConfig.Validate,
                BrokerListDefault = name => KafkaConfigDefinitions.All.TryGetValue(name, out var key) && key.Type == ConfigType.List ? ConfigDescriber.Format(key.Default) ?? "" : null,
                ValidateGroupConfigs = describer.Groups.Validate,
                MaxIdleIntervalMs = config.GetInt("metadata.max.idle.interval.ms"),
                BrokerSessionTimeout = TimeSpan.FromMilliseconds(config.GetInt("broker.session.timeout.ms")),
                // A silent broker is fenced (and its partitions get new leaders) within an eighth of a session of
                // its expiry, at most a second late.
                FenceStaleBrokerInterval = TimeSpan.FromMilliseconds(Math.Clamp(config.GetInt("broker.session.timeout.ms") / 8, 50, 1000)),
                UncleanLeaderElectionEnable = config.GetBool("unclean.leader.election.enable"),
                AutoLeaderRebalanceEnable = config.GetBool("auto.leader.rebalance.enable"),
                LeaderImbalanceCheckInterval = TimeSpan.FromSeconds(config.GetLong("leader.imbalance.check.interval.seconds")),
                Time = time,
            });
        }
        else
        {
            metadataLog.Register(new MetadataLoader(metadataLog, metadata));
        }
        if (metadataLog is RaftMetadataLog && !isBroker)
        {
            metadataLog.Register(new ControllerIdPublisher(metadata));
        }
        IController controller = localController is not null && metadataLog is not RaftMetadataLog
            ? localController
            : CreateRemoteController(config, activeController, time, loggerFactory, networkClients);
        var replicas = new ReplicaManager(metadata, logs, describer, time, loggerFactory.CreateLogger("Samsa.ReplicaManager"))
        {
            SelectsReadReplicas = config.GetString("replica.selector.class") is { Length: > 0 },
            Metrics = brokerMetrics,
        };
        var alterPartitions = new AlterPartitionManager(controller, config.NodeId, () => lifecycle?.BrokerEpoch ?? -1, loggerFactory.CreateLogger("Samsa.Isr"));
        replicas.IsrChanges = alterPartitions.Submit;
        ReplicaFetcherManager? fetchers = null;
        if (isBroker && metadataLog is RaftMetadataLog && config.InterBrokerListenerName is { } interBrokerListener)
        {
            var fetcherClient = new NetworkClient(new NetworkClientOptions
            {
                ClientId = $"replica-fetcher-{config.NodeId}",
                Security = Samsa.Broker.Security.ClientSecurity.For(config, interBrokerListener, "sasl.mechanism.inter.broker.protocol"),
                RequestTimeout = TimeSpan.FromMilliseconds(config.GetInt("replica.socket.timeout.ms")),
                MaxResponseBytes = Math.Max(Protocol.RequestFrames.MaxResponseBytes, config.GetInt("replica.fetch.response.max.bytes") + 1024 * 1024),
            }, time, loggerFactory.CreateLogger("Samsa.ReplicaFetcher"));
            networkClients.Add(fetcherClient);
            fetchers = new ReplicaFetcherManager(logs.Partitions, metadata, fetcherClient, new ReplicaFetcherConfig
            {
                NodeId = config.NodeId,
                ListenerName = interBrokerListener,
                MaxWaitMs = config.GetInt("replica.fetch.wait.max.ms"),
                MinBytes = config.GetInt("replica.fetch.min.bytes"),
                MaxBytes = config.GetInt("replica.fetch.response.max.bytes"),
                PartitionMaxBytes = config.GetInt("replica.fetch.max.bytes"),
                Backoff = TimeSpan.FromMilliseconds(config.GetInt("replica.fetch.backoff.ms")),
                RequestTimeout = TimeSpan.FromMilliseconds(config.GetInt("replica.socket.timeout.ms")),
            }, () => lifecycle?.BrokerEpoch ?? -1, tp => replicas.FetchPurgatory.CheckAndComplete(tp), time, loggerFactory.CreateLogger("Samsa.ReplicaFetcher"));
        }
        logs.Partitions.Changed += () =>
        {
            replicas.OnPartitionsChanged();
            fetchers?.Reconcile();
        };
        replicas.StartIsrExpiration(TimeSpan.FromMilliseconds(Math.Max(1, config.GetLong("replica.lag.time.max.ms") / 2)));
        var fetchSessions = new FetchSessionCache(config.GetInt("max.incremental.fetch.session.cache.slots"), FetchSessionEviction, time);
        var groups = new GroupCoordinator(GroupCoordinatorConfig.From(config), metadata, replicas, logs, controller, config.NodeId, time, loggerFactory);
        var lagMonitor = metricsListener is null && consoleListener is null ? null : new ConsumerLagMonitor(groups, replicas, time, loggerFactory.CreateLogger("Samsa.Lag"),
            alertThreshold: config.GetLong("consumer.lag.alert.threshold"));
        // Kafka's request.timeout.ms default: how long a marker may wait for the high watermark.
        var txnMarkers = new WriteTxnMarkersHandler(replicas, groups, time, requestTimeoutMs: 30_000);
        // A combined node asks its own controller for producer id blocks, as a broker would over AllocateProducerIds.
        var producerIds = new ProducerIdManager(ct => controller.AllocateProducerIdsAsync(config.NodeId, lifecycle?.BrokerEpoch ?? -1, ct), loggerFactory.CreateLogger("Samsa.ProducerIds"));
        var transactions = new TransactionCoordinator(TransactionCoordinatorOptions.From(config), metadata, replicas, logs, controller, producerIds,
            txnMarkers.WriteAsync, groups.PartitionFor, config.NodeId, time, loggerFactory);

        var describeQuorum = metadataLog is RaftMetadataLog quorumLog
            ? new DescribeQuorumHandler(ct => DescribeRaftQuorumAsync(quorumLog, raftChannel!, networkClients[0], activeController, quorumVoters, ct),
                () => VoterNodes(quorumLog.Voters.Any(v => v.Endpoints.Count > 0) ? quorumLog.Voters : quorumVoters))
            : new DescribeQuorumHandler(_ => ValueTask.FromResult(((LocalMetadataLog)metadataLog).DescribeQuorum(config.NodeId, metadataDirectoryId, time.GetUtcNow().ToUnixTimeMilliseconds())),
                () => VoterNodes(config, boundEndpoints));

        // Kafka's QuotaManagers: one sampled rate per quota key over quota.window.num windows of quota.window.size.seconds.
        var quotaSamples = config.GetInt("quota.window.num");
        var quotaWindowSeconds = config.GetInt("quota.window.size.seconds");
        // Their throttle-time averages use Kafka's metrics windows, metrics.num.samples of metrics.sample.window.ms.
        var metricsSamples = config.GetInt("metrics.num.samples");
        var metricsWindowMs = config.GetLong("metrics.sample.window.ms");
        var produceQuota = new ClientQuotaManager(ClientQuotaControlManager.ProducerByteRate, () => metadata.Current, quotaSamples, quotaWindowSeconds, time,
            metricsSamples: metricsSamples, metricsWindowMs: metricsWindowMs);
        var fetchQuota = new ClientQuotaManager(ClientQuotaControlManager.ConsumerByteRate, () => metadata.Current, quotaSamples, quotaWindowSeconds, time,
            metricsSamples: metricsSamples, metricsWindowMs: metricsWindowMs);
        var mutationQuota = new ControllerMutationQuota(() => metadata.Current, quotaSamples, quotaWindowSeconds, time, metricsSamples, metricsWindowMs);
        var requestQuota = new RequestQuota(() => metadata.Current, quotaSamples, quotaWindowSeconds, time, metricsSamples, metricsWindowMs);
        brokerMetrics.ObserveQuotas(new QuotaManagers(produceQuota, fetchQuota, requestQuota, mutationQuota));
        IApiHandler[] admin =
        [
            new SaslHandshakeHandler(),
            new SaslAuthenticateHandler(loggerFactory, brokerMetrics),
            new ProduceHandler(replicas, config.GetBool("transaction.partition.verification.enable")
                ? new ProduceHandler.TransactionVerifier((id, producerId, epoch, topic, partition, ct) =>
                    transactions.VerifyPartitionAsync(id, producerId, epoch, new Storage.Checkpoints.TopicPartition(topic, partition), ct))
                : null, produceQuota),
            new FetchHandler(replicas, metadata, fetchSessions, fetchQuota, brokerMetrics),
            new MetadataHandler(metadata, controller, config.AutoCreateTopicsEnable),
            new CreateTopicsHandler(controller, metadata, describer, mutationQuota, config.NumPartitions),
            new DeleteTopicsHandler(controller, metadata, mutationQuota),
            new CreatePartitionsHandler(controller, metadata, mutationQuota),
            new DescribeConfigsHandler(metadata, describer, config.NodeId),
            new AlterConfigsHandler(controller),
            new IncrementalAlterConfigsHandler(controller),
            new DescribeClusterHandler(metadata),
            describeQuorum,
            new DescribeTopicPartitionsHandler(metadata),
            new DeleteRecordsHandler(metadata, replicas, logs),
            new ListOffsetsHandler(metadata, replicas, logs),
            new OffsetForLeaderEpochHandler(replicas),
            new FindCoordinatorHandler(groups, transactions),
            new JoinGroupHandler(groups),
            new SyncGroupHandler(groups),
            new HeartbeatHandler(groups),
            new LeaveGroupHandler(groups),
            new ListGroupsHandler(groups),
            new DescribeGroupsHandler(groups),
            new DeleteGroupsHandler(groups),
            new OffsetCommitHandler(groups, metadata),
            new OffsetFetchHandler(groups),
            new TxnOffsetCommitHandler(groups, metadata),
            new OffsetDeleteHandler(groups, metadata),
            new ConsumerGroupHeartbeatHandler(groups, metadata),
            new ConsumerGroupDescribeHandler(groups, metadata),
            new GetTelemetrySubscriptionsHandler(config.GetInt("telemetry.max.bytes")),
            new PushTelemetryHandler(config.GetInt("telemetry.max.bytes")),
            new DescribeLogDirsHandler(config.LogDirs, logs),
            new UpdateFeaturesHandler(controller),
            new ElectLeadersHandler(controller),
            new AlterPartitionReassignmentsHandler(controller),
            new ListPartitionReassignmentsHandler(controller),
            new DescribeAclsHandler(metadata),
            new CreateAclsHandler(controller),
            new DeleteAclsHandler(controller),
            new DescribeUserScramCredentialsHandler(metadata),
            new AlterUserScramCredentialsHandler(controller),
            new DescribeClientQuotasHandler(metadata),
            new AlterClientQuotasHandler(controller),
            new UnregisterBrokerHandler(metadata, config.NodeId),
            txnMarkers,
            new DescribeProducersHandler(replicas),
            new InitProducerIdHandler(producerIds, transactions),
            new AddPartitionsToTxnHandler(transactions),
            new AddOffsetsToTxnHandler(transactions),
            new EndTxnHandler(transactions),
            new DescribeTransactionsHandler(transactions),
            new ListTransactionsHandler(transactions),
        ];
        var apiVersionsHandler = new ApiVersionsHandler(admin, metadata, loggerFactory);
        var authorizer = StandardAuthorizer.FromConfig(config, metadata, loggerFactory);
        var dispatcher = new RequestDispatcher([apiVersionsHandler, .. admin], loggerFactory)
        {
            Authorizer = authorizer,
            RequestQuota = requestQuota,
        };

        // The controller listeners serve what Kafka's ControllerApis serves: the quorum's RPCs and, on a controller,
        // the operations brokers forward to it.
        List<IApiHandler> controllerApis = [describeQuorum, new DescribeClusterHandler(metadata), new SaslHandshakeHandler(), new SaslAuthenticateHandler(loggerFactory, brokerMetrics)];
        if (raftChannel is not null)
        {
            controllerApis.AddRange(RaftHandlers.For(raftChannel));
        }
        if (localController is not null)
        {
            controllerApis.AddRange(
            [
                new CreateTopicsHandler(localController, metadata, describer),
                new DeleteTopicsHandler(localController, metadata),
                new CreatePartitionsHandler(localController),
                new AlterConfigsHandler(localController),
                new IncrementalAlterConfigsHandler(localController),
                new UpdateFeaturesHandler(localController),
                new AllocateProducerIdsHandler(localController),
                new BrokerRegistrationHandler(localController),
                new BrokerHeartbeatHandler(localController),
                new AlterPartitionHandler(localController),
                new ElectLeadersHandler(localController),
                new AlterPartitionReassignmentsHandler(localController),
                new ListPartitionReassignmentsHandler(localController),
                new DescribeAclsHandler(metadata),
                new CreateAclsHandler(localController),
                new DeleteAclsHandler(localController),
                new AlterUserScramCredentialsHandler(localController),
                new AlterClientQuotasHandler(localController),
            ]);
        }
        var controllerDispatcher = new RequestDispatcher([new ApiVersionsHandler(controllerApis, metadata, loggerFactory), .. controllerApis], loggerFactory, RequestDispatcher.ControllerListener)
        {
            Authorizer = authorizer,
        };

        // The image is published before the first accept, holding the ports actually bound.
        var saslServers = new SaslServerFactory(config, metadata, time, loggerFactory);
        var security = Samsa.Broker.Security.ListenerSecurity.Create(config, saslServers);
        var socketServer = await SocketServer.BindAsync(config, new ListenerRouter(dispatcher, controllerDispatcher, config.ControllerListenerNames), loggerFactory, time, security,
            brokerMetrics, () => metadata.Current);
        boundEndpoints = socketServer.BoundEndpoints;
        brokerMetrics.Observe(new BrokerState
        {
            Partitions = () => logs.Partitions.All,
            IsActiveController = () => localController?.IsActive ?? false,
            OfflinePartitions = () => metadata.Current.Topics.Values.Sum(t => t.Partitions.Count(p => p.Leader < 0)),
            Connections = socketServer.ConnectionCountsByListener,
            GroupCount = () => groups.Shards.Values.Sum(s => s.GroupCount),
            GroupsInState = groupState => groups.Shards.Values.Sum(s => s.ClassicGroupCount(groupState)),
            OffsetCount = () => groups.Shards.Values.Sum(s => s.OffsetCount),
            ClusterId = clusterId,
            Lag = () => lagMonitor?.Current,
            LagAlerting = () => lagMonitor?.Alerting,
        });
        if (metadataLog is RaftMetadataLog raftMetadataLog)
        {
            raftMetadataLog.Start();
        }
        else
        {
            metadata.Publish(WithThisNode(metadata.Current, config, socketServer.BoundEndpoints));
            await localController!.BootstrapAsync(cancellationToken);
        }
        // A quorum broker loads its logs once its image has caught up with the metadata log (below), so a partition
        // it still hosts is never taken for a stray by an image that does not know it yet.
        var loadsLogsWhenCaughtUp = isBroker && metadataLog is RaftMetadataLog;
        if (!loadsLogsWhenCaughtUp)
        {
            logs.Start(metadata);
        }
        groups.Start();
        lagMonitor?.Start(TimeSpan.FromMilliseconds(config.GetLong("consumer.lag.sample.interval.ms")));
        transactions.Start();
        // A broker in a quorum serves clients only once it is registered and unfenced; its controller listeners (the
        // quorum's RPCs) accept at once.
        var waitsForUnfence = isBroker && metadataLog is RaftMetadataLog;
        socketServer.Start(waitsForUnfence ? bound => config.ControllerListenerNames.Contains(bound.ListenerName) : null);
        localController?.StartPeriodicTasks();

        // In a quorum a broker registers with the active controller and heartbeats; it is fenced (no partition led
        // here) until it has caught up with the metadata log (Kafka's BrokerLifecycleManager).
        if (isBroker && metadataLog is RaftMetadataLog)
        {
            lifecycle = new BrokerLifecycleManager(controller, new BrokerLifecycleOptions
            {
                NodeId = config.NodeId,
                ClusterId = clusterId,
                Listeners = [.. AdvertisedEndpoints(config, socketServer.BoundEndpoints).Select(e => new BrokerRegistrationRequest.Listener
                {
                    Name = e.ListenerName,
                    Host = e.Host,
                    Port = (ushort)e.Port,
                    SecurityProtocol = (short)e.SecurityProtocol, // Kafka's ids: PLAINTEXT 0, SSL 1, SASL_PLAINTEXT 2, SASL_SSL 3
                })],
                Rack = config.BrokerRack,
                Features = [.. FeatureControlManager.Supported.Select(f => new BrokerRegistrationRequest.Feature { Name = f.Key, MinSupportedVersion = f.Value.Min, MaxSupportedVersion = f.Value.Max })],
                HeartbeatInterval = TimeSpan.FromMilliseconds(config.GetInt("broker.heartbeat.interval.ms")),
                InitialRegistrationTimeout = TimeSpan.FromMilliseconds(config.GetInt("initial.broker.registration.timeout.ms")),
                // Kafka's broker waits for its controlled shutdown at most a session: after that it would be fenced anyway.
                ControlledShutdownTimeout = TimeSpan.FromMilliseconds(config.GetInt("broker.session.timeout.ms")),
                UnfenceWhenReady = true,
            }, () => metadata.Current.Offset, time, loggerFactory.CreateLogger("Samsa.BrokerLifecycle"));
            lifecycle.Start();
        }

        // Ready for clients: the logs are loaded and, in a quorum, this broker is registered and unfenced.
        var metricsServer = metricsListener is null ? null : await MetricsHttpServer.StartAsync(metricsListener, brokerMetrics,
            () => logs.Loaded && (lifecycle is null || (lifecycle.Registered.IsCompletedSuccessfully && !lifecycle.IsFenced)), loggerFactory, cancellationToken,
            lag: () => lagMonitor?.Current, clusterName: clusterId);
        ConsoleHttpServer? consoleServer = null;
        if (consoleListener is not null)
        {
            try
            {
                consoleServer = await ConsoleHttpServer.StartAsync(consoleListener,
                    new ConsoleSources(config.NodeId, clusterId, metadata, describer, controller, replicas, groups, () => lagMonitor?.Current,
                        new ConsoleSampler(brokerMetrics, () => lagMonitor?.Current, time, TimeSpan.FromSeconds(1))),
                    new ConsoleAuthenticator(config, metadata), loggerFactory, cancellationToken);
            }
            catch
            {
                if (metricsServer is not null)
                {
                    await metricsServer.DisposeAsync();
                }
                throw;
            }
        }
        var broker = new KafkaBroker(config, clusterId, socketServer, metadata, dispatcher, metadataLog, localController, logs, logger)
        {
            Metrics = brokerMetrics,
            MetricsServer = metricsServer,
            ConsoleServer = consoleServer,
            LagMonitor = lagMonitor,
            SaslServers = saslServers,
            NetworkClients = networkClients,
            Lifecycle = lifecycle,
            ReplicaFetchers = fetchers,
            AlterPartitions = alterPartitions,
            ReplayedRecords = replayed,
            Replicas = replicas,
            Groups = groups,
            Transactions = transactions,
        };
        if (lifecycle is not null)
        {
            try
            {
                // Kafka's broker startup: caught up with the metadata log, then the logs loaded, then unfenced.
                await lifecycle.CaughtUp.WaitAsync(cancellationToken);
                logs.Start(metadata);
                await logs.WhenLoadedAsync().WaitAsync(cancellationToken);
                lifecycle.SetReadyToUnfence();
                await lifecycle.Unfenced.WaitAsync(cancellationToken);
                // The controller has unfenced this broker; serve clients once this broker's own image says so too,
                // or its Metadata answers would leave it out of the brokers they may talk to.
                await metadata.WaitUntilAsync(image => image.Brokers.TryGetValue(config.NodeId, out var self) && !self.Fenced, cancellationToken);
            }
            catch
            {
                // Never registered or unfenced (registration timed out, or a stop was asked for meanwhile): close what
                // started, its threads included, so the process can end.
                await broker.DisposeAsync();
                throw;
            }
            socketServer.Start();
        }
        BrokerLog.Started(logger, config.NodeId, clusterId, string.Join(", ", socketServer.BoundEndpoints.Select(e => $"{e.ListenerName}://{e.EndPoint}")));
        return broker;
    }

    /// <summary>
    /// The replayed image plus this broker, registered with its advertised listeners (port 0 replaced by the bound
    /// port) and acting as controller: a quorum of one registers itself without a BrokerRegistration round trip.
    /// </summary>
    private static MetadataImage WithThisNode(MetadataImage image, KafkaConfig config, IReadOnlyList<BoundEndpoint> bound)
    {
        var endpoints = AdvertisedEndpoints(config, bound).Select(a => new BrokerEndpoint(a.ListenerName, a.Host, a.Port)).ToImmutableArray();
        return image
            .WithBroker(new BrokerRegistration(config.NodeId, endpoints, config.BrokerRack)) with
        { ControllerId = config.NodeId };
    }

    /// <summary>The advertised listeners with the bound port where the config says 0.</summary>
    private static IEnumerable<Endpoint> AdvertisedEndpoints(KafkaConfig config, IReadOnlyList<BoundEndpoint> bound) =>
        config.AdvertisedListeners.Select(a => a.Port != 0 ? a : a with { Port = bound.FirstOrDefault(b => b.ListenerName == a.ListenerName)?.Port ?? 0 });

    /// <summary>A quorum's voters and their controller endpoints, for DescribeQuorum v2.</summary>
    private static List<DescribeQuorumResponse.Node> VoterNodes(IReadOnlyList<QuorumVoter> voters) =>
        [.. voters.Select(v => new DescribeQuorumResponse.Node
        {
            NodeId = v.Id,
            Listeners = [.. v.Endpoints.Select(e => new DescribeQuorumResponse.Listener { Name = e.Name, Host = e.Host, Port = (ushort)e.Port })],
        })];

    /// <summary>
    /// The single node's voter endpoints for DescribeQuorum v2: its controller listeners, advertised where configured,
    /// with the bound port where the config says 0.
    /// </summary>
    private static List<Protocol.Messages.DescribeQuorumResponse.Node> VoterNodes(KafkaConfig config, IReadOnlyList<BoundEndpoint> bound)
    {
        var listeners = new List<Protocol.Messages.DescribeQuorumResponse.Listener>();
        foreach (var listener in config.Listeners.Where(l => config.ControllerListenerNames.Contains(l.ListenerName)))
        {
            var advertised = config.AdvertisedListeners.FirstOrDefault(a => a.ListenerName == listener.ListenerName) ?? listener;
            var port = advertised.Port != 0 ? advertised.Port : bound.FirstOrDefault(b => b.ListenerName == listener.ListenerName)?.Port ?? 0;
            var host = string.IsNullOrEmpty(advertised.Host) ? System.Net.Dns.GetHostName() : advertised.Host;
            listeners.Add(new Protocol.Messages.DescribeQuorumResponse.Listener { Name = listener.ListenerName, Host = host, Port = (ushort)port });
        }
        return [new Protocol.Messages.DescribeQuorumResponse.Node { NodeId = config.NodeId, Listeners = listeners }];
    }

    /// <summary>
    /// Whether this node keeps its metadata in a KRaft quorum: any node with static voters
    /// (<c>controller.quorum.voters</c>), and every node that is not a combined one. A combined node without voters is
    /// the zero-config single node, which keeps its own metadata log.
    /// </summary>
    private static bool UsesQuorum(KafkaConfig config, string metadataLogDir) =>
        config.QuorumVoters.Count > 0 || BootstrapVoters.Read(metadataLogDir) is not null
        || !(config.ProcessRoles.Contains("broker") && config.ProcessRoles.Contains("controller"));

    /// <summary>
    /// The quorum's voters: <c>controller.quorum.voters</c> (a static quorum); else the bootstrap snapshot that
    /// <c>kafka-storage.sh format --standalone / --initial-controllers</c> wrote (a dynamic quorum's controllers); else,
    /// as Kafka's observers find the leader, from any of <c>controller.quorum.bootstrap.servers</c>: DescribeQuorum
    /// v2 there names the voters and their endpoints (retried until <c>initial.broker.registration.timeout.ms</c>).
    /// </summary>
    private static async Task<IReadOnlyList<QuorumVoter>> ResolveVotersAsync(KafkaConfig config, string metadataLogDir, NetworkClient client,
        TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        if (config.QuorumVoters.Count > 0)
        {
            return config.QuorumVoters;
        }
        if (BootstrapVoters.Read(metadataLogDir) is { } bootstrap)
        {
            return bootstrap;
        }
        var servers = config.GetList("controller.quorum.bootstrap.servers").Where(s => s.Length > 0)
            .Select((server, i) =>
            {
                var colon = server.LastIndexOf(':');
                return colon > 0 && int.TryParse(server.AsSpan(colon + 1), System.Globalization.CultureInfo.InvariantCulture, out var port)
                    ? new NodeEndpoint(-2 - i, server[..colon].Trim('[', ']'), port)
                    : throw new ConfigException($"Invalid value {server} in controller.quorum.bootstrap.servers: expected host:port");
            }).ToList();
        if (servers.Count == 0)
        {
            throw new ConfigException("A node in a KRaft quorum needs controller.quorum.voters or controller.quorum.bootstrap.servers");
        }
        var request = new DescribeQuorumRequest { Topics = [new() { TopicName = Samsa.Metadata.TopicName.ClusterMetadata, Partitions = [new() { PartitionIndex = 0 }] }] };
        var started = time.GetTimestamp();
        var timeout = TimeSpan.FromMilliseconds(config.GetInt("initial.broker.registration.timeout.ms"));
        while (true)
        {
            foreach (var server in servers)
            {
                try
                {
                    var response = await client.SendAsync<DescribeQuorumResponse>(server, request, 2, cancellationToken, TimeSpan.FromSeconds(5));
                    if (response.ErrorCode == 0 && response.Topics.FirstOrDefault()?.Partitions.FirstOrDefault() is { ErrorCode: 0 } partition && response.Nodes.Count > 0)
                    {
                        var nodes = response.Nodes.ToDictionary(n => n.NodeId);
                        return [.. partition.CurrentVoters.Select(v => new QuorumVoter(v.ReplicaId, v.ReplicaDirectoryId,
                            nodes.TryGetValue(v.ReplicaId, out var node) ? [.. node.Listeners.Select(l => new VoterEndpoint(l.Name, l.Host, l.Port))] : []))];
                    }
                }
                catch (Exception e) when (e is NodeDisconnectedException or TimeoutException or Protocol.ProtocolException)
                {
                    // Not up yet, or no leader yet: try the next one.
                }
            }
            if (time.GetElapsedTime(started) > timeout)
            {
                throw new TimeoutException($"No controller of {string.Join(",", servers)} named the quorum's voters within {timeout.TotalMilliseconds} ms");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(500), time, cancellationToken);
        }
    }

    private static QuorumConfig QuorumConfigFrom(KafkaConfig config, string clusterId, IEnumerable<int> voters)
    {
        var voterIds = voters.ToHashSet();
        if (voterIds.Count == 0)
        {
            throw new ConfigException("The KRaft quorum has no voters: set controller.quorum.voters, or format the controllers with --standalone or --initial-controllers");
        }
        return new QuorumConfig
        {
            Voters = voterIds,
            ClusterId = clusterId,
            ElectionTimeoutMs = config.GetInt("controller.quorum.election.timeout.ms"),
            ElectionBackoffMaxMs = config.GetInt("controller.quorum.election.backoff.max.ms"),
            FetchTimeoutMs = config.GetInt("controller.quorum.fetch.timeout.ms"),
            RequestTimeoutMs = config.GetInt("controller.quorum.request.timeout.ms"),
            RetryBackoffMs = config.GetInt("controller.quorum.retry.backoff.ms"),
        };
    }

    /// <summary>How this node reaches the controllers: the first controller listener's TLS and SASL (<c>sasl.mechanism.controller.protocol</c>).</summary>
    private static Samsa.Broker.Security.ClientSecurity ControllerClientSecurity(KafkaConfig config) =>
        config.ControllerListenerNames.FirstOrDefault() is { } listener
            ? Samsa.Broker.Security.ClientSecurity.For(config, listener, "sasl.mechanism.controller.protocol")
            : Samsa.Broker.Security.ClientSecurity.Plaintext;

    private static RemoteController CreateRemoteController(KafkaConfig config, Func<NodeEndpoint?> activeController, TimeProvider time,
        ILoggerFactory loggerFactory, List<NetworkClient> networkClients)
    {
        var client = new NetworkClient(new NetworkClientOptions { ClientId = $"controller-channel-{config.NodeId}", Security = ControllerClientSecurity(config) }, time,
            loggerFactory.CreateLogger("Samsa.ControllerChannel"));
        networkClients.Add(client);
        return new RemoteController(client, activeController, time, loggerFactory.CreateLogger("Samsa.ControllerChannel"),
            retryBackoff: TimeSpan.FromMilliseconds(config.GetInt("controller.quorum.retry.backoff.ms")));
    }

    /// <summary>
    /// DescribeQuorum in a quorum: the leader knows every replica's progress, so a node that leads answers from its own
    /// quorum replica and any other asks the leader (Kafka's brokers forward it to the controller the same way).
    /// </summary>
    private static async ValueTask<DescribeQuorumResponse.PartitionData> DescribeRaftQuorumAsync(RaftMetadataLog quorum, KafkaNetworkChannel channel,
        NetworkClient client, Func<NodeEndpoint?> activeController, IReadOnlyList<QuorumVoter> voters, CancellationToken cancellationToken)
    {
        var request = new DescribeQuorumRequest
        {
            Topics = [new() { TopicName = Samsa.Metadata.TopicName.ClusterMetadata, Partitions = [new() { PartitionIndex = 0 }] }],
        };
        DescribeQuorumResponse? response;
        if (quorum.Leader.LeaderId == quorum.NodeId)
        {
            response = await channel.HandleInboundAsync(request, cancellationToken) as DescribeQuorumResponse;
        }
        else if (activeController() is { } leader)
        {
            response = await client.SendAsync<DescribeQuorumResponse>(leader, request, DescribeQuorumRequest.HighestVersion, cancellationToken);
        }
        else
        {
            response = null;
        }
        if (response?.Topics.FirstOrDefault()?.Partitions.FirstOrDefault() is { } described)
        {
            // The quorum tracks replicas by id; the voters' directory ids are the ones they were formatted with.
            foreach (var voter in described.CurrentVoters.Where(v => v.ReplicaDirectoryId == Protocol.Uuid.Zero))
            {
                voter.ReplicaDirectoryId = quorum.Voters.Concat(voters).FirstOrDefault(v => v.Id == voter.ReplicaId && v.DirectoryId != Protocol.Uuid.Zero)?.DirectoryId
                    ?? Protocol.Uuid.Zero;
            }
            return described;
        }
        return new DescribeQuorumResponse.PartitionData
        {
            ErrorCode = (short)Protocol.ErrorCode.NotLeaderOrFollower,
            ErrorMessage = "The metadata quorum has no known leader",
        };
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        BrokerLog.Stopping(_logger, NodeId);
        if (MetricsServer is not null)
        {
            await MetricsServer.DisposeAsync();
        }
        if (ConsoleServer is not null)
        {
            await ConsoleServer.DisposeAsync();
        }
        if (LagMonitor is not null)
        {
            await LagMonitor.DisposeAsync();
        }
        if (Lifecycle is not null)
        {
            // Controlled shutdown: the controller moves leadership away before this broker stops serving.
            await Lifecycle.DisposeAsync();
        }
        await _socketServer.DisposeAsync();
        SaslServers?.Dispose();
        // Followers stop copying before the logs they write close.
        if (ReplicaFetchers is not null)
        {
            await ReplicaFetchers.DisposeAsync();
        }
        if (AlterPartitions is not null)
        {
            await AlterPartitions.DisposeAsync();
        }
        // Waiting JoinGroup/SyncGroup requests are answered before the partitions they write to close.
        Groups?.Dispose();
        Transactions?.Dispose();
        // Waiting produces and fetches are answered (as if expired) before the logs close under them.
        Replicas?.Dispose();
        Controller?.Dispose();
        // The metadata log commits what the controller appended (the log manager still open to apply it), then closes.
        _metadataLog.Dispose();
        foreach (var client in NetworkClients)
        {
            await client.DisposeAsync();
        }
        Logs.Dispose();
        Metrics.Dispose();
        BrokerLog.Stopped(_logger, NodeId);
    }
}

/// <summary>Broker lifecycle log lines; event ids 1-99 are stable.</summary>
internal static partial class BrokerLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Starting node {NodeId} (roles {Roles}) with log dirs {LogDirs}")]
    public static partial void Starting(ILogger logger, int nodeId, string roles, string logDirs);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Node {NodeId} of cluster {ClusterId} started, listening on {Endpoints}")]
    public static partial void Started(ILogger logger, int nodeId, string clusterId, string endpoints);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Node {NodeId} shutting down")]
    public static partial void Stopping(ILogger logger, int nodeId);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Node {NodeId} shut down")]
    public static partial void Stopped(ILogger logger, int nodeId);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "Loaded metadata: {Topics} topics, {Partitions} partitions; replayed {Records} log records after the snapshot in {ElapsedMs} ms")]
    public static partial void MetadataLoaded(ILogger logger, int topics, int partitions, long records, long elapsedMs);
}
