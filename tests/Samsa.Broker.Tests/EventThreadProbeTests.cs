using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Samsa.Broker.Handlers;
using Samsa.Broker.Network;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;
using GroupRequests = Samsa.Broker.Tests.Groups.Groups;

namespace Samsa.Broker.Tests;

/// <summary>
/// Issue 12's runtime check, beside the call-graph test in Samsa.Architecture.Tests: a real in-process broker with
/// the dispatcher's probe on, a small load of every kind of request that writes (topics, produce, commits, group
/// joins, DeleteRecords), and a limit on how long any handler held its calling thread before its first wait. On a
/// socket event thread that is how long every other connection of that thread waited.
/// </summary>
public class EventThreadProbeTests
{
    /// <summary>
    /// Work that stays on the calling thread is decoding, validation and page-cache writes, microseconds; an fsync
    /// or a file created there takes milliseconds to seconds. The limit is the broker's own warning threshold,
    /// which leaves room for a loaded 2-core machine descheduling the thread.
    /// </summary>
    private static readonly TimeSpan Limit = RequestDispatcher.HeldThreadWarning;

    [Fact]
    public async Task RequestHandlers_UnderLoad_HoldTheirThreadBriefly()
    {
        await using var broker = await TestBroker.StartAsync(GroupRequests.FastConfig);
        await using var client = await broker.ConnectAsync();
        // The first append of a leader epoch writes its checkpoint (accepted for now: see the allow-list in
        // EventThreadBlockingTests); do it before the probe starts.
        await CreateTopicAsync(broker, client, "warm");
        await ProduceAsync(client, "warm", 0);

        // One round unmeasured first: the first request of each kind also pays for JIT compilation, which is not
        // what this looks for.
        await RunLoadAsync(broker, client, "warmup");
        var longest = new ConcurrentDictionary<ApiKey, TimeSpan>();
        broker.Broker.Dispatcher.ThreadHeldObserver = (key, held) => longest.AddOrUpdate(key, held, (_, before) => held > before ? held : before);
        await RunLoadAsync(broker, client, "probe");
        broker.Broker.Dispatcher.ThreadHeldObserver = null;
        ApiKey[] exercised = [ApiKey.CreateTopics, ApiKey.Produce, ApiKey.FindCoordinator, ApiKey.OffsetCommit, ApiKey.JoinGroup, ApiKey.SyncGroup,
            ApiKey.Heartbeat, ApiKey.DeleteRecords, ApiKey.DeleteTopics];
        Assert.All(exercised, key => Assert.True(longest.ContainsKey(key), $"{key} was not probed"));
        var over = longest.Where(e => e.Value > Limit).Select(e => $"{e.Key}: {e.Value.TotalMilliseconds:0.0} ms").ToList();
        Assert.True(over.Count == 0, $"Handlers held their thread over {Limit.TotalMilliseconds} ms: {string.Join(", ", over)}");
    }

