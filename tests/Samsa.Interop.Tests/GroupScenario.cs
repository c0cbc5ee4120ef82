using Samsa.Interop.Tests.Infrastructure;

namespace Samsa.Interop.Tests;

/// <summary>
/// One consumer-group scenario: a broker with short group timeouts, the member processes started in it (every one
/// kept for the ledger and stopped at the end) and waits on what the members print.
/// </summary>
internal sealed class GroupScenario : IAsyncDisposable
{
    public static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(60);

    private readonly List<ClientProcess> _started = [];

    private GroupScenario(BrokerProcess broker) => Broker = broker;

    public BrokerProcess Broker { get; private set; }

    /// <summary>Every member ever started, in start order.</summary>
    public IReadOnlyList<ClientProcess> Started => _started;

    /// <summary>Short group timeouts, as Kafka's own integration tests use, so a scenario runs in seconds.</summary>
    public static Task<BrokerProcess> StartBrokerAsync(string? reuseDirectory = null, int? reusePort = null) =>
        BrokerProcess.StartAsync(new Dictionary<string, string>
        {
            ["auto.create.topics.enable"] = "false",
            ["group.min.session.timeout.ms"] = "500",
            ["offsets.topic.num.partitions"] = "5",
        }, reuseDirectory, reusePort);

    public static async Task<GroupScenario> StartAsync(string topic, int partitions)
    {
        var broker = await StartBrokerAsync();
        await TopicAdmin.CreateAsync(broker.Port, topic, partitions);
        return new GroupScenario(broker);
    }

    public static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public ClientProcess Member(string client, string name, string topic, string group, params string[] options) =>
        Track(GroupClients.Start(client, name, Broker.Bootstrap, topic, group, options));

    public ClientProcess Ticker(string topic, int partitions, int intervalMs, int count = -1) =>
        Track(GroupClients.Ticker(Broker.Bootstrap, topic, partitions, intervalMs, count));

    private ClientProcess Track(ClientProcess client)
    {
        _started.Add(client);
        return client;
    }

    /// <summary>
    /// SIGKILL to the broker, then a new one on the same directory and port, waited for until the topic's partitions
    /// answer again (the broker listens before every log is open, and says NOT_LEADER_OR_FOLLOWER until then).
    /// </summary>
    public async Task KillAndRestartBrokerAsync(string topic, int partitions)
    {
        Broker.DeleteOnDispose = false;
        await Broker.KillAsync();
        await Broker.DisposeAsync();
        Broker = await StartBrokerAsync(Broker.Directory, Broker.Port);
        var deadline = DateTime.UtcNow + StepTimeout;
        for (var p = 0; p < partitions; p++)
        {
            while (await TopicAdmin.EndOffsetAsync(Broker.Port, topic, p) < 0)
            {
                Assert.True(DateTime.UtcNow < deadline, $"{topic}-{p} did not come back after the restart");
                await Task.Delay(50);
            }
        }
    }

    /// <summary>
    /// Waits until every member has been assigned since <paramref name="since"/>, the members' partitions are
    /// disjoint and cover the topic with the expected counts (in any order), and every owner has read at least two
    /// records of each partition it owns since (the generation is live, not just announced).
    /// </summary>
    public static async Task WaitForOwnershipAsync(IReadOnlyList<ClientProcess> members, int[] expectedCounts, long since, int partitions = 3)
    {
        var deadline = DateTime.UtcNow + StepTimeout;
        while (true)
        {
            var last = members.Select(m => m.Events.LastOrDefault(e => e.Name is "assigned" or "revoked" or "lost")).ToList();
            var owned = members.Select(m => m.Owned()).ToList();
            var settled = last.All(e => e is { Name: "assigned" } && e.Ts >= since)
                && owned.Sum(o => o.Length) == partitions
                && owned.SelectMany(o => o).Distinct().Count() == partitions
                && owned.Select(o => o.Length).Order().SequenceEqual(expectedCounts)
                && members.Zip(last).All(x => x.Second!.Partitions.All(p =>
                    x.First.Events.Count(e => e.Name == "record" && e.Partition == p && e.Ts >= x.Second.Ts) >= 2));
            if (settled && members.Zip(last).All(x => ReferenceEquals(x.First.Events.Last(e => e.Name is "assigned" or "revoked" or "lost"), x.Second)))
            {
                return;
            }
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"ownership {Ownership(members)} did not reach counts [{string.Join(',', expectedCounts)}]\n"
                    + string.Join('\n', members.Select(m => m.Describe())));
            }
            await Task.Delay(100);
        }
    }

    /// <summary>Stops the producer and waits until the reader has consumed the last record it sent to every partition.</summary>
    public static async Task<IReadOnlyList<ClientEvent>> StopAndDrainAsync(ClientProcess producer, ClientProcess reader, int partitions)
    {
        await producer.CloseAsync(StepTimeout);
        var sent = producer.EventsNamed("sent");
        foreach (var p in Enumerable.Range(0, partitions))
        {
            if (sent.Where(s => s.Partition == p).Select(s => (long?)s.Offset).Max() is { } last)
            {
                await reader.WaitForAsync(e => e.Name == "record" && e.Partition == p && e.Offset == last, StepTimeout, $"record {p}/{last}");
            }
        }
        return sent;
    }

    public static string Ownership(IEnumerable<ClientProcess> members) =>
        string.Join(", ", members.Select(m => $"{m.Name}=[{string.Join(',', m.Owned())}]"));

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _started)
        {
            await client.DisposeAsync();
        }
        await Broker.DisposeAsync();
    }
}
