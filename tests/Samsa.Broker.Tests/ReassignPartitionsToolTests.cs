using System.Globalization;

namespace Samsa.Broker.Tests;

/// <summary>
/// <c>kafka-reassign-partitions.sh</c> (the built <c>samsa reassign-partitions</c>, as a child process) against an
/// in-process combined node: Kafka's lines for --list, --execute, --verify and --cancel, an unknown broker, and a
/// command line without an action. Moving replicas between brokers is <c>ReassignmentTests</c> (interop).
/// </summary>
public sealed class ReassignPartitionsToolTests
{
    private static Task<(int ExitCode, string Out, string Err)> RunAsync(params string[] args) => BuiltTools.RunCliAsync("reassign-partitions", args);

    [Fact]
    public async Task ReassignPartitions_PrintsKafkasLines()
    {
        await using var broker = await TestBroker.StartAsync();
        var node = broker.Broker.NodeId.ToString(CultureInfo.InvariantCulture);
        await using (var client = await broker.ConnectAsync())
        {
            var (_, created) = await client.RequestAsync<Protocol.Messages.CreateTopicsResponse>(new Protocol.Messages.CreateTopicsRequest
            {
                Topics = [new() { Name = "t", NumPartitions = 2, ReplicationFactor = 1 }],
                timeoutMs = 30_000,
            }, 7);
            Assert.Equal(0, created.Topics[0].ErrorCode);
        }
        var server = $"127.0.0.1:{broker.Port}";
        var plan = Path.GetTempFileName();
        try
        {
            Assert.Equal((0, "No partition reassignments found.\n", ""), await RunAsync("--bootstrap-server", server, "--list"));

            // The replicas a partition already has: nothing to move, so it is complete at once.
            var assignment = $$"""{"version":1,"partitions":[{"topic":"t","partition":1,"replicas":[{{node}}],"log_dirs":["any"]},{"topic":"t","partition":0,"replicas":[{{node}}],"log_dirs":["any"]}]}""";
            await File.WriteAllTextAsync(plan, assignment);
            var executed = await RunAsync("--bootstrap-server", server, "--reassignment-json-file", plan, "--execute");
            Assert.Equal((0,
                "Current partition replica assignment\n\n"
                + $$"""{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[{{node}}],"log_dirs":["any"]},{"topic":"t","partition":1,"replicas":[{{node}}],"log_dirs":["any"]}]}""" + "\n\n"
                + "Save this to use as the --reassignment-json-file option during rollback\n"
                + "Successfully started partition reassignments for t-0,t-1\n", ""), executed);

            Assert.Equal((0,
                "Status of partition reassignment:\nReassignment of partition t-0 is completed.\nReassignment of partition t-1 is completed.\n\n"
                + $"Clearing broker-level throttles on broker {node}\nClearing topic-level throttles on topic t\n", ""),
                await RunAsync("--bootstrap-server", server, "--reassignment-json-file", plan, "--verify"));

            Assert.Equal((0,
                "None of the specified partition reassignments are active.\nNone of the specified partition moves are active."
                + $"Clearing broker-level throttles on broker {node}\nClearing topic-level throttles on topic t\n", ""),
                await RunAsync("--bootstrap-server", server, "--reassignment-json-file", plan, "--cancel"));

            await File.WriteAllTextAsync(plan, """{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[9]}]}""");
            Assert.Equal((1, "Error: Unknown broker id 9\n", ""), await RunAsync("--bootstrap-server", server, "--reassignment-json-file", plan, "--execute"));

            var noAction = await RunAsync("--bootstrap-server", server);
            Assert.Equal(1, noAction.ExitCode);
            Assert.Equal("Command must include exactly one action: --generate, --execute, --verify, --cancel, --list\n", noAction.Err);
        }
        finally
        {
            File.Delete(plan);
        }
    }
}
