using System.Diagnostics.Metrics;
using Samsa.Protocol;

namespace Samsa.Broker.Metrics;

/// <summary>
/// The broker's instruments: one <see cref="Meter"/> named <see cref="MeterName"/> per node, so <c>dotnet-counters</c>
/// and any OpenTelemetry pipeline see them, and the Prometheus endpoint (<see cref="MetricsHttpServer"/>) exports them.
/// </summary>
/// <remarks>
/// <para>Names are chosen so that OpenTelemetry's Prometheus exporter (dots become underscores, counters get
/// <c>_total</c>, no unit is set so no unit suffix is added) produces exactly the names the Prometheus JMX exporter's
/// standard Kafka rules give Kafka's MBeans: <c>kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec,topic=t</c> is
/// <c>kafka_server_brokertopicmetrics_bytesin_total{topic="t"}</c>. <c>MetricsEndpointTests</c> scrapes them.</para>
/// <para>Hot paths (an append, a fetched partition, a request) call <c>Add</c>/<c>Record</c> with tags whose values
/// are strings the caller already holds (the topic name) or cached here (API names, versions), so nothing is allocated
/// and no lock is taken per batch or request; with no listener (no <c>metrics.listener</c>) an instrument's
/// <c>Add</c> returns after one flag check.</para>
/// </remarks>
public sealed class BrokerMetrics : IDisposable
{
    /// <summary>The meter's name; a node's instruments are told apart from another node's in the same process by
    /// their <see cref="Meter"/> instance (<see cref="MetricsHttpServer"/> exports only its node's).</summary>
    public const string MeterName = "Samsa.Broker";

