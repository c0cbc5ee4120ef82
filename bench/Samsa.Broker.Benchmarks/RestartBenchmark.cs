using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Samsa.Benchmarks.Shared;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;

namespace Samsa.Broker.Benchmarks;

/// <summary>
/// Restart time of a real <c>samsa-server</c> process over a data dir of 300 segments (10 partitions x 30), at two
/// segment sizes, until every partition answers ListOffsets with its end offset:
/// <list type="bullet">
/// <item>after SIGKILL straight after the writes (every segment past the recovery-point checkpoint is re-scanned;
/// the checkpoint interval is set to an hour so it is all of them at both sizes, the worst case), and</item>
/// <item>after SIGTERM (the clean-shutdown marker: no segment is re-scanned, so the time should not depend on
/// the data size).</item>
/// </list>
/// Beside them, in the same run: the same broker started on an empty data dir (process start, metadata, listener).
/// Each restart's "Recovering unflushed segment" lines (storage event 3002) of partition logs are counted from the
/// broker's output; the metadata log's own (its active segment, re-scanned on every start: it is not one of the log
/// manager's logs) are left out.
/// The segment files stay in the page cache between the runs (no cache is dropped), so the recovery figure is
/// CPU-bound re-scanning (CRC and record walk), not disk reads.
/// </summary>
internal static class RestartBenchmark
{
    private const int Partitions = 10;
    private const int SegmentsPerPartition = 30;
    private const string Topic = "restart-bench";
    private const string RecoveringLine = "Recovering unflushed segment";

    public static async Task RunAsync(string[] args)
    {
        var inv = CultureInfo.InvariantCulture;
        var sizesMiB = args.Length > 0 ? args[0].Split(',').Select(s => int.Parse(s, inv)).ToArray() : [1, 8];
        var cleanRounds = Math.Max(1, args.Length > 1 ? int.Parse(args[1], inv) : 3);
        var server = BenchServer.ServerDll();
        Console.WriteLine($"Restart benchmark: {Partitions} partitions x {SegmentsPerPartition} segments of {string.Join(" and ", sizesMiB.Select(s => $"{s} MiB"))}; "
            + $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}; load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}; server {server}");

