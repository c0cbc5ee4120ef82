using Samsa.Broker.Config;
using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Protocol;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Broker.Tests.Config;

/// <summary>DescribeConfigs' values, sources and synonyms (Kafka's ConfigHelper), and the dynamic broker and group config checks.</summary>
public class ConfigDescriberTests
{
    private static KafkaConfig Config(params (string Key, string Value)[] pairs) =>
        KafkaConfig.FromProperties(pairs.Select(p => new KeyValuePair<string, string>(p.Key, p.Value)));

    private static MetadataImage Image(params (ConfigResourceType Type, string Resource, string Name, string Value)[] configs)
    {
        var delta = new MetadataDelta(MetadataImage.Empty("test-cluster"));
        var offset = 0L;
        foreach (var (type, resource, name, value) in configs)
        {
            delta.Replay(MetadataRecord.Of(new ConfigRecord { ResourceType = (sbyte)type, ResourceName = resource, Name = name, Value = value }), offset++);
        }
        return delta.Apply();
    }

    private static ConfigDescriber.Entry Topic(KafkaConfig config, MetadataImage image, string name) =>
        new ConfigDescriber(config).DescribeTopic(image, "t").Single(e => e.Name == name);

    [Fact]
    public void TopicRetention_WithNothingSet_IsDefaultWithoutSynonyms()
    {
        var entry = Topic(Config(), Image(), "retention.ms");
        Assert.Equal(("604800000", ConfigSource.DefaultConfig), (entry.Value, entry.Source));
        Assert.Empty(entry.Synonyms);
        Assert.Empty(Topic(Config(), Image(), "segment.ms").Synonyms);
    }

    [Fact]
    public void TopicRetention_FromStaticHours_KeepsTheValueButNoSynonym()
    {
        // Kafka's configSynonyms drops the leading synonyms not named log.retention.ms (the quickstart's case).
        var entry = Topic(Config(("log.retention.hours", "24")), Image(), "retention.ms");
        Assert.Equal(("86400000", ConfigSource.DefaultConfig), (entry.Value, entry.Source));
        Assert.Empty(entry.Synonyms);
    }

    [Fact]
    public void TopicRetention_ListsTopicThenSetBrokerSynonymsThenDefaults()
    {
        var image = Image((ConfigResourceType.Topic, "t", "retention.ms", "1000"), (ConfigResourceType.Broker, "", "log.retention.ms", "5000"));
        var entry = Topic(Config(("log.retention.ms", "7000")), image, "retention.ms");
        Assert.Equal(("1000", ConfigSource.DynamicTopicConfig), (entry.Value, entry.Source));
        Assert.Equal(
            [
                ("retention.ms", "1000", ConfigSource.DynamicTopicConfig),
                ("log.retention.ms", "5000", ConfigSource.DynamicDefaultBrokerConfig),
                ("log.retention.ms", "7000", ConfigSource.StaticBrokerConfig),
                ("log.retention.hours", "168", ConfigSource.DefaultConfig),
            ],
            entry.Synonyms);
    }

    [Fact]
    public void TopicSegmentBytes_FromStaticBrokerConfig_IsStatic()
    {
        var entry = Topic(Config(("log.segment.bytes", "2097152")), Image(), "segment.bytes");
        Assert.Equal(("2097152", ConfigSource.StaticBrokerConfig), (entry.Value, entry.Source));
        Assert.Equal([("log.segment.bytes", "2097152", ConfigSource.StaticBrokerConfig), ("log.segment.bytes", "1073741824", ConfigSource.DefaultConfig)], entry.Synonyms);
    }

    [Fact]
    public void Broker_ReportsReadOnlyAndSources()
    {
        var image = Image((ConfigResourceType.Broker, "1", "log.cleaner.threads", "2"), (ConfigResourceType.Broker, "", "log.cleaner.threads", "3"),
            (ConfigResourceType.Broker, "", "message.max.bytes", "2000000"));
        var entries = new ConfigDescriber(Config(("num.partitions", "4"))).DescribeBroker(image, "1").ToDictionary(e => e.Name);
        Assert.Equal(("2", ConfigSource.DynamicBrokerConfig, false), (entries["log.cleaner.threads"].Value, entries["log.cleaner.threads"].Source, entries["log.cleaner.threads"].ReadOnly));
        Assert.Equal(
            [("log.cleaner.threads", "2", ConfigSource.DynamicBrokerConfig), ("log.cleaner.threads", "3", ConfigSource.DynamicDefaultBrokerConfig), ("log.cleaner.threads", "1", ConfigSource.DefaultConfig)],
            entries["log.cleaner.threads"].Synonyms);
        Assert.Equal(("4", ConfigSource.StaticBrokerConfig, true), (entries["num.partitions"].Value, entries["num.partitions"].Source, entries["num.partitions"].ReadOnly));
        Assert.Equal(ConfigSource.DynamicDefaultBrokerConfig, entries["message.max.bytes"].Source);
        Assert.Equal(KafkaConfigDefinitions.All.Count, entries.Count);
    }

