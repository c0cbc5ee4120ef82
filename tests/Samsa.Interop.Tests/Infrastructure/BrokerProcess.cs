using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Samsa.Interop.Tests.Infrastructure;

/// <summary>
/// A Samsa broker started as its own process (the real samsa-server) on a free loopback port with a fresh
/// data directory. It runs under coreutils' <c>timeout</c> so that it stops by itself even if the test host
/// dies; disposing sends SIGTERM and waits for a clean exit.
/// </summary>
public sealed class BrokerProcess : IAsyncDisposable
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(15);
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private BrokerProcess(Process process, int port, string directory, IPAddress address)
    {
        _process = process;
        Port = port;
        Directory = directory;
        Address = address;
    }

    public int Port { get; }

    /// <summary>The address the probe for "listening" connects to (127.0.0.1 unless the node was started on another).</summary>
    public IPAddress Address { get; }

    /// <summary>The server process's pid (the child of <c>timeout</c>), for signals such as SIGSTOP.</summary>
    public int ServerPid
    {
        get
        {
            var children = File.ReadAllText($"/proc/{_process.Id}/task/{_process.Id}/children").Trim();
            return int.Parse(children.Split(' ', StringSplitOptions.RemoveEmptyEntries).First(), System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    public string Directory { get; }

    public string Bootstrap => $"{Address}:{Port}";

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Waits until the broker's log contains <paramref name="text"/> (it is written asynchronously).</summary>
    public async Task<bool> WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (deadline.Elapsed > timeout)
            {
                return false;
            }
            await Task.Delay(50);
        }
        return true;
    }

    /// <summary>When false, disposing leaves the data directory for a restarted broker.</summary>
    public bool DeleteOnDispose { get; set; } = true;

    /// <summary>
    /// Starts a broker; pass the directory and port of a killed one to restart it on the same data,
    /// <paramref name="environment"/> for variables of the server process (e.g. <c>DOTNET_GCHeapHardLimit</c>), and
    /// <paramref name="openFilesLimit"/> to run it under <c>ulimit -n</c> of that many file descriptors.
    /// </summary>
    /// <param name="address">Where the first listener binds: the node is ready once <paramref name="reusePort"/> (or
    /// the chosen port) accepts there. Configs that set their own <c>listeners</c> must bind it.</param>
    /// <param name="format">Run before the server starts, with the config file's path (e.g. <c>kafka-storage.sh format</c>).</param>
    public static async Task<BrokerProcess> StartAsync(IDictionary<string, string>? extraConfig = null, string? reuseDirectory = null, int? reusePort = null,
        IDictionary<string, string>? environment = null, int? openFilesLimit = null, IPAddress? address = null, Func<string, Task>? format = null)
    {
        address ??= IPAddress.Loopback;
        var directory = reuseDirectory ?? System.IO.Directory.CreateTempSubdirectory("samsa-broker-").FullName;
        var port = reusePort ?? FreePort();
        var config = new Dictionary<string, string>
        {
            ["node.id"] = "1",
            ["listeners"] = $"PLAINTEXT://{address}:{port}",
            ["log.dirs"] = Path.Combine(directory, "data"),
            // As Kafka's own integration tests: the first rebalance of a group starts at once.
            ["group.initial.rebalance.delay.ms"] = "0",
            ["offsets.topic.replication.factor"] = "1",
        };
        foreach (var (k, v) in extraConfig ?? new Dictionary<string, string>())
        {
            config[k] = v;
        }
        var configFile = Path.Combine(directory, "server.properties");
        await File.WriteAllLinesAsync(configFile, config.Select(kv => $"{kv.Key}={kv.Value}"));
        if (format is not null)
        {
            await format(configFile);
        }

        var start = new ProcessStartInfo("timeout")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        // bash execs dotnet, so the server stays the direct child of timeout (KillAsync and ResidentBytes rely on it).
        string[] server = openFilesLimit is { } limit
            ? ["bash", "-c", $"ulimit -n {limit} && exec dotnet \"$@\"", "bash", RepoPaths.ServerDll, "--config", configFile]
            : ["dotnet", RepoPaths.ServerDll, "--config", configFile];
        foreach (var a in new[] { "--signal=TERM", ((int)Lifetime.TotalSeconds).ToString() }.Concat(server))
        {
            start.ArgumentList.Add(a);
        }
        var process = Process.Start(start)!;
        var broker = new BrokerProcess(process, port, directory, address);
        process.OutputDataReceived += (_, e) => broker.Append(e.Data);
        process.ErrorDataReceived += (_, e) => broker.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await broker.WaitUntilListeningAsync(TimeSpan.FromSeconds(30));
        return broker;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private async Task WaitUntilListeningAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"broker exited with {_process.ExitCode} before listening:\n{Output}");
            }
            try
            {
                using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await client.ConnectAsync(Address, Port);
                // Hang up and wait for the broker to close its side: it has then released the probe's connection slot,
                // so tests of connection limits start from zero.
                client.Shutdown(SocketShutdown.Send);
                using var closed = new CancellationTokenSource(TimeSpan.FromSeconds(Math.Max(1, (timeout - deadline.Elapsed).TotalSeconds)));
                while (await client.ReceiveAsync(new byte[16], SocketFlags.None, closed.Token) > 0)
                {
                }
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        throw new TimeoutException($"broker did not listen on {Port} within {timeout}:\n{Output}");
    }

    /// <summary>Resident memory of the broker itself (the child of <c>timeout</c>), in bytes.</summary>
    public long ResidentBytes()
    {
        var children = File.ReadAllText($"/proc/{_process.Id}/task/{_process.Id}/children").Trim();
        var pid = children.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? _process.Id.ToString();
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }

    /// <summary>SIGKILL to the server process itself (not the timeout wrapper): no shutdown code runs.</summary>
    public async Task KillAsync()
    {
        var children = File.ReadAllText($"/proc/{_process.Id}/task/{_process.Id}/children").Trim();
        foreach (var pid in children.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            using var kill = Process.Start("kill", ["-KILL", pid]);
            await kill.WaitForExitAsync();
        }
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, then wait for the broker to shut down; returns its exit code.</summary>
    public async Task<int> StopAsync(TimeSpan? timeout = null)
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString()]);
            await kill.WaitForExitAsync();
            using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
            try
            {
                await _process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
                throw new TimeoutException("broker did not stop after SIGTERM:\n" + Output);
            }
        }
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (TimeoutException)
        {
            // Already killed; the failing test reports its own assertion.
        }
        _process.Dispose();
        if (!DeleteOnDispose)
        {
            return;
        }
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by a dying process; the temp folder is cleaned by the OS.
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
