using System.Diagnostics;
using System.Globalization;
using Samsa.Interop.Tests.Infrastructure;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Xunit.Abstractions;

namespace Samsa.Interop.Tests;

/// <summary>
/// Cluster state survives SIGKILL: topics created with configs, the broker killed with no chance to shut down,
/// restarted on the same directory: every topic, topic id, partition count and config is back, served again.
/// </summary>
public class RestartTests(ITestOutputHelper output)
{
    [Fact]
    public async Task HundredTopicsWithConfigs_SurviveSigkill()
    {
        var broker = await BrokerProcess.StartAsync();
        broker.DeleteOnDispose = false;
        Dictionary<string, (Uuid Id, int Partitions, string Retention)> before;
        try
        {
            using (var connection = await RawKafkaConnection.ConnectAsync(broker.Port))
            {
                var create = new CreateTopicsRequest { timeoutMs = 30000 };
                for (var i = 0; i < 100; i++)
                {
                    create.Topics.Add(new CreateTopicsRequest.CreatableTopic
                    {
                        Name = $"restart-{i:D3}",
                        NumPartitions = 1 + (i % 5),
                        ReplicationFactor = 1,
                        Configs = [new() { Name = "retention.ms", Value = (3_600_000L + i).ToString(CultureInfo.InvariantCulture) }, new() { Name = "cleanup.policy", Value = i % 2 == 0 ? "delete" : "compact" }],
                    });
                }
                var created = await connection.RequestAsync<CreateTopicsResponse>(create, 7);
                Assert.All(created.Topics, t => Assert.Equal(0, t.ErrorCode));
                before = await SnapshotAsync(connection);
            }
            Assert.Equal(100, before.Count);
            await broker.KillAsync();
        }
        finally
        {
            await broker.DisposeAsync();
        }

        var restarted = await BrokerProcess.StartAsync(reuseDirectory: broker.Directory, reusePort: broker.Port);
        await using (restarted)
        {
            using var connection = await RawKafkaConnection.ConnectAsync(restarted.Port);
            var after = await SnapshotAsync(connection);
            Assert.Equal(before, after);
            var policies = await connection.RequestAsync<DescribeConfigsResponse>(new DescribeConfigsRequest
            {
                Resources = [new() { ResourceType = 2, ResourceName = "restart-001", ConfigurationKeys = ["cleanup.policy"] }],
            }, 4);
            Assert.Equal("compact", Assert.Single(policies.Results[0].Configs).Value);
            Assert.Contains("Loaded metadata: 100 topics, 300 partitions", restarted.Output);
        }
    }

    /// <summary>
    /// 10,000 partitions in the metadata log; with snapshots every 64 KiB of records a restart replays only the
    /// tail written after the newest snapshot. Prints the load time the broker logs (recorded in BENCHMARKS.md).
    /// </summary>
    [Fact]
    public async Task TenThousandPartitions_RestartReplaysOnlyTheTailAfterTheSnapshot()
    {
        var config = new Dictionary<string, string> { ["metadata.log.max.record.bytes.between.snapshots"] = "65536" };
        var broker = await BrokerProcess.StartAsync(config);
        broker.DeleteOnDispose = false;
        try
        {
            using var connection = await RawKafkaConnection.ConnectAsync(broker.Port);
            var rssBefore = broker.ResidentBytes();
            var createWatch = Stopwatch.StartNew();
            for (var batch = 0; batch < 10; batch++)
            {
                var create = new CreateTopicsRequest { timeoutMs = 60000 };
                for (var i = 0; i < 100; i++)
                {
                    create.Topics.Add(new CreateTopicsRequest.CreatableTopic { Name = $"many-{batch:D2}-{i:D3}", NumPartitions = 10, ReplicationFactor = 1 });
                }
                var created = await connection.RequestAsync<CreateTopicsResponse>(create, 7, TimeSpan.FromMinutes(2));
                Assert.All(created.Topics, t => Assert.Equal(0, t.ErrorCode));
            }
            var createMs = createWatch.ElapsedMilliseconds;
            var metadataWatch = Stopwatch.StartNew();
            var all = await connection.RequestAsync<MetadataResponse>(new MetadataRequest { Topics = null }, 12, TimeSpan.FromMinutes(1));
            var metadataMs = metadataWatch.ElapsedMilliseconds;
            Assert.Equal(10_000, all.Topics.Sum(t => t.Partitions.Count));
            output.WriteLine($"CreateTopics 1,000 topics x 10 partitions (10 requests of 100): {createMs} ms; Metadata for all topics: {metadataMs} ms; " +
                $"broker RSS {rssBefore / 1048576} MiB before, {broker.ResidentBytes() / 1048576} MiB after");
            await broker.KillAsync();
        }
        finally
        {
            await broker.DisposeAsync();
        }
        var watch = Stopwatch.StartNew();
        var restarted = await BrokerProcess.StartAsync(config, broker.Directory, broker.Port);
        await using (restarted)
        {
            var startup = watch.Elapsed;
            var loaded = restarted.Output.Split('\n').Single(l => l.Contains("Loaded metadata", StringComparison.Ordinal));
            output.WriteLine($"restart to listening: {startup.TotalMilliseconds:F0} ms; {loaded.Trim()}");
            Assert.Contains("Loaded metadata: 1000 topics, 10000 partitions", loaded);
            var replayed = long.Parse(loaded.Split("replayed ")[1].Split(' ')[0], CultureInfo.InvariantCulture);
            // Without the snapshot all 11,000 topic and partition records would be replayed.
            Assert.True(replayed < 11_000, loaded);
            Assert.NotEmpty(Directory.EnumerateFiles(Path.Combine(broker.Directory, "data", "__cluster_metadata-0"), "*.checkpoint"));
        }
    }

    private static async Task<Dictionary<string, (Uuid, int, string)>> SnapshotAsync(RawKafkaConnection connection)
    {
        var metadata = await connection.RequestAsync<MetadataResponse>(new MetadataRequest { Topics = null }, 12);
        var configs = await connection.RequestAsync<DescribeConfigsResponse>(new DescribeConfigsRequest
        {
            Resources = metadata.Topics.Select(t => new DescribeConfigsRequest.DescribeConfigsResource { ResourceType = 2, ResourceName = t.Name!, ConfigurationKeys = ["retention.ms"] }).ToList(),
        }, 4);
        return metadata.Topics.ToDictionary(
            t => t.Name!,
            t => (t.TopicId, t.Partitions.Count, configs.Results.Single(r => r.ResourceName == t.Name).Configs.Single().Value!));
    }
}
