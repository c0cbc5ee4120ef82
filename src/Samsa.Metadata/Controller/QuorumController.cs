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
/// <para>Broker sessions (<see cref="ClusterControlManager"/>) are kept in this controller's memory only, as Kafka
/// keeps them: they start afresh for every registered broker at the first operation and at <see cref="ActivateAsync"/>.
/// Brokers that stop heartbeating are fenced by the task <see cref="StartPeriodicTasks"/> starts, which the node
/// starts once this controller is the active one.</para>
/// </remarks>
public sealed class QuorumController : IController, IDisposable
{
    private readonly EventQueue _events = new("samsa-controller-event-handler");
    private readonly IMetadataLog _log;
    private readonly MetadataCache _cache;
    private readonly ControllerOptions _options;
    private readonly ClusterControlManager _cluster;
    private readonly CancellationTokenSource _stopping = new();
    private Task? _periodicTasks;

    // The controller's image, uncommitted records included, and the last offset written: event queue thread only.
    private MetadataImage? _image;
    private long _lastWrittenOffset;

    // The epoch this controller is active in, -1 while it is not (a quorum's standby, or a new leader whose first
    // batch has not committed yet): event queue thread only. A single node's controller is always active, in epoch 0.
    private int _activeEpoch;

    // The epoch this node was told it leads, set on the log's thread: the controller claims it once that epoch's
    // LeaderChange batch commits, so its image then holds everything committed before (Kafka's claim on catch-up).
    private volatile int _claimEpoch = -1;

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
        _cluster = new ClusterControlManager(options);
        _lastWrittenOffset = log.EndOffset - 1;
        _committedOffset = _lastWrittenOffset;
        _activeEpoch = log.RequiresElection ? -1 : 0;
        log.Register(new MetadataLoader(log, cache));
        log.Register(new CommitListener(this));
    }

    public ControllerOptions Options => _options;

    /// <summary>Whether this controller is the active one (always, for a single node's own log).</summary>
    public bool IsActive => Volatile.Read(ref _activeEpoch) >= 0;

    /// <summary>Raised on the controller thread when it becomes active (with the epoch) or stops being active (-1).</summary>
    public event Action<int>? ActiveEpochChanged;

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
        WriteAsync(image => ReplicationControlManager.CreatePartitions(image, request, _options), cancellationToken);

    public Task<IncrementalAlterConfigsResponse> IncrementalAlterConfigsAsync(IncrementalAlterConfigsRequest request, CancellationToken cancellationToken) =>
        WriteAsync(image => ReplicationControlManager.WithUncleanElectionsAfterConfigChange(image, ConfigurationControlManager.IncrementalAlter(image, request, _options), _options), cancellationToken);

    public Task<AlterConfigsResponse> AlterConfigsAsync(AlterConfigsRequest request, CancellationToken cancellationToken) =>
        WriteAsync(image => ReplicationControlManager.WithUncleanElectionsAfterConfigChange(image, ConfigurationControlManager.LegacyAlter(image, request, _options), _options), cancellationToken);

    /// <summary>
    /// AllocateProducerIds: the next block of producer ids for a broker, committed before it is returned
    /// (<see cref="ProducerIdControlManager"/>).
    /// </summary>
    public Task<ProducerIdsAllocation> AllocateProducerIdsAsync(int brokerId, long brokerEpoch, CancellationToken cancellationToken) =>
        WriteAsync(image => ProducerIdControlManager.GenerateNextBlock(image, brokerId, brokerEpoch), cancellationToken);

    /// <summary>
    /// BrokerRegistration: a fenced RegisterBrokerRecord whose offset becomes the broker's epoch, or the error
    /// (<see cref="ClusterControlManager.RegisterBroker"/>).
    /// </summary>
    public Task<BrokerRegistrationResponse> RegisterBrokerAsync(BrokerRegistrationRequest request, CancellationToken cancellationToken) =>
        _events.RunAsync(() => Write((image, nextOffset) => _cluster.RegisterBroker(image, request, nextOffset)), cancellationToken).Unwrap();

    /// <summary>
    /// BrokerHeartbeat: renews the broker's session and fences, unfences or shuts it down as it asks and its progress
    /// allows (<see cref="ClusterControlManager.ProcessBrokerHeartbeat"/>); a heartbeat that changes nothing writes nothing.
    /// </summary>
    public Task<BrokerHeartbeatResponse> BrokerHeartbeatAsync(BrokerHeartbeatRequest request, CancellationToken cancellationToken) =>
        WriteAsync(image => _cluster.ProcessBrokerHeartbeat(image, request), cancellationToken);

    /// <summary>CreateAcls (<see cref="AclControlManager.CreateAcls"/>).</summary>
    public Task<CreateAclsResponse> CreateAclsAsync(CreateAclsRequest request, CancellationToken cancellationToken) =>
        WriteAsync(image => AclControlManager.CreateAcls(image, request), cancellationToken);

    /// <summary>DeleteAcls (<see cref="AclControlManager.DeleteAcls"/>).</summary>
    public Task<DeleteAclsResponse> DeleteAclsAsync(DeleteAclsRequest request, CancellationToken cancellationToken) =>
        WriteAsync(image => AclControlManager.DeleteAcls(image, request), cancellationToken);

    /// <summary>AlterPartition: the leader's ISR change, decided by <see cref="ReplicationControlManager.AlterPartition"/>.</summary>
    public Task<AlterPartitionResponse> AlterPartitionAsync(AlterPartitionRequest request, short version, CancellationToken cancellationToken) =>
        WriteAsync(image => ReplicationControlManager.AlterPartition(image, request, version, _options), cancellationToken);

    /// <summary>
    /// Call when this controller becomes the active one: every registered broker starts a fresh session from now, as
    /// heartbeats sent to an earlier active controller are not known here.
    /// </summary>
    public Task ActivateAsync(CancellationToken cancellationToken) =>
        _events.RunAsync(() =>
        {
            _cluster.Activate(Image());
            return true;
        }, cancellationToken);

    /// <summary>
    /// Fences, one after another, every broker whose session has expired, moving their leaderships; returns their ids.
    /// The periodic task calls this; tests may call it directly after moving a fake clock.
    /// </summary>
    public async Task<IReadOnlyList<int>> FenceStaleBrokersAsync(CancellationToken cancellationToken)
    {
        var fenced = new List<int>();
        while (await WriteAsync(_cluster.FenceOneStaleBroker, cancellationToken) is { } brokerId)
        {
            fenced.Add(brokerId);
        }
        return fenced;
    }

    /// <summary>
    /// ElectLeaders: PREFERRED or UNCLEAN elections (<see cref="ReplicationControlManager.ElectLeaders"/>); an empty
    /// (not null) partition list answers at once, as Kafka's controller does.
    /// </summary>
    public Task<ElectLeadersResponse> ElectLeadersAsync(ElectLeadersRequest request, short version, CancellationToken cancellationToken) =>
        request.TopicPartitions is { Count: 0 }
            ? Task.FromResult(new ElectLeadersResponse())
            : WriteAsync(image => ReplicationControlManager.ElectLeaders(image, request, version), cancellationToken);

    /// <summary>AlterPartitionReassignments (<see cref="ReplicationControlManager.AlterPartitionReassignments"/>).</summary>
    public Task<AlterPartitionReassignmentsResponse> AlterPartitionReassignmentsAsync(AlterPartitionReassignmentsRequest request, CancellationToken cancellationToken) =>
        WriteAsync(image => ReplicationControlManager.AlterPartitionReassignments(image, request, _options), cancellationToken);

    /// <summary>
    /// ListPartitionReassignments (<see cref="ReplicationControlManager.ListPartitionReassignments"/>), read on the
    /// controller thread once everything written before it has committed.
    /// </summary>
    public Task<ListPartitionReassignmentsResponse> ListPartitionReassignmentsAsync(ListPartitionReassignmentsRequest request, CancellationToken cancellationToken) =>
        WriteAsync(image => new ControllerResult<ListPartitionReassignmentsResponse>([], ReplicationControlManager.ListPartitionReassignments(image, request)), cancellationToken);

    /// <summary>AlterUserScramCredentials (<see cref="ScramControlManager.AlterCredentials"/>).</summary>
    public Task<AlterUserScramCredentialsResponse> AlterUserScramCredentialsAsync(AlterUserScramCredentialsRequest request, CancellationToken cancellationToken) =>
        WriteAsync(image => ScramControlManager.AlterCredentials(image, request), cancellationToken);

    /// <summary>AlterClientQuotas (<see cref="ClientQuotaControlManager.AlterClientQuotas"/>).</summary>
    public Task<AlterClientQuotasResponse> AlterClientQuotasAsync(AlterClientQuotasRequest request, CancellationToken cancellationToken) =>
        WriteAsync(image => ClientQuotaControlManager.AlterClientQuotas(image, request), cancellationToken);

    /// <summary>
    /// Moves leadership back to preferred replicas where they are in sync and active, in passes of at most
    /// <see cref="ReplicationControlManager.MaxElectionsPerPass"/>; returns how many partitions changed leader. The
    /// periodic task calls this every <c>leader.imbalance.check.interval.seconds</c> when
    /// <c>auto.leader.rebalance.enable</c> is true.
    /// </summary>
    public Task<int> BalancePartitionLeadersAsync(CancellationToken cancellationToken) =>
        RunPassesAsync(ReplicationControlManager.BalancePartitionLeaders, cancellationToken);

    private async Task<int> RunPassesAsync(Func<MetadataImage, ControllerResult<bool>> pass, CancellationToken cancellationToken)
    {
        var changed = 0;
        while (true)
        {
            var (count, more) = await WriteAsync(image =>
            {
                var result = pass(image);
                return new ControllerResult<(int, bool)>(result.Records, (result.Records.Count, result.Response));
            }, cancellationToken);
            changed += count;
            if (!more)
            {
                return changed;
            }
        }
    }

    /// <summary>
    /// Elects leaders for leaderless partitions whose topic allows unclean elections, in passes of at most
    /// <see cref="ReplicationControlManager.MaxElectionsPerPass"/>; returns how many partitions got a leader. The
    /// periodic task calls this every <see cref="ControllerOptions.UncleanLeaderElectionInterval"/>.
    /// </summary>
    public Task<int> ElectUncleanLeadersAsync(CancellationToken cancellationToken) =>
        RunPassesAsync(image => ReplicationControlManager.ElectUncleanLeaders(image, _options), cancellationToken);

    /// <summary>
    /// Starts the active controller's periodic tasks, on the node's clock: every
    /// <see cref="ControllerOptions.FenceStaleBrokerInterval"/> it fences the brokers whose
    /// <c>broker.session.timeout.ms</c> has passed without a heartbeat; every
    /// <see cref="ControllerOptions.UncleanLeaderElectionInterval"/> it runs unclean elections where topics allow them;
    /// with <see cref="ControllerOptions.AutoLeaderRebalanceEnable"/>, every
    /// <see cref="ControllerOptions.LeaderImbalanceCheckInterval"/> it moves leadership back to preferred replicas.
    /// They run until <see cref="Dispose"/>. Calling it again does nothing.
    /// </summary>
    public void StartPeriodicTasks()
    {
        if (_periodicTasks is null && Interlocked.CompareExchange(ref _periodicTasks, Task.CompletedTask, null) is null)
        {
            var stopping = _stopping.Token;
            List<Task> tasks =
            [
                Task.Run(() => RunPeriodicallyAsync(_options.FenceStaleBrokerInterval, FenceStaleBrokersAsync, stopping)),
                Task.Run(() => RunPeriodicallyAsync(_options.UncleanLeaderElectionInterval, ElectUncleanLeadersAsync, stopping)),
            ];
            if (_options.AutoLeaderRebalanceEnable)
            {
                tasks.Add(Task.Run(() => RunPeriodicallyAsync(_options.LeaderImbalanceCheckInterval, BalancePartitionLeadersAsync, stopping)));
            }
            _periodicTasks = Task.WhenAll(tasks);
        }
    }

    private async Task RunPeriodicallyAsync<T>(TimeSpan interval, Func<CancellationToken, Task<T>> task, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, _options.Time, stopping);
                await task(stopping);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (NotControllerException)
            {
                // A standby of a quorum: the active controller does this; this one waits for its turn.
            }
            catch (IOException)
            {
                // The metadata log failed: nothing more commits, so there is nothing more to do.
                return;
            }
        }
    }

    /// <summary>Runs one operation on the controller thread (decide, append, replay) and completes when it is committed.</summary>
    public Task<T> WriteAsync<T>(Func<MetadataImage, ControllerResult<T>> operation, CancellationToken cancellationToken) =>
        _events.RunAsync(() => Write((image, _) => operation(image)), cancellationToken).Unwrap();

    /// <summary>The controller's image; the first call takes the node's and starts the broker sessions.</summary>
    private MetadataImage Image()
    {
        if (_image is null)
        {
            _image = _cache.Current;
            _cluster.Activate(_image);
        }
        return _image;
    }

    /// <param name="operation">Decides on the image; the second argument is the offset its first record will get.</param>
    private Task<T> Write<T>(Func<MetadataImage, long, ControllerResult<T>> operation)
    {
        if (_activeEpoch < 0)
        {
            throw new NotControllerException($"Node {_options.NodeId} is not the active controller");
        }
        var image = Image();
        var result = operation(image, _lastWrittenOffset + 1);
        if (result.Records.Count > 0)
        {
            long lastOffset;
            try
            {
                lastOffset = _log.Append(result.Records, _activeEpoch);
            }
            catch (Quorum.NotLeaderException e)
            {
                Renounce();
                throw new NotControllerException(e.Message);
            }
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
                        done.TrySetException(error is NotControllerException ? error : new IOException("The metadata log failed before this change committed", error));
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

    /// <summary>
    /// Becomes the active controller of <paramref name="epoch"/>, whose LeaderChange batch ends at
    /// <paramref name="offset"/> and is committed: the node's image holds everything before it. Writes the bootstrap
    /// feature levels if the log has none yet (the first leader of a new cluster).
    /// </summary>
    private void Claim(int epoch, long offset)
    {
        if (_claimEpoch != epoch || _activeEpoch == epoch)
        {
            return;
        }
        Volatile.Write(ref _activeEpoch, epoch);
        // Rebuilt from the node's image at the next operation, which also starts every broker's session afresh.
        _image = null;
        _lastWrittenOffset = offset;
        ActiveEpochChanged?.Invoke(epoch);
        _ = Write((image, _) => new ControllerResult<bool>(FeatureControlManager.BootstrapRecords(image), true));
        if (_options.MaxIdleIntervalMs > 0)
        {
            _ = WriteNoOpsAsync(epoch);
        }
    }

    /// <summary>While active in <paramref name="epoch"/>, writes a NoOpRecord whenever nothing was written for metadata.max.idle.interval.ms.</summary>
    private async Task WriteNoOpsAsync(int epoch)
    {
        var interval = TimeSpan.FromMilliseconds(_options.MaxIdleIntervalMs);
        var lastSeen = -1L;
        while (true)
        {
            await Task.Delay(interval, _options.Time);
            var written = await _events.RunAsync(() =>
            {
                if (_activeEpoch != epoch)
                {
                    return false;
                }
                if (_lastWrittenOffset == lastSeen)
                {
                    _ = Write((_, _) => new ControllerResult<bool>([MetadataRecord.Of(new Protocol.MetadataRecords.NoOpRecord())], true));
                }
                lastSeen = _lastWrittenOffset;
                return true;
            }).ContinueWith(t => t.IsCompletedSuccessfully && t.Result, TaskScheduler.Default);
            if (!written)
            {
                return;
            }
        }
    }

    /// <summary>Stops being active: forgets the uncommitted image and fails the callers still waiting (their outcome is unknown, as in Kafka).</summary>
    private void Renounce()
    {
        if (_activeEpoch < 0)
        {
            return;
        }
        Volatile.Write(ref _activeEpoch, -1);
        _image = null;
        lock (_pendingLock)
        {
            while (_pending.TryDequeue(out var waiting))
            {
                waiting.Complete(new NotControllerException($"Node {_options.NodeId} stopped being the active controller before the change committed"));
            }
        }
        ActiveEpochChanged?.Invoke(-1);
    }

    /// <summary>The controller's ear on the log: completes the callers whose records are now committed, and follows leadership.</summary>
    private sealed class CommitListener(QuorumController controller) : IMetadataLogListener
    {
        public void HandleCommit(MetadataBatch batch)
        {
            controller.Committed(batch.LastOffset);
            if (batch.IsControl && batch.Epoch == controller._claimEpoch)
            {
                _ = controller._events.RunAsync(() =>
                {
                    controller.Claim(batch.Epoch, batch.LastOffset);
                    return true;
                });
            }
        }

        public void HandleFailure(Exception error) => controller.Failed(error);

        public void HandleLeaderChange(Quorum.LeaderAndEpoch leader)
        {
            controller._claimEpoch = leader.LeaderId == controller._options.NodeId ? leader.Epoch : -1;
            _ = controller._events.RunAsync(() =>
            {
                if (controller._activeEpoch >= 0 && controller._activeEpoch != controller._claimEpoch)
                {
                    controller.Renounce();
                }
                return true;
            });
        }
    }

    /// <summary>Stops the periodic task, finishes the operations already queued, then stops the controller thread.</summary>
    public void Dispose()
    {
        _stopping.Cancel();
        _events.Dispose();
    }
}

/// <summary>This node is not (or no longer) the active controller: the caller answers NOT_CONTROLLER and the sender retries elsewhere.</summary>
public sealed class NotControllerException(string message) : Exception(message);
