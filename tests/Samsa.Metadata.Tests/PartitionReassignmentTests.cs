using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Metadata.Tests;

/// <summary>
/// AlterPartitionReassignments and ListPartitionReassignments decided by the controller, the cases of Kafka's
/// <c>ReplicationControlManagerTest</c>: a reassignment started (replicas = target then removing, adding and removing
/// lists, ISR unchanged), completed at once when the ISR already holds the target, completed by the leader's
/// AlterPartition, replaced, cancelled (with a leader that was being added, and the unclean revert), and each error.
/// </summary>
public sealed class PartitionReassignmentTests : IDisposable
{
    private readonly ControllerHarness _h = new();

    private static AlterPartitionReassignmentsRequest Request(params (string Topic, int Partition, int[]? Replicas)[] partitions) => new()
    {
        Topics = [.. partitions.GroupBy(p => p.Topic).Select(g => new AlterPartitionReassignmentsRequest.ReassignableTopic
        {
            Name = g.Key,
            Partitions = [.. g.Select(p => new AlterPartitionReassignmentsRequest.ReassignablePartition
            {
                PartitionIndex = p.Partition,
                Replicas = p.Replicas is null ? null : [.. p.Replicas],
            })],
        })],
    };

    private async Task<List<(string, int, ErrorCode)>> ReassignAsync(params (string Topic, int Partition, int[]? Replicas)[] partitions)
    {
        var response = await _h.Controller.AlterPartitionReassignmentsAsync(Request(partitions), default);
        Assert.Equal((short)ErrorCode.None, response.ErrorCode);
        Assert.Null(response.ErrorMessage);
        return [.. response.Responses.SelectMany(t => t.Partitions.Select(p => (t.Name, p.PartitionIndex, (ErrorCode)p.ErrorCode)))];
    }

    private async Task<List<string>> ListAsync(List<ListPartitionReassignmentsRequest.ListPartitionReassignmentsTopics>? topics = null)
    {
        var response = await _h.Controller.ListPartitionReassignmentsAsync(new ListPartitionReassignmentsRequest { Topics = topics }, default);
        Assert.Equal((short)ErrorCode.None, response.ErrorCode);
        return [.. response.Topics.SelectMany(t => t.Partitions.Select(p => $"{t.Name}-{p.PartitionIndex} replicas={L(p.Replicas)} adding={L(p.AddingReplicas)} removing={L(p.RemovingReplicas)}"))];
    }

    private static string L(IEnumerable<int> ids) => $"[{string.Join(",", ids)}]";

    /// <summary>A partition as "replicas=[..] isr=[..] leader=N adding=[..] removing=[..]".</summary>
    private static string Shape(PartitionImage p) =>
        $"replicas={L(p.Replicas)} isr={L(p.Isr)} leader={p.Leader} adding={L(p.AddingReplicas)} removing={L(p.RemovingReplicas)}";

    private static string Shape(int[] replicas, int[] isr, int leader, int[] adding, int[] removing) =>
        $"replicas={L(replicas)} isr={L(isr)} leader={leader} adding={L(adding)} removing={L(removing)}";

    [Fact]
    public async Task Start_MovesOneReplica_ReplicasAreTargetThenRemovingAndTheIsrStays()
    {
        await _h.StartBrokersAsync(1, 2, 3, 4);
        await _h.CreateTopicAsync("t", [1, 2, 3]);
        var before = _h.Partition("t");

        Assert.Equal([("t", 0, ErrorCode.None)], await ReassignAsync(("t", 0, [1, 2, 4])));

        var after = _h.Partition("t");
        Assert.Equal(Shape([1, 2, 4, 3], [1, 2, 3], 1, [4], [3]), Shape(after));
        Assert.Equal(before.LeaderEpoch, after.LeaderEpoch);
        Assert.Equal(before.PartitionEpoch + 1, after.PartitionEpoch);
        Assert.Equal(["t-0 replicas=[1,2,4,3] adding=[4] removing=[3]"], await ListAsync());
    }

