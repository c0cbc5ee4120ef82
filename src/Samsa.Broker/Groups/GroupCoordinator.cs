using Microsoft.Extensions.Logging;
using Samsa.Broker.Coordinator;
using Samsa.Broker.Log;
using Samsa.Broker.Replication;
using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Protocol;

namespace Samsa.Broker.Groups;

/// <summary>
/// The group coordinator of this broker (Kafka's <c>GroupCoordinatorService</c>): maps a group id to its
/// <c>__consumer_offsets</c> partition and runs a <see cref="CoordinatorRuntime{TShard, TRecord}"/> over that topic,
/// which owns one <see cref="GroupCoordinatorShard"/> per partition this broker leads, loads each before serving
/// it, creates the topic on first use and writes the shards' records as the partition leader. What is specific to
/// groups stays here: the offsets topic's settings, FindCoordinator, and the offset retention check.
/// </summary>
/// <remarks>
/// A request for a group goes to the shard of <see cref="PartitionFor(string)"/>. No shard (this broker does not lead
/// the partition, or the topic does not exist yet): NOT_COORDINATOR. A shard still loading:
/// COORDINATOR_LOAD_IN_PROGRESS. Both are retriable: clients ask FindCoordinator again.
/// <para>Group requests run on the runtime's event thread (<see cref="RunAsync{T}"/>); see docs/CONCURRENCY.md.</para>
/// </remarks>
public sealed class GroupCoordinator : IDisposable
{
    /// <summary>Kafka's <c>Topic.GROUP_METADATA_TOPIC_NAME</c>.</summary>
    public const string OffsetsTopic = "__consumer_offsets";


    private readonly CoordinatorRuntime<GroupCoordinatorShard, CoordinatorRecord> _runtime;
    private readonly MetadataCache _metadata;
    private readonly int _nodeId;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ITimer _retentionTimer;

