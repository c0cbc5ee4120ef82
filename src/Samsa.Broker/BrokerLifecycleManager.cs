using Microsoft.Extensions.Logging;
using Samsa.Metadata.Controller;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker;

/// <summary>What a broker tells the controller about itself when it registers.</summary>
public sealed record BrokerLifecycleOptions
{
    public required int NodeId { get; init; }

    public required string ClusterId { get; init; }

    /// <summary>This process's incarnation: a new one at every start, so the controller can tell a restart from a retry.</summary>
    public Uuid IncarnationId { get; init; } = Uuid.Random();

    /// <summary>The broker's advertised listeners (name, host, port, security protocol id), with bound ports.</summary>
    public required IReadOnlyList<BrokerRegistrationRequest.Listener> Listeners { get; init; }

    public string? Rack { get; init; }

    /// <summary>The features this broker supports (e.g. from <see cref="FeatureControlManager.Supported"/>).</summary>
    public IReadOnlyList<BrokerRegistrationRequest.Feature> Features { get; init; } = [];

    /// <summary>The directory ids of the broker's log dirs.</summary>
    public IReadOnlyList<Uuid> LogDirs { get; init; } = [];

    /// <summary>broker.heartbeat.interval.ms.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromMilliseconds(2000);

    /// <summary>initial.broker.registration.timeout.ms: how long registration is retried before the broker gives up.</summary>
    public TimeSpan InitialRegistrationTimeout { get; init; } = TimeSpan.FromMilliseconds(60_000);

    /// <summary>The wait between failed registration attempts, and between heartbeats during controlled shutdown.</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long <see cref="BrokerLifecycleManager.DisposeAsync"/> waits for the controller to let the broker go.</summary>
    public TimeSpan ControlledShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Ask to stay fenced until <see cref="BrokerLifecycleManager.SetReadyToUnfence"/> (Kafka's broker does so until its
    /// logs are loaded against a caught-up image); false: ask to be unfenced as soon as caught up.
    /// </summary>
    public bool UnfenceWhenReady { get; init; }
}

/// <summary>
/// The broker's side of its life in the cluster (Kafka's <c>BrokerLifecycleManager</c>): registers with the active
/// controller, retrying until it succeeds or <c>initial.broker.registration.timeout.ms</c> passes, then heartbeats every
/// <c>broker.heartbeat.interval.ms</c> with the metadata offset it has replayed, so the controller unfences it once
/// it has caught up with its own registration and keeps its session alive. Disposing it asks for a controlled
/// shutdown (WantShutDown) and waits, bounded, for the controller to move the broker's leaderships away and answer
/// ShouldShutDown.
/// </summary>
/// <remarks>
/// One loop does all the talking, on the injected <see cref="TimeProvider"/>; the state it learns is read from any
/// thread. Heartbeat errors are logged and the next heartbeat tried, as Kafka's broker does: NOT_CONTROLLER is retried
/// by the <see cref="IController"/> itself, and a broker fenced for silence is unfenced by its next heartbeat.
/// The broker asks to be unfenced as soon as it is caught up (Kafka's broker first waits for its log manager to be
/// ready; a node that needs that can start this manager once it is).
/// </remarks>
public sealed class BrokerLifecycleManager : IAsyncDisposable
{
    private readonly IController _controller;
    private readonly BrokerLifecycleOptions _options;
    private readonly Func<long> _metadataOffset;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource<long> _registered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _caughtUp = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _unfenced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _loop = Task.CompletedTask;
    private long _brokerEpoch = -1;
    private volatile bool _fenced = true;
    private volatile bool _shouldShutDown;
    private int _started;
    private int _disposed;

    /// <param name="controller">The active controller as this node reaches it (a <c>RemoteController</c> on a broker-only node).</param>
    /// <param name="metadataOffset">The offset of the last metadata record this broker has replayed and published.</param>
    public BrokerLifecycleManager(IController controller, BrokerLifecycleOptions options, Func<long> metadataOffset, TimeProvider time, ILogger logger)
    {
        _controller = controller;
        _options = options;
        _metadataOffset = metadataOffset;
        _time = time;
        _logger = logger;
    }

