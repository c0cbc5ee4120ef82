using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Samsa.Broker.Config;
using Samsa.Storage;

namespace Samsa.Broker.Network;

/// <summary>A listener after binding: its name and the address it really listens on (port 0 resolved).</summary>
public sealed record BoundEndpoint(string ListenerName, SecurityProtocol SecurityProtocol, IPEndPoint EndPoint)
{
    public int Port => EndPoint.Port;
}

/// <summary>
/// Kafka's <c>SocketServer</c>: binds every configured listener, accepts connections within the connection quotas
/// and runs one <see cref="KafkaConnection"/> per client, each independent of the others; closes idle ones.
/// </summary>
public sealed class SocketServer : IAsyncDisposable
{
    private readonly KafkaConfig _config;
    private readonly IRequestHandler _handler;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<(Socket Socket, BoundEndpoint Bound, Task AcceptLoop)> _listeners = [];
    private readonly Dictionary<string, ConnectionQuotas> _quotas = new(StringComparer.Ordinal);
    private Task _idleSweep = Task.CompletedTask;
    private readonly HashSet<int> _started = []; // indexes of _listeners that accept
    private readonly TimeProvider _time;
    private readonly RateLimitedLog _blockedLog;
    private readonly RateLimitedLog _rateLog;
    private readonly RateLimitedLog _descriptorsLog;
    private readonly FileDescriptorBudget _descriptors = FileDescriptorBudget.ForThisProcess();
    private readonly ConcurrentDictionary<KafkaConnection, Task> _connections = new();
    // Connections refused over their IP's connection_creation_rate, each closed when its throttle time is up.
    private readonly ConcurrentDictionary<Socket, Task> _throttled = new();
    private readonly Func<Samsa.Metadata.Image.MetadataImage>? _image;
    private long _connectionIndex;
    private int _disposed;

    private readonly Samsa.Broker.Security.ListenerSecurity _security;

    private readonly Samsa.Broker.Metrics.BrokerMetrics? _metrics;

    private SocketServer(KafkaConfig config, IRequestHandler handler, ILoggerFactory loggerFactory, TimeProvider time, Samsa.Broker.Security.ListenerSecurity security,
        Samsa.Broker.Metrics.BrokerMetrics? metrics, Func<Samsa.Metadata.Image.MetadataImage>? image)
    {
        _image = image;
        _metrics = metrics;
        _security = security;
        _time = time;
        _blockedLog = new(time, TimeSpan.FromSeconds(10));
        _rateLog = new(time, TimeSpan.FromSeconds(10));
        _descriptorsLog = new(time, TimeSpan.FromSeconds(1));
        _config = config;
        _handler = handler;
        _logger = loggerFactory.CreateLogger("Samsa.Network");
    }

    public IReadOnlyList<BoundEndpoint> BoundEndpoints => _listeners.Select(l => l.Bound).ToArray();

    /// <summary>
    /// Binds every listener in <c>listeners</c> without accepting yet, so the caller can learn the real ports (port 0)
    /// before the first request arrives. A bind failure releases the ones already bound.
    /// </summary>
    /// <param name="security">Each listener's TLS and SASL set-up; by default built from <paramref name="config"/> without SASL.</param>
    /// <param name="metrics">The node's instruments (connections, requests, authentications); null measures nothing.</param>
    /// <param name="image">The node's current metadata image, whose ip client quotas (connection_creation_rate) the acceptors enforce; null enforces none.</param>
    public static async Task<SocketServer> BindAsync(KafkaConfig config, IRequestHandler handler, ILoggerFactory loggerFactory, TimeProvider? time = null,
        Samsa.Broker.Security.ListenerSecurity? security = null, Samsa.Broker.Metrics.BrokerMetrics? metrics = null,
        Func<Samsa.Metadata.Image.MetadataImage>? image = null)
    {
        var server = new SocketServer(config, handler, loggerFactory, time ?? TimeProvider.System, security ?? Samsa.Broker.Security.ListenerSecurity.Create(config, null),
            metrics, image);
        try
        {
            foreach (var endpoint in config.Listeners)
            {
                await server.BindAsync(endpoint);
            }
            await server.CreateQuotasAsync();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    private async Task BindAsync(Endpoint endpoint)
    {
        var address = await ResolveBindAddressAsync(endpoint.Host);
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }
            socket.Bind(new IPEndPoint(address, endpoint.Port));
            socket.Listen(_config.SocketListenBacklogSize);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new IOException($"Failed to bind listener {endpoint}: {e.Message}", e);
        }
        var bound = new BoundEndpoint(endpoint.ListenerName, endpoint.SecurityProtocol, (IPEndPoint)socket.LocalEndPoint!);
        NetworkLog.ListenerBound(_logger, endpoint.ListenerName, bound.EndPoint);
        _listeners.Add((socket, bound, Task.CompletedTask));
    }