    public GroupCoordinator(GroupCoordinatorConfig config, MetadataCache metadata, ReplicaManager replicas, LogMetadataPublisher logs,
        IController? controller, int nodeId, TimeProvider time, ILoggerFactory loggerFactory)
    {
        Config = config;
        _metadata = metadata;
        _nodeId = nodeId;
        _time = time;
        _logger = loggerFactory.CreateLogger("Samsa.GroupCoordinator");
        var options = new CoordinatorRuntimeOptions
        {
            Topic = OffsetsTopic,
            NumPartitions = config.OffsetsTopicNumPartitions,
            ReplicationFactor = config.OffsetsTopicReplicationFactor,
            TopicConfigs = new Dictionary<string, string>
            {
                ["cleanup.policy"] = "compact",
                ["compression.type"] = "producer",
                ["segment.bytes"] = config.OffsetsTopicSegmentBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            CommitTimeout = TimeSpan.FromMilliseconds(config.OffsetCommitTimeoutMs),
            ThreadName = "samsa-group-coordinator-event-handler",
        };
        _runtime = new CoordinatorRuntime<GroupCoordinatorShard, CoordinatorRecord>(options, CoordinatorRecordSerde.Instance,
            new ReplicaPartitionWriter(replicas, logs), metadata, NewShard, controller, nodeId, time, _logger);
        var interval = TimeSpan.FromMilliseconds(config.OffsetsRetentionCheckIntervalMs);
        _retentionTimer = time.CreateTimer(_ => ExpireOffsets(), null, interval, interval);
    }

    private GroupCoordinatorShard NewShard(CoordinatorContext<CoordinatorRecord> context)
    {
        var shard = new GroupCoordinatorShard(context, Config, _time, _logger);
        shard.UseMetadata(() => _metadata.Current);
        return shard;
    }

    public GroupCoordinatorConfig Config { get; }

    /// <summary>The shards this broker owns, by partition (loading or serving).</summary>
    public IReadOnlyDictionary<int, GroupCoordinatorShard> Shards => _runtime.Shards;

    /// <summary>Starts following the metadata: a shard for every led partition of <c>__consumer_offsets</c>.</summary>
    public void Start() => _runtime.Start();

    /// <summary>
    /// Kafka's <c>partitionFor</c>: <c>Utils.abs(groupId.hashCode()) % partitions</c>, with Java's
    /// <c>String.hashCode</c> over UTF-16 code units, so a group lands on the same partition as in Kafka.
    /// </summary>
    public int PartitionFor(string groupId) => _runtime.PartitionFor(groupId);

    public static int PartitionFor(string key, int partitions) => CoordinatorRuntime.PartitionFor(key, partitions);

    /// <summary>Java's <c>String.hashCode</c> (see <see cref="CoordinatorRuntime.JavaStringHashCode"/>).</summary>
    public static int JavaStringHashCode(string value) => CoordinatorRuntime.JavaStringHashCode(value);

    /// <summary>The shard owning <paramref name="groupId"/> and the error to answer when there is none or it is loading.</summary>
    public (GroupCoordinatorShard? Shard, ErrorCode Error) ShardFor(string groupId) => _runtime.ShardFor(PartitionFor(groupId));

    /// <summary>
    /// Runs a group request on the coordinator thread up to its first wait (a join phase, a commit); the wait does
    /// not hold the thread, and the caller resumes on the thread pool, never on the coordinator thread.
    /// </summary>
    public ValueTask<T> RunAsync<T>(Func<ValueTask<T>> operation, CancellationToken cancellationToken) => _runtime.RunAsync(operation, cancellationToken);

    /// <summary>Every committed offset of every loaded shard led here, read on the coordinator thread (lag monitoring).</summary>
    public ValueTask<List<CommittedOffset>> CommittedOffsetsAsync(CancellationToken cancellationToken) =>
        _runtime.RunAsync(() =>
        {
            var offsets = new List<CommittedOffset>();
            foreach (var shard in _runtime.Shards.Values)
            {
                if (shard.Context.Availability == ErrorCode.None)
                {
                    shard.CollectCommittedOffsets(offsets);
                }
            }
            return ValueTask.FromResult(offsets);
        }, cancellationToken);

    // ---- FindCoordinator ----

    /// <summary>How long the FindCoordinator that created the offsets topic waits for its group's shard to load.</summary>
    public static readonly TimeSpan FirstLoadWait = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The broker coordinating <paramref name="key"/>, as Kafka's <c>getCoordinator</c>: the leader of its partition
    /// of the internal topic. The offsets topic is created on first use (through the controller, like Kafka's
    /// auto-creation of internal topics); Kafka answers COORDINATOR_NOT_AVAILABLE while it does that, we wait for
    /// the creation and for the group's shard to load (bounded by <see cref="FirstLoadWait"/>) and answer with the
    /// leader straight away, which clients cannot tell from a quick retry. A creation that fails (replication
    /// factor above the live brokers) is COORDINATOR_NOT_AVAILABLE.
    /// <para>A coordinator is named only once its shard serves: naming a loading one sends the client's JoinGroup
    /// to COORDINATOR_LOAD_IN_PROGRESS, which some clients (kafkajs's first join) do not retry. COORDINATOR_NOT_AVAILABLE
    /// sends them back to FindCoordinator, which every client retries.</para>
    /// </summary>
    public async Task<(ErrorCode Error, string? Message, BrokerEndpoint? Endpoint, int NodeId)> FindGroupCoordinatorAsync(string key, string listenerName,
        CancellationToken cancellationToken)
    {
        var (error, message, created) = await _runtime.EnsureTopicAsync(cancellationToken);
        if (error != ErrorCode.None)
        {
            return (ErrorCode.CoordinatorNotAvailable, message, null, -1);
        }
        var image = _metadata.Current;
        var found = LeaderOf(image, OffsetsTopic, key, listenerName);
        if (found.Error != ErrorCode.None || found.NodeId != _nodeId)
        {
            return found;
        }
        var partition = PartitionFor(key, image.Topics[OffsetsTopic].Partitions.Length);
        var serving = created
            ? await _runtime.WaitUntilServingAsync(partition, FirstLoadWait, cancellationToken)
            : Shards.TryGetValue(partition, out var shard) && shard.State == ShardState.Active;
        return serving ? found : (ErrorCode.CoordinatorNotAvailable, null, null, -1);
    }

    /// <summary>The leader of <paramref name="key"/>'s partition of <paramref name="topic"/>, reachable on the listener.</summary>
    public static (ErrorCode Error, string? Message, BrokerEndpoint? Endpoint, int NodeId) LeaderOf(MetadataImage image, string topic, string key, string listenerName) =>
        CoordinatorRuntime.LeaderOf(image, topic, key, listenerName);

    // ---- Transactions ----

    /// <summary>
    /// Kafka's <c>GroupCoordinatorService.completeTransaction</c>: ends the producer's transaction on
    /// <c>__consumer_offsets</c>-<paramref name="partition"/> by appending its marker through the shard, so the
    /// pending offsets become committed (or are dropped) together with the log, under the shard's lock. Completes with
    /// None once the marker commits; NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS when the shard is not serving, or
    /// the append's error (INVALID_PRODUCER_EPOCH, TRANSACTION_COORDINATOR_FENCED, ...).
    /// </summary>
    public ValueTask<ErrorCode> CompleteTransactionAsync(int partition, long producerId, short producerEpoch, int coordinatorEpoch, bool commit,
        CancellationToken cancellationToken) =>
        _runtime.ScheduleTransactionCompletion(partition, producerId, producerEpoch, coordinatorEpoch, commit, cancellationToken);

    // ---- Retention ----

    /// <summary>Runs the offset retention check on every serving shard (also called by tests).</summary>
    public int ExpireOffsets()
    {
        var expired = 0;
        foreach (var shard in _runtime.Shards.Values)
        {
            try
            {
                expired += shard.ExpireOffsets();
            }
            catch (Exception e)
            {
                GroupLog.TimerFailed(_logger, "offset-expiry", shard.PartitionIndex, e);
            }
        }
        return expired;
    }

    public void Dispose()
    {
        _retentionTimer.Dispose();
        _runtime.Dispose();
    }
}

/// <summary>Kafka's key/value byte layout of <c>__consumer_offsets</c> records, for the runtime.</summary>
public sealed class CoordinatorRecordSerde : ICoordinatorSerde<CoordinatorRecord>
{
    public static readonly CoordinatorRecordSerde Instance = new();

    public (byte[] Key, byte[]? Value) Serialize(CoordinatorRecord record) => (record.KeyBytes(), record.ValueBytes());

    public CoordinatorRecord? Deserialize(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool valueIsNull) =>
        CoordinatorRecord.Parse(key, value, valueIsNull);
}
