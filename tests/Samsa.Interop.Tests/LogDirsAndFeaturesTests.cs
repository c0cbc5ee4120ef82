using Samsa.Interop.Tests.Infrastructure;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using static Samsa.Interop.Tests.Infrastructure.BinScripts;

namespace Samsa.Interop.Tests;

/// <summary>
/// DescribeLogDirs and finalized features against a broker process: hand-built requests of every version, a restart
/// keeping a changed feature level, and kafka-log-dirs.sh / kafka-features.sh printing what Kafka 4.0 prints for
/// the same state.
/// </summary>
public class LogDirsAndFeaturesTests
{

    private static ApiVersionsRequest ApiVersions() => new() { ClientSoftwareName = "samsa-test", ClientSoftwareVersion = "1.0" };

    [Fact]
    public async Task DescribeLogDirs_EveryVersion_AndKafkaLogDirs_PrintsKafkasJson()
    {
        await using var broker = await BrokerProcess.StartAsync();
        await TopicAdmin.CreateAsync(broker.Port, "ld", 2);
        using var connection = await RawKafkaConnection.ConnectAsync(broker.Port);
        var (error, _) = await RawRecords.ProduceAsync(connection, "ld", 0, ["a", "bb", "ccc"]);
        Assert.Equal(ErrorCode.None, error);

        var logDir = Path.GetFullPath(Path.Combine(broker.Directory, "data"));
        long[]? sizes = null;
        for (short version = 1; version <= 4; version++)
        {
            var response = await connection.RequestAsync<DescribeLogDirsResponse>(new DescribeLogDirsRequest { Topics = null }, version);
            var dir = Assert.Single(response.Results);
            Assert.Equal((0, logDir), (dir.ErrorCode, dir.LogDir));
            var topic = Assert.Single(dir.Topics);
            Assert.Equal("ld", topic.Name);
            var these = topic.Partitions.Select(p => p.PartitionSize).ToArray();
            sizes ??= these;
            Assert.Equal(sizes, these);
            Assert.Equal(version >= 4, dir.TotalBytes > 0 && dir.UsableBytes > 0);
        }
        Assert.True(sizes![0] > 0);
        Assert.Equal(0, sizes[1]);

        string[] b = ["--bootstrap-server", broker.Bootstrap];
        var describe = await Bin("kafka-log-dirs.sh", [.. b, "--describe"]);
        Assert.True(describe.ExitCode == 0, describe.ToString());
        // Kafka's HashMap of TopicPartition puts ld-1 (bucket 8) before ld-0 (bucket 9).
        Assert.Equal(
            "Querying brokers for log directories information\n" +
            "Received log directory information from brokers 1\n" +
            "{\"brokers\":[{\"broker\":1,\"logDirs\":[{\"partitions\":[" +
            $"{{\"partition\":\"ld-1\",\"size\":{sizes[1]},\"offsetLag\":0,\"isFuture\":false}}," +
            $"{{\"partition\":\"ld-0\",\"size\":{sizes[0]},\"offsetLag\":0,\"isFuture\":false}}" +
            $"],\"error\":null,\"logDir\":\"{logDir}\"}}]}}],\"version\":1}}\n",
            describe.Stdout);

        var filtered = await Bin("kafka-log-dirs.sh", [.. b, "--describe", "--topic-list", "other,more", "--broker-list", "1"]);
        Assert.EndsWith($"{{\"partitions\":[],\"error\":null,\"logDir\":\"{logDir}\"}}]}}],\"version\":1}}\n", filtered.Stdout);

        var unknownBroker = await Bin("kafka-log-dirs.sh", [.. b, "--describe", "--broker-list", "1,7"]);
        Assert.Equal(1, unknownBroker.ExitCode);
        Assert.Equal("ERROR: The given brokers do not exist from --broker-list: 7. Current existent brokers: 1\n", unknownBroker.Stderr);

        var noAction = await Bin("kafka-log-dirs.sh", b);
        Assert.Equal(1, noAction.ExitCode);
        Assert.Contains("Missing required argument \"[describe]\"", noAction.Stderr);
    }

