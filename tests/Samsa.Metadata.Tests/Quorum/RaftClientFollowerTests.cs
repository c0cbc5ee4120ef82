using Samsa.Metadata.Quorum;
using Samsa.Metadata.Tests.Quorum.Simulation;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Metadata.Tests.Quorum;

/// <summary>One follower driven message by message: the cases the simulation found, pinned down.</summary>
public class RaftClientFollowerTests
{
    private sealed class CapturingChannel : IRaftNetworkChannel
    {
        public List<RaftMessage> Sent { get; } = [];

        public void Send(RaftMessage message) => Sent.Add(message);
    }

    private static void Append(MockLog log, int epoch, int count)
    {
        for (var i = 0; i < count; i++)
        {
            log.AppendAsLeader(RaftRpc.DataBatch([BitConverter.GetBytes((long)log.EndOffset)], 0), epoch);
        }
    }

    private static FetchResponse Diverging(int leaderEpoch, int divergingEpoch, long endOffset, long highWatermark) => new()
    {
        Responses =
        [
            new()
            {
                TopicId = Uuid.MetadataTopicId,
                Partitions =
                [
                    new()
                    {
                        HighWatermark = highWatermark,
                        DivergingEpoch = new() { Epoch = divergingEpoch, EndOffset = endOffset },
                        CurrentLeader = new() { LeaderId = 2, LeaderEpoch = leaderEpoch },
                        Records = ReadOnlyMemory<byte>.Empty,
                    },
                ],
            },
        ],
    };

    /// <summary>
    /// The leader has epochs 1, 5, 6, 8; this follower 1, 5, 7 (its epoch-5 entry at offset 3 is stale: the leader's
    /// offset 3 is epoch 6). The first truncation, to the end of its own epoch 5, keeps that stale entry; a high
    /// watermark taken from that answer would have called it committed (chaos seed 57120 of the 100,000-seed soak).
    /// </summary>
    [Fact]
    public void DivergingAnswer_TruncatesInRounds_AndGivesNoHighWatermark()
    {
        var log = new MockLog();
        Append(log, 1, 2);
        Append(log, 5, 2);
        Append(log, 7, 1);
        log.Flush();
        var store = new MemoryQuorumStateStore();
        store.Write(new ElectionState(8, 2, -1));
        var channel = new CapturingChannel();
        var time = new SimulatedTime();
        var client = new RaftClient(3, new QuorumConfig { Voters = new HashSet<int> { 1, 2, 3 } }, log, store, channel, time, new Random(7));
        client.Initialize();
        Assert.IsType<FollowerState>(client.State);

        client.Poll();
        var fetch = Assert.IsType<FetchRequest>(Assert.Single(channel.Sent).Body);
        Assert.Equal(5, fetch.Topics[0].Partitions[0].FetchOffset);
        Assert.Equal(7, fetch.Topics[0].Partitions[0].LastFetchedEpoch);

        // Leader: epoch <= 7 is its epoch 6, which ends at 5.
        client.Deliver(new RaftMessage { Source = 2, Destination = 3, CorrelationId = channel.Sent[0].CorrelationId, IsRequest = false, Body = Diverging(8, 6, 5, 5) });
        time.NowMs += 1;
        client.Poll();
        Assert.Equal(4, log.EndOffset); // cut to the end of our epoch 5, which still holds the stale offset 3
        Assert.Equal(-1, client.HighWatermark);

        var second = Assert.IsType<FetchRequest>(channel.Sent[^1].Body);
        Assert.Equal(4, second.Topics[0].Partitions[0].FetchOffset);
        Assert.Equal(5, second.Topics[0].Partitions[0].LastFetchedEpoch);

        // Leader: its epoch 5 ends at 3.
        client.Deliver(new RaftMessage { Source = 2, Destination = 3, CorrelationId = channel.Sent[^1].CorrelationId, IsRequest = false, Body = Diverging(8, 5, 3, 5) });
        time.NowMs += 1;
        client.Poll();
        Assert.Equal(3, log.EndOffset);
        Assert.Equal(-1, client.HighWatermark);
    }
}
