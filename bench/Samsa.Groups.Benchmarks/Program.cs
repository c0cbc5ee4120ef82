using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Samsa.Benchmarks.Shared;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

// The group coordinator under load (issue 6). A real samsa-server process; GROUPS groups of MEMBERS members, each
// member on its own connection speaking the classic consumer protocol by hand, all joining at once (FindCoordinator,
// JoinGroup with KIP-394's member-id round, SyncGroup with a range assignment made by the leader), then committing its
// partitions every INTERVAL ms and heartbeating every 3 s for SECONDS seconds.
// Reference measured in the same run and on the same connections: once a second each member also sends ApiVersions,
// whose round trip is what any request costs under this load (loopback, framing, dispatch); commit latency beside it
// is the coordinator's own share (validation, the __consumer_offsets append, the response).
// Usage: dotnet bench/Samsa.Groups.Benchmarks/bin/Release/net10.0/Samsa.Groups.Benchmarks.dll [groups] [members] [seconds] [interval-ms]
var groupCount = args.Length > 0 ? int.Parse(args[0]) : 1000;
var membersPerGroup = args.Length > 1 ? int.Parse(args[1]) : 3;
var seconds = args.Length > 2 ? int.Parse(args[2]) : 60;
var commitInterval = TimeSpan.FromMilliseconds(args.Length > 3 ? int.Parse(args[3]) : 100);
const string Topic = "group-bench";

Console.WriteLine($"Consumer group benchmark: {groupCount} groups x {membersPerGroup} members, commit every {commitInterval.TotalMilliseconds:0} ms for {seconds} s; " +
    $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");

await using var server = await ServerProcess.StartAsync();
using (var admin = await WireConnection.ConnectAsync(server.Port))
{
    var created = await admin.SendAsync<CreateTopicsResponse>(new CreateTopicsRequest
    {
        Topics = [new CreateTopicsRequest.CreatableTopic { Name = Topic, NumPartitions = membersPerGroup, ReplicationFactor = 1 }],
        timeoutMs = 30_000,
    }, 7);
    var error = (ErrorCode)created.Topics[0].ErrorCode;
    if (error != ErrorCode.None && error != ErrorCode.TopicAlreadyExists)
    {
        throw new InvalidOperationException($"CreateTopics: {error}");
    }
}

var run = new RunState(groupCount * membersPerGroup, commitInterval);
var members = new List<Member>();
for (var g = 0; g < groupCount; g++)
{
    for (var m = 0; m < membersPerGroup; m++)
    {
        members.Add(new Member($"bench-group-{g:D5}", Topic, membersPerGroup, run));
    }
}

var joinWatch = Stopwatch.StartNew();
var tasks = members.Select(m => Task.Run(m.RunAsync)).ToArray();
var allMembers = Task.WhenAll(tasks);
Task first;
try
{
    first = await Task.WhenAny(run.AllStable, allMembers).WaitAsync(TimeSpan.FromMinutes(5));
}
catch (TimeoutException)
{
    foreach (var stuck in members.Where(m => !m.IsStable).Take(20))
    {
        Console.Error.WriteLine($"not stable after 5 minutes: {stuck}");
    }
    throw;
}
if (first == allMembers)
{
    await allMembers; // a member failed before the group was stable: its exception ends the run
}
var joinSeconds = joinWatch.Elapsed.TotalSeconds;

// The measured window starts once every member is stable.
var brokerCpuBefore = server.CpuTime();
var selfCpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
run.StartWindow();
await Task.Delay(TimeSpan.FromSeconds(seconds));
run.StopWindow();
var window = run.WindowLength;
var brokerCpu = server.CpuTime() - brokerCpuBefore;
var selfCpu = Process.GetCurrentProcess().TotalProcessorTime - selfCpuBefore;
await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromMinutes(2));

var commits = members.SelectMany(m => m.CommitMicros).ToArray();
var probes = members.SelectMany(m => m.ProbeMicros).ToArray();
Array.Sort(commits);
Array.Sort(probes);
double Percentile(int[] sorted, double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))] / 1000.0;

