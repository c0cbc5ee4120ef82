using System.Collections.Immutable;
using Samsa.Protocol;

namespace Samsa.Metadata;

/// <summary>
/// An immutable picture of cluster metadata at one point of the metadata log (Kafka's <c>MetadataImage</c>).
/// Readers take the current image without locks; a writer replaces it whole. Today the broker builds the first
/// image itself (this node, no topics); the metadata log will produce later images by replaying records.
/// </summary>
public sealed record MetadataImage(
    string ClusterId,
    int ControllerId,
    ImmutableSortedDictionary<int, BrokerRegistration> Brokers,
    ImmutableSortedDictionary<string, TopicImage> Topics)
{
    public static MetadataImage Empty(string clusterId) =>
        new(clusterId, -1, ImmutableSortedDictionary<int, BrokerRegistration>.Empty, ImmutableSortedDictionary.Create<string, TopicImage>(StringComparer.Ordinal));

    public MetadataImage WithBroker(BrokerRegistration broker) => this with { Brokers = Brokers.SetItem(broker.NodeId, broker) };

    public MetadataImage WithTopic(TopicImage topic) => this with { Topics = Topics.SetItem(topic.Name, topic) };

    public TopicImage? TopicById(Uuid topicId) => Topics.Values.FirstOrDefault(t => t.TopicId == topicId);
}

/// <summary>A broker as registered: its id, one endpoint per advertised listener, and rack.</summary>
public sealed record BrokerRegistration(int NodeId, ImmutableArray<BrokerEndpoint> Endpoints, string? Rack, bool Fenced = false)
{
    public BrokerEndpoint? Endpoint(string listenerName) =>
        Endpoints.FirstOrDefault(e => e.ListenerName == listenerName) is { ListenerName: not null } found ? found : null;
}

public sealed record BrokerEndpoint(string ListenerName, string Host, int Port);

/// <summary>A topic: name, id, internal flag, and partitions by index.</summary>
public sealed record TopicImage(string Name, Uuid TopicId, bool IsInternal, ImmutableArray<PartitionImage> Partitions);

/// <summary>One partition's leadership state, as in Kafka's <c>PartitionRegistration</c>.</summary>
public sealed record PartitionImage(
    int PartitionIndex,
    int Leader,
    int LeaderEpoch,
    ImmutableArray<int> Replicas,
    ImmutableArray<int> Isr,
    ImmutableArray<int> OfflineReplicas);
