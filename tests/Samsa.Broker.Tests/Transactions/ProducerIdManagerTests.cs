using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Broker.Transactions;
using Samsa.Metadata.Controller;
using Samsa.Protocol;

namespace Samsa.Broker.Tests.Transactions;

/// <summary>The broker's producer id manager against a scripted controller (Kafka's RPCProducerIdManager behaviour).</summary>
public class ProducerIdManagerTests
{
    /// <summary>A controller that answers each allocation when the test says so, with blocks of 1000 in order.</summary>
    private sealed class ScriptedController
    {
        private readonly List<TaskCompletionSource<ProducerIdsAllocation>> _requests = [];
        private long _next;

        public int Requests { get { lock (_requests) { return _requests.Count; } } }

        public Task<ProducerIdsAllocation> Allocate(CancellationToken _)
        {
            var request = new TaskCompletionSource<ProducerIdsAllocation>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_requests)
            {
                _requests.Add(request);
            }
            return request.Task;
        }

        public void Grant(int index)
        {
            var block = new ProducerIdsBlock(1, _next, ProducerIdControlManager.BlockSize);
            _next += ProducerIdControlManager.BlockSize;
            Request(index).SetResult(new ProducerIdsAllocation(block, ApiError.None));
        }

        public void Refuse(int index) => Request(index).SetResult(new ProducerIdsAllocation(default, new ApiError(ErrorCode.StaleBrokerEpoch, "no")));

        public void Fail(int index) => Request(index).SetException(new IOException("disk full"));

        private TaskCompletionSource<ProducerIdsAllocation> Request(int index)
        {
            lock (_requests)
            {
                return _requests[index];
            }
        }
    }

    private static async Task Eventually(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }
        Assert.True(condition());
    }

    [Fact]
    public async Task FirstId_WaitsForTheFirstBlock_WithoutBlockingTheCaller()
    {
        var controller = new ScriptedController();
        var manager = new ProducerIdManager(controller.Allocate, NullLogger.Instance);
        var first = manager.GenerateProducerIdAsync(default);
        await Eventually(() => controller.Requests == 1);
        Assert.False(first.IsCompleted);
        controller.Grant(0);
        Assert.Equal(0, await first);
        Assert.Equal(1, await manager.GenerateProducerIdAsync(default));
    }

    [Fact]
    public async Task NextBlock_IsAskedForAt90Percent_AndUsedWithoutWaiting_WhenTheCurrentIsUsedUp()
    {
        var controller = new ScriptedController();
        var manager = new ProducerIdManager(controller.Allocate, NullLogger.Instance);
        var first = manager.GenerateProducerIdAsync(default);
        await Eventually(() => controller.Requests == 1);
        controller.Grant(0);
        await first;
        for (var id = 1; id < 900; id++)
        {
            Assert.Equal(id, await manager.GenerateProducerIdAsync(default));
        }
        Assert.Equal(1, controller.Requests);
        Assert.Equal(900, await manager.GenerateProducerIdAsync(default));
        await Eventually(() => controller.Requests == 2);
        controller.Grant(1);
        for (var id = 901; id < 1000; id++)
        {
            Assert.Equal(id, await manager.GenerateProducerIdAsync(default));
        }
        await Task.Delay(50);
        var next = manager.GenerateProducerIdAsync(default);
        Assert.True(next.IsCompletedSuccessfully);
        Assert.Equal(1000, await next);
        Assert.Equal(2, controller.Requests);
    }

    [Fact]
    public async Task ConcurrentCallers_ShareOneRequest_AndGetDistinctIds()
    {
        var controller = new ScriptedController();
        var manager = new ProducerIdManager(controller.Allocate, NullLogger.Instance);
        var waiting = Enumerable.Range(0, 20).Select(_ => manager.GenerateProducerIdAsync(default).AsTask()).ToList();
        await Eventually(() => controller.Requests == 1);
        controller.Grant(0);
        var ids = await Task.WhenAll(waiting);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), ids.Order());
        Assert.Equal(1, controller.Requests);
    }

    [Fact]
    public async Task RefusedOrFailedAllocation_IsUnavailable_AndTheNextCallerAsksAgain()
    {
        var controller = new ScriptedController();
        var manager = new ProducerIdManager(controller.Allocate, NullLogger.Instance);
        var refused = manager.GenerateProducerIdAsync(default);
        await Eventually(() => controller.Requests == 1);
        controller.Refuse(0);
        await Assert.ThrowsAsync<ProducerIdsUnavailableException>(async () => await refused);

        var failed = manager.GenerateProducerIdAsync(default);
        await Eventually(() => controller.Requests == 2);
        controller.Fail(1);
        await Assert.ThrowsAsync<ProducerIdsUnavailableException>(async () => await failed);

        var granted = manager.GenerateProducerIdAsync(default);
        await Eventually(() => controller.Requests == 3);
        controller.Grant(2);
        Assert.Equal(0, await granted);
    }

    [Fact]
    public async Task ACancelledCaller_StopsWaiting_ButTheBlockStillArrivesForTheNext()
    {
        var controller = new ScriptedController();
        var manager = new ProducerIdManager(controller.Allocate, NullLogger.Instance);
        using var cancel = new CancellationTokenSource();
        var cancelled = manager.GenerateProducerIdAsync(cancel.Token);
        await Eventually(() => controller.Requests == 1);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await cancelled);
        controller.Grant(0);
        await Task.Delay(50);
        Assert.Equal(0, await manager.GenerateProducerIdAsync(default));
        Assert.Equal(1, controller.Requests);
    }
}
