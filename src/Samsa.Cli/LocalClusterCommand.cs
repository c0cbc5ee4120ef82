using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Samsa.Broker.Config;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Cli;

/// <summary>
/// <c>samsa cluster start</c> and <c>samsa cluster stop</c>: a local cluster in one command, for trying Samsa the way
/// the usual three-broker docker-compose file is used. <c>start --nodes N</c> writes N combined
/// (<c>process.roles=broker,controller</c>) nodes, ids 1..N, under <c>--base-dir</c> (default <c>./samsa-cluster</c>):
/// <c>node-i/server.properties</c>, data in <c>node-i/data</c>, and <c>node-i/logs</c> as the node's LOG_DIR
/// (<c>kafkaServer.out</c>, <c>samsa-server.pid</c>). Node i's broker listener is <c>localhost:(base-port + i - 1)</c>
/// (9092, 9093, 9094 ...) and its controller listener <c>localhost:(controller-base-port + i - 1)</c> (19092, 19093,
/// 19094 ...; the controller base port defaults to base port + 10000). Every node is formatted with one cluster id
/// and the static <c>controller.quorum.voters</c>, then started as <c>bin/kafka-server-start.sh -daemon</c> does;
/// start returns once every node answers Metadata on its broker port listing all N brokers, and prints the bootstrap
/// string. A base dir that already holds the cluster is started again on its data (no format).
/// <c>stop</c> sends SIGTERM to the pids in the pid files and waits for the servers to exit.
/// </summary>
internal static class LocalClusterCommand
{
    private const string PidFile = "samsa-server.pid";

    public static void AddTo(Command cluster)
    {
        var start = new Command("start", "Start a local cluster of combined broker/controller nodes as background processes.");
        var nodes = new Option<int>("--nodes", "-n") { Description = "The number of nodes (ids 1..N).", DefaultValueFactory = _ => 3 };
        var baseDir = BaseDirOption();
        var clusterId = new Option<string>("--cluster-id", "-t") { Description = "The cluster id to format with (default: a random one)." };
        var basePort = new Option<int>("--base-port") { Description = "Node i's broker listener port is base-port + i - 1.", DefaultValueFactory = _ => 9092 };
        var controllerBasePort = new Option<int?>("--controller-base-port") { Description = "Node i's controller listener port is controller-base-port + i - 1 (default: base-port + 10000)." };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for every node to serve.", DefaultValueFactory = _ => 120 };
        start.Add(nodes);
        start.Add(baseDir);
        start.Add(clusterId);
        start.Add(basePort);
        start.Add(controllerBasePort);
        start.Add(timeout);
        start.SetAction((r, ct) => CommandRunner.RunAsync(() => StartAsync(new StartRequest(
            r.GetValue(nodes), Path.GetFullPath(r.GetValue(baseDir)!), r.GetValue(clusterId), r.GetValue(basePort),
            r.GetValue(controllerBasePort) ?? r.GetValue(basePort) + 10000, TimeSpan.FromSeconds(r.GetValue(timeout))), ct), "", errorsToStdout: false));
        cluster.Add(start);

        var stop = new Command("stop", "Stop the local cluster started with `samsa cluster start`.");
        var stopDir = BaseDirOption();
        stop.Add(stopDir);
        stop.SetAction((r, ct) => CommandRunner.RunAsync(() => StopAsync(Path.GetFullPath(r.GetValue(stopDir)!), ct), "", errorsToStdout: false));
        cluster.Add(stop);
    }

    private static Option<string> BaseDirOption() => new("--base-dir")
    {
        Description = "The directory holding the nodes' configs, data and logs.",
        DefaultValueFactory = _ => "samsa-cluster",
    };

    private sealed record StartRequest(int Nodes, string BaseDir, string? ClusterId, int BasePort, int ControllerBasePort, TimeSpan Timeout);

    private static string NodeDir(string baseDir, int id) => Path.Combine(baseDir, $"node-{id}");

