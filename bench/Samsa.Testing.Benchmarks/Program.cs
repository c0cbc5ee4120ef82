using System.Diagnostics;
using System.Runtime.InteropServices;
using Confluent.Kafka;
using Samsa.Native;
using Samsa.Testing;

// Issue 19's fast-start figure. Each sample: SamsaCluster.StartAsync with one seed topic, a new Confluent.Kafka
// producer, and its first ProduceAsync acknowledged (acks=all) -- the clock stops at the delivery report; the
// cluster is disposed outside the clock. The reference, in the same process and run: the same producer's first
// produce (new producer, connect, metadata, produce) against one cluster that is already running, so the ratio
// says what the broker's start adds to what the client costs anyway. WARMUP starts first, untimed (JIT).
// Usage: Samsa.Testing.Benchmarks.dll [--starts N (50)] [--warmup N (3)] [--disk]   (--disk: data under the temp folder, not /dev/shm)
var starts = 50;
var warmup = 3;
var inMemory = true;
var trace = false;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--starts": starts = int.Parse(args[++i]); break;
        case "--warmup": warmup = int.Parse(args[++i]); break;
        case "--disk": inMemory = false; break;
        case "--trace": trace = true; break;
        default: throw new ArgumentException($"Unknown argument {args[i]}");
    }
}

try
{
    CentOs8Librdkafka.EnsureLoaded();
}
catch (InvalidOperationException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}

Console.WriteLine($"Samsa.Testing start -> first produce: {starts} starts after {warmup} untimed, data {(inMemory ? "in /dev/shm" : "under the temp folder")}; " +
    $"{Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Trim()}, {RuntimeInformation.OSDescription}, .NET {Environment.Version}, librdkafka {Library.VersionString}");

if (trace)
{
    // Where a first produce's time goes: when each request reaches the broker, from the producer's creation.
    await using var traced = await SamsaCluster.StartAsync(o => o.Topic("bench").InMemory(inMemory));
    var clock = Stopwatch.StartNew();
    foreach (var key in Enum.GetValues<Samsa.Protocol.ApiKey>())
    {
        traced.Intercept(key, request =>
        {
            Console.WriteLine($"{clock.Elapsed.TotalMilliseconds,8:F1} ms  {request.ApiKey} v{request.ApiVersion} on {request.ConnectionId}");
            return request.Continue();
        });
    }
    for (var i = 0; i < 3; i++)
    {
        clock.Restart();
        var delivered = await FirstProduceAsync(traced.BootstrapServers, clock);
        Console.WriteLine($"{delivered.TotalMilliseconds,8:F1} ms  delivery report");
    }
    return 0;
}

var startToProduce = new List<double>();
var startOnly = new List<double>();
for (var i = 0; i < warmup + starts; i++)
{
    var clock = Stopwatch.StartNew();
    var cluster = await SamsaCluster.StartAsync(o => o.Topic("bench").InMemory(inMemory));
    var started = clock.Elapsed.TotalMilliseconds;
    var produced = (await FirstProduceAsync(cluster.BootstrapServers, clock)).TotalMilliseconds;
    await cluster.DisposeAsync();
    if (i >= warmup)
    {
        startOnly.Add(started);
        startToProduce.Add(produced);
    }
}

var reference = new List<double>();
await using (var running = await SamsaCluster.StartAsync(o => o.Topic("bench").InMemory(inMemory)))
{
    for (var i = 0; i < warmup + starts; i++)
    {
        var delivered = await FirstProduceAsync(running.BootstrapServers, Stopwatch.StartNew());
        if (i >= warmup)
        {
            reference.Add(delivered.TotalMilliseconds);
        }
    }
}

// Returns when the delivery report is in; the producer's disposal (librdkafka's destroy, ~100 ms of thread joins)
// is the test's teardown and is left out of the clock.
static async Task<TimeSpan> FirstProduceAsync(string bootstrap, Stopwatch clock)
{
    using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = bootstrap, LingerMs = 0, Acks = Acks.All }).Build();
    var delivered = await producer.ProduceAsync("bench", new Message<Null, string> { Value = "first" });
    var elapsed = clock.Elapsed;
    if (delivered.Status != PersistenceStatus.Persisted)
    {
        throw new InvalidOperationException($"first produce not persisted: {delivered.Status}");
    }
    return elapsed;
}

static string Line(string what, List<double> samples)
{
    var sorted = samples.Order().ToList();
    double At(double q) => sorted[(int)Math.Min(sorted.Count - 1, Math.Round(q * (sorted.Count - 1)))];
    return $"| {what} | {At(0.5):F1} | {At(0.9):F1} | {sorted[0]:F1} | {sorted[^1]:F1} |";
}

double Median(List<double> samples) => samples.Order().ElementAt(samples.Count / 2);
Console.WriteLine("| ms | median | p90 | min | max |");
Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
Console.WriteLine(Line("reference: a new producer's first produce to a running broker", reference));
Console.WriteLine(Line("SamsaCluster.StartAsync (1 broker, 1 seed topic)", startOnly));
Console.WriteLine(Line("start -> first produce acknowledged", startToProduce));
Console.WriteLine($"ratio start->first produce / reference (medians): {Median(startToProduce) / Median(reference):F2}; target median < 150 ms: {(Median(startToProduce) < 150 ? "met" : "missed")}");
return Median(startToProduce) < 150 ? 0 : 1;
