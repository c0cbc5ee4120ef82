using Microsoft.Extensions.Logging;

namespace Samsa.Testing;

/// <summary>
/// How <see cref="SamsaCluster.StartAsync(Action{SamsaClusterOptions}?, CancellationToken)"/> builds its cluster
/// (kfake's <c>Opt</c> list: <c>NumBrokers</c>, <c>SeedTopics</c>, <c>ClusterID</c>, <c>BrokerConfigs</c>, ...). Every
/// setter returns the options so they chain.
/// </summary>
public sealed class SamsaClusterOptions
{
    internal int BrokerCount { get; private set; } = 1;

    internal List<SeedTopic> SeedTopics { get; } = [];

    internal string? ClusterIdValue { get; private set; }

    internal Dictionary<string, string> Configs { get; } = new(StringComparer.Ordinal);

    internal string? DataDirectoryValue { get; private set; }

    internal bool InMemoryValue { get; private set; } = true;

    internal Dictionary<string, string> PlainUsers { get; } = new(StringComparer.Ordinal);

    internal List<string> SuperUsers { get; } = [];

    internal bool AuthorizerValue { get; private set; }

    internal ILoggerFactory? LoggerFactoryValue { get; private set; }

    internal bool ManualClockValue { get; private set; }

    /// <summary>
    /// How many nodes; each is a combined broker and controller. One (the default) keeps its own metadata log and
    /// starts fastest; more form a KRaft quorum over loopback, which takes an election (a second or so).
    /// </summary>
    public SamsaClusterOptions Brokers(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        BrokerCount = count;
        return this;
    }

    /// <summary>
    /// A topic created before <see cref="SamsaCluster.StartAsync(Action{SamsaClusterOptions}?, CancellationToken)"/>
    /// returns, every partition led and its log open. A replication factor of -1 takes min(brokers, 3).
    /// </summary>
    public SamsaClusterOptions Topic(string name, int partitions = 1, short replicationFactor = -1, IReadOnlyDictionary<string, string>? configs = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        SeedTopics.Add(new SeedTopic(name, partitions, replicationFactor, configs ?? new Dictionary<string, string>()));
        return this;
    }

    /// <summary>The cluster id every node is formatted with (Kafka's 22-character base64 uuid); random by default.</summary>
    public SamsaClusterOptions ClusterId(string clusterId)
    {
        ArgumentException.ThrowIfNullOrEmpty(clusterId);
        ClusterIdValue = clusterId;
        return this;
    }

    /// <summary>
    /// A broker config by Kafka's name (<c>server.properties</c>), on every node; it wins over the test defaults
    /// (see docs/testing.md for those).
    /// </summary>
    public SamsaClusterOptions BrokerConfig(string key, string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        Configs[key] = value;
        return this;
    }

    /// <summary>
    /// Where the nodes keep their data (one sub-folder per node). The cluster deletes only a directory it created:
    /// one named here is left as the test leaves it.
    /// </summary>
    public SamsaClusterOptions DataDirectory(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        DataDirectoryValue = path;
        return this;
    }

    /// <summary>
    /// Whether the data goes to a memory-backed folder (<c>/dev/shm</c> where it exists), where fsync costs nothing:
    /// on by default. Off puts it under the temp folder, on the disk.
    /// </summary>
    public SamsaClusterOptions InMemory(bool enabled = true)
    {
        InMemoryValue = enabled;
        return this;
    }

    /// <summary>
    /// A SASL/PLAIN user: with one or more, the client listener speaks SASL_PLAINTEXT with PLAIN and every client
    /// must log in (Confluent.Kafka: <c>SecurityProtocol = SaslPlaintext, SaslMechanism = Plain</c>).
    /// </summary>
    public SamsaClusterOptions SaslPlainUser(string user, string password)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);
        PlainUsers[user] = password;
        return this;
    }

    /// <summary>
    /// Turns on Kafka's StandardAuthorizer: with no ACLs only the super users may do anything (create ACLs for the
    /// rest with an admin client logged in as one).
    /// </summary>
    public SamsaClusterOptions Authorizer(params string[] superUsers)
    {
        AuthorizerValue = true;
        SuperUsers.AddRange(superUsers);
        return this;
    }

    /// <summary>Where the brokers log; nothing is logged by default.</summary>
    public SamsaClusterOptions Logging(ILoggerFactory loggerFactory)
    {
        LoggerFactoryValue = loggerFactory;
        return this;
    }

    /// <summary>
    /// Runs every node on a clock that <see cref="SamsaCluster.AdvanceTime(TimeSpan)"/> moves forward (it still
    /// runs in real time in between), so retention, session and transaction timeouts can be reached without waiting.
    /// </summary>
    public SamsaClusterOptions AdvanceableClock()
    {
        ManualClockValue = true;
        return this;
    }

    internal sealed record SeedTopic(string Name, int Partitions, short ReplicationFactor, IReadOnlyDictionary<string, string> Configs);
}