Console.WriteLine();
Console.WriteLine("| figure | value | reference: ApiVersions round trip, same connections, same window | ratio |");
Console.WriteLine("| --- | --- | --- | --- |");
Console.WriteLine($"| join: all {members.Count} members stable after | {joinSeconds:0.00} s (group.initial.rebalance.delay.ms set to Kafka's 3 s) | | |");
Console.WriteLine($"| commits in {window.TotalSeconds:0.0} s | {commits.Length:N0} ({commits.Length / window.TotalSeconds:N0}/s, asked {members.Count * 1000.0 / commitInterval.TotalMilliseconds:N0}/s) | {probes.Length:N0} probes | |");
foreach (var p in new[] { 0.50, 0.99, 0.999 })
{
    var c = Percentile(commits, p);
    var r = Percentile(probes, p);
    Console.WriteLine($"| commit latency p{p * 100:0.#} | {c:0.00} ms | {r:0.00} ms | {c / r:0.00}x |");
}
Console.WriteLine($"| commit latency max | {Percentile(commits, 1):0.00} ms | {Percentile(probes, 1):0.00} ms | |");
Console.WriteLine($"| broker (coordinator) CPU | {brokerCpu.TotalSeconds / window.TotalSeconds * 100:0}% of one core, {brokerCpu.TotalMicroseconds / Math.Max(1, commits.Length + probes.Length):0.0} µs per request | load generator {selfCpu.TotalSeconds / window.TotalSeconds * 100:0}% | |");
Console.WriteLine($"| errors / rejoins in the window | {members.Sum(m => m.Errors)} / {members.Sum(m => m.Rejoins)} | | |");
return members.Sum(m => m.Errors) == 0 ? 0 : 1;

/// <summary>The shared clock of the run: when members count latencies, and when they stop.</summary>
sealed class RunState(int members, TimeSpan commitInterval)
{
    private readonly TaskCompletionSource _allStable = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _stable;
    private long _windowStart;
    private long _windowEnd;

    public TimeSpan CommitInterval { get; } = commitInterval;
    public CancellationTokenSource Stop { get; } = new();
    public bool InWindow => Volatile.Read(ref _windowStart) != 0 && Volatile.Read(ref _windowEnd) == 0;
    public TimeSpan WindowLength => Stopwatch.GetElapsedTime(_windowStart, _windowEnd);
    public Task AllStable => _allStable.Task;

    public void MemberStable()
    {
        if (Interlocked.Increment(ref _stable) == members)
        {
            _allStable.TrySetResult();
        }
    }

    public void StartWindow() => Volatile.Write(ref _windowStart, Stopwatch.GetTimestamp());

    public void StopWindow()
    {
        Volatile.Write(ref _windowEnd, Stopwatch.GetTimestamp());
        Stop.Cancel();
    }
}

/// <summary>One consumer as the classic protocol sees it, driven by hand on its own connection.</summary>
sealed class Member(string groupId, string topic, int partitions, RunState run)
{
    private static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(1);
    private WireConnection? _connection;
    private string _memberId = "";
    private int _generation = -1;
    private List<int> _assigned = [];
    private long _offset;

    public List<int> CommitMicros { get; } = new(capacity: 700);
    public List<int> ProbeMicros { get; } = new(capacity: 70);
    public int Errors { get; private set; }
    public int Rejoins { get; private set; }
    public bool IsStable { get; private set; }

    /// <summary>Where the member is in its join, for a run whose join never completes.</summary>
    private string _phase = "connecting";

    public override string ToString() => $"{groupId} member '{_memberId}' generation {_generation}: {_phase}";

