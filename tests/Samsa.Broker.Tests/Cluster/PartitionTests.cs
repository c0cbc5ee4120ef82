using Samsa.Broker.Cluster;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Records;
using Samsa.Storage;

namespace Samsa.Broker.Tests.Cluster;

/// <summary>The one leader and leader-epoch check of <see cref="Partition"/>, error by error, in Kafka's order.</summary>
public sealed class PartitionTests : IDisposable
{
    private const int NodeId = 1;
    private static readonly Uuid TopicId = new(3, 4);
    private readonly TempDir _dir = new();
    private readonly PartitionLog _log;

    public PartitionTests() => _log = PartitionLog.Open(_dir.Path, "t", 0, TopicId, LogConfig.Default);

    public void Dispose()
    {
        _log.Close();
        _dir.Dispose();
    }

    private static PartitionImage State(int leader, int epoch) => new(0, leader, epoch, [NodeId, 2], [NodeId, 2], []);

    private static byte[] Batch()
    {
        using var builder = new RecordBatchBuilder();
        builder.Append(0, null, [1, 2, 3]);
        return builder.Build();
    }

    private Partition Led(int epoch = 5) => new("t", 0, TopicId, NodeId, State(NodeId, epoch), _log);

    [Fact]
    public void LeaderWithTheSameOrNoEpochPasses()
    {
        var partition = Led();
        Assert.Equal(ErrorCode.None, partition.CheckLeader(-1));
        Assert.Equal(ErrorCode.None, partition.CheckLeader(5, out var log, out var state));
        Assert.Same(_log, log);
        Assert.Equal(5, state!.LeaderEpoch);
    }

    [Fact]
    public void OlderEpochIsFencedNewerIsUnknown()
    {
        var partition = Led();
        Assert.Equal(ErrorCode.FencedLeaderEpoch, partition.CheckLeader(4, out var log, out _));
        Assert.Null(log);
        Assert.Equal(ErrorCode.UnknownLeaderEpoch, partition.CheckLeader(6));
    }

    [Fact]
    public void NotLeaderOrNoLogIsNotLeaderOrFollowerBeforeTheEpochCheck()
    {
        Assert.Equal(ErrorCode.NotLeaderOrFollower, new Partition("t", 0, TopicId, NodeId, State(2, 5), _log).CheckLeader(4));
        Assert.Equal(ErrorCode.NotLeaderOrFollower, new Partition("t", 0, TopicId, NodeId, State(NodeId, 5), log: null).CheckLeader(-1));
    }

    [Fact]
    public void PartitionGoneFromTheImageIsUnknownTopicOrPartition()
    {
        var partition = new Partition("t", 0, TopicId, NodeId, state: null, _log);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, partition.CheckLeader(5));
    }

    [Fact]
    public void HighWatermarkFollowsTheLogEndOnlyWhenThisNodeIsTheWholeIsr()
    {
        var alone = new PartitionImage(0, NodeId, 5, [NodeId], [NodeId], []);
        var partition = new Partition("t", 0, TopicId, NodeId, alone, _log);
        Assert.Equal(ErrorCode.None, partition.CheckLeader(-1, out var log, out var state));
        partition.AppendRecordsToLeader(log!, state!, Batch(), AppendOrigin.Client);
        Assert.Equal(1, partition.HighWatermark);

        var withFollower = Led();
        withFollower.CheckLeader(-1, out log, out state);
        withFollower.AppendRecordsToLeader(log!, state!, Batch(), AppendOrigin.Client);
        Assert.Equal(2, _log.LogEndOffset);
        Assert.Equal(1, withFollower.HighWatermark);
    }
}
