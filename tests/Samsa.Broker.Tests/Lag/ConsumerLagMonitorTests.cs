using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Broker.Lag;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;
using GroupRequests = Samsa.Broker.Tests.Groups.Groups;

namespace Samsa.Broker.Tests.Lag;

/// <summary>
/// The lag monitor over a real in-process broker: offsets committed over the wire, records produced over the wire,
/// and each sample's lag and Burrow status read back.
/// </summary>
public sealed class ConsumerLagMonitorTests
{
    private const string Topic = "lagged";

    [Fact]
    public async Task Monitor_ReportsLagPerGroupAndPartition_AndRatesCaughtUpStoppedAndFallingBehindGroups()
    {
        await using var broker = await TestBroker.StartAsync(GroupRequests.FastConfig);
        await using var client = await TestClient.ConnectAsync(broker.Port);
        await GroupRequests.CreateTopic(broker, client, Topic);
        await ProduceAsync(client, 10);
        await GroupRequests.FindCoordinator(broker, client, "caught-up");
        await using var monitor = new ConsumerLagMonitor(broker.Broker.Groups!, broker.Broker.Replicas!, TimeProvider.System, NullLogger.Instance,
            intervals: 3, minDistanceMs: 100);

        Assert.Equal(ErrorCode.None, await CommitWhenReadyAsync(client, "caught-up", 10));
        Assert.Equal(ErrorCode.None, await CommitWhenReadyAsync(client, "stopped", 4));
        await Task.Delay(50);
        await monitor.SampleAsync(CancellationToken.None);

        var caughtUp = monitor.Current["caught-up"];
        Assert.Equal((LagStatus.Ok, 0L), (caughtUp.Status, caughtUp.TotalLag));
        Assert.Equal(new PartitionLag(Topic, 0, 10, 10, 0, LagStatus.Ok, 1 / 3.0), caughtUp.Partitions.Single());
        // Behind, and no commit for longer than its window (one commit) spans.
        var stopped = monitor.Current["stopped"];
        Assert.Equal((LagStatus.Err, 6L), (stopped.Status, stopped.TotalLag));
        Assert.Equal(LagStatus.Stop, stopped.Partitions.Single().Status);

        // A consumer that commits steadily but slower than the producer: its offset moves, its lag never falls.
        for (var i = 1; i <= 3; i++)
        {
            await ProduceAsync(client, 5);
            Assert.Equal(ErrorCode.None, await CommitWhenReadyAsync(client, "behind", 10 + (2 * i)));
            await monitor.SampleAsync(CancellationToken.None);
            await Task.Delay(120);
        }
        await ProduceAsync(client, 5);
        Assert.Equal(ErrorCode.None, await CommitWhenReadyAsync(client, "behind", 18));
        await monitor.SampleAsync(CancellationToken.None);
        var behind = monitor.Current["behind"];
        Assert.Equal(LagStatus.Warn, behind.Partitions.Single().Status);
        Assert.Equal((LagStatus.Warn, 30L - 18), (behind.Status, behind.TotalLag));
        Assert.Equal(30, behind.Partitions.Single().LogEndOffset);
    }

    private static async Task<ErrorCode> CommitWhenReadyAsync(TestClient client, string group, long offset)
    {
        var error = ErrorCode.None;
        for (var attempt = 0; attempt < 200; attempt++)
        {
            error = await GroupRequests.CommitAsync(client, GroupRequests.Commit(group, Topic, 0, offset));
            if (error is not (ErrorCode.CoordinatorLoadInProgress or ErrorCode.NotCoordinator or ErrorCode.CoordinatorNotAvailable))
            {
                return error;
            }
            await Task.Delay(50);
        }
        return error;
    }

    private static async Task ProduceAsync(TestClient client, int records)
    {
        using var builder = new RecordBatchBuilder();
        for (var i = 0; i < records; i++)
        {
            builder.Append(0, null, BitConverter.GetBytes(i));
        }
        var (_, response) = await client.RequestAsync<ProduceResponse>(new ProduceRequest
        {
            Acks = -1,
            TimeoutMs = 5000,
            TopicData = [new() { Name = Topic, PartitionData = [new() { Index = 0, Records = builder.Build() }] }],
        }, 9);
        Assert.Equal(0, response.Responses[0].PartitionResponses[0].ErrorCode);
    }
}
