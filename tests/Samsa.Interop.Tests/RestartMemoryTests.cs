using System.Diagnostics;
using Samsa.Interop.Tests.Infrastructure;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;
using Xunit.Abstractions;

namespace Samsa.Interop.Tests;

/// <summary>
/// Issue 12, memory bounded by design: a restart after SIGKILL, when every active segment's index files are still
/// preallocated to segment.index.bytes (10 MB each), costs about what a clean restart costs, and the same data
/// starts and serves under a 512 MiB GC heap limit. Before, each partition decoded ~25 MB of index into arrays.
/// </summary>
public class RestartMemoryTests(ITestOutputHelper output)
{
    private const int Topics = 20;
    private const int PartitionsPerTopic = 10;
    private const int RecordsPerPartition = 3;

    private static string Topic(int t) => $"memory-{t:D2}";

    private static async Task ProduceToEveryPartitionAsync(RawKafkaConnection connection)
    {
        for (var t = 0; t < Topics; t++)
        {
            var request = new ProduceRequest { Acks = 1, TimeoutMs = 10000, TopicData = [new() { Name = Topic(t) }] };
            for (var p = 0; p < PartitionsPerTopic; p++)
            {
                using var builder = new RecordBatchBuilder();
                for (var i = 0; i < RecordsPerPartition; i++)
                {
                    builder.Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null, System.Text.Encoding.UTF8.GetBytes($"{Topic(t)}-{p}-{i}"));
                }
                request.TopicData[0].PartitionData.Add(new() { Index = p, Records = builder.Build() });
            }
            var response = await connection.RequestAsync<ProduceResponse>(request, 9);
            Assert.All(response.Responses[0].PartitionResponses, r => Assert.Equal(0, r.ErrorCode));
        }
    }

    /// <summary>Waits until every partition log is open and answers ListOffsets with <paramref name="endOffset"/>.</summary>
    private static async Task WaitUntilServedAsync(BrokerProcess broker, long endOffset)
    {
        using var connection = await RawKafkaConnection.ConnectAsync(broker.Port);
        var request = new ListOffsetsRequest { ReplicaId = -1 };
        for (var t = 0; t < Topics; t++)
        {
            request.Topics.Add(new() { Name = Topic(t), Partitions = [.. Enumerable.Range(0, PartitionsPerTopic).Select(p => new ListOffsetsRequest.ListOffsetsPartition { PartitionIndex = p, Timestamp = -1 })] });
        }
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var response = await connection.RequestAsync<ListOffsetsResponse>(request, 7);
            var partitions = response.Topics.SelectMany(t => t.Partitions).ToList();
            if (partitions.Count == Topics * PartitionsPerTopic && partitions.All(p => p.ErrorCode == 0 && p.Offset == endOffset))
            {
                return;
            }
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), $"partitions not served at {endOffset}: " +
                string.Join(", ", partitions.Where(p => p.ErrorCode != 0 || p.Offset != endOffset).Take(5).Select(p => $"{p.PartitionIndex}: error {p.ErrorCode} offset {p.Offset}")) + "\n" + broker.Output);
            await Task.Delay(100);
        }
    }

    /// <summary>Resident memory once idle: the lowest of a few samples a moment apart, after loading settled.</summary>
    private static async Task<long> IdleResidentBytesAsync(BrokerProcess broker)
    {
        await Task.Delay(1500);
        var lowest = long.MaxValue;
        for (var i = 0; i < 5; i++)
        {
            lowest = Math.Min(lowest, broker.ResidentBytes());
            await Task.Delay(200);
        }
        return lowest;
    }

    [Fact]
    public async Task RestartAfterSigkill_WithPreallocatedIndexes_CostsAboutACleanRestart_AndFitsA512MiBHeap()
    {
        var first = await BrokerProcess.StartAsync();
        first.DeleteOnDispose = false;
        var directory = first.Directory;
        var port = first.Port;
        try
        {
            using var connection = await RawKafkaConnection.ConnectAsync(first.Port);
            var create = new CreateTopicsRequest { timeoutMs = 30000 };
            for (var t = 0; t < Topics; t++)
            {
                create.Topics.Add(new() { Name = Topic(t), NumPartitions = PartitionsPerTopic, ReplicationFactor = 1 });
            }
            var created = await connection.RequestAsync<CreateTopicsResponse>(create, 7, TimeSpan.FromSeconds(30));
            Assert.All(created.Topics, t => Assert.Equal(0, t.ErrorCode));
            await WaitUntilServedAsync(first, 0);
            await ProduceToEveryPartitionAsync(connection);
            await WaitUntilServedAsync(first, RecordsPerPartition);
            Assert.Equal(0, await first.StopAsync());
        }
        finally
        {
            await first.DisposeAsync();
        }

        // (a) after a clean stop: the indexes were trimmed, and the restart preallocates the active ones again.
        long cleanRss;
        var clean = await BrokerProcess.StartAsync(reuseDirectory: directory, reusePort: port);
        clean.DeleteOnDispose = false;
        try
        {
            await WaitUntilServedAsync(clean, RecordsPerPartition);
            cleanRss = await IdleResidentBytesAsync(clean);
            var index = Path.Combine(directory, "data", $"{Topic(0)}-0", "00000000000000000000.index");
            Assert.Equal(10 * 1024 * 1024, new FileInfo(index).Length);
            await clean.KillAsync();
        }
        finally
        {
            await clean.DisposeAsync();
        }

        // (b) after SIGKILL: 200 active segments with 10 MB .index and .timeindex files, zeros past their entries.
        long killedRss;
        var killed = await BrokerProcess.StartAsync(reuseDirectory: directory, reusePort: port);
        killed.DeleteOnDispose = false;
        try
        {
            await WaitUntilServedAsync(killed, RecordsPerPartition);
            killedRss = await IdleResidentBytesAsync(killed);
            await killed.KillAsync();
        }
        finally
        {
            await killed.DisposeAsync();
        }
        output.WriteLine($"{Topics * PartitionsPerTopic} partitions: RSS after a clean restart {cleanRss / 1048576} MiB, " +
            $"after a restart following SIGKILL {killedRss / 1048576} MiB");
        Assert.True(killedRss <= cleanRss * 3 / 2, $"restart after SIGKILL {killedRss / 1048576} MiB > 1.5 x clean restart {cleanRss / 1048576} MiB");

        // (c) the same killed data under a 512 MiB GC heap limit: starts, recovers and serves.
        var limited = await BrokerProcess.StartAsync(reuseDirectory: directory, reusePort: port,
            environment: new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0x20000000" });
        await using (limited)
        {
            await WaitUntilServedAsync(limited, RecordsPerPartition);
            using var connection = await RawKafkaConnection.ConnectAsync(limited.Port);
            await ProduceToEveryPartitionAsync(connection);
            await WaitUntilServedAsync(limited, 2 * RecordsPerPartition);
            output.WriteLine($"under DOTNET_GCHeapHardLimit=0x20000000: RSS {limited.ResidentBytes() / 1048576} MiB");
            Assert.DoesNotContain("OutOfMemory", limited.Output);
        }
    }
}
