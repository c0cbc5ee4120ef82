using static Samsa.Broker.Config.ConfigImportance;
using static Samsa.Broker.Config.ConfigUpdateMode;

namespace Samsa.Broker.Config;

/// <summary>
/// Every broker config of Kafka 4.x, with Kafka's name, type, importance, dynamic update mode (read-only, per-broker,
/// cluster-wide: what AlterConfigs may change, <see cref="DynamicBrokerConfig"/>) and default: the ONE table of
/// defaults, checked key by key against Kafka's list by <c>KafkaConfigTests.Definitions_MatchKafka4BrokerConfigKeys</c>.
/// Where our zero-config default differs from Kafka's (so that <c>samsa-server</c> starts with no file), the entry
/// records Kafka's default in <see cref="ConfigKey.KafkaDefault"/>. Keys are listed even when the feature behind
/// them is not built yet, so a Kafka <c>server.properties</c> loads without "unknown key" noise; docs/UNSUPPORTED.md
/// says which are accepted but not yet acted on.
/// </summary>
public static class KafkaConfigDefinitions
{
    private const int IntMax = int.MaxValue;
    private const long LongMax = long.MaxValue;

    public static readonly IReadOnlyDictionary<string, ConfigKey> All = Build().ToDictionary(k => k.Name, StringComparer.Ordinal);

    /// <summary>
    /// Samsa's own keys, which Kafka does not have (its equivalents live outside the broker: a JMX exporter agent,
    /// kafka_exporter, a separate console). <c>KafkaConfigTests.Definitions_MatchKafka4BrokerConfigKeys</c> allows
    /// exactly these beyond Kafka's list.
    /// </summary>
    public static readonly IReadOnlySet<string> SamsaOnly = new HashSet<string>(StringComparer.Ordinal) { "metrics.listener", "console.listener", "consumer.lag.sample.interval.ms", "consumer.lag.alert.threshold" };

    /// <summary>
    /// Keys accepted (parsed and validated) but not acted on: no code reads them, because the feature behind them
    /// (a Raft quorum, replication, transactions, quotas, metrics, security, thread pools) is not built. A supplied
    /// one is named in one warning at start-up. Keep in step with docs/UNSUPPORTED.md; remove a key when its
    /// feature lands (<c>KafkaConfigTests.NotActedOn_KeysAreDefinedAndNotReadByTheBroker</c> checks both).
    /// </summary>
    public static readonly IReadOnlySet<string> NotActedOn = new HashSet<string>(StringComparer.Ordinal)
    {
        "controller.quorum.append.linger.ms", "controlled.shutdown.enable",
        "unstable.feature.versions.enable", "early.start.listeners", "num.network.threads", "num.io.threads",
        "background.threads", "queued.max.requests", "queued.max.request.bytes", "socket.connection.setup.timeout.ms",
        "socket.connection.setup.timeout.max.ms", "fetch.max.bytes",
        "metadata.max.retention.bytes", "metadata.max.retention.ms", "metadata.log.max.snapshot.interval.ms",
        "num.recovery.threads.per.data.dir", "log.dir.failure.timeout.ms",
        "log.cleaner.io.buffer.size", "log.cleaner.io.buffer.load.factor", "create.topic.policy.class.name", "alter.config.policy.class.name",
        "remote.log.storage.system.enable", "num.replica.fetchers", "replica.socket.receive.buffer.bytes",
        "fetch.purgatory.purge.interval.requests", "producer.purgatory.purge.interval.requests",
        "delete.records.purgatory.purge.interval.requests", "offsets.topic.compression.codec", "offsets.load.buffer.size",
        "group.coordinator.threads", "group.consumer.migration.policy",
        "transaction.state.log.load.buffer.size",
        "replication.quota.window.num", "replication.quota.window.size.seconds", "alter.log.dirs.replication.quota.window.num",
        "alter.log.dirs.replication.quota.window.size.seconds", "controller.quota.window.num",
        "controller.quota.window.size.seconds", "client.quota.callback.class", "metric.reporters",
        "metrics.recording.level", "kafka.metrics.reporters", "kafka.metrics.polling.interval.secs",
        "principal.builder.class", "sasl.kerberos.service.name",
        "sasl.login.callback.handler.class", "sasl.login.class",
        "ssl.protocol", "ssl.cipher.suites",
        "delegation.token.secret.key", "delegation.token.max.lifetime.ms", "delegation.token.expiry.time.ms",
        // Kafka 4.x keys of share groups and the share coordinator (KIP-932).
        "group.share.assignors", "group.share.delivery.count.limit", "group.share.max.share.sessions", "group.share.max.size",
        "group.share.partition.max.record.locks", "share.coordinator.append.linger.ms", "share.coordinator.load.buffer.size",
        "share.coordinator.snapshot.update.records.per.snapshot", "share.coordinator.state.topic.compression.codec",
        "share.coordinator.state.topic.min.isr", "share.coordinator.state.topic.num.partitions",
        "share.coordinator.state.topic.replication.factor", "share.coordinator.state.topic.segment.bytes",
        "share.coordinator.threads", "share.coordinator.write.timeout.ms", "share.fetch.purgatory.purge.interval.requests",
        // Kafka 4.x keys of streams groups (KIP-1071).
        "group.streams.max.size",
        // Kafka 4.x keys of tiered storage (KIP-405).
        "remote.fetch.max.wait.ms", "remote.list.offsets.request.timeout.ms", "remote.log.index.file.cache.total.size.bytes",
        "remote.log.manager.copier.thread.pool.size", "remote.log.manager.copy.max.bytes.per.second",
        "remote.log.manager.copy.quota.window.num", "remote.log.manager.copy.quota.window.size.seconds",
        "remote.log.manager.expiration.thread.pool.size", "remote.log.manager.fetch.max.bytes.per.second",
        "remote.log.manager.fetch.quota.window.num", "remote.log.manager.fetch.quota.window.size.seconds",
        "remote.log.manager.task.interval.ms", "remote.log.manager.thread.pool.size",
        "remote.log.metadata.custom.metadata.max.bytes", "remote.log.metadata.manager.class.name",
        "remote.log.metadata.manager.class.path", "remote.log.metadata.manager.impl.prefix",
        "remote.log.metadata.manager.listener.name", "remote.log.reader.max.pending.tasks", "remote.log.reader.threads",
        "remote.log.storage.manager.class.name", "remote.log.storage.manager.class.path",
        "remote.log.storage.manager.impl.prefix",
        // Kafka 4.x keys of SASL, OAuth and SSL.
        "delegation.token.expiry.check.interval.ms", "sasl.client.callback.handler.class",
        "sasl.kerberos.kinit.cmd", "sasl.kerberos.min.time.before.relogin", "sasl.kerberos.principal.to.local.rules",
        "sasl.kerberos.ticket.renew.jitter", "sasl.kerberos.ticket.renew.window.factor", "sasl.login.connect.timeout.ms",
        "sasl.login.read.timeout.ms", "sasl.login.refresh.buffer.seconds", "sasl.login.refresh.min.period.seconds",
        "sasl.login.refresh.window.factor", "sasl.login.refresh.window.jitter", "sasl.login.retry.backoff.max.ms",
        "sasl.login.retry.backoff.ms", "sasl.oauthbearer.assertion.algorithm", "sasl.oauthbearer.assertion.claim.aud",
        "sasl.oauthbearer.assertion.claim.exp.seconds", "sasl.oauthbearer.assertion.claim.iss",
        "sasl.oauthbearer.assertion.claim.jti.include", "sasl.oauthbearer.assertion.claim.nbf.seconds",
        "sasl.oauthbearer.assertion.claim.sub", "sasl.oauthbearer.assertion.file", "sasl.oauthbearer.assertion.private.key.file",
        "sasl.oauthbearer.assertion.private.key.passphrase", "sasl.oauthbearer.assertion.template.file",
        "sasl.oauthbearer.client.credentials.client.id", "sasl.oauthbearer.client.credentials.client.secret",
        "sasl.oauthbearer.jwt.retriever.class", "sasl.oauthbearer.jwt.validator.class", "sasl.oauthbearer.scope",
        "sasl.oauthbearer.token.endpoint.url",
        "security.providers", "ssl.allow.dn.changes", "ssl.allow.san.changes",
        "ssl.engine.factory.class", "ssl.keymanager.algorithm", "ssl.provider",
        "ssl.secure.random.implementation", "ssl.trustmanager.algorithm",
        // Kafka 4.x keys of threads, timeouts and transactions.
        "controller.socket.timeout.ms", "max.request.partition.size.limit",
        "request.timeout.ms", "num.replica.alter.log.dirs.threads", "group.coordinator.append.linger.ms",
        "add.partitions.to.txn.retry.backoff.max.ms", "add.partitions.to.txn.retry.backoff.ms",
        "transaction.two.phase.commit.enable"
    };

