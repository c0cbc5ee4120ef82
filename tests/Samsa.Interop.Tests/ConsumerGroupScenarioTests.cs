using Samsa.Interop.Tests.Infrastructure;
using Xunit.Abstractions;
using static Samsa.Interop.Tests.GroupScenario;

namespace Samsa.Interop.Tests;

/// <summary>
/// Issue 6's consumer-group scenarios with real clients as long-running processes in one group: the rebalancing
/// round with Confluent.Kafka, kafka-python and kafkajs members, a member that stops heartbeating, one that stops
/// polling, and a static member restarting. All members use the "range" assignor: librdkafka and kafka-python offer
/// it, and clients/js/group_member.js gives kafkajs (whose only built-in protocol is named "RoundRobinAssigner", a name
/// the others do not know) Kafka's range assignor under the same name, so the three agree on one protocol.
/// </summary>
public class ConsumerGroupScenarioTests(ITestOutputHelper output)
{
    [Fact]
    public async Task RebalancingRound_MixedClients_ShareThreePartitions_LoseNothing()
    {
        const string topic = "round";
        const string group = "round-group";
        await using var scenario = await GroupScenario.StartAsync(topic, 3);
        var producer = scenario.Ticker(topic, 3, 100);
        await producer.WaitForAsync(e => e.Name == "sent", StepTimeout, "first record sent");

        // Join one by one. Range orders members by member id (client id + UUID); the fourth gets the client id that
        // sorts last, so it is the one left without a partition.
        var members = new List<ClientProcess>();
        var joins = new (string Client, string Name, string[] Options, int[] Counts)[]
        {
            ("confluent", "confluent", [], [3]),
            ("kafka-python", "kafka-python", [], [1, 2]),
            ("kafkajs", "kafkajs", [], [1, 1, 1]),
            ("kafka-python", "fourth (kafka-python)", ["client_id=zz-fourth-member"], [0, 1, 1, 1]),
        };
        foreach (var (client, name, options, counts) in joins)
        {
            var since = Now();
            members.Add(scenario.Member(client, name, topic, group, options));
            await WaitForOwnershipAsync(members, counts, since);
            output.WriteLine($"{members.Count} member(s): {Ownership(members)}");
        }
        var fourth = members[^1];
        Assert.Empty(fourth.Owned());
        var fourthIdleFrom = fourth.EventsNamed("assigned")[^1].Ts;

        // Leave one by one, first joined first: their partitions move to those left.
        foreach (var counts in new[] { new[] { 1, 1, 1 }, [1, 2], [3] })
        {
            var leaving = members[0];
            var since = Now();
            await leaving.CloseAsync(StepTimeout);
            members.RemoveAt(0);
            await WaitForOwnershipAsync(members, counts, since);
            output.WriteLine($"{leaving.Name} left: {Ownership(members)}");
        }
        var fourthIdleUntil = fourth.EventsNamed("assigned").First(e => e.Ts > fourthIdleFrom).Ts;
        Assert.DoesNotContain(fourth.EventsNamed("record"), e => e.Ts >= fourthIdleFrom && e.Ts < fourthIdleUntil);

        var sent = await StopAndDrainAsync(producer, fourth, 3);
        await fourth.CloseAsync(StepTimeout);
        AssertAtLeastOnce(scenario.Started.Where(c => c != producer), sent);
    }

    /// <summary>
    /// Every produced record was consumed, every ownership span read gaplessly from the group's committed offset, and
    /// so every duplicate is a re-read of records the previous owner consumed but had not committed when the
    /// partition moved. The counts are printed.
    /// </summary>
    private void AssertAtLeastOnce(IEnumerable<ClientProcess> members, IReadOnlyList<ClientEvent> sent)
    {
        var all = members.ToList();
        var ledger = GroupLedger.Read(all);
        output.WriteLine($"produced {sent.Count}, consumed {ledger.Total} ({ledger.Consumed.Count} distinct), duplicates {ledger.Duplicates}, "
            + $"ownership spans {ledger.Spans.Count}, commits {ledger.Commits.Count}, failed commits {all.Sum(m => m.EventsNamed("commit_failed").Count)}");
        var rereads = ledger.Rereads().ToList();
        foreach (var (span, count) in rereads)
        {
            output.WriteLine($"  not committed when the partition moved, read again: {span.Member} p{span.Partition} {count} record(s) from offset {span.Offsets[0]}");
        }
        var violations = ledger.Violations(sent);
        Assert.True(violations.Count == 0, string.Join('\n', violations) + "\n" + string.Join('\n', all.Select(m => m.Describe())));
        Assert.Equal(ledger.Duplicates, rereads.Sum(r => r.Count));
    }

