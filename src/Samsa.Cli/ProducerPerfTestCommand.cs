using System.CommandLine;
using System.Diagnostics;
using Confluent.Kafka;

namespace Samsa.Cli;

/// <summary>
/// <c>samsa producer-perf-test</c> = <c>kafka-producer-perf-test.sh</c>: sends <c>--num-records</c> records of
/// <c>--record-size</c> bytes as fast as allowed by <c>--throughput</c> (-1: no limit) and prints Kafka's lines:
/// a progress line every 5 seconds and the final line with average and maximum latency and the 50th, 95th, 99th
/// and 99.9th percentiles. Latency is measured from send to acknowledgement, as Kafka's tool does.
/// With <c>--transactional-id</c>, <c>--transaction-duration-ms</c> or a <c>transactional.id</c> property it sends
/// in transactions as Kafka's <c>ProducerPerformance</c> does: the id defaults to <c>performance-producer-</c> and a
/// random UUID, a transaction begins before a send when none is open and is committed after the first send made at
/// least the duration (3000 ms by default) after it began, and the last open one is committed at the end.
/// </summary>
internal sealed class ProducerPerfTestCommand
{
    private readonly Option<string> _topic = new("--topic") { Description = "REQUIRED: produce messages to this topic." };
    private readonly Option<long> _numRecords = new("--num-records") { Description = "REQUIRED: number of messages to produce." };
    private readonly Option<int> _recordSize = new("--record-size") { Description = "message size in bytes." };
    private readonly Option<double> _throughput = new("--throughput") { Description = "REQUIRED: throttle maximum message throughput to *approximately* THROUGHPUT messages/sec. Set this to -1 to disable throttling." };
    private readonly Option<string[]> _producerProps = new("--producer-props") { Description = "kafka producer related configuration properties like bootstrap.servers,client.id etc.", AllowMultipleArgumentsPerToken = true };
    private readonly Option<string> _producerConfig = new("--producer.config") { Description = "producer config properties file." };
    private readonly Option<string> _bootstrap = new("--bootstrap-server") { Description = "The server(s) to connect to (overrides bootstrap.servers in --producer-props)." };
    private readonly Option<string> _transactionalId = new("--transactional-id") { Description = "The transactional id to use. This config takes precedence over the transactional.id specified via --producer.config or --producer-props. Note that if the transactional id is not specified while --transaction-duration-ms is provided, the default value for the transactional id will be performance-producer- followed by a random uuid." };
    private readonly Option<long?> _transactionDurationMs = new("--transaction-duration-ms") { Description = "The max age of each transaction. The commitTransaction will be called after this time has elapsed. The value should be greater than 0. If the transactional id is specified via --producer-props, --producer.config, or --transactional-id but --transaction-duration-ms is not specified, the default value will be 3000." };

    public Command Build()
    {
        var command = new Command("producer-perf-test", "This tool is used to verify the producer performance (kafka-producer-perf-test.sh).");
        foreach (var option in new Option[] { _topic, _numRecords, _recordSize, _throughput, _producerProps, _producerConfig, _bootstrap, _transactionalId, _transactionDurationMs })
        {
            command.Add(option);
        }
        command.SetAction((result, ct) => CommandRunner.RunAsync(() => RunAsync(result, ct), "ERROR ", errorsToStdout: false));
        return command;
    }

