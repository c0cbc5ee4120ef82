using System.Diagnostics;
using System.Globalization;
using Samsa.Interop.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Samsa.Interop.Tests;

/// <summary>
/// Kafka's TransactionalMessageCopier system test against Samsa: a consume-transform-produce copier
/// (<c>Samsa.Interop.ConfluentClient txn-copy</c>: Confluent.Kafka, read_committed, SendOffsetsToTransaction) copies
/// a 3-partition input to a 3-partition output while a seeded schedule SIGKILLs and restarts the broker (same data
/// directory and port), pauses the copier (SIGSTOP, then SIGCONT) and SIGKILLs it (a new copier with the same
/// transactional.id takes over). When the group's committed offsets reach the input's end, the output read with
/// read_committed holds every input record exactly once, in input order per partition; its offsets are exactly the
/// records the log's own transaction markers commit (nothing aborted or open is visible), and the group's committed
/// offsets are the input's end offsets. The test command runs seed 1 over 20,000 records with 2-6 s pauses;
/// <c>SAMSA_TXN_SEEDS=N</c> runs seeds 1..N over 100,000 records with 5-30 s pauses (the README's soak),
/// <c>SAMSA_TXN_SEED=N</c> replays seed N (at the soak's size when <c>SAMSA_TXN_SEEDS</c> is set too),
/// <c>SAMSA_TXN_RECORDS</c> changes the record count. The copier is rate-limited (500 records/s, 1,000 in the soak)
/// and each fault waits until it has committed again, so the faults land mid-copy and mostly mid-transaction.
/// </summary>
public class TransactionalCopyTests(ITestOutputHelper output)
{
    private const string Input = "txn-copy-input";
    private const string Output = "txn-copy-output";
    private const string Group = "txn-copier";
    private const string TransactionalId = "txn-copier-1";
    private const int Partitions = 3;
    private const int BatchSize = 200;

    private static bool Soak => Environment.GetEnvironmentVariable("SAMSA_TXN_SEEDS") is { Length: > 0 };

    private static int Records => int.TryParse(Environment.GetEnvironmentVariable("SAMSA_TXN_RECORDS"), out var n) ? n : Soak ? 100_000 : 20_000;

    /// <summary>Records per second the copier may copy: slow enough that the faults land mid-copy.</summary>
    private static int Rate => Soak ? 1000 : 500;

    private static (int Min, int Max) PauseSeconds => Soak ? (5, 30) : (2, 6);

    private static TimeSpan CopyTimeout => Soak ? TimeSpan.FromMinutes(30) : TimeSpan.FromMinutes(4);