    public async Task RunAsync()
    {
        _connection = await WireConnection.ConnectAsync(ServerProcess.CurrentPort);
        await FindCoordinatorAsync();
        await JoinAndSyncAsync();
        IsStable = true;
        run.MemberStable();

        var lastHeartbeat = Stopwatch.GetTimestamp();
        var lastProbe = Stopwatch.GetTimestamp();
        using var ticks = new PeriodicTimer(run.CommitInterval);
        try
        {
            while (await ticks.WaitForNextTickAsync(run.Stop.Token))
            {
                await CommitAsync();
                if (Stopwatch.GetElapsedTime(lastProbe) >= ProbeInterval)
                {
                    lastProbe = Stopwatch.GetTimestamp();
                    var started = Stopwatch.GetTimestamp();
                    await _connection.SendAsync<ApiVersionsResponse>(new ApiVersionsRequest { ClientSoftwareName = "samsa-group-bench", ClientSoftwareVersion = "1" }, 3);
                    Record(ProbeMicros, started);
                }
                if (Stopwatch.GetElapsedTime(lastHeartbeat) >= HeartbeatInterval)
                {
                    lastHeartbeat = Stopwatch.GetTimestamp();
                    var heartbeat = await _connection.SendAsync<HeartbeatResponse>(new HeartbeatRequest { GroupId = groupId, GenerationId = _generation, MemberId = _memberId }, 4);
                    await HandleGroupError((ErrorCode)heartbeat.ErrorCode, "Heartbeat");
                }
            }
        }
        catch (OperationCanceledException) when (run.Stop.IsCancellationRequested)
        {
        }
        await _connection.SendAsync<LeaveGroupResponse>(new LeaveGroupRequest { GroupId = groupId, Members = [new LeaveGroupRequest.MemberIdentity { MemberId = _memberId }] }, 5);
        _connection.Dispose();
    }

    private async Task FindCoordinatorAsync()
    {
        // The first lookup creates __consumer_offsets; until its partitions have leaders the answer is COORDINATOR_NOT_AVAILABLE.
        for (var attempt = 0; ; attempt++)
        {
            _phase = $"FindCoordinator attempt {attempt}";
            var found = await _connection!.SendAsync<FindCoordinatorResponse>(new FindCoordinatorRequest { KeyType = 0, CoordinatorKeys = [groupId] }, 4);
            var error = (ErrorCode)found.Coordinators[0].ErrorCode;
            if (error == ErrorCode.None)
            {
                return;
            }
            if (attempt > 300 || (error != ErrorCode.CoordinatorNotAvailable && error != ErrorCode.CoordinatorLoadInProgress))
            {
                throw new InvalidOperationException($"FindCoordinator {groupId}: {error}");
            }
            await Task.Delay(100);
        }
    }

    private async Task JoinAndSyncAsync()
    {
        var subscription = VersionPrefixed(new ConsumerProtocolSubscription { Topics = [topic] }, 0);
        while (true)
        {
            _phase = "waiting for JoinGroup";
            var join = await _connection!.SendAsync<JoinGroupResponse>(new JoinGroupRequest
            {
                GroupId = groupId,
                SessionTimeoutMs = 45_000,
                RebalanceTimeoutMs = 300_000,
                MemberId = _memberId,
                ProtocolType = "consumer",
                Protocols = [new JoinGroupRequest.JoinGroupRequestProtocol { Name = "range", Metadata = subscription }],
            }, 9, TimeSpan.FromMinutes(6));
            var error = (ErrorCode)join.ErrorCode;
            if (error == ErrorCode.MemberIdRequired)
            {
                _memberId = join.MemberId;
                continue;
            }
            if (error is ErrorCode.CoordinatorLoadInProgress or ErrorCode.NotCoordinator or ErrorCode.CoordinatorNotAvailable)
            {
                await Task.Delay(100); // the shard is still loading its partition, as a client would retry
                continue;
            }
            if (error is ErrorCode.RebalanceInProgress or ErrorCode.UnknownMemberId or ErrorCode.IllegalGeneration)
            {
                if (error == ErrorCode.UnknownMemberId)
                {
                    _memberId = "";
                }
                continue;
            }
            if (error != ErrorCode.None)
            {
                throw new InvalidOperationException($"JoinGroup {groupId}: {error}");
            }
            _memberId = join.MemberId;
            _generation = join.GenerationId;
            var assignments = new List<SyncGroupRequest.SyncGroupRequestAssignment>();
            if (join.Leader == _memberId)
            {
                // Range assignment of one topic: sorted members, contiguous partition ranges.
                var sorted = join.Members.Select(m => m.MemberId).Order(StringComparer.Ordinal).ToList();
                for (var i = 0; i < sorted.Count; i++)
                {
                    var owned = Enumerable.Range(0, partitions).Where(p => p * sorted.Count / partitions == i).ToList();
                    var assignment = new ConsumerProtocolAssignment { AssignedPartitions = [new ConsumerProtocolAssignment.TopicPartition { Topic = topic, Partitions = owned }] };
                    assignments.Add(new SyncGroupRequest.SyncGroupRequestAssignment { MemberId = sorted[i], Assignment = VersionPrefixed(assignment, 0) });
                }
            }
            _phase = $"waiting for SyncGroup (leader {join.Leader})";
            var sync = await _connection.SendAsync<SyncGroupResponse>(new SyncGroupRequest
            {
                GroupId = groupId,
                GenerationId = _generation,
                MemberId = _memberId,
                ProtocolType = "consumer",
                ProtocolName = "range",
                Assignments = assignments,
            }, 5, TimeSpan.FromMinutes(6));
            var syncError = (ErrorCode)sync.ErrorCode;
            if (syncError is ErrorCode.RebalanceInProgress or ErrorCode.IllegalGeneration or ErrorCode.UnknownMemberId)
            {
                continue;
            }
            if (syncError != ErrorCode.None)
            {
                throw new InvalidOperationException($"SyncGroup {groupId}: {syncError}");
            }
            _assigned = ReadAssignment(sync.Assignment);
            _phase = "stable";
            return;
        }
    }