    /// <summary>
    /// One <see cref="ConnectionQuotas"/> for the broker's listeners and one for the controller's, as Kafka's broker
    /// and controller socket servers each count their own. Override hosts resolve once, here, as Kafka resolves them
    /// when it builds its quotas.
    /// </summary>
    private async Task CreateQuotasAsync()
    {
        var overrides = new Dictionary<IPAddress, int>();
        foreach (var (host, max) in _config.MaxConnectionsPerIpOverrides)
        {
            IPAddress address;
            try
            {
                address = await ResolveBindAddressAsync(host);
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                throw ConfigException.InvalidValue("max.connections.per.ip.overrides", host, $"{host} does not resolve to an address");
            }
            overrides[ConnectionQuotas.Normalize(address)] = max;
        }
        var interBroker = _config.GetString("inter.broker.listener.name")?.ToUpperInvariant() ?? _config.GetString("security.inter.broker.protocol");
        foreach (var group in _listeners.Select(l => l.Bound.ListenerName).GroupBy(name => _config.ControllerListenerNames.Contains(name)))
        {
            var listenerMax = group.ToDictionary(name => name, _config.ListenerMaxConnections, StringComparer.Ordinal);
            // KIP-612: a listener's creation rate is its listener.name.X.max.connection.creation.rate, else the broker's.
            var brokerRate = _config.GetInt("max.connection.creation.rate");
            var listenerRate = group.ToDictionary(name => name, _config.ListenerMaxConnectionCreationRate, StringComparer.Ordinal);
            var quotas = new ConnectionQuotas(_config.MaxConnections, _config.MaxConnectionsPerIp, overrides, listenerMax, interBroker,
                brokerRate, listenerRate, _config.GetInt("quota.window.num"), _config.GetInt("quota.window.size.seconds"), _time, _image);
            foreach (var name in group)
            {
                _quotas[name] = quotas;
            }
        }
    }

    /// <summary>
    /// Starts accepting connections on the bound listeners <paramref name="which"/> selects (default: all) that do not
    /// accept yet, and the idle-connection sweep. A broker in a quorum starts its controller listeners first and the
    /// others once it is unfenced (Kafka's early-start listeners); until then clients wait in the accept backlog.
    /// </summary>
    public void Start(Func<BoundEndpoint, bool>? which = null)
    {
        for (var i = 0; i < _listeners.Count; i++)
        {
            var (socket, bound, _) = _listeners[i];
            if ((which is not null && !which(bound)) || !_started.Add(i))
            {
                continue;
            }
            var quotas = _quotas[bound.ListenerName];
            _listeners[i] = (socket, bound, Task.Run(() => AcceptLoopAsync(socket, bound, quotas)));
        }
        if (_config.ConnectionsMaxIdleMs >= 0 && _idleSweep == Task.CompletedTask)
        {
            _idleSweep = IdleSweepAsync(_config.ConnectionsMaxIdleMs);
        }
    }

    private static async Task<IPAddress> ResolveBindAddressAsync(string host)
    {
        if (host.Length == 0)
        {
            return Socket.OSSupportsIPv6 ? IPAddress.IPv6Any : IPAddress.Any;
        }
        if (IPAddress.TryParse(host, out var literal))
        {
            return literal;
        }
        var addresses = await Dns.GetHostAddressesAsync(host);
        // Prefer IPv4, as the JVM does by default, so "localhost" means 127.0.0.1.
        return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
            ?? addresses.FirstOrDefault()
            ?? throw new IOException($"Listener host {host} does not resolve to any address");
    }