    [Fact]
    public async Task Start_ThenTheLeaderReportsTheNewReplicaInSync_CompletesAndListsNothing()
    {
        await _h.StartBrokersAsync(1, 2, 3, 4);
        var topic = await _h.CreateTopicAsync("t", [1, 2, 3]);
        await ReassignAsync(("t", 0, [4, 2, 1]));
        var partition = _h.Partition("t");

        var response = await _h.Controller.AlterPartitionAsync(new AlterPartitionRequest
        {
            BrokerId = 1,
            BrokerEpoch = _h.Epochs[1],
            Topics = [new() { TopicId = topic.TopicId, Partitions = [new() { PartitionIndex = 0, LeaderEpoch = partition.LeaderEpoch, PartitionEpoch = partition.PartitionEpoch, NewIsr = [1, 2, 3, 4] }] }],
        }, 2, default);

        Assert.Equal((short)ErrorCode.None, response.Topics[0].Partitions[0].ErrorCode);
        Assert.Equal(Shape([4, 2, 1], [1, 2, 4], 1, [], []), Shape(_h.Partition("t")));
        Assert.Empty(await ListAsync());
    }

    [Fact]
    public async Task Start_TargetAlreadyInSync_CompletesAtOnceAndElectsANewLeaderWhenTheLeaderLeaves()
    {
        await _h.StartBrokersAsync(1, 2, 3);
        await _h.CreateTopicAsync("t", [1, 2, 3]);
        var before = _h.Partition("t");

        Assert.Equal([("t", 0, ErrorCode.None)], await ReassignAsync(("t", 0, [3, 2])));

        var after = _h.Partition("t");
        Assert.Equal(Shape([3, 2], [2, 3], 3, [], []), Shape(after));
        Assert.Equal(before.LeaderEpoch + 1, after.LeaderEpoch);
        Assert.Empty(await ListAsync());
    }

    [Fact]
    public async Task Start_ReorderingTheReplicas_CompletesAtOnceAndKeepsTheLeader()
    {
        await _h.StartBrokersAsync(1, 2, 3);
        await _h.CreateTopicAsync("t", [1, 2, 3]);
        var before = _h.Partition("t");

        Assert.Equal([("t", 0, ErrorCode.None)], await ReassignAsync(("t", 0, [3, 1, 2])));

        var after = _h.Partition("t");
        Assert.Equal(Shape([3, 1, 2], [1, 2, 3], 1, [], []), Shape(after));
        Assert.Equal(before.LeaderEpoch, after.LeaderEpoch);
    }

    [Fact]
    public async Task Start_TheCurrentReplicas_ChangesNothing()
    {
        await _h.StartBrokersAsync(1, 2, 3);
        await _h.CreateTopicAsync("t", [1, 2, 3]);
        var before = _h.Partition("t");

        Assert.Equal([("t", 0, ErrorCode.None)], await ReassignAsync(("t", 0, [1, 2, 3])));

        Assert.Equal(before, _h.Partition("t"));
    }

    [Fact]
    public async Task Start_WhileAnotherRuns_ReplacesItFromTheCurrentReplicaList()
    {
        await _h.StartBrokersAsync(1, 2, 3, 4, 5);
        await _h.CreateTopicAsync("t", [1, 2, 3]);
        await ReassignAsync(("t", 0, [1, 2, 4]));

        Assert.Equal([("t", 0, ErrorCode.None)], await ReassignAsync(("t", 0, [1, 2, 5])));

        Assert.Equal(Shape([1, 2, 5, 3, 4], [1, 2, 3], 1, [5], [3, 4]), Shape(_h.Partition("t")));
    }

    [Fact]
    public async Task Cancel_RevertsToTheOriginalReplicas()
    {
        await _h.StartBrokersAsync(1, 2, 3, 4);
        await _h.CreateTopicAsync("t", [1, 2]);
        await ReassignAsync(("t", 0, [3, 4]));
        Assert.Equal(Shape([3, 4, 1, 2], [1, 2], 1, [3, 4], [1, 2]), Shape(_h.Partition("t")));

        Assert.Equal([("t", 0, ErrorCode.None)], await ReassignAsync(("t", 0, null)));

        Assert.Equal(Shape([1, 2], [1, 2], 1, [], []), Shape(_h.Partition("t")));
        Assert.Empty(await ListAsync());
    }