    [Fact]
    public void ClusterDefaultBroker_ListsOnlyWhatIsSetThere()
    {
        var image = Image((ConfigResourceType.Broker, "1", "log.cleaner.threads", "2"), (ConfigResourceType.Broker, "", "message.max.bytes", "2000000"));
        var entry = Assert.Single(new ConfigDescriber(Config()).DescribeBroker(image, ""));
        Assert.Equal(("message.max.bytes", "2000000", ConfigSource.DynamicDefaultBrokerConfig), (entry.Name, entry.Value, entry.Source));
    }

    [Theory]
    [InlineData("sasl.kerberos.min.time.before.relogin", "30000", true, null, null)]
    [InlineData("log.cleaner.threads", "2", false, null, null)]
    [InlineData("listener.name.plaintext.ssl.keystore.location", "/k.jks", true, null, null)]
    [InlineData("log.dirs", "/x", true, ErrorCode.InvalidRequest, "Cannot update these configs dynamically: Set(log.dirs)")]
    [InlineData("sasl.kerberos.min.time.before.relogin", "30000", false, ErrorCode.InvalidRequest,
        "Cannot update these configs at default cluster level, broker id must be specified: Set(sasl.kerberos.min.time.before.relogin)")]
    [InlineData("ssl.keystore.location", "/k.jks", true, ErrorCode.InvalidRequest,
        "These security configs can be dynamically updated only per-listener using the listener prefix: Set(ssl.keystore.location)")]
    [InlineData("log.cleaner.threads", "two", true, ErrorCode.InvalidRequest, "Invalid value two for configuration log.cleaner.threads: Not a number of type INT")]
    [InlineData("no.such.config", "1", true, ErrorCode.InvalidConfig, "Unknown broker config name: no.such.config")]
    public void DynamicBrokerConfig_RefusesAsKafka(string name, string value, bool perBroker, ErrorCode? code, string? message)
    {
        var refused = DynamicBrokerConfig.Validate(new Dictionary<string, string> { [name] = value }, perBroker);
        Assert.Equal(code, refused?.Code);
        Assert.Equal(message, refused?.Message);
    }

    [Theory]
    [InlineData("consumer.session.timeout.ms", "50000", null)]
    [InlineData("consumer.session.timeout.ms", "1000", "consumer.session.timeout.ms must be greater than or equal to group.consumer.min.session.timeout.ms")]
    [InlineData("consumer.session.timeout.ms", "70000", "consumer.session.timeout.ms must be less than or equal to group.consumer.max.session.timeout.ms")]
    [InlineData("consumer.heartbeat.interval.ms", "16000", "consumer.heartbeat.interval.ms must be less than or equal to group.consumer.max.heartbeat.interval.ms")]
    [InlineData("consumer.heartbeat.interval.ms", "x", "Invalid value x for configuration consumer.heartbeat.interval.ms: Not a number of type INT")]
    [InlineData("share.auto.offset.reset", "middle", "Invalid value middle for configuration share.auto.offset.reset: String must be one of: latest, earliest")]
    [InlineData("session.timeout.ms", "1", "Unknown group config name: session.timeout.ms")]
    public void GroupConfigs_ValidateAsKafka(string name, string value, string? message) =>
        Assert.Equal(message, new GroupConfigs(Config()).Validate(new Dictionary<string, string> { [name] = value }));

    [Fact]
    public void GroupConfigs_SessionMustExceedHeartbeat()
    {
        var config = Config(("group.consumer.min.session.timeout.ms", "1000"), ("group.consumer.min.heartbeat.interval.ms", "1000"));
        Assert.Equal("consumer.session.timeout.ms must be greater than consumer.heartbeat.interval.ms",
            new GroupConfigs(config).Validate(new Dictionary<string, string> { ["consumer.session.timeout.ms"] = "5000" }));
    }

    [Fact]
    public void GroupConfigs_DescribeSetValuesAsGroupConfigAndTheRestFromTheBroker()
    {
        var image = Image((ConfigResourceType.Group, "g", "consumer.heartbeat.interval.ms", "6000"));
        var entries = new GroupConfigs(Config(("group.consumer.session.timeout.ms", "50000"))).Describe(image, "g").ToDictionary(e => e.Name);
        Assert.Equal(("6000", ConfigSource.GroupConfig), (entries["consumer.heartbeat.interval.ms"].Value, entries["consumer.heartbeat.interval.ms"].Source));
        Assert.Equal([("consumer.heartbeat.interval.ms", "6000", ConfigSource.GroupConfig)], entries["consumer.heartbeat.interval.ms"].Synonyms);
        Assert.Equal(("50000", ConfigSource.DefaultConfig), (entries["consumer.session.timeout.ms"].Value, entries["consumer.session.timeout.ms"].Source));
        Assert.Equal("latest", entries["share.auto.offset.reset"].Value);
    }
}
