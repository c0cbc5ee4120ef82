using Samsa.Metadata.Controller;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Metadata.Tests;

/// <summary>
/// ElectLeaders decided by the controller (Kafka's <c>ReplicationControlManagerTest.testElectLeaders*</c>): PREFERRED
/// and UNCLEAN elections and each of their answers, every partition for a null list, and the periodic preferred-leader
/// balancing of <c>auto.leader.rebalance.enable</c>.
/// </summary>
public sealed class ElectLeadersTests : IDisposable
{
    private ControllerHarness _h = new();

    private static ElectLeadersRequest Request(sbyte type, params (string Topic, int[] Partitions)[] partitions) => new()
    {
        ElectionType = type,
        TopicPartitions = [.. partitions.Select(p => new ElectLeadersRequest.TopicPartitionsData { Topic = p.Topic, Partitions = [.. p.Partitions] })],
    };

    private async Task<List<(string Topic, int Partition, ErrorCode Error)>> ElectAsync(ElectLeadersRequest request, short version = 2)
    {
        var response = await _h.Controller.ElectLeadersAsync(request, version, default);
        Assert.Equal(0, response.ErrorCode);
        return [.. response.ReplicaElectionResults.SelectMany(t => t.PartitionResult.Select(p => (t.Topic, p.PartitionId, (ErrorCode)p.ErrorCode)))];
    }

    /// <summary>Brokers 1-3; "t" with partitions on [1, 2, 3] and [2, 3, 1]; broker 1 fenced and back, so 2 leads both.</summary>
    private async Task MovedLeadershipAsync(ControllerOptions? options = null)
    {
        if (options is not null)
        {
            _h.Dispose();
            _h = new ControllerHarness(options);
        }
        await _h.StartBrokersAsync(1, 2, 3);
        await _h.CreateTopicAsync("t", [1, 2, 3], [2, 3, 1]);
        await _h.FenceAsync(1);
        await _h.UnfenceAsync(1);
        Assert.Equal(2, _h.Partition("t", 0).Leader);
        Assert.Equal([2, 3], _h.Partition("t", 0).Isr.ToArray());
    }

    [Fact]
    public async Task Preferred_PreferredReplicaOutOfSync_IsPreferredLeaderNotAvailable()
    {
        await MovedLeadershipAsync();
        Assert.Equal([("t", 0, ErrorCode.PreferredLeaderNotAvailable), ("t", 1, ErrorCode.ElectionNotNeeded)],
            await ElectAsync(Request(ReplicationControlManager.PreferredElection, ("t", [0, 1]))));
        Assert.Equal(2, _h.Partition("t", 0).Leader);
    }

    [Fact]
    public async Task Preferred_PreferredReplicaBackInSync_MovesLeadershipBack()
    {
        await MovedLeadershipAsync();
        await AddToIsrAsync(0, 1);
        var before = _h.Partition("t", 0);

        Assert.Equal([("t", 0, ErrorCode.None)], await ElectAsync(Request(ReplicationControlManager.PreferredElection, ("t", [0]))));

        var after = _h.Partition("t", 0);
        Assert.Equal(1, after.Leader);
        Assert.Equal(before.LeaderEpoch + 1, after.LeaderEpoch);
        Assert.Equal(before.Isr.ToArray(), after.Isr.ToArray());
    }

    [Fact]
    public async Task Preferred_V0HasNoElectionType_AndIsPreferred()
    {
        await MovedLeadershipAsync();
        await AddToIsrAsync(0, 1);
        var request = Request(ReplicationControlManager.UncleanElection, ("t", [0]));
        Assert.Equal([("t", 0, ErrorCode.None)], await ElectAsync(request, version: 0));
        Assert.Equal(1, _h.Partition("t", 0).Leader);
    }

    [Fact]
    public async Task UnknownTopicOrPartition_IsAnsweredPerPartition_WithKafkasMessages()
    {
        await MovedLeadershipAsync();
        var response = await _h.Controller.ElectLeadersAsync(Request(ReplicationControlManager.PreferredElection, ("nope", [0]), ("t", [9])), 2, default);
        var nope = response.ReplicaElectionResults[0].PartitionResult[0];
        var nine = response.ReplicaElectionResults[1].PartitionResult[0];
        Assert.Equal(((short)ErrorCode.UnknownTopicOrPartition, "No such topic as nope"), (nope.ErrorCode, nope.ErrorMessage));
        Assert.Equal(((short)ErrorCode.UnknownTopicOrPartition, "No such partition as t-9"), (nine.ErrorCode, nine.ErrorMessage));
    }

    [Fact]
    public async Task AllPartitions_NullList_LeavesOutThoseNeedingNoElection()
    {
        await MovedLeadershipAsync();
        await AddToIsrAsync(0, 1);
        await _h.CreateTopicAsync("u", [3, 1, 2]);

        var results = await ElectAsync(new ElectLeadersRequest { ElectionType = ReplicationControlManager.PreferredElection, TopicPartitions = null });

        Assert.Equal([("t", 0, ErrorCode.None)], results);
        Assert.Equal(1, _h.Partition("t", 0).Leader);
    }

    [Fact]
    public async Task EmptyList_AnswersNothingAndWritesNothing()
    {
        await MovedLeadershipAsync();
        var end = _h.Log.EndOffset;
        var response = await _h.Controller.ElectLeadersAsync(new ElectLeadersRequest { ElectionType = 0, TopicPartitions = [] }, 2, default);
        Assert.Empty(response.ReplicaElectionResults);
        Assert.Equal(end, _h.Log.EndOffset);
    }

