using Samsa.Interop.Tests.Infrastructure;

namespace Samsa.Interop.Tests;

/// <summary>
/// Kafka's KRaft quick start, word for word, on a fresh directory: generate a cluster id, format the storage,
/// start the server as a daemon, create and describe a topic, stop the server. The only change to
/// config/kraft/server.properties is where it writes (log.dirs) and which ports it takes, so that the test
/// neither collides with a broker on 9092 nor leaves /tmp/kraft-combined-logs behind.
/// </summary>
public class QuickStartTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    /// <summary>
    /// Kafka 3.x's quick start (config/kraft/server.properties, static voters) and Kafka 4.0's (config/server.properties,
    /// formatted <c>--standalone</c>: a dynamic quorum of one from the bootstrap snapshot).
    /// </summary>
    [Theory]
    [InlineData("kraft/server.properties", "", "Formatting metadata directory")]
    [InlineData("server.properties", "--standalone ", "Formatting dynamic metadata voter directory")]
    public async Task KraftQuickStart_RunsWordForWord(string configFile, string formatFlags, string formatting)
    {
        var home = Directory.CreateTempSubdirectory("samsa-quickstart-").FullName;
        try
        {
            var port = BrokerProcess.FreePort();
            var controllerPort = BrokerProcess.FreePort();
            var config = Path.Combine(home, "server.properties");
            var text = (await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "config", configFile)))
                .Replace("/tmp/kraft-combined-logs", Path.Combine(home, "kraft-combined-logs"), StringComparison.Ordinal)
                .Replace("9092", port.ToString(), StringComparison.Ordinal)
                .Replace("9093", controllerPort.ToString(), StringComparison.Ordinal);
            await File.WriteAllTextAsync(config, text);
            var script = $"""
                set -e
                cd {RepoPaths.Root}
                export LOG_DIR={home}/logs
                KAFKA_CLUSTER_ID="$(bin/kafka-storage.sh random-uuid)"
                echo "cluster $KAFKA_CLUSTER_ID"
                bin/kafka-storage.sh format {formatFlags}-t $KAFKA_CLUSTER_ID -c {config}
                bin/kafka-server-start.sh -daemon {config}
                for i in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && break; sleep 0.2; done
                bin/kafka-topics.sh --create --topic quickstart-events --bootstrap-server localhost:{port}
                bin/kafka-topics.sh --describe --topic quickstart-events --bootstrap-server localhost:{port}
                bin/kafka-topics.sh --create --topic my-topic --partitions 3 --replication-factor 1 --config retention.ms=172800000 --bootstrap-server localhost:{port}
                bin/kafka-topics.sh --list --bootstrap-server localhost:{port}
                bin/kafka-storage.sh format {formatFlags}-t $KAFKA_CLUSTER_ID -c {config} || echo "format again: $?"
                bin/kafka-server-stop.sh
                """;
            var result = await ExternalProcess.RunAsync("bash", ["-c", script], Timeout);
            var serverLog = File.Exists(Path.Combine(home, "logs", "kafkaServer.out")) ? await File.ReadAllTextAsync(Path.Combine(home, "logs", "kafkaServer.out")) : "";
            Assert.True(result.ExitCode == 0, result + "\n--- server\n" + serverLog);
            var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Matches(@"^cluster [A-Za-z0-9_-]{22}$", lines[0]);
            Assert.Equal($"{formatting} {home}/kraft-combined-logs with metadata.version 4.0-IV3.", lines[1]);
            Assert.Equal("Created topic quickstart-events.", lines[2]);
            // server.properties sets log.segment.bytes, so Kafka's ConfigHelper reports segment.bytes as STATIC_BROKER_CONFIG
            // and kafka-topics lists it, as in Kafka's quickstart. It sets log.retention.hours too, but retention.ms's
            // synonyms start at log.retention.ms, so retention.ms stays DEFAULT_CONFIG and is not listed.
            Assert.Matches(@"^Topic: quickstart-events\tTopicId: [A-Za-z0-9_-]{22}\tPartitionCount: 1\tReplicationFactor: 1\tConfigs: segment.bytes=1073741824$", lines[3]);
            Assert.Equal("\tTopic: quickstart-events\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\tElr: \tLastKnownElr: ", lines[4]);
            Assert.Equal("Created topic my-topic.", lines[5]);
            Assert.Equal(["my-topic", "quickstart-events"], lines[6..8]);
            Assert.Equal("format again: 1", lines[8]);
            Assert.Contains($"Log directory {home}/kraft-combined-logs is already formatted. Use --ignore-formatted to ignore this directory and format the others.", result.Stderr);
            Assert.True(File.Exists(Path.Combine(home, "kraft-combined-logs", "meta.properties")));
            Assert.True(Directory.Exists(Path.Combine(home, "kraft-combined-logs", "my-topic-2")));
            Assert.False(File.Exists(Path.Combine(home, "logs", "samsa-server.pid")));
        }
        finally
        {
            // A failed step leaves the daemon running; stop it (a no-op, exit 1, when the script already did).
            await ExternalProcess.RunAsync("bash", ["-c", $"LOG_DIR={home}/logs {RepoPaths.Root}/bin/kafka-server-stop.sh"], TimeSpan.FromSeconds(60));
            Directory.Delete(home, recursive: true);
        }
    }
}
