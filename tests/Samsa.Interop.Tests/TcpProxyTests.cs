using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Samsa.Interop.Tests.Infrastructure;

namespace Samsa.Interop.Tests;

/// <summary>
/// The fault-injecting <see cref="TcpProxy"/> in front of a local echo server: each fault visibly takes effect and
/// is undone, on size-prefixed frames as Kafka's.
/// </summary>
public sealed class TcpProxyTests : IAsyncLifetime
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(600);
    private readonly EchoServer _echo = new();
    private TcpProxy _proxy = null!;

    public Task InitializeAsync()
    {
        _proxy = TcpProxy.Start(_echo.Port);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        _echo.Dispose();
    }

    [Fact]
    public async Task Frames_AreForwardedBothWays()
    {
        using var client = await Connect();
        for (var i = 0; i < 20; i++)
        {
            await Send(client, $"frame-{i}");
            Assert.Equal($"frame-{i}", await Receive(client, TimeSpan.FromSeconds(5)));
        }
        // A frame larger than a socket buffer is forwarded whole.
        var big = new string('x', 3_000_000);
        await Send(client, big);
        Assert.Equal(big, await Receive(client, TimeSpan.FromSeconds(10)));
        Assert.Equal(1, _proxy.ActiveConnections);
        Assert.Equal(21, _proxy.FramesForwarded(ProxyDirection.Upstream));
    }

    [Theory]
    [InlineData(ProxyDirection.Upstream)]
    [InlineData(ProxyDirection.Downstream)]
    public async Task Delay_HoldsEachFrame_ThenIsUndone(ProxyDirection direction)
    {
        using var client = await Connect();
        // A 2 s delay: frames held one after another would take 4 s, so the bounds below leave a loaded machine
        // almost two seconds either way.
        _proxy.SetDelay(direction, TimeSpan.FromSeconds(2));
        var watch = Stopwatch.StartNew();
        await Send(client, "a");
        await Send(client, "b");
        Assert.Equal("a", await Receive(client, TimeSpan.FromSeconds(8)));
        Assert.Equal("b", await Receive(client, TimeSpan.FromSeconds(8)));
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(1950), $"answered after {watch.Elapsed}");
        // Frames are delayed side by side, not one after another.
        Assert.True(watch.Elapsed < TimeSpan.FromMilliseconds(3800), $"answered after {watch.Elapsed}");

        _proxy.SetDelay(direction, TimeSpan.Zero);
        watch.Restart();
        await Send(client, "c");
        Assert.Equal("c", await Receive(client, TimeSpan.FromSeconds(5)));
        Assert.True(watch.Elapsed < TimeSpan.FromMilliseconds(1800), $"answered after {watch.Elapsed}");
    }

    [Fact]
    public async Task DropResponses_DiscardsThemOnTheSameConnection_ThenIsUndone()
    {
        using var client = await Connect();
        _proxy.DropResponses(true);
        await Send(client, "lost");
        Assert.Null(await Receive(client, Quiet));
        Assert.True(SpinWait.SpinUntil(() => _proxy.FramesDropped(ProxyDirection.Downstream) == 1, 5000));
        Assert.Equal(1, _echo.Received);

        _proxy.DropResponses(false);
        await Send(client, "kept");
        Assert.Equal("kept", await Receive(client, TimeSpan.FromSeconds(5)));
        Assert.Equal(1, _echo.Accepted);
    }

    [Fact]
    public async Task DropRequests_NeverReachTheServer()
    {
        using var client = await Connect();
        _proxy.SetDrop(ProxyDirection.Upstream, true);
        await Send(client, "lost");
        Assert.Null(await Receive(client, Quiet));
        Assert.Equal(0, _echo.Received);
        _proxy.SetDrop(ProxyDirection.Upstream, false);
        await Send(client, "kept");
        Assert.Equal("kept", await Receive(client, TimeSpan.FromSeconds(5)));
    }

    [Theory]
    [InlineData(ProxyDirection.Upstream)]
    [InlineData(ProxyDirection.Downstream)]
    public async Task Pause_StopsOneDirection_AndResumeDeliversWhatWaited(ProxyDirection direction)
    {
        using var client = await Connect();
        await Send(client, "before");
        Assert.Equal("before", await Receive(client, TimeSpan.FromSeconds(5)));

        _proxy.SetPaused(direction, true);
        await Send(client, "held");
        Assert.Null(await Receive(client, Quiet));
        // Requests paused: the server never saw it. Responses paused: the server answered, the answer waits.
        Assert.Equal(direction == ProxyDirection.Upstream ? 1 : 2, _echo.Received);

        _proxy.SetPaused(direction, false);
        Assert.Equal("held", await Receive(client, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Cut_ClosesBothSides_AndNewConnectionsWork()
    {
        using var client = await Connect();
        await Send(client, "x");
        Assert.Equal("x", await Receive(client, TimeSpan.FromSeconds(5)));

        Assert.Equal(1, _proxy.Cut());
        Assert.True(await ClosedByPeer(client, TimeSpan.FromSeconds(5)), "the client side stays open");
        Assert.True(SpinWait.SpinUntil(() => _echo.Closed == 1, 5000), "the server side stays open");
        Assert.True(SpinWait.SpinUntil(() => _proxy.ActiveConnections == 0, 5000));

        using var again = await Connect();
        await Send(again, "y");
        Assert.Equal("y", await Receive(again, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Blackhole_HangsNewConnections_KeepsOpenOnes_AndLiftingClosesTheHeld()
    {
        using var open = await Connect();
        _proxy.SetBlackhole(true);
        using var hung = await Connect();
        await Send(hung, "nothing");
        Assert.Null(await Receive(hung, Quiet));
        Assert.Equal(1, _echo.Accepted);
        Assert.Equal(1, _proxy.HeldConnections);
        await Send(open, "still");
        Assert.Equal("still", await Receive(open, TimeSpan.FromSeconds(5)));

        _proxy.SetBlackhole(false);
        Assert.True(await ClosedByPeer(hung, TimeSpan.FromSeconds(5)), "the held connection stays open");
        using var fresh = await Connect();
        await Send(fresh, "z");
        Assert.Equal("z", await Receive(fresh, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Schedule_IsTheSameForASeed_AndLeavesTheProxyHealed()
    {
        Assert.Equal(FaultSchedule.Plan(42, 50), FaultSchedule.Plan(42, 50));
        Assert.NotEqual(FaultSchedule.Plan(42, 50), FaultSchedule.Plan(43, 50));
        Assert.Equal(FaultSchedule.Kinds.Order(), FaultSchedule.Plan(7, 500).Select(s => s.Kind).Distinct().Order());

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var steps = await FaultSchedule.RunAsync(_proxy, 42, stop.Token);
        Assert.NotEmpty(steps);
        Assert.Equal(FaultSchedule.Plan(42, steps.Count), steps);
        Assert.EndsWith("heal", _proxy.Log[^1]);
        using var client = await Connect();
        await Send(client, "healed");
        Assert.Equal("healed", await Receive(client, TimeSpan.FromSeconds(5)));
    }

    private async Task<Socket> Connect()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, _proxy.Port);
        return socket;
    }

    private static async Task Send(Socket socket, string text)
    {
        var payload = Encoding.UTF8.GetBytes(text);
        var frame = new byte[4 + payload.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, payload.Length);
        payload.CopyTo(frame, 4);
        await socket.SendAsync(frame, SocketFlags.None);
    }

    /// <summary>The next frame's text, or null when none arrives within <paramref name="within"/> (a partial frame fails the test).</summary>
    private static async Task<string?> Receive(Socket socket, TimeSpan within)
    {
        using var deadline = new CancellationTokenSource(within);
        var header = new byte[4];
        try
        {
            await ReadExactly(socket, header, deadline.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        var payload = new byte[BinaryPrimitives.ReadInt32BigEndian(header)];
        using var rest = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await ReadExactly(socket, payload, rest.Token);
        return Encoding.UTF8.GetString(payload);
    }

    private static async Task ReadExactly(Socket socket, Memory<byte> buffer, CancellationToken cancellation)
    {
        for (var read = 0; read < buffer.Length;)
        {
            var n = await socket.ReceiveAsync(buffer[read..], SocketFlags.None, cancellation);
            if (n == 0)
            {
                throw new IOException("closed by peer");
            }
            read += n;
        }
    }

    private static async Task<bool> ClosedByPeer(Socket socket, TimeSpan within)
    {
        using var deadline = new CancellationTokenSource(within);
        try
        {
            return await socket.ReceiveAsync(new byte[64], SocketFlags.None, deadline.Token) == 0;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Echoes every byte back, counting connections, frames (by their size prefix) and closes.</summary>
    private sealed class EchoServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private int _accepted;
        private int _received;
        private int _closed;

        public EchoServer()
        {
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _ = AcceptAsync();
        }

        public int Port { get; }

        public int Accepted => Volatile.Read(ref _accepted);

        public int Received => Volatile.Read(ref _received);

        public int Closed => Volatile.Read(ref _closed);

        private async Task AcceptAsync()
        {
            while (true)
            {
                Socket socket;
                try
                {
                    socket = await _listener.AcceptSocketAsync();
                }
                catch (Exception e) when (e is ObjectDisposedException or SocketException)
                {
                    return;
                }
                Interlocked.Increment(ref _accepted);
                _ = EchoAsync(socket);
            }
        }

        private async Task EchoAsync(Socket socket)
        {
            using (socket)
            {
                var header = new byte[4];
                try
                {
                    while (true)
                    {
                        await ReadExactly(socket, header, CancellationToken.None);
                        var payload = new byte[BinaryPrimitives.ReadInt32BigEndian(header)];
                        await ReadExactly(socket, payload, CancellationToken.None);
                        Interlocked.Increment(ref _received);
                        await socket.SendAsync(header, SocketFlags.None);
                        await socket.SendAsync(payload, SocketFlags.None);
                    }
                }
                catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
                {
                }
            }
            Interlocked.Increment(ref _closed);
        }

        public void Dispose() => _listener.Stop();
    }
}