    public static TheoryData<int> Seeds()
    {
        var data = new TheoryData<int>();
        if (int.TryParse(Environment.GetEnvironmentVariable("SAMSA_TXN_SEED"), out var one))
        {
            data.Add(one);
            return data;
        }
        var count = int.TryParse(Environment.GetEnvironmentVariable("SAMSA_TXN_SEEDS"), out var n) ? n : 1;
        for (var seed = 1; seed <= count; seed++)
        {
            data.Add(seed);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task Copier_UnderBrokerAndCopierKillsAndPauses_CopiesEveryRecordExactlyOnce_InOrder(int seed)
    {
        var records = Records;
        output.WriteLine($"seed={seed} (replay with SAMSA_TXN_SEED={seed}), {records} records, pauses {PauseSeconds.Min}-{PauseSeconds.Max} s");
        var extraConfig = new Dictionary<string, string>
        {
            ["auto.create.topics.enable"] = "false",
            ["transaction.abort.timed.out.transaction.cleanup.interval.ms"] = "2000",
        };
        var broker = new RestartableBroker(await BrokerProcess.StartAsync(extraConfig), extraConfig);
        var copiers = new List<ClientProcess>();
        var log = new List<string>();
        var clock = Stopwatch.StartNew();
        void Log(string line)
        {
            lock (log)
            {
                log.Add($"{clock.Elapsed.TotalSeconds,7:0.0}s {line}");
            }
        }
        string Context() => $"seed={seed} (replay with SAMSA_TXN_SEED={seed})\n--- timeline\n{string.Join('\n', log.TakeLast(80))}\n"
            + string.Join('\n', copiers.TakeLast(2).Select(c => c.Describe()));
        try
        {
            await TopicAdmin.CreateAsync(broker.Port, Input, Partitions);
            await TopicAdmin.CreateAsync(broker.Port, Output, Partitions);
            var fill = await TransactionalOutput.FillAsync(broker.Bootstrap, Input, Partitions, records);
            Assert.True(fill.ExitCode == 0, $"fill: {fill}");
            Log($"filled {records} records");

            using var stop = new CancellationTokenSource();
            ClientProcess? current = null;
            var copyClock = Stopwatch.StartNew();
            var copying = Task.Run(async () =>
            {
                for (var n = 1; ; n++)
                {
                    var copier = ClientProcess.Start($"copier#{n}", "dotnet",
                        [RepoPaths.ConfluentClientDll, "txn-copy", broker.Bootstrap, Input, Output, Group, TransactionalId,
                            Partitions.ToString(CultureInfo.InvariantCulture), BatchSize.ToString(CultureInfo.InvariantCulture), "0", Rate.ToString(CultureInfo.InvariantCulture), "stdin"]);
                    lock (copiers)
                    {
                        copiers.Add(copier);
                        current = copier;
                    }
                    Log($"{copier.Name} started (pid {copier.Pid})");
                    await copier.WaitForExitAsync(stop.Token);
                    var last = copier.Events.LastOrDefault(e => e.Name == "committed");
                    Log($"{copier.Name} exited {copier.ExitCode} after {copier.EventsNamed("committed").Count} commits, "
                        + $"{copier.EventsNamed("aborted").Count} aborts{(last is null ? "" : $", last offsets {last.Json.GetProperty("offsets").GetRawText()}")}"
                        + (copier.Events.LastOrDefault(e => e.Name == "failed") is { } failed ? $", {failed.Raw}" : ""));
                    if (copier.ExitCode == 0)
                    {
                        return;
                    }
                    await Task.Delay(500, stop.Token);
                }
            });
            var faults = RunFaultsAsync(seed, broker, () => { lock (copiers) { return current; } },
                () => { lock (copiers) { return copiers.Sum(c => c.EventsNamed("committed").Count); } }, Log, copying);

            var finished = await Task.WhenAny(copying, Task.Delay(CopyTimeout));
            var copyTime = copyClock.Elapsed;
            await stop.CancelAsync();
            var steps = await faults;
            Assert.True(finished == copying, $"the copy did not finish within {CopyTimeout}\n{Context()}");
            await copying;
            output.WriteLine($"{steps} faults, {copiers.Count} copier processes; copied {records} records in {copyTime.TotalSeconds:0.0} s "
                + $"({records / copyTime.TotalSeconds:0} records/s, limited to {Rate}/s)");
            output.WriteLine(string.Join('\n', log));

            var ends = new long[Partitions];
            for (var p = 0; p < Partitions; p++)
            {
                // A fault may have restarted the broker just as the copy finished: wait until it serves the input again.
                var deadline = Stopwatch.StartNew();
                while ((ends[p] = await TopicAdmin.EndOffsetAsync(broker.Port, Input, p)) < 0)
                {
                    Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), $"{Input}-{p} not served\n{Context()}");
                    await Task.Delay(100);
                }
            }
            var committed = await TransactionalOutput.CommittedOffsetsAsync(broker.Port, Group, Input, Partitions);
            Assert.True(committed.SequenceEqual(ends), $"group offsets {string.Join(",", committed)}, input ends {string.Join(",", ends)}\n{Context()}");

            var check = await TransactionalOutput.CheckAsync(broker.Bootstrap, broker.Port, Output, Partitions, ends);
            output.WriteLine(check.Summary);
            Assert.True(check.Problems.Count == 0, $"{string.Join('\n', check.Problems.Take(30))}\n{check.Summary}\n{Context()}");
            Assert.True(steps > 0, $"no fault ran\n{Context()}");
        }
        catch (Exception) when (Fail(seed))
        {
            throw;
        }
        finally
        {
            foreach (var copier in copiers)
            {
                await copier.DisposeAsync();
            }
            await broker.DisposeAsync();
        }
    }

