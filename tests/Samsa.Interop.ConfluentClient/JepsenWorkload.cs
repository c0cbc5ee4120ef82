using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;

/// <summary>
/// The clients of the Jepsen queue workload (tests/Samsa.Interop.Tests/Jepsen), each writing its history to a file as
/// JSON lines (the ops of <c>Jepsen/History.cs</c>: type, f, process, time in microseconds since the epoch, partition,
/// value, offset, error).
/// <list type="bullet">
/// <item><c>jepsen-produce BOOTSTRAP TOPIC PARTITIONS PROCESS SECONDS RATE FILE [key=value...]</c>: an idempotent
/// producer (acks=all) sending unique values PROCESS*10^9 + i, round-robin over the partitions, at RATE/s for SECONDS;
/// an invoke line before each send, then ok with the offset, fail (NotPersisted) or info (PossiblyPersisted). A fatal
/// error is logged and a new producer takes over. key=value pairs override the librdkafka config (e.g.
/// <c>acks=1 enable.idempotence=false</c>).</item>
/// <item><c>jepsen-consume BOOTSTRAP TOPIC PARTITIONS PROCESS SECONDS FILE [RESEEK_SECONDS]</c>: assigns every
/// partition from offset 0 and logs every record read for SECONDS; every RESEEK_SECONDS (default 20) it assigns them
/// again from offset 0 and logs a reset, so offsets are read again after the faults.</item>
/// <item><c>jepsen-final BOOTSTRAP TOPIC PARTITIONS PROCESS TIMEOUT_SECONDS FILE</c>: the final read: each partition's
/// end offset (an end line), then every record from offset 0 up to it. Exit 0 when every partition was read to its end.</item>
/// </list>
/// </summary>
internal static class JepsenWorkload
{
    public static int Produce(string bootstrap, string topic, int partitions, int process, int seconds, int rate, string file, IEnumerable<string> overrides)
    {
        using var history = new HistoryWriter(file);
        var config = new ProducerConfig
        {
            BootstrapServers = bootstrap,
            ClientId = $"jepsen-producer-{process}",
            EnableIdempotence = true,
            Acks = Acks.All,
            MaxInFlight = 5,
            LingerMs = 1,
            RequestTimeoutMs = 5000,
            SocketTimeoutMs = 10_000,
            SocketConnectionSetupTimeoutMs = 5000,
            // Long enough to ride out a fault; a send still unacknowledged then is reported PossiblyPersisted (info).
            MessageTimeoutMs = 30_000,
            RetryBackoffMs = 100,
            RetryBackoffMaxMs = 1000,
            ReconnectBackoffMs = 100,
            ReconnectBackoffMaxMs = 1000,
            TopicMetadataRefreshIntervalMs = 5000,
        };
        foreach (var pair in overrides.Select(o => o.Split('=', 2)))
        {
            config.Set(pair[0], pair[1]);
        }
        var clock = Stopwatch.StartNew();
        var duration = TimeSpan.FromSeconds(seconds);
        var i = 0L;
        while (clock.Elapsed < duration)
        {
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
            while (clock.Elapsed < duration && Volatile.Read(ref fatal) is null)
            {
                var due = TimeSpan.FromSeconds((double)i / rate);
                if (due > clock.Elapsed)
                {
                    Thread.Sleep(due - clock.Elapsed);
                }
                var value = process * 1_000_000_000L + i;
                var partition = (int)(i % partitions);
                i++;
                history.Op("invoke", "send", process, partition, value);
                while (true)
                {
                    try
                    {
                        producer.Produce(new TopicPartition(topic, partition), new Message<Null, string> { Value = value.ToString(CultureInfo.InvariantCulture) },
                            report => Report(history, process, value, report));
                        break;
                    }
                    catch (ProduceException<Null, string> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                    {
                        producer.Poll(TimeSpan.FromMilliseconds(100));
                    }
                    catch (ProduceException<Null, string> e)
                    {
                        // Refused before it was queued (e.g. after a fatal error): certainly not written.
                        history.Op("fail", "send", process, partition, value, error: e.Error.Reason);
                        break;
                    }
                }
            }
            if (Volatile.Read(ref fatal) is { } reason)
            {
                history.Op("info", "fatal", process, error: reason);
            }
            // Waits for the outstanding sends; what is left when the flush gives up stays without a completion (indeterminate).
            producer.Flush(TimeSpan.FromSeconds(40));
        }
        return 0;
    }

    private static void Report(HistoryWriter history, int process, long value, DeliveryReport<Null, string> report)
    {
        if (!report.Error.IsError && report.Status == PersistenceStatus.Persisted)
        {
            history.Op("ok", "send", process, report.Partition.Value, value, report.Offset.Value);
        }
        else
        {
            history.Op(report.Status == PersistenceStatus.NotPersisted ? "fail" : "info", "send", process, report.Partition.Value, value,
                error: $"{report.Error.Code}: {report.Error.Reason}");
        }
    }

    public static int Consume(string bootstrap, string topic, int partitions, int process, int seconds, string file, int reseekSeconds)
    {
        using var history = new HistoryWriter(file);
        using var consumer = BuildConsumer(bootstrap, process);
        var clock = Stopwatch.StartNew();
        var lastSeek = clock.Elapsed;
        Assign(consumer, topic, partitions);
        while (clock.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            if (reseekSeconds > 0 && clock.Elapsed - lastSeek > TimeSpan.FromSeconds(reseekSeconds))
            {
                Assign(consumer, topic, partitions);
                history.Op("ok", "reset", process);
                lastSeek = clock.Elapsed;
            }
            try
            {
                var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
                if (result is { IsPartitionEOF: false, Message: not null })
                {
                    history.Op("ok", "poll", process, result.Partition.Value, long.Parse(result.Message.Value, CultureInfo.InvariantCulture), result.Offset.Value);
                }
            }
            catch (ConsumeException e)
            {
                Console.Error.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} consume error {e.Error.Code}: {e.Error.Reason}");
            }
        }
        consumer.Close();
        return 0;
    }

