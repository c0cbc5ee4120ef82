using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Samsa.Benchmarks.Shared;

// Issue 12's latency soak. Starts its own samsa-server, then for the run's length: a Confluent.Kafka producer sends
// RATE messages a second with acks=all (paced every millisecond, linger.ms=0, no idempotence) to a 3-partition
// topic; a consumer in a group reads them and auto-commits its offsets every second; an admin client creates a
// topic every 3 s. Each message carries its send time (Stopwatch), so the consumer measures produce->consume
// latency in the same clock; the delivery report gives the produce-ack latency. The first WARMUP seconds are
// left out (connections, the group's first join). Prints p50/p99/p99.9/p99.99/max of both and the targets
// (max <= 100 ms, p99.99 <= 20 ms); exits 1 when a target is missed (with --smoke: only when a message was lost).
// Usage: Samsa.Latency.Benchmarks.dll [--minutes N (10)] [--seconds N] [--rate N (2000)] [--warmup N (5)] [--smoke]
var seconds = 600;
var rate = 2000;
var warmup = 5;
var smoke = false;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--minutes": seconds = int.Parse(args[++i]) * 60; break;
        case "--seconds": seconds = int.Parse(args[++i]); break;
        case "--rate": rate = int.Parse(args[++i]); break;
        case "--warmup": warmup = int.Parse(args[++i]); break;
        case "--smoke": smoke = true; break;
        default: throw new ArgumentException($"Unknown argument {args[i]}");
    }
}
const string Topic = "latency-soak";
const int ValueBytes = 100;
Console.WriteLine($"Latency soak: {rate} msg/s, acks=all, {ValueBytes}-byte values, {seconds} s (+{warmup} s warm-up); topic created every 3 s, group auto-commit every 1 s; " +
    $"{Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Trim()}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}, librdkafka {Library.VersionString}");

await using var server = await ServerProcess.StartAsync();
var bootstrap = $"127.0.0.1:{server.Port}";
using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build())
{
    await admin.CreateTopicsAsync([new TopicSpecification { Name = Topic, NumPartitions = 3, ReplicationFactor = 1 }]);
}

var total = (long)(seconds + warmup) * rate + rate;
var sentAt = new long[total];
var ackTicks = new long[total];
var e2eTicks = new long[total];
Array.Fill(ackTicks, -1);
Array.Fill(e2eTicks, -1);
var measureFrom = (long)warmup * rate;
using var stop = new CancellationTokenSource();

// Consumer first, so the group has joined before the first message is sent.
var assigned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
var consumed = 0L;
var consumerThread = new Thread(() =>
{
    using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
    {
        BootstrapServers = bootstrap,
        GroupId = "latency-soak-group",
        AutoOffsetReset = AutoOffsetReset.Earliest,
        EnableAutoCommit = true,
        AutoCommitIntervalMs = 1000,
        FetchWaitMaxMs = 100,
    }).SetPartitionsAssignedHandler((_, partitions) => { if (partitions.Count > 0) { assigned.TrySetResult(); } }).Build();
    consumer.Subscribe(Topic);
    while (!stop.IsCancellationRequested)
    {
        var result = consumer.Consume(100);
        if (result?.Message?.Value is not { Length: >= 16 } value)
        {
            continue;
        }
        var now = Stopwatch.GetTimestamp();
        var sequence = BinaryPrimitives.ReadInt64BigEndian(value.AsSpan(8));
        if (sequence >= 0 && sequence < total)
        {
            e2eTicks[sequence] = now - BinaryPrimitives.ReadInt64BigEndian(value);
        }
        Interlocked.Increment(ref consumed);
    }
    consumer.Close();
})
{ Name = "consumer", IsBackground = true };
consumerThread.Start();
await assigned.Task.WaitAsync(TimeSpan.FromSeconds(60));

// Topic creation every 3 s: metadata log fsync and new partition directories while the data path runs.
var created = 0;
var creator = Task.Run(async () =>
{
    using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
    while (!stop.IsCancellationRequested)
    {
        try
        {
            await Task.Delay(3000, stop.Token);
            await admin.CreateTopicsAsync([new TopicSpecification { Name = $"latency-soak-created-{created}", NumPartitions = 3, ReplicationFactor = 1 }]);
            created++;
        }
        catch (OperationCanceledException)
        {
            return;
        }
    }
});

