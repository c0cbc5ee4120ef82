using System.Net;
using Samsa.Metadata.Image;

namespace Samsa.Broker.Network;

/// <summary>
/// Kafka's <c>ConnectionQuotas</c>: counts open connections per IP, per listener and in total, and enforces
/// <c>max.connections.per.ip</c> (with its overrides), <c>listener.name.X.max.connections</c> and
/// <c>max.connections</c>.
/// </summary>
/// <remarks>
/// The two kinds of limit behave differently, as in Kafka. Over a listener's or the broker's limit the acceptor
/// waits (<see cref="AcquireAsync"/> does not return) until a connection closes, so newcomers queue in the
/// listen backlog instead of being refused. Over the per-IP limit the new connection is refused at once: the caller
/// closes it (Kafka's <c>TooManyConnectionsException</c>). The inter-broker listener is protected: when the server
/// has more than one listener it is held only to its own listener limit, not to <c>max.connections</c>, so brokers
/// can still reach each other when clients have used up the broker's connections.
/// One instance per socket server (Kafka's broker and controller each count their own listeners).
/// <para>
/// KIP-612's connection creation rates: each accepted connection is recorded against its listener's
/// <c>listener.name.X.max.connection.creation.rate</c> (by default <c>max.connection.creation.rate</c>) and, except on
/// the protected inter-broker listener, the broker's <c>max.connection.creation.rate</c>; over either the acceptor
/// holds the connection for the throttle time (bounded by one quota window, as Kafka bounds it) before it is served.
/// The rates are <see cref="Samsa.Broker.Quotas.QuotaSensor"/> token buckets over <c>quota.window.num</c> windows of
/// <c>quota.window.size.seconds</c> (Kafka uses a windowed <c>Rate</c>).
/// </para>
/// <para>
/// KIP-612's per-IP <c>connection_creation_rate</c> client quotas (<see cref="IpConnectionRates"/>), on every listener
/// including the inter-broker one, as Kafka: once a slot is free the connection is recorded against its address's
/// rate; over it, the connection is taken back from the address's, the listener's and the broker's rates and refused
/// with the throttle time (Kafka's <c>ConnectionThrottledException</c>). The acceptor does not serve it and closes it
/// only after that time, so a client that reconnects at once is slowed down, and moves on to the next connection.
/// </para>
/// </remarks>
internal sealed class ConnectionQuotas
{
    // Sensors (QuotaSensor, each locking itself) may be recorded under _lock; nothing else is taken under it.
    private readonly object _lock = new();
    private readonly int _brokerMax;
    private readonly int _defaultMaxPerIp;
    private readonly IReadOnlyDictionary<IPAddress, int> _maxPerIpOverrides;
    private readonly Dictionary<string, int> _listenerMax;
    private readonly string? _protectedListener;
    private readonly Dictionary<IPAddress, int> _perIp = [];
    private readonly Dictionary<string, int> _perListener = new(StringComparer.Ordinal);
    private int _total;
    private TaskCompletionSource _released = NewSignal();
    private readonly Samsa.Broker.Quotas.QuotaSensor? _brokerRate;
    private readonly Dictionary<string, Samsa.Broker.Quotas.QuotaSensor> _listenerRate = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly long _maxThrottleMs;
    private readonly IpConnectionRates? _ipRates;

    /// <param name="brokerRate">max.connection.creation.rate; int.MaxValue for none.</param>
    /// <param name="listenerRate">Each listener's creation rate; int.MaxValue (or absent) for none.</param>
    /// <param name="image">The current metadata image, whose ip client quotas set the per-IP creation rates; null for none.</param>
    public ConnectionQuotas(int brokerMax, int defaultMaxPerIp, IReadOnlyDictionary<IPAddress, int> maxPerIpOverrides,
        IReadOnlyDictionary<string, int> listenerMax, string? interBrokerListener,
        int brokerRate = int.MaxValue, IReadOnlyDictionary<string, int>? listenerRate = null, int samples = 11, int windowSeconds = 1, TimeProvider? time = null,
        Func<MetadataImage>? image = null)
    {
        _time = time ?? TimeProvider.System;
        _maxThrottleMs = windowSeconds * 1000L;
        _ipRates = image is null ? null : new IpConnectionRates(image, samples, windowSeconds);
        if (brokerRate < int.MaxValue)
        {
            _brokerRate = new Samsa.Broker.Quotas.QuotaSensor(samples, windowSeconds * 1000L) { Quota = brokerRate };
        }
        foreach (var (listener, rate) in listenerRate ?? new Dictionary<string, int>())
        {
            if (rate < int.MaxValue)
            {
                _listenerRate[listener] = new Samsa.Broker.Quotas.QuotaSensor(samples, windowSeconds * 1000L) { Quota = rate };
            }
        }
        _brokerMax = brokerMax;
        _defaultMaxPerIp = defaultMaxPerIp;
        _maxPerIpOverrides = maxPerIpOverrides;
        _listenerMax = new Dictionary<string, int>(listenerMax, StringComparer.Ordinal);
        foreach (var listener in listenerMax.Keys)
        {
            _perListener[listener] = 0;
        }
        _protectedListener = listenerMax.Count > 1 && interBrokerListener is not null && listenerMax.ContainsKey(interBrokerListener) ? interBrokerListener : null;
    }

    /// <summary>Completes at the next <see cref="Release"/>.</summary>
    public Task NextRelease
    {
        get
        {
            lock (_lock)
            {
                return _released.Task;
            }
        }
    }

