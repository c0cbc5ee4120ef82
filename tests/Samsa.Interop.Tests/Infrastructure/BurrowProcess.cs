using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;

namespace Samsa.Interop.Tests.Infrastructure;

/// <summary>
/// LinkedIn's Burrow (Debian <c>burrow</c>) watching one Samsa broker, with the ZooKeeper it insists on for its own
/// coordination (Debian <c>zookeeper</c>, a standalone server on a free port; Samsa itself needs none). Burrow reads
/// committed offsets from <c>__consumer_offsets</c> and log-end offsets with ListOffsets, as it does against Kafka,
/// and serves its lag evaluation on HTTP. Both processes run under <c>timeout</c> and are killed on dispose, with
/// their directory.
/// </summary>
public sealed class BurrowProcess : IAsyncDisposable
{
    public const string Executable = "/usr/bin/Burrow";
    private const string ZooKeeperJar = "/usr/share/java/zookeeper.jar";

    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);

    private readonly Process _zooKeeper;
    private readonly Process _burrow;
    private readonly string _directory;
    private readonly HttpClient _http;
    private readonly System.Text.StringBuilder _log;

    private BurrowProcess(Process zooKeeper, Process burrow, System.Text.StringBuilder log, string directory, int httpPort)
    {
        _log = log;
        _zooKeeper = zooKeeper;
        _burrow = burrow;
        _directory = directory;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}/"), Timeout = TimeSpan.FromSeconds(5) };
    }

    /// <summary>The cluster's name in Burrow's configuration and URLs.</summary>
    public const string Cluster = "samsa";

    public static void RequirePeers()
    {
        Peers.Require(Executable);
        Peers.Require("java");
        if (!File.Exists(ZooKeeperJar))
        {
            throw new InvalidOperationException($"Interop peer ZooKeeper is missing ({ZooKeeperJar}; apt-get install zookeeper).");
        }
    }

    /// <summary>
    /// Starts ZooKeeper and Burrow against <paramref name="bootstrap"/>, evaluating over <paramref name="intervals"/>
    /// stored commits at least a second apart, with the evaluator's cache and the refreshes at one second so a test
    /// sees changes within seconds.
    /// </summary>
    public static async Task<BurrowProcess> StartAsync(string bootstrap, int intervals = 5)
    {
        RequirePeers();
        var directory = Directory.CreateTempSubdirectory("samsa-burrow-").FullName;
        var zkPort = BrokerProcess.FreePort();
        var zooKeeper = Start("java", ["-cp", $"{ZooKeeperJar}:/usr/share/java/*", "-Dzookeeper.admin.enableServer=false",
            "org.apache.zookeeper.server.ZooKeeperServerMain", zkPort.ToString(), Path.Combine(directory, "zookeeper")]);
        await WaitForZooKeeperAsync(zkPort, zooKeeper);

        var httpPort = BrokerProcess.FreePort();
        var servers = $"[ \"{bootstrap}\" ]";
        await File.WriteAllTextAsync(Path.Combine(directory, "burrow.toml"), $$"""
            [general]
            pidfile="{{Path.Combine(directory, "burrow.pid")}}"

            [logging]
            level="info"

            [zookeeper]
            servers=[ "127.0.0.1:{{zkPort}}" ]
            timeout=15
            root-path="/burrow"

            [client-profile.samsa]
            client-id="burrow"
            kafka-version="2.1.0"

            [cluster.{{Cluster}}]
            class-name="kafka"
            servers={{servers}}
            client-profile="samsa"
            topic-refresh=1
            offset-refresh=1

            [consumer.{{Cluster}}]
            class-name="kafka"
            cluster="{{Cluster}}"
            servers={{servers}}
            client-profile="samsa"
            group-blacklist=""
            group-whitelist=""

            [httpserver.default]
            address="127.0.0.1:{{httpPort}}"

            [storage.default]
            class-name="inmemory"
            workers=2
            intervals={{intervals}}
            expire-group=604800
            min-distance=1

            [evaluator.default]
            class-name="caching"
            expire-cache=1
            """);
        var log = new System.Text.StringBuilder();
        var burrow = Start(Executable, ["--config-dir", directory], line =>
        {
            if (!line.Contains("\"level\":\"info\"", StringComparison.Ordinal) && !line.Contains("\"level\":\"debug\"", StringComparison.Ordinal))
            {
                lock (log)
                {
                    log.AppendLine(line);
                }
            }
        });
        var process = new BurrowProcess(zooKeeper, burrow, log, directory, httpPort);
        try
        {
            await WaitForPortAsync(httpPort, burrow, "Burrow");
        }
        catch (Exception e)
        {
            await process.DisposeAsync();
            throw new InvalidOperationException($"{e.Message}; Burrow said:\n{log}", e);
        }
        return process;
    }

    /// <summary>Burrow's consumer-group list for the cluster (<c>/v3/kafka/{cluster}/consumer</c>).</summary>
    public async Task<string[]> ConsumerGroupsAsync()
    {
        var json = await _http.GetFromJsonAsync<JsonElement>($"v3/kafka/{Cluster}/consumer");
        return [.. json.GetProperty("consumers").EnumerateArray().Select(e => e.GetString()!)];
    }

    /// <summary>Burrow's evaluation of a group (<c>/v3/kafka/{cluster}/consumer/{group}/lag</c>), or null while it has none.</summary>
    public async Task<GroupStatus?> StatusAsync(string group)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.GetAsync($"v3/kafka/{Cluster}/consumer/{group}/lag");
        }
        catch (HttpRequestException e)
        {
            throw new InvalidOperationException($"Burrow does not answer ({(_burrow.HasExited ? $"exited with {_burrow.ExitCode}" : "running")}); it said:\n{Log}", e);
        }
        using var _ = response;
        if (!response.IsSuccessStatusCode)
        {
            return null;
        }
        return ParseStatus(await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    /// <summary>A group's status from a Burrow <c>.../lag</c> answer (Burrow's or Samsa's, which answers in its shape).</summary>
    public static GroupStatus ParseStatus(JsonElement answer)
    {
        var status = answer.GetProperty("status");
        var partitions = status.GetProperty("partitions").EnumerateArray()
            .Select(p => new PartitionStatus(p.GetProperty("topic").GetString()!, p.GetProperty("partition").GetInt32(),
                p.GetProperty("status").GetString()!, p.GetProperty("current_lag").GetInt64()))
            .ToArray();
        return new GroupStatus(status.GetProperty("status").GetString()!, status.GetProperty("totallag").GetInt64(), partitions);
    }

    public sealed record PartitionStatus(string Topic, int Partition, string Status, long CurrentLag);

    public sealed record GroupStatus(string Status, long TotalLag, PartitionStatus[] Partitions)
    {
        public override string ToString() =>
            $"{Status}, total lag {TotalLag}: {string.Join(", ", Partitions.Select(p => $"{p.Topic}-{p.Partition} {p.Status} lag {p.CurrentLag}"))}";
    }

    /// <summary>What Burrow logged above info (warnings, errors, anything not in its JSON log format), for failure messages.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        foreach (var process in new[] { _burrow, _zooKeeper })
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
            process.Dispose();
        }
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still being closed by a dying process; the temp directory is left behind.
        }
    }

    private static Process Start(string file, IEnumerable<string> args, Action<string>? onLine = null)
    {
        var start = new ProcessStartInfo("timeout")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "--signal=KILL", ((int)Lifetime.TotalSeconds).ToString(), file }.Concat(args))
        {
            start.ArgumentList.Add(a);
        }
        var process = Process.Start(start)!;
        // Drained so a chatty process never blocks on a full pipe.
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { onLine?.Invoke(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { onLine?.Invoke(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Until ZooKeeper answers its <c>srvr</c> command (serving, not only accepting), under a loaded machine's JVM start.</summary>
    private static async Task WaitForZooKeeperAsync(int port, Process process)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"ZooKeeper exited with {process.ExitCode} before serving on {port}");
            }
            try
            {
                using var socket = new TcpClient();
                await socket.ConnectAsync("127.0.0.1", port);
                var stream = socket.GetStream();
                await stream.WriteAsync("srvr"u8.ToArray());
                using var reader = new StreamReader(stream);
                if ((await reader.ReadToEndAsync()).Contains("Mode: standalone", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (IOException)
            {
            }
            catch (SocketException)
            {
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"ZooKeeper did not serve on {port} within 60 s");
    }

    private static async Task WaitForPortAsync(int port, Process process, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{what} exited with {process.ExitCode} before listening on {port}");
            }
            try
            {
                using var socket = new TcpClient();
                await socket.ConnectAsync("127.0.0.1", port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }
        throw new TimeoutException($"{what} did not listen on {port} within 30 s");
    }
}