var sent = 0L;
var deliveryErrors = 0L;
using (var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig
{
    BootstrapServers = bootstrap,
    Acks = Acks.All,
    LingerMs = 0,
    EnableIdempotence = false,
}).Build())
{
    var clock = Stopwatch.StartNew();
    var end = TimeSpan.FromSeconds(seconds + warmup);
    while (clock.Elapsed < end && sent < total)
    {
        var due = Math.Min(total, (long)(clock.Elapsed.TotalSeconds * rate));
        while (sent < due)
        {
            var sequence = sent++;
            var value = new byte[ValueBytes];
            var now = Stopwatch.GetTimestamp();
            sentAt[sequence] = now;
            BinaryPrimitives.WriteInt64BigEndian(value, now);
            BinaryPrimitives.WriteInt64BigEndian(value.AsSpan(8), sequence);
            producer.Produce(Topic, new Message<Null, byte[]> { Value = value }, report =>
            {
                if (report.Error.IsError)
                {
                    Interlocked.Increment(ref deliveryErrors);
                    return;
                }
                ackTicks[sequence] = Stopwatch.GetTimestamp() - sentAt[sequence];
            });
        }
        Thread.Sleep(1);
    }
    producer.Flush(TimeSpan.FromSeconds(30));
}
// Let the consumer catch the last messages.
var drainUntil = Stopwatch.StartNew();
while (Interlocked.Read(ref consumed) < sent && drainUntil.Elapsed < TimeSpan.FromSeconds(30))
{
    Thread.Sleep(50);
}
stop.Cancel();
await creator;
consumerThread.Join(TimeSpan.FromSeconds(30));

var acks = Measured(ackTicks, measureFrom, sent);
var e2e = Measured(e2eTicks, measureFrom, sent);
Console.WriteLine($"sent {sent - measureFrom} measured messages ({sent} in all); delivery errors {deliveryErrors}; acked {acks.Length}; consumed {e2e.Length}; topics created during the run {created}");
Console.WriteLine("| latency (ms) | p50 | p99 | p99.9 | p99.99 | max |");
Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
Row("produce ack (acks=all)", acks);
Row("produce -> consume", e2e);
var met = Meets(acks) && Meets(e2e) && acks.Length > 0 && e2e.Length > 0;
Console.WriteLine($"targets (max <= 100 ms, p99.99 <= 20 ms): {(met ? "met" : "MISSED")}");
var complete = deliveryErrors == 0 && acks.Length == sent - measureFrom && e2e.Length == sent - measureFrom;
return smoke ? (complete ? 0 : 1) : met ? 0 : 1;

static double[] Measured(long[] ticks, long from, long to)
{
    var values = new List<double>();
    for (var i = from; i < to; i++)
    {
        if (ticks[i] >= 0)
        {
            values.Add(ticks[i] * 1000.0 / Stopwatch.Frequency);
        }
    }
    values.Sort();
    return [.. values];
}

static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p / 100 * sorted.Length) - 1)];

static void Row(string name, double[] sorted) => Console.WriteLine(
    $"| {name} | {Percentile(sorted, 50):0.00} | {Percentile(sorted, 99):0.00} | {Percentile(sorted, 99.9):0.00} | {Percentile(sorted, 99.99):0.00} | {(sorted.Length == 0 ? double.NaN : sorted[^1]):0.00} |");

static bool Meets(double[] sorted) => sorted.Length > 0 && sorted[^1] <= 100 && Percentile(sorted, 99.99) <= 20;

/// <summary>samsa-server as its own process on a free port with a temp data dir, removed at the end.</summary>
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

    public int Port { get; }

    public static async Task<ServerProcess> StartAsync()
    {
        var serverDll = BenchServer.ServerDll();
        var directory = Directory.CreateTempSubdirectory("samsa-latency-soak-").FullName;
        var port = BenchServer.FreePort();
        // `timeout` ends the broker even if this process is killed before it can.
        var start = new ProcessStartInfo("timeout", ["7200", "dotnet", serverDll,
            "--override", $"listeners=PLAINTEXT://127.0.0.1:{port}",
            "--override", $"log.dirs={directory}",
            "--override", "offsets.topic.replication.factor=1"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("samsa-server did not start");
        // The broker's own log goes to stderr prefixed, so a stall with a log line next to it is visible.
        process.OutputDataReceived += (_, e) => { if (e.Data is not null && Environment.GetEnvironmentVariable("SAMSA_BENCH_SERVER_LOG") == "1") Console.Error.WriteLine($"[server] {e.Data}"); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"[server] {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ServerProcess(process, port, directory);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return server;
            }
            catch (SocketException) when (attempt < 100 && !process.HasExited)
            {
                await Task.Delay(100);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
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
