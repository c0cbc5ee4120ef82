using System.Collections.Concurrent;
using Xunit.Sdk;

namespace Samsa.Metadata.Tests.Quorum.Simulation;

/// <summary>
/// Runs a scenario over a range of seeds, in parallel across cores (each seed is its own deterministic world).
/// <c>SAMSA_RAFT_SEEDS=N</c> runs seeds 1..N (a soak); <c>SAMSA_RAFT_SEED=N</c> replays just seed N. A failure names
/// the smallest failing seed and the scenario, and how to replay it.
/// </summary>
public static class Seeds
{
    public static void Run(string scenario, int defaultCount, Action<int> body)
    {
        List<int> seeds;
        if (int.TryParse(Environment.GetEnvironmentVariable("SAMSA_RAFT_SEED"), out var single))
        {
            seeds = [single];
        }
        else
        {
            var count = int.TryParse(Environment.GetEnvironmentVariable("SAMSA_RAFT_SEEDS"), out var n) ? n : defaultCount;
            seeds = Enumerable.Range(1, count).ToList();
        }
        var failures = new ConcurrentBag<(int Seed, Exception Error)>();
        Parallel.ForEach(seeds, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, (seed, loop) =>
        {
            try
            {
                body(seed);
            }
            catch (Exception e)
            {
                if (e is not InvalidOperationException { Message: var m } || !m.Contains("  node ", StringComparison.Ordinal))
                {
                    e = new InvalidOperationException($"{e.Message}\n{RaftSimulation.Current?.Describe()}", e);
                }
                failures.Add((seed, e));
                loop.Stop();
            }
        });
        if (!failures.IsEmpty)
        {
            var (seed, error) = failures.MinBy(f => f.Seed);
            throw new XunitException(
                $"seed={seed} scenario={scenario}\nreplay: SAMSA_RAFT_SEED={seed} dotnet test tests/Samsa.Metadata.Tests -c Release --filter {scenario}\n{error}");
        }
    }

    /// <summary>Asserts inside a simulation, with the cluster's state in the message.</summary>
    public static void Check(RaftSimulation sim, bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"t={sim.Now} {what}\n{sim.Describe()}");
        }
    }
}
