using System.Text.RegularExpressions;
using Samsa.Interop.Tests.Infrastructure;
using static Samsa.Interop.Tests.Infrastructure.BinScripts;

namespace Samsa.Interop.Tests;

/// <summary>
/// Kafka's tool command lines from the quick start and operations guide, run through bin/kafka-*.sh against a
/// broker process, with the output compared line for line with Kafka 4.0's formats (tabs included).
/// </summary>
public class CliToolTests
{
    [Fact]
    public async Task TopicsConfigsAndDeleteRecords_PrintKafkasFormats()
    {
        await using var broker = await BrokerProcess.StartAsync(new Dictionary<string, string> { ["log.segment.bytes"] = "1073741824" });
        string[] b = ["--bootstrap-server", broker.Bootstrap];

        var create = await Bin("kafka-topics.sh", [.. b, "--create", "--topic", "my-topic", "--partitions", "3", "--replication-factor", "1", "--config", "retention.ms=172800000"]);
        Assert.True(create.ExitCode == 0, create.ToString());
        Assert.Equal("Created topic my-topic.\n", create.Stdout);

        var describe = await Bin("kafka-topics.sh", [.. b, "--describe", "--topic", "my-topic"]);
        Assert.True(describe.ExitCode == 0, describe.ToString());
        var lines = describe.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        // Kafka's HashMap order of the topic's Config puts retention.ms before segment.bytes.
        Assert.Matches(new Regex(@"^Topic: my-topic\tTopicId: [A-Za-z0-9_-]{22}\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: retention.ms=172800000,segment.bytes=1073741824$"), lines[0]);
        for (var p = 0; p < 3; p++)
        {
            Assert.Equal($"\tTopic: my-topic\tPartition: {p}\tLeader: 1\tReplicas: 1\tIsr: 1\tElr: \tLastKnownElr: ", lines[p + 1]);
        }

        var alter = await Bin("kafka-topics.sh", [.. b, "--alter", "--topic", "my-topic", "--partitions", "4"]);
        Assert.True(alter.ExitCode == 0 && alter.Stdout.Length == 0, alter.ToString());
        var decrease = await Bin("kafka-topics.sh", [.. b, "--alter", "--topic", "my-topic", "--partitions", "2"]);
        Assert.Equal(1, decrease.ExitCode);
        Assert.Equal("Error while executing topic command : The topic my-topic currently has 4 partition(s); 2 would not be an increase.\n", decrease.Stdout);

        var addConfig = await Bin("kafka-configs.sh", [.. b, "--entity-type", "topics", "--entity-name", "my-topic", "--alter", "--add-config", "retention.ms=86400000"]);
        Assert.True(addConfig.ExitCode == 0, addConfig.ToString());
        Assert.Equal("Completed updating config for topic my-topic.\n", addConfig.Stdout);
        var configs = await Bin("kafka-configs.sh", [.. b, "--entity-type", "topics", "--entity-name", "my-topic", "--describe"]);
        Assert.Equal(
            "Dynamic configs for topic my-topic are:\n" +
            // Kafka lists no broker synonym here: log.retention.ms is unset, and the log.retention.hours default is dropped.
            "  retention.ms=86400000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=86400000}\n",
            configs.Stdout);
        var badConfig = await Bin("kafka-configs.sh", [.. b, "--entity-type", "topics", "--entity-name", "my-topic", "--alter", "--add-config", "retention.ms=soon"]);
        Assert.Equal(1, badConfig.ExitCode);
        Assert.Contains("Invalid value soon for configuration retention.ms", badConfig.Stdout + badConfig.Stderr);

        var offsets = Path.Combine(broker.Directory, "offsets.json");
        await File.WriteAllTextAsync(offsets, """{"partitions":[{"topic":"my-topic","partition":0,"offset":0}],"version":1}""");
        var deleteRecords = await Bin("kafka-delete-records.sh", [.. b, "--offset-json-file", offsets]);
        Assert.True(deleteRecords.ExitCode == 0, deleteRecords.ToString());
        Assert.Equal("Executing records delete operation\nRecords delete operation completed:\npartition: my-topic-0\tlow_watermark: 0\n", deleteRecords.Stdout);

        var create2 = await Bin("kafka-topics.sh", [.. b, "--create", "--topic", "other_topic"]);
        Assert.StartsWith("WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide.", create2.Stdout);
        var list = await Bin("kafka-topics.sh", [.. b, "--list"]);
        Assert.Equal("my-topic\nother_topic\n", list.Stdout);

        var tooMany = await Bin("kafka-topics.sh", [.. b, "--create", "--topic", "rf3", "--replication-factor", "3"]);
        Assert.Equal(1, tooMany.ExitCode);
        Assert.StartsWith("Error while executing topic command : Unable to replicate the partition 3 time(s)", tooMany.Stdout);
        var exists = await Bin("kafka-topics.sh", [.. b, "--create", "--topic", "my-topic"]);
        Assert.Equal("Error while executing topic command : Topic 'my-topic' already exists.\n", exists.Stdout);
        var ifNotExists = await Bin("kafka-topics.sh", [.. b, "--create", "--topic", "my-topic", "--if-not-exists"]);
        Assert.Equal(0, ifNotExists.ExitCode);

        var delete = await Bin("kafka-topics.sh", [.. b, "--delete", "--topic", "my-topic"]);
        Assert.True(delete.ExitCode == 0, delete.ToString());
        var gone = await Bin("kafka-topics.sh", [.. b, "--describe", "--topic", "my-topic"]);
        Assert.Equal(1, gone.ExitCode);
        Assert.Equal("Topic 'my-topic' does not exist as expected\n", gone.Stderr);
        Assert.Equal("other_topic\n", (await Bin("kafka-topics.sh", [.. b, "--list"])).Stdout);
    }