    /// <summary>Open connections counted here.</summary>
    public int Total
    {
        get
        {
            lock (_lock)
            {
                return _total;
            }
        }
    }

    /// <summary>
    /// Waits for a free slot on <paramref name="listener"/> (listener and broker-wide limits), then counts the
    /// connection unless <paramref name="address"/> is over its connection_creation_rate or already holds its per-IP
    /// maximum. When admitted, release the connection with <see cref="Release"/>.
    /// </summary>
    /// <param name="onWait">Called once, under no lock, when the caller has to wait for a slot.</param>
    /// <param name="onThrottle">Called with the throttle time when a connection creation rate holds the connection.</param>
    public async ValueTask<ConnectionAdmission> AcquireAsync(string listener, IPAddress address, Action? onWait, CancellationToken cancellationToken, Action<int>? onThrottle = null)
    {
        var waited = false;
        // Kafka's waitForConnectionSlot: the connection counts against the creation rates first, then waits out their throttle.
        if (RecordConnectionAndGetThrottleTimeMs(listener) is > 0 and var throttleMs)
        {
            onThrottle?.Invoke(throttleMs);
            await Task.Delay(TimeSpan.FromMilliseconds(throttleMs), _time, cancellationToken);
        }
        while (true)
        {
            Task released;
            lock (_lock)
            {
                if (SlotAvailable(listener))
                {
                    if (RecordIpConnectionOrThrottle(listener, address) is > 0 and var ipThrottleMs)
                    {
                        return ConnectionAdmission.Throttled(ipThrottleMs);
                    }
                    var count = _perIp.GetValueOrDefault(address);
                    var max = _maxPerIpOverrides.TryGetValue(address, out var own) ? own : _defaultMaxPerIp;
                    if (count >= max)
                    {
                        return ConnectionAdmission.OverIpLimit(max);
                    }
                    _perIp[address] = count + 1;
                    _perListener[listener]++;
                    _total++;
                    return ConnectionAdmission.Admitted;
                }
                released = _released.Task;
            }
            if (!waited)
            {
                waited = true;
                onWait?.Invoke();
            }
            await released.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Uncounts a connection admitted by <see cref="AcquireAsync"/> and wakes acceptors waiting for a slot.</summary>
    public void Release(string listener, IPAddress address)
    {
        TaskCompletionSource released;
        lock (_lock)
        {
            if (_perIp.TryGetValue(address, out var count))
            {
                if (count <= 1)
                {
                    _perIp.Remove(address);
                }
                else
                {
                    _perIp[address] = count - 1;
                }
            }
            _perListener[listener] = Math.Max(0, _perListener[listener] - 1);
            _total = Math.Max(0, _total - 1);
            released = _released;
            _released = NewSignal();
        }
        released.TrySetResult();
    }

    /// <summary>Kafka's <c>recordConnectionAndGetThrottleTimeMs</c>: the longer of the listener's and the broker's throttles.</summary>
    private int RecordConnectionAndGetThrottleTimeMs(string listener)
    {
        var listenerSensor = _listenerRate.GetValueOrDefault(listener);
        var brokerSensor = listener == _protectedListener ? null : _brokerRate;
        if (listenerSensor is null && brokerSensor is null)
        {
            return 0;
        }
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        return Math.Max(listenerSensor?.RecordAndGetThrottleTimeMs(1, nowMs, _maxThrottleMs) ?? 0,
            brokerSensor?.RecordAndGetThrottleTimeMs(1, nowMs, _maxThrottleMs) ?? 0);
    }

    /// <summary>
    /// Kafka's <c>recordIpConnectionMaybeThrottle</c> with its <c>updateListenerMetrics</c>: the throttle time when
    /// <paramref name="address"/> is over its connection_creation_rate, having taken the connection back from the
    /// listener's and the broker's creation rates too (it will not be served), else 0. Called under the lock.
    /// </summary>
    private int RecordIpConnectionOrThrottle(string listener, IPAddress address)
    {
        if (_ipRates is null)
        {
            return 0;
        }
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var throttleMs = _ipRates.RecordOrThrottle(address, nowMs, _maxThrottleMs);
        if (throttleMs > 0)
        {
            _listenerRate.GetValueOrDefault(listener)?.Unrecord(1, nowMs);
            if (listener != _protectedListener)
            {
                _brokerRate?.Unrecord(1, nowMs);
            }
        }
        return throttleMs;
    }

    private bool SlotAvailable(string listener) =>
        _perListener[listener] < _listenerMax[listener] && (listener == _protectedListener || _total < _brokerMax);

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The address a connection is counted under: IPv4 clients of a dual-mode socket as plain IPv4, as the JVM reports them.</summary>
    public static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}

/// <summary>What <see cref="ConnectionQuotas.AcquireAsync"/> decided for one accepted connection.</summary>
/// <param name="PerIpLimit">The <c>max.connections.per.ip</c> limit the address already holds, or -1.</param>
/// <param name="ThrottleMs">How long to hold the refused connection before closing it (over its IP's connection_creation_rate), or 0.</param>
internal readonly record struct ConnectionAdmission(int PerIpLimit, int ThrottleMs)
{
    public static ConnectionAdmission Admitted => new(-1, 0);

    public bool IsAdmitted => PerIpLimit < 0 && ThrottleMs == 0;

    public static ConnectionAdmission OverIpLimit(int max) => new(max, 0);

    public static ConnectionAdmission Throttled(int throttleMs) => new(-1, throttleMs);
}
