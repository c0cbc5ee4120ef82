using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Broker.Config;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;

namespace Samsa.Broker.Benchmarks;

/// <summary>
/// What idempotence and transactions cost the broker (issue 14), with no client library in the way: the same records
/// produced with raw requests, in the same run,
/// <list type="number">
/// <item>idempotently (InitProducerId, batches of 100 records with sequence numbers, up to 5 Produce in flight: what
/// a default Java producer sends),</item>
/// <item>in transactions of 100 and of 1,000 records (InitProducerId with a transactional id; per transaction
/// AddPartitionsToTxn, the batches as above, EndTxn; the next AddPartitionsToTxn retried at once while the markers are
/// still being written, where a Java producer would wait its 20 ms back-off: this measures the broker, not the
/// client's timers),</item>
/// </list>
/// and then the transactional topic fetched with read_uncommitted and with read_committed (Fetch v12, 1 MiB, one in
/// flight), five passes of each, interleaved, averaged. Figures are records/s (and MB/s of batch bytes); the ratios are transactional / idempotent produce and
/// read_committed / read_uncommitted fetch. A warm-up round runs first and is not counted.
/// </summary>
internal static class TransactionsBenchmark
{
    private const int InFlight = 5;
    private const int RecordsPerBatch = 100;
    private const int FetchBytes = 1024 * 1024;
    private const int FetchPasses = 5;

    public static async Task RunAsync(string[] args)
    {
        var inv = CultureInfo.InvariantCulture;
        var totalRecords = args.Length > 0 ? int.Parse(args[0], inv) : 500_000;
        var rounds = Math.Max(1, args.Length > 1 ? int.Parse(args[1], inv) : 3);
        var recordSize = args.Length > 2 ? int.Parse(args[2], inv) : 100;
        var batches = Math.Max(10, totalRecords / RecordsPerBatch / 10 * 10);
        Console.WriteLine($"Transactions benchmark: {batches * RecordsPerBatch:N0} records of {recordSize} B per mode in batches of {RecordsPerBatch}, "
            + $"{rounds} rounds after a warm-up; {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");

        var root = Directory.CreateTempSubdirectory("samsa-txn-bench-").FullName;
        var config = KafkaConfig.FromProperties([new("listeners", "PLAINTEXT://127.0.0.1:0"), new("log.dirs", Path.Combine(root, "broker")), new("auto.create.topics.enable", "false")]);
        var broker = await KafkaBroker.StartAsync(config, NullLoggerFactory.Instance, CancellationToken.None);
        try
        {
            var endpoint = new IPEndPoint(IPAddress.Loopback, broker.BoundEndpoints[0].Port);
            var results = new Dictionary<string, List<double>>();
            void Add(string name, double value) => (results.TryGetValue(name, out var list) ? list : results[name] = []).Add(value);
            long batchBytes = 0;
            for (var round = 0; round <= rounds; round++)
            {
                var count = round == 0 ? batches / 2 / 10 * 10 : batches;
                using var client = new RawClient(endpoint);
                var idempotentTopic = $"idempotent-{round}-{Guid.NewGuid():N}";
                var txn100Topic = $"txn100-{round}-{Guid.NewGuid():N}";
                var txn1000Topic = $"txn1000-{round}-{Guid.NewGuid():N}";
                client.CreateTopic(idempotentTopic);
                client.CreateTopic(txn100Topic);
                client.CreateTopic(txn1000Topic);
                var producerId = InitProducerId(client, null);
                var idempotent = Produce(client, idempotentTopic, producerId, 0, null, count, recordSize, batchesPerTransaction: 0, out batchBytes);
                var txn100 = Produce(client, txn100Topic, InitTransactional(client, $"bench-100-{round}"), 0, $"bench-100-{round}", count, recordSize, 1, out _);
                var txn1000 = Produce(client, txn1000Topic, InitTransactional(client, $"bench-1000-{round}"), 0, $"bench-1000-{round}", count, recordSize, 10, out _);
                WaitStable(client, txn1000Topic);
                // A fetch of the whole topic takes tens of milliseconds: five passes of each, interleaved, make one figure.
                double uncommitted = 0, committed = 0;
                for (var pass = 0; pass < FetchPasses; pass++)
                {
                    uncommitted += Fetch(client, txn1000Topic, isolation: 0) / FetchPasses;
                    committed += Fetch(client, txn1000Topic, isolation: 1) / FetchPasses;
                }
                Console.WriteLine(string.Create(inv,
                    $"{(round == 0 ? "warm-up (not counted)" : $"round {round}")}: idempotent {idempotent:N0}, txn/100 {txn100:N0}, txn/1000 {txn1000:N0} records/s; fetch read_uncommitted {uncommitted:N0}, read_committed {committed:N0} records/s"));
                if (round > 0)
                {
                    Add("idempotent", idempotent);
                    Add("txn100", txn100);
                    Add("txn1000", txn1000);
                    Add("uncommitted", uncommitted);
                    Add("committed", committed);
                }
            }
            double Median(string name) => results[name].Order().ElementAt(results[name].Count / 2);
            double Mbps(double recordsPerSecond) => recordsPerSecond * batchBytes / RecordsPerBatch / (1024.0 * 1024);
            var (i, t1, t2, u, c) = (Median("idempotent"), Median("txn100"), Median("txn1000"), Median("uncommitted"), Median("committed"));
            Console.WriteLine();
            Console.WriteLine("Medians of the rounds:");
            Console.WriteLine();
            Console.WriteLine("| measurement | records/s | reference (same run) | ratio |");
            Console.WriteLine("| --- | ---: | --- | ---: |");
            Console.WriteLine(string.Create(inv, $"| idempotent produce (batches of {RecordsPerBatch}, {InFlight} in flight) | {i:N0} ({Mbps(i):F0} MB/s) | | |"));
            Console.WriteLine(string.Create(inv, $"| transactional produce, 100 records per transaction | {t1:N0} ({Mbps(t1):F0} MB/s) | idempotent {i:N0} | {t1 / i:F2} |"));
            Console.WriteLine(string.Create(inv, $"| transactional produce, 1,000 records per transaction | {t2:N0} ({Mbps(t2):F0} MB/s) | idempotent {i:N0} | {t2 / i:F2} |"));
            Console.WriteLine(string.Create(inv, $"| fetch read_committed (transactions of 1,000) | {c:N0} ({Mbps(c):F0} MB/s) | read_uncommitted {u:N0} | {c / u:F2} |"));
        }
        finally
        {
            await broker.DisposeAsync();
            Directory.Delete(root, recursive: true);
        }
    }