    private static ConfigKey Bool(string name, ConfigImportance importance, ConfigUpdateMode mode, bool value, string doc) =>
        new(name, ConfigType.Boolean, importance, mode, value, null, doc);

    private static ConfigKey Short(string name, ConfigImportance importance, ConfigUpdateMode mode, short value, IConfigValidator? validator, string doc) =>
        new(name, ConfigType.Short, importance, mode, value, validator, doc);

    private static ConfigKey Int(string name, ConfigImportance importance, ConfigUpdateMode mode, int? value, IConfigValidator? validator, string doc) =>
        new(name, ConfigType.Int, importance, mode, value, validator, doc);

    private static ConfigKey Long(string name, ConfigImportance importance, ConfigUpdateMode mode, long? value, IConfigValidator? validator, string doc) =>
        new(name, ConfigType.Long, importance, mode, value, validator, doc);

    private static ConfigKey Double(string name, ConfigImportance importance, ConfigUpdateMode mode, double value, IConfigValidator? validator, string doc) =>
        new(name, ConfigType.Double, importance, mode, value, validator, doc);

    private static ConfigKey Str(string name, ConfigImportance importance, ConfigUpdateMode mode, string? value, IConfigValidator? validator, string doc) =>
        new(name, ConfigType.String, importance, mode, value, validator, doc);

    private static ConfigKey List(string name, ConfigImportance importance, ConfigUpdateMode mode, string value, IConfigValidator? validator, string doc) =>
        new(name, ConfigType.List, importance, mode, ConfigKey.SplitList(value), validator, doc);

    private static ConfigKey Password(string name, ConfigImportance importance, ConfigUpdateMode mode, string doc) =>
        new(name, ConfigType.Password, importance, mode, null, null, doc);

    private static ConfigKey Class(string name, ConfigImportance importance, ConfigUpdateMode mode, string? value, string doc) =>
        new(name, ConfigType.Class, importance, mode, value, null, doc);

    private static RangeValidator AtLeast(double min) => RangeValidator.AtLeast(min);

    private static readonly NonEmptyStringValidator NonEmpty = new();