    /// <summary>Says which seed failed (the test output is kept only with a failure's message).</summary>
    private bool Fail(int seed)
    {
        output.WriteLine($"FAILED seed={seed} (replay with SAMSA_TXN_SEED={seed})");
        return false;
    }

    /// <summary>
    /// The seed's faults until the copy is done: broker SIGKILL and restart, copier SIGSTOP/SIGCONT, copier SIGKILL.
    /// After each fault the copier must commit again before the calm delay and the next fault start, so the faults
    /// cannot starve it (a killed copier's successor waits out the dead member's session before it is assigned).
    /// Returns how many ran. The broker is up again when this returns.
    /// </summary>
    private static async Task<int> RunFaultsAsync(int seed, RestartableBroker broker, Func<ClientProcess?> copier, Func<int> commits, Action<string> log, Task copying)
    {
        var random = new Random(seed);
        var steps = 0;
        var (calmMin, calmMax) = Soak ? (3_000, 15_000) : (1_000, 4_000);
        while (!copying.IsCompleted)
        {
            var progress = commits();
            while (commits() <= progress && !copying.IsCompleted)
            {
                await Task.Delay(100);
            }
            await Task.WhenAny(copying, Task.Delay(random.Next(calmMin, calmMax)));
            if (copying.IsCompleted)
            {
                break;
            }
            steps++;
            switch (random.Next(3))
            {
                case 0:
                    {
                        var down = TimeSpan.FromMilliseconds(random.Next(200, 3000));
                        log($"fault {steps}: broker SIGKILL, restart after {down.TotalMilliseconds:0} ms");
                        await broker.KillAsync();
                        await Task.Delay(down);
                        await broker.RestartAsync();
                        log("broker listening again");
                        break;
                    }
                case 1:
                    {
                        var pause = TimeSpan.FromSeconds(random.Next(PauseSeconds.Min, PauseSeconds.Max + 1));
                        if (copier() is { HasExited: false } paused)
                        {
                            log($"fault {steps}: {paused.Name} SIGSTOP for {pause.TotalSeconds:0} s");
                            await paused.SignalAsync("STOP");
                            await Task.Delay(pause);
                            await paused.SignalAsync("CONT");
                        }
                        break;
                    }
                default:
                    if (copier() is { HasExited: false } killed)
                    {
                        log($"fault {steps}: {killed.Name} SIGKILL");
                        await killed.KillAsync();
                    }
                    break;
            }
        }
        return steps;
    }

    /// <summary>A broker process that a fault kills and starts again on the same data directory and port.</summary>
    private sealed class RestartableBroker(BrokerProcess first, Dictionary<string, string> config) : IAsyncDisposable
    {
        private readonly string _directory = first.Directory;
        private BrokerProcess _process = first;

        public int Port { get; } = first.Port;

        public string Bootstrap { get; } = first.Bootstrap;

        public async Task KillAsync()
        {
            _process.DeleteOnDispose = false;
            await _process.KillAsync();
            await _process.DisposeAsync();
        }

        public async Task RestartAsync() =>
            _process = await BrokerProcess.StartAsync(config, reuseDirectory: _directory, reusePort: Port);

        public async ValueTask DisposeAsync()
        {
            _process.DeleteOnDispose = true;
            await _process.DisposeAsync();
        }
    }
}
