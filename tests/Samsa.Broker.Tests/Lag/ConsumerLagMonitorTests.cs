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

    [Fact]
    public async Task Monitor_ReportsLagSeconds_AsTheAgeOfTheRecordAtTheCommittedOffset()
    {
        await using var broker = await TestBroker.StartAsync(GroupRequests.FastConfig);
        await using var client = await TestClient.ConnectAsync(broker.Port);
        await GroupRequests.CreateTopic(broker, client, Topic);
        // Ten records created 100 s, 90 s, ... 10 s ago (CreateTime, as the producer set it).
        var start = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() - 100_000;
        await ProduceAsync(client, 10, i => start + (i * 10_000));
        await GroupRequests.FindCoordinator(broker, client, "aged");
        await using var monitor = new ConsumerLagMonitor(broker.Broker.Groups!, broker.Broker.Replicas!, TimeProvider.System, NullLogger.Instance);

        Assert.Equal(ErrorCode.None, await CommitWhenReadyAsync(client, "aged", 4));
        Assert.Equal(ErrorCode.None, await CommitWhenReadyAsync(client, "done", 10));
        var before = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();
        await monitor.SampleAsync(CancellationToken.None);
        var after = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();

        // The next record "aged" reads is offset 4, created at start + 40 s.
        var aged = monitor.Current["aged"];
        var seconds = aged.Partitions.Single().LagSeconds;
        Assert.InRange(seconds, (before - (start + 40_000)) / 1000.0, (after - (start + 40_000)) / 1000.0);
        Assert.Equal(seconds, aged.MaxLagSeconds);
        Assert.Equal(0, monitor.Current["done"].Partitions.Single().LagSeconds);
        Assert.Equal(0, monitor.Current["done"].MaxLagSeconds);

        // Moving the commit on moves the age to the next unread record's; caught up, it is 0.
        Assert.Equal(ErrorCode.None, await CommitWhenReadyAsync(client, "aged", 9));
        before = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();
        await monitor.SampleAsync(CancellationToken.None);
        after = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();
        Assert.InRange(monitor.Current["aged"].MaxLagSeconds, (before - (start + 90_000)) / 1000.0, (after - (start + 90_000)) / 1000.0);
        Assert.Equal(ErrorCode.None, await CommitWhenReadyAsync(client, "aged", 10));
        await monitor.SampleAsync(CancellationToken.None);
        Assert.Equal(0, monitor.Current["aged"].MaxLagSeconds);
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

    private static async Task ProduceAsync(TestClient client, int records, Func<int, long>? timestamp = null)
    {
        using var builder = new RecordBatchBuilder();
        for (var i = 0; i < records; i++)
        {
            builder.Append(timestamp?.Invoke(i) ?? 0, null, BitConverter.GetBytes(i));
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
