using Xunit.Abstractions;

namespace Samsa.Interop.Tests.Jepsen;

/// <summary>
/// Issue 16: Jepsen's Kafka queue workload against 3 controllers and 3 brokers as processes (<see cref="JepsenRun"/>):
/// idempotent acks=all Confluent.Kafka producers and assigning consumers while a seeded <see cref="Nemesis"/> kills,
/// pauses, restarts and partitions brokers and loses their unsynced log tails; then a final read and
/// <see cref="QueueChecker"/>, which must find no lost, duplicated, reordered or unexpected record.
/// <list type="bullet">
/// <item><see cref="Replication_Rf3MinIsr2_UnderEveryNemesis_NoAnomalies"/>: replication factor 3, min.insync.replicas
/// 2, every nemesis. Seeds 1..<c>SAMSA_JEPSEN_SEEDS</c> one after another (xUnit runs a theory's cases in sequence),
/// each on a fresh cluster for <c>SAMSA_JEPSEN_SECONDS</c> of faults plus a 10 s tail; <c>SAMSA_JEPSEN_SEED=N</c>
/// replays seed N alone. The test command runs 10 seeds of 60 s (a run costs its duration plus about 30 s: start,
/// tail, final read, the replicas' files compared), about 15 minutes on 2 cores; the README's soak runs more seeds
/// or longer ones.</item>
/// <item><see cref="Harness_Rf1_PausesAndLeaderPartitions_NoAnomalies"/>: the same harness at replication factor 1
/// with nemeses a single replica survives without a restart (SIGSTOP/SIGCONT, a leader cut off from the controllers
/// and the other brokers): the harness itself must see no anomaly.</item>
/// <item><see cref="Rf1_CleanRestartsAndKills_NoAnomalies"/>: replication factor 1 through SIGTERM restarts and
/// SIGKILLs (the page cache survives a process kill, so nothing acknowledged may be lost).</item>
/// <item><see cref="Checker_Rf1Acks1LosingUnsyncedTails_FindsLostWrites"/>: a configuration that must lose
/// acknowledged writes (one replica, acks=1, its unsynced tail lost on SIGKILL): the checker must find them.</item>
/// </list>
/// Every run prints its seed, counts (ok, failed and indeterminate sends, availability, the longest time without an
/// acknowledgement), its nemesis timeline and where its histories are (JSON lines per client and merged, kept when
/// the test fails).
/// </summary>
public sealed class JepsenTests(ITestOutputHelper output)
{
    private static int? ReplaySeed => int.TryParse(Environment.GetEnvironmentVariable("SAMSA_JEPSEN_SEED"), out var seed) ? seed : null;

    private static TimeSpan Duration => TimeSpan.FromSeconds(int.TryParse(Environment.GetEnvironmentVariable("SAMSA_JEPSEN_SECONDS"), out var s) ? s : 60);

    public static TheoryData<int> Seeds()
    {
        var data = new TheoryData<int>();
        if (ReplaySeed is { } one)
        {
            data.Add(one);
            return data;
        }
        var count = int.TryParse(Environment.GetEnvironmentVariable("SAMSA_JEPSEN_SEEDS"), out var n) ? n : 10;
        for (var seed = 1; seed <= count; seed++)
        {
            data.Add(seed);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task Replication_Rf3MinIsr2_UnderEveryNemesis_NoAnomalies(int seed)
    {
        var outcome = await RunAsync(new JepsenOptions { Seed = seed, Duration = Duration, Nemeses = NemesisSchedule.All });
        AssertNoAnomalies(outcome);
    }

    [Fact]
    public async Task Harness_Rf1_PausesAndLeaderPartitions_NoAnomalies()
    {
        var outcome = await RunAsync(new JepsenOptions
        {
            Seed = ReplaySeed ?? 1,
            Duration = TimeSpan.FromSeconds(20),
            ReplicationFactor = 1,
            MinInsyncReplicas = 1,
            Nemeses = [NemesisKind.Pause, NemesisKind.PartitionLeader],
        });
        AssertNoAnomalies(outcome);
    }

    [Fact]
    public async Task Rf1_CleanRestartsAndKills_NoAnomalies()
    {
        var outcome = await RunAsync(new JepsenOptions
        {
            Seed = ReplaySeed ?? 1,
            Duration = TimeSpan.FromSeconds(20),
            ReplicationFactor = 1,
            MinInsyncReplicas = 1,
            Nemeses = [NemesisKind.Restart, NemesisKind.Kill],
        });
        AssertNoAnomalies(outcome);
    }

    [Fact]
    public async Task Checker_Rf1Acks1LosingUnsyncedTails_FindsLostWrites()
    {
        var outcome = await RunAsync(new JepsenOptions
        {
            Seed = ReplaySeed ?? 1,
            Duration = TimeSpan.FromSeconds(15),
            ReplicationFactor = 1,
            MinInsyncReplicas = 1,
            Nemeses = [NemesisKind.LoseTail],
            ProducerOverrides = ["acks=1", "enable.idempotence=false"],
        });
        var result = outcome.Result;
        var lost = result.Count(Anomaly.Lost) + result.Count(Anomaly.Unseen);
        Assert.True(lost > 0 && result.Acknowledged > 0, $"seed {outcome.Options.Seed}: the checker found no acknowledged write lost\n{outcome.Describe()}");
        // The lost offsets were written again after the restart: those offsets held two values.
        Assert.True(result.Count(Anomaly.InconsistentOffset) > 0, outcome.Describe());
        DeleteHistories(outcome);
    }

    private async Task<JepsenOutcome> RunAsync(JepsenOptions options)
    {
        output.WriteLine($"seed {options.Seed} (replay with SAMSA_JEPSEN_SEED={options.Seed}): {options}");
        var outcome = await JepsenRun.RunAsync(options);
        output.WriteLine(outcome.Report());
        output.WriteLine(string.Join('\n', outcome.Timeline));
        return outcome;
    }

    private static void AssertNoAnomalies(JepsenOutcome outcome)
    {
        var seed = outcome.Options.Seed;
        Assert.True(outcome.Result.Valid, $"seed {seed} (SAMSA_JEPSEN_SEED={seed}): {outcome.Result.TotalAnomalies} anomalies\n{outcome.Describe()}");
        Assert.True(outcome.FinalReadComplete, $"seed {seed} (SAMSA_JEPSEN_SEED={seed}): the final read did not reach every partition's end\n{outcome.Describe()}");
        Assert.True(outcome.Result.Acknowledged > 0, $"seed {seed}: nothing acknowledged\n{outcome.Describe()}");
        Assert.True(outcome.ReplicaDivergence is null, $"seed {seed} (SAMSA_JEPSEN_SEED={seed}): {outcome.ReplicaDivergence}\n{outcome.Describe()}");
        DeleteHistories(outcome);
    }

    private static void DeleteHistories(JepsenOutcome outcome)
    {
        try
        {
            Directory.Delete(outcome.HistoryDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