    public Uuid IncarnationId => _options.IncarnationId;

    /// <summary>The epoch the controller gave this broker's registration; -1 before it is registered.</summary>
    public long BrokerEpoch => Interlocked.Read(ref _brokerEpoch);

    /// <summary>As of the last heartbeat answer: true until the controller unfences the broker, and again if it fences it.</summary>
    public bool IsFenced => _fenced;

    /// <summary>The controller has let this broker shut down.</summary>
    public bool ShouldShutDown => _shouldShutDown;

    /// <summary>Completes with the broker epoch once registered; fails once the initial registration timeout passes.</summary>
    public Task<long> Registered => _registered.Task;

    /// <summary>Completes when the controller first reports the broker caught up with its registration.</summary>
    public Task CaughtUp => _caughtUp.Task;

    private volatile bool _readyToUnfence;

    /// <summary>The broker's logs are loaded: the next heartbeats ask to be unfenced.</summary>
    public void SetReadyToUnfence()
    {
        _readyToUnfence = true;
        // Heartbeat now rather than at the next interval: the broker is waiting to serve.
        Volatile.Read(ref _wake).TrySetResult();
    }

    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the broker is first unfenced; fails when registration does.</summary>
    public Task Unfenced => _unfenced.Task;

    /// <summary>Starts registering, then heartbeating. Calling it again does nothing.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            _loop = Task.Run(() => RunAsync(_stopping.Token));
        }
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        try
        {
            if (!await RegisterAsync(stopping))
            {
                return;
            }
            while (!stopping.IsCancellationRequested)
            {
                await HeartbeatAsync(wantShutDown: false, stopping);
                var wake = Volatile.Read(ref _wake).Task;
                await Task.WhenAny(Task.Delay(_options.HeartbeatInterval, _time, stopping), wake);
                stopping.ThrowIfCancellationRequested();
                if (wake.IsCompleted)
                {
                    Volatile.Write(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Disposed: the controlled shutdown takes over.
        }
        finally
        {
            _registered.TrySetCanceled(CancellationToken.None);
            _caughtUp.TrySetCanceled(CancellationToken.None);
            _unfenced.TrySetCanceled(CancellationToken.None);
        }
    }

    private async Task<bool> RegisterAsync(CancellationToken stopping)
    {
        var started = _time.GetTimestamp();
        for (var attempt = 1; ; attempt++)
        {
            string failure;
            try
            {
                var response = await _controller.RegisterBrokerAsync(RegistrationRequest(), stopping);
                if (response.ErrorCode == (short)ErrorCode.None)
                {
                    Interlocked.Exchange(ref _brokerEpoch, response.BrokerEpoch);
                    LifecycleLog.Registered(_logger, _options.NodeId, response.BrokerEpoch, _options.IncarnationId.ToString());
                    _registered.TrySetResult(response.BrokerEpoch);
                    return true;
                }
                failure = ((ErrorCode)response.ErrorCode).ToString();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                failure = e.Message;
            }
            if (_time.GetElapsedTime(started) >= _options.InitialRegistrationTimeout)
            {
                var error = new TimeoutException(
                    $"Broker {_options.NodeId} was not registered within {_options.InitialRegistrationTimeout.TotalMilliseconds} ms (initial.broker.registration.timeout.ms); last failure: {failure}");
                LifecycleLog.RegistrationFailed(_logger, _options.NodeId, attempt, failure);
                _registered.TrySetException(error);
                _caughtUp.TrySetException(error);
                _unfenced.TrySetException(error);
                return false;
            }
            LifecycleLog.RegistrationRetried(_logger, _options.NodeId, attempt, failure);
            await Task.Delay(_options.RetryBackoff, _time, stopping);
        }
    }

    private BrokerRegistrationRequest RegistrationRequest() => new()
    {
        BrokerId = _options.NodeId,
        ClusterId = _options.ClusterId,
        IncarnationId = _options.IncarnationId,
        Listeners = [.. _options.Listeners],
        Features = [.. _options.Features],
        Rack = _options.Rack,
        LogDirs = [.. _options.LogDirs],
        PreviousBrokerEpoch = -1,
    };

    /// <summary>Sends one heartbeat and takes in its answer; false when it failed (logged).</summary>
    private async Task<bool> HeartbeatAsync(bool wantShutDown, CancellationToken cancellationToken)
    {
        var request = new BrokerHeartbeatRequest
        {
            BrokerId = _options.NodeId,
            BrokerEpoch = BrokerEpoch,
            CurrentMetadataOffset = _metadataOffset(),
            WantFence = _options.UnfenceWhenReady && !_readyToUnfence,
            WantShutDown = wantShutDown,
        };
        try
        {
            var response = await _controller.BrokerHeartbeatAsync(request, cancellationToken);
            if (response.ErrorCode != (short)ErrorCode.None)
            {
                LifecycleLog.HeartbeatFailed(_logger, _options.NodeId, ((ErrorCode)response.ErrorCode).ToString());
                return false;
            }
            if (response.IsCaughtUp)
            {
                _caughtUp.TrySetResult();
            }
            if (_fenced != response.IsFenced)
            {
                LifecycleLog.FencingChanged(_logger, _options.NodeId, response.IsFenced);
            }
            _fenced = response.IsFenced;
            if (!response.IsFenced)
            {
                _unfenced.TrySetResult();
            }
            _shouldShutDown = response.ShouldShutDown;
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LifecycleLog.HeartbeatFailed(_logger, _options.NodeId, e.Message);
            return false;
        }
    }

    /// <summary>
    /// Stops the heartbeat loop and, when registered, asks for a controlled shutdown: heartbeats with WantShutDown
    /// until the controller answers ShouldShutDown or <see cref="BrokerLifecycleOptions.ControlledShutdownTimeout"/> passes.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _stopping.Cancel();
        await _loop;
        if (BrokerEpoch < 0)
        {
            return;
        }
        using var deadline = new CancellationTokenSource(_options.ControlledShutdownTimeout, _time);
        try
        {
            while (!(await HeartbeatAsync(wantShutDown: true, deadline.Token) && _shouldShutDown))
            {
                await Task.Delay(_options.RetryBackoff, _time, deadline.Token);
            }
            LifecycleLog.ControlledShutdownGranted(_logger, _options.NodeId);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            LifecycleLog.ControlledShutdownTimedOut(_logger, _options.NodeId, (long)_options.ControlledShutdownTimeout.TotalMilliseconds);
        }
    }
}

internal static partial class LifecycleLog
{
    [LoggerMessage(EventId = 900, Level = LogLevel.Information, Message = "Broker {NodeId} registered with broker epoch {BrokerEpoch} (incarnation {IncarnationId})")]
    public static partial void Registered(ILogger logger, int nodeId, long brokerEpoch, string incarnationId);