    private async Task CommitAsync()
    {
        if (_assigned.Count == 0)
        {
            return;
        }
        _offset++;
        var started = Stopwatch.GetTimestamp();
        var response = await _connection!.SendAsync<OffsetCommitResponse>(new OffsetCommitRequest
        {
            GroupId = groupId,
            GenerationIdOrMemberEpoch = _generation,
            MemberId = _memberId,
            Topics = [new OffsetCommitRequest.OffsetCommitRequestTopic
            {
                Name = topic,
                Partitions = _assigned.Select(p => new OffsetCommitRequest.OffsetCommitRequestPartition { PartitionIndex = p, CommittedOffset = _offset }).ToList(),
            }],
        }, 8);
        Record(CommitMicros, started);
        foreach (var partition in response.Topics.SelectMany(t => t.Partitions))
        {
            await HandleGroupError((ErrorCode)partition.ErrorCode, "OffsetCommit");
        }
    }

    /// <summary>A rebalance in the window is counted and rejoined; anything else is an error of the run.</summary>
    private async Task HandleGroupError(ErrorCode error, string api)
    {
        if (error == ErrorCode.None)
        {
            return;
        }
        if (run.Stop.IsCancellationRequested)
        {
            return; // members leaving at the end rebalance the others; that is not part of the measurement
        }
        if (error is ErrorCode.RebalanceInProgress or ErrorCode.IllegalGeneration or ErrorCode.UnknownMemberId)
        {
            // Late joiners rebalance their group before the window opens; only rejoins inside it are reported.
            if (run.InWindow)
            {
                Rejoins++;
            }
            await JoinAndSyncAsync();
            return;
        }
        Errors++;
        Console.Error.WriteLine($"{api} {groupId} {_memberId}: {error}");
    }

    private void Record(List<int> samples, long started)
    {
        if (run.InWindow)
        {
            samples.Add((int)Stopwatch.GetElapsedTime(started).TotalMicroseconds);
        }
    }

    private static byte[] VersionPrefixed(IProtocolStruct message, short version)
    {
        var body = message.ToArray(version);
        var bytes = new byte[2 + body.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt16BigEndian(bytes, version);
        body.CopyTo(bytes, 2);
        return bytes;
    }

    private static List<int> ReadAssignment(byte[] bytes)
    {
        if (bytes.Length < 2)
        {
            return [];
        }
        var version = System.Buffers.Binary.BinaryPrimitives.ReadInt16BigEndian(bytes);
        var reader = new ProtocolReader(bytes.AsSpan(2));
        var assignment = new ConsumerProtocolAssignment();
        assignment.Read(ref reader, Math.Min(version, ConsumerProtocolAssignment.HighestVersion));
        return assignment.AssignedPartitions.SelectMany(t => t.Partitions).ToList();
    }
}

/// <summary>One connection, one request at a time, framed by <see cref="RequestFrames"/>.</summary>
sealed class WireConnection : IDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _sizePrefix = new byte[4];
    private int _correlationId;