    public static int Final(string bootstrap, string topic, int partitions, int process, int timeoutSeconds, string file)
    {
        using var history = new HistoryWriter(file);
        using var consumer = BuildConsumer(bootstrap, process);
        var clock = Stopwatch.StartNew();
        var timeout = TimeSpan.FromSeconds(timeoutSeconds);
        var ends = new long[partitions];
        var known = new bool[partitions];
        for (var p = 0; p < partitions; p++)
        {
            while (!known[p] && clock.Elapsed < timeout)
            {
                try
                {
                    ends[p] = consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(5)).High.Value;
                    known[p] = true;
                    history.Op("ok", "end", process, p, offset: ends[p]);
                }
                catch (KafkaException e)
                {
                    Console.Error.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} watermarks p{p}: {e.Error.Code}: {e.Error.Reason}");
                    Thread.Sleep(500);
                }
            }
        }
        var next = new long[partitions];
        Assign(consumer, topic, partitions);
        while (Enumerable.Range(0, partitions).Any(p => next[p] < ends[p]) && clock.Elapsed < timeout)
        {
            try
            {
                var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
                if (result is { IsPartitionEOF: false, Message: not null })
                {
                    history.Op("ok", "poll", process, result.Partition.Value, long.Parse(result.Message.Value, CultureInfo.InvariantCulture), result.Offset.Value);
                    next[result.Partition.Value] = Math.Max(next[result.Partition.Value], result.Offset.Value + 1);
                }
            }
            catch (ConsumeException e)
            {
                Console.Error.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} consume error {e.Error.Code}: {e.Error.Reason}");
            }
        }
        consumer.Close();
        var complete = Enumerable.Range(0, partitions).All(p => known[p] && next[p] >= ends[p]);
        Console.WriteLine($"{{\"complete\":{(complete ? "true" : "false")},\"ends\":[{string.Join(",", ends)}],\"read\":[{string.Join(",", next)}]}}");
        return complete ? 0 : 1;
    }

    private static IConsumer<Ignore, string> BuildConsumer(string bootstrap, int process) =>
        new ConsumerBuilder<Ignore, string>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            ClientId = $"jepsen-consumer-{process}",
            // Assigned partitions only: the group is never joined nor committed to.
            GroupId = $"jepsen-unused-{process}",
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnablePartitionEof = true,
            FetchWaitMaxMs = 100,
            SocketTimeoutMs = 10_000,
            TopicMetadataRefreshIntervalMs = 5000,
            ReconnectBackoffMs = 100,
            ReconnectBackoffMaxMs = 1000,
        })
        .SetErrorHandler((_, e) => Console.Error.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} error {e.Code}: {e.Reason}"))
        .Build();

    private static void Assign(IConsumer<Ignore, string> consumer, string topic, int partitions) =>
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, 0)));

    /// <summary>JSON lines to a file, flushed at least every 200 ms and at the end; one writer at a time.</summary>
    private sealed class HistoryWriter : IDisposable
    {
        private readonly StreamWriter _writer;
        private readonly Timer _flush;
        private bool _disposed;

        public HistoryWriter(string file)
        {
            _writer = new StreamWriter(file, append: false, new UTF8Encoding(false), 1 << 16);
            _flush = new Timer(_ =>
            {
                lock (_writer)
                {
                    if (!_disposed)
                    {
                        _writer.Flush();
                    }
                }
            }, null, 200, 200);
        }

        public void Op(string type, string f, int process, int? partition = null, long? value = null, long? offset = null, string? error = null)
        {
            var line = new StringBuilder(128);
            line.Append(CultureInfo.InvariantCulture, $"{{\"type\":\"{type}\",\"f\":\"{f}\",\"process\":{process},\"time\":{DateTimeOffset.UtcNow.Ticks / 10 - DateTimeOffset.UnixEpoch.Ticks / 10}");
            if (partition is { } p)
            {
                line.Append(CultureInfo.InvariantCulture, $",\"partition\":{p}");
            }
            if (value is { } v)
            {
                line.Append(CultureInfo.InvariantCulture, $",\"value\":{v}");
            }
            if (offset is { } o)
            {
                line.Append(CultureInfo.InvariantCulture, $",\"offset\":{o}");
            }
            if (error is not null)
            {
                line.Append(",\"error\":").Append(System.Text.Json.JsonSerializer.Serialize(error));
            }
            line.Append('}');
            lock (_writer)
            {
                if (!_disposed)
                {
                    _writer.WriteLine(line);
                }
            }
        }

        public void Dispose()
        {
            _flush.Dispose();
            lock (_writer)
            {
                _disposed = true;
                _writer.Dispose();
            }
        }
    }
}
