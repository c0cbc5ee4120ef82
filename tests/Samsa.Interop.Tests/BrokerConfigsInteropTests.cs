using System.Text.Json;
using Samsa.Interop.Tests.Infrastructure;
using Samsa.Protocol.Messages;

namespace Samsa.Interop.Tests;

/// <summary>
/// Dynamic broker and group configs with real admin clients against the server process (issue 13): a per-broker
/// key (<c>sasl.kerberos.min.time.before.relogin</c>) and a cluster-wide one are accepted, a read-only key and a
/// per-broker key on the cluster default are refused with Kafka's INVALID_REQUEST (42) and message; DescribeConfigs
/// reports read_only, the source and Kafka's synonyms (a topic's <c>retention.ms</c> without the
/// <c>log.retention.hours</c> default); GROUP resources (KIP-848) store per-group consumer timeouts that a
/// ConsumerGroupHeartbeat then answers with and expires by.
/// </summary>
public class BrokerConfigsInteropTests
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(120);

    // Sources as Kafka numbers them (DescribeConfigsResponse.ConfigSource).
    private const int DynamicTopic = 1, DynamicBroker = 2, DynamicDefaultBroker = 3, StaticBroker = 4, Default = 5, Group = 8;

    [Fact]
    public async Task ConfluentKafka_AltersAndDescribesBrokerAndGroupConfigs_AndHeartbeatsFollowTheGroupConfig()
    {
        // Low consumer-group bounds so that a 3 s group session timeout is allowed and expires within the test.
        await using var broker = await BrokerProcess.StartAsync(new Dictionary<string, string>
        {
            ["num.partitions"] = "2",
            ["group.consumer.min.session.timeout.ms"] = "1000",
            ["group.consumer.min.heartbeat.interval.ms"] = "1000",
        });
        // Confluent.Kafka refuses an empty resource name, so the cluster default is altered and described by hand.
        using var connection = await RawKafkaConnection.ConnectAsync(broker.Port);
        Assert.Equal((0, (string?)null), await AlterClusterDefaultAsync(connection, "log.cleaner.threads", "2"));
        Assert.Equal((42, "Cannot update these configs at default cluster level, broker id must be specified: Set(sasl.kerberos.min.time.before.relogin)"),
            await AlterClusterDefaultAsync(connection, "sasl.kerberos.min.time.before.relogin", "30000"));
        var described = await connection.RequestAsync<DescribeConfigsResponse>(new DescribeConfigsRequest
        {
            Resources = [new() { ResourceType = 4, ResourceName = "", ConfigurationKeys = null }],
            IncludeSynonyms = true,
        }, 4);
        var clusterDefault = Assert.Single(described.Results[0].Configs);
        Assert.Equal(("log.cleaner.threads", "2", (sbyte)DynamicDefaultBroker, false), (clusterDefault.Name, clusterDefault.Value, clusterDefault.ConfigSource, clusterDefault.ReadOnly));

        var result = await ExternalProcess.RunAsync("dotnet", [RepoPaths.ConfluentClientDll, "broker-configs", broker.Bootstrap, "1", "cs-configs", "cs-group"], ClientTimeout);
        Assert.True(result.ExitCode == 0, result + "\n--- broker\n" + broker.Output);
        using var json = JsonDocument.Parse(result.Stdout);
        var root = json.RootElement;

        AssertAlter(root.GetProperty("setPerBroker"), 0, null);
        AssertAlter(root.GetProperty("readOnly"), 42, "Cannot update these configs dynamically: Set(log.dirs)");
        AssertAlter(root.GetProperty("badValue"), 42, "Invalid value two for configuration log.cleaner.threads: Not a number of type INT");

        var configs = root.GetProperty("broker");
        var relogin = configs.GetProperty("sasl.kerberos.min.time.before.relogin");
        Assert.Equal(("30000", DynamicBroker, false), (relogin.GetProperty("value").GetString(), relogin.GetProperty("source").GetInt32(), relogin.GetProperty("readOnly").GetBoolean()));
        Assert.Equal([("sasl.kerberos.min.time.before.relogin", "30000", DynamicBroker), ("sasl.kerberos.min.time.before.relogin", "60000", Default)], Synonyms(relogin));
        var cleaner = configs.GetProperty("log.cleaner.threads");
        Assert.Equal(("2", DynamicDefaultBroker), (cleaner.GetProperty("value").GetString(), cleaner.GetProperty("source").GetInt32()));
        var partitions = configs.GetProperty("num.partitions");
        Assert.Equal(("2", StaticBroker, true), (partitions.GetProperty("value").GetString(), partitions.GetProperty("source").GetInt32(), partitions.GetProperty("readOnly").GetBoolean()));
        var keyPassword = configs.GetProperty("ssl.key.password");
        Assert.True(keyPassword.GetProperty("sensitive").GetBoolean());
        Assert.Equal(JsonValueKind.Null, keyPassword.GetProperty("value").ValueKind);
        Assert.True(root.GetProperty("brokerEntries").GetInt32() > 300, "every Kafka 4.x broker config is described");

        // Kafka's synonyms of retention.ms start at log.retention.ms, so the log.retention.hours default is not one.
        var topic = root.GetProperty("topic");
        Assert.Equal(("604800000", Default), (topic.GetProperty("retention.ms").GetProperty("value").GetString(), topic.GetProperty("retention.ms").GetProperty("source").GetInt32()));
        Assert.Empty(Synonyms(topic.GetProperty("retention.ms")));
        Assert.Empty(Synonyms(topic.GetProperty("segment.ms")));
        Assert.Equal([("log.segment.bytes", "1073741824", Default)], Synonyms(topic.GetProperty("segment.bytes")));

        AssertAlter(root.GetProperty("setGroup"), 0, null);
        AssertAlter(root.GetProperty("groupOutOfBounds"), 40, "consumer.session.timeout.ms must be less than or equal to group.consumer.max.session.timeout.ms");
        AssertAlter(root.GetProperty("groupUnknownKey"), 40, "Unknown group config name: session.timeout.ms");
        var group = root.GetProperty("group");
        var heartbeat = group.GetProperty("consumer.heartbeat.interval.ms");
        Assert.Equal(("1500", Group), (heartbeat.GetProperty("value").GetString(), heartbeat.GetProperty("source").GetInt32()));
        Assert.Equal([("consumer.heartbeat.interval.ms", "1500", Group)], Synonyms(heartbeat));
        Assert.Equal(("latest", Default), (group.GetProperty("share.auto.offset.reset").GetProperty("value").GetString(), group.GetProperty("share.auto.offset.reset").GetProperty("source").GetInt32()));

        // KIP-848: the group's heartbeat interval is what ConsumerGroupHeartbeat tells the member (no client exposes
        // it, so the request is hand-built), and its 3 s session timeout removes a member that stops heartbeating.
        await connection.FindCoordinatorAsync("cs-group");
        var joined = await JoinAsync(connection, "cs-group", "cs-configs");
        Assert.Equal((0, 1500), (joined.ErrorCode, joined.HeartbeatIntervalMs));
        var other = await JoinAsync(connection, "cs-other-group", "cs-configs");
        Assert.Equal((0, 5000), (other.ErrorCode, other.HeartbeatIntervalMs));
        await Task.Delay(TimeSpan.FromSeconds(4.5));
        var late = await connection.RequestAsync<ConsumerGroupHeartbeatResponse>(new ConsumerGroupHeartbeatRequest
        {
            GroupId = "cs-group",
            MemberId = joined.MemberId!,
            MemberEpoch = joined.MemberEpoch,
        }, 1);
        Assert.Equal(25, late.ErrorCode); // UNKNOWN_MEMBER_ID: the session expired after the group's 3 s, not the broker's 45 s.
    }

    [Fact]
    public async Task KafkaJs_AltersAndDescribesBrokerConfigs_WithKafkasReadOnlyRefusalAndSynonyms()
    {
        var script = Peers.KafkaJsScript("broker_configs.js");
        await using var broker = await BrokerProcess.StartAsync();
        var result = await ExternalProcess.RunAsync("node", [script, broker.Bootstrap, "1", "js-configs"], ClientTimeout);
        Assert.True(result.ExitCode == 0, result + "\n--- broker\n" + broker.Output);
        using var json = JsonDocument.Parse(result.Stdout);
        var root = json.RootElement;

        Assert.Equal(0, root.GetProperty("alterDynamic").GetInt32());
        // kafkajs names the error; Kafka refuses the whole resource because num.io.threads is fine but log.dirs is read-only.
        Assert.Equal("INVALID_REQUEST", root.GetProperty("alterReadOnly").GetString());

        var configs = root.GetProperty("broker").GetProperty("entries");
        var relogin = configs.GetProperty("sasl.kerberos.min.time.before.relogin");
        Assert.Equal(("45000", DynamicBroker, false), (relogin.GetProperty("value").GetString(), relogin.GetProperty("source").GetInt32(), relogin.GetProperty("readOnly").GetBoolean()));
        Assert.Equal([("sasl.kerberos.min.time.before.relogin", "45000", DynamicBroker), ("sasl.kerberos.min.time.before.relogin", "60000", Default)], Synonyms(relogin));
        var ioThreads = configs.GetProperty("num.io.threads");
        Assert.Equal(("8", Default, false), (ioThreads.GetProperty("value").GetString(), ioThreads.GetProperty("source").GetInt32(), ioThreads.GetProperty("readOnly").GetBoolean()));
        Assert.True(configs.GetProperty("log.dirs").GetProperty("readOnly").GetBoolean());
        Assert.True(configs.GetProperty("num.partitions").GetProperty("readOnly").GetBoolean());

        var topic = root.GetProperty("topic").GetProperty("entries");
        Assert.Equal([("retention.ms", "86400000", DynamicTopic)], Synonyms(topic.GetProperty("retention.ms")));
        Assert.Empty(Synonyms(topic.GetProperty("segment.ms")));
        Assert.Equal([("log.segment.bytes", "1073741824", Default)], Synonyms(topic.GetProperty("segment.bytes")));
    }

    private static void AssertAlter(JsonElement outcome, int code, string? message)
    {
        Assert.Equal(code, outcome.GetProperty("code").GetInt32());
        if (message is not null)
        {
            Assert.Equal(message, outcome.GetProperty("message").GetString());
        }
    }

    private static (string? Name, string? Value, int Source)[] Synonyms(JsonElement entry) =>
        [.. entry.GetProperty("synonyms").EnumerateArray().Select(s => (s.GetProperty("name").GetString(), s.GetProperty("value").GetString(), s.GetProperty("source").GetInt32()))];

    /// <summary>IncrementalAlterConfigs SET of one key on the cluster-default BROKER resource (""): error code and message.</summary>
    private static async Task<(int Code, string? Message)> AlterClusterDefaultAsync(RawKafkaConnection connection, string name, string value)
    {
        var response = await connection.RequestAsync<IncrementalAlterConfigsResponse>(new IncrementalAlterConfigsRequest
        {
            Resources = [new() { ResourceType = 4, ResourceName = "", Configs = [new() { Name = name, ConfigOperation = 0, Value = value }] }],
        }, 1);
        return (response.Responses[0].ErrorCode, response.Responses[0].ErrorMessage);
    }

    /// <summary>
    /// A new KIP-848 member (v1: the client makes its member id up) subscribing to <paramref name="topic"/>, retried
    /// while the coordinator is still loading (COORDINATOR_LOAD_IN_PROGRESS, 14).
    /// </summary>
    private static async Task<ConsumerGroupHeartbeatResponse> JoinAsync(RawKafkaConnection connection, string group, string topic)
    {
        var request = new ConsumerGroupHeartbeatRequest
        {
            GroupId = group,
            MemberId = Guid.NewGuid().ToString("N")[..22],
            MemberEpoch = 0,
            RebalanceTimeoutMs = 30000,
            SubscribedTopicNames = [topic],
            TopicPartitions = [],
        };
        for (var attempt = 0; ; attempt++)
        {
            var response = await connection.RequestAsync<ConsumerGroupHeartbeatResponse>(request, 1);
            if (response.ErrorCode != 14 || attempt == 200)
            {
                return response;
            }
            await Task.Delay(100);
        }
    }
}