    /// <summary>Milliseconds; from 0.1 ms (a produce on loopback) to 30 s (a long-poll fetch, a rebalance).</summary>
    private static readonly double[] LatencyBucketsMs = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];

    private static readonly string[] ApiNames = BuildApiNames();
    private static readonly string[] VersionNames = [.. Enumerable.Range(0, 64).Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    private readonly Counter<long> _bytesIn;
    private readonly Counter<long> _messagesIn;
    private readonly Counter<long> _bytesOut;
    private readonly Counter<long> _replicationBytesOut;
    private readonly Counter<long> _totalProduceRequests;
    private readonly Counter<long> _failedProduceRequests;
    private readonly Counter<long> _bytesRejected;
    private readonly Counter<long> _totalFetchRequests;
    private readonly Counter<long> _failedFetchRequests;
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _totalTime;
    private readonly Histogram<double> _responseSendTime;
    private readonly Histogram<double> _requestQueueTime;
    private readonly Histogram<double> _localTime;
    private readonly Histogram<double> _remoteTime;
    private readonly Counter<long> _failedAuthentication;
    private readonly Counter<long> _successfulAuthentication;
    private readonly Counter<long> _connectionCreation;

    public BrokerMetrics(int nodeId)
    {
        Meter = new Meter(MeterName);
        NodeId = nodeId;
        _bytesIn = Meter.CreateCounter<long>("kafka.server.brokertopicmetrics.bytesin", null,
            "Kafka's BytesInPerSec: bytes of the record batches appended to this topic's partitions as leader (the batch bytes, as the produce request carried them).");
        _messagesIn = Meter.CreateCounter<long>("kafka.server.brokertopicmetrics.messagesin", null,
            "Kafka's MessagesInPerSec: records appended to this topic's partitions as leader.");
        _bytesOut = Meter.CreateCounter<long>("kafka.server.brokertopicmetrics.bytesout", null,
            "Kafka's BytesOutPerSec: record bytes of this topic sent to consumers (followers count under replicationbytesout).");
        _replicationBytesOut = Meter.CreateCounter<long>("kafka.server.brokertopicmetrics.replicationbytesout", null,
            "Kafka's ReplicationBytesOutPerSec: record bytes sent to follower brokers.");
        _totalProduceRequests = Meter.CreateCounter<long>("kafka.server.brokertopicmetrics.totalproducerequests", null,
            "Kafka's TotalProduceRequestsPerSec: partitions of produce requests that reached this broker's log append (after authorization and the request's own validation).");
        _failedProduceRequests = Meter.CreateCounter<long>("kafka.server.brokertopicmetrics.failedproducerequests", null,
            "Kafka's FailedProduceRequestsPerSec: of those, appends that failed for a reason other than leadership, an unknown partition, a too-large or corrupt batch or a storage error.");
        _bytesRejected = Meter.CreateCounter<long>("kafka.server.brokertopicmetrics.bytesrejected", null,
            "Kafka's BytesRejectedPerSec: bytes of record batches refused as larger than max.message.bytes.");
        _totalFetchRequests = Meter.CreateCounter<long>("kafka.server.brokertopicmetrics.totalfetchrequests", null,
            "Kafka's TotalFetchRequestsPerSec: partitions of fetch requests (consumers' and followers') read from this broker's log.");
        _failedFetchRequests = Meter.CreateCounter<long>("kafka.server.brokertopicmetrics.failedfetchrequests", null,
            "Kafka's FailedFetchRequestsPerSec: of those, reads that failed for a reason other than leadership, an unknown partition, an offset out of range or a storage error.");
        _requests = Meter.CreateCounter<long>("kafka.network.requestmetrics.requests", null,
            "Kafka's RequestsPerSec: requests received, by API and version.");
        _totalTime = Meter.CreateHistogram<double>("kafka.network.requestmetrics.totaltimems", null,
            "Kafka's TotalTimeMs: milliseconds from a request's last byte arriving to its response's last byte leaving (or, for acks=0, its handling ending).",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBucketsMs });
        _responseSendTime = Meter.CreateHistogram<double>("kafka.network.requestmetrics.responsesendtimems", null,
            "Kafka's ResponseSendTimeMs: milliseconds spent writing the response to the socket.",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBucketsMs });
        _requestQueueTime = Meter.CreateHistogram<double>("kafka.network.requestmetrics.requestqueuetimems", null,
            "Kafka's RequestQueueTimeMs: milliseconds from the request's last byte read to its handler starting (no queue in Samsa: the frame's copy out of the connection's buffer).",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBucketsMs });
        _localTime = Meter.CreateHistogram<double>("kafka.network.requestmetrics.localtimems", null,
            "Kafka's LocalTimeMs: milliseconds the handler worked on the request (its time less the remote time).",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBucketsMs });
        _remoteTime = Meter.CreateHistogram<double>("kafka.network.requestmetrics.remotetimems", null,
            "Kafka's RemoteTimeMs: milliseconds the request waited on others (acks=all for the ISR, a fetch long-poll, a rebalance for JoinGroup/SyncGroup, an offset commit for replication).",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBucketsMs });
        _failedAuthentication = Meter.CreateCounter<long>("kafka.server.socket_server_metrics.failed_authentication", null,
            "Kafka's failed-authentication-total: failed SASL exchanges and TLS handshakes, by listener.");
        _successfulAuthentication = Meter.CreateCounter<long>("kafka.server.socket_server_metrics.successful_authentication", null,
            "Kafka's successful-authentication-total: completed SASL exchanges, by listener.");
        _connectionCreation = Meter.CreateCounter<long>("kafka.server.socket_server_metrics.connection_creation", null,
            "Kafka's connection-creation-total: connections accepted, by listener.");
    }

    public Meter Meter { get; }

    public int NodeId { get; }

    /// <summary>A batch of <paramref name="records"/> records, <paramref name="bytes"/> long, appended to <paramref name="topic"/> as leader.</summary>
    public void RecordAppend(string topic, int bytes, int records)
    {
        if (_bytesIn.Enabled)
        {
            var tag = new KeyValuePair<string, object?>("topic", topic);
            _bytesIn.Add(bytes, tag);
            _messagesIn.Add(records, tag);
        }
    }

    /// <summary>Record bytes of <paramref name="topic"/> put in a fetch response: a consumer's count per topic, a follower's under replication.</summary>
    public void RecordFetched(string topic, int bytes, bool follower)
    {
        if (follower)
        {
            _replicationBytesOut.Add(bytes);
        }
        else
        {
            _bytesOut.Add(bytes, new KeyValuePair<string, object?>("topic", topic));
        }
    }

    /// <summary>
    /// One partition of a produce request reached the log append (Kafka's <c>ReplicaManager.appendToLocalLog</c>): counted
    /// in TotalProduceRequests, in FailedProduceRequests when <paramref name="failed"/>, and <paramref name="rejectedBytes"/>
    /// in BytesRejected.
    /// </summary>
    public void RecordProduce(string topic, bool failed, int rejectedBytes)
    {
        if (!_totalProduceRequests.Enabled)
        {
            return;
        }
        var tag = new KeyValuePair<string, object?>("topic", topic);
        _totalProduceRequests.Add(1, tag);
        if (failed)
        {
            _failedProduceRequests.Add(1, tag);
        }
        if (rejectedBytes > 0)
        {
            _bytesRejected.Add(rejectedBytes, tag);
        }
    }

    /// <summary>One partition of a fetch request read from the log (Kafka's <c>ReplicaManager.readFromLog</c>).</summary>
    public void RecordFetchRequest(string topic) => _totalFetchRequests.Add(1, new KeyValuePair<string, object?>("topic", topic));

    /// <summary>That read failed, other than for a routine reason (an offset out of range, a storage error): FailedFetchRequests.</summary>
    public void RecordFetchFailed(string topic) => _failedFetchRequests.Add(1, new KeyValuePair<string, object?>("topic", topic));

    /// <summary>
    /// One request handled: counted by API and version, with its time in Kafka's parts and their sum, TotalTimeMs
    /// (<see cref="System.Diagnostics.Stopwatch"/> ticks: these measure the real machine, as Kafka's request metrics do).
    /// A fetch is <c>FetchConsumer</c> or <c>FetchFollower</c>, never <c>Fetch</c>, as Kafka's <c>RequestChannel</c> names it.
    /// </summary>
    public void RecordRequest(short apiKey, short version, in RequestTimes times, bool fromFollower = false)
    {
        if (!_requests.Enabled || (uint)apiKey >= (uint)ApiNames.Length || ApiNames[apiKey] is not { } name)
        {
            return;
        }
        if (apiKey == (short)ApiKey.Fetch)
        {
            name = fromFollower ? "FetchFollower" : "FetchConsumer";
        }
        var request = new KeyValuePair<string, object?>("request", name);
        _requests.Add(1, request, new KeyValuePair<string, object?>("version", (uint)version < (uint)VersionNames.Length ? VersionNames[version] : "other"));
        _totalTime.Record(TicksToMs(times.QueueTicks + times.LocalTicks + times.RemoteTicks + times.SendTicks), request);
        _requestQueueTime.Record(TicksToMs(times.QueueTicks), request);
        _localTime.Record(TicksToMs(times.LocalTicks), request);
        _remoteTime.Record(TicksToMs(times.RemoteTicks), request);
        _responseSendTime.Record(TicksToMs(times.SendTicks), request);
    }

    public void RecordAuthentication(string listener, bool succeeded) =>
        (succeeded ? _successfulAuthentication : _failedAuthentication).Add(1, new KeyValuePair<string, object?>("listener", listener));

    public void RecordConnectionCreated(string listener) => _connectionCreation.Add(1, new KeyValuePair<string, object?>("listener", listener));

    /// <summary>Observable gauges read at scrape time; registered once the broker's parts exist.</summary>
    public void Observe(BrokerState state)
    {
        Meter.CreateObservableGauge("kafka.server.replicamanager.partitioncount", () => state.Partitions().Count(),
            null, "Kafka's PartitionCount: partitions hosted on this broker.");
        Meter.CreateObservableGauge("kafka.server.replicamanager.leadercount", () => state.Partitions().Count(p => p.IsLeader),
            null, "Kafka's LeaderCount: partitions this broker leads.");
        Meter.CreateObservableGauge("kafka.server.replicamanager.underreplicatedpartitions",
            () => state.Partitions().Count(p => p.IsLeader && p.Isr.Count < p.Replicas.Count),
            null, "Kafka's UnderReplicatedPartitions: led partitions whose ISR is smaller than their replica set.");
        Meter.CreateObservableGauge("kafka.controller.kafkacontroller.activecontrollercount", () => state.IsActiveController() ? 1 : 0,
            null, "Kafka's ActiveControllerCount: 1 on the active controller, else 0.");
        Meter.CreateObservableGauge("kafka.controller.kafkacontroller.offlinepartitionscount",
            () => state.IsActiveController() ? state.OfflinePartitions() : 0,
            null, "Kafka's OfflinePartitionsCount (reported by the active controller): partitions without a leader.");
        Meter.CreateObservableGauge("kafka.log.log.size", () => LogGauge(state, log => log.Size),
            null, "Kafka's Log Size: bytes of a partition's log on this broker.");
        Meter.CreateObservableGauge("kafka.log.log.logstartoffset", () => LogGauge(state, log => log.LogStartOffset),
            null, "Kafka's Log LogStartOffset: the first offset of a partition's log on this broker.");
        Meter.CreateObservableGauge("kafka.log.log.logendoffset", () => LogGauge(state, log => log.LogEndOffset),
            null, "Kafka's Log LogEndOffset: the offset after the last record of a partition's log on this broker.");
        Meter.CreateObservableGauge("kafka.log.log.numlogsegments", () => LogGauge(state, log => log.SegmentCount),
            null, "Kafka's Log NumLogSegments: segments of a partition's log on this broker.");
        Meter.CreateObservableGauge("kafka.server.socket_server_metrics.connection_count", () => ConnectionCounts(state),
            null, "Kafka's connection-count: open connections, by listener.");
        Meter.CreateObservableGauge("kafka.coordinator.group.groupmetadatamanager.numgroups", () => state.GroupCount(),
            null, "Kafka's NumGroups: groups held by the group coordinator partitions this broker leads.");
        foreach (var (name, groupState) in new[]
        {
            ("numgroupspreparingrebalance", Groups.ClassicGroupState.PreparingRebalance),
            ("numgroupscompletingrebalance", Groups.ClassicGroupState.CompletingRebalance),
            ("numgroupsstable", Groups.ClassicGroupState.Stable),
            ("numgroupsempty", Groups.ClassicGroupState.Empty),
            ("numgroupsdead", Groups.ClassicGroupState.Dead),
        })
        {
            Meter.CreateObservableGauge("kafka.coordinator.group.groupmetadatamanager." + name, () => state.GroupsInState(groupState),
                null, $"Kafka's NumGroups{groupState}: classic-protocol groups in state {groupState} (KIP-848 consumer groups are not counted here).");
        }
        Meter.CreateObservableGauge("kafka.coordinator.group.groupmetadatamanager.numoffsets", () => state.OffsetCount(),
            null, "Kafka's NumOffsets: committed offsets held by the group coordinator partitions this broker leads.");
        ObserveLag(state);
    }

    /// <summary>The client quota gauges (<see cref="QuotaMetrics"/>), read from the quotas' sensors at scrape time.</summary>
    public void ObserveQuotas(QuotaManagers quotas) => QuotaMetrics.Observe(Meter, quotas);

    /// <summary>
    /// kafka_exporter's lag gauges (<c>kafka_consumergroup_*</c>, <c>kafka_topic_partition_current_offset</c>) and
    /// burrow_exporter's status gauges (<c>kafka_burrow_*</c>, Burrow's status codes: 1 NOTFOUND, 2 OK, 3 WARN, 4 ERR,
    /// 5 STOP, 6 STALL, 7 REWIND), from the lag monitor's last sample of the groups this broker coordinates.
    /// </summary>
    private void ObserveLag(BrokerState state)
    {
        Meter.CreateObservableGauge("kafka.consumergroup.current_offset",
            () => LagMeasurements(state, (group, p) => new Measurement<long>(p.CommittedOffset, GroupPartitionTags(group, p))),
            null, "kafka_exporter's consumer group offset: the committed offset of a group's partition.");
        Meter.CreateObservableGauge("kafka.consumergroup.lag",
            () => LagMeasurements(state, (group, p) => new Measurement<long>(p.Lag, GroupPartitionTags(group, p))),
            null, "kafka_exporter's consumer group lag: a partition's high watermark less the group's committed offset.");
        Meter.CreateObservableGauge("kafka.consumergroup.lag_sum",
            () => (state.Lag() ?? EmptyLag).Values.Select(g => new Measurement<long>(g.TotalLag, new KeyValuePair<string, object?>("consumergroup", g.GroupId))),
            null, "kafka_exporter's consumer group lag summed over its partitions.");
        Meter.CreateObservableGauge("kafka.topic.partition.current_offset",
            () => state.Partitions().Where(p => p.IsLeader && p.HighWatermark >= 0).Select(p => new Measurement<long>(p.HighWatermark,
                new KeyValuePair<string, object?>("topic", p.Topic), new KeyValuePair<string, object?>("partition", NumberName(p.Index)))),
            null, "kafka_exporter's topic partition offset: the high watermark of a partition this broker leads.");
        Meter.CreateObservableGauge("kafka.burrow.status",
            () => (state.Lag() ?? EmptyLag).Values.Select(g => new Measurement<int>(BurrowCode(g.Status), new KeyValuePair<string, object?>("group", g.GroupId))),
            null, "burrow_exporter's group status by Burrow's rules: 2 OK, 3 WARN, 4 ERR.");
        Meter.CreateObservableGauge("kafka.burrow.partition_status",
            () => LagMeasurements(state, (group, p) => new Measurement<int>(BurrowCode(p.Status), new KeyValuePair<string, object?>("group", group),
                new KeyValuePair<string, object?>("topic", p.Topic), new KeyValuePair<string, object?>("partition", NumberName(p.Partition)))),
            null, "burrow_exporter's partition status by Burrow's rules: 2 OK, 3 WARN, 5 STOP, 6 STALL, 7 REWIND.");
        Meter.CreateObservableGauge("samsa.consumergroup.lag_alert",
            () => (state.Lag() ?? EmptyLag).Values.Select(g => new Measurement<int>(state.LagAlerting()?.Contains(g.GroupId) == true ? 1 : 0,
                new KeyValuePair<string, object?>("consumergroup", g.GroupId))),
            null, "1 while a group's total lag exceeds consumer.lag.alert.threshold, else 0.");
        // kafka-lag-exporter's time lag, with its label names (cluster_name is the cluster id, as Burrow's API names the
        // cluster); its member_host, consumer_id and client_id labels are not published.
        Meter.CreateObservableGauge("kafka.consumergroup.group_lag_seconds",
            () => LagMeasurements(state, (group, p) => new Measurement<double>(p.LagSeconds, new KeyValuePair<string, object?>("cluster_name", state.ClusterId),
                new KeyValuePair<string, object?>("group", group), new KeyValuePair<string, object?>("topic", p.Topic),
                new KeyValuePair<string, object?>("partition", NumberName(p.Partition)))),
            null, "kafka-lag-exporter's group time lag of a partition: seconds since the timestamp of the record at the committed offset (0 when caught up).");
        Meter.CreateObservableGauge("kafka.consumergroup.group_max_lag_seconds",
            () => (state.Lag() ?? EmptyLag).Values.Select(g => new Measurement<double>(g.MaxLagSeconds,
                new KeyValuePair<string, object?>("cluster_name", state.ClusterId), new KeyValuePair<string, object?>("group", g.GroupId))),
            null, "kafka-lag-exporter's max group time lag: the largest group_lag_seconds of the group's partitions.");
    }

    private static readonly IReadOnlyDictionary<string, Lag.GroupLag> EmptyLag = new Dictionary<string, Lag.GroupLag>();

    private static IEnumerable<Measurement<T>> LagMeasurements<T>(BrokerState state, Func<string, Lag.PartitionLag, Measurement<T>> measure)
        where T : struct
    {
        foreach (var group in (state.Lag() ?? EmptyLag).Values)
        {
            foreach (var partition in group.Partitions)
            {
                yield return measure(group.GroupId, partition);
            }
        }
    }

    private static ReadOnlySpan<KeyValuePair<string, object?>> GroupPartitionTags(string group, Lag.PartitionLag p) =>
        new KeyValuePair<string, object?>[]
        {
            new("consumergroup", group), new("topic", p.Topic), new("partition", NumberName(p.Partition)),
        };

    /// <summary>Burrow's numeric status codes, as burrow_exporter reports them.</summary>
    public static int BurrowCode(Lag.LagStatus status) => status switch
    {
        Lag.LagStatus.NotFound => 1,
        Lag.LagStatus.Ok => 2,
        Lag.LagStatus.Warn => 3,
        Lag.LagStatus.Err => 4,
        Lag.LagStatus.Stop => 5,
        Lag.LagStatus.Stall => 6,
        _ => 7,
    };

    private static IEnumerable<Measurement<long>> LogGauge(BrokerState state, Func<Samsa.Storage.PartitionLog, long> read)
    {
        foreach (var partition in state.Partitions())
        {
            if (partition.Log is { } log)
            {
                yield return new Measurement<long>(read(log), new KeyValuePair<string, object?>("topic", partition.Topic),
                    new KeyValuePair<string, object?>("partition", NumberName(partition.Index)));
            }
        }
    }

    private static IEnumerable<Measurement<int>> ConnectionCounts(BrokerState state)
    {
        foreach (var (listener, count) in state.Connections())
        {
            yield return new Measurement<int>(count, new KeyValuePair<string, object?>("listener", listener));
        }
    }

    private static string NumberName(int n) =>
        (uint)n < (uint)VersionNames.Length ? VersionNames[n] : n.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static double TicksToMs(long ticks) => ticks * 1000.0 / System.Diagnostics.Stopwatch.Frequency;

    private static string[] BuildApiNames()
    {
        var names = new string[ApiMessages.HighestApiKey + 1];
        for (var key = 0; key < names.Length; key++)
        {
            if (ApiMessages.IsDefined((short)key))
            {
                // Kafka's ApiKeys names (Produce, Fetch, ApiVersions, ...), as its request metrics tag them.
                names[key] = ((ApiKey)key).ToString();
            }
        }
        return names;
    }

    public void Dispose() => Meter.Dispose();
}

