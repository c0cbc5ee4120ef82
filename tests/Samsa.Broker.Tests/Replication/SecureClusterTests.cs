using System.Text;
using Samsa.Broker.Tests.Quorum;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;

namespace Samsa.Broker.Tests.Replication;

/// <summary>
/// Issue 17 between nodes: three combined nodes whose broker and controller listeners are both SASL_PLAINTEXT with
/// PLAIN (<c>sasl.mechanism.inter.broker.protocol</c>, <c>sasl.mechanism.controller.protocol</c>, the listeners' JAAS
/// <c>username</c>/<c>password</c>) and the StandardAuthorizer on: the quorum forms, brokers register, and a RF=3
/// partition replicates to all three (acks=all with min.insync.replicas=3), all over authenticated links.
/// </summary>
public sealed class SecureClusterTests
{
    private const string Jaas = "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\"admin-secret\" "
        + "user_admin=\"admin-secret\" user_alice=\"alice-secret\";";

    private static readonly Dictionary<string, string> Secure = new()
    {
        // The listener named PLAINTEXT speaks SASL_PLAINTEXT: a name is only a name (listener.security.protocol.map).
        ["listener.security.protocol.map"] = "PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
        ["inter.broker.listener.name"] = "PLAINTEXT",
        ["sasl.enabled.mechanisms"] = "PLAIN",
        ["sasl.mechanism.inter.broker.protocol"] = "PLAIN",
        ["sasl.mechanism.controller.protocol"] = "PLAIN",
        ["listener.name.plaintext.plain.sasl.jaas.config"] = Jaas,
        ["listener.name.controller.plain.sasl.jaas.config"] = Jaas,
        ["authorizer.class.name"] = "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        ["super.users"] = "User:admin",
        ["broker.heartbeat.interval.ms"] = "200",
        ["replica.fetch.backoff.ms"] = "100",
    };

    private static async Task<TestClient> LoginAsync(int port, string user, string password)
    {
        var client = await TestClient.ConnectAsync(port);
        var (_, handshake) = await client.RequestAsync<SaslHandshakeResponse>(new SaslHandshakeRequest { Mechanism = "PLAIN" }, 1);
        Assert.Equal(0, handshake.ErrorCode);
        var (_, authenticated) = await client.RequestAsync<SaslAuthenticateResponse>(
            new SaslAuthenticateRequest { AuthBytes = Encoding.UTF8.GetBytes($"\0{user}\0{password}") }, 2, 2);
        Assert.Equal(0, authenticated.ErrorCode);
        return client;
    }

    [Fact]
    public async Task QuorumRegistrationAndReplication_RunOverSaslLinks_AndClientsStayUnderTheAuthorizer()
    {
        await using var cluster = await KRaftQuorumTests.Cluster.StartAsync(3, Secure);
        await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        await KRaftQuorumTests.WaitUntil(() => cluster.Running.All(n => n.Metadata.Current.Brokers.Values.Count(b => !b.Fenced) == 3), "three unfenced brokers");

        await using (var admin = await LoginAsync(cluster.Ports[1].Broker, "admin", "admin-secret"))
        {
            var (_, created) = await admin.RequestAsync<CreateTopicsResponse>(new CreateTopicsRequest
            {
                timeoutMs = 10_000,
                Topics = [new() { Name = "secure", NumPartitions = 1, ReplicationFactor = 3, Configs = [new() { Name = "min.insync.replicas", Value = "3" }] }],
            }, 7, 3);
            Assert.Equal(0, created.Topics[0].ErrorCode);
        }
        await KRaftQuorumTests.WaitUntil(() => cluster.Running.All(n => n.Logs.Get("secure", 0) is not null), "every replica's log to open");
        var leader = cluster.Running.Select(n => n.Metadata.Current.Partition("secure", 0)?.Leader ?? -1).Max();

        using var builder = new RecordBatchBuilder();
        builder.Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null, Encoding.UTF8.GetBytes("over sasl"));
        var batch = builder.Build();
        var produce = new ProduceRequest
        {
            Acks = -1,
            TimeoutMs = 10_000,
            TopicData = [new() { Name = "secure", PartitionData = [new() { Index = 0, Records = batch }] }],
        };
        await using (var admin = await LoginAsync(cluster.Ports[leader].Broker, "admin", "admin-secret"))
        {
            var (_, produced) = await admin.RequestAsync<ProduceResponse>(produce, 9, 4);
            // acks=all with min.insync.replicas=3: answered only once both followers fetched it over their SASL links.
            Assert.Equal(0, produced.Responses[0].PartitionResponses[0].ErrorCode);
        }
        await KRaftQuorumTests.WaitUntil(() => cluster.Running.All(n => n.Logs.Get("secure", 0)!.HighWatermark == 1), "every replica's high watermark");

        // A user without ACLs is authenticated but refused.
        await using var alice = await LoginAsync(cluster.Ports[leader].Broker, "alice", "alice-secret");
        var (_, refused) = await alice.RequestAsync<ProduceResponse>(produce, 9, 3);
        Assert.Equal((short)Samsa.Protocol.ErrorCode.TopicAuthorizationFailed, refused.Responses[0].PartitionResponses[0].ErrorCode);
    }
}
