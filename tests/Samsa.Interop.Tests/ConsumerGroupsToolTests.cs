using System.Diagnostics;
using System.Text.Json;
using Samsa.Interop.Tests.Infrastructure;
using static Samsa.Interop.Tests.Infrastructure.BinScripts;

namespace Samsa.Interop.Tests;

/// <summary>
/// <c>bin/kafka-consumer-groups.sh</c> and <c>kafka-console-consumer.sh --group</c> against a broker process, with
/// kafka-python as the group members and kcat as the producer. Expected tables are written out literally, in
/// Kafka 4.x's column widths, blank lines and trailing spaces, so a padding change fails them.
/// </summary>
public class ConsumerGroupsToolTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private static Task<ProcessResult> Groups(BrokerProcess broker, params string[] args) =>
        Bin("kafka-consumer-groups.sh", ["--bootstrap-server", broker.Bootstrap, .. args]);

    private static Task<ProcessResult> Python(params string[] args) =>
        ExternalProcess.RunAsync(Peers.Python, [RepoPaths.ClientScript("kafka_python_group.py"), .. args], Timeout);

    /// <summary>Produces <paramref name="count"/> records m0, m1, ... to one partition with kcat and checks the log end.</summary>
    private static async Task ProduceAsync(BrokerProcess broker, string topic, int partition, int count)
    {
        var lines = string.Concat(Enumerable.Range(0, count).Select(i => $"m{i}\n"));
        var result = await ExternalProcess.RunAsync("kcat", ["-P", "-b", broker.Bootstrap, "-t", topic, "-p", partition.ToString()], Timeout, lines);
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Theory]
    [InlineData("Missing required argument \"[bootstrap-server]\"", "--list")]
    [InlineData("Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets", "--bootstrap-server", "127.0.0.1:1")]
    [InlineData("Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets", "--bootstrap-server", "127.0.0.1:1", "--list", "--delete", "--all-groups")]
    [InlineData("Option [describe] takes one of these options: [all-groups], [group]", "--bootstrap-server", "127.0.0.1:1", "--describe")]
    [InlineData("Option [describe] takes at most one of these options: [members], [offsets], [state]", "--bootstrap-server", "127.0.0.1:1", "--describe", "--group", "g", "--members", "--offsets")]
    [InlineData("Option [describe] does not take a value for [state]", "--bootstrap-server", "127.0.0.1:1", "--describe", "--group", "g", "--state", "Stable")]
    [InlineData("Option(s) [members] are unavailable given other options on the command line", "--bootstrap-server", "127.0.0.1:1", "--list", "--members")]
    [InlineData("Option(s) [type] are unavailable given other options on the command line", "--bootstrap-server", "127.0.0.1:1", "--describe", "--group", "g", "--type")]
    [InlineData("Option [delete] takes one of these options: [all-groups], [group]", "--bootstrap-server", "127.0.0.1:1", "--delete")]
    [InlineData("The consumer does not support topic-specific offset deletion from a consumer group.", "--bootstrap-server", "127.0.0.1:1", "--delete", "--group", "g", "--topic", "t")]
    [InlineData("Option [delete-offsets] takes the following options: [topic], [group]", "--bootstrap-server", "127.0.0.1:1", "--delete-offsets", "--group", "g")]
    [InlineData("Option [reset-offsets] only accepts one of [execute] and [dry-run]", "--bootstrap-server", "127.0.0.1:1", "--reset-offsets", "--group", "g", "--all-topics", "--to-earliest", "--execute", "--dry-run")]
    [InlineData("Option [reset-offsets] takes one of these options: [all-groups], [group]", "--bootstrap-server", "127.0.0.1:1", "--reset-offsets", "--to-earliest", "--execute")]
    [InlineData("Option \"[to-earliest]\" can't be used with option \"[to-latest]\"", "--bootstrap-server", "127.0.0.1:1", "--reset-offsets", "--group", "g", "--to-earliest", "--to-latest", "--execute")]
    [InlineData("Option \"[to-offset]\" can't be used with option \"[shift-by]\"", "--bootstrap-server", "127.0.0.1:1", "--reset-offsets", "--group", "g", "--shift-by", "1", "--to-offset", "3", "--execute")]
    [InlineData("Option \"[group]\" can't be used with option \"[all-groups]\"", "--bootstrap-server", "127.0.0.1:1", "--describe", "--group", "g", "--all-groups")]
    [InlineData("Option \"[group]\" can't be used with option \"[list]\"", "--bootstrap-server", "127.0.0.1:1", "--list", "--group", "g")]
    [InlineData("Option \"[topic]\" can't be used with option \"[describe]\"", "--bootstrap-server", "127.0.0.1:1", "--describe", "--group", "g", "--topic", "t")]
    public async Task BadArguments_PrintKafkasMessage_AndExitOne(string message, params string[] args)
    {
        var result = await Bin("kafka-consumer-groups.sh", args);
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Equal(message, result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
        Assert.Equal("", result.Stdout);
    }

    [Theory]
    [InlineData("Options group and partition cannot be specified together.", "--group", "g", "--partition", "0")]
    [InlineData("Options group and partition cannot be specified together.", "--consumer-property", "group.id=g", "--partition", "0")]
    [InlineData("The partition is required when offset is specified.", "--group", "g", "--offset", "3")]
    [InlineData("Options from-beginning and offset cannot be specified together.", "--partition", "0", "--offset", "3", "--from-beginning")]
    [InlineData("The group ids provided in different places (directly using '--group', via '--consumer-property', or via '--consumer.config') do not match. Detected group ids: 'a', 'b'", "--group", "b", "--consumer-property", "group.id=a")]
    [InlineData("Can't simultaneously specify --from-beginning and 'auto.offset.reset=latest', please remove one option", "--group", "g", "--from-beginning", "--consumer-property", "auto.offset.reset=latest")]
    public async Task ConsoleConsumer_RefusesKafkasBadGroupCombinations(string message, params string[] args)
    {
        var result = await Bin("kafka-console-consumer.sh", ["--bootstrap-server", "127.0.0.1:1", "--topic", "t", .. args]);
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Equal(message + "\n", result.Stderr);
    }

    [Fact]
    public async Task Describe_LagIsTheCountOfUnreadMessages_AndResetPlansPrintKafkasFormats()
    {
        await using var broker = await BrokerProcess.StartAsync();
        await TopicAdmin.CreateAsync(broker.Port, "lagged", 2);
        await ProduceAsync(broker, "lagged", 0, 10);
        await ProduceAsync(broker, "lagged", 1, 6);
        Assert.Equal(10, await TopicAdmin.EndOffsetAsync(broker.Port, "lagged", 0));
        Assert.Equal(6, await TopicAdmin.EndOffsetAsync(broker.Port, "lagged", 1));

        // kafka-python reads 4 of partition 0 and all 6 of partition 1, and commits where it stopped.
        var commit = await Python("commit", broker.Bootstrap, "lag-group", "lagged", "0=4,1=6");
        Assert.True(commit.ExitCode == 0, commit.ToString());

        var describe = await Groups(broker, "--describe", "--group", "lag-group");
        Assert.True(describe.ExitCode == 0, describe.ToString());
        Assert.Equal(
            "\nGROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID" +
            "\nlag-group       lagged          0          4               10              6               -               -               -" +
            "\nlag-group       lagged          1          6               6               0               -               -               -\n",
            describe.Stdout);
        Assert.Equal("\nConsumer group 'lag-group' has no active members.\n", describe.Stderr);

        // Dry-run plans, in Kafka's HashMap order of TopicPartition (lagged-1 before lagged-0).
        const string header = "\nGROUP           TOPIC           PARTITION  NEW-OFFSET";
        string Plan(long p1, long p0) => header + $"\nlag-group       lagged          1          {p1}\nlag-group       lagged          0          {p0}\n";
        async Task<string> DryRun(params string[] scenario)
        {
            var result = await Groups(broker, ["--reset-offsets", "--group", "lag-group", "--topic", "lagged", "--dry-run", .. scenario]);
            Assert.True(result.ExitCode == 0, result.ToString());
            return result.Stdout;
        }
        Assert.Equal(Plan(0, 0), await DryRun("--to-earliest"));
        Assert.Equal(Plan(6, 10), await DryRun("--to-latest"));
        Assert.Equal(Plan(6, 4), await DryRun("--to-current"));
        Assert.Equal(Plan(4, 2), await DryRun("--shift-by", "-2"));
        Assert.Equal(Plan(6, 10), await DryRun("--to-offset", "100"));
        Assert.Equal(Plan(0, 0), await DryRun("--by-duration", "PT1H"));
        var future = await DryRun("--to-datetime", "2100-01-01T00:00:00.000");
        Assert.Contains("\nWarn: Partition 0 from topic lagged is empty. Falling back to latest known offset.\n", future);
        Assert.EndsWith(Plan(6, 10), future);
        var export = await Groups(broker, "--reset-offsets", "--group", "lag-group", "--topic", "lagged:0", "--to-offset", "3", "--export", "--dry-run");
        Assert.Equal("lagged,0,3\n\n", export.Stdout);
        var plan = Path.Combine(broker.Directory, "plan.csv");
        await File.WriteAllTextAsync(plan, export.Stdout);
        var fromFile = await Groups(broker, "--reset-offsets", "--group", "lag-group", "--from-file", plan, "--dry-run");
        Assert.Equal(header + "\nlag-group       lagged          0          3\n", fromFile.Stdout);

        // Dry runs changed nothing: a member of the group resumes at the committed offset and reads exactly the lag.
        var read = await Python("read", broker.Bootstrap, "lag-group", "lagged", "6");
        Assert.True(read.ExitCode == 0, read.ToString());
        Assert.Equal(
            Enumerable.Range(4, 6).Select(o => (0, (long)o)),
            read.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Record));
        var after = await Groups(broker, "--describe", "--group", "lag-group", "--offsets");
        Assert.Contains("\nlag-group       lagged          0          10              10              0               -               -               -", after.Stdout);

        var missing = await Groups(broker, "--describe", "--group", "nobody");
        Assert.Equal("\nError: Consumer group 'nobody' does not exist.\n", missing.Stdout);
    }

    private static (int Partition, long Offset) Record(string line)
    {
        using var json = JsonDocument.Parse(line);
        return (json.RootElement.GetProperty("partition").GetInt32(), json.RootElement.GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task ActiveGroup_RefusesResetAndDelete_ThenInactiveGroupIsResetListedAndDeleted()
    {
        await using var broker = await BrokerProcess.StartAsync();
        await TopicAdmin.CreateAsync(broker.Port, "busy-topic", 2);
        await ProduceAsync(broker, "busy-topic", 0, 3);
        await ProduceAsync(broker, "busy-topic", 1, 2);

        await using (var member = await HeldMember.StartAsync(broker, "busy", "busy-topic"))
        {
            var members = await Groups(broker, "--describe", "--group", "busy", "--members");
            Assert.True(members.ExitCode == 0, members.ToString());
            var lines = members.Stdout.Split('\n');
            Assert.Equal("", lines[0]);
            Assert.Matches(@"^GROUP\s{11}CONSUMER-ID\s+HOST\s+CLIENT-ID\s+#PARTITIONS\s{5}$", lines[1]);
            var row = lines[2].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal("busy", row[0]);
            Assert.StartsWith("kafka-python-", row[1]);
            Assert.Equal("/127.0.0.1", row[2]);
            Assert.Equal("2", row[4]);
            Assert.Equal(lines[1].IndexOf("CLIENT-ID", StringComparison.Ordinal), lines[2].IndexOf(row[3], lines[1].IndexOf("HOST", StringComparison.Ordinal), StringComparison.Ordinal));

            // Nothing committed yet: the offsets view shows the owner of each partition and "-" for offset and lag.
            var offsets = await Groups(broker, "--describe", "--group", "busy");
            var rows = offsets.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
            Assert.Equal(["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"], rows[0]);
            Assert.Equal(["busy", "busy-topic", "0", "-", "3", "-", row[1], "/127.0.0.1", row[3]], rows[1]);
            Assert.Equal(["busy", "busy-topic", "1", "-", "2", "-", row[1], "/127.0.0.1", row[3]], rows[2]);
            Assert.Equal("", offsets.Stderr);

            var verbose = await Groups(broker, "--describe", "--group", "busy", "--members", "--verbose");
            Assert.Matches(@"CURRENT-EPOCH\s+CURRENT-ASSIGNMENT\s+TARGET-EPOCH\s+TARGET-ASSIGNMENT\s*\n", verbose.Stdout);
            Assert.Matches(@" 2\s+ -\s+ busy-topic:0,1\s+ -\s+ -\s*\n", verbose.Stdout);

            var state = await Groups(broker, "--describe", "--group", "busy", "--state");
            Assert.Equal(
                "\nGROUP           COORDINATOR (ID)          ASSIGNMENT-STRATEGY  STATE                #MEMBERS" +
                $"\n{"busy",-15} {$"127.0.0.1:{broker.Port}  (1)",-25} range                Stable               1\n",
                state.Stdout);

            var list = await Groups(broker, "--list", "--state");
            Assert.Equal("GROUP                     STATE               \nbusy                      Stable              \n", list.Stdout);
            var typed = await Groups(broker, "--list", "--type", "--state");
            Assert.Equal("GROUP                     TYPE                 STATE               \nbusy                      Classic              Stable              \n", typed.Stdout);
            var onlyConsumerType = await Groups(broker, "--list", "--type", "consumer");
            Assert.Equal("GROUP                     TYPE                \n", onlyConsumerType.Stdout);
            var onlyEmpty = await Groups(broker, "--list", "--state", "empty");
            Assert.Equal("GROUP                     STATE               \n", onlyEmpty.Stdout);

            var reset = await Groups(broker, "--reset-offsets", "--group", "busy", "--topic", "busy-topic", "--to-earliest", "--execute");
            Assert.True(reset.ExitCode == 0, reset.ToString());
            Assert.Equal(
                "\nError: Assignments can only be reset if the group 'busy' is inactive, but the current state is Stable.\n" +
                "\nGROUP           TOPIC           PARTITION  NEW-OFFSET\n",
                reset.Stdout);

            var delete = await Groups(broker, "--delete", "--group", "busy");
            Assert.Equal(
                "\nError: Deletion of some consumer groups failed:\n" +
                "* Group 'busy' could not be deleted due to: org.apache.kafka.common.errors.GroupNotEmptyException: The group is not empty.\n",
                delete.Stdout);
        }

        // The member has left: the group is Empty, and it has committed nothing yet.
        var emptyState = await Groups(broker, "--list", "--state");
        Assert.Equal("GROUP                     STATE               \nbusy                      Empty               \n", emptyState.Stdout);
        var execute = await Groups(broker, "--reset-offsets", "--group", "busy", "--topic", "busy-topic", "--to-latest", "--execute");
        Assert.Equal("\nGROUP           TOPIC           PARTITION  NEW-OFFSET\nbusy            busy-topic      0          3\nbusy            busy-topic      1          2\n", execute.Stdout);
        var toEarliest = await Groups(broker, "--reset-offsets", "--group", "busy", "--topic", "busy-topic:0", "--to-earliest", "--execute");
        Assert.True(toEarliest.ExitCode == 0, toEarliest.ToString());

        // Partition 0 was reset to 0 and partition 1 sits at its end: a member rereads partition 0 from the start, and only it.
        var reread = await Python("read", broker.Bootstrap, "busy", "busy-topic", "3");
        Assert.True(reread.ExitCode == 0, reread.ToString());
        Assert.Equal([(0, 0L), (0, 1L), (0, 2L)], reread.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Record));

        var deleteOffsets = await Groups(broker, "--delete-offsets", "--group", "busy", "--topic", "busy-topic:1");
        Assert.Equal("Request succeeded for deleting offsets from group busy.\n\nTOPIC           PARTITION  STATUS         \nbusy-topic      1          Successful     \n", deleteOffsets.Stdout);
        var described = await Groups(broker, "--describe", "--group", "busy");
        Assert.DoesNotContain("busy-topic      1", described.Stdout);
        Assert.Contains("\nbusy            busy-topic      0          3               3               0               -               -               -", described.Stdout);

        var deleted = await Groups(broker, "--delete", "--group", "busy");
        Assert.Equal("Deletion of requested consumer groups ('busy') was successful.\n", deleted.Stdout);
        Assert.Equal("", (await Groups(broker, "--list")).Stdout);
    }

    [Fact]
    public async Task ConsoleConsumerWithGroup_ResumesWhereItStopped()
    {
        await using var broker = await BrokerProcess.StartAsync();
        await TopicAdmin.CreateAsync(broker.Port, "resume");
        await ProduceAsync(broker, "resume", 0, 6);
        string[] common = ["--bootstrap-server", broker.Bootstrap, "--topic", "resume", "--group", "cg", "--from-beginning"];

        var first = await Bin("kafka-console-consumer.sh", [.. common, "--max-messages", "4"]);
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Equal("m0\nm1\nm2\nm3\n", first.Stdout);
        var lag = await Groups(broker, "--describe", "--group", "cg");
        Assert.Contains("\ncg              resume          0          4               6               2               -               -               -", lag.Stdout);

        // librdkafka commits the leader epoch of the last record read with the offset.
        var verbose = await Groups(broker, "--describe", "--group", "cg", "--offsets", "--verbose");
        Assert.Equal(
            "\nGROUP           TOPIC           PARTITION  LEADER-EPOCH    CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID" +
            "\ncg              resume          0          0               4               6               2               -               -               -\n",
            verbose.Stdout);

        // --from-beginning only applies to a group without a committed offset.
        var second = await Bin("kafka-console-consumer.sh", [.. common, "--max-messages", "2"]);
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Equal("m4\nm5\n", second.Stdout);

        // Without --group the tool uses a throwaway group, commits nothing, and --from-beginning reads everything.
        var anonymous = await Bin("kafka-console-consumer.sh", "--bootstrap-server", broker.Bootstrap, "--topic", "resume", "--from-beginning", "--max-messages", "6");
        Assert.Equal("m0\nm1\nm2\nm3\nm4\nm5\n", anonymous.Stdout);
        var groups = (await Groups(broker, "--list")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("cg", groups);
        var throwaway = Assert.Single(groups, g => g != "cg");
        Assert.Matches("^console-consumer-[0-9]{1,5}$", throwaway);
        var offsets = await Groups(broker, "--describe", "--group", throwaway);
        Assert.Equal("", offsets.Stdout);
        Assert.Equal($"\nConsumer group '{throwaway}' has no active members.\n", offsets.Stderr);
    }

    /// <summary>A kafka-python member kept in its group until disposed (stdin closed), then waited for.</summary>
    private sealed class HeldMember : IAsyncDisposable
    {
        private readonly Process _process;

        private HeldMember(Process process) => _process = process;

        public static async Task<HeldMember> StartAsync(BrokerProcess broker, string group, string topic)
        {
            Peers.Require(Peers.Python);
            var start = new ProcessStartInfo(Peers.Python) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { RepoPaths.ClientScript("kafka_python_group.py"), "hold", broker.Bootstrap, group, topic })
            {
                start.ArgumentList.Add(a);
            }
            var process = Process.Start(start)!;
            var member = new HeldMember(process);
            var errors = process.StandardError.ReadToEndAsync();
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                var line = await process.StandardOutput.ReadLineAsync(deadline.Token);
                Assert.True(line is not null && line.Contains("assigned", StringComparison.Ordinal), "member did not join: " + line);
            }
            catch (Exception e)
            {
                await member.DisposeAsync();
                throw new InvalidOperationException($"member did not join: {e.Message}\n{await errors}\n--- broker\n{broker.Output}", e);
            }
            return member;
        }

        public async ValueTask DisposeAsync()
        {
            _process.StandardInput.Close();
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
            _process.Dispose();
        }
    }
}
