using Samsa.Metadata;

namespace Samsa.Architecture.Tests.Fixtures;

/// <summary>
/// Blocking calls planted on purpose, so <see cref="EventThreadBlockingTests.PlantedBlockingCalls_AreFound"/> can show
/// that the call-graph check fails on them. Never run.
/// </summary>
internal sealed class PlantedBlockingHandler
{
    public async ValueTask<int> HandleAsync(string path)
    {
        await Task.Yield();
        return Rename(path);
    }

    private static int Rename(string path)
    {
        File.Move(path, path + ".old");
        return 1;
    }

    /// <summary>Not blocking: the sleep runs on the queue's thread.</summary>
    public Task<int> OffThreadAsync(EventQueue queue) => queue.RunAsync(() =>
    {
        Thread.Sleep(10);
        return 1;
    });

    public static int SyncOverAsync(Task<int> task) => task.GetAwaiter().GetResult();

    public static int SleepInLambda(List<int> values) => values.Sum(v =>
    {
        Thread.Sleep(1);
        return v;
    });
}
