using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Metadata.Tests;

/// <summary>
/// <c>unclean.leader.election.enable</c> as Kafka's controller applies it: off, a partition whose in-sync replicas are
/// all fenced stays leaderless with its ISR; on (topic config, dynamic broker config or the static default), another
/// active replica leads it alone and RECOVERING, when the last ISR member is fenced, when a replica comes back, when
/// the config is turned on, and on the periodic pass; the leader ends RECOVERING with AlterPartition.
/// </summary>
public sealed class UncleanLeaderElectionTests : IDisposable
{
    private ControllerHarness _h = new();

    /// <summary>Brokers 1-3, topic "t" on [1, 2, 3] whose ISR the leader shrank to [1].</summary>
    private async Task<TopicImage> IsrOfOneAsync(ControllerOptions? options = null)
    {
        if (options is not null)
        {
            _h.Dispose();
            _h = new ControllerHarness(options);
        }
        await _h.StartBrokersAsync(1, 2, 3);
        var topic = await _h.CreateTopicAsync("t", [1, 2, 3]);
        var response = await _h.Controller.AlterPartitionAsync(new AlterPartitionRequest
        {
            BrokerId = 1,
            BrokerEpoch = _h.Epochs[1],
            Topics = [new() { TopicId = topic.TopicId, Partitions = [new() { PartitionIndex = 0, LeaderEpoch = 0, PartitionEpoch = 0, NewIsr = [1] }] }],
        }, 2, default);
        Assert.Equal(0, response.Topics[0].Partitions[0].ErrorCode);
        return topic;
    }

    [Fact]
    public async Task LastIsrMemberFenced_UncleanOff_LeavesThePartitionLeaderlessWithItsIsr()
    {
        await IsrOfOneAsync();
        await _h.FenceAsync(1);

        var partition = _h.Partition("t");
        Assert.Equal(-1, partition.Leader);
        Assert.Equal([1], partition.Isr.ToArray());
        Assert.Equal(PartitionImage.Recovered, partition.LeaderRecoveryState);
        Assert.Equal(0, await _h.Controller.ElectUncleanLeadersAsync(default));
        Assert.Equal(-1, _h.Partition("t").Leader);
    }

    [Fact]
    public async Task LastIsrMemberFenced_UncleanOnForTheTopic_ElectsAnActiveReplicaAloneAndRecovering()
    {
        await IsrOfOneAsync();
        await _h.SetTopicConfigAsync("t", "unclean.leader.election.enable", "true");
        var before = _h.Partition("t");

        await _h.FenceAsync(1);

        var partition = _h.Partition("t");
        Assert.Equal(2, partition.Leader);
        Assert.Equal([2], partition.Isr.ToArray());
        Assert.Equal(PartitionImage.Recovering, partition.LeaderRecoveryState);
        Assert.Equal(before.LeaderEpoch + 1, partition.LeaderEpoch);
    }

    [Fact]
    public async Task LastIsrMemberFenced_UncleanOnAsTheStaticBrokerDefault_Elects()
    {
        await IsrOfOneAsync(new ControllerOptions { UncleanLeaderElectionEnable = true });
        await _h.FenceAsync(1);
        Assert.Equal(2, _h.Partition("t").Leader);
    }

    [Fact]
    public async Task TopicConfigFalse_OverridesABrokerDefaultOfTrue()
    {
        await IsrOfOneAsync(new ControllerOptions { UncleanLeaderElectionEnable = true });
        await _h.SetTopicConfigAsync("t", "unclean.leader.election.enable", "false");
        await _h.FenceAsync(1);
        Assert.Equal(-1, _h.Partition("t").Leader);
    }

    [Fact]
    public async Task TurningTheTopicConfigOn_ElectsTheLeaderlessPartitionInTheSameCommit()
    {
        await IsrOfOneAsync();
        await _h.FenceAsync(1);
        Assert.Equal(-1, _h.Partition("t").Leader);

        await _h.SetTopicConfigAsync("t", "unclean.leader.election.enable", "true");

        var partition = _h.Partition("t");
        Assert.Equal(2, partition.Leader);
        Assert.Equal([2], partition.Isr.ToArray());
        Assert.Equal(PartitionImage.Recovering, partition.LeaderRecoveryState);
    }

    [Fact]
    public async Task TurningTheClusterWideBrokerConfigOn_Elects()
    {
        await IsrOfOneAsync();
        await _h.FenceAsync(1);
        var response = await _h.Controller.IncrementalAlterConfigsAsync(new IncrementalAlterConfigsRequest
        {
            Resources =
            [
                new()
                {
                    ResourceType = (sbyte)ConfigResourceType.Broker,
                    ResourceName = "",
                    Configs = [new() { Name = "unclean.leader.election.enable", Value = "true", ConfigOperation = 0 }],
                },
            ],
        }, default);
        Assert.Equal(0, response.Responses[0].ErrorCode);
        Assert.Equal(2, _h.Partition("t").Leader);
    }

    [Fact]
    public async Task AReplicaUnfenced_WhileTheIsrIsAllFenced_LeadsOnlyWhenUncleanIsOn()
    {
        await IsrOfOneAsync();
        await _h.FenceAsync(2);
        await _h.FenceAsync(3);
        await _h.FenceAsync(1);
        Assert.Equal(-1, _h.Partition("t").Leader);

        await _h.UnfenceAsync(2);
        Assert.Equal(-1, _h.Partition("t").Leader);

        // Clean: the ISR member comes back and leads, with the ISR it kept.
        await _h.UnfenceAsync(1);
        Assert.Equal(1, _h.Partition("t").Leader);
        Assert.Equal(PartitionImage.Recovered, _h.Partition("t").LeaderRecoveryState);
    }