    private static string LogDir(string baseDir, int id) => Path.Combine(NodeDir(baseDir, id), "logs");

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static async Task StartAsync(StartRequest request, CancellationToken cancellationToken)
    {
        if (request.Nodes < 1)
        {
            throw new CommandException($"--nodes must be at least 1, not {request.Nodes}.");
        }
        var ids = Enumerable.Range(1, request.Nodes).ToList();
        int BrokerPort(int id) => request.BasePort + id - 1;
        int ControllerPort(int id) => request.ControllerBasePort + id - 1;
        var ports = ids.Select(BrokerPort).Concat(ids.Select(ControllerPort)).ToList();
        if (ports.Any(p => p is < 1 or > 65535) || ports.Distinct().Count() != ports.Count)
        {
            throw new CommandException($"The ports {string.Join(",", ports)} must be distinct and within 1-65535; choose --base-port and --controller-base-port.");
        }
        if (Running(request.BaseDir) is var running and > 0)
        {
            throw new CommandException($"A cluster is already running in {request.BaseDir} ({running} node(s)); stop it with `samsa cluster stop --base-dir {request.BaseDir}`.");
        }
        var existing = ExistingNodes(request.BaseDir);
        if (existing.Count > 0 && !existing.SequenceEqual(ids))
        {
            throw new CommandException($"{request.BaseDir} holds a cluster of {existing.Count} node(s), not {request.Nodes}; pass --nodes {existing.Count} or another --base-dir.");
        }
        if (ports.FirstOrDefault(p => !PortIsFree(p)) is var taken and > 0)
        {
            throw new CommandException($"Port {taken} is already in use; choose other ports with --base-port (and --controller-base-port).");
        }

        var clusterId = ExistingClusterId(request.BaseDir, ids) ?? request.ClusterId ?? Uuid.Random().ToString();
        if (request.ClusterId is not null && request.ClusterId != clusterId)
        {
            throw new CommandException($"{request.BaseDir} is formatted with cluster id {clusterId}, not {request.ClusterId}.");
        }
        var voters = string.Join(",", ids.Select(id => $"{id}@localhost:{ControllerPort(id)}"));
        var home = SamsaHome();
        await EnsureServerBuiltAsync(home, cancellationToken);
        foreach (var id in ids)
        {
            var config = Path.Combine(NodeDir(request.BaseDir, id), "server.properties");
            Directory.CreateDirectory(LogDir(request.BaseDir, id));
            await File.WriteAllTextAsync(config, NodeConfig(id, BrokerPort(id), ControllerPort(id), voters, Path.Combine(NodeDir(request.BaseDir, id), "data")), cancellationToken);
            if (existing.Count == 0)
            {
                StorageCommand.Format(new StorageCommand.FormatRequest(clusterId, config, IgnoreFormatted: false, Standalone: false, NoInitialControllers: false, InitialControllers: null));
            }
        }

        var started = new List<int>();
        try
        {
            foreach (var id in ids)
            {
                await StartNodeAsync(home, Path.Combine(NodeDir(request.BaseDir, id), "server.properties"), LogDir(request.BaseDir, id), cancellationToken);
                started.Add(id);
            }
            await WaitForBrokersAsync(request, ids, BrokerPort, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // No half-started cluster is left behind: what started is stopped, and the logs say why.
            await StopNodesAsync(request.BaseDir, CancellationToken.None);
            throw new CommandException($"{e.Message} The servers' output is in {Path.Combine(request.BaseDir, "node-*", "logs", "kafkaServer.out")}.");
        }

        var bootstrap = string.Join(",", ids.Select(id => $"localhost:{BrokerPort(id)}"));
        Console.WriteLine($"Started {request.Nodes} Samsa node(s) with cluster id {clusterId} in {request.BaseDir}.");
        Console.WriteLine($"Bootstrap servers: {bootstrap}");
        Console.WriteLine($"Controller quorum: {voters}");
        foreach (var id in ids)
        {
            Console.WriteLine($"Node {id}: broker localhost:{BrokerPort(id)}, controller localhost:{ControllerPort(id)}, log {Path.Combine(LogDir(request.BaseDir, id), "kafkaServer.out")}");
        }
        Console.WriteLine($"Stop with: samsa cluster stop --base-dir {request.BaseDir}");
    }

    /// <summary>One combined node, in config/kraft/server.properties' style, with this cluster's ports and quorum.</summary>
    private static string NodeConfig(int id, int brokerPort, int controllerPort, string voters, string dataDir) => $"""
        # Written by `samsa cluster start`: node {id} of a local cluster, a combined broker and controller.
        process.roles=broker,controller
        node.id={id}
        # The static controller quorum: every node of the cluster is a voter.
        controller.quorum.voters={voters}
        listeners=PLAINTEXT://localhost:{brokerPort},CONTROLLER://localhost:{controllerPort}
        inter.broker.listener.name=PLAINTEXT
        advertised.listeners=PLAINTEXT://localhost:{brokerPort}
        controller.listener.names=CONTROLLER
        listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
        log.dirs={dataDir}
        num.partitions=1
        # Samsa does not replicate partitions between brokers yet: internal topics have one replica.
        offsets.topic.replication.factor=1
        transaction.state.log.replication.factor=1
        transaction.state.log.min.isr=1

        """;

    /// <summary>Node ids whose data dir is formatted, in order.</summary>
    private static List<int> ExistingNodes(string baseDir) =>
        !Directory.Exists(baseDir) ? [] : [.. Directory.EnumerateDirectories(baseDir, "node-*")
            .Select(d => int.TryParse(Path.GetFileName(d)["node-".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : 0)
            .Where(id => id > 0 && File.Exists(Path.Combine(NodeDir(baseDir, id), "data", MetaProperties.FileName)))
            .Order()];

    private static string? ExistingClusterId(string baseDir, IEnumerable<int> ids) =>
        ids.Select(id => MetaProperties.Read(Path.Combine(NodeDir(baseDir, id), "data"))?.ClusterId).FirstOrDefault(c => c is not null);

    /// <summary>Whether nothing listens on <paramref name="port"/>, on any IPv4 or IPv6 address.</summary>
    private static bool PortIsFree(int port)
    {
        foreach (var address in Socket.OSSupportsIPv6 ? new[] { IPAddress.Any, IPAddress.IPv6Any } : [IPAddress.Any])
        {
            try
            {
                var listener = new TcpListener(address, port);
                listener.Server.ExclusiveAddressUse = false;
                if (address.Equals(IPAddress.IPv6Any))
                {
                    listener.Server.DualMode = false;
                }
                listener.Start();
                listener.Stop();
            }
            catch (SocketException)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// The checkout the CLI runs from: <c>$SAMSA_HOME</c>, else the nearest directory above this assembly holding
    /// <c>bin/kafka-server-start.sh</c> (the CLI is built to src/Samsa.Cli/bin/&lt;configuration&gt;/net10.0).
    /// </summary>
    private static string SamsaHome()
    {
        if (Environment.GetEnvironmentVariable("SAMSA_HOME") is { Length: > 0 } configured)
        {
            return configured;
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "bin", "kafka-server-start.sh")))
            {
                return dir.FullName;
            }
        }
        throw new CommandException($"Cannot find bin/kafka-server-start.sh above {AppContext.BaseDirectory}; set SAMSA_HOME to the Samsa checkout.");
    }

    /// <summary>
    /// bin/samsa-run picks the newest of the Release and Debug server builds and builds Release when there is none;
    /// that build runs here once, before the nodes start, rather than in every node's samsa-run at once.
    /// </summary>
    private static async Task EnsureServerBuiltAsync(string home, CancellationToken cancellationToken)
    {
        if (new[] { "Release", "Debug" }.Any(c => File.Exists(Path.Combine(home, "src", "Samsa.Server", "bin", c, "net10.0", "samsa-server.dll"))))
        {
            return;
        }
        Console.WriteLine("Building samsa-server (Release) ...");
        var result = await RunAsync("dotnet", ["build", Path.Combine(home, "src", "Samsa.Server"), "-c", "Release", "-nologo", "-v", "q", "-clp:ErrorsOnly"], null, cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new CommandException($"Building samsa-server failed: {result.Output.Trim()}");
        }
    }

    /// <summary>bin/kafka-server-start.sh -daemon with the node's LOG_DIR: output to kafkaServer.out, pid to samsa-server.pid.</summary>
    private static async Task StartNodeAsync(string home, string config, string logDir, CancellationToken cancellationToken)
    {
        var result = await RunAsync(Path.Combine(home, "bin", "kafka-server-start.sh"), ["-daemon", config], new Dictionary<string, string> { ["LOG_DIR"] = logDir }, cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new CommandException($"kafka-server-start.sh -daemon {config} failed: {result.Output.Trim()}");
        }
    }

    /// <summary>Polls every node's broker port with Metadata until each lists all the nodes as brokers.</summary>
    private static async Task WaitForBrokersAsync(StartRequest request, List<int> ids, Func<int, int> brokerPort, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + request.Timeout;
        var ready = new HashSet<int>();
        while (true)
        {
            foreach (var id in ids.Where(id => !ready.Contains(id)).ToList())
            {
                if (!Alive(ReadPid(LogDir(request.BaseDir, id))))
                {
                    throw new CommandException($"Node {id} exited; see {Path.Combine(LogDir(request.BaseDir, id), "kafkaServer.out")}.");
                }
                if (await BrokerCountAsync(brokerPort(id), cancellationToken) == ids.Count)
                {
                    ready.Add(id);
                }
            }
            if (ready.Count == ids.Count)
            {
                return;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new CommandException($"Timed out after {request.Timeout.TotalSeconds:0}s waiting for node(s) {string.Join(",", ids.Except(ready))} to serve.");
            }
            await Task.Delay(250, cancellationToken);
        }
    }

    private static async Task<int> BrokerCountAsync(int port, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            using var client = await KafkaWireClient.ConnectAsync("localhost", port, timeout.Token);
            var metadata = await client.SendAsync<MetadataResponse>(new MetadataRequest { Topics = [] }, 1, timeout.Token);
            return metadata.Brokers.Count;
        }
        catch (Exception e) when (e is SocketException or IOException or CommandException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return 0;
        }
    }

    private static async Task StopAsync(string baseDir, CancellationToken cancellationToken)
    {
        var stopped = await StopNodesAsync(baseDir, cancellationToken);
        if (stopped == 0)
        {
            throw new CommandException($"No Samsa cluster is running in {baseDir}.");
        }
        Console.WriteLine($"Stopped {stopped} Samsa node(s) in {baseDir}.");
    }

    /// <summary>SIGTERM (a clean shutdown) to every live pid in the base dir's pid files; waits for each to exit.</summary>
    private static async Task<int> StopNodesAsync(string baseDir, CancellationToken cancellationToken)
    {
        var pids = new List<(string LogDir, int Pid)>();
        foreach (var logDir in PidDirs(baseDir))
        {
            var pid = ReadPid(logDir);
            if (Alive(pid))
            {
                pids.Add((logDir, pid!.Value));
                await RunAsync("kill", ["-s", "TERM", Text(pid.Value)], null, cancellationToken);
            }
            else
            {
                File.Delete(Path.Combine(logDir, PidFile));
            }
        }
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        foreach (var (logDir, pid) in pids)
        {
            while (Alive(pid) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, cancellationToken);
            }
            if (Alive(pid))
            {
                throw new CommandException($"The server with pid {pid} did not stop within 60s; see {Path.Combine(logDir, "kafkaServer.out")}.");
            }
            File.Delete(Path.Combine(logDir, PidFile));
        }
        return pids.Count;
    }

