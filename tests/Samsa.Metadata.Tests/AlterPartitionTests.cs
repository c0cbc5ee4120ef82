using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Metadata.Tests;

/// <summary>
/// AlterPartition decided by the controller from hand-built requests, every answer Kafka's
/// <c>ReplicationControlManagerTest</c> checks: ISR shrink and expansion, no change, each validation error in
/// Kafka's order, the v0-1 topic names, v3 broker epochs, and the end of RECOVERING.
/// </summary>
public sealed class AlterPartitionTests : IDisposable
{
    private readonly ControllerHarness _h = new();

    private async Task<TopicImage> ThreeBrokersOneTopicAsync()
    {
        await _h.StartBrokersAsync(1, 2, 3);
        return await _h.CreateTopicAsync("t", [1, 2, 3]);
    }

    /// <summary>A v2 request from the partition's leader with its current epochs, unless told otherwise.</summary>
    private AlterPartitionRequest Request(TopicImage topic, int[] newIsr, int? brokerId = null, long? brokerEpoch = null,
        int? leaderEpoch = null, int? partitionEpoch = null, int partitionIndex = 0, sbyte recoveryState = 0)
    {
        var partition = _h.Image.Topics[topic.Name].HasPartition(partitionIndex) ? _h.Partition(topic.Name, partitionIndex) : null;
        var leader = brokerId ?? partition!.Leader;
        return new AlterPartitionRequest
        {
            BrokerId = leader,
            BrokerEpoch = brokerEpoch ?? _h.Epochs[leader],
            Topics =
            [
                new()
                {
                    TopicName = topic.Name,
                    TopicId = topic.TopicId,
                    Partitions =
                    [
                        new()
                        {
                            PartitionIndex = partitionIndex,
                            LeaderEpoch = leaderEpoch ?? partition?.LeaderEpoch ?? 0,
                            PartitionEpoch = partitionEpoch ?? partition?.PartitionEpoch ?? 0,
                            NewIsr = [.. newIsr],
                            NewIsrWithEpochs = [.. newIsr.Select(id => new AlterPartitionRequest.BrokerState { BrokerId = id, BrokerEpoch = _h.Epochs.GetValueOrDefault(id, -1) })],
                            LeaderRecoveryState = recoveryState,
                        },
                    ],
                },
            ],
        };
    }

    private static AlterPartitionResponse.PartitionData Single(AlterPartitionResponse response)
    {
        Assert.Equal((short)ErrorCode.None, response.ErrorCode);
        return Assert.Single(Assert.Single(response.Topics).Partitions);
    }

    private async Task<ErrorCode> ErrorOfAsync(AlterPartitionRequest request, short version = 2) =>
        (ErrorCode)Single(await _h.Controller.AlterPartitionAsync(request, version, default)).ErrorCode;

    [Fact]
    public async Task AlterPartition_LeaderShrinksIsr_CommitsAndAnswersTheNewState()
    {
        var topic = await ThreeBrokersOneTopicAsync();
        var before = _h.Partition("t");

        var result = Single(await _h.Controller.AlterPartitionAsync(Request(topic, [1, 2]), 2, default));

        Assert.Equal((short)ErrorCode.None, result.ErrorCode);
        Assert.Equal([1, 2], result.Isr);
        Assert.Equal(1, result.LeaderId);
        Assert.Equal(before.LeaderEpoch, result.LeaderEpoch);
        Assert.Equal(before.PartitionEpoch + 1, result.PartitionEpoch);
        Assert.Equal(0, result.LeaderRecoveryState);
        var after = _h.Partition("t");
        Assert.Equal([1, 2], after.Isr.ToArray());
        Assert.Equal(result.PartitionEpoch, after.PartitionEpoch);
        Assert.Equal(before.LeaderEpoch, after.LeaderEpoch);
    }

    [Fact]
    public async Task AlterPartition_LeaderExpandsIsrWithBrokerEpochs_V3_Commits()
    {
        var topic = await ThreeBrokersOneTopicAsync();
        Single(await _h.Controller.AlterPartitionAsync(Request(topic, [1]), 3, default));

        var result = Single(await _h.Controller.AlterPartitionAsync(Request(topic, [1, 3]), 3, default));

        Assert.Equal((short)ErrorCode.None, result.ErrorCode);
        Assert.Equal([1, 3], result.Isr);
        Assert.Equal([1, 3], _h.Partition("t").Isr.ToArray());
        Assert.Equal(2, _h.Partition("t").PartitionEpoch);
    }

