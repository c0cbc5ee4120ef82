using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Samsa.Interop.Tests.Infrastructure;
using Samsa.Protocol.Messages;
using Xunit.Abstractions;

namespace Samsa.Interop.Tests;

/// <summary>
/// Issue 12's resource limits on the real samsa-server process: running out of file descriptors, max.connections,
/// max.connections.per.ip and connections.max.idle.ms, with kcat as the client that must still be served.
/// </summary>
public class ConnectionLimitsInteropTests(ITestOutputHelper output)
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The broker under <c>ulimit -n 1024</c> and 1,100 idle connections. Kafka's rule is kept: connections already
    /// accepted are served, the newest wait, and after idle ones close new ones are accepted. The acceptor stops 64
    /// descriptors short of the limit (with none left the .NET runtime aborts, "Out of memory."), and if accept fails
    /// anyway (EMFILE) it backs off; it neither spins nor dies, and reports at most once a second.
    /// </summary>
    [Fact]
    public async Task OutOfFileDescriptors_OpenConnectionsAreServed_AcceptBacksOff_AndKcatIsServedOnceIdleOnesClose()
    {
        Peers.Require("kcat");
        const int idleConnections = 1100;
        var hostLimit = OpenFiles.EnsureSoftLimit(idleConnections + 500);
        output.WriteLine($"test host RLIMIT_NOFILE: {hostLimit}");

        await using var broker = await BrokerProcess.StartAsync(openFilesLimit: 1024);
        const string topic = "fd-limits";
        using var served = await RawKafkaConnection.ConnectAsync(broker.Port);
        var created = await served.RequestAsync<CreateTopicsResponse>(new CreateTopicsRequest
        {
            timeoutMs = 30000,
            Topics = [new() { Name = topic, NumPartitions = 1, ReplicationFactor = 1 }],
        }, 7);
        Assert.Equal(0, created.Topics[0].ErrorCode);
        // The partition log opens its files now, while descriptors are free.
        var before = await ExternalProcess.RunAsync("kcat", ["-P", "-b", broker.Bootstrap, "-t", topic, "-p", "0"], ClientTimeout, "before\n");
        Assert.True(before.ExitCode == 0, before.ToString());

        var held = await OpenIdleAsync(broker.Port, idleConnections);
        try
        {
            output.WriteLine($"{held.Count} of {idleConnections} connects completed (the rest found the listen backlog full)");
            Assert.True(held.Count > 1024 - 200, $"only {held.Count} connections were made");
            // Several seconds of accepts failing for want of descriptors.
            await Task.Delay(TimeSpan.FromSeconds(4));
            Assert.False(broker.HasExited, broker.Output);

            // A connection accepted before the descriptors ran out is served as before.
            var metadata = await served.RequestAsync<MetadataResponse>(new MetadataRequest { Topics = [new() { Name = topic }] }, 12);
            Assert.Equal(0, metadata.Topics[0].ErrorCode);

            var paused = await broker.WaitForOutputAsync("stops accepting", TimeSpan.FromSeconds(10)) || broker.Output.Contains("Accept failed", StringComparison.Ordinal);
            Assert.True(paused, broker.Output);
            var failures = AcceptFailureLines(broker.Output);
            output.WriteLine(string.Join('\n', failures.Select(f => f.Line)));
            for (var i = 1; i < failures.Count; i++)
            {
                Assert.True(failures[i].At - failures[i - 1].At >= TimeSpan.FromMilliseconds(990),
                    $"two accept failure reports {failures[i].At - failures[i - 1].At} apart:\n{failures[i - 1].Line}\n{failures[i].Line}");
            }
            Assert.True(broker.Output.Split('\n').Length < 200, $"the broker wrote {broker.Output.Split('\n').Length} log lines");

            // Idle clients hang up: the broker frees their descriptors, takes the queued connections, then kcat's.
            foreach (var socket in held.Take(400))
            {
                socket.Dispose();
            }
            var listed = await ExternalProcess.RunAsync("kcat", ["-b", broker.Bootstrap, "-L", "-t", topic, "-m", "30"], ClientTimeout);
            Assert.True(listed.ExitCode == 0, listed.ToString());
            Assert.Contains($"topic \"{topic}\" with 1 partitions", listed.Stdout);
            var after = await ExternalProcess.RunAsync("kcat", ["-P", "-b", broker.Bootstrap, "-t", topic, "-p", "0"], ClientTimeout, "after\n");
            Assert.True(after.ExitCode == 0, after.ToString());
            var consumed = await ExternalProcess.RunAsync("kcat", ["-C", "-b", broker.Bootstrap, "-t", topic, "-p", "0", "-o", "beginning", "-c", "2", "-e"], ClientTimeout);
            Assert.True(consumed.ExitCode == 0, consumed.ToString());
            Assert.Equal(["before", "after"], consumed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        finally
        {
            foreach (var socket in held)
            {
                socket.Dispose();
            }
        }
        Assert.False(broker.HasExited, broker.Output);
    }

    /// <summary>max.connections=100: the acceptor takes 100 connections, then waits; the 101st is served when one closes.</summary>
    [Fact]
    public async Task MaxConnections_ExactlyAHundredAreServed_AndThe101stOnlyWhenOneCloses()
    {
        await using var broker = await BrokerProcess.StartAsync(new Dictionary<string, string> { ["max.connections"] = "100" });
        var admitted = new List<RawKafkaConnection>();
        try
        {
            for (var i = 0; i < 100; i++)
            {
                var connection = await RawKafkaConnection.ConnectAsync(broker.Port);
                admitted.Add(connection);
                await connection.RequestAsync<ApiVersionsResponse>(new ApiVersionsRequest { ClientSoftwareName = "limits", ClientSoftwareVersion = "1" }, 3);
            }

            using var waiting = await RawKafkaConnection.ConnectAsync(broker.Port);
            await waiting.SendRawAsync(RawKafkaConnection.Frame(new ApiVersionsRequest { ClientSoftwareName = "limits", ClientSoftwareVersion = "1" }, 3, 101));
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var answer = waiting.ReadFrameAsync(patience.Token);
            Assert.NotSame(answer, await Task.WhenAny(answer, Task.Delay(TimeSpan.FromSeconds(3))));
            Assert.True(await broker.WaitForOutputAsync("no more are accepted until one closes (max.connections)", TimeSpan.FromSeconds(10)), broker.Output);

            admitted[42].Dispose();
            admitted.RemoveAt(42);
            var watch = Stopwatch.StartNew();
            Assert.NotEmpty(await answer);
            output.WriteLine($"101st connection served {watch.ElapsedMilliseconds} ms after one of the 100 closed");
        }
        finally
        {
            admitted.ForEach(c => c.Dispose());
        }
    }

    /// <summary>max.connections.per.ip=5: the sixth connection from 127.0.0.1 is closed by the broker at once.</summary>
    [Fact]
    public async Task MaxConnectionsPerIp_TheSixthConnectionIsClosedByTheBroker()
    {
        await using var broker = await BrokerProcess.StartAsync(new Dictionary<string, string> { ["max.connections.per.ip"] = "5" });
        var five = new List<RawKafkaConnection>();
        try
        {
            for (var i = 0; i < 5; i++)
            {
                var connection = await RawKafkaConnection.ConnectAsync(broker.Port);
                five.Add(connection);
                await connection.RequestAsync<ApiVersionsResponse>(new ApiVersionsRequest { ClientSoftwareName = "limits", ClientSoftwareVersion = "1" }, 3);
            }
            using var sixth = await RawKafkaConnection.ConnectAsync(broker.Port);
            Assert.True(await sixth.IsClosedByPeerAsync(TimeSpan.FromSeconds(5)));
            Assert.True(await broker.WaitForOutputAsync("Rejected connection from 127.0.0.1, address already has the configured maximum of 5 connections.", TimeSpan.FromSeconds(10)),
                broker.Output);
            await five[0].RequestAsync<ApiVersionsResponse>(new ApiVersionsRequest { ClientSoftwareName = "limits", ClientSoftwareVersion = "1" }, 3);
        }
        finally
        {
            five.ForEach(c => c.Dispose());
        }
    }

    /// <summary>connections.max.idle.ms=1000: a connection silent after its last response is closed about a second later.</summary>
    [Fact]
    public async Task ConnectionsMaxIdleMs_ClosesAnIdleConnectionAfterAboutASecond()
    {
        await using var broker = await BrokerProcess.StartAsync(new Dictionary<string, string> { ["connections.max.idle.ms"] = "1000" });
        using var connection = await RawKafkaConnection.ConnectAsync(broker.Port);
        // Timed from before the request: the broker's last activity (the response sent) comes after this, so the
        // close can be no sooner than the limit, however late this process sees the response on a loaded machine.
        var watch = Stopwatch.StartNew();
        await connection.RequestAsync<ApiVersionsResponse>(new ApiVersionsRequest { ClientSoftwareName = "limits", ClientSoftwareVersion = "1" }, 3);
        Assert.True(await connection.IsClosedByPeerAsync(TimeSpan.FromSeconds(10)));
        output.WriteLine($"closed {watch.ElapsedMilliseconds} ms after the request was sent");
        // The limit plus at most one sweep (100 ms) and the request's own time, with room for a loaded machine.
        Assert.InRange(watch.ElapsedMilliseconds, 1000, 3000);

        var listed = await ExternalProcess.RunAsync("kcat", ["-b", broker.Bootstrap, "-L", "-m", "10"], ClientTimeout);
        Assert.True(listed.ExitCode == 0, listed.ToString());
    }

    /// <summary>
    /// Opens idle connections 25 at a time, so the broker keeps up (a burst of a thousand SYNs overflows the listen
    /// backlog and the kernel answers with SYN cookies: the client then believes in connections the broker never sees).
    /// Connects that time out (the broker no longer accepting and its backlog full) are not kept.
    /// </summary>
    private static async Task<List<Socket>> OpenIdleAsync(int port, int count)
    {
        var sockets = new List<Socket>();
        for (var opened = 0; opened < count; opened += 25)
        {
            var batch = Enumerable.Range(0, Math.Min(25, count - opened)).Select(async _ =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                try
                {
                    await socket.ConnectAsync(IPAddress.Loopback, port, deadline.Token);
                    return socket;
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException)
                {
                    socket.Dispose();
                    return null;
                }
            });
            sockets.AddRange((await Task.WhenAll(batch)).OfType<Socket>());
        }
        return sockets;
    }

    private static List<(DateTime At, string Line)> AcceptFailureLines(string log) =>
        log.Split('\n')
            .Where(l => l.Contains("Accept failed on listener", StringComparison.Ordinal) || l.Contains("stops accepting: the process is within", StringComparison.Ordinal))
            .Select(l => (DateTime.ParseExact(l[..23], "yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture), l.TrimEnd()))
            .ToList();

    /// <summary>The test host's own descriptor limit, raised to what the test needs if the hard limit allows.</summary>
    private static class OpenFiles
    {
        private const int RlimitNofile = 7;

        public static string EnsureSoftLimit(ulong needed)
        {
            if (getrlimit(RlimitNofile, out var limit) != 0)
            {
                throw new InvalidOperationException($"getrlimit failed: {Marshal.GetLastPInvokeError()}");
            }
            var before = $"soft {limit.Current}, hard {limit.Maximum}";
            if (limit.Current >= needed)
            {
                return before;
            }
            if (limit.Maximum < needed)
            {
                throw new InvalidOperationException($"This test opens {needed} sockets; the host allows {before} (raise it with ulimit -Hn).");
            }
            var raised = limit with { Current = needed };
            if (setrlimit(RlimitNofile, ref raised) != 0)
            {
                throw new InvalidOperationException($"setrlimit failed: {Marshal.GetLastPInvokeError()}");
            }
            return $"{before}; soft raised to {needed} for this test";
        }

        [StructLayout(LayoutKind.Sequential)]
        private record struct RLimit(ulong Current, ulong Maximum);

        [DllImport("libc", SetLastError = true)]
        private static extern int getrlimit(int resource, out RLimit limit);

        [DllImport("libc", SetLastError = true)]
        private static extern int setrlimit(int resource, ref RLimit limit);
    }
}