    [LoggerMessage(EventId = 901, Level = LogLevel.Warning, Message = "Broker {NodeId} registration attempt {Attempt} failed: {Failure}; retrying")]
    public static partial void RegistrationRetried(ILogger logger, int nodeId, int attempt, string failure);

    [LoggerMessage(EventId = 902, Level = LogLevel.Error, Message = "Broker {NodeId} gave up registering after {Attempt} attempts: {Failure}")]
    public static partial void RegistrationFailed(ILogger logger, int nodeId, int attempt, string failure);

    [LoggerMessage(EventId = 903, Level = LogLevel.Warning, Message = "Broker {NodeId} heartbeat failed: {Failure}")]
    public static partial void HeartbeatFailed(ILogger logger, int nodeId, string failure);

    [LoggerMessage(EventId = 904, Level = LogLevel.Information, Message = "Broker {NodeId} is now fenced: {Fenced}")]
    public static partial void FencingChanged(ILogger logger, int nodeId, bool fenced);

    [LoggerMessage(EventId = 905, Level = LogLevel.Information, Message = "Broker {NodeId} controlled shutdown granted by the controller")]
    public static partial void ControlledShutdownGranted(ILogger logger, int nodeId);

    [LoggerMessage(EventId = 906, Level = LogLevel.Warning, Message = "Broker {NodeId} controlled shutdown not granted within {TimeoutMs} ms; shutting down anyway")]
    public static partial void ControlledShutdownTimedOut(ILogger logger, int nodeId, long timeoutMs);
}
