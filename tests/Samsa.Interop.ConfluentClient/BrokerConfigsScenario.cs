using Confluent.Kafka;
using Confluent.Kafka.Admin;

/// <summary>
/// Confluent.Kafka's AdminClient on BROKER and GROUP config resources: IncrementalAlterConfigs of a per-broker and
/// a read-only key (and the refusals Kafka answers), DescribeConfigs of the broker and a topic with synonyms, then
/// group configs (KIP-848). Returns what it saw; sources and error codes as Kafka's numbers. (The client refuses
/// the cluster-default resource, an empty name, itself: the tests send those requests by hand.)
/// </summary>
internal static class BrokerConfigsScenario
{
    public static async Task<Dictionary<string, object?>> RunAsync(IAdminClient admin, string brokerId, string topic, string group)
    {
        var result = new Dictionary<string, object?>();
        var broker = new ConfigResource { Type = ResourceType.Broker, Name = brokerId };
        result["setPerBroker"] = await Alter(admin, broker, ("sasl.kerberos.min.time.before.relogin", "30000"));
        result["readOnly"] = await Alter(admin, broker, ("log.dirs", "/tmp/elsewhere"));
        result["badValue"] = await Alter(admin, broker, ("log.cleaner.threads", "two"));

        var brokerEntries = (await admin.DescribeConfigsAsync([broker]))[0].Entries;
        result["broker"] = Pick(brokerEntries, "sasl.kerberos.min.time.before.relogin", "log.cleaner.threads", "num.partitions", "ssl.key.password", "log.retention.hours");
        result["brokerEntries"] = brokerEntries.Count;

        await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = 1, ReplicationFactor = 1 }]);
        var topicEntries = (await admin.DescribeConfigsAsync([new ConfigResource { Type = ResourceType.Topic, Name = topic }]))[0].Entries;
        result["topic"] = Pick(topicEntries, "retention.ms", "segment.ms", "segment.bytes");

        var groupResource = new ConfigResource { Type = ResourceType.Group, Name = group };
        result["setGroup"] = await Alter(admin, groupResource, ("consumer.heartbeat.interval.ms", "1500"), ("consumer.session.timeout.ms", "3000"));
        result["groupOutOfBounds"] = await Alter(admin, groupResource, ("consumer.session.timeout.ms", "999999"));
        result["groupUnknownKey"] = await Alter(admin, groupResource, ("session.timeout.ms", "3000"));
        result["group"] = Pick((await admin.DescribeConfigsAsync([groupResource]))[0].Entries,
            "consumer.heartbeat.interval.ms", "consumer.session.timeout.ms", "share.auto.offset.reset");
        return result;
    }

    /// <summary>One IncrementalAlterConfigs SET of <paramref name="configs"/>: Kafka's error code (0 = done) and message.</summary>
    private static async Task<object> Alter(IAdminClient admin, ConfigResource resource, params (string Name, string Value)[] configs)
    {
        try
        {
            await admin.IncrementalAlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>>
            {
                [resource] = [.. configs.Select(c => new ConfigEntry { Name = c.Name, Value = c.Value, IncrementalOperation = AlterConfigOpType.Set })],
            });
            return new { code = 0, message = (string?)null };
        }
        catch (IncrementalAlterConfigsException e)
        {
            return new { code = (int)e.Results[0].Error.Code, message = (string?)e.Results[0].Error.Reason };
        }
    }

    private static Dictionary<string, object> Pick(Dictionary<string, ConfigEntryResult> entries, params string[] names) =>
        names.Where(entries.ContainsKey).ToDictionary(n => n, n => Describe(entries[n]));

    private static object Describe(ConfigEntryResult e) => new
    {
        name = e.Name,
        value = e.Value,
        source = (int)e.Source,
        readOnly = e.IsReadOnly,
        isDefault = e.IsDefault,
        sensitive = e.IsSensitive,
        synonyms = e.Synonyms.Select(s => new { name = s.Name, value = s.Value, source = (int)s.Source }).ToList(),
    };
}
