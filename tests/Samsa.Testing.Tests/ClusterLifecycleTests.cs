using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Samsa.Native;

namespace Samsa.Testing.Tests;

/// <summary>The cluster's options and its stop, restart and clock controls, judged through a real client.</summary>
public sealed class ClusterLifecycleTests
{
    public ClusterLifecycleTests() => CentOs8Librdkafka.EnsureLoaded();

    [Fact]
    public async Task Options_ClusterIdTopicsAndBrokerConfigs_AreWhatClientsSee()
    {
        const string clusterId = "MkU3OEVBNTcwNTJENDM2Qk";
        await using var cluster = await SamsaCluster.StartAsync(o => o
            .ClusterId(clusterId)
            .Topic("orders", partitions: 3, configs: new Dictionary<string, string> { ["retention.ms"] = "60000" })
            .BrokerConfig("auto.create.topics.enable", "false"));
        Assert.Equal(clusterId, cluster.ClusterId);
        Assert.StartsWith("/dev/shm/", cluster.DataDirectory, StringComparison.Ordinal);

        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        var described = await admin.DescribeClusterAsync();
        Assert.Equal(clusterId, described.ClusterId);
        var metadata = admin.GetMetadata("orders", TimeSpan.FromSeconds(10));
        Assert.Equal(3, Assert.Single(metadata.Topics).Partitions.Count);
        var configs = await admin.DescribeConfigsAsync([new ConfigResource { Type = ResourceType.Topic, Name = "orders" }]);
        Assert.Equal("60000", configs[0].Entries["retention.ms"].Value);

        // auto.create.topics.enable=false: an unknown topic stays unknown (librdkafka waits for it, then times out).
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, MessageTimeoutMs = 1000 }).Build();
        var refused = await Assert.ThrowsAsync<ProduceException<Null, string>>(() => producer.ProduceAsync("missing", new Message<Null, string> { Value = "x" }));
        Assert.Contains(refused.Error.Code, new[] { Confluent.Kafka.ErrorCode.UnknownTopicOrPart, Confluent.Kafka.ErrorCode.Local_MsgTimedOut });
        Assert.Null(cluster.Broker(1).Metadata.Current.Partition("missing", 0));
    }

    [Fact]
    public async Task RestartedBroker_KeepsItsPortAndData_AndTheProducerCarriesOn()
    {
        await using var cluster = await SamsaCluster.StartAsync(o => o.Topic("durable"));
        var port = cluster.Port(1);
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, LingerMs = 0 }).Build();
        await producer.ProduceAsync("durable", new Message<Null, string> { Value = "before" });

        await cluster.RestartBrokerAsync(1);
        Assert.Equal(port, cluster.Port(1));
        var after = await producer.ProduceAsync("durable", new Message<Null, string> { Value = "after" });
        Assert.Equal(1, after.Offset.Value);
        Assert.Equal(2, cluster.Broker(1).Logs.Get("durable", 0)!.LogEndOffset);

        await cluster.StopBrokerAsync(1);
        Assert.Throws<InvalidOperationException>(() => cluster.Broker(1));
    }

    [Fact]
    public async Task SaslPlainUsers_LogIn_AndAWrongPasswordIsRefused()
    {
        await using var cluster = await SamsaCluster.StartAsync(o => o.Topic("secure").SaslPlainUser("alice", "alice-secret"));
        ProducerConfig Config(string password) => new()
        {
            BootstrapServers = cluster.BootstrapServers,
            SecurityProtocol = SecurityProtocol.SaslPlaintext,
            SaslMechanism = SaslMechanism.Plain,
            SaslUsername = "alice",
            SaslPassword = password,
            MessageTimeoutMs = 3000,
        };
        using (var producer = new ProducerBuilder<Null, string>(Config("alice-secret")).Build())
        {
            Assert.Equal(0, (await producer.ProduceAsync("secure", new Message<Null, string> { Value = "in" })).Offset.Value);
        }
        using var intruder = new ProducerBuilder<Null, string>(Config("guess")).Build();
        await Assert.ThrowsAsync<ProduceException<Null, string>>(() => intruder.ProduceAsync("secure", new Message<Null, string> { Value = "out" }));
        Assert.Equal(1, cluster.Broker(1).Logs.Get("secure", 0)!.LogEndOffset);
    }

    [Fact]
    public async Task Authorizer_LetsTheSuperUserProduce_AndRefusesAUserWithoutAcls()
    {
        await using var cluster = await SamsaCluster.StartAsync(o => o.Topic("guarded")
            .SaslPlainUser("admin", "admin-secret").SaslPlainUser("alice", "alice-secret").Authorizer("admin"));
        ProducerConfig Config(string user) => new()
        {
            BootstrapServers = cluster.BootstrapServers,
            SecurityProtocol = SecurityProtocol.SaslPlaintext,
            SaslMechanism = SaslMechanism.Plain,
            SaslUsername = user,
            SaslPassword = user + "-secret",
            MessageTimeoutMs = 5000,
        };
        using (var admin = new ProducerBuilder<Null, string>(Config("admin")).Build())
        {
            Assert.Equal(0, (await admin.ProduceAsync("guarded", new Message<Null, string> { Value = "allowed" })).Offset.Value);
        }
        using var alice = new ProducerBuilder<Null, string>(Config("alice")).Build();
        var refused = await Assert.ThrowsAsync<ProduceException<Null, string>>(() => alice.ProduceAsync("guarded", new Message<Null, string> { Value = "denied" }));
        Assert.Equal(Confluent.Kafka.ErrorCode.TopicAuthorizationFailed, refused.Error.Code);
        Assert.Equal(1, cluster.Broker(1).Logs.Get("guarded", 0)!.LogEndOffset);
    }

    [Fact]
    public async Task AdvancedClock_MovesTheBrokersTime_AndTheRecordsItStamps()
    {
        await using var cluster = await SamsaCluster.StartAsync(o => o.AdvanceableClock().Topic("clocked", configs: new Dictionary<string, string>
        {
            ["message.timestamp.type"] = "LogAppendTime",
        }));
        var before = cluster.Time.GetUtcNow();
        cluster.AdvanceTime(TimeSpan.FromDays(1));
        Assert.True(cluster.Time.GetUtcNow() - before >= TimeSpan.FromDays(1));

        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, LingerMs = 0 }).Build();
        var delivered = await producer.ProduceAsync("clocked", new Message<Null, string> { Value = "tomorrow" });
        // LogAppendTime: the broker stamps the record with its own clock, a day ahead of the machine's.
        Assert.Equal(TimestampType.LogAppendTime, delivered.Timestamp.Type);
        Assert.True(delivered.Timestamp.UtcDateTime - DateTime.UtcNow > TimeSpan.FromHours(23), $"stamped {delivered.Timestamp.UtcDateTime:O}");
    }

    [Fact]
    public async Task ThreeBrokers_ReplicateTheSeedTopic_SurviveTheLeaderStopping_AndMoveItBack()
    {
        await using var cluster = await SamsaCluster.StartAsync(o => o.Brokers(3).Topic("replicated", partitions: 1, configs: new Dictionary<string, string> { ["min.insync.replicas"] = "2" }));
        Assert.Equal([1, 2, 3], cluster.BrokerIds);
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, LingerMs = 0, Acks = Acks.All }).Build();
        Assert.Equal(0, (await producer.ProduceAsync("replicated", new Message<Null, string> { Value = "one" })).Offset.Value);

        var leader = cluster.Broker(1).Metadata.Current.Partition("replicated", 0)!.Leader;
        Assert.Equal(3, cluster.Broker(leader).Metadata.Current.Partition("replicated", 0)!.Isr.Length);
        await cluster.StopBrokerAsync(leader);
        var second = await producer.ProduceAsync("replicated", new Message<Null, string> { Value = "two" });
        Assert.Equal(1, second.Offset.Value);
        var next = cluster.BrokerIds.First(id => id != leader);
        var newLeader = cluster.Broker(next).Metadata.Current.Partition("replicated", 0)!.Leader;
        Assert.NotEqual(leader, newLeader);

        // Back, caught up, and made leader again on purpose: the producer follows it and carries on at the next offset.
        await cluster.RestartBrokerAsync(leader);
        await cluster.MoveLeaderAsync("replicated", 0, leader);
        Assert.All(cluster.BrokerIds, id => Assert.Equal(leader, cluster.Broker(id).Metadata.Current.Partition("replicated", 0)!.Leader));
        Assert.Equal(2, (await producer.ProduceAsync("replicated", new Message<Null, string> { Value = "three" })).Offset.Value);
        Assert.Equal(3, cluster.Broker(leader).Logs.Get("replicated", 0)!.LogEndOffset);
    }
}
