using Samsa.Metadata.Log;

namespace Samsa.Metadata.Image;

/// <summary>
/// Feeds a node's <see cref="MetadataCache"/> from the committed metadata log (Kafka's <c>MetadataLoader</c>): each
/// committed batch is replayed through a <see cref="MetadataDelta"/> onto the current image, the result is published,
/// and the log is offered the image for a snapshot. Only committed records reach the image a broker serves from; the
/// controller keeps its own image, ahead of this one by what it has appended and not yet seen committed.
/// </summary>
public sealed class MetadataLoader(IMetadataLog log, MetadataCache cache) : IMetadataLogListener
{
    public void HandleCommit(MetadataBatch batch)
    {
        if (batch.Records.Count == 0)
        {
            return; // a quorum's control batch: nothing for the image
        }
        var delta = new MetadataDelta(cache.Current);
        for (var i = 0; i < batch.Records.Count; i++)
        {
            delta.Replay(batch.Records[i], batch.BaseOffset + i);
        }
        var next = delta.Apply();
        cache.Publish(next);
        log.MaybeSnapshot(next);
    }

    public void HandleFailure(Exception error)
    {
        // Nothing more will be committed; the image stays at the last committed offset.
    }

    public void HandleLoadSnapshot(MetadataImage image) => cache.Publish(image with { ControllerId = cache.Current.ControllerId });
}

/// <summary>
/// Keeps the image's controller id on the quorum's leader, the node clients are told is the controller (Kafka's
/// brokers report the active controller the same way).
/// </summary>
public sealed class ControllerIdPublisher(MetadataCache cache) : IMetadataLogListener
{
    public void HandleCommit(MetadataBatch batch)
    {
    }

    public void HandleFailure(Exception error)
    {
    }

    public void HandleLeaderChange(Quorum.LeaderAndEpoch leader)
    {
        if (leader.LeaderId >= 0 && cache.Current.ControllerId != leader.LeaderId)
        {
            cache.Publish(cache.Current with { ControllerId = leader.LeaderId });
        }
    }
}