    private Task RunAsync(ParseResult r, CancellationToken cancellation)
    {
        var topic = r.GetValue(_topic) ?? throw new CommandException("Missing required argument \"[topic]\"");
        var count = r.GetValue(_numRecords);
        var size = r.GetValue(_recordSize);
        var throughput = r.GetValue(_throughput);
        if (count <= 0 || size <= 0)
        {
            throw new CommandException("--num-records and --record-size must be positive");
        }
        var durationArg = r.GetValue(_transactionDurationMs);
        if (durationArg is <= 0)
        {
            throw new CommandException("--transaction-duration-ms should be greater than zero");
        }
        var properties = ClientProperties.Build(r.GetValue(_producerConfig), r.GetValue(_producerProps) ?? [], r.GetValue(_bootstrap));
        var idArg = r.GetValue(_transactionalId);
        var transactional = durationArg is not null || idArg is not null || properties.ContainsKey("transactional.id");
        var transactionDurationMs = durationArg ?? 3000L;
        if (transactional)
        {
            properties["transactional.id"] = idArg ?? properties.GetValueOrDefault("transactional.id") ?? $"performance-producer-{Guid.NewGuid()}";
        }
        var config = new ProducerConfig(properties);
        NativeLibrdkafka.EnsureLoaded();
        using var producer = new ProducerBuilder<Null, byte[]>(config).SetLogHandler((_, _) => { }).Build();
        if (transactional)
        {
            producer.InitTransactions(TimeSpan.FromSeconds(60));
        }

        // Kafka fills the payload with random uppercase letters.
        var payload = new byte[size];
        for (var i = 0; i < size; i++)
        {
            payload[i] = (byte)('A' + Random.Shared.Next(26));
        }
        var stats = new PerfStats(count, TimeSpan.FromSeconds(5));
        var clock = Stopwatch.StartNew();
        var message = new Message<Null, byte[]> { Value = payload };
        var transactionSize = 0;
        long transactionStartMs = 0;
        for (long i = 0; i < count && !cancellation.IsCancellationRequested; i++)
        {
            if (transactional && transactionSize == 0)
            {
                producer.BeginTransaction();
                transactionStartMs = clock.ElapsedMilliseconds;
            }
            var sentAt = clock.ElapsedTicks;
            var sentAtMs = clock.ElapsedMilliseconds;
            while (true)
            {
                try
                {
                    producer.Produce(topic, message, report => stats.Record(clock.ElapsedTicks - sentAt, size, report.Error));
                    break;
                }
                catch (ProduceException<Null, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(10));
                }
            }
            transactionSize++;
            if (transactional && transactionDurationMs <= sentAtMs - transactionStartMs)
            {
                producer.CommitTransaction();
                transactionSize = 0;
            }
            if (throughput > 0)
            {
                var due = (i + 1) / throughput;
                var ahead = due - clock.Elapsed.TotalSeconds;
                if (ahead > 0.001)
                {
                    Thread.Sleep(TimeSpan.FromSeconds(ahead));
                }
            }
        }
        if (transactional && transactionSize != 0)
        {
            producer.CommitTransaction();
        }
        producer.Flush(Timeout.InfiniteTimeSpan);
        stats.PrintTotal();
        return Task.CompletedTask;
    }
}

/// <summary>Kafka's <c>ProducerPerformance.Stats</c>: windows of 5 s, then totals with latency percentiles.</summary>
internal sealed class PerfStats(long expected, TimeSpan reportInterval)
{
    private readonly Lock _lock = new();
    private readonly int[] _latenciesMs = new int[(int)Math.Min(expected, 500_000)];
    private readonly long _sampleEvery = Math.Max(1, expected / 500_000);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _samples;
    private long _count;
    private long _bytes;
    private long _totalLatencyMs;
    private int _maxLatencyMs;
    private long _windowStart;
    private long _windowCount;
    private long _windowBytes;
    private long _windowLatencyMs;
    private int _windowMaxMs;
    private long _errors;

    public void Record(long elapsedTicks, int bytes, Error error)
    {
        var latencyMs = (int)(elapsedTicks * 1000 / Stopwatch.Frequency);
        lock (_lock)
        {
            if (error.IsError)
            {
                if (_errors++ == 0)
                {
                    Console.Error.WriteLine($"ERROR Error when sending message: {error.Reason}");
                }
                return;
            }
            if (_count % _sampleEvery == 0 && _samples < _latenciesMs.Length)
            {
                _latenciesMs[_samples++] = latencyMs;
            }
            _count++;
            _bytes += bytes;
            _totalLatencyMs += latencyMs;
            _maxLatencyMs = Math.Max(_maxLatencyMs, latencyMs);
            _windowCount++;
            _windowBytes += bytes;
            _windowLatencyMs += latencyMs;
            _windowMaxMs = Math.Max(_windowMaxMs, latencyMs);
            var now = _clock.ElapsedMilliseconds;
            if (now - _windowStart >= reportInterval.TotalMilliseconds)
            {
                Print(_windowCount, _windowBytes, now - _windowStart, _windowLatencyMs, _windowMaxMs, suffix: ".");
                _windowStart = now;
                _windowCount = _windowBytes = _windowLatencyMs = 0;
                _windowMaxMs = 0;
            }
        }
    }

    private static void Print(long count, long bytes, long elapsedMs, long latencySumMs, int maxMs, string suffix)
    {
        var seconds = Math.Max(elapsedMs, 1) / 1000.0;
        Console.WriteLine($"{count} records sent, {count / seconds:F1} records/sec ({bytes / seconds / (1024 * 1024):F2} MB/sec), {(double)latencySumMs / Math.Max(count, 1):F1} ms avg latency, {maxMs:F1} ms max latency{suffix}");
    }

    public void PrintTotal()
    {
        lock (_lock)
        {
            var sorted = _latenciesMs.AsSpan(0, (int)_samples).ToArray();
            Array.Sort(sorted);
            int Percentile(double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
            Print(_count, _bytes, _clock.ElapsedMilliseconds, _totalLatencyMs, _maxLatencyMs,
                $", {Percentile(0.5)} ms 50th, {Percentile(0.95)} ms 95th, {Percentile(0.99)} ms 99th, {Percentile(0.999)} ms 99.9th.");
        }
    }
}