    private static List<string> PidDirs(string baseDir) =>
        !Directory.Exists(baseDir) ? [] : [.. Directory.EnumerateDirectories(baseDir, "node-*")
            .Select(d => Path.Combine(d, "logs"))
            .Where(d => File.Exists(Path.Combine(d, PidFile)))
            .Order(StringComparer.Ordinal)];

    private static int Running(string baseDir) => PidDirs(baseDir).Count(d => Alive(ReadPid(d)));

    private static int? ReadPid(string logDir)
    {
        try
        {
            return int.TryParse(File.ReadAllText(Path.Combine(logDir, PidFile)).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Whether the pid is a live Samsa server (a reused pid running something else is not).</summary>
    private static bool Alive(int? pid)
    {
        if (pid is null)
        {
            return false;
        }
        try
        {
            using var process = Process.GetProcessById(pid.Value);
            if (process.HasExited)
            {
                return false;
            }
            var proc = $"/proc/{pid}";
            if (Directory.Exists(proc))
            {
                // A zombie (exited, not yet reaped by whoever adopted the daemon) has stopped.
                var zombie = File.ReadLines(Path.Combine(proc, "status")).Any(l => l.StartsWith("State:", StringComparison.Ordinal) && l.Contains('Z', StringComparison.Ordinal));
                var cmdline = File.ReadAllText(Path.Combine(proc, "cmdline"));
                return !zombie && (cmdline.Contains("samsa-server", StringComparison.Ordinal) || cmdline.Contains("samsa-run", StringComparison.Ordinal));
            }
            return true;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private sealed record RunResult(int ExitCode, string Output);

    private static async Task<RunResult> RunAsync(string file, IEnumerable<string> args, IDictionary<string, string>? environment, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }
        using var process = Process.Start(start) ?? throw new CommandException($"Could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return new RunResult(process.ExitCode, await stdout + await stderr);
    }
}