    [Fact]
    public async Task Unclean_PartitionWithALeader_IsElectionNotNeeded()
    {
        await MovedLeadershipAsync();
        Assert.Equal([("t", 0, ErrorCode.ElectionNotNeeded)], await ElectAsync(Request(ReplicationControlManager.UncleanElection, ("t", [0]))));
    }

    [Fact]
    public async Task Unclean_LeaderlessPartition_ElectsAnActiveReplicaEvenWithTheTopicConfigOff()
    {
        await _h.StartBrokersAsync(1, 2, 3);
        await _h.CreateTopicAsync("t", [1, 2, 3]);
        await ShrinkIsrAsync(0, 1);
        await _h.FenceAsync(1);
        Assert.Equal(-1, _h.Partition("t").Leader);

        Assert.Equal([("t", 0, ErrorCode.None)], await ElectAsync(Request(ReplicationControlManager.UncleanElection, ("t", [0]))));

        var partition = _h.Partition("t");
        Assert.Equal(2, partition.Leader);
        Assert.Equal([2], partition.Isr.ToArray());
        Assert.Equal(Image.PartitionImage.Recovering, partition.LeaderRecoveryState);
    }

    [Fact]
    public async Task Unclean_NoActiveReplica_IsEligibleLeadersNotAvailable()
    {
        await _h.StartBrokersAsync(1, 2, 3);
        await _h.CreateTopicAsync("t", [1, 2]);
        await ShrinkIsrAsync(0, 1);
        await _h.FenceAsync(2);
        await _h.FenceAsync(1);
        Assert.Equal([("t", 0, ErrorCode.EligibleLeadersNotAvailable)], await ElectAsync(Request(ReplicationControlManager.UncleanElection, ("t", [0]))));
        Assert.Equal(-1, _h.Partition("t").Leader);
    }

    [Fact]
    public async Task UnknownElectionType_IsInvalidRequest()
    {
        await MovedLeadershipAsync();
        var response = await _h.Controller.ElectLeadersAsync(Request(5, ("t", [0])), 2, default);
        Assert.Equal((short)ErrorCode.InvalidRequest, response.ErrorCode);
    }

    [Fact]
    public async Task Balance_MovesEveryInSyncPreferredReplicaBack()
    {
        await MovedLeadershipAsync();
        Assert.Equal(0, await _h.Controller.BalancePartitionLeadersAsync(default));
        await AddToIsrAsync(0, 1);

        Assert.Equal(1, await _h.Controller.BalancePartitionLeadersAsync(default));

        Assert.Equal(1, _h.Partition("t", 0).Leader);
        Assert.Equal(2, _h.Partition("t", 1).Leader);
        Assert.Equal(0, await _h.Controller.BalancePartitionLeadersAsync(default));
    }

    [Fact]
    public async Task Balance_PeriodicTask_RunsEveryCheckIntervalOnlyWhenEnabled()
    {
        await MovedLeadershipAsync(new ControllerOptions { LeaderImbalanceCheckInterval = TimeSpan.FromSeconds(300), FenceStaleBrokerInterval = TimeSpan.FromDays(1) });
        await AddToIsrAsync(0, 1);
        _h.Controller.StartPeriodicTasks();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (_h.Partition("t", 0).Leader != 1 && DateTime.UtcNow < deadline)
        {
            _h.Clock.Advance(TimeSpan.FromSeconds(100));
            await Task.Delay(20);
        }
        Assert.Equal(1, _h.Partition("t", 0).Leader);
    }

    [Fact]
    public async Task Balance_PeriodicTask_Disabled_LeavesLeadership()
    {
        await MovedLeadershipAsync(new ControllerOptions { AutoLeaderRebalanceEnable = false, FenceStaleBrokerInterval = TimeSpan.FromDays(1) });
        await AddToIsrAsync(0, 1);
        _h.Controller.StartPeriodicTasks();
        for (var i = 0; i < 10; i++)
        {
            _h.Clock.Advance(TimeSpan.FromSeconds(300));
            await Task.Delay(10);
        }
        Assert.Equal(2, _h.Partition("t", 0).Leader);
    }

    private async Task AddToIsrAsync(int partitionIndex, int broker) =>
        await AlterIsrAsync(partitionIndex, p => [.. p.Isr, broker]);

    private async Task ShrinkIsrAsync(int partitionIndex, params int[] isr) => await AlterIsrAsync(partitionIndex, _ => isr);

    private async Task AlterIsrAsync(int partitionIndex, Func<Image.PartitionImage, int[]> isr)
    {
        var topic = _h.Image.Topics["t"];
        var partition = _h.Partition("t", partitionIndex);
        var response = await _h.Controller.AlterPartitionAsync(new AlterPartitionRequest
        {
            BrokerId = partition.Leader,
            BrokerEpoch = _h.Epochs[partition.Leader],
            Topics =
            [
                new()
                {
                    TopicId = topic.TopicId,
                    Partitions = [new() { PartitionIndex = partitionIndex, LeaderEpoch = partition.LeaderEpoch, PartitionEpoch = partition.PartitionEpoch, NewIsr = [.. isr(partition)] }],
                },
            ],
        }, 2, default);
        Assert.Equal(0, response.Topics[0].Partitions[0].ErrorCode);
    }

    public void Dispose() => _h.Dispose();
}
