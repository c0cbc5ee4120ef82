using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;

/// <summary>
/// <c>idempotent-fault-produce BOOTSTRAP TOPIC PARTITIONS COUNT RATE</c>: an idempotent producer (acks=all, five
/// requests in flight, small batches) writing COUNT records round-robin over the partitions at RATE records/s, the
/// values of each partition 0, 1, 2, ... as decimal text, through a proxy that drops, delays and cuts. Timeouts are
/// short, so requests time out and are retried while the faults last, and message.timeout.ms is long enough for no
/// record to give up. Prints one JSON line per delivery report: <c>{"p":P,"o":OFFSET,"v":VALUE}</c> when acknowledged,
/// <c>{"p":P,"v":VALUE,"error":"..."}</c> when not; librdkafka's errors go to stderr; the last line is
/// <c>{"done":true,"acked":N,"failed":N,"fatal":"..."|null}</c>. Exit 0 when every record was acknowledged.
/// </summary>
internal static class IdempotentFaultProducer
{
    public static int Run(string bootstrap, string topic, int partitions, int count, int rate)
    {
        var config = new ProducerConfig
        {
            BootstrapServers = bootstrap,
            // SAMSA_FAULT_IDEMPOTENCE=false runs the same producer plain, to see the faults make duplicates without it.
            EnableIdempotence = Environment.GetEnvironmentVariable("SAMSA_FAULT_IDEMPOTENCE") != "false",
            Acks = Acks.All,
            MaxInFlight = 5,
            LingerMs = 2,
            BatchNumMessages = 50,
            CompressionType = CompressionType.None,
            RequestTimeoutMs = 3000,
            SocketTimeoutMs = 5000,
            SocketConnectionSetupTimeoutMs = 3000,
            MessageTimeoutMs = 180_000,
            RetryBackoffMs = 50,
            RetryBackoffMaxMs = 500,
            ReconnectBackoffMs = 50,
            ReconnectBackoffMaxMs = 500,
            // e.g. SAMSA_RDKAFKA_DEBUG=eos,msg to see sequence numbers and epoch bumps in a failing run's stderr.
            Debug = Environment.GetEnvironmentVariable("SAMSA_RDKAFKA_DEBUG"),
        };
        var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16) { AutoFlush = false };
        var acked = 0;
        var failed = 0;
        string? fatal = null;
        using var producer = new ProducerBuilder<Null, string>(config)
            .SetErrorHandler((_, e) =>
            {
                Console.Error.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} error {e.Code} fatal={e.IsFatal}: {e.Reason}");
                if (e.IsFatal)
                {
                    Volatile.Write(ref fatal, $"{e.Code}: {e.Reason}");
                }
            })
            .SetLogHandler((_, m) => Console.Error.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {m.Level} {m.Facility} {m.Message}"))
            .Build();

        void Report(DeliveryReport<Null, string> report)
        {
            var line = report.Error.IsError
                ? JsonSerializer.Serialize(new { p = report.Partition.Value, v = long.Parse(report.Message.Value, CultureInfo.InvariantCulture), error = report.Error.Reason })
                : JsonSerializer.Serialize(new { p = report.Partition.Value, o = report.Offset.Value, v = long.Parse(report.Message.Value, CultureInfo.InvariantCulture) });
            lock (output)
            {
                output.WriteLine(line);
            }
            if (report.Error.IsError)
            {
                Interlocked.Increment(ref failed);
            }
            else
            {
                Interlocked.Increment(ref acked);
            }
        }

        var next = new long[partitions];
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count && Volatile.Read(ref fatal) is null; i++)
        {
            var due = TimeSpan.FromSeconds((double)i / rate);
            if (due > clock.Elapsed)
            {
                Thread.Sleep(due - clock.Elapsed);
            }
            var partition = i % partitions;
            var message = new Message<Null, string> { Value = next[partition]++.ToString(CultureInfo.InvariantCulture) };
            while (true)
            {
                try
                {
                    producer.Produce(new TopicPartition(topic, partition), message, Report);
                    break;
                }
                catch (ProduceException<Null, string> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(100));
                }
            }
        }
        var left = producer.Flush(TimeSpan.FromMinutes(4));
        lock (output)
        {
            output.WriteLine(JsonSerializer.Serialize(new { done = true, acked, failed, inQueue = left, fatal }));
            output.Flush();
        }
        return acked == count ? 0 : 1;
    }
}