    [Fact]
    public async Task AlterPartition_SameIsr_AnswersTheCurrentStateWithoutWriting()
    {
        var topic = await ThreeBrokersOneTopicAsync();
        var end = _h.Log.EndOffset;

        var result = Single(await _h.Controller.AlterPartitionAsync(Request(topic, [1, 2, 3]), 2, default));

        Assert.Equal((short)ErrorCode.None, result.ErrorCode);
        Assert.Equal([1, 2, 3], result.Isr);
        Assert.Equal(0, result.PartitionEpoch);
        Assert.Equal(end, _h.Log.EndOffset);
    }

    [Fact]
    public async Task AlterPartition_V0ByTopicName_CommitsAndNamesTheTopic()
    {
        var topic = await ThreeBrokersOneTopicAsync();
        var request = Request(topic, [1, 3]);
        request.Topics[0].TopicId = Uuid.Zero;

        var response = await _h.Controller.AlterPartitionAsync(request, 0, default);

        Assert.Equal("t", response.Topics[0].TopicName);
        Assert.Equal([1, 3], Single(response).Isr);
        Assert.Equal([1, 3], _h.Partition("t").Isr.ToArray());
    }

    [Fact]
    public async Task AlterPartition_V0UnknownTopicName_IsUnknownTopicOrPartition()
    {
        var topic = await ThreeBrokersOneTopicAsync();
        var request = Request(topic, [1, 2]);
        request.Topics[0].TopicName = "nope";
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, await ErrorOfAsync(request, version: 1));
    }

    [Fact]
    public async Task AlterPartition_UnknownTopicId_IsUnknownTopicId()
    {
        var topic = await ThreeBrokersOneTopicAsync();
        var request = Request(topic, [1, 2]);
        request.Topics[0].TopicId = Uuid.Random();
        Assert.Equal(ErrorCode.UnknownTopicId, await ErrorOfAsync(request));
    }

    [Fact]
    public async Task AlterPartition_UnknownPartition_IsUnknownTopicOrPartition()
    {
        var topic = await ThreeBrokersOneTopicAsync();
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, await ErrorOfAsync(Request(topic, [1, 2], brokerId: 1, partitionIndex: 5)));
    }

    [Fact]
    public async Task AlterPartition_WrongBrokerEpoch_IsStaleBrokerEpochForTheWholeRequest()
    {
        var topic = await ThreeBrokersOneTopicAsync();
        var response = await _h.Controller.AlterPartitionAsync(Request(topic, [1, 2], brokerEpoch: _h.Epochs[1] + 100), 2, default);
        Assert.Equal((short)ErrorCode.StaleBrokerEpoch, response.ErrorCode);
        Assert.Empty(response.Topics);
        Assert.Equal([1, 2, 3], _h.Partition("t").Isr.ToArray());
    }

    [Fact]
    public async Task AlterPartition_UnregisteredRequester_IsStaleBrokerEpoch()
    {
        var topic = await ThreeBrokersOneTopicAsync();
        var response = await _h.Controller.AlterPartitionAsync(Request(topic, [1, 2], brokerId: 9, brokerEpoch: 5), 2, default);
        Assert.Equal((short)ErrorCode.StaleBrokerEpoch, response.ErrorCode);
    }

    [Fact]
    public async Task AlterPartition_RequesterIsNotTheLeader_IsInvalidRequestAsInKafka()
    {
        var topic = await ThreeBrokersOneTopicAsync();
        Assert.Equal(ErrorCode.InvalidRequest, await ErrorOfAsync(Request(topic, [1, 2], brokerId: 2)));
    }

    [Fact]
    public async Task AlterPartition_OlderLeaderEpoch_IsFencedLeaderEpoch()
    {
        var topic = await ThreeBrokersOneTopicAsync();
        await _h.FenceAsync(1);
        await _h.UnfenceAsync(1);
        var partition = _h.Partition("t");
        Assert.Equal(2, partition.Leader);
        Assert.Equal(ErrorCode.FencedLeaderEpoch, await ErrorOfAsync(Request(topic, [2], leaderEpoch: partition.LeaderEpoch - 1)));
    }

    [Fact]
    public async Task AlterPartition_NewerLeaderOrPartitionEpochThanTheController_IsNotController()
    {
        var topic = await ThreeBrokersOneTopicAsync();
        Assert.Equal(ErrorCode.NotController, await ErrorOfAsync(Request(topic, [1, 2], leaderEpoch: 5)));
        Assert.Equal(ErrorCode.NotController, await ErrorOfAsync(Request(topic, [1, 2], partitionEpoch: 5)));
    }

    [Fact]
    public async Task AlterPartition_OlderPartitionEpoch_IsInvalidUpdateVersion()
    {
        var topic = await ThreeBrokersOneTopicAsync();
        Single(await _h.Controller.AlterPartitionAsync(Request(topic, [1, 2]), 2, default));
        Assert.Equal(ErrorCode.InvalidUpdateVersion, await ErrorOfAsync(Request(topic, [1, 2, 3], partitionEpoch: 0)));
    }

    [Theory]
    [InlineData(new[] { 1, 2, 4 })]
    [InlineData(new[] { 2, 3 })]
    [InlineData(new[] { 1, 1, 2 })]
    public async Task AlterPartition_IsrWithANonReplicaWithoutTheLeaderOrWithDuplicates_IsInvalidRequest(int[] isr)
    {
        await _h.StartBrokersAsync(1, 2, 3, 4);
        var topic = await _h.CreateTopicAsync("t", [1, 2, 3]);
        Assert.Equal(ErrorCode.InvalidRequest, await ErrorOfAsync(Request(topic, isr)));
    }

    [Fact]
    public async Task AlterPartition_AddingAFencedReplica_IsIneligibleReplica()
    {
        var topic = await ThreeBrokersOneTopicAsync();
        await _h.FenceAsync(3);
        Assert.Equal([1, 2], _h.Partition("t").Isr.ToArray());
        Assert.Equal(ErrorCode.IneligibleReplica, await ErrorOfAsync(Request(topic, [1, 2, 3])));
    }

    [Fact]
    public async Task AlterPartition_AddingAReplicaInControlledShutdown_IsIneligibleReplica()
    {
        await _h.StartBrokersAsync(1, 2, 3);
        var topic = await _h.CreateTopicAsync("t", [1, 2, 3], [3, 1, 2]);
        var shutdown = await _h.HeartbeatAsync(3, wantShutDown: true);
        Assert.False(shutdown.ShouldShutDown);
        Assert.True(_h.Image.Brokers[3].InControlledShutdown);
        Assert.Equal([1, 2], _h.Partition("t").Isr.ToArray());
        Assert.Equal(ErrorCode.IneligibleReplica, await ErrorOfAsync(Request(topic, [1, 2, 3])));
    }

    [Fact]
    public async Task AlterPartition_AddingAnUnregisteredReplica_IsIneligibleReplica()
    {
        var topic = await ThreeBrokersOneTopicAsync();
        Single(await _h.Controller.AlterPartitionAsync(Request(topic, [1, 2]), 2, default));
        await _h.FenceAsync(3);
        await _h.WriteAsync(MetadataRecord.Of(new UnregisterBrokerRecord { BrokerId = 3, BrokerEpoch = _h.Epochs[3] }));
        Assert.False(_h.Image.Brokers.ContainsKey(3));
        Assert.Equal(ErrorCode.IneligibleReplica, await ErrorOfAsync(Request(topic, [1, 2, 3])));
    }

    [Fact]
    public async Task AlterPartition_V3MemberWithAnotherBrokerEpoch_IsIneligibleReplica()
    {
        var topic = await ThreeBrokersOneTopicAsync();
        Single(await _h.Controller.AlterPartitionAsync(Request(topic, [1, 2]), 3, default));
        var request = Request(topic, [1, 2, 3]);
        request.Topics[0].Partitions[0].NewIsrWithEpochs[2].BrokerEpoch = _h.Epochs[3] - 1;
        Assert.Equal(ErrorCode.IneligibleReplica, await ErrorOfAsync(request, version: 3));

        // -1 skips the check (a leader that does not know the epoch), and v2 carries no epochs at all.
        request.Topics[0].Partitions[0].NewIsrWithEpochs[2].BrokerEpoch = -1;
        Assert.Equal(ErrorCode.None, await ErrorOfAsync(request, version: 3));
    }

    [Fact]
    public async Task AlterPartition_RecoveringWithMoreThanOneMember_OrBackFromRecovered_IsInvalidRequest()
    {
        var topic = await ThreeBrokersOneTopicAsync();
        Assert.Equal(ErrorCode.InvalidRequest, await ErrorOfAsync(Request(topic, [1, 2], recoveryState: 1), version: 1));
        Assert.Equal(ErrorCode.InvalidRequest, await ErrorOfAsync(Request(topic, [1], recoveryState: 1), version: 1));
    }

    [Fact]
    public async Task AlterPartition_OnePartitionFailing_DoesNotStopTheOthers()
    {
        await _h.StartBrokersAsync(1, 2, 3);
        var topic = await _h.CreateTopicAsync("t", [1, 2, 3], [1, 2, 3]);
        var request = Request(topic, [1, 2]);
        var second = Request(topic, [1, 3], partitionIndex: 1).Topics[0].Partitions[0];
        second.LeaderEpoch = 7;
        request.Topics[0].Partitions.Add(second);

        var response = await _h.Controller.AlterPartitionAsync(request, 2, default);

        var results = Assert.Single(response.Topics).Partitions;
        Assert.Equal((short)ErrorCode.None, results[0].ErrorCode);
        Assert.Equal((short)ErrorCode.NotController, results[1].ErrorCode);
        Assert.Equal([1, 2], _h.Partition("t", 0).Isr.ToArray());
        Assert.Equal([1, 2, 3], _h.Partition("t", 1).Isr.ToArray());
    }

    [Fact]
    public async Task AlterPartition_IsrHoldingEveryTargetReplica_CompletesTheReassignment()
    {
        await _h.StartBrokersAsync(1, 2, 3, 4);
        var topic = await _h.CreateTopicAsync("t", [1, 2, 3]);
        // A reassignment of [1, 2, 3] to [1, 2, 4] under way, as AlterPartitionReassignments leaves it.
        await _h.WriteAsync(MetadataRecord.Of(new PartitionChangeRecord
        {
            TopicId = topic.TopicId,
            PartitionId = 0,
            Replicas = [1, 2, 4, 3],
            AddingReplicas = [4],
            RemovingReplicas = [3],
        }));
        var before = _h.Partition("t");

        var result = Single(await _h.Controller.AlterPartitionAsync(Request(topic, [1, 2, 3, 4]), 2, default));

        Assert.Equal((short)ErrorCode.None, result.ErrorCode);
        Assert.Equal([1, 2, 4], result.Isr);
        var after = _h.Partition("t");
        Assert.Equal([1, 2, 4], after.Replicas.ToArray());
        Assert.Equal([1, 2, 4], after.Isr.ToArray());
        Assert.False(after.IsReassigning);
        // A replica left, so the leader epoch moves on although the leader stays.
        Assert.Equal((1, before.LeaderEpoch + 1), (after.Leader, after.LeaderEpoch));
    }

    [Fact]
    public async Task AlterPartition_CompletingAReassignmentThatRemovesTheLeader_IsNewLeaderElected()
    {
        await _h.StartBrokersAsync(1, 2, 3, 4);
        var topic = await _h.CreateTopicAsync("t", [1, 2, 3]);
        await _h.WriteAsync(MetadataRecord.Of(new PartitionChangeRecord
        {
            TopicId = topic.TopicId,
            PartitionId = 0,
            Replicas = [2, 3, 4, 1],
            AddingReplicas = [4],
            RemovingReplicas = [1],
        }));

        Assert.Equal(ErrorCode.NewLeaderElected, await ErrorOfAsync(Request(topic, [1, 2, 3, 4])));

        var after = _h.Partition("t");
        Assert.Equal(2, after.Leader);
        Assert.Equal([2, 3, 4], after.Replicas.ToArray());
        Assert.Equal([2, 3, 4], after.Isr.ToArray());
    }

    public void Dispose() => _h.Dispose();
}
