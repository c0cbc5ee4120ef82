using System.Diagnostics;
using Samsa.Interop.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Samsa.Interop.Tests;

/// <summary>
/// Issue 18's lag monitoring with the tool operators run for it: Debian's Burrow, configured against a Samsa broker as
/// against Kafka, finds a kafka-python consumer group from <c>__consumer_offsets</c>, rates it OK while it keeps up
/// with a steady producer, and ERR (its partition STOP or STALL) once the consumer stops and the lag grows.
/// </summary>
public sealed class BurrowInteropTests(ITestOutputHelper output)
{
    private const string Topic = "lag-orders";
    private const string Group = "lag-watchers";

    [Fact]
    public async Task Burrow_RatesAConsumerGroup_OkWhileConsuming_ThenErrAfterItStopsAndLagGrows()
    {
        BurrowProcess.RequirePeers();
        await using var broker = await BrokerProcess.StartAsync(new Dictionary<string, string> { ["auto.create.topics.enable"] = "false" });
        await TopicAdmin.CreateAsync(broker.Port, Topic);
        await using var burrow = await BurrowProcess.StartAsync(broker.Bootstrap);
        await using var producer = GroupClients.Ticker(broker.Bootstrap, Topic, partitions: 1, intervalMs: 50);
        await using var member = GroupClients.KafkaPython("member", broker.Bootstrap, Topic, Group);

        // Keeping up: every poll commits, so each stored commit is at (or within a poll of) the log end.
        var ok = await WaitForStatusAsync(burrow, s => s.Status == "OK" && s.Partitions.Length == 1 && s.Partitions[0].Status == "OK", "OK while consuming");
        Assert.Contains(Group, await burrow.ConsumerGroupsAsync());
        Assert.Equal((Topic, 0), (ok.Partitions[0].Topic, ok.Partitions[0].Partition));
        output.WriteLine($"consuming: {ok}");

        // Stopped (still a member, no more polls or commits) while the producer goes on: the lag only grows.
        await member.SendAsync("stop-polling");
        var stopped = await WaitForStatusAsync(burrow, s => s.Status == "ERR" && s.Partitions.Length == 1 && s.Partitions[0].Status is "STOP" or "STALL" && s.TotalLag > 0,
            "ERR after the consumer stops");
        output.WriteLine($"stopped: {stopped}");
        var later = await WaitForStatusAsync(burrow, s => s.TotalLag > stopped.TotalLag, "the lag growing");
        Assert.Equal("ERR", later.Status);
        output.WriteLine($"later: {later}");
    }

    private static async Task<BurrowProcess.GroupStatus> WaitForStatusAsync(BurrowProcess burrow, Func<BurrowProcess.GroupStatus, bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        BurrowProcess.GroupStatus? last = null;
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            last = await burrow.StatusAsync(Group);
            if (last is not null && condition(last))
            {
                return last;
            }
            await Task.Delay(500);
        }
        throw new TimeoutException($"Burrow did not report {what} within 60 s; last: {last?.ToString() ?? "no evaluation"}\n{burrow.Log}");
    }
}
