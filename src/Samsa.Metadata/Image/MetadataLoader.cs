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
}