    [Fact]
    public async Task Cancel_WithAnAddedReplicaLeading_ElectsAnOriginalReplica()
    {
        await _h.StartBrokersAsync(1, 2, 3);
        var topic = await _h.CreateTopicAsync("t", [1]);
        await ReassignAsync(("t", 0, [2, 3]));
        // Replica 2 caught up and leads (an election moved leadership to it) before 3 did.
        await _h.WriteAsync(MetadataRecord.Of(new PartitionChangeRecord { TopicId = topic.TopicId, PartitionId = 0, Isr = [1, 2], Leader = 2 }));

        Assert.Equal([("t", 0, ErrorCode.None)], await ReassignAsync(("t", 0, null)));

        Assert.Equal(Shape([1], [1], 1, [], []), Shape(_h.Partition("t")));
    }

    [Fact]
    public async Task Cancel_WhenOnlyAddedReplicasAreInSync_NeedsUncleanElectionEnabled()
    {
        await _h.StartBrokersAsync(1, 2, 3);
        var topic = await _h.CreateTopicAsync("t", [1]);
        await ReassignAsync(("t", 0, [2, 3]));
        await _h.WriteAsync(MetadataRecord.Of(new PartitionChangeRecord { TopicId = topic.TopicId, PartitionId = 0, Isr = [2], Leader = 2 }));

        Assert.Equal([("t", 0, ErrorCode.InvalidReplicaAssignment)], await ReassignAsync(("t", 0, null)));
        Assert.Equal(Shape([2, 3, 1], [2], 2, [2, 3], [1]), Shape(_h.Partition("t")));

        await _h.SetTopicConfigAsync("t", "unclean.leader.election.enable", "true");
        Assert.Equal([("t", 0, ErrorCode.None)], await ReassignAsync(("t", 0, null)));
        Assert.Equal(Shape([1], [1], 1, [], []), Shape(_h.Partition("t")));
    }

    [Fact]
    public async Task Cancel_WithoutAReassignment_IsNoReassignmentInProgress()
    {
        await _h.StartBrokersAsync(1, 2);
        await _h.CreateTopicAsync("t", [1, 2]);

        Assert.Equal([("t", 0, ErrorCode.NoReassignmentInProgress)], await ReassignAsync(("t", 0, null)));
    }

    [Fact]
    public async Task Errors_AreAnsweredPerPartition_AndTheValidPartitionsStillCommit()
    {
        await _h.StartBrokersAsync(1, 2, 3);
        await _h.CreateTopicAsync("t", [1, 2], [2, 3], [3, 1], [1, 2], [2, 3]);

        var results = await ReassignAsync(
            ("t", 0, [1, 3]),
            ("t", 1, []),
            ("t", 2, [1, 1]),
            ("t", 3, [1, 9]),
            ("t", 4, [2, 3, 2]),
            ("t", 7, [1, 2]),
            ("nope", 0, [1, 2]));

        Assert.Equal(
        [
            ("t", 0, ErrorCode.None),
            ("t", 1, ErrorCode.InvalidReplicaAssignment),
            ("t", 2, ErrorCode.InvalidReplicaAssignment),
            ("t", 3, ErrorCode.InvalidReplicaAssignment),
            ("t", 4, ErrorCode.InvalidReplicaAssignment),
            ("t", 7, ErrorCode.UnknownTopicOrPartition),
            ("nope", 0, ErrorCode.UnknownTopicOrPartition),
        ], results);
        Assert.Equal([1, 3, 2], _h.Partition("t", 0).Replicas.ToArray());
        Assert.Equal([2, 3], _h.Partition("t", 1).Replicas.ToArray());
    }

    [Fact]
    public async Task List_NamedTopicsAndPartitions_LeavesOutUnknownAndSettledOnes()
    {
        await _h.StartBrokersAsync(1, 2, 3);
        await _h.CreateTopicAsync("a", [1], [2]);
        await _h.CreateTopicAsync("b", [2]);
        await ReassignAsync(("a", 0, [3]), ("b", 0, [3]));

        Assert.Equal(
            ["a-0 replicas=[3,1] adding=[3] removing=[1]", "b-0 replicas=[3,2] adding=[3] removing=[2]"],
            (await ListAsync()).Order().ToList());
        Assert.Equal(
            ["a-0 replicas=[3,1] adding=[3] removing=[1]"],
            await ListAsync([new() { Name = "a", PartitionIndexes = [0, 1, 5] }, new() { Name = "nope", PartitionIndexes = [0] }]));
    }

    public void Dispose() => _h.Dispose();
}