        var rows = new List<string>();
        var empty = new List<double>();
        var root = Directory.CreateTempSubdirectory("samsa-restart-bench-").FullName;
        try
        {
            for (var i = 0; i < cleanRounds; i++)
            {
                var dir = Path.Combine(root, $"empty-{i}");
                await using var broker = ServerProcess.Start(server, dir, null);
                var started = await broker.WaitServedAsync(null, 0, null);
                empty.Add(started.TotalMilliseconds);
                await broker.StopAsync();
            }
            var reference = Median(empty);
            Console.WriteLine(string.Create(inv, $"empty data dir, start to listening: {string.Join(", ", empty.Select(e => $"{e:F0}"))} ms"));

            var clean = new Dictionary<int, double>();
            foreach (var sizeMiB in sizesMiB)
            {
                var dir = Path.Combine(root, $"segments-{sizeMiB}");
                var config = new Dictionary<string, string> { ["log.flush.offset.checkpoint.interval.ms"] = "3600000" };
                long[] ends;
                await using (var writer = ServerProcess.Start(server, dir, config))
                {
                    await writer.WaitServedAsync(null, 0, null);
                    ends = Write(writer.Endpoint, sizeMiB);
                    await writer.KillAsync();
                }
                var segments = Directory.EnumerateFiles(dir, "*.log", SearchOption.AllDirectories).Count(f => Path.GetFileName(Path.GetDirectoryName(f)!).StartsWith(Topic, StringComparison.Ordinal));
                var bytes = Directory.EnumerateFiles(dir, "*.log", SearchOption.AllDirectories).Where(f => Path.GetFileName(Path.GetDirectoryName(f)!).StartsWith(Topic, StringComparison.Ordinal)).Sum(f => new FileInfo(f).Length);
                Console.WriteLine(string.Create(inv, $"{sizeMiB} MiB segments: {segments} segment files, {bytes / 1048576.0:F0} MiB of records"));

                double unclean;
                int uncleanRecovered;
                await using (var broker = ServerProcess.Start(server, dir, config))
                {
                    unclean = (await broker.WaitServedAsync(Topic, Partitions, ends)).TotalMilliseconds;
                    uncleanRecovered = broker.Count(RecoveringLine);
                    Console.WriteLine(string.Create(inv, $"  after SIGKILL: {unclean:F0} ms, {uncleanRecovered} segments recovered; {broker.Line("partition logs from disk")}"));
                    await broker.StopAsync();
                }
                var cleanTimes = new List<double>();
                var cleanRecovered = 0;
                for (var round = 0; round < cleanRounds; round++)
                {
                    await using var broker = ServerProcess.Start(server, dir, config);
                    cleanTimes.Add((await broker.WaitServedAsync(Topic, Partitions, ends)).TotalMilliseconds);
                    cleanRecovered += broker.Count(RecoveringLine);
                    Console.WriteLine(string.Create(inv, $"  after SIGTERM: {cleanTimes[^1]:F0} ms, {broker.Count(RecoveringLine)} segments recovered; {broker.Line("partition logs from disk")}"));
                    await broker.StopAsync();
                }
                clean[sizeMiB] = Median(cleanTimes);
                rows.Add(string.Create(inv, $"| {segments} segments x {sizeMiB} MiB ({bytes / 1048576.0:F0} MiB) | {unclean:F0} ms ({uncleanRecovered} segments recovered) | {clean[sizeMiB]:F0} ms ({cleanRecovered} recovered in {cleanRounds} restarts) | {unclean / clean[sizeMiB]:F1} | {clean[sizeMiB] / reference:F2} |"));
                Directory.Delete(dir, recursive: true);
            }

            Console.WriteLine();
            Console.WriteLine(string.Create(inv, $"Until every partition answers ListOffsets with its end offset; clean figure = median of {cleanRounds} restarts; reference = start on an empty data dir, median {reference:F0} ms."));
            Console.WriteLine();
            Console.WriteLine("| data dir | restart after SIGKILL | restart after SIGTERM | SIGKILL / SIGTERM | SIGTERM / empty-dir start |");
            Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
            rows.ForEach(Console.WriteLine);
            if (clean.Count >= 2)
            {
                var sizes = clean.Keys.Order().ToList();
                Console.WriteLine(string.Create(inv, $"| clean restart, {sizes[^1]} MiB / {sizes[0]} MiB segments | | {clean[sizes[^1]]:F0} / {clean[sizes[0]]:F0} ms | | ratio {clean[sizes[^1]] / clean[sizes[0]]:F2} |"));
            }
            Console.WriteLine();
            Console.WriteLine(string.Create(inv, $"Load average at the end: {File.ReadAllText("/proc/loadavg").Split(' ')[0]}"));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    /// <summary>Creates the topic and fills every partition with 29 full segments and one more batch (the active 30th); returns the end offsets.</summary>
    private static long[] Write(IPEndPoint endpoint, int segmentMiB)
    {
        var segmentBytes = segmentMiB * 1024 * 1024;
        using var client = new RawClient(endpoint);
        client.CreateTopic(Topic, Partitions, ("segment.bytes", segmentBytes.ToString(CultureInfo.InvariantCulture)));
        var batch = BuildBatch(64 * 1024, 1024);
        var perSegment = segmentBytes / batch.Length;
        var batches = (SegmentsPerPartition - 1) * perSegment + 1;
        for (var p = 0; p < Partitions; p++)
        {
            var frame = client.Frame(new ProduceRequest
            {
                Acks = 1,
                TimeoutMs = 30_000,
                TopicData = [new() { Name = Topic, PartitionData = [new() { Index = p, Records = batch }] }],
            }, 9);
            for (var i = 0; i < batches; i++)
            {
                client.Send(frame);
                var error = client.Receive<ProduceResponse>(Protocol.ApiKey.Produce, 9).Responses[0].PartitionResponses[0].ErrorCode;
                if (error != 0)
                {
                    throw new InvalidOperationException($"Produce failed with error {error}");
                }
            }
        }
        return client.EndOffsets(Topic, Partitions) ?? throw new InvalidOperationException("end offsets unavailable after writing");
    }

    private static byte[] BuildBatch(int batchBytes, int recordSize)
    {
        var value = new byte[recordSize];
        new Random(1).NextBytes(value);
        using var builder = new RecordBatchBuilder();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        while (RecordBatch.HeaderSize + builder.UncompressedRecordsSize + recordSize + 16 <= batchBytes)
        {
            builder.Append(now, null, value);
        }
        return builder.Build();
    }

    /// <summary>A samsa-server process on a free loopback port with its output kept.</summary>
    private sealed class ServerProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();
        private readonly Stopwatch _sinceStart;

        private ServerProcess(Process process, IPEndPoint endpoint, Stopwatch sinceStart)
        {
            _process = process;
            Endpoint = endpoint;
            _sinceStart = sinceStart;
        }

        public IPEndPoint Endpoint { get; }

        public static ServerProcess Start(string server, string dataDir, IDictionary<string, string>? config)
        {
            var port = BenchServer.FreePort();
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            var overrides = new Dictionary<string, string>
            {
                ["node.id"] = "1",
                ["listeners"] = $"PLAINTEXT://127.0.0.1:{port}",
                ["log.dirs"] = dataDir,
            };
            foreach (var (k, v) in config ?? new Dictionary<string, string>())
            {
                overrides[k] = v;
            }
            start.ArgumentList.Add(server);
            foreach (var (k, v) in overrides)
            {
                start.ArgumentList.Add("--override");
                start.ArgumentList.Add($"{k}={v}");
            }
            var clock = Stopwatch.StartNew();
            var process = Process.Start(start)!;
            var server1 = new ServerProcess(process, new IPEndPoint(IPAddress.Loopback, port), clock);
            process.OutputDataReceived += (_, e) => server1.Append(e.Data);
            process.ErrorDataReceived += (_, e) => server1.Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return server1;
        }

        private void Append(string? line)
        {
            if (line is not null)
            {
                lock (_output)
                {
                    _output.AppendLine(line);
                }
            }
        }

        private string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public int Count(string text) => Output.Split('\n').Count(l => l.Contains(text, StringComparison.Ordinal) && !l.Contains("__cluster_metadata", StringComparison.Ordinal));

        public string Line(string text) => Output.Split('\n').FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal))?.Trim() ?? "";

        /// <summary>Time since the process started until it listens, and (with a topic) every partition answers its end offset.</summary>
        public async Task<TimeSpan> WaitServedAsync(string? topic, int partitions, long[]? ends)
        {
            var deadline = TimeSpan.FromMinutes(5);
            RawClient? client = null;
            try
            {
                while (client is null)
                {
                    try
                    {
                        client = new RawClient(Endpoint);
                    }
                    catch (SocketException)
                    {
                        if (_process.HasExited || _sinceStart.Elapsed > deadline)
                        {
                            throw new InvalidOperationException("broker did not listen:\n" + Output);
                        }
                        await Task.Delay(5);
                    }
                }
                while (topic is not null && !(client.EndOffsets(topic, partitions) is { } offsets && offsets.SequenceEqual(ends!)))
                {
                    if (_sinceStart.Elapsed > deadline)
                    {
                        throw new TimeoutException($"{topic} not served:\n{Output}");
                    }
                    await Task.Delay(5);
                }
                return _sinceStart.Elapsed;
            }
            finally
            {
                client?.Dispose();
            }
        }

        public async Task KillAsync()
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        public async Task StopAsync()
        {
            using var term = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
            await term.WaitForExitAsync();
            await _process.WaitForExitAsync();
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                await KillAsync();
            }
            _process.Dispose();
        }
    }
}