/// <summary>
/// One request's time in Kafka's parts, in <see cref="System.Diagnostics.Stopwatch"/> ticks: queue (frame read to
/// handler start), local (the handler working), remote (the handler waiting on others), send (writing the response).
/// Kafka's ThrottleTimeMs and ResponseQueueTimeMs have no counterpart (the throttle mute follows the response; there
/// is no response queue).
/// </summary>
public readonly record struct RequestTimes(long QueueTicks, long LocalTicks, long RemoteTicks, long SendTicks);

/// <summary>What the gauges read, as functions of the broker's parts (each safe to call from the scrape thread).</summary>
public sealed class BrokerState
{
    public required Func<IEnumerable<Cluster.Partition>> Partitions { get; init; }

    public required Func<bool> IsActiveController { get; init; }

    public required Func<int> OfflinePartitions { get; init; }

    public required Func<IEnumerable<KeyValuePair<string, int>>> Connections { get; init; }

    public required Func<int> GroupCount { get; init; }

    /// <summary>Classic groups in a state, over the coordinator partitions this broker leads.</summary>
    public Func<Groups.ClassicGroupState, int> GroupsInState { get; init; } = _ => 0;

    /// <summary>Committed offsets over the coordinator partitions this broker leads.</summary>
    public Func<int> OffsetCount { get; init; } = () => 0;

    /// <summary>The cluster id, the <c>cluster_name</c> label of kafka-lag-exporter's gauges.</summary>
    public string ClusterId { get; init; } = string.Empty;

    /// <summary>The lag monitor's last sample by group, or null when it does not run.</summary>
    public Func<IReadOnlyDictionary<string, Lag.GroupLag>?> Lag { get; init; } = () => null;

    /// <summary>Groups over <c>consumer.lag.alert.threshold</c>, or null when the monitor does not run.</summary>
    public Func<IReadOnlySet<string>?> LagAlerting { get; init; } = () => null;
}