    /// <summary>Topics, produces, a coordinator, commits, a group of one, DeleteRecords and DeleteTopics.</summary>
    private static async Task RunLoadAsync(TestBroker broker, TestClient client, string round)
    {
        var start = broker.Broker.Logs.Get("warm", 0)!.LogEndOffset;
        for (var t = 0; t < 5; t++)
        {
            await CreateTopicAsync(broker, client, $"{round}-{t}");
        }
        for (var i = 0; i < 200; i++)
        {
            await ProduceAsync(client, "warm", i);
        }
        var (_, found) = await client.RequestAsync<FindCoordinatorResponse>(new FindCoordinatorRequest { Key = $"{round}-group", KeyType = 0 }, 3);
        Assert.Equal(0, found.ErrorCode);
        await WaitForCoordinatorAsync(client, $"{round}-simple");
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(ErrorCode.None, await GroupRequests.CommitAsync(client, GroupRequests.Commit($"{round}-simple", "warm", 0, i + start)));
        }
        var (memberId, generation) = await GroupRequests.StableGroupOfOne(client, $"{round}-group");
        Assert.Equal(ErrorCode.None, await GroupRequests.HeartbeatAsync(client, $"{round}-group", generation, memberId));
        var (_, deleted) = await client.RequestAsync<DeleteRecordsResponse>(new DeleteRecordsRequest
        {
            TimeoutMs = 5000,
            Topics = [new() { Name = "warm", Partitions = [new() { PartitionIndex = 0, Offset = start + 100 }] }],
        }, 2);
        Assert.Equal(0, deleted.Topics[0].Partitions[0].ErrorCode);
        var (_, deletedTopics) = await client.RequestAsync<DeleteTopicsResponse>(new DeleteTopicsRequest { TimeoutMs = 5000, TopicNames = [$"{round}-0"] }, 5);
        Assert.Equal(0, deletedTopics.Responses[0].ErrorCode);
    }

    /// <summary>The probe can fail: a handler that sleeps before its first wait is measured and logged.</summary>
    [Fact]
    public async Task Probe_CatchesAHandlerThatBlocks()
    {
        var logs = new CapturingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs));
        var dispatcher = new RequestDispatcher([new SleepingDescribeClusterHandler()], loggerFactory);
        var held = TimeSpan.Zero;
        dispatcher.ThreadHeldObserver = (_, t) => held = t;
        var frame = TestClient.EncodeRequest(new DescribeClusterRequest(), 0, 1);
        var connection = new ConnectionContext("probe", "PLAINTEXT", Samsa.Broker.Config.SecurityProtocol.Plaintext, null);

        var response = await dispatcher.HandleAsync(connection, frame.AsMemory(4), CancellationToken.None);

        Assert.NotNull(response);
        Assert.True(held >= TimeSpan.FromMilliseconds(150) && held > Limit, $"probe measured {held.TotalMilliseconds} ms");
        Assert.Contains(logs.Lines, l => l.EventId == 303 && l.Level == LogLevel.Warning);
    }

    /// <summary>A planted blocking handler: sleeps on the calling thread, as an fsync would.</summary>
    private sealed class SleepingDescribeClusterHandler : ApiHandler<DescribeClusterRequest, DescribeClusterResponse>
    {
        public override ApiKey ApiKey => ApiKey.DescribeCluster;

        public override short MinVersion => 0;

        public override short MaxVersion => 1;

        protected override async ValueTask<DescribeClusterResponse?> HandleAsync(RequestContext context, DescribeClusterRequest request, CancellationToken cancellationToken)
        {
            Thread.Sleep(200);
            await Task.Yield();
            return new DescribeClusterResponse();
        }

        protected override DescribeClusterResponse ErrorResponse(RequestContext context, DescribeClusterRequest request, ErrorCode error) => new() { ErrorCode = (short)error };
    }

    private static async Task CreateTopicAsync(TestBroker broker, TestClient client, string name)
    {
        var (_, response) = await client.RequestAsync<CreateTopicsResponse>(new CreateTopicsRequest
        {
            timeoutMs = 10000,
            Topics = [new() { Name = name, NumPartitions = 1, ReplicationFactor = 1 }],
        }, 7);
        Assert.Equal(0, response.Topics[0].ErrorCode);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (broker.Broker.Logs.Get(name, 0) is null)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the log of {name} was not opened");
            await Task.Delay(10);
        }
    }

    private static async Task ProduceAsync(TestClient client, string topic, int i)
    {
        using var builder = new RecordBatchBuilder();
        builder.Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null, BitConverter.GetBytes(i));
        var (_, response) = await client.RequestAsync<ProduceResponse>(new ProduceRequest
        {
            Acks = -1,
            TimeoutMs = 5000,
            TopicData = [new() { Name = topic, PartitionData = [new() { Index = 0, Records = builder.Build() }] }],
        }, 9);
        Assert.Equal(0, response.Responses[0].PartitionResponses[0].ErrorCode);
    }

    /// <summary>The offsets topic's shards load in the background after it is created; commits wait for theirs.</summary>
    private static async Task WaitForCoordinatorAsync(TestClient client, string groupId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (await GroupRequests.FetchAsync(client, groupId, "warm", 0) is var (error, _) && error != ErrorCode.None)
        {
            Assert.True(DateTime.UtcNow < deadline, $"coordinator of {groupId} not ready: {error}");
            await Task.Delay(20);
        }
    }
}
