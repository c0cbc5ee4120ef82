using Microsoft.Extensions.Logging;
using Samsa.Broker.Config;

namespace Samsa.Broker.Tests;

public class KafkaConfigTests
{
    private static KafkaConfig From(params (string Key, string Value)[] pairs) =>
        KafkaConfig.FromProperties(pairs.Select(p => new KeyValuePair<string, string>(p.Key, p.Value)));

    [Fact]
    public void Defaults_AreKafkasExceptTheZeroConfigOnes()
    {
        var config = KafkaConfig.Default();
        Assert.Equal(1, config.NodeId);
        Assert.Equal(["broker", "controller"], config.ProcessRoles);
        Assert.Equal(["./data"], config.LogDirs);
        var listener = Assert.Single(config.Listeners);
        Assert.Equal(("PLAINTEXT", "localhost", 9092), (listener.ListenerName, listener.Host, listener.Port));
        Assert.Equal(104857600, config.SocketRequestMaxBytes);
        Assert.Equal(102400, config.SocketSendBufferBytes);
        Assert.Equal(1, config.NumPartitions);
        Assert.Equal(1048588, config.MessageMaxBytes);
        Assert.Equal(1073741824, config.LogSegmentBytes);
        Assert.Equal(168 * 3_600_000L, config.LogRetentionMs);
        Assert.Equal(50, config.OffsetsTopicNumPartitions);
        Assert.Equal((short)1, config.Get("offsets.topic.replication.factor"));
        Assert.Equal(0, config.GetInt("group.initial.rebalance.delay.ms"));
        Assert.Equal((short)1, config.Get("transaction.state.log.replication.factor"));
        Assert.Equal(1, config.GetInt("transaction.state.log.min.isr"));
        Assert.True(config.AutoCreateTopicsEnable);
        Assert.True(config.GetBool("delete.topic.enable"));
        Assert.Equal(-1L, config.GetLong("log.retention.bytes"));
    }

    [Fact]
    public void EveryDivergentDefault_RecordsKafkasDefault()
    {
        var divergent = KafkaConfigDefinitions.All.Values.Where(k => k.KafkaDefault is not null).Select(k => k.Name).Order().ToArray();
        Assert.Equal([
            "group.initial.rebalance.delay.ms", "listeners", "log.dir", "metric.reporters", "node.id", "offsets.topic.replication.factor",
            "process.roles", "share.coordinator.state.topic.min.isr", "share.coordinator.state.topic.replication.factor",
            "transaction.state.log.min.isr", "transaction.state.log.replication.factor",
        ], divergent);
    }

    /// <summary>
    /// The table holds exactly Kafka 4.x's broker configs, each with Kafka's dynamic update mode
    /// (Config/Kafka4BrokerConfigKeys.txt, taken from Kafka's generated broker config reference), plus Samsa's own keys.
    /// </summary>
    [Fact]
    public void Definitions_MatchKafka4BrokerConfigKeys()
    {
        var kafka = File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Config", "Kafka4BrokerConfigKeys.txt"))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('\t'))
            .ToDictionary(f => f[0], f => f[1], StringComparer.Ordinal);
        Assert.Empty(kafka.Keys.Where(k => !KafkaConfigDefinitions.All.ContainsKey(k)).Order());
        Assert.Empty(KafkaConfigDefinitions.All.Keys.Where(k => !kafka.ContainsKey(k) && !KafkaConfigDefinitions.SamsaOnly.Contains(k)).Order());
        Assert.All(KafkaConfigDefinitions.SamsaOnly, k => Assert.False(kafka.ContainsKey(k), $"{k} is Kafka's"));
        Assert.All(KafkaConfigDefinitions.SamsaOnly, k => Assert.True(KafkaConfigDefinitions.All.ContainsKey(k), k));
        var modes = KafkaConfigDefinitions.All.Values.Where(k => kafka.ContainsKey(k.Name) && kafka[k.Name] != ModeName(k.Mode)).Select(k => $"{k.Name}: {ModeName(k.Mode)}, Kafka {kafka[k.Name]}");
        Assert.Empty(modes);
    }

    private static string ModeName(ConfigUpdateMode mode) => mode switch
    {
        ConfigUpdateMode.PerBroker => "per-broker",
        ConfigUpdateMode.ClusterWide => "cluster-wide",
        _ => "read-only",
    };

    [Fact]
    public void EveryDefault_PassesItsOwnValidator()
    {
        foreach (var key in KafkaConfigDefinitions.All.Values)
        {
            key.Validator?.Ensure(key.Name, key.Default);
        }
    }

    [Fact]
    public void LogDirs_OverridesLogDir_AndSplitsOnCommas()
    {
        var config = From(("log.dir", "/x"), ("log.dirs", "/a, /b"));
        Assert.Equal(["/a", "/b"], config.LogDirs);
    }

