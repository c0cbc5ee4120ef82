using System.Text.Json;
using Samsa.Interop.Tests.Infrastructure;
using Samsa.Protocol.Messages;

namespace Samsa.Interop.Tests;

/// <summary>
/// KIP-848 (<c>group.protocol=consumer</c>) with Confluent.Kafka / librdkafka 2.16 as the judge: join, assignment,
/// incremental rebalance (the first member revokes only what moves), commit and resume, a member leaving. The group
/// type is checked through ConsumerGroupDescribe and ListGroups so a silent fall-back to the classic protocol fails.
/// </summary>
public class ConsumerGroupProtocolInteropTests
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(60);

    private static Dictionary<string, string> BrokerConfig => new()
    {
        ["offsets.topic.num.partitions"] = "5",
        // Short heartbeats so a rebalance takes a second or two, not Kafka's 5 s steps.
        ["group.consumer.heartbeat.interval.ms"] = "500",
        ["group.consumer.min.heartbeat.interval.ms"] = "500",
    };

    private static async Task ProduceAsync(string bootstrap, string topic, int from, int count)
    {
        var lines = string.Concat(Enumerable.Range(from, count).Select(i => JsonSerializer.Serialize(new
        {
            key = Convert.ToBase64String(BitConverter.GetBytes(i)),
            value = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"m{i}")),
            headers = Array.Empty<string[]>(),
            timestamp = (long?)null,
        }) + "\n"));
        var result = await ExternalProcess.RunAsync("dotnet", [RepoPaths.ConfluentClientDll, "produce", bootstrap, topic, "none"], ClientTimeout, lines);
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    private static InteractiveProcess StartMember(string bootstrap, string group, string topic) =>
        InteractiveProcess.Start("dotnet", [RepoPaths.ConfluentClientDll, "group-consume", bootstrap, group, topic, "consumer"]);

    private static bool Is(string line, string eventName) =>
        line.StartsWith('{') && JsonDocument.Parse(line).RootElement.GetProperty("event").GetString() == eventName;

    private static int[] PartitionsOf(string line) =>
        [.. JsonDocument.Parse(line).RootElement.GetProperty("partitions").EnumerateArray().Select(p => p.GetInt32())];

    private static (int Partition, long Offset) MessageOf(string line)
    {
        var root = JsonDocument.Parse(line).RootElement;
        return (root.GetProperty("partition").GetInt32(), root.GetProperty("offset").GetInt64());
    }

    private static async Task<ConsumerGroupDescribeResponse.DescribedGroup> DescribeAsync(int port, string group)
    {
        using var connection = await RawKafkaConnection.ConnectAsync(port);
        var response = await connection.RequestAsync<ConsumerGroupDescribeResponse>(new ConsumerGroupDescribeRequest { GroupIds = [group] }, 0);
        return Assert.Single(response.Groups);
    }

    /// <summary>Waits until the broker's view of the group is Stable with the given number of members.</summary>
    private static async Task<ConsumerGroupDescribeResponse.DescribedGroup> WaitStableAsync(int port, string group, int members)
    {
        var deadline = DateTime.UtcNow + EventTimeout;
        while (true)
        {
            var described = await DescribeAsync(port, group);
            if ((described.ErrorCode == 0 && described.GroupState == "Stable" && described.Members.Count == members) || DateTime.UtcNow > deadline)
            {
                return described;
            }
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task ConsumerProtocol_JoinIncrementalRebalanceCommitResumeAndLeave_WithConfluentKafka()
    {
        await using var broker = await BrokerProcess.StartAsync(BrokerConfig);
        await TopicAdmin.CreateAsync(broker.Port, "kip848", 3);
        await ProduceAsync(broker.Bootstrap, "kip848", 0, 30);
        var endOffsets = new long[3];
        for (var p = 0; p < 3; p++)
        {
            endOffsets[p] = await TopicAdmin.EndOffsetAsync(broker.Port, "kip848", p);
        }
        Assert.Equal(30, endOffsets.Sum());

        // 1. One member gets all three partitions and reads everything.
        await using var first = StartMember(broker.Bootstrap, "g848", "kip848");
        var assigned = await first.WaitForAsync(l => Is(l, "assigned"), EventTimeout, "first member's assignment");
        Assert.Equal([0, 1, 2], PartitionsOf(assigned));
        var read = 0;
        while (read < 30)
        {
            await first.WaitForAsync(l => Is(l, "message"), EventTimeout, $"message {read + 1} of 30");
            read++;
        }
        await first.SendAsync("commit");
        await first.WaitForAsync(l => Is(l, "committed"), EventTimeout, "first commit");

        // Not a silent fall-back: the broker holds a KIP-848 group with this member.
        var described = await WaitStableAsync(broker.Port, "g848", 1);
        Assert.Equal(0, described.ErrorCode);
        Assert.Equal("Stable", described.GroupState);
        var firstMember = Assert.Single(described.Members);
        Assert.Equal(3, firstMember.Assignment.TopicPartitions.Single().Partitions.Count);
        using (var connection = await RawKafkaConnection.ConnectAsync(broker.Port))
        {
            var listed = await connection.RequestAsync<ListGroupsResponse>(new ListGroupsRequest(), 5);
            Assert.Equal("consumer", Assert.Single(listed.Groups, g => g.GroupId == "g848").GroupType);
        }

        // 2. A second member joins: exactly one partition moves, and the first member revokes only that one.
        await using var second = StartMember(broker.Bootstrap, "g848", "kip848");
        var secondAssigned = await second.WaitForAsync(l => Is(l, "assigned") && PartitionsOf(l).Length > 0, EventTimeout, "second member's assignment");
        var moved = Assert.Single(PartitionsOf(secondAssigned));
        var revoked = await first.WaitForAsync(l => Is(l, "revoked") || Is(l, "lost") || Is(l, "assigned"), EventTimeout, "first member's revocation");
        Assert.True(Is(revoked, "revoked"), revoked);
        Assert.Equal([moved], PartitionsOf(revoked));
        described = await WaitStableAsync(broker.Port, "g848", 2);
        Assert.Equal("Stable", described.GroupState);
        Assert.Equal([1, 2], described.Members.Select(m => m.Assignment.TopicPartitions.Sum(t => t.Partitions.Count)).Order());
        Assert.All(described.Members, m => Assert.Equal(described.AssignmentEpoch, m.MemberEpoch));

        // 3. New messages: the second member resumes its partition at the first member's commit, not from the start.
        await ProduceAsync(broker.Bootstrap, "kip848", 30, 30);
        var resumed = MessageOf(await second.WaitForAsync(l => Is(l, "message"), EventTimeout, "second member's first message"));
        Assert.Equal(moved, resumed.Partition);
        Assert.Equal(endOffsets[moved], resumed.Offset);

        // 4. The first member commits and leaves; its partitions move to the second, which resumes at the commits.
        await first.SendAsync("commit");
        var committed = await first.WaitForAsync(l => Is(l, "committed"), EventTimeout, "second commit");
        // Between the two commits the first member kept its two partitions: no further revocation or loss.
        // (librdkafka reports the revocation's empty incremental assignment as "assigned []".)
        Assert.DoesNotContain(first.Seen.SkipWhile(l => l != revoked).Skip(1), l => Is(l, "revoked") || Is(l, "lost") || (Is(l, "assigned") && PartitionsOf(l).Length > 0));
        var committedOffsets = JsonDocument.Parse(committed).RootElement.GetProperty("offsets").EnumerateArray()
            .ToDictionary(o => o[0].GetInt32(), o => o[1].GetInt64());
        await first.SendAsync("close");
        await first.WaitForAsync(l => Is(l, "closed"), EventTimeout, "first member closing");
        var takeover = await second.WaitForAsync(l => Is(l, "assigned") && PartitionsOf(l).Length == 2, EventTimeout, "second member taking over");
        Assert.Equal(new[] { 0, 1, 2 }.Where(p => p != moved), PartitionsOf(takeover));
        Assert.DoesNotContain(second.Seen, l => Is(l, "revoked") || Is(l, "lost"));
        foreach (var partition in PartitionsOf(takeover))
        {
            var end = await TopicAdmin.EndOffsetAsync(broker.Port, "kip848", partition);
            if (committedOffsets[partition] < end)
            {
                var first1 = MessageOf(await second.WaitForAsync(l => Is(l, "message") && MessageOf(l).Partition == partition, EventTimeout, $"resume on {partition}"));
                Assert.Equal(committedOffsets[partition], first1.Offset);
            }
        }
        described = await WaitStableAsync(broker.Port, "g848", 1);
        Assert.Equal(3, Assert.Single(described.Members).Assignment.TopicPartitions.Single().Partitions.Count);

        await second.SendAsync("close");
        await second.WaitForAsync(l => Is(l, "closed"), EventTimeout, "second member closing");
        described = await DescribeAsync(broker.Port, "g848");
        Assert.Equal("Empty", described.GroupState);
    }
}
