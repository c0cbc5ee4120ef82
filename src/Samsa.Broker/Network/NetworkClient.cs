using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Samsa.Protocol;

namespace Samsa.Broker.Network;

/// <summary>Another node of the cluster as a client reaches it.</summary>
public readonly record struct NodeEndpoint(int Id, string Host, int Port)
{
    public override string ToString() => $"{Host}:{Port} (id: {Id})";
}

/// <summary>Settings of the inter-node client, with the names of Kafka's client configs they follow.</summary>
public sealed record NetworkClientOptions
{
    public string ClientId { get; init; } = "samsa-node";

    /// <summary>request.timeout.ms: how long a request may wait for its response before the connection is dropped.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>socket.connection.setup.timeout.ms.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>reconnect.backoff.ms: the wait after a first failed connection to a node.</summary>
    public TimeSpan ReconnectBackoff { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>reconnect.backoff.max.ms: the wait doubles per consecutive failure up to this.</summary>
    public TimeSpan ReconnectBackoffMax { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The largest response accepted; a larger claimed size closes the connection before anything is allocated.</summary>
    public int MaxResponseBytes { get; init; } = RequestFrames.MaxResponseBytes;

    /// <summary>TLS and SASL towards the nodes' listener (issue 17); plaintext by default.</summary>
    public Samsa.Broker.Security.ClientSecurity Security { get; init; } = Samsa.Broker.Security.ClientSecurity.Plaintext;
}

/// <summary>The connection to a node failed or closed while a request was outstanding (Kafka's <c>DisconnectException</c>).</summary>
public sealed class NodeDisconnectedException(NodeEndpoint node, string message, Exception? inner = null)
    : IOException($"{node}: {message}", inner)
{
    public NodeEndpoint Node => node;
}

/// <summary>
/// The one client a node uses to talk to other nodes (Kafka's <c>NetworkClient</c> as the broker uses it for its
/// controller channel, replica fetchers and Raft): one connection per destination, requests pipelined on it and
/// matched to responses by correlation id, a deadline per request, and exponential back-off with jitter between
/// failed connection attempts. Callers decide about retries; this class never resends a request.
/// </summary>
/// <remarks>
/// A request that times out drops its connection, as Kafka's client does: the peer may still answer it later, and
/// every other request on that connection is failed with <see cref="NodeDisconnectedException"/> so its caller can
/// retry on a fresh one. All waiting uses the injected <see cref="TimeProvider"/>.
/// </remarks>
public sealed class NetworkClient : IAsyncDisposable
{
    private readonly NetworkClientOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<int, NodeChannel> _channels = new();
    private readonly CancellationTokenSource _closing = new();

    public NetworkClient(NetworkClientOptions options, TimeProvider time, ILogger logger)
    {
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// Sends <paramref name="request"/> at <paramref name="version"/> to <paramref name="node"/> and returns its
    /// response. Fails with <see cref="TimeoutException"/> after the request timeout (connecting included), with
    /// <see cref="NodeDisconnectedException"/> when the connection fails, and with <see cref="ProtocolException"/>
    /// when the response cannot be parsed.
    /// </summary>
    public async Task<TResponse> SendAsync<TResponse>(NodeEndpoint node, IApiMessage request, short version,
        CancellationToken cancellationToken = default, TimeSpan? timeout = null)
        where TResponse : IApiMessage, new()
    {
        ObjectDisposedException.ThrowIf(_closing.IsCancellationRequested, this);
        var channel = _channels.GetOrAdd(node.Id, _ => new NodeChannel(this, node));
        if (channel.Node != node)
        {
            // The node moved to another address: the old connection is of no use.
            var moved = new NodeChannel(this, node);
            if (_channels.TryUpdate(node.Id, moved, channel))
            {
                channel.Close(new NodeDisconnectedException(channel.Node, "node moved"));
            }
            channel = _channels[node.Id];
        }
        using var deadline = new CancellationTokenSource(timeout ?? _options.RequestTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken, _closing.Token);
        try
        {
            var payload = await channel.SendAsync(request, version, linked.Token);
            return RequestFrames.ReadResponse<TResponse>(payload.Payload, request.ApiKey, version, payload.CorrelationId);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            NetworkLog.RequestTimedOut(_logger, request.ApiKey, node.ToString(), (long)(timeout ?? _options.RequestTimeout).TotalMilliseconds);
            throw new TimeoutException($"{request.ApiKey} to {node} had no response within {(timeout ?? _options.RequestTimeout).TotalMilliseconds} ms");
        }
    }

    public ValueTask DisposeAsync()
    {
        if (!_closing.IsCancellationRequested)
        {
            _closing.Cancel();
            foreach (var channel in _channels.Values)
            {
                channel.Close(new NodeDisconnectedException(channel.Node, "client closed"));
            }
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>The back-off before connection attempt <paramref name="failures"/>+1: doubling, capped, ±20 % jitter (Kafka's ExponentialBackoff).</summary>
    internal static TimeSpan Backoff(NetworkClientOptions options, int failures)
    {
        if (failures == 0)
        {
            return TimeSpan.Zero;
        }
        var exponential = options.ReconnectBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 30));
        var capped = Math.Min(exponential, options.ReconnectBackoffMax.TotalMilliseconds);
        var jitter = 1 + ((Random.Shared.NextDouble() * 0.4) - 0.2);
        return TimeSpan.FromMilliseconds(capped * jitter);
    }

    private readonly record struct ResponsePayload(int CorrelationId, byte[] Payload);

    /// <summary>Everything about one destination: its live connection (if any) and its connection failures.</summary>
    private sealed class NodeChannel(NetworkClient client, NodeEndpoint node)
    {
        private readonly SemaphoreSlim _connectLock = new(1, 1);
        private Connection? _connection;
        private int _failures;
        private long _lastFailure;

        public NodeEndpoint Node => node;

        public async Task<ResponsePayload> SendAsync(IApiMessage request, short version, CancellationToken cancellationToken)
        {
            var connection = await ConnectedAsync(cancellationToken);
            return await connection.SendAsync(request, version, cancellationToken);
        }

        private async Task<Connection> ConnectedAsync(CancellationToken cancellationToken)
        {
            var current = Volatile.Read(ref _connection);
            if (current is { IsOpen: true })
            {
                return current;
            }
            await _connectLock.WaitAsync(cancellationToken);
            try
            {
                current = _connection;
                if (current is { IsOpen: true })
                {
                    return current;
                }
                var wait = Backoff(client._options, _failures) - client._time.GetElapsedTime(_lastFailure);
                if (_failures > 0 && wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, client._time, cancellationToken);
                }
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                Stream stream;
                try
                {
                    using var connectDeadline = new CancellationTokenSource(client._options.ConnectTimeout, client._time);
                    using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, connectDeadline.Token);
                    await socket.ConnectAsync(node.Host, node.Port, linked.Token);
                    // TLS and SASL, when the listener asks for them, before the connection carries any request.
                    stream = await client._options.Security.OpenAsync(socket, node.Host, client._options.ClientId, linked.Token);
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException or IOException
                    or System.Security.Authentication.AuthenticationException or Samsa.Broker.Security.Sasl.SaslAuthenticationException or ProtocolException)
                {
                    socket.Dispose();
                    _failures++;
                    _lastFailure = client._time.GetTimestamp();
                    cancellationToken.ThrowIfCancellationRequested();
                    NetworkLog.NodeConnectFailed(client._logger, node.ToString(), e.Message, _failures);
                    throw new NodeDisconnectedException(node, "connection failed", e);
                }
                _failures = 0;
                var connection = new Connection(client, node, socket, stream);
                Volatile.Write(ref _connection, connection);
                return connection;
            }
            finally
            {
                _connectLock.Release();
            }
        }

        public void Close(Exception reason) => Volatile.Read(ref _connection)?.Close(reason);
    }

    /// <summary>One TCP connection: a write lock for whole frames, a read loop completing requests by correlation id.</summary>
    private sealed class Connection
    {
        private readonly NetworkClient _client;
        private readonly NodeEndpoint _node;
        private readonly Socket _socket;
        private readonly Stream _stream;
        private readonly SemaphoreSlim _writeLock = new(1, 1);
        private readonly ConcurrentDictionary<int, TaskCompletionSource<ResponsePayload>> _pending = new();
        private int _nextCorrelationId;
        private int _closed;

        public Connection(NetworkClient client, NodeEndpoint node, Socket socket, Stream stream)
        {
            _client = client;
            _node = node;
            _socket = socket;
            _stream = stream;
            _ = Task.Run(ReadLoopAsync);
        }

        public bool IsOpen => Volatile.Read(ref _closed) == 0;

        public async Task<ResponsePayload> SendAsync(IApiMessage request, short version, CancellationToken cancellationToken)
        {
            var correlationId = Interlocked.Increment(ref _nextCorrelationId);
            var response = new TaskCompletionSource<ResponsePayload>(TaskCreationOptions.RunContinuationsAsynchronously);
            _pending[correlationId] = response;
            if (!IsOpen)
            {
                // Closed between the caller's check and the registration; Close may have missed this entry.
                _pending.TryRemove(correlationId, out _);
                throw new NodeDisconnectedException(_node, "connection closed");
            }
            var frame = RequestFrames.Build(request, version, correlationId, _client._options.ClientId);
            try
            {
                await _writeLock.WaitAsync(cancellationToken);
                try
                {
                    await _stream.WriteAsync(frame, cancellationToken);
                }
                finally
                {
                    _writeLock.Release();
                }
                return await response.Task.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                _pending.TryRemove(correlationId, out _);
                // A write cut short leaves half a frame; a request past its deadline may still be answered. Either
                // way the connection's stream can no longer be trusted.
                Close(new NodeDisconnectedException(_node, $"{request.ApiKey} request cancelled or timed out"));
                throw;
            }
            catch (IOException e) when (e is not NodeDisconnectedException)
            {
                _pending.TryRemove(correlationId, out _);
                Close(new NodeDisconnectedException(_node, "send failed", e));
                throw new NodeDisconnectedException(_node, "send failed", e);
            }
        }

        private async Task ReadLoopAsync()
        {
            var size = new byte[4];
            Exception reason;
            try
            {
                while (true)
                {
                    await _stream.ReadExactlyAsync(size);
                    var length = BinaryPrimitives.ReadInt32BigEndian(size);
                    if (length < 4 || length > _client._options.MaxResponseBytes)
                    {
                        throw new ProtocolException($"response claims {length} bytes (limit {_client._options.MaxResponseBytes})");
                    }
                    var payload = new byte[length];
                    await _stream.ReadExactlyAsync(payload);
                    var correlationId = BinaryPrimitives.ReadInt32BigEndian(payload);
                    if (!_pending.TryRemove(correlationId, out var waiting))
                    {
                        // Its caller gave up (cancelled); Close is already under way.
                        continue;
                    }
                    waiting.TrySetResult(new ResponsePayload(correlationId, payload));
                }
            }
            catch (ProtocolException e)
            {
                NetworkLog.NodeSentBadResponse(_client._logger, _node.ToString(), e.Message);
                reason = new NodeDisconnectedException(_node, e.Message, e);
            }
            catch (Exception e) when (e is IOException or EndOfStreamException or ObjectDisposedException or SocketException)
            {
                reason = new NodeDisconnectedException(_node, "connection closed", e);
            }
            Close(reason);
        }

        public void Close(Exception reason)
        {
            if (Interlocked.Exchange(ref _closed, 1) != 0)
            {
                return;
            }
            try
            {
                // A FIN rather than the reset a bare dispose with a read pending would send.
                _socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
                // Already gone.
            }
            _socket.Dispose();
            // A TLS stream holds more than the socket; its own dispose only releases it (the socket is gone).
            _stream.Dispose();
            foreach (var correlationId in _pending.Keys)
            {
                if (_pending.TryRemove(correlationId, out var waiting))
                {
                    waiting.TrySetException(reason);
                }
            }
        }
    }
}
