using System.Collections.Immutable;
using Samsa.Metadata.Scram;
using Samsa.Protocol;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Metadata.Image;

/// <summary>
/// An immutable picture of cluster metadata at one offset of the metadata log (Kafka's <c>MetadataImage</c>).
/// Readers take the current image without locks; <see cref="MetadataDelta"/> replays records on top of an
/// image and builds the next one, which the one writer publishes whole.
/// </summary>
public sealed partial record MetadataImage(
    string ClusterId,
    int ControllerId,
    ImmutableSortedDictionary<int, BrokerRegistration> Brokers,
    ImmutableSortedDictionary<string, TopicImage> Topics)
{
    /// <summary>Offset of the last metadata record applied; -1 before any.</summary>
    public long Offset { get; init; } = -1;

    public ImmutableDictionary<Uuid, string> TopicNamesById { get; init; } = ImmutableDictionary<Uuid, string>.Empty;

    /// <summary>Dynamic configs by resource: topic configs, per-broker and cluster-default (name "") broker configs.</summary>
    public ImmutableDictionary<ConfigResource, ImmutableSortedDictionary<string, string>> Configs { get; init; } =
        ImmutableDictionary<ConfigResource, ImmutableSortedDictionary<string, string>>.Empty;

    /// <summary>Finalized feature levels (<c>metadata.version</c>, ...).</summary>
    public ImmutableSortedDictionary<string, short> Features { get; init; } = ImmutableSortedDictionary<string, short>.Empty;

    /// <summary>
    /// The first producer id of the next block the controller hands out (Kafka's <c>ProducerIdsImage</c>); 0 before
    /// any block. Every id below it has been given to some broker, so none is ever handed out twice.
    /// </summary>
    public long NextProducerId { get; init; }

    /// <summary>
    /// SCRAM credentials by user, then mechanism (Kafka's <c>ScramImage</c>): what SCRAM-SHA-256/512 logins are
    /// checked against, from UserScramCredentialRecord and RemoveUserScramCredentialRecord.
    /// </summary>
    public ImmutableSortedDictionary<string, ImmutableSortedDictionary<ScramMechanism, ScramCredential>> ScramCredentials { get; init; } =
        ImmutableSortedDictionary.Create<string, ImmutableSortedDictionary<ScramMechanism, ScramCredential>>(StringComparer.Ordinal);

    /// <summary>One user's credential for one mechanism, or null.</summary>
    public ScramCredential? ScramCredentialOf(string user, ScramMechanism mechanism) =>
        ScramCredentials.TryGetValue(user, out var byMechanism) && byMechanism.TryGetValue(mechanism, out var credential) ? credential : null;

    public static MetadataImage Empty(string clusterId) =>
        new(clusterId, -1, ImmutableSortedDictionary<int, BrokerRegistration>.Empty, ImmutableSortedDictionary.Create<string, TopicImage>(StringComparer.Ordinal));

    public MetadataImage WithBroker(BrokerRegistration broker) => this with { Brokers = Brokers.SetItem(broker.NodeId, broker) };

    public MetadataImage WithTopic(TopicImage topic) => this with
    {
        Topics = Topics.SetItem(topic.Name, topic),
        TopicNamesById = TopicNamesById.SetItem(topic.TopicId, topic.Name),
    };

    /// <summary>A partition's state, or null when the topic or that partition index does not exist.</summary>
    public PartitionImage? Partition(string topic, int partition) =>
        Topics.TryGetValue(topic, out var topicImage) && topicImage.HasPartition(partition) ? topicImage.Partitions[partition] : null;

    public TopicImage? TopicById(Uuid topicId) =>
        TopicNamesById.TryGetValue(topicId, out var name) && Topics.TryGetValue(name, out var topic) ? topic : null;

    /// <summary>The dynamic configs of one resource; empty when none are set.</summary>
    public ImmutableSortedDictionary<string, string> ConfigsOf(ConfigResource resource) =>
        Configs.TryGetValue(resource, out var configs) ? configs : ImmutableSortedDictionary<string, string>.Empty;

    public int PartitionCount => Topics.Values.Sum(t => t.Partitions.Length);

    /// <summary>
    /// The controller id told to clients: one of the live brokers they are given, since a client sends admin requests
    /// to that node and waits while it is not among them. <see cref="ControllerId"/> when it is live, otherwise any
    /// live broker (which forwards to the active controller, as Kafka's KRaft brokers report a random alive broker),
    /// -1 when none is.
    /// </summary>
    public int ControllerIdForClients(IReadOnlyList<int> liveBrokerIds) =>
        liveBrokerIds.Contains(ControllerId) ? ControllerId
        : liveBrokerIds.Count > 0 ? liveBrokerIds[Random.Shared.Next(liveBrokerIds.Count)]
        : -1;
}

/// <summary>Kafka's <c>ConfigResource.Type</c> values, as carried in DescribeConfigs/AlterConfigs and ConfigRecord.</summary>
public enum ConfigResourceType : sbyte
{
    Unknown = 0,
    Topic = 2,
    Broker = 4,
    BrokerLogger = 8,
    ClientMetrics = 16,
    Group = 32,
}

/// <summary>A config resource: type and name (a broker id as text, or "" for the cluster-wide broker default).</summary>
public readonly record struct ConfigResource(ConfigResourceType Type, string Name);