    [Theory]
    [InlineData("log.retention.ms", "5000", 5000L)]
    [InlineData("log.retention.minutes", "2", 120_000L)]
    [InlineData("log.retention.hours", "1", 3_600_000L)]
    [InlineData("log.retention.ms", "-1", -1L)]
    public void Retention_MsOverMinutesOverHours(string key, string value, long expected)
    {
        var config = From(("log.retention.hours", "100"), (key, value));
        Assert.Equal(expected, config.LogRetentionMs);
    }

    [Theory]
    [InlineData("num.partitions", "abc", "Invalid value abc for configuration num.partitions: Not a number of type INT")]
    [InlineData("num.partitions", "0", "Invalid value 0 for configuration num.partitions: Value must be at least 1")]
    [InlineData("socket.request.max.bytes", "99999999999", "Invalid value 99999999999 for configuration socket.request.max.bytes: Not a number of type INT")]
    [InlineData("auto.create.topics.enable", "yes", "Invalid value yes for configuration auto.create.topics.enable: Expected value to be either true or false")]
    [InlineData("log.cleaner.min.cleanable.ratio", "1.5", "Invalid value 1.5 for configuration log.cleaner.min.cleanable.ratio: Value must be no more than 1")]
    [InlineData("compression.type", "brotli", "Invalid value brotli for configuration compression.type: String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer")]
    [InlineData("process.roles", "broker,worker", "Invalid value broker,worker for configuration process.roles: Invalid value worker; must be one of: broker, controller")]
    public void InvalidValue_ThrowsOneLineNamingTheKey(string key, string value, string message)
    {
        var error = Assert.Throws<ConfigException>(() => From((key, value)));
        Assert.Equal(message, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Values_AreTrimmed_AndBooleansCaseInsensitive()
    {
        var config = From(("num.partitions", " 3 "), ("auto.create.topics.enable", "FALSE"));
        Assert.Equal(3, config.NumPartitions);
        Assert.False(config.AutoCreateTopicsEnable);
    }

    [Theory]
    [InlineData("listeners", "PLAINTEXT://localhost:9092,PLAINTEXT://localhost:9093", "different name")]
    [InlineData("listeners", "PLAINTEXT://localhost:9092,SSL://localhost:9092", "different port")]
    [InlineData("listeners", "BOGUS://localhost:9092", "No security protocol defined for listener BOGUS")]
    [InlineData("listeners", "PLAINTEXT://localhost:70000", "Port must be between 0 and 65535")]
    [InlineData("listeners", "localhost:9092", "Unable to parse")]
    [InlineData("advertised.listeners", "PLAINTEXT://0.0.0.0:9092", "nonroutable meta-address")]
    [InlineData("broker.id", "7", "broker.id must equal node.id")]
    [InlineData("listener.security.protocol.map", "PLAINTEXT:NOPE", "listener.security.protocol.map")]
    public void CrossChecks_RejectInconsistentListenersAndIds(string key, string value, string fragment)
    {
        var error = Assert.Throws<ConfigException>(() => From((key, value)));
        Assert.Contains(fragment, error.Message);
    }

    [Fact]
    public void Listeners_ParseNamesHostsPortsAndIpv6()
    {
        var config = From(
            ("listeners", "plaintext://:9092,INTERNAL://[::1]:9094"),
            ("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,INTERNAL:SSL"));
        Assert.Equal(["PLAINTEXT", "INTERNAL"], config.Listeners.Select(l => l.ListenerName));
        Assert.Equal("", config.Listeners[0].Host);
        Assert.Equal(("::1", 9094, SecurityProtocol.Ssl), (config.Listeners[1].Host, config.Listeners[1].Port, config.Listeners[1].SecurityProtocol));
        // An empty host is advertised as this machine's name.
        Assert.Equal(System.Net.Dns.GetHostName(), config.AdvertisedListeners[0].Host);
    }

    [Fact]
    public void AdvertisedListeners_DefaultToListenersWithoutControllerListeners()
    {
        var config = From(
            ("listeners", "PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093"),
            ("controller.listener.names", "CONTROLLER"),
            ("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"));
        Assert.Equal(["PLAINTEXT"], config.AdvertisedListeners.Select(l => l.ListenerName));
    }

    [Fact]
    public void Load_OverridesWinOverFile_AndUnknownKeysAreWarnedOnce()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "server.properties");
        File.WriteAllText(path, "num.partitions=3\nnode.id=4\nmystery.key=1\nlog.dirs=/tmp/x\n");
        var logs = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));

        var config = KafkaConfig.Load(path, ["num.partitions=5", "other.mystery= 2"], factory.CreateLogger("test"));

        Assert.Equal(5, config.NumPartitions);
        Assert.Equal(4, config.NodeId);
        Assert.Equal(["mystery.key", "other.mystery"], config.UnknownKeys);
        var warning = Assert.Single(logs.Lines, l => l.Level == LogLevel.Warning);
        Assert.Contains("mystery.key, other.mystery", warning.Message);
    }

    [Theory]
    [InlineData("no-equals")]
    [InlineData("=value")]
    public void Override_WithoutKey_IsRejected(string pair) =>
        Assert.Throws<ConfigException>(() => KafkaConfig.ParseOverride(pair));

    [Fact]
    public void Load_MissingFile_IsAConfigError()
    {
        var error = Assert.Throws<ConfigException>(() => KafkaConfig.Load("/nonexistent/server.properties", [], Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));
        Assert.Contains("/nonexistent/server.properties", error.Message);
    }

    [Fact]
    public void ConnectionLimits_ParseKafkasKeysAndPerListenerLimit()
    {
        var config = From(("max.connections", "100"), ("max.connections.per.ip", "5"), ("max.connections.per.ip.overrides", "127.0.0.1:10, ::1:7,example.com:0"),
            ("connections.max.idle.ms", "1000"), ("listener.name.plaintext.max.connections", "40"));
        Assert.Equal(100, config.MaxConnections);
        Assert.Equal(5, config.MaxConnectionsPerIp);
        Assert.Equal(new Dictionary<string, int> { ["127.0.0.1"] = 10, ["::1"] = 7, ["example.com"] = 0 }, config.MaxConnectionsPerIpOverrides);
        Assert.Equal(1000, config.ConnectionsMaxIdleMs);
        Assert.Equal(40, config.ListenerMaxConnections("PLAINTEXT"));
        Assert.Equal(int.MaxValue, config.ListenerMaxConnections("CONTROLLER"));
        Assert.Empty(config.UnknownKeys);

        var defaults = KafkaConfig.Default();
        Assert.Equal(int.MaxValue, defaults.MaxConnections);
        Assert.Equal(int.MaxValue, defaults.MaxConnectionsPerIp);
        Assert.Equal(600_000, defaults.ConnectionsMaxIdleMs);
    }

    [Theory]
    [InlineData("max.connections.per.ip", "0", "can be set to zero only if max.connections.per.ip.overrides property is set")]
    [InlineData("max.connections.per.ip.overrides", "127.0.0.1", "is not host:count")]
    [InlineData("max.connections.per.ip.overrides", "127.0.0.1:many", "is not host:count")]
    [InlineData("max.connections.per.ip.overrides", "127.0.0.1:-1", "must be at least 0")]
    [InlineData("listener.name.plaintext.max.connections", "-1", "Value must be at least 0")]
    [InlineData("max.connections", "-1", "Value must be at least 0")]
    public void ConnectionLimits_InvalidValues_AreConfigErrors(string key, string value, string fragment)
    {
        var error = Assert.Throws<ConfigException>(() => From((key, value)));
        Assert.Contains(fragment, error.Message);
    }

    [Fact]
    public void Load_KeysAcceptedButNotActedOn_AreNamedInOneWarning()
    {
        var logs = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));

        var config = KafkaConfig.Load(null, ["num.io.threads=8", "num.network.threads=3", "max.connections=10", "log.dirs=/tmp/x"], factory.CreateLogger("test"));

        Assert.Equal(["num.io.threads", "num.network.threads"], config.IgnoredKeys);
        var warning = Assert.Single(logs.Lines, l => l.Level == LogLevel.Warning);
        Assert.Equal(101, warning.EventId);
        Assert.Contains("num.io.threads, num.network.threads", warning.Message);
        Assert.DoesNotContain("max.connections", warning.Message);
    }

    /// <summary>
    /// Keeps <see cref="KafkaConfigDefinitions.NotActedOn"/> honest: every key is a broker config, and no source file
    /// of the broker names it (a key that code reads must leave the list).
    /// </summary>
    [Fact]
    public void NotActedOn_KeysAreDefinedAndNotReadByTheBroker()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "Samsa.slnx")))
        {
            root = root.Parent ?? throw new InvalidOperationException("Samsa.slnx not found above the test binaries");
        }
        var sources = Directory.EnumerateFiles(Path.Combine(root.FullName, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith("KafkaConfigDefinitions.cs", StringComparison.Ordinal) && !f.Contains("Generated", StringComparison.Ordinal))
            .Select(f => (Path: f, Text: File.ReadAllText(f)))
            .ToArray();
        foreach (var key in KafkaConfigDefinitions.NotActedOn)
        {
            Assert.True(KafkaConfigDefinitions.All.ContainsKey(key), $"{key} is not a broker config");
            var reader = sources.FirstOrDefault(s => s.Text.Contains($"\"{key}\"", StringComparison.Ordinal));
            Assert.True(reader.Path is null, $"{key} is listed as not acted on, but {reader.Path} names it");
        }
    }
}