    private static IEnumerable<ConfigKey> Build()
    {
        // ---- KRaft roles and identity ----
        yield return List("process.roles", High, ReadOnly, "broker,controller", new ValidListValidator("broker", "controller"),
            "The roles this process plays: broker, controller, or both.") with
        { KafkaDefault = "" };
        yield return Int("node.id", High, ReadOnly, 1, AtLeast(0), "The node id of this server in KRaft mode.") with { KafkaDefault = "-1" };
        yield return Int("broker.id", High, ReadOnly, -1, null, "Legacy alias of node.id; when set it must equal node.id.");
        yield return Str("controller.listener.names", High, ReadOnly, null, null, "Comma-separated names of the listeners used by the controller.");
        yield return List("controller.quorum.voters", High, ReadOnly, "", null, "Static voter set: id@host:port entries.");
        yield return List("controller.quorum.bootstrap.servers", High, ReadOnly, "", null, "host:port of controllers for a dynamic quorum.");
        yield return Int("controller.quorum.election.timeout.ms", High, ReadOnly, 1000, AtLeast(0), "Maximum time without a leader before an election.");
        yield return Int("controller.quorum.fetch.timeout.ms", High, ReadOnly, 2000, AtLeast(0), "Maximum time without a successful fetch from the leader.");
        yield return Int("controller.quorum.election.backoff.max.ms", High, ReadOnly, 1000, AtLeast(0), "Maximum backoff before starting a new election.");
        yield return Int("controller.quorum.append.linger.ms", Medium, ReadOnly, 25, AtLeast(0), "How long the leader waits to batch writes.");
        yield return Int("controller.quorum.request.timeout.ms", Medium, ReadOnly, 2000, AtLeast(0), "Quorum request timeout.");
        yield return Int("controller.quorum.retry.backoff.ms", Low, ReadOnly, 20, AtLeast(0), "Quorum retry backoff.");
        yield return Int("initial.broker.registration.timeout.ms", Medium, ReadOnly, 60000, null, "How long to wait for the first broker registration.");
        yield return Int("broker.heartbeat.interval.ms", Medium, ReadOnly, 2000, null, "Broker heartbeat interval in KRaft mode.");
        yield return Int("broker.session.timeout.ms", Medium, ReadOnly, 9000, null, "Broker lease length in KRaft mode.");
        yield return Str("broker.rack", Medium, ReadOnly, null, null, "Rack of the broker, advertised in Metadata.");
        yield return Bool("controlled.shutdown.enable", Medium, ReadOnly, true, "Move leadership away before shutting down.");
        yield return Bool("unstable.api.versions.enable", Low, ReadOnly, false, "Advertise API versions still under development.");
        yield return Bool("unstable.feature.versions.enable", Low, ReadOnly, false, "Allow feature versions still under development.");

        // ---- Listeners and sockets ----
        yield return Str("listeners", High, PerBroker, "PLAINTEXT://localhost:9092", null, "Comma-separated listener URIs NAME://host:port.") with { KafkaDefault = "PLAINTEXT://:9092" };
        yield return Str("advertised.listeners", High, ReadOnly, null, null, "Listeners published to clients; defaults to listeners.");
        yield return Str("listener.security.protocol.map", Low, PerBroker, "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT", null,
            "Map from listener name to security protocol.");
        yield return Str("inter.broker.listener.name", Medium, ReadOnly, null, null, "Listener used between brokers.");
        yield return Str("security.inter.broker.protocol", Medium, ReadOnly, "PLAINTEXT", new ValidStringValidator(false, "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"),
            "Security protocol used between brokers.");
        yield return Str("early.start.listeners", High, ReadOnly, null, null, "Listeners started before authorizer initialisation.");
        yield return Int("num.network.threads", High, ClusterWide, 3, AtLeast(1), "Threads receiving requests and sending responses.");
        yield return Int("num.io.threads", High, ClusterWide, 8, AtLeast(1), "Threads processing requests.");
        yield return Int("background.threads", High, ClusterWide, 10, AtLeast(1), "Threads for background tasks.");
        yield return Int("queued.max.requests", High, ReadOnly, 500, AtLeast(1), "Queued requests before network threads stop reading.");
        yield return Long("queued.max.request.bytes", Medium, ReadOnly, -1, null, "Queued bytes before no more requests are read.");
        yield return Int("socket.send.buffer.bytes", High, ReadOnly, 102400, null, "SO_SNDBUF; -1 uses the OS default.");
        yield return Int("socket.receive.buffer.bytes", High, ReadOnly, 102400, null, "SO_RCVBUF; -1 uses the OS default.");
        yield return Int("socket.request.max.bytes", High, ReadOnly, 104857600, AtLeast(1), "Maximum bytes in one request frame.");
        yield return Int("socket.listen.backlog.size", Medium, ReadOnly, 50, AtLeast(1), "Pending connections in the accept queue.");
        yield return Long("socket.connection.setup.timeout.ms", Medium, ReadOnly, 10000, null, "Connection setup timeout for broker clients.");
        yield return Long("socket.connection.setup.timeout.max.ms", Medium, ReadOnly, 30000, null, "Maximum connection setup timeout.");
        yield return Int("max.connections", Medium, ClusterWide, IntMax, AtLeast(0), "Maximum connections for the broker.");
        yield return Int("max.connections.per.ip", Medium, ClusterWide, IntMax, AtLeast(0), "Maximum connections from one IP.");
        yield return Str("max.connections.per.ip.overrides", Medium, ClusterWide, "", null, "Per-IP or hostname overrides of max.connections.per.ip.");
        yield return Int("max.connection.creation.rate", Medium, ClusterWide, IntMax, AtLeast(0), "Maximum connection creation rate per listener.");
        yield return Long("connections.max.idle.ms", Medium, ReadOnly, 600000, null, "Idle connections are closed after this long.");
        yield return Long("connections.max.reauth.ms", Medium, ReadOnly, 0, null, "Maximum session lifetime before SASL re-authentication.");
        yield return Int("fetch.max.bytes", Medium, ReadOnly, 57671680, AtLeast(1024), "Maximum bytes returned for a fetch request.");
        yield return Int("max.incremental.fetch.session.cache.slots", Medium, ReadOnly, 1000, AtLeast(0), "Maximum incremental fetch sessions.");
        yield return Int("connection.failed.authentication.delay.ms", Low, ReadOnly, 100, AtLeast(0), "Delay before closing a connection whose authentication failed.");
        yield return Int("controller.socket.timeout.ms", Medium, ReadOnly, 30000, null, "Socket timeout of controller-to-broker channels.");
        yield return Int("max.request.partition.size.limit", Medium, ReadOnly, 2000, AtLeast(1), "Maximum partitions served in one request.");
        yield return Int("request.timeout.ms", High, ReadOnly, 30000, null, "Request timeout of the broker's own clients.");

        // ---- Log directories and segments ----
        yield return Str("log.dirs", High, ReadOnly, null, null, "Comma-separated directories holding log data; overrides log.dir.");
        yield return Str("log.dir", High, ReadOnly, "./data", null, "Directory holding log data, used when log.dirs is not set.") with { KafkaDefault = "/tmp/kafka-logs" };
        yield return Str("metadata.log.dir", High, ReadOnly, null, null, "Directory of the metadata log; defaults to the first log dir.");
        yield return Int("metadata.log.segment.bytes", High, ReadOnly, 1073741824, AtLeast(8388608), "Segment size of the metadata log.");
        yield return Long("metadata.log.segment.ms", High, ReadOnly, 604800000, null, "Time before a metadata log segment rolls.");
        yield return Long("metadata.max.retention.bytes", High, ReadOnly, 104857600, null, "Retention size of the metadata log.");
        yield return Long("metadata.max.retention.ms", High, ReadOnly, 604800000, null, "Retention time of the metadata log.");
        yield return Long("metadata.log.max.record.bytes.between.snapshots", High, ReadOnly, 20971520, AtLeast(1), "Metadata bytes between snapshots.");
        yield return Long("metadata.log.max.snapshot.interval.ms", High, ReadOnly, 3600000, AtLeast(0), "Maximum time between metadata snapshots.");
        yield return Int("metadata.max.idle.interval.ms", Low, ReadOnly, 500, AtLeast(0), "No-op record interval of the active controller.");
        yield return Int("num.recovery.threads.per.data.dir", High, ClusterWide, 2, AtLeast(1), "Threads per data dir for log recovery and flush at shutdown.");
        yield return Long("log.dir.failure.timeout.ms", Low, ReadOnly, 30000, AtLeast(1), "How long a failed log dir may stay unreported.");
        yield return Int("log.segment.bytes", High, ClusterWide, 1073741824, AtLeast(1048576), "Maximum size of one log segment file.");
        yield return Int("log.roll.hours", High, ReadOnly, 168, AtLeast(1), "Maximum time before a new segment is rolled, in hours.");
        yield return Long("log.roll.ms", High, ClusterWide, null, null, "Maximum time before a new segment is rolled, in ms.");
        yield return Int("log.roll.jitter.hours", High, ReadOnly, 0, AtLeast(0), "Maximum jitter subtracted from the roll time, in hours.");
        yield return Long("log.roll.jitter.ms", High, ClusterWide, null, null, "Maximum jitter subtracted from the roll time, in ms.");
        yield return Int("log.retention.hours", High, ReadOnly, 168, null, "Hours to keep a log file before deleting it.");
        yield return Int("log.retention.minutes", High, ReadOnly, null, null, "Minutes to keep a log file; overrides hours.");
        yield return Long("log.retention.ms", High, ClusterWide, null, null, "Milliseconds to keep a log file; overrides minutes. -1 keeps forever.");
        yield return Long("log.retention.bytes", High, ClusterWide, -1, null, "Maximum log size before deleting old segments; -1 is unlimited.");
        yield return Long("log.retention.check.interval.ms", Medium, ReadOnly, 300000, AtLeast(1), "How often the cleaner checks for deletable segments.");
        yield return Long("log.local.retention.ms", Medium, ClusterWide, -2, AtLeast(-2), "Local retention time when tiered storage is on.");
        yield return Long("log.local.retention.bytes", Medium, ClusterWide, -2, AtLeast(-2), "Local retention size when tiered storage is on.");
        yield return List("log.cleanup.policy", Medium, ClusterWide, "delete", new ValidListValidator("delete", "compact"), "Retention policy: delete, compact.");
        yield return Bool("log.cleaner.enable", Medium, ReadOnly, true, "Run the log cleaner.");
        yield return Int("log.cleaner.threads", Medium, ClusterWide, 1, AtLeast(0), "Log cleaner threads.");
        yield return Double("log.cleaner.io.max.bytes.per.second", Medium, ClusterWide, double.MaxValue, null, "Log cleaner I/O throttle.");
        yield return Long("log.cleaner.dedupe.buffer.size", Medium, ClusterWide, 134217728, null, "Memory for deduplication across cleaner threads.");
        yield return Int("log.cleaner.io.buffer.size", Medium, ClusterWide, 524288, AtLeast(0), "I/O buffer memory across cleaner threads.");
        yield return Double("log.cleaner.io.buffer.load.factor", Medium, ClusterWide, 0.9, null, "Cleaner dedupe buffer load factor.");
        yield return Long("log.cleaner.backoff.ms", Medium, ClusterWide, 15000, AtLeast(0), "Sleep when there is nothing to clean.");
        yield return Double("log.cleaner.min.cleanable.ratio", Medium, ClusterWide, 0.5, RangeValidator.Between(0, 1), "Minimum dirty ratio before cleaning.");
        yield return Long("log.cleaner.delete.retention.ms", Medium, ClusterWide, 86400000, AtLeast(0), "How long delete tombstones are kept.");
        yield return Long("log.cleaner.min.compaction.lag.ms", Medium, ClusterWide, 0, AtLeast(0), "Minimum time a message stays uncompacted.");
        yield return Long("log.cleaner.max.compaction.lag.ms", Medium, ClusterWide, LongMax, AtLeast(1), "Maximum time a message stays uncompacted.");
        yield return Int("log.index.size.max.bytes", Medium, ClusterWide, 10485760, AtLeast(4), "Maximum size of an offset index file.");
        yield return Int("log.index.interval.bytes", Medium, ClusterWide, 4096, AtLeast(0), "Bytes between offset index entries.");
        yield return Long("log.flush.interval.messages", High, ClusterWide, LongMax, AtLeast(1), "Messages accumulated before a flush.");
        yield return Long("log.flush.interval.ms", High, ClusterWide, null, null, "Maximum time a message waits before a flush.");
        yield return Long("log.flush.scheduler.interval.ms", High, ReadOnly, LongMax, null, "How often the flusher checks for logs to flush.");
        yield return Int("log.flush.offset.checkpoint.interval.ms", High, ReadOnly, 60000, AtLeast(0), "Recovery point checkpoint interval.");
        yield return Int("log.flush.start.offset.checkpoint.interval.ms", High, ReadOnly, 60000, AtLeast(0), "Log start offset checkpoint interval.");
        yield return Long("log.segment.delete.delay.ms", High, ClusterWide, 60000, AtLeast(0), "Delay before deleting a file from the filesystem.");
        yield return Bool("log.preallocate", Medium, ClusterWide, false, "Preallocate segment files.");
        yield return Str("log.message.timestamp.type", Medium, ClusterWide, "CreateTime", new ValidStringValidator(false, "CreateTime", "LogAppendTime"), "Timestamp type of messages.");
        yield return Long("log.message.timestamp.before.max.ms", Medium, ClusterWide, LongMax, AtLeast(0), "Allowed time a timestamp may lag the broker.");
        yield return Long("log.message.timestamp.after.max.ms", Medium, ClusterWide, 3600000, AtLeast(0), "Allowed time a timestamp may lead the broker.");
        yield return Int("message.max.bytes", High, ClusterWide, 1048588, AtLeast(0), "Largest record batch size allowed.");
        yield return Int("num.partitions", Medium, ReadOnly, 1, AtLeast(1), "Default number of partitions per topic.");
        yield return Int("default.replication.factor", Medium, ReadOnly, 1, null, "Default replication factor of auto-created topics.");
        yield return Bool("auto.create.topics.enable", High, ReadOnly, true, "Create a topic when a client asks for an unknown one.");
        yield return Bool("auto.leader.rebalance.enable", High, ReadOnly, true, "Move leadership back to preferred replicas.");
        yield return Long("leader.imbalance.check.interval.seconds", High, ReadOnly, 300, AtLeast(1), "Leader rebalance check interval.");
        yield return Bool("delete.topic.enable", High, ReadOnly, true, "Allow deleting topics.");
        yield return Int("min.insync.replicas", High, ClusterWide, 1, AtLeast(1), "Minimum ISR size for acks=all writes.");
        yield return Bool("unclean.leader.election.enable", High, ClusterWide, false, "Allow out-of-sync replicas to become leader.");
        yield return Str("compression.type", High, ClusterWide, "producer", new ValidStringValidator(false, "uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"),
            "Final compression of topic data.");
        yield return Int("compression.gzip.level", Medium, ClusterWide, -1, new RangeValidator(1, 9, orEqualTo: -1), "gzip level when compression.type is gzip.");
        yield return Int("compression.lz4.level", Medium, ClusterWide, 9, RangeValidator.Between(1, 17), "lz4 level when compression.type is lz4.");
        yield return Int("compression.zstd.level", Medium, ClusterWide, 3, RangeValidator.Between(-131072, 22), "zstd level when compression.type is zstd.");
        yield return Class("create.topic.policy.class.name", Low, ReadOnly, null, "Topic creation policy class.");
        yield return Class("alter.config.policy.class.name", Low, ReadOnly, null, "Alter configs policy class.");
        yield return Bool("remote.log.storage.system.enable", Medium, ReadOnly, false, "Enable tiered storage.");

        // ---- Replication ----
        yield return Int("num.replica.fetchers", High, ClusterWide, 1, null, "Fetcher threads per source broker.");
        yield return Long("replica.lag.time.max.ms", High, ReadOnly, 30000, null, "Time after which a silent follower leaves the ISR.");
        yield return Int("replica.socket.timeout.ms", High, ReadOnly, 30000, null, "Socket timeout of replica fetches.");
        yield return Int("replica.socket.receive.buffer.bytes", High, ReadOnly, 65536, null, "Receive buffer of replica fetches.");
        yield return Int("replica.fetch.max.bytes", Medium, ReadOnly, 1048576, AtLeast(0), "Bytes fetched per partition by followers.");
        yield return Int("replica.fetch.wait.max.ms", High, ReadOnly, 500, null, "Maximum wait of a follower fetch.");
        yield return Int("replica.fetch.min.bytes", High, ReadOnly, 1, null, "Minimum bytes of a follower fetch response.");
        yield return Int("replica.fetch.response.max.bytes", Medium, ReadOnly, 10485760, AtLeast(0), "Bytes expected for a whole follower fetch response.");
        yield return Int("replica.fetch.backoff.ms", Medium, ReadOnly, 1000, AtLeast(0), "Sleep after a partition fetch error.");
        yield return Long("replica.high.watermark.checkpoint.interval.ms", High, ReadOnly, 5000, null, "High watermark checkpoint interval.");
        yield return Str("replica.selector.class", Medium, ReadOnly, null, null, "Replica selector for follower fetching.");
        yield return Int("fetch.purgatory.purge.interval.requests", Medium, ReadOnly, 1000, null, "Fetch purgatory purge interval.");
        yield return Int("producer.purgatory.purge.interval.requests", Medium, ReadOnly, 1000, null, "Produce purgatory purge interval.");
        yield return Int("delete.records.purgatory.purge.interval.requests", Medium, ReadOnly, 1, null, "Delete records purgatory purge interval.");
        yield return Int("num.replica.alter.log.dirs.threads", High, ReadOnly, null, null, "Threads moving replicas between log directories.");

        // ---- Group coordinator and offsets ----
        yield return Int("offsets.topic.num.partitions", High, ReadOnly, 50, AtLeast(1), "Partitions of __consumer_offsets.");
        // Zero-config starts one node, where Kafka's 3 could never be met and consumer groups would not work;
        // Kafka's own config/server.properties sets 1 for the same reason.
        yield return Short("offsets.topic.replication.factor", High, ReadOnly, 1, AtLeast(1), "Replication factor of __consumer_offsets.") with { KafkaDefault = "3" };
        yield return Int("offsets.topic.segment.bytes", High, ReadOnly, 104857600, AtLeast(1), "Segment size of __consumer_offsets.");
        yield return Int("offsets.topic.compression.codec", High, ReadOnly, 0, null, "Compression codec of __consumer_offsets.");
        yield return Int("offsets.load.buffer.size", High, ReadOnly, 5242880, AtLeast(1), "Batch size when loading offsets.");
        yield return Int("offsets.retention.minutes", High, ReadOnly, 10080, AtLeast(1), "Retention of committed offsets of empty groups.");
        yield return Long("offsets.retention.check.interval.ms", High, ReadOnly, 600000, AtLeast(1), "Stale offset check interval.");
        yield return Int("offsets.commit.timeout.ms", High, ReadOnly, 5000, AtLeast(1), "Offset commit wait for replication.");
        yield return Int("offset.metadata.max.bytes", High, ReadOnly, 4096, null, "Maximum size of offset commit metadata.");
        // Zero-config is one node, where a 3 s wait for more members only delays every first join; Kafka's shipped
        // config/server.properties sets 0 too, for "a better out-of-the-box experience for development and testing".
        yield return Int("group.initial.rebalance.delay.ms", Medium, ReadOnly, 0, null, "Wait for more members before the first rebalance.") with { KafkaDefault = "3000" };
        yield return Int("group.min.session.timeout.ms", Medium, ReadOnly, 6000, null, "Minimum session timeout of classic group members.");
        yield return Int("group.max.session.timeout.ms", Medium, ReadOnly, 1800000, null, "Maximum session timeout of classic group members.");
        yield return Int("group.max.size", Medium, ReadOnly, IntMax, AtLeast(1), "Maximum members in one classic group.");
        yield return List("group.coordinator.rebalance.protocols", Medium, ReadOnly, "classic,consumer", new ValidListValidator("classic", "consumer", "share", "streams"),
            "Enabled rebalance protocols.");
        yield return Int("group.coordinator.threads", High, ReadOnly, 4, AtLeast(1), "Group coordinator threads.");
        yield return Int("group.consumer.session.timeout.ms", Medium, ReadOnly, 45000, AtLeast(1), "Session timeout of consumer-protocol members.");
        yield return Int("group.consumer.min.session.timeout.ms", Medium, ReadOnly, 45000, AtLeast(1), "Minimum consumer-protocol session timeout.");
        yield return Int("group.consumer.max.session.timeout.ms", Medium, ReadOnly, 60000, AtLeast(1), "Maximum consumer-protocol session timeout.");
        yield return Int("group.consumer.heartbeat.interval.ms", Medium, ReadOnly, 5000, AtLeast(1), "Heartbeat interval of consumer-protocol members.");
        yield return Int("group.consumer.min.heartbeat.interval.ms", Medium, ReadOnly, 5000, AtLeast(1), "Minimum consumer-protocol heartbeat interval.");
        yield return Int("group.consumer.max.heartbeat.interval.ms", Medium, ReadOnly, 15000, AtLeast(1), "Maximum consumer-protocol heartbeat interval.");
        yield return Int("group.consumer.max.size", Medium, ReadOnly, IntMax, AtLeast(1), "Maximum members in one consumer-protocol group.");
        yield return List("group.consumer.assignors", Medium, ReadOnly, "uniform,range", null, "Server-side assignors.");
        yield return Str("group.consumer.migration.policy", Medium, ReadOnly, "bidirectional", new ValidStringValidator(true, "disabled", "downgrade", "upgrade", "bidirectional"),
            "Classic/consumer group conversion policy.");
        yield return Int("group.coordinator.append.linger.ms", Medium, ReadOnly, 5, AtLeast(0), "How long the group coordinator waits to batch writes.");

        // ---- Share groups (KIP-932) and the share coordinator ----
        yield return List("group.share.assignors", Medium, ReadOnly, "simple", null, "Server-side assignor of share groups.");
        yield return Int("group.share.delivery.count.limit", Medium, ReadOnly, 5, RangeValidator.Between(2, 10), "Maximum delivery attempts of a record in a share group.");
        yield return Int("group.share.heartbeat.interval.ms", Medium, ReadOnly, 5000, AtLeast(1), "Heartbeat interval of share group members.");
        yield return Int("group.share.max.heartbeat.interval.ms", Medium, ReadOnly, 15000, AtLeast(1), "Maximum share group heartbeat interval.");
        yield return Int("group.share.max.record.lock.duration.ms", Medium, ReadOnly, 60000, RangeValidator.Between(30000, 3600000), "Maximum record acquisition lock duration of share groups.");
        yield return Int("group.share.max.session.timeout.ms", Medium, ReadOnly, 60000, AtLeast(1), "Maximum share group session timeout.");
        yield return Int("group.share.max.share.sessions", Medium, ReadOnly, 2000, AtLeast(1), "Maximum share sessions per broker.");
        yield return Int("group.share.max.size", Medium, ReadOnly, 200, RangeValidator.Between(1, 1000), "Maximum members in one share group.");
        yield return Int("group.share.min.heartbeat.interval.ms", Medium, ReadOnly, 5000, AtLeast(1), "Minimum share group heartbeat interval.");
        yield return Int("group.share.min.record.lock.duration.ms", Medium, ReadOnly, 15000, RangeValidator.Between(1000, 30000), "Minimum record acquisition lock duration of share groups.");
        yield return Int("group.share.min.session.timeout.ms", Medium, ReadOnly, 45000, AtLeast(1), "Minimum share group session timeout.");
        yield return Int("group.share.partition.max.record.locks", Medium, ReadOnly, 2000, RangeValidator.Between(100, 10000), "Record lock limit per share-partition.");
        yield return Int("group.share.record.lock.duration.ms", Medium, ReadOnly, 30000, RangeValidator.Between(1000, 3600000), "Record acquisition lock duration of share groups.");
        yield return Int("group.share.session.timeout.ms", Medium, ReadOnly, 45000, AtLeast(1), "Session timeout of share group members.");
        yield return Int("share.coordinator.append.linger.ms", Medium, ReadOnly, 5, AtLeast(0), "How long the share coordinator waits to batch writes.");
        yield return Int("share.coordinator.load.buffer.size", High, ReadOnly, 5242880, AtLeast(1), "Batch size when loading share-group state.");
        yield return Int("share.coordinator.snapshot.update.records.per.snapshot", Medium, ReadOnly, 500, AtLeast(0), "Update records between share state snapshots.");
        yield return Int("share.coordinator.state.topic.compression.codec", High, ReadOnly, 0, null, "Compression codec of __share_group_state.");
        // Zero-config: one node, as Kafka's config/server.properties (and offsets.topic.replication.factor above).
        yield return Short("share.coordinator.state.topic.min.isr", High, ReadOnly, 1, AtLeast(1), "min.insync.replicas of __share_group_state.") with { KafkaDefault = "2" };
        yield return Int("share.coordinator.state.topic.num.partitions", High, ReadOnly, 50, AtLeast(1), "Partitions of __share_group_state.");
        yield return Short("share.coordinator.state.topic.replication.factor", High, ReadOnly, 1, AtLeast(1), "Replication factor of __share_group_state.") with { KafkaDefault = "3" };
        yield return Int("share.coordinator.state.topic.segment.bytes", High, ReadOnly, 104857600, AtLeast(1), "Segment size of __share_group_state.");
        yield return Int("share.coordinator.threads", Medium, ReadOnly, 1, AtLeast(1), "Share coordinator threads.");
        yield return Int("share.coordinator.write.timeout.ms", High, ReadOnly, 5000, AtLeast(1), "Share state write wait for replication.");
        yield return Int("share.fetch.purgatory.purge.interval.requests", Medium, ReadOnly, 1000, null, "Share fetch purgatory purge interval.");

        // ---- Streams groups (KIP-1071) ----
        yield return Int("group.streams.heartbeat.interval.ms", Medium, ReadOnly, 5000, AtLeast(1), "Heartbeat interval of streams group members.");
        yield return Int("group.streams.max.heartbeat.interval.ms", Medium, ReadOnly, 15000, AtLeast(1), "Maximum streams group heartbeat interval.");
        yield return Int("group.streams.max.session.timeout.ms", Medium, ReadOnly, 60000, AtLeast(1), "Maximum streams group session timeout.");
        yield return Int("group.streams.max.size", Medium, ReadOnly, IntMax, AtLeast(1), "Maximum members in one streams group.");
        yield return Int("group.streams.max.standby.replicas", Medium, ReadOnly, 2, AtLeast(0), "Maximum standby replicas a streams group may ask for.");
        yield return Int("group.streams.min.heartbeat.interval.ms", Medium, ReadOnly, 5000, AtLeast(1), "Minimum streams group heartbeat interval.");
        yield return Int("group.streams.min.session.timeout.ms", Medium, ReadOnly, 45000, AtLeast(1), "Minimum streams group session timeout.");
        yield return Int("group.streams.num.standby.replicas", Medium, ReadOnly, 0, AtLeast(0), "Standby replicas per streams task.");
        yield return Int("group.streams.session.timeout.ms", Medium, ReadOnly, 45000, AtLeast(1), "Session timeout of streams group members.");

        // ---- Transactions and producer state ----
        yield return Int("transaction.state.log.num.partitions", High, ReadOnly, 50, AtLeast(1), "Partitions of __transaction_state.");
        // Zero-config: one node, as Kafka's config/server.properties (and offsets.topic.replication.factor above).
        yield return Short("transaction.state.log.replication.factor", High, ReadOnly, 1, AtLeast(1), "Replication factor of __transaction_state.") with { KafkaDefault = "3" };
        yield return Int("transaction.state.log.segment.bytes", High, ReadOnly, 104857600, AtLeast(1), "Segment size of __transaction_state.");
        yield return Int("transaction.state.log.min.isr", High, ReadOnly, 1, AtLeast(1), "min.insync.replicas of __transaction_state.") with { KafkaDefault = "2" };
        yield return Int("transaction.state.log.load.buffer.size", High, ReadOnly, 5242880, AtLeast(1), "Batch size when loading transactions.");
        yield return Int("transaction.max.timeout.ms", High, ReadOnly, 900000, AtLeast(1), "Maximum transaction timeout a client may ask for.");
        yield return Int("transactional.id.expiration.ms", High, ReadOnly, 604800000, AtLeast(1), "Idle time before a transactional id expires.");
        yield return Int("transaction.abort.timed.out.transaction.cleanup.interval.ms", Low, ReadOnly, 10000, AtLeast(1), "Timed-out transaction check interval.");
        yield return Int("transaction.remove.expired.transaction.cleanup.interval.ms", Low, ReadOnly, 3600000, AtLeast(1), "Expired transactional id removal interval.");
        yield return Bool("transaction.partition.verification.enable", Low, ClusterWide, true, "Verify partitions are in a transaction before appending.");
        yield return Int("producer.id.expiration.ms", Low, ClusterWide, 86400000, AtLeast(1), "Idle time before producer id state expires.");
        yield return Int("producer.id.expiration.check.interval.ms", Low, ReadOnly, 600000, AtLeast(1), "Producer id expiration check interval.");
        yield return Int("add.partitions.to.txn.retry.backoff.max.ms", High, ReadOnly, 100, AtLeast(0), "Maximum server-side wait when adding partitions to a transaction.");
        yield return Int("add.partitions.to.txn.retry.backoff.ms", High, ReadOnly, 20, AtLeast(1), "Server-side retry backoff when adding a partition to a transaction.");
        yield return Bool("transaction.two.phase.commit.enable", Low, ReadOnly, false, "Allow two-phase commit transactions with an external coordinator.");

        // ---- Tiered storage (KIP-405) ----
        yield return Int("remote.fetch.max.wait.ms", Medium, ClusterWide, 500, AtLeast(1), "Maximum wait of a remote fetch.");
        yield return Long("remote.list.offsets.request.timeout.ms", Medium, ClusterWide, 30000, AtLeast(1), "Maximum wait of a remote list-offsets request.");
        yield return Long("remote.log.index.file.cache.total.size.bytes", Low, ClusterWide, 1073741824, AtLeast(1), "Local space for index files fetched from remote storage.");
        yield return Int("remote.log.manager.copier.thread.pool.size", Medium, ClusterWide, 10, AtLeast(1), "Threads copying segments to remote storage.");
        yield return Long("remote.log.manager.copy.max.bytes.per.second", Medium, ClusterWide, LongMax, AtLeast(1), "Copy-to-remote throttle.");
        yield return Int("remote.log.manager.copy.quota.window.num", Medium, ReadOnly, 11, AtLeast(1), "Samples kept for the remote copy quota.");
        yield return Int("remote.log.manager.copy.quota.window.size.seconds", Medium, ReadOnly, 1, AtLeast(1), "Time span of one remote copy quota sample.");
        yield return Int("remote.log.manager.expiration.thread.pool.size", Medium, ClusterWide, 10, AtLeast(1), "Threads deleting expired remote segments.");
        yield return Long("remote.log.manager.fetch.max.bytes.per.second", Medium, ClusterWide, LongMax, AtLeast(1), "Fetch-from-remote throttle.");
        yield return Int("remote.log.manager.fetch.quota.window.num", Medium, ReadOnly, 11, AtLeast(1), "Samples kept for the remote fetch quota.");
        yield return Int("remote.log.manager.fetch.quota.window.size.seconds", Medium, ReadOnly, 1, AtLeast(1), "Time span of one remote fetch quota sample.");
        yield return Long("remote.log.manager.task.interval.ms", Low, ReadOnly, 30000, AtLeast(1), "Interval of remote log manager tasks.");
        yield return Int("remote.log.manager.thread.pool.size", Medium, ReadOnly, 2, AtLeast(1), "Threads of follower remote-offset tasks.");
        yield return Int("remote.log.metadata.custom.metadata.max.bytes", Low, ReadOnly, 128, AtLeast(0), "Maximum custom metadata from a remote storage plugin.");
        yield return Str("remote.log.metadata.manager.class.name", Medium, ReadOnly, "org.apache.kafka.server.log.remote.metadata.storage.TopicBasedRemoteLogMetadataManager", NonEmpty, "RemoteLogMetadataManager class.");
        yield return Str("remote.log.metadata.manager.class.path", Medium, ReadOnly, null, null, "Class path of the RemoteLogMetadataManager.");
        yield return Str("remote.log.metadata.manager.impl.prefix", Medium, ReadOnly, "rlmm.config.", NonEmpty, "Prefix of properties passed to the RemoteLogMetadataManager.");
        yield return Str("remote.log.metadata.manager.listener.name", Medium, ReadOnly, null, NonEmpty, "Listener the RemoteLogMetadataManager connects to.");
        yield return Int("remote.log.reader.max.pending.tasks", Medium, ReadOnly, 100, AtLeast(1), "Queue size of the remote log reader pool.");
        yield return Int("remote.log.reader.threads", Medium, ClusterWide, 10, AtLeast(1), "Threads reading from remote storage.");
        yield return Str("remote.log.storage.manager.class.name", Medium, ReadOnly, null, NonEmpty, "RemoteStorageManager class.");
        yield return Str("remote.log.storage.manager.class.path", Medium, ReadOnly, null, null, "Class path of the RemoteStorageManager.");
        yield return Str("remote.log.storage.manager.impl.prefix", Medium, ReadOnly, "rsm.config.", NonEmpty, "Prefix of properties passed to the RemoteStorageManager.");

        // ---- Quotas and metrics ----
        yield return Int("quota.window.num", Low, ReadOnly, 11, AtLeast(1), "Samples kept for client quotas.");
        yield return Int("quota.window.size.seconds", Low, ReadOnly, 1, AtLeast(1), "Time span of one client quota sample.");
        yield return Int("replication.quota.window.num", Low, ReadOnly, 11, AtLeast(1), "Samples kept for replication quotas.");
        yield return Int("replication.quota.window.size.seconds", Low, ReadOnly, 1, AtLeast(1), "Time span of one replication quota sample.");
        yield return Int("alter.log.dirs.replication.quota.window.num", Low, ReadOnly, 11, AtLeast(1), "Samples kept for alter-log-dirs quotas.");
        yield return Int("alter.log.dirs.replication.quota.window.size.seconds", Low, ReadOnly, 1, AtLeast(1), "Time span of one alter-log-dirs quota sample.");
        yield return Int("controller.quota.window.num", Low, ReadOnly, 11, AtLeast(1), "Samples kept for controller mutation quotas.");
        yield return Int("controller.quota.window.size.seconds", Low, ReadOnly, 1, AtLeast(1), "Time span of one controller quota sample.");
        yield return Class("client.quota.callback.class", Low, ReadOnly, null, "Custom client quota callback.");
        // Samsa has no JMX; Kafka 4.x lists its JmxReporter here by default.
        yield return List("metric.reporters", Low, ClusterWide, "", null, "Metric reporter classes.") with { KafkaDefault = "org.apache.kafka.common.metrics.JmxReporter" };
        yield return Int("metrics.num.samples", Low, ReadOnly, 2, AtLeast(1), "Samples kept to compute metrics.");
        yield return Long("metrics.sample.window.ms", Low, ReadOnly, 30000, AtLeast(1), "Window of one metrics sample.");
        yield return Str("metrics.recording.level", Low, ReadOnly, "INFO", new ValidStringValidator(false, "INFO", "DEBUG", "TRACE"), "Highest recording level of metrics.");
        yield return List("kafka.metrics.reporters", Low, ReadOnly, "", null, "Yammer metrics reporter classes.");
        yield return Int("kafka.metrics.polling.interval.secs", Low, ReadOnly, 10, AtLeast(1), "Yammer metrics polling interval.");
        yield return Int("telemetry.max.bytes", Low, ReadOnly, 1048576, AtLeast(1), "Maximum size of a client telemetry push.");
        // Samsa only: what the Prometheus JMX exporter agent serves for a Kafka broker, served by the broker itself.
        yield return Str("metrics.listener", Medium, ReadOnly, "", null,
            "Samsa: the HTTP listener (http://host:port, e.g. http://127.0.0.1:9404) serving /metrics in Prometheus' text format with "
            + "the JMX exporter's Kafka metric names, /health/live and /health/ready. Empty (the default) serves nothing.");
        // Samsa only: what a separate Kafka console (CMAK, Kafka UI) shows, served by the broker itself.
        yield return Str("console.listener", Medium, ReadOnly, "", null,
            "Samsa: the HTTP listener (http://host:port, e.g. http://127.0.0.1:9021) serving the web console: cluster overview, topics, "
            + "message browser, consumer groups and lag, throughput. Asks for a SASL user's password when the broker has PLAIN or SCRAM users. "
            + "Empty (the default) serves nothing; samsa-server started with no config serves it on http://127.0.0.1:9021.");
        // Samsa only: kafka_exporter's and Burrow's lag, computed by the broker itself.
        yield return Long("consumer.lag.sample.interval.ms", Low, ReadOnly, 5000, AtLeast(100),
            "Samsa: how often the consumer lag monitor (metrics.listener's kafka_consumergroup_* gauges and Burrow-style /v3/kafka/.../lag) "
            + "reads committed offsets and log ends; it runs when metrics.listener or console.listener is set.");
        yield return Long("consumer.lag.alert.threshold", Low, ReadOnly, 0, AtLeast(0),
            "Samsa: a group whose total lag exceeds this many records is logged (once, and again when it recovers) and reported by "
            + "samsa_consumergroup_lag_alert; 0 (the default) raises no alert.");

        // ---- Security ----
        yield return Str("authorizer.class.name", Low, ReadOnly, "", null, "Authorizer class; empty disables authorization.");
        yield return Str("super.users", Low, ReadOnly, null, null, "Principals allowed every operation (semicolon separated).");
        yield return Bool("allow.everyone.if.no.acl.found", Low, ReadOnly, false, "StandardAuthorizer: allow access to resources without ACLs.");
        yield return Class("principal.builder.class", Medium, PerBroker, "org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder", "Principal builder class.");
        yield return List("sasl.enabled.mechanisms", Medium, PerBroker, "GSSAPI", null, "SASL mechanisms enabled on the broker.");
        yield return Str("sasl.mechanism.inter.broker.protocol", Medium, PerBroker, "GSSAPI", null, "SASL mechanism between brokers.");
        yield return Str("sasl.mechanism.controller.protocol", High, ReadOnly, "GSSAPI", null, "SASL mechanism towards controllers.");
        yield return Password("sasl.jaas.config", Medium, PerBroker, "JAAS login context parameters.");
        yield return Str("sasl.kerberos.service.name", Medium, PerBroker, null, null, "Kerberos principal name Kafka runs as.");
        yield return Class("sasl.server.callback.handler.class", Medium, ReadOnly, null, "SASL server callback handler.");
        yield return Class("sasl.login.callback.handler.class", Medium, ReadOnly, null, "SASL login callback handler.");
        yield return Class("sasl.login.class", Medium, ReadOnly, null, "SASL login class.");
        yield return Str("ssl.keystore.location", Medium, PerBroker, null, null, "Key store file.");
        yield return Password("ssl.keystore.password", Medium, PerBroker, "Key store password.");
        yield return Password("ssl.key.password", Medium, PerBroker, "Private key password.");
        yield return Str("ssl.keystore.type", Medium, PerBroker, "JKS", null, "Key store format.");
        yield return Str("ssl.truststore.location", Medium, PerBroker, null, null, "Trust store file.");
        yield return Password("ssl.truststore.password", Medium, PerBroker, "Trust store password.");
        yield return Str("ssl.truststore.type", Medium, PerBroker, "JKS", null, "Trust store format.");
        yield return Str("ssl.client.auth", Medium, PerBroker, "none", new ValidStringValidator(false, "required", "requested", "none"), "Client authentication on SSL listeners.");
        yield return Str("ssl.protocol", Medium, PerBroker, "TLSv1.3", null, "SSL protocol of the SSLContext.");
        yield return List("ssl.enabled.protocols", Medium, PerBroker, "TLSv1.2,TLSv1.3", null, "Enabled SSL protocols.");
        yield return List("ssl.cipher.suites", Medium, PerBroker, "", null, "Enabled cipher suites.");
        yield return Str("ssl.endpoint.identification.algorithm", Low, PerBroker, "https", null, "Server hostname verification algorithm.");
        yield return Password("delegation.token.secret.key", Medium, ReadOnly, "Secret used to sign delegation tokens.");
        yield return Long("delegation.token.max.lifetime.ms", Medium, ReadOnly, 604800000, AtLeast(1), "Maximum delegation token lifetime.");
        yield return Long("delegation.token.expiry.time.ms", Medium, ReadOnly, 86400000, AtLeast(1), "Delegation token validity before renewal.");
        yield return Long("delegation.token.expiry.check.interval.ms", Low, ReadOnly, 3600000, AtLeast(1), "Scan interval for expired delegation tokens.");
        yield return Class("sasl.client.callback.handler.class", Medium, ReadOnly, null, "SASL client callback handler.");
        yield return Str("sasl.kerberos.kinit.cmd", Medium, PerBroker, "/usr/bin/kinit", null, "Kerberos kinit command path.");
        yield return Long("sasl.kerberos.min.time.before.relogin", Medium, PerBroker, 60000, null, "Login thread sleep between refresh attempts.");
        yield return List("sasl.kerberos.principal.to.local.rules", Medium, PerBroker, "DEFAULT", null, "Rules mapping Kerberos principals to short names.");
        yield return Double("sasl.kerberos.ticket.renew.jitter", Medium, PerBroker, 0.05, null, "Random jitter added to the ticket renewal time.");
        yield return Double("sasl.kerberos.ticket.renew.window.factor", Medium, PerBroker, 0.8, null, "Fraction of the ticket lifetime before renewal.");
        yield return Int("sasl.login.connect.timeout.ms", Low, ReadOnly, null, null, "OAUTHBEARER provider connection timeout.");
        yield return Int("sasl.login.read.timeout.ms", Low, ReadOnly, null, null, "OAUTHBEARER provider read timeout.");
        yield return Short("sasl.login.refresh.buffer.seconds", Medium, PerBroker, 300, null, "Buffer before credential expiry when refreshing.");
        yield return Short("sasl.login.refresh.min.period.seconds", Medium, PerBroker, 60, null, "Minimum wait before refreshing a credential.");
        yield return Double("sasl.login.refresh.window.factor", Medium, PerBroker, 0.8, null, "Fraction of the credential lifetime before refresh.");
        yield return Double("sasl.login.refresh.window.jitter", Medium, PerBroker, 0.05, null, "Random jitter added to the refresh time.");
        yield return Long("sasl.login.retry.backoff.max.ms", Low, ReadOnly, 10000, null, "Maximum wait between login attempts.");
        yield return Long("sasl.login.retry.backoff.ms", Low, ReadOnly, 100, null, "Initial wait between login attempts.");
        yield return Str("sasl.oauthbearer.assertion.algorithm", Medium, ReadOnly, "RS256", new ValidStringValidator(true, "ES256", "RS256"), "Signing algorithm of the JWT assertion.");
        yield return Str("sasl.oauthbearer.assertion.claim.aud", Medium, ReadOnly, null, null, "aud claim of the JWT assertion.");
        yield return Int("sasl.oauthbearer.assertion.claim.exp.seconds", Low, ReadOnly, 300, RangeValidator.Between(0, 86400), "Validity of the JWT assertion, in seconds.");
        yield return Str("sasl.oauthbearer.assertion.claim.iss", Medium, ReadOnly, null, null, "iss claim of the JWT assertion.");
        yield return Bool("sasl.oauthbearer.assertion.claim.jti.include", Medium, ReadOnly, false, "Include a jti claim in the JWT assertion.");
        yield return Int("sasl.oauthbearer.assertion.claim.nbf.seconds", Low, ReadOnly, 60, RangeValidator.Between(0, 3600), "Not-before offset of the JWT assertion, in seconds.");
        yield return Str("sasl.oauthbearer.assertion.claim.sub", Medium, ReadOnly, null, null, "sub claim of the JWT assertion.");
        yield return Str("sasl.oauthbearer.assertion.file", Medium, ReadOnly, null, null, "File holding a pre-generated JWT assertion.");
        yield return Str("sasl.oauthbearer.assertion.private.key.file", Medium, ReadOnly, null, null, "PEM private key signing the JWT assertion.");
        yield return Password("sasl.oauthbearer.assertion.private.key.passphrase", Medium, ReadOnly, "Passphrase of the assertion private key.");
        yield return Str("sasl.oauthbearer.assertion.template.file", Medium, ReadOnly, null, null, "Template of JWT assertion headers and claims.");
        yield return Str("sasl.oauthbearer.client.credentials.client.id", Medium, ReadOnly, null, null, "OAuth client id.");
        yield return Password("sasl.oauthbearer.client.credentials.client.secret", Medium, ReadOnly, "OAuth client secret.");
        yield return Int("sasl.oauthbearer.clock.skew.seconds", Low, ReadOnly, 30, null, "Allowed clock skew with the identity provider.");
        yield return List("sasl.oauthbearer.expected.audience", Low, ReadOnly, "", null, "Audiences a JWT must name.");
        yield return Str("sasl.oauthbearer.expected.issuer", Low, ReadOnly, null, null, "Issuer a JWT must name.");
        yield return Long("sasl.oauthbearer.jwks.endpoint.refresh.ms", Low, ReadOnly, 3600000, null, "JWKS cache refresh interval.");
        yield return Long("sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms", Low, ReadOnly, 10000, null, "Maximum wait between JWKS retrievals.");
        yield return Long("sasl.oauthbearer.jwks.endpoint.retry.backoff.ms", Low, ReadOnly, 100, null, "Initial wait between JWKS retrievals.");
        yield return Str("sasl.oauthbearer.jwks.endpoint.url", Medium, ReadOnly, null, null, "JWKS endpoint of the identity provider.");
        yield return Class("sasl.oauthbearer.jwt.retriever.class", Medium, ReadOnly, "org.apache.kafka.common.security.oauthbearer.DefaultJwtRetriever", "JwtRetriever class.");
        yield return Class("sasl.oauthbearer.jwt.validator.class", Medium, ReadOnly, "org.apache.kafka.common.security.oauthbearer.DefaultJwtValidator", "JwtValidator class.");
        yield return Str("sasl.oauthbearer.scope", Medium, ReadOnly, null, null, "OAuth scope requested.");
        yield return Str("sasl.oauthbearer.scope.claim.name", Low, ReadOnly, "scope", null, "Name of the scope claim.");
        yield return Str("sasl.oauthbearer.sub.claim.name", Low, ReadOnly, "sub", null, "Name of the subject claim.");
        yield return Str("sasl.oauthbearer.token.endpoint.url", Medium, ReadOnly, null, null, "OAuth token endpoint.");
        yield return Int("sasl.server.max.receive.size", Medium, ReadOnly, 524288, null, "Maximum receive size during SASL authentication.");
        yield return Str("security.providers", Low, ReadOnly, null, null, "Security provider creator classes.");
        yield return Bool("ssl.allow.dn.changes", Low, ReadOnly, false, "Allow certificate DN changes on dynamic reconfiguration.");
        yield return Bool("ssl.allow.san.changes", Low, ReadOnly, false, "Allow certificate SAN changes on dynamic reconfiguration.");
        yield return Class("ssl.engine.factory.class", Low, PerBroker, null, "SslEngineFactory class.");
        yield return Str("ssl.keymanager.algorithm", Medium, PerBroker, "SunX509", null, "Key manager factory algorithm.");
        yield return Password("ssl.keystore.certificate.chain", Medium, PerBroker, "PEM certificate chain.");
        yield return Password("ssl.keystore.key", Medium, PerBroker, "PEM private key.");
        yield return Str("ssl.principal.mapping.rules", Low, ReadOnly, "DEFAULT", null, "Rules mapping certificate DNs to short names.");
        yield return Str("ssl.provider", Medium, PerBroker, null, null, "Security provider of SSL connections.");
        yield return Str("ssl.secure.random.implementation", Low, PerBroker, null, null, "SecureRandom implementation for SSL.");
        yield return Str("ssl.trustmanager.algorithm", Medium, PerBroker, "PKIX", null, "Trust manager factory algorithm.");
        yield return Password("ssl.truststore.certificates", Medium, PerBroker, "PEM trusted certificates.");
    }
}
