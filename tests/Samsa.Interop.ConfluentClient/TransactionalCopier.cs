using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;

/// <summary>
/// The three programs of the transactional copy test, modelled on Kafka's TransactionalMessageCopier system test.
/// <list type="bullet">
/// <item><c>txn-fill BOOTSTRAP TOPIC PARTITIONS COUNT</c>: an idempotent producer writes COUNT records round-robin over
/// the partitions, key <c>P</c> and value <c>P:SEQ</c> (SEQ 0, 1, 2, ... within partition P). Prints <c>{"filled":N}</c>.</item>
/// <item><c>txn-copy INPUT OUTPUT GROUP TXNID PARTITIONS BATCH [ABORT [RATE [stdin]]]</c>: the copier. A consumer of
/// GROUP (read_committed, no auto commit) and a transactional producer (TXNID) copy each input record to the same
/// partition of OUTPUT, one transaction per batch of up to BATCH records whose input offsets go in with
/// SendOffsetsToTransaction. An abortable error (or a refused record) aborts the transaction and rewinds to the group's
/// committed offsets; a fatal one (fenced) or a failed abort exits 3, so the test starts a new copier, which resumes
/// from the committed offsets. ABORT (a transaction number, 1-based) deliberately aborts that transaction once (0: none);
/// RATE (records/s, 0: no limit) slows the copier so faults land mid-copy.
/// Exits 0 when every input partition is assigned to it and copied to its end (the end offsets read at start).
/// Prints JSON-line events (<c>started</c>, <c>committed</c>, <c>aborted</c>, <c>done</c>); with <c>stdin</c> it exits
/// (5) when its stdin closes, so it dies with the test host.</item>
/// <item><c>txn-read TOPIC PARTITIONS ISOLATION EXPECTED</c>: reads every partition from the beginning with
/// ISOLATION (read_committed or read_uncommitted) until each is at its end and at least EXPECTED records arrived (or
/// 60 s passed), printing <c>{"p":P,"o":OFFSET,"v":VALUE}</c> per record and <c>{"done":true,"count":N}</c> last.</item>
/// </list>
/// Every client here runs with <c>metadata.recovery.strategy=none</c>: librdkafka 2.x's re-bootstrap otherwise hangs
/// after the single broker is SIGKILLed.
/// </summary>
internal static class TransactionalCopier
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    public static int Fill(string bootstrap, string topic, int partitions, int count)
    {
        var config = new ProducerConfig
        {
            BootstrapServers = bootstrap,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 5,
            MetadataRecoveryStrategy = MetadataRecoveryStrategy.None,
        };
        using var producer = new ProducerBuilder<string, string>(config)
            .SetErrorHandler((_, e) => Console.Error.WriteLine($"{Now} fill error {e.Code} fatal={e.IsFatal}: {e.Reason}"))
            .Build();
        var failed = 0;
        var next = new long[partitions];
        for (var i = 0; i < count; i++)
        {
            var p = i % partitions;
            var message = new Message<string, string> { Key = p.ToString(CultureInfo.InvariantCulture), Value = $"{p}:{next[p]++}" };
            while (true)
            {
                try
                {
                    producer.Produce(new TopicPartition(topic, p), message, r =>
                    {
                        if (r.Error.IsError)
                        {
                            Interlocked.Increment(ref failed);
                        }
                    });
                    break;
                }
                catch (ProduceException<string, string> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(50));
                }
            }
        }
        var left = producer.Flush(TimeSpan.FromMinutes(2));
        Console.WriteLine(JsonSerializer.Serialize(new { filled = count - failed - left, failed, left }));
        return failed == 0 && left == 0 ? 0 : 1;
    }

    public static int Read(string bootstrap, string topic, int partitions, string isolation, int expected)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "samsa-txn-reader",
            EnableAutoCommit = false,
            EnablePartitionEof = true,
            IsolationLevel = isolation == "read_committed" ? IsolationLevel.ReadCommitted : IsolationLevel.ReadUncommitted,
            MetadataRecoveryStrategy = MetadataRecoveryStrategy.None,
            FetchMaxBytes = 8_000_000,
        };
        var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16) { AutoFlush = false };
        using var consumer = new ConsumerBuilder<string, string>(config)
            .SetErrorHandler((_, e) => Console.Error.WriteLine($"{Now} read error {e.Code}: {e.Reason}"))
            .Build();
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var atEnd = new bool[partitions];
        var count = 0;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && !(count >= expected && atEnd.All(e => e)))
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is null)
            {
                continue;
            }
            if (result.IsPartitionEOF)
            {
                atEnd[result.Partition.Value] = true;
                continue;
            }
            atEnd[result.Partition.Value] = false;
            count++;
            output.WriteLine(JsonSerializer.Serialize(new { p = result.Partition.Value, o = result.Offset.Value, v = result.Message.Value }));
        }
        output.WriteLine(JsonSerializer.Serialize(new { done = true, count, atEnd }));
        output.Flush();
        consumer.Close();
        return 0;
    }

    public static int Copy(string bootstrap, string input, string outputTopic, string group, string transactionalId, int partitions, int batchSize, int abortTransaction, int rate, bool exitWithStdin)
    {
        // The fault test closes stdin when it is done with this copier (or dies): exit then, whatever state this is in.
        if (exitWithStdin)
        {
            new Thread(() =>
            {
                while (Console.In.ReadLine() is not null)
                {
                }
                Environment.Exit(5);
            })
            { IsBackground = true }.Start();
        }

        var consumerConfig = new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = group,
            IsolationLevel = IsolationLevel.ReadCommitted,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            SessionTimeoutMs = 6000,
            HeartbeatIntervalMs = 1000,
            MetadataRecoveryStrategy = MetadataRecoveryStrategy.None,
            ReconnectBackoffMs = 100,
            ReconnectBackoffMaxMs = 1000,
        };
        var producerConfig = new ProducerConfig
        {
            BootstrapServers = bootstrap,
            TransactionalId = transactionalId,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 5,
            TransactionTimeoutMs = 20_000,
            MessageTimeoutMs = 20_000,
            MetadataRecoveryStrategy = MetadataRecoveryStrategy.None,
            ReconnectBackoffMs = 100,
            ReconnectBackoffMaxMs = 1000,
            Debug = Environment.GetEnvironmentVariable("SAMSA_RDKAFKA_DEBUG"),
        };
        var events = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = true };
        void Event(string name, object fields)
        {
            var json = JsonSerializer.Serialize(fields);
            lock (events)
            {
                events.WriteLine($"{{\"event\":\"{name}\",\"ts\":{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}{(json.Length > 2 ? "," + json[1..] : "}")}");
            }
        }

        using var producer = new ProducerBuilder<string, string>(producerConfig)
            .SetErrorHandler((_, e) => Console.Error.WriteLine($"{Now} producer error {e.Code} fatal={e.IsFatal}: {e.Reason}"))
            .SetLogHandler((_, m) => Console.Error.WriteLine($"{Now} {m.Level} {m.Facility} {m.Message}"))
            .Build();
        var inTransaction = false;
        var pending = new Dictionary<int, long>();
        var pendingRecords = 0;

        void Abort(string reason)
        {
            Retry(() => producer.AbortTransaction(CallTimeout));
            inTransaction = false;
            pending.Clear();
            Event("aborted", new { reason, records = pendingRecords });
            pendingRecords = 0;
        }

        using var consumer = new ConsumerBuilder<string, string>(consumerConfig)
            .SetErrorHandler((_, e) => Console.Error.WriteLine($"{Now} consumer error {e.Code} fatal={e.IsFatal}: {e.Reason}"))
            .SetPartitionsAssignedHandler((_, assigned) => Event("assigned", new { partitions = assigned.Select(tp => tp.Partition.Value) }))
            .SetPartitionsRevokedHandler((_, revoked) =>
            {
                // Eager rebalancing takes every partition away: what this transaction copied is not ours to commit.
                if (inTransaction)
                {
                    Abort("revoked");
                }
                Event("revoked", new { partitions = revoked.Select(tp => tp.Partition.Value) });
            })
            .SetPartitionsLostHandler((_, lost) =>
            {
                if (inTransaction)
                {
                    Abort("lost");
                }
                Event("lost", new { partitions = lost.Select(tp => tp.Partition.Value) });
            })
            .Build();

        try
        {
            Retry(() => producer.InitTransactions(CallTimeout));
            var end = new long[partitions];
            for (var p = 0; p < partitions; p++)
            {
                var tp = new TopicPartition(input, p);
                end[p] = Retry(() => consumer.QueryWatermarkOffsets(tp, CallTimeout)).High.Value;
            }
            Event("started", new { end });
            consumer.Subscribe(input);
            var transactions = 0;
            var copied = 0L;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (true)
            {
                var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
                if (result is { IsPartitionEOF: false })
                {
                    if (!inTransaction)
                    {
                        producer.BeginTransaction();
                        inTransaction = true;
                    }
                    try
                    {
                        Produce(producer, new TopicPartition(outputTopic, result.Partition), new Message<string, string> { Key = result.Message.Key, Value = result.Message.Value });
                    }
                    catch (KafkaException e) when (!e.Error.IsFatal)
                    {
                        // E.g. the coordinator aborted the transaction after its timeout while this copier was stopped:
                        // librdkafka refuses new records until the transaction is aborted here too.
                        Abort(e.Error.Reason);
                        Rewind(consumer);
                        continue;
                    }
                    pending[result.Partition.Value] = result.Offset.Value + 1;
                    pendingRecords++;
                    // The wait is inside the transaction, so a fault most likely finds one open.
                    if (rate > 0 && TimeSpan.FromSeconds((double)(copied + pendingRecords) / rate) - clock.Elapsed is { Ticks: > 0 } ahead)
                    {
                        Thread.Sleep(ahead);
                    }
                }
                if (inTransaction && (pendingRecords >= batchSize || result is null))
                {
                    transactions++;
                    var offsets = pending.Select(kv => new TopicPartitionOffset(input, kv.Key, kv.Value)).ToList();
                    try
                    {
                        Retry(() => producer.SendOffsetsToTransaction(offsets, consumer.ConsumerGroupMetadata, CallTimeout));
                        if (transactions == abortTransaction)
                        {
                            // Flushed first: librdkafka's abort purges what it has not sent, and the records should be in the log, aborted.
                            producer.Flush(CallTimeout);
                            Abort("deliberate");
                            Rewind(consumer);
                            continue;
                        }
                        Retry(() => producer.CommitTransaction(CallTimeout));
                    }
                    catch (KafkaTxnRequiresAbortException e)
                    {
                        Abort(e.Error.Reason);
                        Rewind(consumer);
                        continue;
                    }
                    inTransaction = false;
                    copied += pendingRecords;
                    Event("committed", new { txn = transactions, records = pendingRecords, copied, offsets = offsets.Select(o => new[] { o.Partition.Value, o.Offset.Value }) });
                    pending.Clear();
                    pendingRecords = 0;
                }
                if (!inTransaction && result is null && consumer.Assignment.Count == partitions && CopiedToEnd(consumer, end))
                {
                    Event("done", new { copied, transactions });
                    var close = Task.Run(consumer.Close);
                    close.Wait(TimeSpan.FromSeconds(10));
                    return 0;
                }
            }
        }
        catch (KafkaException e)
        {
            Event("failed", new { code = e.Error.Code.ToString(), fatal = e.Error.IsFatal, reason = e.Error.Reason });
            Console.Error.WriteLine($"{Now} copier gives up: {e}");
            return 3;
        }
    }

    /// <summary>
    /// Whether every assigned partition is copied up to <paramref name="end"/>: its position, or its committed offset when
    /// nothing was consumed since the assignment (a copier that takes over after the last commit has no position).
    /// </summary>
    private static bool CopiedToEnd(IConsumer<string, string> consumer, long[] end)
    {
        var assignment = consumer.Assignment;
        if (assignment.All(tp => consumer.Position(tp).Value >= end[tp.Partition.Value]))
        {
            return true;
        }
        if (assignment.Any(tp => consumer.Position(tp) != Offset.Unset && consumer.Position(tp).Value < end[tp.Partition.Value]))
        {
            return false;
        }
        try
        {
            return consumer.Committed(assignment, CallTimeout).All(tpo => tpo.Offset.Value >= end[tpo.Partition.Value]);
        }
        catch (KafkaException e) when (!e.Error.IsFatal)
        {
            return false;
        }
    }

    private static void Produce(IProducer<string, string> producer, TopicPartition partition, Message<string, string> message)
    {
        while (true)
        {
            try
            {
                producer.Produce(partition, message);
                return;
            }
            catch (ProduceException<string, string> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(50));
            }
        }
    }

    /// <summary>Back to the group's committed offsets (read with require_stable), as after an aborted transaction.</summary>
    private static void Rewind(IConsumer<string, string> consumer)
    {
        var assignment = consumer.Assignment;
        if (assignment.Count == 0)
        {
            return;
        }
        foreach (var committed in Retry(() => consumer.Committed(assignment, CallTimeout)))
        {
            consumer.Seek(committed.Offset.IsSpecial ? new TopicPartitionOffset(committed.TopicPartition, Offset.Beginning) : committed);
        }
    }

    /// <summary>Runs a call again while it fails with a retriable error (the broker is restarting, a request timed out).</summary>
    private static void Retry(Action call) => Retry(() =>
    {
        call();
        return 0;
    });

    private static T Retry<T>(Func<T> call)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return call();
            }
            catch (KafkaException e) when (attempt < 20 && !e.Error.IsFatal && e is not KafkaTxnRequiresAbortException
                && (e is KafkaRetriableException || e.Error.Code is ErrorCode.Local_TimedOut or ErrorCode.Local_Transport or ErrorCode.Local_AllBrokersDown
                    or ErrorCode.RequestTimedOut or ErrorCode.NotCoordinatorForGroup or ErrorCode.GroupLoadInProgress or ErrorCode.GroupCoordinatorNotAvailable
                    or ErrorCode.UnstableOffsetCommit))
            {
                Console.Error.WriteLine($"{Now} retrying after {e.Error.Code}: {e.Error.Reason}");
                Thread.Sleep(200);
            }
        }
    }

    private static string Now => DateTime.UtcNow.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);
}
