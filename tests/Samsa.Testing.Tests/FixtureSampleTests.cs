using Confluent.Kafka;
using Samsa.Native;

namespace Samsa.Testing.Tests;

/// <summary>The xunit fixture of docs/testing.md, compiled: one cluster for a test class, shared by its tests.</summary>
public sealed class KafkaFixture : IAsyncLifetime
{
    public SamsaCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await SamsaCluster.StartAsync(o => o.Topic("orders", partitions: 3));

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

public sealed class FixtureSampleTests(KafkaFixture kafka) : IClassFixture<KafkaFixture>
{
    [Fact]
    public async Task SharedCluster_TakesProducesFromEachTest()
    {
        CentOs8Librdkafka.EnsureLoaded();
        using var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = kafka.Cluster.BootstrapServers, LingerMs = 0 }).Build();
        var delivered = await producer.ProduceAsync(new TopicPartition("orders", 0), new Message<string, string> { Key = "a", Value = "one" });
        Assert.Equal(PersistenceStatus.Persisted, delivered.Status);
    }

    [Fact]
    public void SharedCluster_IsTheSameForEveryTestOfTheClass()
    {
        Assert.Equal(3, kafka.Cluster.Broker(1).Metadata.Current.Topics["orders"].Partitions.Length);
    }
}
