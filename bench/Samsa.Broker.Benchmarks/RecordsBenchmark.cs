using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Broker.Config;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;
using Samsa.Storage;

namespace Samsa.Broker.Benchmarks;

/// <summary>
/// The broker's own overhead on the record path, with no client library in the way: the very same pre-built
/// record batches are
/// <list type="number">
/// <item>sent over a loopback socket and discarded by the reader (raw TCP copy: what the wire costs),</item>
/// <item>appended to a <see cref="PartitionLog"/> and read back in 1 MiB fetches (the storage engine alone), and its
/// segment files sent over a loopback socket with sendfile to a reader that discards them (the same bytes and the
/// same kernel path as a fetch, without Kafka's requests; the broker's fetches have measured faster than it),</item>
/// <item>produced to a broker with raw Produce v9 requests (acks=1, up to 5 in flight, as a producer pipelines)
/// and fetched back with raw Fetch v12 requests (1 MiB per partition, one in flight, as a consumer does), the
/// fetched bytes discarded after finding the next offset.</item>
/// </list>
/// Every figure is MB/s of record-batch bytes; the table gives broker / storage and broker / loopback ratios.
/// The broker runs in this process unless host:port names one already running (the client then only talks to it).
/// A warm-up round runs first and is not counted (both sides' code is compiled and tiered up by then), and the page
/// cache's dirty pages are written out before each timed write, so no phase pays for an earlier one's write-back
/// (on this box's virtual disk that swung the append reference between 336 and 943 MB/s from run to run).
/// </summary>
internal static class RecordsBenchmark
{
    private const int FetchBytes = 1024 * 1024;
    private const int InFlight = 5;

