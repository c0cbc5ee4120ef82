using System.Text.Json;
using Samsa.Interop.Tests.Infrastructure;
using Samsa.Protocol.Messages;
using static Samsa.Interop.Tests.Infrastructure.BinScripts;

namespace Samsa.Interop.Tests;

/// <summary>
/// kafka-groups.sh and kafka-cluster.sh against a broker holding a KIP-848 consumer group, a classic group and a
/// simple (commit-only) group, checked against Kafka 4.0's output for the same state; and Confluent.Kafka's and
/// kafkajs's admin clients on the same cluster (ApiVersions with features, ListGroups v5 type filters).
/// </summary>
public class GroupsAndClusterToolTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private static Dictionary<string, string> BrokerConfig => new()
    {
        ["offsets.topic.num.partitions"] = "3",
        ["group.consumer.heartbeat.interval.ms"] = "500",
    };

    private static bool Is(string line, string eventName) =>
        line.StartsWith('{') && JsonDocument.Parse(line).RootElement.GetProperty("event").GetString() == eventName;

    /// <summary>A Confluent.Kafka member joins, reads, commits, and leaves: the group stays, empty, with its offsets.</summary>
    private static async Task JoinCommitAndLeaveAsync(string bootstrap, string group, string topic, string protocol)
    {
        await using var member = InteractiveProcess.Start("dotnet", [RepoPaths.ConfluentClientDll, "group-consume", bootstrap, group, topic, protocol]);
        // A position to commit exists once a record has been read.
        await member.WaitForAsync(l => Is(l, "message"), Timeout, $"{group} message");
        await member.SendAsync("commit");
        await member.WaitForAsync(l => Is(l, "committed"), Timeout, $"{group} committed");
        await member.SendAsync("close");
        await member.WaitForAsync(l => Is(l, "closed"), Timeout, $"{group} closed");
    }

    private static string Row(params string[] columns) => string.Concat(columns.Select(c => c.PadRight(20) + " "));

    [Fact]
    public async Task KafkaGroups_ListsEveryTypeWithKafkasFilters_AndAdminClientsSeeTheSameGroups()
    {
        await using var broker = await BrokerProcess.StartAsync(BrokerConfig);
        await TopicAdmin.CreateAsync(broker.Port, "gt", 1);
        using (var producer = await RawKafkaConnection.ConnectAsync(broker.Port))
        {
            Assert.Equal(Protocol.ErrorCode.None, (await RawRecords.ProduceAsync(producer, "gt", 0, ["m"])).Error);
        }
        await JoinCommitAndLeaveAsync(broker.Bootstrap, "grp-new", "gt", "consumer");
        await JoinCommitAndLeaveAsync(broker.Bootstrap, "grp-classic", "gt", "classic");
        using (var connection = await RawKafkaConnection.ConnectAsync(broker.Port))
        {
            // A simple consumer group: offsets committed outside any membership, so no protocol type.
            var commit = await connection.RequestAsync<OffsetCommitResponse>(new OffsetCommitRequest
            {
                GroupId = "grp-simple",
                Topics = [new() { Name = "gt", Partitions = [new() { PartitionIndex = 0, CommittedOffset = 0 }] }],
            }, 8);
            Assert.Equal(0, commit.Topics[0].Partitions[0].ErrorCode);
        }
        string[] b = ["--bootstrap-server", broker.Bootstrap];
        var header = "GROUP                TYPE                 PROTOCOL            ";
        string[] rows =
        [
            Row("grp-classic", "Classic", "consumer"),
            Row("grp-new", "Consumer", "consumer"),
            Row("grp-simple", "Classic", ""),
        ];

        async Task<string[]> ListAsync(params string[] filters)
        {
            var result = await Bin("kafka-groups.sh", [.. b, "--list", .. filters]);
            Assert.True(result.ExitCode == 0, result.ToString());
            var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(header, lines[0]);
            return [.. lines.Skip(1).Order(StringComparer.Ordinal)];
        }

        Assert.Equal(rows, await ListAsync());
        Assert.Equal(rows, await ListAsync("--consumer"));
        Assert.Equal([rows[1]], await ListAsync("--group-type", "consumer"));
        Assert.Equal([rows[0], rows[2]], await ListAsync("--group-type", "CLASSIC"));
        Assert.Equal([rows[0]], await ListAsync("--group-type", "classic", "--protocol", "consumer"));
        Assert.Equal([rows[0], rows[1]], await ListAsync("--protocol", "consumer"));
        Assert.Empty(await ListAsync("--share"));
        Assert.Empty(await ListAsync("--streams"));

        var both = await Bin("kafka-groups.sh", [.. b, "--list", "--consumer", "--share"]);
        Assert.Equal(1, both.ExitCode);
        Assert.Equal("Option \"[consumer]\" can't be used with option \"[share]\"\n", both.Stderr);
        var badType = await Bin("kafka-groups.sh", [.. b, "--list", "--group-type", "bogus"]);
        Assert.Equal((1, "--group-type must be a valid group type.\n"), (badType.ExitCode, badType.Stderr));
        var noAction = await Bin("kafka-groups.sh", b);
        Assert.Equal((1, "Command must include exactly one action: --list.\n"), (noAction.ExitCode, noAction.Stderr));

        // librdkafka negotiates ApiVersions v3+ (features in its tagged fields) and filters ListGroups v5 by type.
        var confluent = await ExternalProcess.RunAsync("dotnet", [RepoPaths.ConfluentClientDll, "cluster-admin", broker.Bootstrap], Timeout);
        Assert.True(confluent.ExitCode == 0, confluent + "\n--- broker\n" + broker.Output);
        using var cs = JsonDocument.Parse(confluent.Stdout);
        Assert.Equal([1], cs.RootElement.GetProperty("nodes").EnumerateArray().Select(n => n.GetInt32()));
        Assert.Equal(["grp-new"], cs.RootElement.GetProperty("consumerType").EnumerateArray().Select(g => g.GetString()));
        Assert.Equal(["grp-classic", "grp-simple"], cs.RootElement.GetProperty("classicType").EnumerateArray().Select(g => g.GetString()));
        Assert.Equal(["Classic", "Consumer", "Classic"], cs.RootElement.GetProperty("groups").EnumerateArray().Select(g => g.GetProperty("type").GetString()));

        var kafkajs = await ExternalProcess.RunAsync("node", [Peers.KafkaJsScript("cluster_admin.js"), broker.Bootstrap], Timeout);
        Assert.True(kafkajs.ExitCode == 0, kafkajs + "\n--- broker\n" + broker.Output);
        using var js = JsonDocument.Parse(kafkajs.Stdout);
        Assert.Equal(cs.RootElement.GetProperty("clusterId").GetString(), js.RootElement.GetProperty("clusterId").GetString());
        Assert.Equal(1, js.RootElement.GetProperty("controller").GetInt32());
        Assert.Equal(["grp-classic", "grp-new", "grp-simple"], js.RootElement.GetProperty("groups").EnumerateArray().Select(g => g.GetProperty("groupId").GetString()));
    }

    [Fact]
    public async Task Issue13Tools_AnswerHelp()
    {
        foreach (var (tool, args) in new[]
        {
            ("kafka-log-dirs.sh", new[] { "--help" }), ("kafka-features.sh", ["--help"]), ("kafka-features.sh", ["upgrade", "--help"]),
            ("kafka-groups.sh", ["--help"]), ("kafka-cluster.sh", ["unregister", "--help"]),
        })
        {
            var help = await Bin(tool, args);
            Assert.True(help.ExitCode == 0 && help.Stdout.Contains("--", StringComparison.Ordinal), tool + ": " + help);
        }
    }

    [Fact]
    public async Task KafkaCluster_ClusterIdUnregisterAndListEndpoints_PrintKafkasFormats()
    {
        await using var broker = await BrokerProcess.StartAsync();
        string[] b = ["--bootstrap-server", broker.Bootstrap];
        string clusterId;
        using (var connection = await RawKafkaConnection.ConnectAsync(broker.Port))
        {
            clusterId = (await connection.RequestAsync<DescribeClusterResponse>(new DescribeClusterRequest(), 0)).ClusterId;
            var unregister = await connection.RequestAsync<UnregisterBrokerResponse>(new UnregisterBrokerRequest { BrokerId = 9 }, 0);
            Assert.Equal((short)Protocol.ErrorCode.BrokerIdNotRegistered, unregister.ErrorCode);
        }

        var id = await Bin("kafka-cluster.sh", ["cluster-id", .. b]);
        Assert.Equal((0, $"Cluster ID: {clusterId}\n"), (id.ExitCode, id.Stdout));
        var shortFlag = await Bin("kafka-cluster.sh", ["cluster-id", "-b", broker.Bootstrap]);
        Assert.Equal(id.Stdout, shortFlag.Stdout);

        var unknown = await Bin("kafka-cluster.sh", ["unregister", .. b, "--id", "9"]);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Equal("org.apache.kafka.common.errors.BrokerIdNotRegisteredException: Broker ID 9 is not currently registered\n", unknown.Stderr);
        var self = await Bin("kafka-cluster.sh", ["unregister", .. b, "-i", "1"]);
        Assert.Equal(1, self.ExitCode);
        Assert.StartsWith("org.apache.kafka.common.errors.InvalidRequestException: Broker 1 is this node", self.Stderr);

        var endpoints = await Bin("kafka-cluster.sh", ["list-endpoints", .. b]);
        Assert.True(endpoints.ExitCode == 0, endpoints.ToString());
        // Host column as wide as the longest host (127.0.0.1), rack as wide as 10 when no broker has one.
        Assert.Equal(
            "ID         HOST      PORT       RACK       STATE      ENDPOINT_TYPE  \n" +
            $"1          127.0.0.1 {broker.Port,-10} null       unfenced   broker         \n",
            endpoints.Stdout);
    }
}