    private WireConnection(Socket socket) => _socket = socket;

    public static async Task<WireConnection> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, port);
        return new WireConnection(socket);
    }

    public async Task<T> SendAsync<T>(IApiMessage request, short version, TimeSpan? timeout = null) where T : IApiMessage, new()
    {
        var correlationId = ++_correlationId;
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        await _socket.SendAsync(RequestFrames.Build(request, version, correlationId, "samsa-group-bench"), SocketFlags.None, deadline.Token);
        await ReceiveExactly(_sizePrefix, deadline.Token);
        var payload = new byte[RequestFrames.PayloadSize(_sizePrefix)];
        await ReceiveExactly(payload, deadline.Token);
        return RequestFrames.ReadResponse<T>(payload, request.ApiKey, version, correlationId);
    }

    private async Task ReceiveExactly(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (buffer.Length > 0)
        {
            var read = await _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            if (read == 0)
            {
                throw new IOException("The broker closed the connection");
            }
            buffer = buffer[read..];
        }
    }

    public void Dispose() => _socket.Dispose();
}

/// <summary>samsa-server as its own process on a free port and a temporary directory, stopped by itself after 15 minutes at the latest.</summary>
sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private ServerProcess(Process process, int port, string directory)
    {
        _process = process;
        Port = port;
        _directory = directory;
    }

    public static int CurrentPort { get; private set; }

    public int Port { get; }

    public static async Task<ServerProcess> StartAsync()
    {
        var serverDll = BenchServer.ServerDll();
        var directory = Directory.CreateTempSubdirectory("samsa-group-bench-").FullName;
        var port = BenchServer.FreePort();
        var start = new ProcessStartInfo("timeout", ["900", "dotnet", serverDll,
            "--override", $"listeners=PLAINTEXT://127.0.0.1:{port}",
            "--override", $"log.dirs={directory}",
            "--override", "offsets.topic.replication.factor=1",
            // Kafka's code default, not the zero-config 0: the join figures measure joins behind Kafka's 3 s delay.
            "--override", "group.initial.rebalance.delay.ms=3000",
            // Kafka's default backlog of 50 overflows when 3,000 members connect in the same instant: the kernel drops
            // the handshake's last ACK, the client believes it is connected and its first request can sit unanswered
            // for minutes (TcpExtListenOverflows counts them). Operators raise it for such fleets; so does the bench.
            "--override", "socket.listen.backlog.size=4096"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("samsa-server did not start");
        process.OutputDataReceived += (_, e) => { if (e.Data is not null && Environment.GetEnvironmentVariable("SAMSA_BENCH_SERVER_LOG") == "1") Console.Error.WriteLine($"[server] {e.Data}"); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"[server] {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ServerProcess(process, port, directory);
        CurrentPort = port;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                using var connection = await WireConnection.ConnectAsync(port);
                await connection.SendAsync<ApiVersionsResponse>(new ApiVersionsRequest { ClientSoftwareName = "samsa-group-bench", ClientSoftwareVersion = "1" }, 3);
                return server;
            }
            catch (Exception) when (attempt < 100 && !process.HasExited)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>The server's user + system CPU time so far, from /proc (the `timeout` wrapper's child).</summary>
    public TimeSpan CpuTime()
    {
        var children = File.ReadAllText($"/proc/{_process.Id}/task/{_process.Id}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var pid = children.Length > 0 ? int.Parse(children[0]) : _process.Id;
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // Fields 14 and 15 of stat (utime, stime), counted from after the command name: indexes 11 and 12.
        var ticks = long.Parse(fields[11]) + long.Parse(fields[12]);
        return TimeSpan.FromSeconds(ticks / 100.0);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // coreutils' timeout passes the signal on to the server, which shuts down cleanly.
            using var term = Process.Start("kill", ["-TERM", _process.Id.ToString()]);
            await term!.WaitForExitAsync();
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
