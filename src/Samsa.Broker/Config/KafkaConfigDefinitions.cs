namespace Samsa.Broker.Config;

/// <summary>
/// Every broker config Samsa knows, with Kafka's name, type and default: the ONE table of defaults.
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
    /// Keys accepted (parsed and validated) but not acted on: no code reads them, because the feature behind them
    /// (a Raft quorum, replication, transactions, quotas, metrics, security, thread pools) is not built. A supplied
    /// one is named in one warning at start-up. Keep in step with docs/UNSUPPORTED.md; remove a key when its
    /// feature lands (<c>KafkaConfigTests.NotActedOn_KeysAreDefinedAndNotReadByTheBroker</c> checks both).
    /// </summary>
    public static readonly IReadOnlySet<string> NotActedOn = new HashSet<string>(StringComparer.Ordinal)
    {
        "controller.quorum.voters", "controller.quorum.bootstrap.servers", "controller.quorum.election.timeout.ms",
        "controller.quorum.fetch.timeout.ms", "controller.quorum.election.backoff.max.ms", "controller.quorum.append.linger.ms",
        "controller.quorum.request.timeout.ms", "controller.quorum.retry.backoff.ms", "initial.broker.registration.timeout.ms",
        "broker.heartbeat.interval.ms", "broker.session.timeout.ms", "broker.id.generation.enable", "reserved.broker.max.id",
        "controlled.shutdown.enable", "controlled.shutdown.max.retries", "controlled.shutdown.retry.backoff.ms",
        "unstable.feature.versions.enable", "eligible.leader.replicas.enable", "early.start.listeners", "num.network.threads",
        "num.io.threads", "background.threads", "queued.max.requests", "queued.max.request.bytes", "socket.connection.setup.timeout.ms",
        "socket.connection.setup.timeout.max.ms", "max.connection.creation.rate", "connections.max.reauth.ms", "fetch.max.bytes",
        "metadata.max.retention.bytes", "metadata.max.retention.ms", "metadata.log.max.snapshot.interval.ms",
        "metadata.max.idle.interval.ms", "num.recovery.threads.per.data.dir", "log.dir.failure.timeout.ms", "log.cleaner.io.buffer.size",
        "log.cleaner.io.buffer.load.factor", "log.message.timestamp.difference.max.ms", "log.message.format.version", "log.message.downconversion.enable",
        "auto.leader.rebalance.enable", "leader.imbalance.per.broker.percentage", "leader.imbalance.check.interval.seconds",
        "create.topic.policy.class.name", "alter.config.policy.class.name", "remote.log.storage.system.enable", "num.replica.fetchers",
        "replica.lag.time.max.ms", "replica.socket.timeout.ms", "replica.socket.receive.buffer.bytes", "replica.fetch.max.bytes",
        "replica.fetch.wait.max.ms", "replica.fetch.min.bytes", "replica.fetch.response.max.bytes", "replica.fetch.backoff.ms",
        "replica.selector.class", "fetch.purgatory.purge.interval.requests",
        "producer.purgatory.purge.interval.requests", "delete.records.purgatory.purge.interval.requests",
        "offsets.topic.compression.codec", "offsets.load.buffer.size", "offsets.commit.required.acks", "group.coordinator.threads",
        "group.consumer.min.session.timeout.ms", "group.consumer.max.session.timeout.ms", "group.consumer.min.heartbeat.interval.ms",
        "group.consumer.max.heartbeat.interval.ms", "group.consumer.migration.policy", "transaction.state.log.num.partitions",
        "transaction.state.log.replication.factor", "transaction.state.log.segment.bytes", "transaction.state.log.min.isr",
        "transaction.state.log.load.buffer.size", "transaction.max.timeout.ms", "transactional.id.expiration.ms",
        "transaction.abort.timed.out.transaction.cleanup.interval.ms", "transaction.remove.expired.transaction.cleanup.interval.ms",
        "transaction.partition.verification.enable", "producer.id.expiration.ms", "producer.id.expiration.check.interval.ms",
        "quota.window.num", "quota.window.size.seconds", "replication.quota.window.num", "replication.quota.window.size.seconds",
        "alter.log.dirs.replication.quota.window.num", "alter.log.dirs.replication.quota.window.size.seconds",
        "controller.quota.window.num", "controller.quota.window.size.seconds", "client.quota.callback.class", "metric.reporters",
        "metrics.num.samples", "metrics.sample.window.ms", "metrics.recording.level", "auto.include.jmx.reporter",
        "kafka.metrics.reporters", "kafka.metrics.polling.interval.secs", "authorizer.class.name", "super.users",
        "allow.everyone.if.no.acl.found", "principal.builder.class", "sasl.enabled.mechanisms", "sasl.mechanism.inter.broker.protocol",
        "sasl.mechanism.controller.protocol", "sasl.jaas.config", "sasl.kerberos.service.name", "sasl.server.callback.handler.class",
        "sasl.login.callback.handler.class", "sasl.login.class", "ssl.keystore.location", "ssl.keystore.password", "ssl.key.password",
        "ssl.keystore.type", "ssl.truststore.location", "ssl.truststore.password", "ssl.truststore.type", "ssl.client.auth",
        "ssl.protocol", "ssl.enabled.protocols", "ssl.cipher.suites", "ssl.endpoint.identification.algorithm",
        "delegation.token.secret.key", "delegation.token.max.lifetime.ms", "delegation.token.expiry.time.ms"
    };

    private static ConfigKey Bool(string name, bool value, string doc) => new(name, ConfigType.Boolean, value, null, doc);

    private static ConfigKey Short(string name, short value, IConfigValidator? validator, string doc) => new(name, ConfigType.Short, value, validator, doc);

    private static ConfigKey Int(string name, int? value, IConfigValidator? validator, string doc) => new(name, ConfigType.Int, value, validator, doc);

    private static ConfigKey Long(string name, long? value, IConfigValidator? validator, string doc) => new(name, ConfigType.Long, value, validator, doc);

    private static ConfigKey Double(string name, double value, IConfigValidator? validator, string doc) => new(name, ConfigType.Double, value, validator, doc);

    private static ConfigKey Str(string name, string? value, IConfigValidator? validator, string doc) => new(name, ConfigType.String, value, validator, doc);

    private static ConfigKey List(string name, string value, IConfigValidator? validator, string doc) =>
        new(name, ConfigType.List, ConfigKey.SplitList(value), validator, doc);

    private static ConfigKey Password(string name, string doc) => new(name, ConfigType.Password, null, null, doc);

    private static ConfigKey Class(string name, string? value, string doc) => new(name, ConfigType.Class, value, null, doc);

    private static RangeValidator AtLeast(double min) => RangeValidator.AtLeast(min);

    private static IEnumerable<ConfigKey> Build()
    {
        // ---- KRaft roles and identity ----
        yield return List("process.roles", "broker,controller", new ValidListValidator("broker", "controller"),
            "The roles this process plays: broker, controller, or both.") with
        { KafkaDefault = "" };
        yield return Int("node.id", 1, AtLeast(0), "The node id of this server in KRaft mode.") with { KafkaDefault = "-1" };
        yield return Int("broker.id", -1, null, "Legacy alias of node.id; when set it must equal node.id.");
        yield return Str("controller.listener.names", null, null, "Comma-separated names of the listeners used by the controller.");
        yield return List("controller.quorum.voters", "", null, "Static voter set: id@host:port entries.");
        yield return List("controller.quorum.bootstrap.servers", "", null, "host:port of controllers for a dynamic quorum.");
        yield return Int("controller.quorum.election.timeout.ms", 1000, null, "Maximum time without a leader before an election.");
        yield return Int("controller.quorum.fetch.timeout.ms", 2000, null, "Maximum time without a successful fetch from the leader.");
        yield return Int("controller.quorum.election.backoff.max.ms", 1000, null, "Maximum backoff before starting a new election.");
        yield return Int("controller.quorum.append.linger.ms", 25, null, "How long the leader waits to batch writes.");
        yield return Int("controller.quorum.request.timeout.ms", 2000, null, "Quorum request timeout.");
        yield return Int("controller.quorum.retry.backoff.ms", 20, null, "Quorum retry backoff.");
        yield return Int("initial.broker.registration.timeout.ms", 60000, null, "How long to wait for the first broker registration.");
        yield return Int("broker.heartbeat.interval.ms", 2000, null, "Broker heartbeat interval in KRaft mode.");
        yield return Int("broker.session.timeout.ms", 9000, null, "Broker lease length in KRaft mode.");
        yield return Str("broker.rack", null, null, "Rack of the broker, advertised in Metadata.");
        yield return Bool("broker.id.generation.enable", true, "Legacy ZooKeeper broker id generation.");
        yield return Int("reserved.broker.max.id", 1000, AtLeast(0), "Legacy ZooKeeper maximum reserved broker id.");
        yield return Bool("controlled.shutdown.enable", true, "Move leadership away before shutting down.");
        yield return Int("controlled.shutdown.max.retries", 3, null, "Controlled shutdown retries.");
        yield return Long("controlled.shutdown.retry.backoff.ms", 5000, null, "Controlled shutdown retry backoff.");
        yield return Bool("unstable.api.versions.enable", false, "Advertise API versions still under development.");
        yield return Bool("unstable.feature.versions.enable", false, "Allow feature versions still under development.");
        yield return Bool("eligible.leader.replicas.enable", false, "Enable KIP-966 eligible leader replicas.");

        // ---- Listeners and sockets ----
        yield return Str("listeners", "PLAINTEXT://localhost:9092", null, "Comma-separated listener URIs NAME://host:port.") with { KafkaDefault = "PLAINTEXT://:9092" };
        yield return Str("advertised.listeners", null, null, "Listeners published to clients; defaults to listeners.");
        yield return Str("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL", null,
            "Map from listener name to security protocol.");
        yield return Str("inter.broker.listener.name", null, null, "Listener used between brokers.");
        yield return Str("security.inter.broker.protocol", "PLAINTEXT", new ValidStringValidator(false, "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"),
            "Security protocol used between brokers.");
        yield return Str("early.start.listeners", null, null, "Listeners started before authorizer initialisation.");
        yield return Int("num.network.threads", 3, AtLeast(1), "Threads receiving requests and sending responses.");
        yield return Int("num.io.threads", 8, AtLeast(1), "Threads processing requests.");
        yield return Int("background.threads", 10, AtLeast(1), "Threads for background tasks.");
        yield return Int("queued.max.requests", 500, AtLeast(1), "Queued requests before network threads stop reading.");
        yield return Long("queued.max.request.bytes", -1, null, "Queued bytes before no more requests are read.");
        yield return Int("socket.send.buffer.bytes", 102400, null, "SO_SNDBUF; -1 uses the OS default.");
        yield return Int("socket.receive.buffer.bytes", 102400, null, "SO_RCVBUF; -1 uses the OS default.");
        yield return Int("socket.request.max.bytes", 104857600, AtLeast(1), "Maximum bytes in one request frame.");
        yield return Int("socket.listen.backlog.size", 50, AtLeast(1), "Pending connections in the accept queue.");
        yield return Long("socket.connection.setup.timeout.ms", 10000, null, "Connection setup timeout for broker clients.");
        yield return Long("socket.connection.setup.timeout.max.ms", 30000, null, "Maximum connection setup timeout.");
        yield return Int("max.connections", IntMax, AtLeast(0), "Maximum connections for the broker.");
        yield return Int("max.connections.per.ip", IntMax, AtLeast(0), "Maximum connections from one IP.");
        yield return Str("max.connections.per.ip.overrides", "", null, "Per-IP or hostname overrides of max.connections.per.ip.");
        yield return Int("max.connection.creation.rate", IntMax, AtLeast(0), "Maximum connection creation rate per listener.");
        yield return Long("connections.max.idle.ms", 600000, null, "Idle connections are closed after this long.");
        yield return Long("connections.max.reauth.ms", 0, null, "Maximum session lifetime before SASL re-authentication.");
        yield return Int("fetch.max.bytes", 57671680, AtLeast(1024), "Maximum bytes returned for a fetch request.");
        yield return Int("max.incremental.fetch.session.cache.slots", 1000, AtLeast(0), "Maximum incremental fetch sessions.");

        // ---- Log directories and segments ----
        yield return Str("log.dirs", null, null, "Comma-separated directories holding log data; overrides log.dir.");
        yield return Str("log.dir", "./data", null, "Directory holding log data, used when log.dirs is not set.") with { KafkaDefault = "/tmp/kafka-logs" };
        yield return Str("metadata.log.dir", null, null, "Directory of the metadata log; defaults to the first log dir.");
        yield return Int("metadata.log.segment.bytes", 1073741824, AtLeast(12), "Segment size of the metadata log.");
        yield return Long("metadata.log.segment.ms", 604800000, null, "Time before a metadata log segment rolls.");
        yield return Long("metadata.max.retention.bytes", 104857600, null, "Retention size of the metadata log.");
        yield return Long("metadata.max.retention.ms", 604800000, null, "Retention time of the metadata log.");
        yield return Long("metadata.log.max.record.bytes.between.snapshots", 20971520, AtLeast(1), "Metadata bytes between snapshots.");
        yield return Long("metadata.log.max.snapshot.interval.ms", 3600000, AtLeast(0), "Maximum time between metadata snapshots.");
        yield return Int("metadata.max.idle.interval.ms", 500, AtLeast(0), "No-op record interval of the active controller.");
        yield return Int("num.recovery.threads.per.data.dir", 1, AtLeast(1), "Threads per data dir for log recovery and flush at shutdown.");
        yield return Long("log.dir.failure.timeout.ms", 30000, AtLeast(1), "How long a failed log dir may stay unreported.");
        yield return Int("log.segment.bytes", 1073741824, AtLeast(14), "Maximum size of one log segment file.");
        yield return Int("log.roll.hours", 168, AtLeast(1), "Maximum time before a new segment is rolled, in hours.");
        yield return Long("log.roll.ms", null, null, "Maximum time before a new segment is rolled, in ms.");
        yield return Int("log.roll.jitter.hours", 0, AtLeast(0), "Maximum jitter subtracted from the roll time, in hours.");
        yield return Long("log.roll.jitter.ms", null, null, "Maximum jitter subtracted from the roll time, in ms.");
        yield return Int("log.retention.hours", 168, null, "Hours to keep a log file before deleting it.");
        yield return Int("log.retention.minutes", null, null, "Minutes to keep a log file; overrides hours.");
        yield return Long("log.retention.ms", null, null, "Milliseconds to keep a log file; overrides minutes. -1 keeps forever.");
        yield return Long("log.retention.bytes", -1, null, "Maximum log size before deleting old segments; -1 is unlimited.");
        yield return Long("log.retention.check.interval.ms", 300000, AtLeast(1), "How often the cleaner checks for deletable segments.");
        yield return Long("log.local.retention.ms", -2, null, "Local retention time when tiered storage is on.");
        yield return Long("log.local.retention.bytes", -2, null, "Local retention size when tiered storage is on.");
        yield return List("log.cleanup.policy", "delete", new ValidListValidator("delete", "compact"), "Retention policy: delete, compact.");
        yield return Bool("log.cleaner.enable", true, "Run the log cleaner.");
        yield return Int("log.cleaner.threads", 1, AtLeast(0), "Log cleaner threads.");
        yield return Double("log.cleaner.io.max.bytes.per.second", double.MaxValue, null, "Log cleaner I/O throttle.");
        yield return Long("log.cleaner.dedupe.buffer.size", 134217728, null, "Memory for deduplication across cleaner threads.");
        yield return Int("log.cleaner.io.buffer.size", 524288, AtLeast(0), "I/O buffer memory across cleaner threads.");
        yield return Double("log.cleaner.io.buffer.load.factor", 0.9, null, "Cleaner dedupe buffer load factor.");
        yield return Long("log.cleaner.backoff.ms", 15000, AtLeast(0), "Sleep when there is nothing to clean.");
        yield return Double("log.cleaner.min.cleanable.ratio", 0.5, RangeValidator.Between(0, 1), "Minimum dirty ratio before cleaning.");
        yield return Long("log.cleaner.delete.retention.ms", 86400000, AtLeast(0), "How long delete tombstones are kept.");
        yield return Long("log.cleaner.min.compaction.lag.ms", 0, AtLeast(0), "Minimum time a message stays uncompacted.");
        yield return Long("log.cleaner.max.compaction.lag.ms", LongMax, AtLeast(1), "Maximum time a message stays uncompacted.");
        yield return Int("log.index.size.max.bytes", 10485760, AtLeast(4), "Maximum size of an offset index file.");
        yield return Int("log.index.interval.bytes", 4096, AtLeast(0), "Bytes between offset index entries.");
        yield return Long("log.flush.interval.messages", LongMax, AtLeast(1), "Messages accumulated before a flush.");
        yield return Long("log.flush.interval.ms", null, null, "Maximum time a message waits before a flush.");
        yield return Long("log.flush.scheduler.interval.ms", LongMax, null, "How often the flusher checks for logs to flush.");
        yield return Int("log.flush.offset.checkpoint.interval.ms", 60000, AtLeast(0), "Recovery point checkpoint interval.");
        yield return Int("log.flush.start.offset.checkpoint.interval.ms", 60000, AtLeast(0), "Log start offset checkpoint interval.");
        yield return Long("log.segment.delete.delay.ms", 60000, AtLeast(0), "Delay before deleting a file from the filesystem.");
        yield return Bool("log.preallocate", false, "Preallocate segment files.");
        yield return Str("log.message.timestamp.type", "CreateTime", new ValidStringValidator(false, "CreateTime", "LogAppendTime"), "Timestamp type of messages.");
        yield return Long("log.message.timestamp.before.max.ms", LongMax, AtLeast(0), "Allowed time a timestamp may lag the broker.");
        yield return Long("log.message.timestamp.after.max.ms", LongMax, AtLeast(0), "Allowed time a timestamp may lead the broker.");
        yield return Long("log.message.timestamp.difference.max.ms", LongMax, AtLeast(0), "Deprecated: maximum timestamp difference.");
        yield return Str("log.message.format.version", "3.0-IV1", null, "Deprecated: message format version; v2 is always used.");
        yield return Bool("log.message.downconversion.enable", true, "Down-convert messages for old consumers.");
        yield return Int("message.max.bytes", 1048588, AtLeast(0), "Largest record batch size allowed.");
        yield return Int("num.partitions", 1, AtLeast(1), "Default number of partitions per topic.");
        yield return Int("default.replication.factor", 1, null, "Default replication factor of auto-created topics.");
        yield return Bool("auto.create.topics.enable", true, "Create a topic when a client asks for an unknown one.");
        yield return Bool("auto.leader.rebalance.enable", true, "Move leadership back to preferred replicas.");
        yield return Int("leader.imbalance.per.broker.percentage", 10, null, "Allowed leader imbalance per broker, in percent.");
        yield return Long("leader.imbalance.check.interval.seconds", 300, AtLeast(1), "Leader rebalance check interval.");
        yield return Bool("delete.topic.enable", true, "Allow deleting topics.");
        yield return Int("min.insync.replicas", 1, AtLeast(1), "Minimum ISR size for acks=all writes.");
        yield return Bool("unclean.leader.election.enable", false, "Allow out-of-sync replicas to become leader.");
        yield return Str("compression.type", "producer", new ValidStringValidator(false, "uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"),
            "Final compression of topic data.");
        yield return Int("compression.gzip.level", -1, null, "gzip level when compression.type is gzip.");
        yield return Int("compression.lz4.level", 9, RangeValidator.Between(1, 17), "lz4 level when compression.type is lz4.");
        yield return Int("compression.zstd.level", 3, RangeValidator.Between(-131072, 22), "zstd level when compression.type is zstd.");
        yield return Str("create.topic.policy.class.name", null, null, "Topic creation policy class.");
        yield return Str("alter.config.policy.class.name", null, null, "Alter configs policy class.");
        yield return Bool("remote.log.storage.system.enable", false, "Enable tiered storage.");

        // ---- Replication ----
        yield return Int("num.replica.fetchers", 1, null, "Fetcher threads per source broker.");
        yield return Long("replica.lag.time.max.ms", 30000, null, "Time after which a silent follower leaves the ISR.");
        yield return Int("replica.socket.timeout.ms", 30000, null, "Socket timeout of replica fetches.");
        yield return Int("replica.socket.receive.buffer.bytes", 65536, null, "Receive buffer of replica fetches.");
        yield return Int("replica.fetch.max.bytes", 1048576, AtLeast(0), "Bytes fetched per partition by followers.");
        yield return Int("replica.fetch.wait.max.ms", 500, null, "Maximum wait of a follower fetch.");
        yield return Int("replica.fetch.min.bytes", 1, null, "Minimum bytes of a follower fetch response.");
        yield return Int("replica.fetch.response.max.bytes", 10485760, AtLeast(0), "Bytes expected for a whole follower fetch response.");
        yield return Int("replica.fetch.backoff.ms", 1000, AtLeast(0), "Sleep after a partition fetch error.");
        yield return Long("replica.high.watermark.checkpoint.interval.ms", 5000, null, "High watermark checkpoint interval.");
        yield return Str("replica.selector.class", null, null, "Replica selector for follower fetching.");
        yield return Int("fetch.purgatory.purge.interval.requests", 1000, null, "Fetch purgatory purge interval.");
        yield return Int("producer.purgatory.purge.interval.requests", 1000, null, "Produce purgatory purge interval.");
        yield return Int("delete.records.purgatory.purge.interval.requests", 1, null, "Delete records purgatory purge interval.");

        // ---- Group coordinator and offsets ----
        yield return Int("offsets.topic.num.partitions", 50, AtLeast(1), "Partitions of __consumer_offsets.");
        // Zero-config starts one node, where Kafka's 3 could never be met and consumer groups would not work;
        // Kafka's own config/server.properties sets 1 for the same reason.
        yield return Short("offsets.topic.replication.factor", 1, AtLeast(1), "Replication factor of __consumer_offsets.") with { KafkaDefault = "3" };
        yield return Int("offsets.topic.segment.bytes", 104857600, AtLeast(1), "Segment size of __consumer_offsets.");
        yield return Int("offsets.topic.compression.codec", 0, null, "Compression codec of __consumer_offsets.");
        yield return Int("offsets.load.buffer.size", 5242880, AtLeast(1), "Batch size when loading offsets.");
        yield return Int("offsets.retention.minutes", 10080, AtLeast(1), "Retention of committed offsets of empty groups.");
        yield return Long("offsets.retention.check.interval.ms", 600000, AtLeast(1), "Stale offset check interval.");
        yield return Int("offsets.commit.timeout.ms", 5000, AtLeast(1), "Offset commit wait for replication.");
        yield return Short("offsets.commit.required.acks", -1, null, "Deprecated: acks for offset commits.");
        yield return Int("offset.metadata.max.bytes", 4096, null, "Maximum size of offset commit metadata.");
        yield return Int("group.initial.rebalance.delay.ms", 3000, null, "Wait for more members before the first rebalance.");
        yield return Int("group.min.session.timeout.ms", 6000, null, "Minimum session timeout of classic group members.");
        yield return Int("group.max.session.timeout.ms", 1800000, null, "Maximum session timeout of classic group members.");
        yield return Int("group.max.size", IntMax, AtLeast(1), "Maximum members in one classic group.");
        yield return List("group.coordinator.rebalance.protocols", "classic,consumer", new ValidListValidator("classic", "consumer", "share", "streams"),
            "Enabled rebalance protocols.");
        yield return Int("group.coordinator.threads", 1, AtLeast(1), "Group coordinator threads.");
        yield return Int("group.consumer.session.timeout.ms", 45000, AtLeast(1), "Session timeout of consumer-protocol members.");
        yield return Int("group.consumer.min.session.timeout.ms", 45000, AtLeast(1), "Minimum consumer-protocol session timeout.");
        yield return Int("group.consumer.max.session.timeout.ms", 60000, AtLeast(1), "Maximum consumer-protocol session timeout.");
        yield return Int("group.consumer.heartbeat.interval.ms", 5000, AtLeast(1), "Heartbeat interval of consumer-protocol members.");
        yield return Int("group.consumer.min.heartbeat.interval.ms", 5000, AtLeast(1), "Minimum consumer-protocol heartbeat interval.");
        yield return Int("group.consumer.max.heartbeat.interval.ms", 15000, AtLeast(1), "Maximum consumer-protocol heartbeat interval.");
        yield return Int("group.consumer.max.size", IntMax, AtLeast(1), "Maximum members in one consumer-protocol group.");
        yield return List("group.consumer.assignors", "uniform,range", null, "Server-side assignors.");
        yield return Str("group.consumer.migration.policy", "bidirectional", new ValidStringValidator(true, "disabled", "downgrade", "upgrade", "bidirectional"),
            "Classic/consumer group conversion policy.");

        // ---- Transactions and producer state ----
        yield return Int("transaction.state.log.num.partitions", 50, AtLeast(1), "Partitions of __transaction_state.");
        yield return Short("transaction.state.log.replication.factor", 3, AtLeast(1), "Replication factor of __transaction_state.");
        yield return Int("transaction.state.log.segment.bytes", 104857600, AtLeast(1), "Segment size of __transaction_state.");
        yield return Int("transaction.state.log.min.isr", 2, AtLeast(1), "min.insync.replicas of __transaction_state.");
        yield return Int("transaction.state.log.load.buffer.size", 5242880, AtLeast(1), "Batch size when loading transactions.");
        yield return Int("transaction.max.timeout.ms", 900000, AtLeast(1), "Maximum transaction timeout a client may ask for.");
        yield return Int("transactional.id.expiration.ms", 604800000, AtLeast(1), "Idle time before a transactional id expires.");
        yield return Int("transaction.abort.timed.out.transaction.cleanup.interval.ms", 10000, AtLeast(1), "Timed-out transaction check interval.");
        yield return Int("transaction.remove.expired.transaction.cleanup.interval.ms", 3600000, AtLeast(1), "Expired transactional id removal interval.");
        yield return Bool("transaction.partition.verification.enable", true, "Verify partitions are in a transaction before appending.");
        yield return Int("producer.id.expiration.ms", 86400000, AtLeast(1), "Idle time before producer id state expires.");
        yield return Int("producer.id.expiration.check.interval.ms", 600000, AtLeast(1), "Producer id expiration check interval.");

        // ---- Quotas and metrics ----
        yield return Int("quota.window.num", 11, AtLeast(1), "Samples kept for client quotas.");
        yield return Int("quota.window.size.seconds", 1, AtLeast(1), "Time span of one client quota sample.");
        yield return Int("replication.quota.window.num", 11, AtLeast(1), "Samples kept for replication quotas.");
        yield return Int("replication.quota.window.size.seconds", 1, AtLeast(1), "Time span of one replication quota sample.");
        yield return Int("alter.log.dirs.replication.quota.window.num", 11, AtLeast(1), "Samples kept for alter-log-dirs quotas.");
        yield return Int("alter.log.dirs.replication.quota.window.size.seconds", 1, AtLeast(1), "Time span of one alter-log-dirs quota sample.");
        yield return Int("controller.quota.window.num", 11, AtLeast(1), "Samples kept for controller mutation quotas.");
        yield return Int("controller.quota.window.size.seconds", 1, AtLeast(1), "Time span of one controller quota sample.");
        yield return Class("client.quota.callback.class", null, "Custom client quota callback.");
        yield return List("metric.reporters", "", null, "Metric reporter classes.");
        yield return Int("metrics.num.samples", 2, AtLeast(1), "Samples kept to compute metrics.");
        yield return Long("metrics.sample.window.ms", 30000, AtLeast(1), "Window of one metrics sample.");
        yield return Str("metrics.recording.level", "INFO", new ValidStringValidator(false, "INFO", "DEBUG", "TRACE"), "Highest recording level of metrics.");
        yield return Bool("auto.include.jmx.reporter", true, "Deprecated: always include the JMX reporter.");
        yield return List("kafka.metrics.reporters", "", null, "Yammer metrics reporter classes.");
        yield return Int("kafka.metrics.polling.interval.secs", 10, AtLeast(1), "Yammer metrics polling interval.");
        yield return Int("telemetry.max.bytes", 1048576, AtLeast(1), "Maximum size of a client telemetry push.");

        // ---- Security ----
        yield return Str("authorizer.class.name", "", null, "Authorizer class; empty disables authorization.");
        yield return Str("super.users", null, null, "Principals allowed every operation (semicolon separated).");
        yield return Bool("allow.everyone.if.no.acl.found", false, "StandardAuthorizer: allow access to resources without ACLs.");
        yield return Class("principal.builder.class", "org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder", "Principal builder class.");
        yield return List("sasl.enabled.mechanisms", "GSSAPI", null, "SASL mechanisms enabled on the broker.");
        yield return Str("sasl.mechanism.inter.broker.protocol", "GSSAPI", null, "SASL mechanism between brokers.");
        yield return Str("sasl.mechanism.controller.protocol", "GSSAPI", null, "SASL mechanism towards controllers.");
        yield return Password("sasl.jaas.config", "JAAS login context parameters.");
        yield return Str("sasl.kerberos.service.name", null, null, "Kerberos principal name Kafka runs as.");
        yield return Str("sasl.server.callback.handler.class", null, null, "SASL server callback handler.");
        yield return Str("sasl.login.callback.handler.class", null, null, "SASL login callback handler.");
        yield return Str("sasl.login.class", null, null, "SASL login class.");
        yield return Str("ssl.keystore.location", null, null, "Key store file.");
        yield return Password("ssl.keystore.password", "Key store password.");
        yield return Password("ssl.key.password", "Private key password.");
        yield return Str("ssl.keystore.type", "JKS", null, "Key store format.");
        yield return Str("ssl.truststore.location", null, null, "Trust store file.");
        yield return Password("ssl.truststore.password", "Trust store password.");
        yield return Str("ssl.truststore.type", "JKS", null, "Trust store format.");
        yield return Str("ssl.client.auth", "none", new ValidStringValidator(false, "required", "requested", "none"), "Client authentication on SSL listeners.");
        yield return Str("ssl.protocol", "TLSv1.3", null, "SSL protocol of the SSLContext.");
        yield return List("ssl.enabled.protocols", "TLSv1.2,TLSv1.3", null, "Enabled SSL protocols.");
        yield return List("ssl.cipher.suites", "", null, "Enabled cipher suites.");
        yield return Str("ssl.endpoint.identification.algorithm", "https", null, "Server hostname verification algorithm.");
        yield return Password("delegation.token.secret.key", "Secret used to sign delegation tokens.");
        yield return Long("delegation.token.max.lifetime.ms", 604800000, AtLeast(1), "Maximum delegation token lifetime.");
        yield return Long("delegation.token.expiry.time.ms", 86400000, AtLeast(1), "Delegation token validity before renewal.");
    }
}
