using Microsoft.Extensions.Time.Testing;
using Samsa.Broker.Replication;

namespace Samsa.Broker.Tests.Replication;

public class DelayedOperationPurgatoryTests
{
    /// <summary>Completes when its shared counter reaches a target; records how it ended.</summary>
    private sealed class CountingOperation(TimeSpan delay, Func<int> current, int target) : DelayedOperation(delay)
    {
        public int Completions;
        public bool Expired;

        public override bool TryComplete() => current() >= target && ForceComplete();

        protected override void OnComplete() => Interlocked.Increment(ref Completions);

        protected override void OnExpiration() => Expired = true;
    }

    private static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);

    [Fact]
    public void Operation_WhoseConditionHolds_CompletesAtOnce_AndIsNotWatched()
    {
        var clock = new FakeTimeProvider(Start);
        using var purgatory = new DelayedOperationPurgatory<string, CountingOperation>("Produce", clock);
        var op = new CountingOperation(TimeSpan.FromSeconds(5), () => 1, 1);
        Assert.True(purgatory.TryCompleteElseWatch(op, ["t-0"]));
        Assert.Equal(1, op.Completions);
        Assert.Equal(0, purgatory.Watched("t-0"));
        Assert.Equal(0, purgatory.Pending);
    }

    [Fact]
    public void WatchedOperation_IsCompletedByTheEventOnItsKey_NotByOthers()
    {
        var clock = new FakeTimeProvider(Start);
        using var purgatory = new DelayedOperationPurgatory<string, CountingOperation>("Fetch", clock);
        var bytes = 0;
        var op = new CountingOperation(TimeSpan.FromSeconds(5), () => bytes, 100);
        Assert.False(purgatory.TryCompleteElseWatch(op, ["t-0", "t-1"]));
        bytes = 100;
        Assert.Equal(0, purgatory.CheckAndComplete("other-0"));
        Assert.Equal(0, op.Completions);
        Assert.Equal(1, purgatory.CheckAndComplete("t-1"));
        Assert.Equal(1, op.Completions);
        Assert.False(op.Expired);
        // Already complete: a later event on the other key neither completes it again nor keeps it watched.
        Assert.Equal(0, purgatory.CheckAndComplete("t-0"));
        Assert.Equal(1, op.Completions);
        Assert.Equal(0, purgatory.Watched("t-0"));
    }

    [Fact]
    public void Operation_ExpiresAtItsDeadline_Once()
    {
        var clock = new FakeTimeProvider(Start);
        using var purgatory = new DelayedOperationPurgatory<string, CountingOperation>("Fetch", clock);
        var op = new CountingOperation(TimeSpan.FromMilliseconds(500), () => 0, 1);
        purgatory.TryCompleteElseWatch(op, ["t-0"]);
        clock.Advance(TimeSpan.FromMilliseconds(499));
        Assert.Equal(0, op.Completions);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(op.Expired);
        Assert.Equal(1, op.Completions);
        Assert.Equal(0, purgatory.Pending);
        Assert.Equal(0, purgatory.Watched("t-0"));
    }

    [Fact]
    public void ManyOperations_ShareOneTimer_AndExpireInDeadlineOrder()
    {
        var clock = new FakeTimeProvider(Start);
        using var purgatory = new DelayedOperationPurgatory<int, CountingOperation>("Fetch", clock);
        var ops = Enumerable.Range(1, 1000).Select(i => new CountingOperation(TimeSpan.FromMilliseconds(i), () => 0, 1)).ToList();
        foreach (var (op, i) in ops.Select((o, i) => (o, i)))
        {
            purgatory.TryCompleteElseWatch(op, [i % 7]);
        }
        clock.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal(500, ops.Count(o => o.Expired));
        Assert.All(ops.Take(500), o => Assert.True(o.Expired));
        clock.Advance(TimeSpan.FromMilliseconds(500));
        Assert.All(ops, o => Assert.Equal(1, o.Completions));
    }

    [Fact]
    public async Task ConcurrentEventsAndExpiry_CompleteEachOperationExactlyOnce()
    {
        using var purgatory = new DelayedOperationPurgatory<int, CountingOperation>("Produce", TimeProvider.System);
        var counter = 0;
        var ops = Enumerable.Range(0, 2000).Select(i => new CountingOperation(TimeSpan.FromMilliseconds(i % 50), () => Volatile.Read(ref counter), 1 + (i % 300))).ToList();
        var watchers = Task.Run(() => Parallel.ForEach(ops, (op, _, i) => purgatory.TryCompleteElseWatch(op, [(int)(i % 10)])));
        var events = Task.Run(() =>
        {
            for (var i = 0; i < 300; i++)
            {
                Interlocked.Increment(ref counter);
                purgatory.CheckAndComplete(i % 10);
            }
        });
        await Task.WhenAll(watchers, events);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (ops.Any(o => !o.IsCompleted) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }
        Assert.All(ops, o => Assert.Equal(1, o.Completions));
    }

    [Fact]
    public void Dispose_CompletesEveryWaitingOperation()
    {
        var clock = new FakeTimeProvider(Start);
        var purgatory = new DelayedOperationPurgatory<string, CountingOperation>("Produce", clock);
        var op = new CountingOperation(TimeSpan.FromMinutes(1), () => 0, 1);
        purgatory.TryCompleteElseWatch(op, ["t-0"]);
        purgatory.Dispose();
        Assert.True(op.Expired);
        Assert.Equal(1, op.Completions);
    }
}
