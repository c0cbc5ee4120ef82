using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Protocol.Messages;

namespace Samsa.Metadata.Controller;

/// <summary>
/// The active controller of a quorum of one (Kafka's <c>QuorumController</c>). Operations run one at a time: each
/// reads the controller's image, decides (records, response), appends the records to the metadata log and replays
/// them into the controller's image at once, so the next operation sees them; the caller gets the response only when
/// the log reports the records committed (STYLE 11). An operation that writes nothing still waits for everything
/// written before it to commit, so no answer rests on uncommitted state (Kafka's deferred event queue).
/// </summary>
/// <remarks>
/// Every operation runs on the controller's own <see cref="EventQueue"/> thread, as Kafka's controller runs on its
/// event queue; appending does not wait for an fsync. The log's flusher commits and tells its listeners in
/// registration order: first the node's <see cref="MetadataLoader"/>, which publishes the committed image to
/// the node's <see cref="MetadataCache"/> (making partition directories on the way), then this controller, which completes the
/// callers waiting for that offset. So a caller that reads the cache after its answer sees its change. The
/// controller's image starts as the node's image at its first operation (which holds this node's own registration).
/// </remarks>
public sealed class QuorumController : IController, IDisposable
{
    private readonly EventQueue _events = new("samsa-controller-event-handler");
    private readonly IMetadataLog _log;
    private readonly MetadataCache _cache;
    private readonly ControllerOptions _options;

    // The controller's image, uncommitted records included, and the last offset written: event queue thread only.
    private MetadataImage? _image;
    private long _lastWrittenOffset;

    // Callers waiting for a commit, in offset order. _pendingLock is a leaf.
    private readonly Lock _pendingLock = new();
    private readonly Queue<(long Offset, Action<Exception?> Complete)> _pending = new();
    private long _committedOffset;
    private Exception? _failure;

    public QuorumController(IMetadataLog log, MetadataCache cache, ControllerOptions options)
    {
        _log = log;
        _cache = cache;
        _options = options;
        _lastWrittenOffset = log.EndOffset - 1;
        _committedOffset = _lastWrittenOffset;
        log.Register(new MetadataLoader(log, cache));
        log.Register(new CommitListener(this));
    }

    public ControllerOptions Options => _options;

    /// <summary>Writes the bootstrap feature levels (metadata.version, group.version) the first time a log is used.</summary>
    public Task BootstrapAsync(CancellationToken cancellationToken) =>
        WriteAsync(image => new ControllerResult<bool>(FeatureControlManager.BootstrapRecords(image), true), cancellationToken);

    /// <summary>UpdateFeatures: every update applied in one commit, or none.</summary>
    public Task<ApiError> UpdateFeaturesAsync(IReadOnlyList<FeatureUpdate> updates, bool validateOnly, CancellationToken cancellationToken) =>
        WriteAsync(image => FeatureControlManager.Update(image, updates, validateOnly, _options.NodeId), cancellationToken);

    public Task<CreateTopicsResponse> CreateTopicsAsync(CreateTopicsRequest request, CancellationToken cancellationToken) =>
        WriteAsync(image => ReplicationControlManager.CreateTopics(image, request, _options), cancellationToken);

    public Task<DeleteTopicsResponse> DeleteTopicsAsync(DeleteTopicsRequest request, short version, CancellationToken cancellationToken) =>
        WriteAsync(image => ReplicationControlManager.DeleteTopics(image, request, version, _options), cancellationToken);

    public Task<CreatePartitionsResponse> CreatePartitionsAsync(CreatePartitionsRequest request, CancellationToken cancellationToken) =>
        WriteAsync(image => ReplicationControlManager.CreatePartitions(image, request), cancellationToken);

    public Task<IncrementalAlterConfigsResponse> IncrementalAlterConfigsAsync(IncrementalAlterConfigsRequest request, CancellationToken cancellationToken) =>
        WriteAsync(image => ConfigurationControlManager.IncrementalAlter(image, request, _options), cancellationToken);

    public Task<AlterConfigsResponse> AlterConfigsAsync(AlterConfigsRequest request, CancellationToken cancellationToken) =>
        WriteAsync(image => ConfigurationControlManager.LegacyAlter(image, request, _options), cancellationToken);

    /// <summary>
    /// AllocateProducerIds: the next block of producer ids for a broker, committed before it is returned
    /// (<see cref="ProducerIdControlManager"/>).
    /// </summary>
    public Task<ProducerIdsAllocation> AllocateProducerIdsAsync(int brokerId, long brokerEpoch, CancellationToken cancellationToken) =>
        WriteAsync(image => ProducerIdControlManager.GenerateNextBlock(image, brokerId, brokerEpoch), cancellationToken);

    /// <summary>Runs one operation on the controller thread (decide, append, replay) and completes when it is committed.</summary>
    public Task<T> WriteAsync<T>(Func<MetadataImage, ControllerResult<T>> operation, CancellationToken cancellationToken) =>
        _events.RunAsync(() => Write(operation), cancellationToken).Unwrap();

    private Task<T> Write<T>(Func<MetadataImage, ControllerResult<T>> operation)
    {
        var image = _image ??= _cache.Current;
        var result = operation(image);
        if (result.Records.Count > 0)
        {
            var lastOffset = _log.Append(result.Records);
            var firstOffset = lastOffset - result.Records.Count + 1;
            var delta = new MetadataDelta(image);
            for (var i = 0; i < result.Records.Count; i++)
            {
                delta.Replay(result.Records[i], firstOffset + i);
            }
            _image = delta.Apply();
            _lastWrittenOffset = lastOffset;
        }
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_pendingLock)
        {
            if (_failure is not null)
            {
                done.SetException(new IOException("The metadata log failed; nothing more commits", _failure));
            }
            else if (_committedOffset >= _lastWrittenOffset)
            {
                done.SetResult(result.Response);
            }
            else
            {
                var response = result.Response;
                _pending.Enqueue((_lastWrittenOffset, error =>
                {
                    if (error is null)
                    {
                        done.TrySetResult(response);
                    }
                    else
                    {
                        done.TrySetException(new IOException("The metadata log failed before this change committed", error));
                    }
                }
                ));
            }
        }
        return done.Task;
    }

    private void Committed(long offset)
    {
        lock (_pendingLock)
        {
            _committedOffset = offset;
            while (_pending.TryPeek(out var waiting) && waiting.Offset <= offset)
            {
                _pending.Dequeue().Complete(null);
            }
        }
    }

    private void Failed(Exception error)
    {
        lock (_pendingLock)
        {
            _failure = error;
            while (_pending.TryDequeue(out var waiting))
            {
                waiting.Complete(error);
            }
        }
    }

    /// <summary>The controller's ear on the log: completes the callers whose records are now committed.</summary>
    private sealed class CommitListener(QuorumController controller) : IMetadataLogListener
    {
        public void HandleCommit(MetadataBatch batch) => controller.Committed(batch.LastOffset);

        public void HandleFailure(Exception error) => controller.Failed(error);
    }

    /// <summary>Finishes the operations already queued, then stops the controller thread.</summary>
    public void Dispose() => _events.Dispose();
}
