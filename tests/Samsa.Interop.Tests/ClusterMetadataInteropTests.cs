using System.Text.Json;
using Samsa.Interop.Tests.Infrastructure;

namespace Samsa.Interop.Tests;

/// <summary>
/// Unmodified Kafka clients, each in its own process, connect to a broker process, negotiate API versions
/// and read the cluster's metadata.
/// </summary>
public class ClusterMetadataInteropTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(60);
    private BrokerProcess Broker => fixture.Broker;

    [Fact]
    public async Task Kcat_ListsBrokerAndCluster()
    {
        var result = await ExternalProcess.RunAsync("kcat", ["-b", Broker.Bootstrap, "-L", "-m", "10"], ClientTimeout);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"Metadata for all topics (from broker 1: 127.0.0.1:{Broker.Port}/1)", result.Stdout);
        Assert.Contains(" 1 brokers:", result.Stdout);
        Assert.Contains($"broker 1 at 127.0.0.1:{Broker.Port} (controller)", result.Stdout);
        Assert.Contains(" 0 topics:", result.Stdout);
    }

    [Fact]
    public async Task Kcat_AskingForUnknownAndInvalidTopics_ShowsKafkasErrors()
    {
        var unknown = await ExternalProcess.RunAsync("kcat", ["-b", Broker.Bootstrap, "-L", "-t", "no-such-topic", "-m", "10"], ClientTimeout);
        Assert.Contains("topic \"no-such-topic\" with 0 partitions: Broker: Unknown topic or partition", unknown.Stdout);
        var invalid = await ExternalProcess.RunAsync("kcat", ["-b", Broker.Bootstrap, "-L", "-t", "bad/name", "-m", "10"], ClientTimeout);
        Assert.Contains("topic \"bad/name\" with 0 partitions: Broker: Invalid topic", invalid.Stdout);
    }

    [Fact]
    public async Task KafkaPython_NegotiatesVersionsAndReadsMetadata()
    {
        var result = await ExternalProcess.RunAsync(Peers.Python, [RepoPaths.ClientScript("kafka_python_cluster.py"), Broker.Bootstrap], ClientTimeout);
        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        var root = json.RootElement;
        // kafka-python asked ApiVersions, saw our key ranges, and inferred a broker version from them.
        var apiVersions = root.GetProperty("api_versions");
        Assert.Equal(4, apiVersions.GetProperty("18")[1].GetInt32());
        Assert.Equal(12, apiVersions.GetProperty("3")[1].GetInt32());
        Assert.True(root.GetProperty("api_version")[0].GetInt32() >= 1, result.Stdout);
        var broker = Assert.Single(root.GetProperty("brokers").EnumerateArray());
        Assert.Equal(1, broker.GetProperty("id").GetInt32());
        Assert.Equal("127.0.0.1", broker.GetProperty("host").GetString());
        Assert.Equal(Broker.Port, broker.GetProperty("port").GetInt32());
        Assert.Equal(1, root.GetProperty("controller").GetInt32());
    }

    [Fact]
    public async Task ConfluentKafkaDotnet_GetMetadata_ReturnsTheBroker()
    {
        var result = await ExternalProcess.RunAsync("dotnet", [RepoPaths.ConfluentClientDll, "metadata", Broker.Bootstrap], ClientTimeout);
        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        var root = json.RootElement;
        Assert.Equal("2.16.0", root.GetProperty("librdkafka").GetString());
        var broker = Assert.Single(root.GetProperty("brokers").EnumerateArray());
        Assert.Equal(1, broker.GetProperty("id").GetInt32());
        Assert.Equal(Broker.Port, broker.GetProperty("port").GetInt32());
        Assert.Equal(fixture.ClusterId(), root.GetProperty("clusterId").GetString());
    }

    [Fact]
    public async Task ConfluentKafkaPython_ListTopics_ReturnsClusterIdAndController()
    {
        var result = await ExternalProcess.RunAsync(Peers.Python, [RepoPaths.ClientScript("confluent_python_cluster.py"), Broker.Bootstrap], ClientTimeout);
        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        var root = json.RootElement;
        Assert.Equal(fixture.ClusterId(), root.GetProperty("cluster_id").GetString());
        Assert.Equal(1, root.GetProperty("controller_id").GetInt32());
        Assert.Equal(Broker.Port, Assert.Single(root.GetProperty("brokers").EnumerateArray()).GetProperty("port").GetInt32());
    }
}