    /// <summary>
    /// A member frozen with SIGSTOP sends no more heartbeats: the coordinator removes it after its session timeout
    /// (not before: at least the timeout less one heartbeat interval after it stopped) and the other member gets
    /// every partition, resuming at the committed offsets.
    /// </summary>
    [Theory]
    [InlineData("confluent", "kafka-python")]
    [InlineData("kafka-python", "kafkajs")]
    [InlineData("kafkajs", "confluent")]
    public async Task MemberThatStopsHeartbeating_IsRemovedAfterSessionTimeout(string stopped, string survivor)
    {
        const int sessionTimeoutMs = 3000;
        const int heartbeatMs = 500;
        var topic = $"frozen-{stopped}";
        await using var scenario = await GroupScenario.StartAsync(topic, 3);
        var producer = scenario.Ticker(topic, 3, 100);
        var since = Now();
        var staying = scenario.Member(survivor, survivor, topic, "frozen-group");
        var frozen = scenario.Member(stopped, $"{stopped} (stopped)", topic, "frozen-group", $"session_timeout_ms={sessionTimeoutMs}", $"heartbeat_interval_ms={heartbeatMs}");
        await WaitForOwnershipAsync([staying, frozen], [1, 2], since);

        var stoppedAt = Now();
        await frozen.SignalAsync("STOP");
        var moved = await staying.WaitForAsync(e => e.Name == "assigned" && e.Ts > stoppedAt && e.Partitions.Length == 3, StepTimeout, "all partitions");
        output.WriteLine($"{stopped} stopped; {survivor} owned every partition {moved.Ts - stoppedAt} ms later (session.timeout.ms={sessionTimeoutMs})");
        Assert.InRange(moved.Ts - stoppedAt, sessionTimeoutMs - heartbeatMs - 100, sessionTimeoutMs + 15_000);
        Assert.Contains("removed (session timeout expired)", scenario.Broker.Output);
        await WaitForOwnershipAsync([staying], [3], stoppedAt);

        var sent = await StopAndDrainAsync(producer, staying, 3);
        await frozen.KillAsync();
        AssertAtLeastOnce([staying, frozen], sent);
    }

    /// <summary>
    /// A member whose application stops polling keeps heartbeating (kafka-python and librdkafka heartbeat from a
    /// background thread) but is out of the group once max.poll.interval.ms passes, well after its session timeout
    /// would have: the other member gets its partitions while the stalled process is still alive.
    /// </summary>
    [Theory]
    [InlineData("kafka-python", "confluent")]
    [InlineData("confluent", "kafka-python")]
    public async Task MemberThatStopsPolling_IsRemovedAfterMaxPollInterval(string stalled, string survivor)
    {
        const int sessionTimeoutMs = 1500;
        const int maxPollIntervalMs = 5000;
        var topic = $"stalled-{stalled}";
        await using var scenario = await GroupScenario.StartAsync(topic, 3);
        var producer = scenario.Ticker(topic, 3, 100);
        var since = Now();
        var staying = scenario.Member(survivor, survivor, topic, "stalled-group");
        var stalling = scenario.Member(stalled, $"{stalled} (stalled)", topic, "stalled-group",
            $"session_timeout_ms={sessionTimeoutMs}", $"max_poll_interval_ms={maxPollIntervalMs}", "heartbeat_interval_ms=300");
        await WaitForOwnershipAsync([staying, stalling], [1, 2], since);

        await stalling.SendAsync("stop-polling");
        var stoppedAt = (await stalling.WaitForAsync(e => e.Name == "stopped-polling", StepTimeout, "stopped-polling")).Ts;
        var moved = await staying.WaitForAsync(e => e.Name == "assigned" && e.Ts > stoppedAt && e.Partitions.Length == 3, StepTimeout, "all partitions");
        output.WriteLine($"{stalled} stopped polling; {survivor} owned every partition {moved.Ts - stoppedAt} ms later "
            + $"(max.poll.interval.ms={maxPollIntervalMs}, session.timeout.ms={sessionTimeoutMs})");
        Assert.InRange(moved.Ts - stoppedAt, maxPollIntervalMs - 500, maxPollIntervalMs + 15_000);
        Assert.False(stalling.HasExited, "the stalled member's process is still alive, only out of the group");
        await WaitForOwnershipAsync([staying], [3], stoppedAt);

        var sent = await StopAndDrainAsync(producer, staying, 3);
        AssertAtLeastOnce([staying, stalling], sent);
    }

