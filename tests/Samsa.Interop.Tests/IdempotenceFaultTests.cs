using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Samsa.Interop.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Samsa.Interop.Tests;

/// <summary>
/// Issue 14: an idempotent Confluent.Kafka producer (acks=all, five requests in flight, short request timeouts)
/// writes 20,000 records over three partitions through a <see cref="TcpProxy"/> while a seeded
/// <see cref="FaultSchedule"/> drops and delays responses, pauses one direction, cuts connections and blackholes
/// new ones. The broker advertises the proxy's port, so every connection the client makes (bootstrap and the
/// ones Metadata names) goes through it. Then the log is read back from the broker itself, and the
/// <see cref="DeliveryLedger"/> must find no acknowledged record lost, no duplicate and no reordering.
/// Seeds 1..3 by default; <c>SAMSA_FAULT_SEEDS=20</c> runs seeds 1..20 (the README's soak command),
/// <c>SAMSA_FAULT_SEED=N</c> replays seed N alone, <c>SAMSA_FAULT_RECORDS</c> changes the record count.
/// </summary>
public class IdempotenceFaultTests(ITestOutputHelper output)
{
    private const string Topic = "idempotence-faults";
    private const int Partitions = 3;
    private const int Rate = 2000;
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromMinutes(6);

    private static int Records => int.TryParse(Environment.GetEnvironmentVariable("SAMSA_FAULT_RECORDS"), out var n) ? n : 20_000;

    public static TheoryData<int> Seeds()
    {
        var data = new TheoryData<int>();
        if (int.TryParse(Environment.GetEnvironmentVariable("SAMSA_FAULT_SEED"), out var one))
        {
            data.Add(one);
            return data;
        }
        var count = int.TryParse(Environment.GetEnvironmentVariable("SAMSA_FAULT_SEEDS"), out var n) ? n : 3;
        for (var seed = 1; seed <= count; seed++)
        {
            data.Add(seed);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task IdempotentProducer_ThroughFaults_LosesDuplicatesAndReordersNothing(int seed)
    {
        output.WriteLine($"seed {seed} (replay with SAMSA_FAULT_SEED={seed}), {Records} records");
        var brokerPort = FreePort();
        await using var proxy = TcpProxy.Start(brokerPort);
        await using var broker = await BrokerProcess.StartAsync(
            new Dictionary<string, string> { ["advertised.listeners"] = $"PLAINTEXT://127.0.0.1:{proxy.Port}" }, reusePort: brokerPort);
        await TopicAdmin.CreateAsync(broker.Port, Topic, Partitions);

        using var stopFaults = new CancellationTokenSource();
        var faults = RunFaultsAsync(proxy, seed, stopFaults.Token);
        ProcessResult result;
        try
        {
            result = await ExternalProcess.RunAsync("dotnet",
                [RepoPaths.ConfluentClientDll, "idempotent-fault-produce", proxy.Bootstrap, Topic, Partitions.ToString(CultureInfo.InvariantCulture),
                    Records.ToString(CultureInfo.InvariantCulture), Rate.ToString(CultureInfo.InvariantCulture)], ClientTimeout);
        }
        finally
        {
            await stopFaults.CancelAsync();
        }
        var steps = await faults;
        output.WriteLine($"{steps.Count} faults: {string.Join("; ", steps)}");
        output.WriteLine($"responses dropped {proxy.FramesDropped(ProxyDirection.Downstream)}, forwarded {proxy.FramesForwarded(ProxyDirection.Downstream)}");

        var acknowledged = new List<Acknowledged>();
        JsonElement? done = null;
        foreach (var line in result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.StartsWith('{')))
        {
            var json = JsonDocument.Parse(line).RootElement.Clone();
            if (json.TryGetProperty("done", out _))
            {
                done = json;
            }
            else if (json.TryGetProperty("o", out var offset))
            {
                acknowledged.Add(new Acknowledged(json.GetProperty("p").GetInt32(), offset.GetInt64(), json.GetProperty("v").GetInt64()));
            }
        }

        var stored = new List<Stored>();
        using (var connection = await RawKafkaConnection.ConnectAsync(broker.Port))
        {
            for (var p = 0; p < Partitions; p++)
            {
                foreach (var record in await RawRecords.ReadAllAsync(connection, Topic, p))
                {
                    Assert.True(record.CrcValid, $"p{p} offset {record.Offset}: CRC does not hold");
                    stored.Add(new Stored(p, record.Offset, long.Parse(record.Value!, CultureInfo.InvariantCulture)));
                }
            }
        }
        var ledger = DeliveryLedger.Check(acknowledged, stored);
        output.WriteLine(ledger.Describe());

        var context = $"seed {seed} (SAMSA_FAULT_SEED={seed})\n{ledger.Describe()}\n--- proxy\n{string.Join('\n', proxy.Log.TakeLast(40))}\n"
            + $"--- producer summary {done?.GetRawText() ?? "(none)"}, exit {result.ExitCode}\n--- producer stderr (tail)\n{result.Stderr[Math.Max(0, result.Stderr.Length - 6000)..]}";
        Assert.True(ledger.Clean, context);
        Assert.True(result.ExitCode == 0 && acknowledged.Count == Records, $"{acknowledged.Count} of {Records} acknowledged\n{context}");
        Assert.Equal(Records, ledger.StoredCount);
        Assert.NotEmpty(steps);
    }

    /// <summary>The seed's faults, from one second in (the producer has connected) until <paramref name="stop"/>.</summary>
    private static async Task<List<FaultStep>> RunFaultsAsync(TcpProxy proxy, int seed, CancellationToken stop)
    {
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(1), stop);
        }
        catch (OperationCanceledException)
        {
            return [];
        }
        return await FaultSchedule.RunAsync(proxy, seed, stop);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