    /// <summary>
    /// Kafka's <c>Acceptor</c>: accept, take a quota slot (waiting while the listener or the broker is full, so
    /// newcomers wait in the listen backlog), refuse an IP over its limit or its connection creation rate, then hand
    /// the socket to its connection.
    /// </summary>
    /// <remarks>
    /// When accept itself fails for want of resources (EMFILE/ENFILE: no file descriptor left) the pending connection
    /// stays queued and the next accept fails at once, so the loop backs off, doubling a short pause up to half a
    /// second, and reports at most once a second with the number of failures in between. Connections already open
    /// are served meanwhile; as soon as one closes and frees a descriptor, the queued ones are accepted. Kafka's
    /// acceptor logs every failure and retries after its next select, which returns at once in this state.
    /// </remarks>
    private async Task AcceptLoopAsync(Socket listenSocket, BoundEndpoint bound, ConnectionQuotas quotas)
    {
        var failures = new AcceptFailures(_time);
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listenSocket.AcceptAsync(_stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || _stopping.IsCancellationRequested)
            {
                break;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset)
            {
                // The peer gave up before accept completed; nothing is short, keep accepting.
                NetworkLog.AcceptAborted(_logger, bound.ListenerName, e.SocketErrorCode);
                continue;
            }
            catch (SocketException e)
            {
                var delay = failures.Failed(out var report, out var suppressed);
                if (report)
                {
                    NetworkLog.AcceptFailed(_logger, bound.ListenerName, e.Message, e.SocketErrorCode, suppressed, (long)delay.TotalMilliseconds);
                }
                try
                {
                    await Task.Delay(delay, _time, _stopping.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                continue;
            }
            failures.Succeeded();
            if (_descriptors.NearLimit(client) && !await WaitForDescriptorsAsync(bound, quotas))
            {
                client.Dispose();
                break;
            }
            if (!await AdmitAsync(client, bound, quotas))
            {
                break;
            }
        }
        NetworkLog.ListenerStopped(_logger, bound.ListenerName, bound.EndPoint);
    }

    /// <summary>
    /// Holds the acceptor while the process is within its descriptor reserve (<see cref="FileDescriptorBudget"/>):
    /// the socket just accepted waits unserved, the next ones wait in the backlog, until a connection closes or
    /// descriptors free up otherwise (checked every half second). False when the server is stopping.
    /// </summary>
    private async ValueTask<bool> WaitForDescriptorsAsync(BoundEndpoint bound, ConnectionQuotas quotas)
    {
        if (_descriptorsLog.ShouldLog(out var suppressed))
        {
            NetworkLog.DescriptorsExhausted(_logger, bound.ListenerName, _descriptors.Limit, _descriptors.Reserve, suppressed);
        }
        while (!_descriptors.HasHeadroom())
        {
            try
            {
                await Task.WhenAny(quotas.NextRelease, Task.Delay(TimeSpan.FromMilliseconds(500), _time, _stopping.Token));
            }
            catch (OperationCanceledException)
            {
                return false;
            }
            if (_stopping.IsCancellationRequested)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Takes a quota slot for an accepted socket and starts its connection; false when the server is stopping.</summary>
    private async ValueTask<bool> AdmitAsync(Socket client, BoundEndpoint bound, ConnectionQuotas quotas)
    {
        IPAddress address;
        try
        {
            address = ConnectionQuotas.Normalize(((IPEndPoint)client.RemoteEndPoint!).Address);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Reset between accept and here: it never counted.
            client.Dispose();
            return true;
        }
        ConnectionAdmission admission;
        try
        {
            admission = await quotas.AcquireAsync(bound.ListenerName, address, () =>
            {
                if (_blockedLog.ShouldLog(out _))
                {
                    NetworkLog.AcceptorBlocked(_logger, bound.ListenerName, quotas.Total);
                }
            }, _stopping.Token, throttleMs =>
            {
                if (_rateLog.ShouldLog(out _))
                {
                    NetworkLog.ConnectionRateThrottled(_logger, bound.ListenerName, throttleMs);
                }
            });
        }
        catch (OperationCanceledException)
        {
            client.Dispose();
            return false;
        }
        if (admission.ThrottleMs > 0)
        {
            NetworkLog.ConnectionIpThrottled(_logger, bound.ListenerName, address, admission.ThrottleMs);
            CloseAfterThrottle(client, admission.ThrottleMs);
            return true;
        }
        if (admission.PerIpLimit >= 0)
        {
            NetworkLog.TooManyConnections(_logger, address, admission.PerIpLimit);
            client.Dispose();
            return true;
        }
        try
        {
            StartConnection(client, bound, quotas, address);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Socket options fail on a connection the peer already reset.
            NetworkLog.AcceptAborted(_logger, bound.ListenerName, (e as SocketException)?.SocketErrorCode ?? SocketError.OperationAborted);
            quotas.Release(bound.ListenerName, address);
            client.Dispose();
        }
        return true;
    }

    /// <summary>
    /// Kafka's <c>DelayedCloseSocket</c>: a connection refused over its IP's connection_creation_rate is never read
    /// from and is closed once its throttle time is up (or when the server stops), so the client sees its connection
    /// last that long before it may reconnect. The acceptor goes on accepting meanwhile.
    /// </summary>
    private void CloseAfterThrottle(Socket client, int throttleMs)
    {
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _throttled[client] = closed.Task;
        _ = Task.Delay(TimeSpan.FromMilliseconds(throttleMs), _time, _stopping.Token).ContinueWith(_ =>
        {
            client.Dispose();
            _throttled.TryRemove(client, out var _);
            closed.TrySetResult();
        }, TaskScheduler.Default);
    }

    private void StartConnection(Socket client, BoundEndpoint bound, ConnectionQuotas quotas, IPAddress address)
    {
        // Kafka sets TCP_NODELAY and the configured buffer sizes (-1 leaves the OS default).
        client.NoDelay = true;
        if (_config.SocketSendBufferBytes > 0)
        {
            client.SendBufferSize = _config.SocketSendBufferBytes;
        }
        if (_config.SocketReceiveBufferBytes > 0)
        {
            client.ReceiveBufferSize = _config.SocketReceiveBufferBytes;
        }
        var local = (IPEndPoint)client.LocalEndPoint!;
        var remote = client.RemoteEndPoint as IPEndPoint;
        var id = $"{local.Address}:{local.Port}-{remote?.Address}:{remote?.Port}-{Interlocked.Increment(ref _connectionIndex) - 1}";
        var context = new ConnectionContext(id, bound.ListenerName, bound.SecurityProtocol, remote)
        {
            Authentication = _security.AuthenticatorFor(bound.ListenerName, bound.SecurityProtocol, _time),
        };
        var released = 0;
        void Release()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
            {
                quotas.Release(bound.ListenerName, address);
            }
        }
        var connection = new KafkaConnection(client, context, _handler, _config.SocketRequestMaxBytes, _logger, _time,
            _security.TlsFor(bound.ListenerName), _security.SaslMaxReceiveBytes)
        { Closing = Release, Metrics = _metrics };
        NetworkLog.ConnectionAccepted(_logger, id);
        _metrics?.RecordConnectionCreated(bound.ListenerName);
        var task = Task.Run(() => connection.RunAsync(_stopping.Token));
        _connections[connection] = task;
        task.ContinueWith(_ =>
        {
            Release();
            _connections.TryRemove(connection, out var _);
        }, TaskScheduler.Default);
    }

    /// <summary>
    /// <c>connections.max.idle.ms</c>: one periodic sweep over the open connections closes those idle for longer
    /// (Kafka's Selector keeps them in LRU order and closes expired ones on each poll). The sweep runs every tenth of
    /// the limit, between 10 ms and 1 s, so a connection closes within 10 % (at most a second) after its time.
    /// </summary>
    private async Task IdleSweepAsync(long maxIdleMs)
    {
        var period = TimeSpan.FromMilliseconds(Math.Clamp(maxIdleMs / 10, 10, 1000));
        using var timer = new PeriodicTimer(period, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                var now = _time.GetTimestamp();
                foreach (var connection in _connections.Keys)
                {
                    var idle = connection.IdleMilliseconds(now);
                    if (idle > maxIdleMs)
                    {
                        NetworkLog.ClosingIdle(_logger, connection.Context.ConnectionId, idle);
                        connection.Abort();
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>Number of open client connections (for tests and metrics).</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary>Open connections by listener name, every bound listener listed (for Kafka's connection-count).</summary>
    public IEnumerable<KeyValuePair<string, int>> ConnectionCountsByListener()
    {
        var counts = _listeners.Select(l => l.Bound.ListenerName).Distinct().ToDictionary(name => name, _ => 0, StringComparer.Ordinal);
        foreach (var connection in _connections.Keys)
        {
            counts[connection.Context.ListenerName] = counts.GetValueOrDefault(connection.Context.ListenerName) + 1;
        }
        return counts;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _stopping.CancelAsync();
        foreach (var (socket, _, _) in _listeners)
        {
            socket.Dispose();
        }
        await Task.WhenAll(_listeners.Select(l => l.AcceptLoop));
        await _idleSweep;
        foreach (var connection in _connections.Keys)
        {
            connection.Abort();
        }
        await Task.WhenAll(_connections.Values);
        await Task.WhenAll(_throttled.Values);
        _stopping.Dispose();
    }
}