    /// <summary>
    /// KIP-345: a static member (group.instance.id) killed and restarted within its session timeout takes its slot
    /// back: it gets the same partitions, and the other member sees no revocation and no new generation while it
    /// goes on consuming.
    /// </summary>
    [Fact]
    public async Task StaticMember_RestartingWithinSessionTimeout_GetsItsPartitionsBackWithoutRebalance()
    {
        const string topic = "static";
        const int sessionTimeoutMs = 20_000;
        await using var scenario = await GroupScenario.StartAsync(topic, 3);
        var producer = scenario.Ticker(topic, 3, 100);
        var since = Now();
        var dynamic = scenario.Member("kafka-python", "kafka-python", topic, "static-group");
        await WaitForOwnershipAsync([dynamic], [3], since);
        since = Now();
        var first = scenario.Member("confluent", "confluent static", topic, "static-group", "group_instance_id=static-a", $"session_timeout_ms={sessionTimeoutMs}");
        await WaitForOwnershipAsync([dynamic, first], [1, 2], since);
        var staticPartitions = first.Owned();
        var dynamicAssignment = dynamic.EventsNamed("assigned")[^1];
        var dynamicEventsBefore = dynamic.Events.Count;

        int Rebalances() => scenario.Broker.Output.Split('\n').Count(l => l.Contains("Group static-group: preparing to rebalance", StringComparison.Ordinal));
        var rebalancesBefore = Rebalances();
        var killedAt = Now();
        await first.KillAsync();
        var second = scenario.Member("confluent", "confluent static (restarted)", topic, "static-group", "group_instance_id=static-a", $"session_timeout_ms={sessionTimeoutMs}");
        var back = await second.WaitForAsync(e => e.Name == "assigned", StepTimeout, "assignment");
        output.WriteLine($"static member back {back.Ts - killedAt} ms after SIGKILL with [{string.Join(',', back.Partitions)}] (before: [{string.Join(',', staticPartitions)}])");
        Assert.True(back.Ts - killedAt < sessionTimeoutMs, "restarted within the session timeout");
        Assert.Equal(staticPartitions, back.Partitions);
        // The dynamic member keeps consuming for a while (heartbeats every 500 ms would have seen a rebalance).
        await second.WaitForAsync(e => e.Name == "record", StepTimeout, "a record after the restart");
        await dynamic.WaitForAsync(e => e.Name == "record" && e.Ts > back.Ts + 3000, StepTimeout, "records 3 s after the restart");
        var dynamicAfter = dynamic.Events.Skip(dynamicEventsBefore).Where(e => e.Name is "assigned" or "revoked" or "lost").ToList();
        Assert.True(dynamicAfter.Count == 0, "the other member saw a rebalance: " + string.Join('\n', dynamicAfter.Select(e => e.Raw)));
        Assert.Equal(dynamicAssignment.Generation, dynamic.EventsNamed("assigned")[^1].Generation);
        Assert.Equal(rebalancesBefore, Rebalances());

        await producer.CloseAsync(StepTimeout);
        var sent = producer.EventsNamed("sent");
        foreach (var p in staticPartitions)
        {
            var last = sent.Where(s => s.Partition == p).Max(s => s.Offset);
            await second.WaitForAsync(e => e.Name == "record" && e.Partition == p && e.Offset == last, StepTimeout, $"record {p}/{last}");
        }
        foreach (var p in dynamic.Owned())
        {
            var last = sent.Where(s => s.Partition == p).Max(s => s.Offset);
            await dynamic.WaitForAsync(e => e.Name == "record" && e.Partition == p && e.Offset == last, StepTimeout, $"record {p}/{last}");
        }
        AssertAtLeastOnce([dynamic, first, second], sent);
    }
}
