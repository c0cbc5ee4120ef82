using Samsa.Interop.Tests.Infrastructure;
using Xunit.Abstractions;
using static Samsa.Interop.Tests.GroupScenario;

namespace Samsa.Interop.Tests;

/// <summary>
/// Committed offsets with real clients: they survive a broker SIGKILL (they are records in __consumer_offsets,
/// replayed on start), a consumer resumes at the committed offset, which is the next offset to read, and
/// auto.offset.reset decides where a group without a committed offset starts, as in Kafka.
/// </summary>
public class CommittedOffsetsInteropTests(ITestOutputHelper output)
{
    /// <summary>Sends <paramref name="count"/> records to each partition with the steady producer and returns them.</summary>
    private static async Task<IReadOnlyList<ClientEvent>> ProduceAsync(GroupScenario scenario, string topic, int partitions, int count)
    {
        var producer = scenario.Ticker(topic, partitions, 1, count * partitions);
        await producer.WaitForAsync(e => e.Name == "closed", StepTimeout, $"{count * partitions} records sent");
        var sent = producer.EventsNamed("sent");
        Assert.Equal(count * partitions, sent.Count);
        return sent;
    }

    [Theory]
    [InlineData("kafka-python", "confluent")]
    [InlineData("confluent", "kafkajs")]
    [InlineData("kafkajs", "kafka-python")]
    public async Task CommittedOffsets_SurviveBrokerSigkill_AndTheNextConsumerResumesThere(string first, string next)
    {
        const string topic = "resume";
        const string group = "resume-group";
        await using var scenario = await GroupScenario.StartAsync(topic, 2);
        var before = await ProduceAsync(scenario, topic, 2, 10);
        var reader = scenario.Member(first, first, topic, group);
        foreach (var p in new[] { 0, 1 })
        {
            await reader.WaitForAsync(e => e.Name == "committed" && e.Partition == p && e.Offset == 10, StepTimeout, $"commit of {p}/10");
        }
        await reader.CloseAsync(StepTimeout);

        await scenario.KillAndRestartBrokerAsync(topic, 2);
        var after = (await ProduceAsync(scenario, topic, 2, 5)).Select(e => (e.Partition, e.Offset)).ToList();
        Assert.All(after, e => Assert.InRange(e.Offset, 10, 14));

        // auto.offset.reset=none where the client has it: only a committed offset lets this consumer start at all.
        var resumed = scenario.Member(next, next, topic, group, next == "kafkajs" ? "auto_offset_reset=earliest" : "auto_offset_reset=none");
        foreach (var (p, o) in after)
        {
            await resumed.WaitForAsync(e => e.Name == "record" && e.Partition == p && e.Offset == o, StepTimeout, $"record {p}/{o}");
        }
        var read = resumed.EventsNamed("record");
        output.WriteLine($"{first} committed 10 on each partition; after SIGKILL and restart {next} read {string.Join(' ', read.Select(r => $"{r.Partition}/{r.Offset}"))}");
        Assert.Equal(after.Order(), read.Select(r => (r.Partition, r.Offset)).Order());
        Assert.Empty(resumed.EventsNamed("error"));
        Assert.Matches(@"Loaded __consumer_offsets-\d+: 1 groups from \d+ records", scenario.Broker.Output);
        await resumed.CloseAsync(StepTimeout);
        Assert.Equal(20, before.Count);
    }

    /// <summary>
    /// A new group: earliest starts at the log start, latest at the log end (none of the records already there),
    /// none makes the client report that there is no committed offset (kafkajs has no "none").
    /// </summary>
    [Theory]
    [InlineData("confluent")]
    [InlineData("kafka-python")]
    [InlineData("kafkajs")]
    public async Task AutoOffsetReset_WithoutCommittedOffset_BehavesAsInKafka(string client)
    {
        const string topic = "reset";
        await using var scenario = await GroupScenario.StartAsync(topic, 1);
        var existing = await ProduceAsync(scenario, topic, 1, 5);

        var earliest = scenario.Member(client, "earliest", topic, "g-earliest", "auto_offset_reset=earliest");
        await earliest.WaitForAsync(e => e.Name == "record" && e.Offset == 4, StepTimeout, "record 4");
        Assert.Equal([0L, 1, 2, 3, 4], earliest.EventsNamed("record").Select(e => e.Offset));

        var latest = scenario.Member(client, "latest", topic, "g-latest", "auto_offset_reset=latest");
        await latest.WaitForAsync(e => e.Name == "assigned", StepTimeout, "assignment");
        var producer = scenario.Ticker(topic, 1, 100);
        var first = await latest.WaitForAsync(e => e.Name == "record", StepTimeout, "a record produced after it joined");
        output.WriteLine($"{client}: latest started at offset {first.Offset} ({existing.Count} records were there before)");
        Assert.True(first.Offset >= existing.Count, $"latest read {first.Offset}, a record from before it joined");
        await producer.CloseAsync(StepTimeout);

        if (client == "kafkajs")
        {
            return;
        }
        var none = scenario.Member(client, "none", topic, "g-none", "auto_offset_reset=none");
        var error = await none.WaitForAsync(e => e.Name == "error", StepTimeout, "the no-offset error");
        output.WriteLine($"{client}: auto.offset.reset=none -> {error.Raw}");
        Assert.Contains(client == "confluent" ? "Local_AutoOffsetReset" : "NoOffsetForPartitionError", error.Raw);
        Assert.Empty(none.EventsNamed("record"));
    }
}
