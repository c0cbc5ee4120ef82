namespace Samsa.Interop.Tests.Infrastructure;

/// <summary>One fault of a <see cref="FaultSchedule"/>: what, for how long, then how long all is calm.</summary>
public sealed record FaultStep(string Kind, TimeSpan Duration, TimeSpan Delay, TimeSpan CalmAfter)
{
    public override string ToString() =>
        $"{Kind}{(Delay > TimeSpan.Zero ? $" {Delay.TotalMilliseconds:0} ms" : "")} for {Duration.TotalMilliseconds:0} ms, calm {CalmAfter.TotalMilliseconds:0} ms";
}

/// <summary>
/// A seeded random series of proxy faults: the same seed gives the same steps (their timing against the client
/// is not reproducible, the choices are). Each fault is undone before the next, so none outlasts its step, and each
/// lasts well under a client's <c>message.timeout.ms</c>.
/// </summary>
public static class FaultSchedule
{
    public static readonly string[] Kinds = ["drop-responses", "delay-responses", "delay-requests", "cut", "pause-requests", "pause-responses", "blackhole"];

    /// <summary>The first <paramref name="count"/> steps of seed <paramref name="seed"/>.</summary>
    public static List<FaultStep> Plan(int seed, int count)
    {
        var random = new Random(seed);
        var steps = new List<FaultStep>(count);
        for (var i = 0; i < count; i++)
        {
            var kind = Kinds[random.Next(Kinds.Length)];
            var duration = TimeSpan.FromMilliseconds(kind == "cut" ? 0 : random.Next(200, 2500));
            var delay = kind.StartsWith("delay", StringComparison.Ordinal) ? TimeSpan.FromMilliseconds(random.Next(20, 400)) : TimeSpan.Zero;
            steps.Add(new FaultStep(kind, duration, delay, TimeSpan.FromMilliseconds(random.Next(100, 1500))));
        }
        return steps;
    }

    /// <summary>
    /// Applies the steps of <paramref name="seed"/> to <paramref name="proxy"/> one after another until
    /// <paramref name="stop"/> fires, then heals it; returns the steps taken.
    /// </summary>
    public static async Task<List<FaultStep>> RunAsync(TcpProxy proxy, int seed, CancellationToken stop)
    {
        var taken = new List<FaultStep>();
        try
        {
            foreach (var step in Plan(seed, 10_000))
            {
                stop.ThrowIfCancellationRequested();
                taken.Add(step);
                Apply(proxy, step, on: true);
                try
                {
                    await Task.Delay(step.Duration, stop);
                }
                finally
                {
                    Apply(proxy, step, on: false);
                }
                await Task.Delay(step.CalmAfter, stop);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            proxy.Heal();
        }
        return taken;
    }

    private static void Apply(TcpProxy proxy, FaultStep step, bool on)
    {
        switch (step.Kind)
        {
            case "drop-responses":
                proxy.SetDrop(ProxyDirection.Downstream, on);
                break;
            case "delay-responses":
                proxy.SetDelay(ProxyDirection.Downstream, on ? step.Delay : TimeSpan.Zero);
                break;
            case "delay-requests":
                proxy.SetDelay(ProxyDirection.Upstream, on ? step.Delay : TimeSpan.Zero);
                break;
            case "cut":
                if (on)
                {
                    proxy.Cut();
                }
                break;
            case "pause-requests":
                proxy.SetPaused(ProxyDirection.Upstream, on);
                break;
            case "pause-responses":
                proxy.SetPaused(ProxyDirection.Downstream, on);
                break;
            case "blackhole":
                // New connections hang; cutting the open ones makes the client need new ones at once.
                if (on)
                {
                    proxy.SetBlackhole(true);
                    proxy.Cut();
                }
                else
                {
                    proxy.SetBlackhole(false);
                }
                break;
            default:
                throw new ArgumentException($"unknown fault {step.Kind}");
        }
    }
}