/// <summary>
/// A broker as registered (Kafka's <c>BrokerRegistration</c>): its id, one endpoint per advertised listener, rack,
/// and whether it is fenced. A broker registered through a RegisterBrokerRecord also has its epoch (the offset of
/// that record), its incarnation id, the features it supports and whether it is in controlled shutdown; the
/// combined node's own registration, placed in the image without a record, has epoch -1.
/// </summary>
public sealed record BrokerRegistration(int NodeId, ImmutableArray<BrokerEndpoint> Endpoints, string? Rack, bool Fenced = false)
{
    /// <summary>The offset of the broker's RegisterBrokerRecord; -1 for a registration made without one.</summary>
    public long Epoch { get; init; } = -1;

    /// <summary>The id of the broker process that registered (a new one at every start).</summary>
    public Uuid IncarnationId { get; init; } = Uuid.Zero;

    public bool InControlledShutdown { get; init; }

    /// <summary>The feature ranges the broker said it supports when it registered.</summary>
    public ImmutableArray<BrokerFeatureRange> SupportedFeatures { get; init; } = [];

    /// <summary>The directory ids of the broker's log dirs (RegisterBrokerRecord v3's LogDirs).</summary>
    public ImmutableArray<Uuid> LogDirs { get; init; } = [];

    /// <summary>Unfenced and not in controlled shutdown: may lead partitions and receive new replicas.</summary>
    public bool IsActive => !Fenced && !InControlledShutdown;

    public BrokerEndpoint? Endpoint(string listenerName) =>
        Endpoints.FirstOrDefault(e => e.ListenerName == listenerName) is { ListenerName: not null } found ? found : null;
}

public sealed record BrokerEndpoint(string ListenerName, string Host, int Port)
{
    /// <summary>Kafka's <c>SecurityProtocol</c> id (0 = PLAINTEXT), as carried in RegisterBrokerRecord.</summary>
    public short SecurityProtocol { get; init; }
}

/// <summary>A feature and the range of levels a broker supports.</summary>
public readonly record struct BrokerFeatureRange(string Name, short MinSupportedVersion, short MaxSupportedVersion);

/// <summary>A topic: name, id, internal flag, and partitions by index (index i holds partition i).</summary>
public sealed record TopicImage(string Name, Uuid TopicId, bool IsInternal, ImmutableArray<PartitionImage> Partitions)
{
    public int ReplicationFactor => Partitions.IsDefaultOrEmpty ? 0 : Partitions[0].Replicas.Length;

    public bool HasPartition(int partition) => partition >= 0 && partition < Partitions.Length;
}

/// <summary>One partition's leadership state, as in Kafka's <c>PartitionRegistration</c>.</summary>
public sealed record PartitionImage(
    int PartitionIndex,
    int Leader,
    int LeaderEpoch,
    ImmutableArray<int> Replicas,
    ImmutableArray<int> Isr,
    ImmutableArray<int> OfflineReplicas)
{
    public int PartitionEpoch { get; init; }

    public ImmutableArray<int> EligibleLeaderReplicas { get; init; } = [];

    public ImmutableArray<int> LastKnownElr { get; init; } = [];

    /// <summary>
    /// Kafka's <c>LeaderRecoveryState</c>: <see cref="Recovered"/> (0), or <see cref="Recovering"/> (1) after an unclean
    /// election until the new leader tells the controller, with AlterPartition, that it has recovered.
    /// </summary>
    public sbyte LeaderRecoveryState { get; init; }

    /// <summary>Replicas a reassignment is adding (in <see cref="Replicas"/> until it completes or is cancelled).</summary>
    public ImmutableArray<int> AddingReplicas { get; init; } = [];

    /// <summary>Replicas a reassignment is removing (in <see cref="Replicas"/> until it completes).</summary>
    public ImmutableArray<int> RemovingReplicas { get; init; } = [];

    /// <summary>Whether a reassignment is under way (Kafka's <c>isReassignmentInProgress</c>).</summary>
    public bool IsReassigning => AddingReplicas.Length > 0 || RemovingReplicas.Length > 0;

    public const sbyte Recovered = 0;

    public const sbyte Recovering = 1;

    /// <summary>
    /// This partition with <paramref name="change"/> applied (Kafka's <c>PartitionRegistration.merge</c>): absent
    /// fields stay; leader -2 and recovery state -1 mean unchanged; every change bumps the partition epoch and a
    /// leader change (even to the same leader) the leader epoch.
    /// </summary>
    public PartitionImage Merge(PartitionChangeRecord change)
    {
        var next = this with
        {
            Replicas = change.Replicas is null ? Replicas : [.. change.Replicas],
            Isr = change.Isr is null ? Isr : [.. change.Isr],
            EligibleLeaderReplicas = change.EligibleLeaderReplicas is null ? EligibleLeaderReplicas : [.. change.EligibleLeaderReplicas],
            LastKnownElr = change.LastKnownElr is null ? LastKnownElr : [.. change.LastKnownElr],
            AddingReplicas = change.AddingReplicas is null ? AddingReplicas : [.. change.AddingReplicas],
            RemovingReplicas = change.RemovingReplicas is null ? RemovingReplicas : [.. change.RemovingReplicas],
            LeaderRecoveryState = change.LeaderRecoveryState == -1 ? LeaderRecoveryState : change.LeaderRecoveryState,
            PartitionEpoch = PartitionEpoch + 1,
        };
        return change.Leader == -2 ? next : next with { Leader = change.Leader, LeaderEpoch = LeaderEpoch + 1 };
    }
}
