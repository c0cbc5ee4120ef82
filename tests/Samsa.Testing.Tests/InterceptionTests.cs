using System.Diagnostics;
using Confluent.Kafka;
using Samsa.Native;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using ErrorCode = Samsa.Protocol.ErrorCode;

namespace Samsa.Testing.Tests;

/// <summary>Faults injected by API key (kfake's ControlKey), judged by what a real Confluent.Kafka client does about them.</summary>
public sealed class InterceptionTests
{
    public InterceptionTests() => CentOs8Librdkafka.EnsureLoaded();

    [Fact]
    public async Task FirstProduceAnsweredNotLeader_ConfluentProducerRetries_AndTheRecordIsWrittenOnce()
    {
        await using var cluster = await SamsaCluster.StartAsync(o => o.Topic("orders", partitions: 3));
        var fault = cluster.InterceptOnce(ApiKey.Produce, request => request.Fail(ErrorCode.NotLeaderOrFollower));

        using var producer = new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            LingerMs = 0,
            RetryBackoffMs = 10,
        }).Build();
        var delivered = await producer.ProduceAsync(new TopicPartition("orders", 1), new Message<string, string> { Key = "k", Value = "first" });

        Assert.Equal(1, fault.Count);
        Assert.Equal(PersistenceStatus.Persisted, delivered.Status);
        // The refused attempt wrote nothing: the retry's record is the partition's first.
        Assert.Equal(0, delivered.Offset.Value);
        Assert.Equal(1, cluster.Broker(1).Logs.Get("orders", 1)!.LogEndOffset);
    }

    [Fact]
    public async Task ConnectionClosedOnFindCoordinator_GroupConsumerReconnects_AndConsumes()
    {
        await using var cluster = await SamsaCluster.StartAsync(o => o.Topic("events", partitions: 1));
        using (var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, LingerMs = 0 }).Build())
        {
            for (var i = 0; i < 5; i++)
            {
                await producer.ProduceAsync("events", new Message<Null, string> { Value = $"e{i}" });
            }
        }
        var closed = cluster.InterceptOnce(ApiKey.FindCoordinator, request => request.CloseConnection());
        var coordinatorLookups = cluster.Intercept(ApiKey.FindCoordinator, request => request.Continue());

        using var consumer = new ConsumerBuilder<Ignore, string>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = "readers",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            ReconnectBackoffMs = 10,
        }).Build();
        consumer.Subscribe("events");
        var values = new List<string>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (values.Count < 5 && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { Message: { } message })
            {
                values.Add(message.Value);
            }
        }
        consumer.Close();

        Assert.Equal(1, closed.Count);
        // The client asked again after the closed connection, and that answer got it into the group.
        Assert.True(coordinatorLookups.Count >= 1, "no FindCoordinator after the closed connection");
        Assert.Equal(["e0", "e1", "e2", "e3", "e4"], values);
    }

    [Fact]
    public async Task DelayedProduce_HoldsTheClientForTheDelay_ThenServes()
    {
        await using var cluster = await SamsaCluster.StartAsync(o => o.Topic("slow"));
        var delay = TimeSpan.FromMilliseconds(300);
        var held = cluster.Intercept(ApiKey.Produce, async request =>
        {
            await Task.Delay(delay);
            return request.Continue();
        });
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, LingerMs = 0 }).Build();
        await producer.ProduceAsync("slow", new Message<Null, string> { Value = "warm-up" });

        var started = Stopwatch.GetTimestamp();
        var delivered = await producer.ProduceAsync("slow", new Message<Null, string> { Value = "held" });
        // Task.Delay runs on the coarse timer clock (Environment.TickCount64), which can end it a millisecond or so
        // before the Stopwatch has seen the whole delay: allow the timer's granularity.
        var answered = Stopwatch.GetElapsedTime(started);
        Assert.True(answered >= delay - TimeSpan.FromMilliseconds(15), $"answered after {answered.TotalMilliseconds} ms");
        Assert.Equal(1, delivered.Offset.Value);
        Assert.Equal(2, held.Count);
    }

    [Fact]
    public async Task ObservedRequests_CarryTheClientsIdAndBody_AndADisposedRuleStopsSeeing()
    {
        await using var cluster = await SamsaCluster.StartAsync(o => o.Topic("seen"));
        var produced = new List<(string? ClientId, string Topic)>();
        var observer = cluster.Intercept(ApiKey.Produce, request =>
        {
            lock (produced)
            {
                produced.Add((request.ClientId, request.Body<ProduceRequest>().TopicData.Single().Name));
            }
            return request.Continue();
        });
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, ClientId = "observed-app", LingerMs = 0 }).Build();
        await producer.ProduceAsync("seen", new Message<Null, string> { Value = "one" });
        await observer.FirstSeen;
        Assert.Equal([("observed-app", "seen")], produced);

        observer.Dispose();
        await producer.ProduceAsync("seen", new Message<Null, string> { Value = "two" });
        Assert.Equal(1, observer.Count);
    }

    [Fact]
    public async Task MetadataAnsweredWithAChosenResponse_IsWhatTheClientSees()
    {
        await using var cluster = await SamsaCluster.StartAsync(o => o.Topic("real"));
        cluster.Intercept(ApiKey.Metadata, request =>
        {
            return request.Respond(new MetadataResponse
            {
                ClusterId = cluster.ClusterId,
                ControllerId = 1,
                Brokers = [new() { NodeId = 1, Host = "127.0.0.1", Port = cluster.Port(1) }],
                Topics = [new() { Name = "invented", TopicId = Samsa.Protocol.Uuid.Random(), ErrorCode = (short)ErrorCode.TopicAuthorizationFailed }],
            });
        });
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        var metadata = admin.GetMetadata(TimeSpan.FromSeconds(10));
        var topic = Assert.Single(metadata.Topics);
        Assert.Equal("invented", topic.Topic);
        Assert.Equal(Confluent.Kafka.ErrorCode.TopicAuthorizationFailed, topic.Error.Code);
    }
}
