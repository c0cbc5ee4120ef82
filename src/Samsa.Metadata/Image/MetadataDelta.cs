using System.Collections.Immutable;
using Samsa.Metadata.Log;
using Samsa.Protocol;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Metadata.Image;

/// <summary>
/// Changes on top of one <see cref="MetadataImage"/> (Kafka's <c>MetadataDelta</c>). <see cref="Replay"/> is the
/// only way cluster state changes: the controller replays the records it has just committed, the broker replays
/// the log and snapshots at start-up, and both then <see cref="Apply"/> to get the next immutable image.
/// Touched topics are copied into mutable builders once, so replaying N partition records costs O(N).
/// </summary>
public sealed partial class MetadataDelta(MetadataImage image)
{
    private readonly Dictionary<Uuid, TopicBuilder> _changedTopics = [];
    private readonly HashSet<Uuid> _removedTopics = [];
    private readonly Dictionary<ConfigResource, ImmutableSortedDictionary<string, string>.Builder> _changedConfigs = [];
    private ImmutableSortedDictionary<int, BrokerRegistration>.Builder? _brokers;
    private ImmutableSortedDictionary<string, short>.Builder? _features;
    private long _offset = image.Offset;
    private long _nextProducerId = image.NextProducerId;

    public MetadataImage Image { get; } = image;

    /// <summary>Applies one committed record at <paramref name="offset"/>.</summary>
    public void Replay(MetadataRecord record, long offset)
    {
        _offset = offset;
        switch (record.Message)
        {
            case TopicRecord topic:
                _removedTopics.Remove(topic.TopicId);
                _changedTopics[topic.TopicId] = new TopicBuilder(topic.Name, topic.TopicId, TopicName.IsInternal(topic.Name), []);
                break;
            case PartitionRecord partition:
                Topic(partition.TopicId).Partitions[partition.PartitionId] = new PartitionImage(
                    partition.PartitionId, partition.Leader, partition.LeaderEpoch, [.. partition.Replicas], [.. partition.Isr], [])
                {
                    PartitionEpoch = partition.PartitionEpoch,
                    EligibleLeaderReplicas = [.. partition.EligibleLeaderReplicas ?? []],
                    LastKnownElr = [.. partition.LastKnownElr ?? []],
                    LeaderRecoveryState = partition.LeaderRecoveryState,
                    AddingReplicas = [.. partition.AddingReplicas],
                    RemovingReplicas = [.. partition.RemovingReplicas],
                };
                break;
            case PartitionChangeRecord change:
                ReplayChange(change);
                break;
            case RemoveTopicRecord remove:
                _changedTopics.Remove(remove.TopicId);
                _removedTopics.Add(remove.TopicId);
                if (Image.TopicNamesById.TryGetValue(remove.TopicId, out var removedName))
                {
                    // A topic's configs go with it (Kafka's ConfigurationControlManager.deleteTopicConfigs).
                    Configs(new ConfigResource(ConfigResourceType.Topic, removedName)).Clear();
                }
                break;
            case ConfigRecord config:
                var configs = Configs(new ConfigResource((ConfigResourceType)config.ResourceType, config.ResourceName));
                if (config.Value is null)
                {
                    configs.Remove(config.Name);
                }
                else
                {
                    configs[config.Name] = config.Value;
                }
                break;
            case FeatureLevelRecord feature:
                _features ??= Image.Features.ToBuilder();
                if (feature.FeatureLevel == 0)
                {
                    _features.Remove(feature.Name);
                }
                else
                {
                    _features[feature.Name] = feature.FeatureLevel;
                }
                break;
            case RegisterBrokerRecord broker:
                _brokers ??= Image.Brokers.ToBuilder();
                // A new record replaces the registration whole: a new incarnation, or the same one registering again.
                _brokers[broker.BrokerId] = new BrokerRegistration(broker.BrokerId,
                    [.. broker.EndPoints.Select(e => new BrokerEndpoint(e.Name, e.Host, e.Port) { SecurityProtocol = e.SecurityProtocol })], broker.Rack, broker.Fenced)
                {
                    Epoch = broker.BrokerEpoch,
                    IncarnationId = broker.IncarnationId,
                    InControlledShutdown = broker.InControlledShutdown,
                    SupportedFeatures = [.. broker.Features.Select(f => new BrokerFeatureRange(f.Name, f.MinSupportedVersion, f.MaxSupportedVersion))],
                    LogDirs = [.. broker.LogDirs],
                };
                break;
            case UnregisterBrokerRecord unregister:
                RegisteredBroker(unregister.BrokerId, unregister.BrokerEpoch, record, offset);
                _brokers!.Remove(unregister.BrokerId);
                break;
            case FenceBrokerRecord fence:
                ChangeBroker(fence.Id, fence.Epoch, fenced: true, inControlledShutdown: null, record, offset);
                break;
            case UnfenceBrokerRecord unfence:
                ChangeBroker(unfence.Id, unfence.Epoch, fenced: false, inControlledShutdown: null, record, offset);
                break;
            case BrokerRegistrationChangeRecord change:
                ChangeBroker(change.BrokerId, change.BrokerEpoch, FencingChange(change, offset), ControlledShutdownChange(change, offset), record, offset);
                break;
            case ProducerIdsRecord producerIds:
                // Blocks only move forward (Kafka's ProducerIdControlManager.replay): a record that would hand out
                // ids again means the log is corrupt, and serving it would give two producers one id.
                if (producerIds.NextProducerId <= _nextProducerId)
                {
                    throw new InvalidOperationException(
                        $"ProducerIdsRecord at offset {offset} moves the next producer id back from {_nextProducerId} to {producerIds.NextProducerId}");
                }
                _nextProducerId = producerIds.NextProducerId;
                break;
            case AccessControlEntryRecord acl:
                ReplayAcl(acl);
                break;
            case RemoveAccessControlEntryRecord removeAcl:
                ReplayRemoveAcl(removeAcl, offset);
                break;
            case UserScramCredentialRecord scram:
                ReplayScram(scram);
                break;
            case RemoveUserScramCredentialRecord removeScram:
                ReplayScram(removeScram, offset);
                break;
            case ClientQuotaRecord quota:
                ReplayClientQuota(quota, offset);
                break;
            default:
                // NoOpRecord and record types this node does not act on yet leave the image as it is.
                break;
        }
    }

