using System.Net;

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
/// </remarks>
internal sealed class ConnectionQuotas
{
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

    public ConnectionQuotas(int brokerMax, int defaultMaxPerIp, IReadOnlyDictionary<IPAddress, int> maxPerIpOverrides,
        IReadOnlyDictionary<string, int> listenerMax, string? interBrokerListener)
    {
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
    /// connection unless <paramref name="address"/> already holds its per-IP maximum. Returns -1 when the connection
    /// is admitted (release it with <see cref="Release"/>), else the per-IP limit it hit.
    /// </summary>
    /// <param name="onWait">Called once, under no lock, when the caller has to wait for a slot.</param>
    public async ValueTask<int> AcquireAsync(string listener, IPAddress address, Action? onWait, CancellationToken cancellationToken)
    {
        var waited = false;
        while (true)
        {
            Task released;
            lock (_lock)
            {
                if (SlotAvailable(listener))
                {
                    var count = _perIp.GetValueOrDefault(address);
                    var max = _maxPerIpOverrides.TryGetValue(address, out var own) ? own : _defaultMaxPerIp;
                    if (count >= max)
                    {
                        return max;
                    }
                    _perIp[address] = count + 1;
                    _perListener[listener]++;
                    _total++;
                    return -1;
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

    private bool SlotAvailable(string listener) =>
        _perListener[listener] < _listenerMax[listener] && (listener == _protectedListener || _total < _brokerMax);

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The address a connection is counted under: IPv4 clients of a dual-mode socket as plain IPv4, as the JVM reports them.</summary>
    public static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