    private static long InitProducerId(RawClient client, string? transactionalId)
    {
        client.Send(client.Frame(new InitProducerIdRequest { TransactionalId = transactionalId, TransactionTimeoutMs = 60_000, ProducerId = -1, ProducerEpoch = -1 }, 4));
        var response = client.Receive<InitProducerIdResponse>(ApiKey.InitProducerId, 4);
        return response.ErrorCode == 0 ? response.ProducerId : throw new InvalidOperationException($"InitProducerId failed with error {response.ErrorCode}");
    }

    private static long InitTransactional(RawClient client, string transactionalId)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            client.Send(client.Frame(new FindCoordinatorRequest { KeyType = 1, CoordinatorKeys = [transactionalId] }, 4));
            if (client.Receive<FindCoordinatorResponse>(ApiKey.FindCoordinator, 4).Coordinators[0].ErrorCode == 0)
            {
                return InitProducerId(client, transactionalId);
            }
            if (deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException("no transaction coordinator");
            }
            Thread.Sleep(10);
        }
    }

    /// <summary>
    /// Produces <paramref name="count"/> batches (built before the clock starts) with up to <see cref="InFlight"/> in flight;
    /// with <paramref name="batchesPerTransaction"/> &gt; 0 each group of that many batches is one transaction. Returns records/s.
    /// </summary>
    private static double Produce(RawClient client, string topic, long producerId, short epoch, string? transactionalId, int count, int recordSize,
        int batchesPerTransaction, out long batchBytes)
    {
        var value = new byte[recordSize];
        Random.Shared.NextBytes(value);
        var frames = new List<byte[]>(count);
        batchBytes = 0;
        for (var b = 0; b < count; b++)
        {
            using var builder = new RecordBatchBuilder
            {
                ProducerId = producerId,
                ProducerEpoch = epoch,
                BaseSequence = b * RecordsPerBatch,
                IsTransactional = transactionalId is not null,
            };
            for (var r = 0; r < RecordsPerBatch; r++)
            {
                builder.Append(1_700_000_000_000 + r, null, value);
            }
            var batch = builder.Build();
            batchBytes = batch.Length;
            frames.Add(client.Frame(new ProduceRequest
            {
                Acks = -1,
                TimeoutMs = 30_000,
                TransactionalId = transactionalId,
                TopicData = [new() { Name = topic, PartitionData = [new() { Index = 0, Records = batch }] }],
            }, 9));
        }
        var clock = Stopwatch.StartNew();
        var step = batchesPerTransaction > 0 ? batchesPerTransaction : count;
        for (var first = 0; first < count; first += step)
        {
            if (transactionalId is not null)
            {
                AddPartition(client, transactionalId, producerId, epoch, topic);
            }
            int sent = first, answered = first, end = Math.Min(count, first + step);
            while (answered < end)
            {
                while (sent < end && sent - answered < InFlight)
                {
                    client.Send(frames[sent++]);
                }
                var error = client.Receive<ProduceResponse>(ApiKey.Produce, 9).Responses[0].PartitionResponses[0].ErrorCode;
                if (error != 0)
                {
                    throw new InvalidOperationException($"Produce failed with error {error}");
                }
                answered++;
            }
            if (transactionalId is not null)
            {
                client.Send(client.Frame(new EndTxnRequest { TransactionalId = transactionalId, ProducerId = producerId, ProducerEpoch = epoch, Committed = true }, 3));
                var error = client.Receive<EndTxnResponse>(ApiKey.EndTxn, 3).ErrorCode;
                if (error != 0)
                {
                    throw new InvalidOperationException($"EndTxn failed with error {error}");
                }
            }
        }
        return count * (double)RecordsPerBatch / clock.Elapsed.TotalSeconds;
    }

    /// <summary>AddPartitionsToTxn v3, retried at once on CONCURRENT_TRANSACTIONS (the previous transaction's markers still going out).</summary>
    private static void AddPartition(RawClient client, string transactionalId, long producerId, short epoch, string topic)
    {
        while (true)
        {
            client.Send(client.Frame(new AddPartitionsToTxnRequest
            {
                V3AndBelowTransactionalId = transactionalId,
                V3AndBelowProducerId = producerId,
                V3AndBelowProducerEpoch = epoch,
                V3AndBelowTopics = [new() { Name = topic, Partitions = [0] }],
            }, 3));
            var error = client.Receive<AddPartitionsToTxnResponse>(ApiKey.AddPartitionsToTxn, 3).ResultsByTopicV3AndBelow[0].ResultsByPartition[0].PartitionErrorCode;
            if (error == 0)
            {
                return;
            }
            if (error != (short)ErrorCode.ConcurrentTransactions)
            {
                throw new InvalidOperationException($"AddPartitionsToTxn failed with error {error}");
            }
        }
    }

    /// <summary>Waits until the last transaction's markers are written (the last stable offset is the log end).</summary>
    private static void WaitStable(RawClient client, string topic)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            client.Send(client.Frame(new ListOffsetsRequest
            {
                ReplicaId = -1,
                IsolationLevel = 1,
                Topics = [new() { Name = topic, Partitions = [new() { PartitionIndex = 0, Timestamp = -1 }] }],
            }, 8));
            var stable = client.Receive<ListOffsetsResponse>(ApiKey.ListOffsets, 8).Topics[0].Partitions[0].Offset;
            if (stable == client.EndOffsets(topic, 1)![0] || deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                return;
            }
            Thread.Sleep(5);
        }
    }

    /// <summary>Fetches the whole partition with the isolation level; returns records/s of the data records (markers not counted).</summary>
    private static double Fetch(RawClient client, string topic, sbyte isolation)
    {
        var end = client.EndOffsets(topic, 1)![0];
        var request = new FetchRequest
        {
            MaxWaitMs = 500,
            MinBytes = 1,
            MaxBytes = 50 * 1024 * 1024,
            IsolationLevel = isolation,
            Topics = [new() { Topic = topic, Partitions = [new() { Partition = 0, PartitionMaxBytes = FetchBytes }] }],
        };
        var clock = Stopwatch.StartNew();
        long offset = 0, records = 0;
        while (offset < end)
        {
            request.Topics[0].Partitions[0].FetchOffset = offset;
            client.Send(client.Frame(request, 12));
            var partition = client.Receive<FetchResponse>(ApiKey.Fetch, 12).Responses[0].Partitions[0];
            if (partition.ErrorCode != 0 || partition.Records is not { Length: > 0 } bytes)
            {
                throw new InvalidOperationException($"Fetch at {offset} returned error {partition.ErrorCode} and no records");
            }
            var span = bytes.Span;
            var position = 0;
            while (span.Length - position >= RecordBatch.HeaderSize)
            {
                var header = RecordBatchHeader.Read(span[position..]);
                if (header.SizeInBytes > span.Length - position)
                {
                    break;
                }
                records += header.IsControl ? 0 : header.RecordCount;
                offset = header.LastOffset + 1;
                position += header.SizeInBytes;
            }
        }
        return records / clock.Elapsed.TotalSeconds;
    }
}