    /// <summary>
    /// The registration a broker record refers to. As Kafka's <c>ClusterControlManager.replay</c>, a record for a broker
    /// that is not registered, or for an epoch other than its current one, means the log is corrupt.
    /// </summary>
    private BrokerRegistration RegisteredBroker(int brokerId, long brokerEpoch, MetadataRecord record, long offset)
    {
        _brokers ??= Image.Brokers.ToBuilder();
        if (!_brokers.TryGetValue(brokerId, out var current))
        {
            throw new InvalidOperationException($"{record.Message.GetType().Name} at offset {offset}: no registration of broker {brokerId}");
        }
        if (current.Epoch != brokerEpoch)
        {
            throw new InvalidOperationException(
                $"{record.Message.GetType().Name} at offset {offset}: broker {brokerId} is registered with epoch {current.Epoch}, not {brokerEpoch}");
        }
        return current;
    }

    private void ChangeBroker(int brokerId, long brokerEpoch, bool? fenced, bool? inControlledShutdown, MetadataRecord record, long offset)
    {
        var current = RegisteredBroker(brokerId, brokerEpoch, record, offset);
        _brokers![brokerId] = current with
        {
            Fenced = fenced ?? current.Fenced,
            InControlledShutdown = inControlledShutdown ?? current.InControlledShutdown,
        };
    }

    /// <summary>Kafka's <c>BrokerRegistrationFencingChange</c>: 1 fences, -1 unfences, 0 leaves it.</summary>
    private static bool? FencingChange(BrokerRegistrationChangeRecord change, long offset) => change.Fenced switch
    {
        1 => true,
        -1 => false,
        0 => null,
        _ => throw new InvalidOperationException($"BrokerRegistrationChangeRecord at offset {offset} has unknown fenced value {change.Fenced}"),
    };

