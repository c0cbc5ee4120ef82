using Samsa.Broker.Groups;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;
using static Samsa.Broker.Tests.Groups.Groups;

namespace Samsa.Broker.Tests.Groups;

/// <summary>Committed offsets, group administration and persistence in <c>__consumer_offsets</c>, against a real broker.</summary>
public class OffsetAndAdminTests
{
    [Fact]
    public async Task ASimpleConsumer_CommitsWithoutMembership_AndFetchesItsOffsets()
    {
        await using var broker = await TestBroker.StartAsync(FastConfig);
        await using var client = await broker.ConnectAsync();
        await CreateTopic(broker, client, "t", 2);
        await FindCoordinator(broker, client, "simple");

        Assert.Equal(ErrorCode.None, await CommitAsync(client, Commit("simple", "t", 0, 42, metadata: "hello")));
        Assert.Equal(ErrorCode.None, await CommitAsync(client, Commit("simple", "t", 1, 7, metadata: null), version: 2));
        var (error, offsets) = await FetchAsync(client, "simple", "t", 0, 1);
        Assert.Equal(ErrorCode.None, error);
        Assert.Equal((42L, "hello"), offsets[0]);
        Assert.Equal((7L, ""), offsets[1]);

        var (_, all) = await FetchAsync(client, "simple", null);
        Assert.Equal([0, 1], all.Keys.Order());
        var (_, unknown) = await FetchAsync(client, "never-committed", "t", 0);
        Assert.Equal((-1L, ""), unknown[0]);

        // The group exists now, Empty with no protocol type, as Kafka lists offset-only groups.
        var listed = await ListAsync(client);
        var simple = Assert.Single(listed.Groups, g => g.GroupId == "simple");
        Assert.Equal(("", "Empty", "classic"), (simple.ProtocolType, simple.GroupState, simple.GroupType));
    }

    [Fact]
    public async Task OffsetFetch_OlderVersions_AnswerTheSameOffsets()
    {
        await using var broker = await TestBroker.StartAsync(FastConfig);
        await using var client = await broker.ConnectAsync();
        await CreateTopic(broker, client, "t");
        await FindCoordinator(broker, client, "g");
        Assert.Equal(ErrorCode.None, await CommitAsync(client, Commit("g", "t", 0, 5), version: 0));
        foreach (var version in new short[] { 1, 5, 7 })
        {
            var (_, response) = await client.RequestAsync<OffsetFetchResponse>(
                new OffsetFetchRequest { GroupId = "g", Topics = [new() { Name = "t", PartitionIndexes = [0] }], RequireStable = version >= 7 }, version);
            Assert.Equal(5, Assert.Single(Assert.Single(response.Topics).Partitions).CommittedOffset);
        }
        var (_, multi) = await client.RequestAsync<OffsetFetchResponse>(new OffsetFetchRequest
        {
            Groups = [new() { GroupId = "g", Topics = null }, new() { GroupId = "other", Topics = null }],
        }, 9);
        Assert.Equal(["g", "other"], multi.Groups.Select(g => g.GroupId));
        Assert.Equal(5, multi.Groups[0].Topics.Single().Partitions.Single().CommittedOffset);
        Assert.Empty(multi.Groups[1].Topics);
    }

    [Fact]
    public async Task OffsetCommit_ChecksTopicMetadataSizeGenerationAndMember()
    {
        await using var broker = await TestBroker.StartAsync([.. FastConfig, ("offset.metadata.max.bytes", "10")]);
        await using var client = await broker.ConnectAsync();
        await CreateTopic(broker, client, "t");
        await FindCoordinator(broker, client, "g");

        Assert.Equal(ErrorCode.UnknownTopicOrPartition, await CommitAsync(client, Commit("g", "no-such-topic", 0, 1)));
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, await CommitAsync(client, Commit("g", "t", 5, 1)));
        Assert.Equal(ErrorCode.OffsetMetadataTooLarge, await CommitAsync(client, Commit("g", "t", 0, 1, metadata: "eleven byte")));
        Assert.Equal(ErrorCode.GroupIdNotFound, await CommitAsync(client, Commit("unknown", "t", 0, 1, generation: 1, memberId: "m"), version: 9));
        Assert.Equal(ErrorCode.IllegalGeneration, await CommitAsync(client, Commit("unknown", "t", 0, 1, generation: 1, memberId: "m"), version: 8));