    [Fact]
    public async Task BrokerApiVersions_PrintsKafkasNodeApiVersionsFormat()
    {
        await using var broker = await BrokerProcess.StartAsync();
        var result = await Bin("kafka-broker-api-versions.sh", "--bootstrap-server", broker.Bootstrap);
        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"127.0.0.1:{broker.Port} (id: 1 rack: null) -> (", lines[0]);
        Assert.Contains("\tProduce(0): 3 to 11 [usable: 11],", lines);
        Assert.Contains("\tFetch(1): 4 to 17 [usable: 17],", lines);
        Assert.Contains("\tOffsetCommit(8): 0 to 9 [usable: 9],", lines);
        Assert.Contains("\tShareGroupHeartbeat(76): UNSUPPORTED,", lines);
        Assert.Contains("\tMetadata(3): 0 to 12 [usable: 12],", lines);
        Assert.Contains("\tCreateTopics(19): 0 to 7 [usable: 7],", lines);
        Assert.Contains("\tDescribeTopicPartitions(75): 0 [usable: 0],", lines);
        Assert.Equal(")", lines[^1]);
    }

    [Fact]
    public async Task EveryTool_AnswersHelp_AndBadArgumentsExitNonZero()
    {
        foreach (var tool in new[] { "kafka-topics.sh", "kafka-configs.sh", "kafka-delete-records.sh", "kafka-broker-api-versions.sh", "kafka-storage.sh", "kafka-consumer-groups.sh" })
        {
            var help = await Bin(tool, "--help");
            Assert.True(help.ExitCode == 0 && help.Stdout.Contains("--", StringComparison.Ordinal), tool + ": " + help);
        }
        var noAction = await Bin("kafka-topics.sh", "--bootstrap-server", "127.0.0.1:1");
        Assert.Equal(1, noAction.ExitCode);
        Assert.Equal("Command must include exactly one action: --list, --describe, --create, --alter or --delete\n", noAction.Stderr);
    }
}