    /// <summary>Kafka's <c>BrokerRegistrationInControlledShutdownChange</c>: 1 enters controlled shutdown, 0 leaves it.</summary>
    private static bool? ControlledShutdownChange(BrokerRegistrationChangeRecord change, long offset) => change.InControlledShutdown switch
    {
        1 => true,
        0 => null,
        _ => throw new InvalidOperationException($"BrokerRegistrationChangeRecord at offset {offset} has unknown inControlledShutdown value {change.InControlledShutdown}"),
    };

    private void ReplayChange(PartitionChangeRecord change)
    {
        var partitions = Topic(change.TopicId).Partitions;
        if (!partitions.TryGetValue(change.PartitionId, out var current))
        {
            throw new InvalidOperationException($"PartitionChangeRecord for unknown partition {change.TopicId}-{change.PartitionId}");
        }
        var next = current.Merge(change);
        partitions[change.PartitionId] = next;
    }

    private TopicBuilder Topic(Uuid topicId)
    {
        if (_changedTopics.TryGetValue(topicId, out var builder))
        {
            return builder;
        }
        if (_removedTopics.Contains(topicId) || Image.TopicById(topicId) is not { } existing)
        {
            throw new InvalidOperationException($"Metadata record for unknown topic id {topicId}");
        }
        builder = new TopicBuilder(existing.Name, existing.TopicId, existing.IsInternal, existing.Partitions.ToDictionary(p => p.PartitionIndex));
        _changedTopics[topicId] = builder;
        return builder;
    }

    private ImmutableSortedDictionary<string, string>.Builder Configs(ConfigResource resource)
    {
        if (!_changedConfigs.TryGetValue(resource, out var builder))
        {
            builder = Image.ConfigsOf(resource).ToBuilder();
            _changedConfigs[resource] = builder;
        }
        return builder;
    }

    /// <summary>The image with every replayed record applied.</summary>
    public MetadataImage Apply()
    {
        var topics = Image.Topics;
        var ids = Image.TopicNamesById;
        if (_removedTopics.Count > 0 || _changedTopics.Count > 0)
        {
            var topicsBuilder = topics.ToBuilder();
            var idsBuilder = ids.ToBuilder();
            foreach (var removed in _removedTopics)
            {
                if (idsBuilder.TryGetValue(removed, out var name))
                {
                    topicsBuilder.Remove(name);
                    idsBuilder.Remove(removed);
                }
            }
            foreach (var changed in _changedTopics.Values)
            {
                var partitions = new PartitionImage[changed.Partitions.Count];
                foreach (var (index, partition) in changed.Partitions)
                {
                    if (index < 0 || index >= partitions.Length)
                    {
                        throw new InvalidOperationException($"Topic {changed.Name} has partition {index} but only {partitions.Length} partitions");
                    }
                    partitions[index] = partition;
                }
                topicsBuilder[changed.Name] = new TopicImage(changed.Name, changed.TopicId, changed.IsInternal, ImmutableArray.Create(partitions));
                idsBuilder[changed.TopicId] = changed.Name;
            }
            topics = topicsBuilder.ToImmutable();
            ids = idsBuilder.ToImmutable();
        }
        var configs = Image.Configs;
        if (_changedConfigs.Count > 0)
        {
            var configsBuilder = configs.ToBuilder();
            foreach (var (resource, builder) in _changedConfigs)
            {
                if (builder.Count == 0)
                {
                    configsBuilder.Remove(resource);
                }
                else
                {
                    configsBuilder[resource] = builder.ToImmutable();
                }
            }
            configs = configsBuilder.ToImmutable();
        }
        return Image with
        {
            Offset = _offset,
            Topics = topics,
            TopicNamesById = ids,
            Configs = configs,
            Brokers = _brokers?.ToImmutable() ?? Image.Brokers,
            Features = _features?.ToImmutable() ?? Image.Features,
            NextProducerId = _nextProducerId,
            Acls = ApplyAcls(),
            ScramCredentials = _scramCredentials?.ToImmutable() ?? Image.ScramCredentials,
            ClientQuotas = ApplyClientQuotas(),
        };
    }

    private sealed record TopicBuilder(string Name, Uuid TopicId, bool IsInternal, Dictionary<int, PartitionImage> Partitions);
}
