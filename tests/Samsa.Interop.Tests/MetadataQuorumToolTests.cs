using System.Text.RegularExpressions;
using Samsa.Interop.Tests.Infrastructure;
using static Samsa.Interop.Tests.Infrastructure.BinScripts;

namespace Samsa.Interop.Tests;

/// <summary>
/// kafka-metadata-quorum.sh against a combined node with a controller listener: the quorum of one in Kafka's
/// <c>--status</c> and <c>--replication</c> formats, the high watermark following the metadata log, and the tool's
/// usage errors.
/// </summary>
public partial class MetadataQuorumToolTests
{
    [Fact]
    public async Task Describe_ShowsTheQuorumOfOne_InKafkasFormats()
    {
        var port = BrokerProcess.FreePort();
        var controllerPort = BrokerProcess.FreePort();
        await using var broker = await BrokerProcess.StartAsync(new Dictionary<string, string>
        {
            ["listeners"] = $"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controllerPort}",
            ["controller.listener.names"] = "CONTROLLER",
            ["listener.security.protocol.map"] = "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            ["advertised.listeners"] = $"PLAINTEXT://127.0.0.1:{port},CONTROLLER://localhost:{controllerPort}",
        }, reusePort: port);
        var meta = File.ReadAllLines(Path.Combine(broker.Directory, "data", "meta.properties"));
        var clusterId = meta.Single(l => l.StartsWith("cluster.id=", StringComparison.Ordinal))["cluster.id=".Length..];
        var directoryId = meta.Single(l => l.StartsWith("directory.id=", StringComparison.Ordinal))["directory.id=".Length..];

        var status = await Bin("kafka-metadata-quorum.sh", "--bootstrap-server", broker.Bootstrap, "describe", "--status");
        Assert.True(status.ExitCode == 0, status.ToString());
        var lines = status.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(8, lines.Length);
        Assert.Equal($"ClusterId:              {clusterId}", lines[0]);
        Assert.Equal("LeaderId:               1", lines[1]);
        Assert.Matches(@"^LeaderEpoch:            \d+$", lines[2]);
        var highWatermark = long.Parse(HighWatermark().Match(lines[3]).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(highWatermark > 0, lines[3]);
        Assert.Equal("MaxFollowerLag:         0", lines[4]);
        Assert.Equal("MaxFollowerLagTimeMs:   0", lines[5]);
        Assert.Equal($"CurrentVoters:          [{{\"id\": 1, \"directoryId\": \"{directoryId}\", \"endpoints\": [\"CONTROLLER://localhost:{controllerPort}\"]}}]", lines[6]);
        Assert.Equal("CurrentObservers:       []", lines[7]);

        // A committed metadata change moves the high watermark on.
        await TopicAdmin.CreateAsync(broker.Port, "quorum-moves", 1);
        var replication = await Bin("kafka-metadata-quorum.sh", "--bootstrap-controller", $"127.0.0.1:{controllerPort}", "describe", "--replication");
        Assert.True(replication.ExitCode == 0, replication.ToString());
        var rows = replication.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, rows.Length);
        Assert.Equal(["NodeId", "DirectoryId", "LogEndOffset", "Lag", "LastFetchTimestamp", "LastCaughtUpTimestamp", "Status"], rows[0].Split('\t', StringSplitOptions.RemoveEmptyEntries).Select(c => c.Trim()));
        var cells = rows[1].Split('\t', StringSplitOptions.RemoveEmptyEntries).Select(c => c.Trim()).ToArray();
        Assert.Equal("1", cells[0]);
        Assert.Equal(directoryId, cells[1]);
        Assert.True(long.Parse(cells[2], System.Globalization.CultureInfo.InvariantCulture) > highWatermark, rows[1]);
        Assert.Equal("0", cells[3]);
        Assert.Equal(cells[4], cells[5]);
        Assert.InRange(long.Parse(cells[4], System.Globalization.CultureInfo.InvariantCulture), DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Assert.Equal("Leader", cells[6]);

        var human = await Bin("kafka-metadata-quorum.sh", "--bootstrap-server", broker.Bootstrap, "describe", "--replication", "--human-readable");
        Assert.True(human.ExitCode == 0, human.ToString());
        Assert.Matches(@"\t\d+ ms ago\s*\t\d+ ms ago\s*\tLeader\s*\t$", human.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1]);
    }

    [Fact]
    public async Task UsageErrors_AreKafkas()
    {
        await using var broker = await BrokerProcess.StartAsync();
        async Task ExpectAsync(string error, params string[] args)
        {
            var result = await Bin("kafka-metadata-quorum.sh", args);
            Assert.True(result.ExitCode == 1, result.ToString());
            Assert.Equal(error + "\n", result.Stderr);
        }
        await ExpectAsync("Only one of --status or --replication should be specified with describe sub-command",
            "--bootstrap-server", broker.Bootstrap, "describe", "--status", "--replication");
        await ExpectAsync("One of --status or --replication must be specified with describe sub-command",
            "--bootstrap-server", broker.Bootstrap, "describe");
        await ExpectAsync("The option --human-readable is only supported along with --replication",
            "--bootstrap-server", broker.Bootstrap, "describe", "--status", "--human-readable");
        await ExpectAsync("kafka-metadata-quorum: error: one of the arguments --bootstrap-server --bootstrap-controller is required", "describe", "--status");
    }

    [GeneratedRegex(@"^HighWatermark:          (\d+)$")]
    private static partial Regex HighWatermark();
}
