using Samsa.Broker.Lag;

namespace Samsa.Broker.Tests.Lag;

/// <summary>Burrow's evaluation rules, each case worked on a window filled at known times.</summary>
public sealed class ConsumerLagEvaluatorTests
{
    private static LagWindow Window(params (long Offset, long At, long Lag)[] commits)
    {
        var window = new LagWindow(intervals: 5, minDistanceMs: 1000);
        foreach (var (offset, at, lag) in commits)
        {
            window.Add(new LagSample(offset, at, lag));
        }
        return window;
    }

    [Fact]
    public void Window_KeepsCommitsASecondApart_TheNewestReplacedUntilItIsFarEnough()
    {
        var window = new LagWindow(intervals: 3, minDistanceMs: 1000);
        for (long t = 0; t <= 3000; t += 100)
        {
            window.Add(new LagSample(t, t, 0));
        }
        // A commit a second or more past the one before the newest opens a slot (at 0, 100, 1000, 1900, 2800); the ones
        // between replace the newest. The three kept: 1800 and 2700 (each the last before a slot opened) and 3000.
        Assert.Equal(3, window.Count);
        Assert.Equal([1800L, 2700L, 3000L], [window[0].TimestampMs, window[1].TimestampMs, window[2].TimestampMs]);
        window.Add(new LagSample(3000, 3000, 0));
        Assert.Equal(3000, window.Last.TimestampMs);
    }

    [Fact]
    public void Partition_FollowsBurrowsRules()
    {
        Assert.Equal(LagStatus.NotFound, ConsumerLagEvaluator.EvaluatePartition(Window(), 10, 0));
        // Caught up now: OK whatever came before.
        Assert.Equal(LagStatus.Ok, ConsumerLagEvaluator.EvaluatePartition(Window((5, 0, 5), (5, 1000, 9)), 0, 100_000));
        // An offset that went backwards.
        Assert.Equal(LagStatus.Rewind, ConsumerLagEvaluator.EvaluatePartition(Window((50, 0, 1), (40, 1000, 11), (60, 2000, 1)), 1, 2500));
        // Last commit at 4 s; the window spans 4 s; at 8.5 s, 4.5 s without a commit while behind.
        var steady = Window((10, 0, 5), (20, 1000, 5), (30, 2000, 5), (40, 3000, 5), (50, 4000, 5));
        Assert.Equal(LagStatus.Stop, ConsumerLagEvaluator.EvaluatePartition(steady, 5, 8500));
        // Not yet stopped at 7.5 s, and the lag never fell while the offset moved: falling behind.
        Assert.Equal(LagStatus.Warn, ConsumerLagEvaluator.EvaluatePartition(steady, 5, 7500));
        // The same offset throughout while the lag grows.
        var stalled = Window((10, 0, 5), (10, 1000, 6), (10, 2000, 7), (10, 3000, 8), (10, 4000, 9));
        Assert.Equal(LagStatus.Stall, ConsumerLagEvaluator.EvaluatePartition(stalled, 9, 4500));
        // Lag that fell somewhere in the window, or a commit at zero lag: OK.
        Assert.Equal(LagStatus.Ok, ConsumerLagEvaluator.EvaluatePartition(Window((10, 0, 5), (20, 1000, 3), (30, 2000, 5), (40, 3000, 6), (50, 4000, 7)), 7, 4500));
        Assert.Equal(LagStatus.Ok, ConsumerLagEvaluator.EvaluatePartition(Window((10, 0, 0), (20, 1000, 3), (30, 2000, 5), (40, 3000, 6), (50, 4000, 7)), 7, 4500));
        // A window not yet full judges no trend.
        Assert.Equal(LagStatus.Ok, ConsumerLagEvaluator.EvaluatePartition(Window((10, 0, 5), (10, 1000, 6)), 6, 1500));
    }

    [Fact]
    public void Group_IsItsWorstPartition_StopStallAndRewindBeingErr()
    {
        Assert.Equal(LagStatus.NotFound, ConsumerLagEvaluator.EvaluateGroup([]));
        Assert.Equal(LagStatus.Ok, ConsumerLagEvaluator.EvaluateGroup([LagStatus.Ok, LagStatus.NotFound]));
        Assert.Equal(LagStatus.Warn, ConsumerLagEvaluator.EvaluateGroup([LagStatus.Ok, LagStatus.Warn]));
        foreach (var bad in new[] { LagStatus.Stop, LagStatus.Stall, LagStatus.Rewind })
        {
            Assert.Equal(LagStatus.Err, ConsumerLagEvaluator.EvaluateGroup([LagStatus.Warn, bad, LagStatus.Ok]));
        }
    }
}