    public static async Task RunAsync(string[] args)
    {
        var inv = CultureInfo.InvariantCulture;
        var totalMiB = args.Length > 0 ? int.Parse(args[0], inv) : 256;
        var rounds = Math.Max(1, args.Length > 1 ? int.Parse(args[1], inv) : 3);
        var recordSize = args.Length > 2 ? int.Parse(args[2], inv) : 100;
        var batchBytes = args.Length > 3 ? int.Parse(args[3], inv) : 128 * 1024;
        var external = args.Length > 4 ? args[4] : null;

        var templates = BuildBatches(recordSize, batchBytes);
        var batchSize = templates[0].Length;
        var recordsPerBatch = RecordBatchHeader.Read(templates[0]).RecordCount;
        var batchCount = (int)Math.Max(1, (long)totalMiB * 1024 * 1024 / batchSize);
        var totalBytes = (long)batchCount * batchSize;
        Console.WriteLine($"Raw produce/fetch benchmark: {batchCount} batches of {batchSize} bytes ({recordsPerBatch} records of {recordSize} B each), "
            + $"{totalBytes / (1024.0 * 1024):F0} MiB per round, {rounds} rounds after a warm-up; {Environment.ProcessorCount} cores, "
            + $"{System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}; broker {(external ?? "in this process")}");

        var root = Directory.CreateTempSubdirectory("samsa-records-bench-").FullName;
        KafkaBroker? broker = null;
        try
        {
            IPEndPoint endpoint;
            if (external is null)
            {
                var config = KafkaConfig.FromProperties([new("listeners", "PLAINTEXT://127.0.0.1:0"), new("log.dirs", Path.Combine(root, "broker")), new("auto.create.topics.enable", "false")]);
                broker = await KafkaBroker.StartAsync(config, NullLoggerFactory.Instance, CancellationToken.None);
                endpoint = new IPEndPoint(IPAddress.Loopback, broker.BoundEndpoints[0].Port);
            }
            else
            {
                var colon = external.LastIndexOf(':');
                endpoint = new IPEndPoint((await Dns.GetHostAddressesAsync(external[..colon]))[0], int.Parse(external[(colon + 1)..], inv));
            }

            var loopback = new List<double>();
            var append = new List<double>();
            var read = new List<double>();
            var sendfile = new List<double>();
            var produce = new List<double>();
            var fetch = new List<double>();
            var buffer = new byte[64 * 1024 * 1024];
            for (var round = 0; round <= rounds; round++)
            {
                // Round 0 warms up on half the batches; its figures are dropped.
                var count = round == 0 ? Math.Max(1, batchCount / 2) : batchCount;
                var bytes = (long)count * batchSize;
                var measured = (Loopback: Loopback(bytes, buffer), Append: 0.0, Read: 0.0, Sendfile: 0.0, Produce: 0.0, Fetch: 0.0);
                var dir = Path.Combine(root, $"storage-{round}");
                using (var log = PartitionLog.Open(dir, "bench", 0, Uuid.Random(), LogConfig.Default))
                {
                    WriteBackDirtyPages();
                    measured.Append = StorageAppend(log, templates, count, bytes);
                    measured.Read = StorageRead(log, buffer);
                    measured.Sendfile = LoopbackSendfile(Directory.GetFiles(dir, "*.log", SearchOption.AllDirectories).Order().ToList(), buffer);
                }
                Directory.Delete(dir, recursive: true);

                using (var client = new RawClient(endpoint))
                {
                    var topic = $"records-bench-{round}-{Guid.NewGuid():N}";
                    client.CreateTopic(topic);
                    WriteBackDirtyPages();
                    measured.Produce = Produce(client, topic, templates, count, bytes);
                    measured.Fetch = Fetch(client, topic, bytes);
                }
                var label = round == 0 ? "warm-up (not counted)" : $"round {round}";
                Console.WriteLine(string.Create(inv, $"{label}: loopback {measured.Loopback:F0}, storage append {measured.Append:F0} / read {measured.Read:F0} / sendfile {measured.Sendfile:F0}, broker produce {measured.Produce:F0} / fetch {measured.Fetch:F0} MB/s"));
                if (round > 0)
                {
                    loopback.Add(measured.Loopback);
                    append.Add(measured.Append);
                    read.Add(measured.Read);
                    sendfile.Add(measured.Sendfile);
                    produce.Add(measured.Produce);
                    fetch.Add(measured.Fetch);
                }
            }

            double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
            var (l, a, r, s, p, f) = (Median(loopback), Median(append), Median(read), Median(sendfile), Median(produce), Median(fetch));
            double RecordsPerSecond(double mbps) => mbps * 1024 * 1024 / batchSize * recordsPerBatch;
            Console.WriteLine();
            Console.WriteLine("Medians of the rounds, MB/s of record-batch bytes (records/s in brackets):");
            Console.WriteLine();
            Console.WriteLine("| measurement | MB/s | reference (same run) | ratio |");
            Console.WriteLine("| --- | ---: | --- | ---: |");
            Console.WriteLine(string.Create(inv, $"| raw loopback TCP copy (1 MiB writes, reader discards) | {l:F0} | | |"));
            Console.WriteLine(string.Create(inv, $"| storage engine append (PartitionLog.Append, same batches) | {a:F0} ({RecordsPerSecond(a):N0}) | | |"));
            Console.WriteLine(string.Create(inv, $"| storage engine read (1 MiB PartitionLog.Read regions copied out) | {r:F0} | | |"));
            Console.WriteLine(string.Create(inv, $"| the same log's segment files sent with sendfile over loopback, reader discards | {s:F0} | storage read {r:F0} | {s / r:F2} |"));
            Console.WriteLine(string.Create(inv, $"| broker produce (raw Produce v9, acks=1, {InFlight} in flight) | {p:F0} ({RecordsPerSecond(p):N0}) | storage append {a:F0} | {p / a:F2} |"));
            Console.WriteLine(string.Create(inv, $"| broker fetch (raw Fetch v12, 1 MiB, one in flight) | {f:F0} ({RecordsPerSecond(f):N0}) | storage read {r:F0} | {f / r:F2} |"));
            Console.WriteLine(string.Create(inv, $"| broker produce against the wire | {p:F0} | loopback {l:F0} | {p / l:F2} |"));
            Console.WriteLine(string.Create(inv, $"| broker fetch against the wire | {f:F0} | loopback {l:F0} | {f / l:F2} |"));
            Console.WriteLine(string.Create(inv, $"| broker fetch against sendfile of the log's files | {f:F0} | loopback sendfile {s:F0} | {f / s:F2} |"));
        }
        finally
        {
            if (broker is not null)
            {
                await broker.DisposeAsync();
            }
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>64 different batches of uncompressed records with random values, each about <paramref name="batchBytes"/> long.</summary>
    private static List<byte[]> BuildBatches(int recordSize, int batchBytes)
    {
        var random = new Random(1);
        var value = new byte[recordSize];
        var batches = new List<byte[]>();
        var perBatch = -1;
        for (var i = 0; i < 64; i++)
        {
            using var builder = new RecordBatchBuilder();
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            while (perBatch < 0 ? RecordBatch.HeaderSize + builder.UncompressedRecordsSize + recordSize + 8 <= batchBytes || builder.Count == 0 : builder.Count < perBatch)
            {
                random.NextBytes(value);
                builder.Append(now, null, value);
            }
            perBatch = builder.Count;
            batches.Add(builder.Build());
        }
        return batches;
    }

    private static double Mbps(long bytes, TimeSpan elapsed) => bytes / (1024.0 * 1024) / elapsed.TotalSeconds;

    /// <summary>1 MiB writes of one buffer over a loopback socket to a reader that discards them: what the wire costs.</summary>
    private static double Loopback(long totalBytes, byte[] buffer)
    {
        var chunk = new byte[FetchBytes];
        Random.Shared.NextBytes(chunk);
        return OverLoopback(totalBytes, buffer, sender =>
        {
            for (long sent = 0; sent < totalBytes; sent += chunk.Length)
            {
                sender.Send(chunk.AsSpan(0, (int)Math.Min(chunk.Length, totalBytes - sent)));
            }
        });
    }

    /// <summary>
    /// The log's segment files sent whole with sendfile (the kernel's copy-free path a fetch also takes) to a reader
    /// that discards them: the wire's cost for these bytes without any request in between.
    /// </summary>
    private static double LoopbackSendfile(List<string> files, byte[] buffer) =>
        OverLoopback(files.Sum(f => new FileInfo(f).Length), buffer, sender =>
        {
            foreach (var file in files)
            {
                sender.SendFile(file);
            }
        });

    /// <summary>MB/s of <paramref name="send"/> writing <paramref name="totalBytes"/> to a loopback reader that receives 1 MiB at a time.</summary>
    private static double OverLoopback(long totalBytes, byte[] buffer, Action<Socket> send)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        sender.Connect(listener.LocalEndPoint!);
        using var receiver = listener.Accept();
        var clock = Stopwatch.StartNew();
        var reader = Task.Run(() =>
        {
            long received = 0;
            while (received < totalBytes)
            {
                var n = receiver.Receive(buffer.AsSpan(0, FetchBytes));
                if (n == 0)
                {
                    throw new EndOfStreamException();
                }
                received += n;
            }
        });
        send(sender);
        reader.Wait();
        return Mbps(totalBytes, clock.Elapsed);
    }

    [DllImport("libc", EntryPoint = "sync")]
    private static extern void Sync();

    /// <summary>Writes every dirty page out and waits, so the next timed write starts with none pending.</summary>
    private static void WriteBackDirtyPages()
    {
        if (OperatingSystem.IsLinux())
        {
            Sync();
        }
    }

    private static double StorageAppend(PartitionLog log, List<byte[]> templates, int batchCount, long totalBytes)
    {
        // The broker appends from its request buffer; the log patches offsets into it, as here into the template.
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < batchCount; i++)
        {
            log.Append(templates[i % templates.Count], 0);
        }
        return Mbps(totalBytes, clock.Elapsed);
    }

