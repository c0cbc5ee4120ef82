
namespace Samsa.Broker.Tests;

/// <summary>
/// <c>kafka-leader-election.sh</c> (the built <c>samsa leader-election</c>, as a child process) against an in-process
/// broker: Kafka's output lines for partitions whose leader is already the valid one, a partition that does not
/// exist, and a command line Kafka refuses.
/// </summary>
public sealed class LeaderElectionToolTests
{
    private static Task<(int ExitCode, string Out, string Err)> RunAsync(params string[] args) => BuiltTools.RunCliAsync("leader-election", args);

    [Fact]
    public async Task LeaderElection_PrintsKafkasLines_AndFailsForUnknownPartitions()
    {
        await using var broker = await TestBroker.StartAsync();
        await using (var client = await broker.ConnectAsync())
        {
            var (_, created) = await client.RequestAsync<Protocol.Messages.CreateTopicsResponse>(new Protocol.Messages.CreateTopicsRequest
            {
                Topics = [new() { Name = "first-test", NumPartitions = 2, ReplicationFactor = 1 }],
                timeoutMs = 30_000,
            }, 7);
            Assert.Equal(0, created.Topics[0].ErrorCode);
        }
        var server = $"127.0.0.1:{broker.Port}";

        var preferred = await RunAsync("--bootstrap-server", server, "--election-type", "PREFERRED", "--topic", "first-test", "--partition", "0");
        Assert.Equal((0, "Valid replica already elected for partitions first-test-0\n", ""), preferred);

        var json = Path.Combine(Path.GetTempPath(), $"samsa-election-{Guid.NewGuid():N}.json");
        File.WriteAllText(json, """{"partitions": [{"topic": "first-test", "partition": 1}, {"topic": "first-test", "partition": 0}]}""");
        try
        {
            var unclean = await RunAsync("--bootstrap-server", server, "--election-type", "unclean", "--path-to-json-file", json);
            Assert.Equal((0, "Valid replica already elected for partitions first-test-1, first-test-0\n", ""), unclean);
        }
        finally
        {
            File.Delete(json);
        }

        // Every partition already has its preferred leader: nothing needed an election, so nothing is printed.
        Assert.Equal((0, "", ""), await RunAsync("--bootstrap-server", server, "--election-type", "preferred", "--all-topic-partitions"));

        var unknown = await RunAsync("--bootstrap-server", server, "--election-type", "PREFERRED", "--topic", "first-test", "--partition", "5");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Equal("Error completing leader election (PREFERRED) for partition: first-test-5: "
            + "org.apache.kafka.common.errors.UnknownTopicOrPartitionException: No such partition as first-test-5\n", unknown.Out);
        Assert.Equal("1 replica(s) could not be elected", unknown.Err.Trim());

        var noPartition = await RunAsync("--bootstrap-server", server, "--election-type", "PREFERRED", "--topic", "first-test");
        Assert.Equal((1, "Missing required option(s): partition"), (noPartition.ExitCode, noPartition.Err.Trim()));

        var two = await RunAsync("--bootstrap-server", server, "--election-type", "PREFERRED", "--topic", "first-test", "--partition", "0", "--all-topic-partitions");
        Assert.Equal((1, "One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file"), (two.ExitCode, two.Err.Trim()));
    }
}
