using Samsa.Interop.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Samsa.Interop.Tests;

/// <summary>
/// Issue 6's consumer-group scenarios with real clients as long-running processes in one group: the rebalancing
/// round with Confluent.Kafka, kafka-python and kafkajs members, session and poll timeouts, static membership, and
/// committed offsets across a broker SIGKILL. All members use the "range" assignor: librdkafka and kafka-python
/// offer it, and clients/js/group.js gives kafkajs (whose only built-in protocol is named "RoundRobinAssigner") the
/// same assignor under the same name, so the three can agree on one protocol.
/// </summary>
public class ConsumerGroupScenarioTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Short group timeouts, as Kafka's own integration tests use, so a scenario runs in seconds.</summary>
    private static Task<BrokerProcess> StartBrokerAsync(string? reuseDirectory = null, int? reusePort = null) =>
        BrokerProcess.StartAsync(new Dictionary<string, string>
        {
            ["auto.create.topics.enable"] = "false",
            ["group.min.session.timeout.ms"] = "500",
            ["offsets.topic.num.partitions"] = "5",
        }, reuseDirectory, reusePort);

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    [Fact]
    public async Task RebalancingRound_MixedClients_ShareThreePartitions_LoseNothing()
    {
        await using var broker = await StartBrokerAsync();
        const string topic = "round";
        const string group = "round-group";
        await TopicAdmin.CreateAsync(broker.Port, topic, 3);
        var members = new List<ClientProcess>();
        await using var producer = GroupClients.Ticker(broker.Bootstrap, topic, 3, 100);
        try
        {
            await producer.WaitForAsync(e => e.Name == "sent", StepTimeout, "first record sent");

            // Join one by one. Range sorts members by member id (client id + UUID); the fourth gets the client id
            // that sorts last, so it is the one left without a partition.
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
                members.Add(GroupClients.Start(client, name, broker.Bootstrap, topic, group, options));
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

            // Stop producing; the last member reads to the end of every partition before leaving.
            await producer.CloseAsync(StepTimeout);
            var sent = producer.EventsNamed("sent");
            foreach (var p in Enumerable.Range(0, 3))
            {
                var last = sent.Where(s => s.Partition == p).Max(s => s.Offset);
                await fourth.WaitForAsync(e => e.Name == "record" && e.Partition == p && e.Offset == last, StepTimeout, $"record {p}/{last}");
            }
            await fourth.CloseAsync(StepTimeout);

            var everyone = _everyone;
            var ledger = GroupLedger.Read(everyone);
            output.WriteLine($"produced {sent.Count}, consumed {ledger.Total} ({ledger.Consumed.Count} distinct), duplicates {ledger.Duplicates}, "
                + $"ownership spans {ledger.Spans.Count}, commits {ledger.Commits.Count}, failed commits {everyone.Sum(m => m.EventsNamed("commit_failed").Count)}");
            var rereads = ledger.Rereads().ToList();
            foreach (var (span, count) in rereads)
            {
                output.WriteLine($"  uncommitted at the rebalance, read again: {span.Member} p{span.Partition} {count} record(s) from offset {span.Offsets[0]}");
            }
            Assert.Empty(ledger.Violations(sent));
            // Spans are gapless and start at the committed offset, so every duplicate is a re-read of records the
            // previous owner consumed but had not committed when the partition moved.
            Assert.Equal(ledger.Duplicates, rereads.Sum(r => r.Count));
        }
        finally
        {
            foreach (var m in _everyone)
            {
                await m.DisposeAsync();
            }
        }
    }

    private readonly List<ClientProcess> _everyone = [];

    /// <summary>
    /// Waits until every member has been assigned since the step began, the members' partitions are disjoint and
    /// cover the topic with the expected counts, and every owner has read from each partition it owns since then
    /// (the generation is live, not just announced), with no newer assignment in the meantime.
    /// </summary>
    private async Task WaitForOwnershipAsync(List<ClientProcess> members, int[] expectedCounts, long since, int partitions = 3)
    {
        foreach (var m in members.Where(m => !_everyone.Contains(m)))
        {
            _everyone.Add(m);
        }
        var deadline = DateTime.UtcNow + StepTimeout;
        while (true)
        {
            var lastAssigned = members.Select(m => m.Events.LastOrDefault(e => e.Name is "assigned" or "revoked" or "lost")).ToList();
            var owned = members.Select(m => m.Owned()).ToList();
            var settled = lastAssigned.All(e => e is { Name: "assigned" } && e.Ts >= since)
                && owned.Sum(o => o.Length) == partitions
                && owned.SelectMany(o => o).Distinct().Count() == partitions
                && owned.Select(o => o.Length).Order().SequenceEqual(expectedCounts)
                && members.Zip(lastAssigned).All(x => x.Second!.Partitions.All(p =>
                    x.First.Events.Count(e => e.Name == "record" && e.Partition == p && e.Ts >= x.Second.Ts) >= 2));
            if (settled && members.Zip(lastAssigned).All(x => ReferenceEquals(x.First.Events.Last(e => e.Name is "assigned" or "revoked" or "lost"), x.Second)))
            {
                return;
            }
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"ownership {Ownership(members)} did not reach counts [{string.Join(',', expectedCounts)}]\n"
                    + string.Join('\n', members.Select(m => m.Describe())));
            }
            await Task.Delay(100);
        }
    }

    private static string Ownership(IEnumerable<ClientProcess> members) =>
        string.Join(", ", members.Select(m => $"{m.Name}=[{string.Join(',', m.Owned())}]"));
}
