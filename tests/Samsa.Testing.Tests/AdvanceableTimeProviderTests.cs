namespace Samsa.Testing.Tests;

/// <summary>The cluster's advanceable clock: it keeps running, and a jump fires the timers it passed at once.</summary>
public sealed class AdvanceableTimeProviderTests
{
    [Fact]
    public async Task Advance_FiresATimerItPassed_AndLeavesALaterOneWaiting()
    {
        var clock = new AdvanceableTimeProvider();
        var passed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var later = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var hour = clock.CreateTimer(_ => passed.TrySetResult(), null, TimeSpan.FromHours(1), Timeout.InfiniteTimeSpan);
        using var day = clock.CreateTimer(_ => later.TrySetResult(), null, TimeSpan.FromDays(1), Timeout.InfiniteTimeSpan);

        clock.Advance(TimeSpan.FromHours(2));
        await passed.Task.WaitAsync(TimeSpan.FromSeconds(5));
        await Task.Delay(100);
        Assert.False(later.Task.IsCompleted, "a timer a day away fired after a two-hour jump");
        Assert.Equal(TimeSpan.FromHours(2), clock.Offset);
    }

    [Fact]
    public async Task Advance_FiresAPeriodicTimer_AndTimeKeepsRunningBetweenJumps()
    {
        var clock = new AdvanceableTimeProvider();
        var ticks = 0;
        var ticked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var minute = clock.CreateTimer(_ =>
        {
            Interlocked.Increment(ref ticks);
            ticked.TrySetResult();
        }, null, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        var before = clock.GetTimestamp();
        await Task.Delay(50);
        Assert.True(clock.GetElapsedTime(before) >= TimeSpan.FromMilliseconds(40), "the clock stood still");

        clock.Advance(TimeSpan.FromMinutes(1));
        await ticked.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(1, Volatile.Read(ref ticks));
        Assert.True(clock.GetUtcNow() - DateTimeOffset.UtcNow >= TimeSpan.FromSeconds(59));
    }
}