    [Fact]
    public async Task Features_ApiVersionsUpdateFeaturesAndKafkaFeatures_AndTheLevelSurvivesARestart()
    {
        var broker = await BrokerProcess.StartAsync();
        broker.DeleteOnDispose = false;
        var directory = broker.Directory;
        string[] b = ["--bootstrap-server", broker.Bootstrap];
        try
        {
            long epoch;
            using (var connection = await RawKafkaConnection.ConnectAsync(broker.Port))
            {
                var v4 = await connection.RequestAsync<ApiVersionsResponse>(ApiVersions(), 4);
                // kraft.version and transaction.version stay at 0 in Samsa, and Kafka lists no feature whose highest level is 0.
                Assert.Equal(["group.version", "metadata.version"], v4.SupportedFeatures.Select(f => f.Name));
                Assert.Equal([("group.version", (short)1), ("metadata.version", (short)25)], v4.FinalizedFeatures.Select(f => (f.Name, f.MaxVersionLevel)));
                epoch = v4.FinalizedFeaturesEpoch;
                var v3 = await connection.RequestAsync<ApiVersionsResponse>(ApiVersions(), 3);
                // Below v4, features supported from level 0 are left out (KAFKA-17492).
                Assert.Equal([("metadata.version", (short)7)], v3.SupportedFeatures.Select(f => (f.Name, f.MinVersion)));

                var v0 = await connection.RequestAsync<UpdateFeaturesResponse>(new UpdateFeaturesRequest
                {
                    FeatureUpdates = [new() { Feature = "metadata.version", MaxVersionLevel = 21, AllowDowngrade = true }],
                }, 0);
                Assert.Equal((short)ErrorCode.InvalidUpdateVersion, v0.ErrorCode);
                Assert.Equal("Unsupported metadata.version downgrade from 25 to 21. Refusing to perform the requested downgrade because it might delete metadata information.", v0.ErrorMessage);
                Assert.Empty(v0.Results);
                var v1 = await connection.RequestAsync<UpdateFeaturesResponse>(new UpdateFeaturesRequest
                {
                    ValidateOnly = true,
                    FeatureUpdates = [new() { Feature = "metadata.version", MaxVersionLevel = 24, UpgradeType = 2 }],
                }, 1);
                Assert.Equal((0, "metadata.version", 0), (v1.ErrorCode, Assert.Single(v1.Results).Feature, v1.Results[0].ErrorCode));
                Assert.Equal(epoch, (await connection.RequestAsync<ApiVersionsResponse>(ApiVersions(), 4)).FinalizedFeaturesEpoch);
            }

            var describe = await Bin("kafka-features.sh", [.. b, "describe"]);
            Assert.True(describe.ExitCode == 0, describe.ToString());
            Assert.Equal(
                $"Feature: group.version\tSupportedMinVersion: 0\tSupportedMaxVersion: 1\tFinalizedVersionLevel: 1\tEpoch: {epoch}\n" +
                $"Feature: metadata.version\tSupportedMinVersion: 3.3-IV3\tSupportedMaxVersion: 4.0-IV3\tFinalizedVersionLevel: 4.0-IV3\tEpoch: {epoch}\n",
                describe.Stdout);

            var tooHigh = await Bin("kafka-features.sh", [.. b, "upgrade", "--feature", "group.version=2"]);
            Assert.Equal(1, tooHigh.ExitCode);
            Assert.Equal("Could not upgrade group.version to 2. Invalid update version 2 for feature group.version. Local controller 1 only supports versions 0-1\n", tooHigh.Stdout);
            Assert.Equal("1 out of 1 operation(s) failed.\n", tooHigh.Stderr);

            var dryRun = await Bin("kafka-features.sh", [.. b, "downgrade", "--feature", "group.version=0", "--dry-run"]);
            Assert.Equal((0, "group.version can be downgraded to 0.\n"), (dryRun.ExitCode, dryRun.Stdout));
            var metadata = await Bin("kafka-features.sh", [.. b, "upgrade", "--metadata", "4.0"]);
            Assert.Equal((0, " `metadata` flag is deprecated and may be removed in a future release.\nmetadata.version was upgraded to 25.\n"), (metadata.ExitCode, metadata.Stdout));
            var unknown = await Bin("kafka-features.sh", [.. b, "upgrade", "--release-version", "5.0"]);
            Assert.Equal(1, unknown.ExitCode);
            Assert.StartsWith("Unknown metadata.version 5.0. Supported metadata.version are 3.3-IV3, 3.4-IV0, 3.5-IV0,", unknown.Stderr);
            Assert.EndsWith(", 4.0-IV2, 4.0-IV3\n", unknown.Stderr);

            var disable = await Bin("kafka-features.sh", [.. b, "disable", "--feature", "group.version"]);
            Assert.Equal((0, "group.version was disabled.\n"), (disable.ExitCode, disable.Stdout));
        }
        finally
        {
            await broker.DisposeAsync();
        }

        await using var restarted = await BrokerProcess.StartAsync(reuseDirectory: directory);
        b = ["--bootstrap-server", restarted.Bootstrap];
        using (var connection = await RawKafkaConnection.ConnectAsync(restarted.Port))
        {
            var after = await connection.RequestAsync<ApiVersionsResponse>(ApiVersions(), 4);
            Assert.Equal(["metadata.version"], after.FinalizedFeatures.Select(f => f.Name));
        }
        var afterRestart = await Bin("kafka-features.sh", [.. b, "describe"]);
        Assert.Contains("Feature: group.version\tSupportedMinVersion: 0\tSupportedMaxVersion: 1\tFinalizedVersionLevel: 0\tEpoch: ", afterRestart.Stdout);

        // A release version sets every feature to its default for that release; an upgrade skips those at 0.
        var release = await Bin("kafka-features.sh", [.. b, "upgrade", "--release-version", "4.0-IV3"]);
        Assert.Equal((0, "group.version was upgraded to 1.\nmetadata.version was upgraded to 25.\n"), (release.ExitCode, release.Stdout));

        var mapping = await Bin("kafka-features.sh", [.. b, "version-mapping", "--release-version", "3.9"]);
        Assert.Equal("metadata.version=21 (3.9)\nkraft.version=0\ntransaction.version=0\ngroup.version=0\n", mapping.Stdout);
        var dependencies = await Bin("kafka-features.sh", [.. b, "feature-dependencies", "--feature", "group.version=1", "--feature", "metadata.version=25"]);
        Assert.Equal("group.version=1 requires:\n    metadata.version=22 (4.0-IV0)\nmetadata.version=25 (4.0-IV3) has no dependencies.\n", dependencies.Stdout);
    }
}
