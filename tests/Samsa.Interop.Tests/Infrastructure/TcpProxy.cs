using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Samsa.Interop.Tests.Infrastructure;

/// <summary>Which way bytes flow through a <see cref="TcpProxy"/>.</summary>
public enum ProxyDirection
{
    /// <summary>Client to broker: requests.</summary>
    Upstream,

    /// <summary>Broker to client: responses.</summary>
    Downstream,
}

/// <summary>
/// A TCP proxy on 127.0.0.1 (an ephemeral port) in front of a broker port, with faults a test switches on and off at
/// any moment: delay per direction, drop (frames read and discarded, the connection kept, so the client times out
/// and retries), pause one direction (nothing read until resumed, nothing lost), cut every current connection (both
/// sides), and blackhole new connections (accepted, never answered, closed when the blackhole lifts).
/// It forwards Kafka's size-prefixed frames whole, so a dropped response never leaves half a frame on the wire.
/// Kafka clients connect where Metadata tells them: start the broker with <c>advertised.listeners</c> naming
/// <see cref="Port"/> (see <c>IdempotenceFaultTests</c>) so they keep going through the proxy.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    /// <summary>Larger than any frame a test sends; a bigger size prefix means the stream is not Kafka's and is closed.</summary>
    private const int MaxFrame = 256 * 1024 * 1024;

    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Connection, byte> _connections = new();
    private readonly ConcurrentDictionary<Socket, byte> _held = new();
    private readonly DirectionState[] _directions = [new(), new()];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<string> _log = [];
    private readonly Task _acceptLoop;
    private volatile bool _blackhole;

    private TcpProxy(int upstreamPort, IPAddress upstreamAddress)
    {
        UpstreamPort = upstreamPort;
        UpstreamAddress = upstreamAddress;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start(512);
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>Starts listening at once; connections to <paramref name="upstreamPort"/> open only when a client connects.</summary>
    public static TcpProxy Start(int upstreamPort) => new(upstreamPort, IPAddress.Loopback);

    /// <summary>As <see cref="Start(int)"/>, to a node listening on another loopback address (127.0.0.x).</summary>
    public static TcpProxy Start(IPAddress upstreamAddress, int upstreamPort) => new(upstreamPort, upstreamAddress);

    /// <summary>The address the proxy connects to.</summary>
    public IPAddress UpstreamAddress { get; }

    /// <summary>The port clients connect to.</summary>
    public int Port { get; }

    public int UpstreamPort { get; }

    public string Bootstrap => $"127.0.0.1:{Port}";

    /// <summary>Proxied connections currently open (blackholed ones not counted).</summary>
    public int ActiveConnections => _connections.Count;

    /// <summary>Connections accepted while blackholed and still held.</summary>
    public int HeldConnections => _held.Count;

    public long FramesForwarded(ProxyDirection direction) => Interlocked.Read(ref State(direction).Forwarded);

    public long FramesDropped(ProxyDirection direction) => Interlocked.Read(ref State(direction).Dropped);

    /// <summary>Every fault switched, with the time since the proxy started, for a failing test's message.</summary>
    public IReadOnlyList<string> Log
    {
        get
        {
            lock (_log)
            {
                return [.. _log];
            }
        }
    }

    /// <summary>Each frame in <paramref name="direction"/> is held this long before it is written (order is kept).</summary>
    public void SetDelay(ProxyDirection direction, TimeSpan delay)
    {
        Interlocked.Exchange(ref State(direction).DelayTicks, delay.Ticks);
        Note($"delay {direction} {delay.TotalMilliseconds:0} ms");
    }

    /// <summary>While on, frames in <paramref name="direction"/> are read and discarded; connections stay open.</summary>
    public void SetDrop(ProxyDirection direction, bool drop)
    {
        State(direction).Drop = drop;
        Note($"drop {direction} {(drop ? "on" : "off")}");
    }

    /// <summary>Drops the broker's responses (the requests still reach it and take effect).</summary>
    public void DropResponses(bool drop) => SetDrop(ProxyDirection.Downstream, drop);

    /// <summary>One-way: while paused, nothing is forwarded in <paramref name="direction"/> (at most one frame is read and held); what waits flows on when resumed.</summary>
    public void SetPaused(ProxyDirection direction, bool paused)
    {
        State(direction).Paused = paused;
        Note($"pause {direction} {(paused ? "on" : "off")}");
    }

    /// <summary>
    /// While on, new connections are accepted and never answered nor forwarded (a client sees a connect that hangs);
    /// turning it off closes them, so their clients reconnect. Connections already open are not touched.
    /// </summary>
    public void SetBlackhole(bool blackhole)
    {
        _blackhole = blackhole;
        Note($"blackhole {(blackhole ? "on" : "off")}");
        if (!blackhole)
        {
            CloseHeld();
        }
    }

    /// <summary>Closes every current connection, client and broker side; returns how many proxied connections there were.</summary>
    public int Cut()
    {
        var cut = 0;
        foreach (var connection in _connections.Keys)
        {
            connection.Close();
            cut++;
        }
        CloseHeld();
        Note($"cut {cut} connections");
        return cut;
    }

    /// <summary>Every fault off: no delay, no drop, no pause, no blackhole.</summary>
    public void Heal()
    {
        foreach (var direction in new[] { ProxyDirection.Upstream, ProxyDirection.Downstream })
        {
            var state = State(direction);
            Interlocked.Exchange(ref state.DelayTicks, 0);
            state.Drop = false;
            state.Paused = false;
        }
        _blackhole = false;
        CloseHeld();
        Note("heal");
    }

    private DirectionState State(ProxyDirection direction) => _directions[(int)direction];

    private void Note(string what)
    {
        lock (_log)
        {
            _log.Add($"{_clock.Elapsed.TotalSeconds:0.000}s {what}");
        }
    }

    private void CloseHeld()
    {
        foreach (var socket in _held.Keys)
        {
            if (_held.TryRemove(socket, out _))
            {
                socket.Dispose();
            }
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }
                continue;
            }
            if (_blackhole)
            {
                _held[client] = 0;
                continue;
            }
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        client.NoDelay = true;
        var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await upstream.ConnectAsync(UpstreamAddress, UpstreamPort, _stop.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            upstream.Dispose();
            client.Dispose();
            return;
        }
        var connection = new Connection(client, upstream);
        _connections[connection] = 0;
        try
        {
            await Task.WhenAll(
                PumpAsync(connection, client, upstream, State(ProxyDirection.Upstream)),
                PumpAsync(connection, upstream, client, State(ProxyDirection.Downstream)));
        }
        finally
        {
            connection.Close();
            _connections.TryRemove(connection, out _);
        }
    }

    /// <summary>Reads frames from <paramref name="from"/> and writes them to <paramref name="to"/>, each after its delay.</summary>
    private async Task PumpAsync(Connection connection, Socket from, Socket to, DirectionState state)
    {
        var queue = Channel.CreateUnbounded<(long Due, byte[] Frame)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var writer = WriteAsync(connection, to, queue.Reader, state);
        try
        {
            var header = new byte[4];
            while (!connection.Closed.IsCancellationRequested)
            {
                if (!await ReadExactlyAsync(from, header, connection.Closed.Token))
                {
                    break;
                }
                var size = BinaryPrimitives.ReadInt32BigEndian(header);
                if (size is < 0 or > MaxFrame)
                {
                    break;
                }
                var frame = new byte[4 + size];
                header.CopyTo(frame, 0);
                if (!await ReadExactlyAsync(from, frame.AsMemory(4), connection.Closed.Token))
                {
                    break;
                }
                // A pause holds the frame just read (the read was already waiting when the pause began) and reads no more.
                while (state.Paused && !connection.Closed.IsCancellationRequested)
                {
                    await Task.Delay(5, CancellationToken.None);
                }
                if (state.Drop)
                {
                    Interlocked.Increment(ref state.Dropped);
                    continue;
                }
                queue.Writer.TryWrite((Stopwatch.GetTimestamp() + Interlocked.Read(ref state.DelayTicks) * Stopwatch.Frequency / TimeSpan.TicksPerSecond, frame));
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException or IOException)
        {
        }
        finally
        {
            queue.Writer.TryComplete();
            connection.Close();
        }
        await writer;
    }

    private static async Task WriteAsync(Connection connection, Socket to, ChannelReader<(long Due, byte[] Frame)> queue, DirectionState state)
    {
        try
        {
            await foreach (var (due, frame) in queue.ReadAllAsync(connection.Closed.Token))
            {
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, connection.Closed.Token);
                }
                await to.SendAsync(frame, SocketFlags.None, connection.Closed.Token);
                Interlocked.Increment(ref state.Forwarded);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException or IOException)
        {
            connection.Close();
        }
    }

    private static async Task<bool> ReadExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken cancellation)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await socket.ReceiveAsync(buffer[read..], SocketFlags.None, cancellation);
            if (n == 0)
            {
                return false;
            }
            read += n;
        }
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        foreach (var connection in _connections.Keys)
        {
            connection.Close();
        }
        CloseHeld();
        await _acceptLoop;
        _stop.Dispose();
    }

    private sealed class DirectionState
    {
        public long DelayTicks;
        public volatile bool Drop;
        public volatile bool Paused;
        public long Forwarded;
        public long Dropped;
    }

    /// <summary>A client socket and its broker socket; closing either side closes both.</summary>
    private sealed class Connection(Socket client, Socket upstream)
    {
        private int _closed;

        public CancellationTokenSource Closed { get; } = new();

        public void Close()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 1)
            {
                return;
            }
            Closed.Cancel();
            client.Dispose();
            upstream.Dispose();
        }
    }
}
