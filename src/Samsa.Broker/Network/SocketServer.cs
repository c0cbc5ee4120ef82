using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Samsa.Broker.Config;

namespace Samsa.Broker.Network;

/// <summary>A listener after binding: its name and the address it really listens on (port 0 resolved).</summary>
public sealed record BoundEndpoint(string ListenerName, SecurityProtocol SecurityProtocol, IPEndPoint EndPoint)
{
    public int Port => EndPoint.Port;
}

/// <summary>
/// Kafka's <c>SocketServer</c>: binds every configured listener, accepts connections and runs one
/// <see cref="KafkaConnection"/> per client, each independent of the others.
/// </summary>
public sealed class SocketServer : IAsyncDisposable
{
    private readonly KafkaConfig _config;
    private readonly IRequestHandler _handler;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<(Socket Socket, BoundEndpoint Bound, Task AcceptLoop)> _listeners = [];
    private readonly ConcurrentDictionary<KafkaConnection, Task> _connections = new();
    private long _connectionIndex;
    private int _disposed;

    private SocketServer(KafkaConfig config, IRequestHandler handler, ILoggerFactory loggerFactory)
    {
        _config = config;
        _handler = handler;
        _logger = loggerFactory.CreateLogger("Samsa.Network");
    }

    public IReadOnlyList<BoundEndpoint> BoundEndpoints => _listeners.Select(l => l.Bound).ToArray();

    /// <summary>
    /// Binds every listener in <c>listeners</c> without accepting yet, so the caller can learn the real ports (port 0)
    /// before the first request arrives. A bind failure releases the ones already bound.
    /// </summary>
    public static async Task<SocketServer> BindAsync(KafkaConfig config, IRequestHandler handler, ILoggerFactory loggerFactory)
    {
        var server = new SocketServer(config, handler, loggerFactory);
        try
        {
            foreach (var endpoint in config.Listeners)
            {
                await server.BindAsync(endpoint);
            }
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

    /// <summary>Starts accepting connections on every bound listener.</summary>
    public void Start()
    {
        for (var i = 0; i < _listeners.Count; i++)
        {
            var (socket, bound, _) = _listeners[i];
            _listeners[i] = (socket, bound, Task.Run(() => AcceptLoopAsync(socket, bound)));
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

    private async Task AcceptLoopAsync(Socket listenSocket, BoundEndpoint bound)
    {
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
            catch (SocketException e)
            {
                // A connection reset before accept completed; keep listening.
                NetworkLog.AcceptFailed(_logger, bound.ListenerName, e);
                continue;
            }
            StartConnection(client, bound);
        }
        NetworkLog.ListenerStopped(_logger, bound.ListenerName, bound.EndPoint);
    }

    private void StartConnection(Socket client, BoundEndpoint bound)
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
        var context = new ConnectionContext(id, bound.ListenerName, bound.SecurityProtocol, remote);
        var connection = new KafkaConnection(client, context, _handler, _config.SocketRequestMaxBytes, _logger);
        NetworkLog.ConnectionAccepted(_logger, id);
        var task = Task.Run(() => connection.RunAsync(_stopping.Token));
        _connections[connection] = task;
        task.ContinueWith(_ => _connections.TryRemove(connection, out var _), TaskScheduler.Default);
    }

    /// <summary>Number of open client connections (for tests and metrics).</summary>
    public int ConnectionCount => _connections.Count;

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
        foreach (var connection in _connections.Keys)
        {
            connection.Abort();
        }
        await Task.WhenAll(_connections.Values);
        _stopping.Dispose();
    }
}
