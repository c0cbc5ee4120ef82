using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Protocol.Messages;

namespace Samsa.Metadata.Controller;

/// <summary>
/// The active controller of a quorum of one (Kafka's <c>QuorumController</c>). Operations run one at a time:
/// each reads the current image, decides (records, response), the records are committed to the metadata log,
/// replayed through a <see cref="MetadataDelta"/> into the next image, the image is published, and only then
/// does the caller get the response (STYLE 11). A later issue replaces the local log with the Raft quorum
/// behind the same <see cref="IMetadataLog"/>.
/// </summary>
/// <remarks>
/// Every operation runs on the controller's own <see cref="EventQueue"/> thread, as Kafka's controller runs on its
/// event queue: the commit fsyncs the metadata log, a snapshot writes and renames files, and publishing makes the
/// log manager create, close and rename partition directories. A request handler on a socket event thread only
/// enqueues and awaits, so none of that holds the thread every other connection on it is waiting for.
/// </remarks>
public sealed class QuorumController(IMetadataLog log, MetadataCache cache, ControllerOptions options) : IController, IDisposable
{
    private readonly EventQueue _events = new("samsa-controller-event-handler");

    public ControllerOptions Options => options;

    /// <summary>Writes the bootstrap feature levels (metadata.version, group.version) the first time a log is used.</summary>
    public Task BootstrapAsync(CancellationToken cancellationToken) =>
        WriteAsync(image => new ControllerResult<bool>(FeatureControlManager.BootstrapRecords(image), true), cancellationToken);

    /// <summary>UpdateFeatures: every update applied in one commit, or none.</summary>
    public Task<ApiError> UpdateFeaturesAsync(IReadOnlyList<FeatureUpdate> updates, bool validateOnly, CancellationToken cancellationToken) =>
        WriteAsync(image => FeatureControlManager.Update(image, updates, validateOnly, options.NodeId), cancellationToken);

    public Task<CreateTopicsResponse> CreateTopicsAsync(CreateTopicsRequest request, CancellationToken cancellationToken) =>
        WriteAsync(image => ReplicationControlManager.CreateTopics(image, request, options), cancellationToken);

    public Task<DeleteTopicsResponse> DeleteTopicsAsync(DeleteTopicsRequest request, short version, CancellationToken cancellationToken) =>
        WriteAsync(image => ReplicationControlManager.DeleteTopics(image, request, version, options), cancellationToken);

    public Task<CreatePartitionsResponse> CreatePartitionsAsync(CreatePartitionsRequest request, CancellationToken cancellationToken) =>
        WriteAsync(image => ReplicationControlManager.CreatePartitions(image, request), cancellationToken);

    public Task<IncrementalAlterConfigsResponse> IncrementalAlterConfigsAsync(IncrementalAlterConfigsRequest request, CancellationToken cancellationToken) =>
        WriteAsync(image => ConfigurationControlManager.IncrementalAlter(image, request, options), cancellationToken);

    public Task<AlterConfigsResponse> AlterConfigsAsync(AlterConfigsRequest request, CancellationToken cancellationToken) =>
        WriteAsync(image => ConfigurationControlManager.LegacyAlter(image, request, options), cancellationToken);

    /// <summary>
    /// AllocateProducerIds: the next block of producer ids for a broker, committed before it is returned
    /// (<see cref="ProducerIdControlManager"/>).
    /// </summary>
    public Task<ProducerIdsAllocation> AllocateProducerIdsAsync(int brokerId, long brokerEpoch, CancellationToken cancellationToken) =>
        WriteAsync(image => ProducerIdControlManager.GenerateNextBlock(image, brokerId, brokerEpoch), cancellationToken);

    /// <summary>Runs one operation on the controller thread: decide, commit, replay, publish, respond.</summary>
    public Task<T> WriteAsync<T>(Func<MetadataImage, ControllerResult<T>> operation, CancellationToken cancellationToken) =>
        _events.RunAsync(() => Write(operation), cancellationToken);

    private T Write<T>(Func<MetadataImage, ControllerResult<T>> operation)
    {
        var image = cache.Current;
        var result = operation(image);
        if (result.Records.Count > 0)
        {
            var lastOffset = log.Append(result.Records);
            var firstOffset = lastOffset - result.Records.Count + 1;
            var delta = new MetadataDelta(image);
            for (var i = 0; i < result.Records.Count; i++)
            {
                delta.Replay(result.Records[i], firstOffset + i);
            }
            var next = delta.Apply();
            cache.Publish(next);
            log.MaybeSnapshot(next);
        }
        return result.Response;
    }

    /// <summary>Finishes the operations already queued, then stops the controller thread.</summary>
    public void Dispose() => _events.Dispose();
}
