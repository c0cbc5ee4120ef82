using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Broker.Config;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Benchmarks;

// Topic administration at scale, beside its references measured in the same run:
//   1. CreateTopics for TOPICS x PARTITIONS (one request per 100 topics) until every response is back, then until
//      every partition log is open on disk; reference: creating the same directories and files Kafka's layout
//      needs (.log, preallocated .index and .timeindex, partition.metadata) with plain file calls.
//   2. A Metadata request for all topics; reference: encoding the same response in memory.
// Usage: dotnet bench/Samsa.Broker.Benchmarks/bin/Release/net10.0/Samsa.Broker.Benchmarks.dll topics [topics] [partitions]
internal static class TopicsBenchmark
{
    public static async Task RunAsync(string[] args)
    {
        var topics = args.Length > 0 ? int.Parse(args[0]) : 1000;
        var partitions = args.Length > 1 ? int.Parse(args[1]) : 10;
        var root = Directory.CreateTempSubdirectory("samsa-topics-bench-").FullName;
        try
        {
            Console.WriteLine($"Topic administration benchmark: {topics} topics x {partitions} partitions; {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");

            // Reference: the files Kafka creates for a new partition, made with plain calls.
            var reference = Stopwatch.StartNew();
            var raw = Path.Combine(root, "raw");
            for (var t = 0; t < topics; t++)
            {
                for (var p = 0; p < partitions; p++)
                {
                    var dir = Directory.CreateDirectory(Path.Combine(raw, $"topic-{t:D5}-{p}")).FullName;
                    File.WriteAllBytes(Path.Combine(dir, "00000000000000000000.log"), []);
                    foreach (var index in new[] { "00000000000000000000.index", "00000000000000000000.timeindex" })
                    {
                        using var file = new FileStream(Path.Combine(dir, index), FileMode.CreateNew);
                        file.SetLength(10 * 1024 * 1024);
                    }
                    File.WriteAllText(Path.Combine(dir, "partition.metadata"), $"version: 0\ntopic_id: {Uuid.Random()}\n");
                }
            }
            var referenceSeconds = reference.Elapsed.TotalSeconds;

            var config = KafkaConfig.FromProperties([new("listeners", "PLAINTEXT://127.0.0.1:0"), new("log.dirs", Path.Combine(root, "data")), new("auto.create.topics.enable", "false")]);
            await using var broker = await KafkaBroker.StartAsync(config, NullLoggerFactory.Instance, CancellationToken.None);
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync("127.0.0.1", broker.BoundEndpoints[0].Port);
            var correlation = 0;

            async Task<T> Request<T>(IApiMessage request, short version) where T : IApiMessage, new()
            {
                var correlationId = ++correlation;
                await socket.SendAsync(RequestFrames.Build(request, version, correlationId, "bench"));
                var size = new byte[4];
                await ReceiveExactly(size);
                var payload = new byte[RequestFrames.PayloadSize(size)];
                await ReceiveExactly(payload);
                return RequestFrames.ReadResponse<T>(payload, request.ApiKey, version, correlationId);
            }

            async Task ReceiveExactly(Memory<byte> buffer)
            {
                while (buffer.Length > 0)
                {
                    var n = await socket.ReceiveAsync(buffer);
                    buffer = n > 0 ? buffer[n..] : throw new EndOfStreamException();
                }
            }

            GC.Collect();
            var memoryBefore = Environment.WorkingSet;
            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            var create = Stopwatch.StartNew();
            for (var start = 0; start < topics; start += 100)
            {
                var request = new CreateTopicsRequest { timeoutMs = 60000 };
                for (var t = start; t < Math.Min(start + 100, topics); t++)
                {
                    request.Topics.Add(new() { Name = $"topic-{t:D5}", NumPartitions = partitions, ReplicationFactor = 1 });
                }
                var response = await Request<CreateTopicsResponse>(request, 7);
                if (response.Topics.Any(t => t.ErrorCode != 0))
                {
                    throw new InvalidOperationException($"CreateTopics failed: {response.Topics.First(t => t.ErrorCode != 0).ErrorCode}");
                }
            }
            var answered = create.Elapsed.TotalSeconds;
            while (broker.Logs.Count < topics * partitions)
            {
                await Task.Delay(10);
            }
            var onDisk = create.Elapsed.TotalSeconds;

            var metadataClock = Stopwatch.StartNew();
            var metadata = await Request<MetadataResponse>(new MetadataRequest { Topics = null }, 12);
            var metadataMs = metadataClock.Elapsed.TotalMilliseconds;
            var encodeClock = Stopwatch.StartNew();
            var encoded = metadata.ToArray(12);
            var encodeMs = encodeClock.Elapsed.TotalMilliseconds;
            var memoryAfter = Environment.WorkingSet;
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            var partitionCount = metadata.Topics.Sum(t => t.Partitions.Count);

            Console.WriteLine();
            Console.WriteLine("| measurement | Samsa | reference (same run) | ratio |");
            Console.WriteLine("| --- | ---: | ---: | ---: |");
            Console.WriteLine($"| CreateTopics {topics} x {partitions}: all responses | {answered:F2} s | | |");
            Console.WriteLine($"| ... until all {topics * partitions} partition logs are open | {onDisk:F2} s | plain file calls for the same files: {referenceSeconds:F2} s | {onDisk / referenceSeconds:F2} |");
            Console.WriteLine($"| Metadata v12 for all topics ({partitionCount} partitions, {encoded.Length} bytes) | {metadataMs:F1} ms | encoding the same response in memory: {encodeMs:F1} ms | {metadataMs / encodeMs:F1} |");
            Console.WriteLine($"| broker process working set | {memoryBefore >> 20} -> {memoryAfter >> 20} MiB | | |");
            Console.WriteLine($"| managed bytes allocated in the process during the run | {allocated >> 20} MiB | | |");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