        var (member, generation) = await StableGroupOfOne(client, "g");
        Assert.Equal(ErrorCode.None, await CommitAsync(client, Commit("g", "t", 0, 3, generation, member)));
        Assert.Equal(ErrorCode.IllegalGeneration, await CommitAsync(client, Commit("g", "t", 0, 3, generation + 1, member)));
        Assert.Equal(ErrorCode.UnknownMemberId, await CommitAsync(client, Commit("g", "t", 0, 3, generation, "nobody")));
        // A live group refuses a simple consumer's commit.
        Assert.Equal(ErrorCode.UnknownMemberId, await CommitAsync(client, Commit("g", "t", 0, 3)));
        Assert.Equal((3L, ""), (await FetchAsync(client, "g", "t", 0)).Offsets[0]);
    }

    [Fact]
    public async Task OffsetCommit_DuringCompletingRebalance_IsRebalanceInProgress()
    {
        await using var broker = await TestBroker.StartAsync(FastConfig);
        await using var client = await broker.ConnectAsync();
        await CreateTopic(broker, client, "t");
        await FindCoordinator(broker, client, "g");
        var joined = await JoinNewMemberAsync(client, Join("g"));
        Assert.Equal(ErrorCode.RebalanceInProgress, await CommitAsync(client, Commit("g", "t", 0, 1, joined.GenerationId, joined.MemberId)));
    }

    [Fact]
    public async Task DeleteGroups_RefusesLiveGroups_AndDeletesEmptyOnesWithTheirOffsets()
    {
        await using var broker = await TestBroker.StartAsync(FastConfig);
        await using var client = await broker.ConnectAsync();
        await CreateTopic(broker, client, "t");
        await FindCoordinator(broker, client, "live");
        await FindCoordinator(broker, client, "idle");
        await StableGroupOfOne(client, "live");
        Assert.Equal(ErrorCode.None, await CommitAsync(client, Commit("idle", "t", 0, 9)));

        var (_, response) = await client.RequestAsync<DeleteGroupsResponse>(new DeleteGroupsRequest { GroupsNames = ["live", "idle", "ghost"] }, 2);
        Assert.Equal(
            [("live", (short)ErrorCode.NonEmptyGroup), ("idle", (short)0), ("ghost", (short)ErrorCode.GroupIdNotFound)],
            response.Results.Select(r => (r.GroupId, r.ErrorCode)));
        Assert.Equal((-1L, ""), (await FetchAsync(client, "idle", "t", 0)).Offsets[0]);
        Assert.DoesNotContain((await ListAsync(client)).Groups, g => g.GroupId == "idle");
    }

    [Fact]
    public async Task OffsetDelete_RefusesSubscribedTopics_AndDeletesOthers()
    {
        await using var broker = await TestBroker.StartAsync(FastConfig);
        await using var client = await broker.ConnectAsync();
        await CreateTopic(broker, client, "t");
        await CreateTopic(broker, client, "old");
        await FindCoordinator(broker, client, "g");
        var (member, generation) = await StableGroupOfOne(client, "g");
        Assert.Equal(ErrorCode.None, await CommitAsync(client, Commit("g", "t", 0, 1, generation, member)));
        Assert.Equal(ErrorCode.None, await CommitAsync(client, Commit("g", "old", 0, 2, generation, member)));

        var (_, response) = await client.RequestAsync<OffsetDeleteResponse>(new OffsetDeleteRequest
        {
            GroupId = "g",
            Topics = [new() { Name = "t", Partitions = [new() { PartitionIndex = 0 }] }, new() { Name = "old", Partitions = [new() { PartitionIndex = 0 }] }],
        }, 0);
        Assert.Equal(0, response.ErrorCode);
        Assert.Equal([(short)ErrorCode.GroupSubscribedToTopic, (short)0], response.Topics.Select(t => t.Partitions.Single().ErrorCode));
        Assert.Equal((1L, ""), (await FetchAsync(client, "g", "t", 0)).Offsets[0]);
        Assert.Equal(-1L, (await FetchAsync(client, "g", "old", 0)).Offsets[0].Offset);

        var (_, unknown) = await client.RequestAsync<OffsetDeleteResponse>(new OffsetDeleteRequest { GroupId = "ghost", Topics = [] }, 0);
        Assert.Equal((short)ErrorCode.GroupIdNotFound, unknown.ErrorCode);
    }

    [Fact]
    public async Task ListAndDescribeGroups_ReportStatesTypesAndMembers()
    {
        await using var broker = await TestBroker.StartAsync(FastConfig);
        await using var client = await broker.ConnectAsync();
        await CreateTopic(broker, client, "t");
        await FindCoordinator(broker, client, "stable");
        await FindCoordinator(broker, client, "empty");
        var (member, _) = await StableGroupOfOne(client, "stable", [5]);
        Assert.Equal(ErrorCode.None, await CommitAsync(client, Commit("empty", "t", 0, 1)));

        var all = await ListAsync(client);
        Assert.Equal(["empty", "stable"], all.Groups.Select(g => g.GroupId).Order());
        var stableOnly = await ListAsync(client, states: ["stable"]);
        Assert.Equal("stable", Assert.Single(stableOnly.Groups).GroupId);
        Assert.Empty((await ListAsync(client, types: ["consumer"])).Groups);
        Assert.Equal(2, (await ListAsync(client, types: ["Classic"])).Groups.Count);

        var (_, described) = await client.RequestAsync<DescribeGroupsResponse>(new DescribeGroupsRequest { Groups = ["stable", "nope", ""] }, 5);
        var stable = described.Groups[0];
        Assert.Equal(("Stable", "consumer", "range"), (stable.GroupState, stable.ProtocolType, stable.ProtocolData));
        var m = Assert.Single(stable.Members);
        Assert.Equal((member, "test-client", "/127.0.0.1"), (m.MemberId, m.ClientId, m.ClientHost));
        Assert.Equal([5], m.MemberAssignment);
        Assert.Equal(Subscription("t"), m.MemberMetadata);
        Assert.Equal(("Dead", (short)0), (described.Groups[1].GroupState, described.Groups[1].ErrorCode));
        Assert.Equal((short)ErrorCode.InvalidGroupId, described.Groups[2].ErrorCode);
    }

    [Fact]
    public async Task CommittedOffsetsAndGroups_SurviveARestart()
    {
        using var dir = new TempDir();
        string member;
        await using (var broker = await TestBroker.StartInAsync(dir, FastConfig))
        {
            await using var client = await broker.ConnectAsync();
            await CreateTopic(broker, client, "t", 3);
            await FindCoordinator(broker, client, "g");
            await FindCoordinator(broker, client, "gone");
            (member, var generation) = await StableGroupOfOne(client, "g", [4, 2], instanceId: "static-1");
            for (var p = 0; p < 3; p++)
            {
                Assert.Equal(ErrorCode.None, await CommitAsync(client, Commit("g", "t", p, 100 + p, generation, member, $"m{p}", "static-1")));
            }
            Assert.Equal(ErrorCode.None, await CommitAsync(client, Commit("gone", "t", 0, 1)));
            var (_, deleted) = await client.RequestAsync<DeleteGroupsResponse>(new DeleteGroupsRequest { GroupsNames = ["gone"] }, 2);
            Assert.Equal(0, deleted.Results[0].ErrorCode);
        }

        await using (var broker = await TestBroker.StartInAsync(dir, FastConfig))
        {
            await using var client = await broker.ConnectAsync();
            await FindCoordinator(broker, client, "g");
            var (error, offsets) = await FetchAsync(client, "g", "t", 0, 1, 2);
            Assert.Equal(ErrorCode.None, error);
            Assert.Equal([(100L, "m0"), (101L, "m1"), (102L, "m2")], offsets.OrderBy(o => o.Key).Select(o => o.Value));
            Assert.Empty((await FetchAsync(client, "gone", null)).Offsets);

            // The group came back Stable with its static member and assignment.
            var described = ClassicGroupTests.Describe(broker, "g");
            Assert.Equal("Stable", described.State);
            Assert.Equal(member, described.Members.Single().MemberId);
            Assert.Equal([4, 2], described.Members.Single().Assignment);
            Assert.Contains(broker.Logs.Lines, l => l.EventId == 600);
        }
    }

    [Fact]
    public async Task RecordsInTheOffsetsTopic_UseKafkasKeyAndValueVersions()
    {
        await using var broker = await TestBroker.StartAsync(FastConfig);
        await using var client = await broker.ConnectAsync();
        await CreateTopic(broker, client, "t");
        await FindCoordinator(broker, client, "g1");
        var (member, generation) = await StableGroupOfOne(client, "g1");
        Assert.Equal(ErrorCode.None, await CommitAsync(client, Commit("g1", "t", 0, 77, generation, member)));

        var partition = GroupCoordinator.PartitionFor("g1", 5);
        var log = broker.Broker.Logs.Get(GroupCoordinator.OffsetsTopic, partition)!;
        var bytes = log.Read(0, 1 << 20, Samsa.Storage.FetchIsolation.LogEnd).Records.ToArray();
        var keyVersions = new List<(short Key, short? Value)>();
        var position = 0;
        while (position < bytes.Length)
        {
            var header = RecordBatchHeader.Read(bytes.AsSpan(position));
            var view = new RecordBatchView(bytes.AsSpan(position, header.SizeInBytes));
            foreach (var record in view.GetRecords())
            {
                keyVersions.Add((System.Buffers.Binary.BinaryPrimitives.ReadInt16BigEndian(record.Key),
                    record.ValueIsNull ? null : System.Buffers.Binary.BinaryPrimitives.ReadInt16BigEndian(record.Value)));
            }
            position += header.SizeInBytes;
        }
        // Group metadata: key version 2, value version 3 (written at sync); offset commit: key 1, value 3.
        Assert.Contains(((short)2, (short?)3), keyVersions);
        Assert.Contains(((short)1, (short?)3), keyVersions);
    }

    [Fact]
    public async Task Produce_ToAnInternalTopic_IsAnInvalidTopic()
    {
        await using var broker = await TestBroker.StartAsync(FastConfig);
        await using var client = await broker.ConnectAsync();
        await FindCoordinator(broker, client, "g");
        using var builder = new RecordBatchBuilder();
        builder.Append(0, [0, 1], [2, 3]);
        foreach (var topic in new[] { GroupCoordinator.OffsetsTopic, "__transaction_state", "__cluster_metadata" })
        {
            var (_, response) = await client.RequestAsync<ProduceResponse>(new ProduceRequest
            {
                Acks = -1,
                TimeoutMs = 1000,
                TopicData = [new() { Name = topic, PartitionData = [new() { Index = 0, Records = builder.Build() }] }],
            }, 9);
            Assert.Equal((short)ErrorCode.InvalidTopicException, response.Responses.Single().PartitionResponses.Single().ErrorCode);
        }
    }

    private static async Task<ListGroupsResponse> ListAsync(TestClient client, string[]? states = null, string[]? types = null)
    {
        var (_, response) = await client.RequestAsync<ListGroupsResponse>(new ListGroupsRequest { StatesFilter = [.. states ?? []], TypesFilter = [.. types ?? []] }, 5);
        Assert.Equal(0, response.ErrorCode);
        return response;
    }
}