    [Fact]
    public async Task AReplicaUnfenced_UncleanOn_LeadsAloneAndRecovering()
    {
        await IsrOfOneAsync();
        await _h.FenceAsync(2);
        await _h.FenceAsync(3);
        await _h.SetTopicConfigAsync("t", "unclean.leader.election.enable", "true");
        await _h.FenceAsync(1);
        Assert.Equal(-1, _h.Partition("t").Leader);

        await _h.UnfenceAsync(3);

        var partition = _h.Partition("t");
        Assert.Equal(3, partition.Leader);
        Assert.Equal([3], partition.Isr.ToArray());
        Assert.Equal(PartitionImage.Recovering, partition.LeaderRecoveryState);
    }

    [Fact]
    public async Task PeriodicPass_ElectsLeaderlessPartitionsOfTopicsThatAllowIt()
    {
        var topic = await IsrOfOneAsync();
        await _h.SetTopicConfigAsync("t", "unclean.leader.election.enable", "true");
        // A leaderless partition with active replicas, as after a failed election: only the periodic pass finds it.
        await _h.WriteAsync(MetadataRecord.Of(new PartitionChangeRecord { TopicId = topic.TopicId, PartitionId = 0, Leader = -1 }));
        Assert.Equal(-1, _h.Partition("t").Leader);

        Assert.Equal(1, await _h.Controller.ElectUncleanLeadersAsync(default));

        // Leader 1 is still in the ISR and active: a clean choice, so nothing is recovering.
        var partition = _h.Partition("t");
        Assert.Equal(1, partition.Leader);
        Assert.Equal(PartitionImage.Recovered, partition.LeaderRecoveryState);
        Assert.Equal(0, await _h.Controller.ElectUncleanLeadersAsync(default));
    }

    [Fact]
    public async Task PeriodicTask_RunsOnTheControllersClock()
    {
        await IsrOfOneAsync(new ControllerOptions { UncleanLeaderElectionInterval = TimeSpan.FromMinutes(5), FenceStaleBrokerInterval = TimeSpan.FromDays(1) });
        var topic = _h.Image.Topics["t"];
        // Written as records, so that nothing but the periodic pass acts on them.
        await _h.WriteAsync(
            MetadataRecord.Of(new ConfigRecord { ResourceType = (sbyte)ConfigResourceType.Topic, ResourceName = "t", Name = "unclean.leader.election.enable", Value = "true" }),
            MetadataRecord.Of(new PartitionChangeRecord { TopicId = topic.TopicId, PartitionId = 0, Leader = -1, Isr = [3] }),
            MetadataRecord.Of(new UnregisterBrokerRecord { BrokerId = 3, BrokerEpoch = _h.Epochs[3] }));
        Assert.Equal(-1, _h.Partition("t").Leader);

        _h.Controller.StartPeriodicTasks();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (_h.Partition("t").Leader == -1 && DateTime.UtcNow < deadline)
        {
            _h.Clock.Advance(TimeSpan.FromMinutes(1));
            await Task.Delay(20);
        }
        Assert.Equal(1, _h.Partition("t").Leader);
        Assert.Equal(PartitionImage.Recovering, _h.Partition("t").LeaderRecoveryState);
    }

    [Fact]
    public async Task RecoveringLeader_EndsRecoveryWithAlterPartition()
    {
        var topic = await IsrOfOneAsync();
        await _h.SetTopicConfigAsync("t", "unclean.leader.election.enable", "true");
        await _h.FenceAsync(1);
        var recovering = _h.Partition("t");
        Assert.Equal((2, PartitionImage.Recovering), (recovering.Leader, recovering.LeaderRecoveryState));

        AlterPartitionRequest Request(int[] isr, sbyte state) => new()
        {
            BrokerId = 2,
            BrokerEpoch = _h.Epochs[2],
            Topics =
            [
                new()
                {
                    TopicId = topic.TopicId,
                    Partitions = [new() { PartitionIndex = 0, LeaderEpoch = recovering.LeaderEpoch, PartitionEpoch = _h.Partition("t").PartitionEpoch, NewIsr = [.. isr], LeaderRecoveryState = state }],
                },
            ],
        };

        // Still recovering, the ISR cannot grow.
        var refused = await _h.Controller.AlterPartitionAsync(Request([2, 3], 1), 2, default);
        Assert.Equal((short)ErrorCode.InvalidRequest, refused.Topics[0].Partitions[0].ErrorCode);

        var recovered = await _h.Controller.AlterPartitionAsync(Request([2], 0), 2, default);
        var result = recovered.Topics[0].Partitions[0];
        Assert.Equal((0, (sbyte)0, 2), (result.ErrorCode, result.LeaderRecoveryState, result.LeaderId));
        Assert.Equal(PartitionImage.Recovered, _h.Partition("t").LeaderRecoveryState);
        Assert.Equal(recovering.LeaderEpoch, _h.Partition("t").LeaderEpoch);
    }

    [Fact]
    public async Task RecoveryStateAndReassignmentLists_SurviveASnapshot()
    {
        await IsrOfOneAsync();
        await _h.SetTopicConfigAsync("t", "unclean.leader.election.enable", "true");
        await _h.FenceAsync(1);
        var image = _h.Image;

        var delta = new MetadataDelta(MetadataImage.Empty(image.ClusterId));
        var offset = 0L;
        foreach (var record in MetadataSnapshots.Records(image))
        {
            delta.Replay(record, offset++);
        }
        var replayed = delta.Apply().Partition("t", 0)!;
        Assert.Equal(PartitionImage.Recovering, replayed.LeaderRecoveryState);
        Assert.Equal(_h.Partition("t").LeaderEpoch, replayed.LeaderEpoch);
    }

    public void Dispose() => _h.Dispose();
}