    private static double StorageRead(PartitionLog log, byte[] buffer)
    {
        var clock = Stopwatch.StartNew();
        long offset = 0, bytes = 0;
        var end = log.LogEndOffset;
        while (offset < end)
        {
            var region = log.Read(offset, FetchBytes, FetchIsolation.LogEnd, minOneMessage: true).Records;
            var n = region.CopyTo(buffer.AsSpan(0, region.Length));
            bytes += n;
            offset = NextOffset(buffer.AsSpan(0, n), offset);
        }
        return Mbps(bytes, clock.Elapsed);
    }

    /// <summary>The offset after the last whole batch in <paramref name="records"/> (a fetch may end inside one).</summary>
    private static long NextOffset(ReadOnlySpan<byte> records, long current)
    {
        var position = 0;
        while (records.Length - position >= RecordBatch.LogOverhead)
        {
            var size = RecordBatch.TotalSize(records[position..]);
            if (size > records.Length - position)
            {
                break;
            }
            current = RecordBatchHeader.Read(records[position..]).NextOffset;
            position += size;
        }
        return current;
    }

    private static double Produce(RawClient client, string topic, List<byte[]> templates, int batchCount, long totalBytes)
    {
        // One request frame per template, encoded before the clock starts: the client side costs nothing but the sends.
        var frames = templates.Select(batch => client.Frame(new ProduceRequest
        {
            Acks = 1,
            TimeoutMs = 30_000,
            TopicData = [new() { Name = topic, PartitionData = [new() { Index = 0, Records = batch }] }],
        }, 9)).ToList();
        var clock = Stopwatch.StartNew();
        int sent = 0, answered = 0;
        while (answered < batchCount)
        {
            while (sent < batchCount && sent - answered < InFlight)
            {
                client.Send(frames[sent % frames.Count]);
                sent++;
            }
            var response = client.Receive<ProduceResponse>(ApiKey.Produce, 9);
            var error = response.Responses[0].PartitionResponses[0].ErrorCode;
            if (error != 0)
            {
                throw new InvalidOperationException($"Produce failed with error {error}");
            }
            answered++;
        }
        return Mbps(totalBytes, clock.Elapsed);
    }

    private static double Fetch(RawClient client, string topic, long totalBytes)
    {
        var request = new FetchRequest
        {
            MaxWaitMs = 500,
            MinBytes = 1,
            MaxBytes = 50 * 1024 * 1024,
            Topics = [new() { Topic = topic, Partitions = [new() { Partition = 0, PartitionMaxBytes = FetchBytes }] }],
        };
        var clock = Stopwatch.StartNew();
        long offset = 0, bytes = 0;
        while (bytes < totalBytes)
        {
            request.Topics[0].Partitions[0].FetchOffset = offset;
            client.Send(client.Frame(request, 12));
            var response = client.Receive<FetchResponse>(ApiKey.Fetch, 12);
            var partition = response.Responses[0].Partitions[0];
            if (partition.ErrorCode != 0 || partition.Records is not { Length: > 0 } records)
            {
                throw new InvalidOperationException($"Fetch at {offset} returned error {partition.ErrorCode} and no records");
            }
            offset = NextOffset(records.Span, offset);
            bytes += records.Length;
        }
        return Mbps(bytes, clock.Elapsed);
    }
}
