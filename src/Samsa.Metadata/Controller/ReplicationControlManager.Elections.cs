using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Metadata.Controller;

public static partial class ReplicationControlManager
{
    /// <summary>Kafka's <c>MAX_ELECTIONS_PER_IMBALANCE</c>: one periodic election pass commits at most this many changes.</summary>
    public const int MaxElectionsPerPass = 1_000;

    public const string UncleanLeaderElectionEnableConfig = "unclean.leader.election.enable";

    /// <summary>
    /// Kafka's <c>maybeElectUncleanLeaders</c>: every partition without a leader whose topic's effective
    /// <c>unclean.leader.election.enable</c> is true gets any active replica as leader, alone in the ISR and
    /// RECOVERING. The response is true when the pass stopped at <see cref="MaxElectionsPerPass"/> and more may wait.
    /// </summary>
    public static ControllerResult<bool> ElectUncleanLeaders(MetadataImage image, ControllerOptions options)
    {
        var records = new List<MetadataRecord>();
        foreach (var topic in image.Topics.Values)
        {
            if (!topic.Partitions.Any(p => p.Leader == NoLeader) || !UncleanLeaderElectionEnabled(image, topic.Name, options))
            {
                continue;
            }
            foreach (var partition in topic.Partitions)
            {
                if (records.Count >= MaxElectionsPerPass)
                {
                    return new ControllerResult<bool>(records, true);
                }
                if (partition.Leader == NoLeader
                    && new PartitionChangeBuilder(partition, topic.TopicId, r => IsActive(image, r)).WithElection(PartitionElection.Unclean).Build() is { } change)
                {
                    records.Add(MetadataRecord.Of(change));
                }
            }
        }
        return new ControllerResult<bool>(records, false);
    }

    /// <summary>
    /// When <paramref name="result"/> (an AlterConfigs decision) sets or removes <c>unclean.leader.election.enable</c>
    /// anywhere, the unclean elections that the new configs allow, appended to its records so they commit together:
    /// turning the config on brings leaderless partitions back at once, as Kafka's controller does.
    /// </summary>
    public static ControllerResult<T> WithUncleanElectionsAfterConfigChange<T>(MetadataImage image, ControllerResult<T> result, ControllerOptions options)
    {
        if (!result.Records.Any(r => r.Message is ConfigRecord { Name: UncleanLeaderElectionEnableConfig }))
        {
            return result;
        }
        var delta = new MetadataDelta(image);
        foreach (var record in result.Records)
        {
            delta.Replay(record, image.Offset + 1);
        }
        var elections = ElectUncleanLeaders(delta.Apply(), options);
        return elections.Records.Count == 0 ? result : new ControllerResult<T>([.. result.Records, .. elections.Records], result.Response);
    }
}
