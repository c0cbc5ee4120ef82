using Confluent.Kafka;
using Confluent.Kafka.Admin;

/// <summary>
/// <c>cluster-admin BOOTSTRAP</c>: Confluent.Kafka's AdminClient on the calls that cross Samsa's ApiVersions
/// (v3+, with supported and finalized features in its tagged fields) and ListGroups v5 (KIP-848 type filters):
/// the cluster id and nodes, then the groups of each type. Prints one JSON object.
/// </summary>
internal static class ClusterScenario
{
    public static async Task<Dictionary<string, object?>> RunAsync(string bootstrap)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap, SocketTimeoutMs = 10000 }).Build();
        var cluster = await admin.DescribeClusterAsync(new DescribeClusterOptions { RequestTimeout = TimeSpan.FromSeconds(10) });
        var all = await admin.ListConsumerGroupsAsync(new ListConsumerGroupsOptions { RequestTimeout = TimeSpan.FromSeconds(10) });
        var consumer = await admin.ListConsumerGroupsAsync(new ListConsumerGroupsOptions { MatchTypes = [ConsumerGroupType.Consumer], RequestTimeout = TimeSpan.FromSeconds(10) });
        var classic = await admin.ListConsumerGroupsAsync(new ListConsumerGroupsOptions { MatchTypes = [ConsumerGroupType.Classic], RequestTimeout = TimeSpan.FromSeconds(10) });
        return new Dictionary<string, object?>
        {
            ["librdkafka"] = Library.VersionString,
            ["clusterId"] = cluster.ClusterId,
            ["nodes"] = cluster.Nodes.Select(n => n.Id).ToList(),
            ["groups"] = all.Valid.OrderBy(g => g.GroupId, StringComparer.Ordinal).Select(g => new { id = g.GroupId, type = g.Type.ToString(), simple = g.IsSimpleConsumerGroup }).ToList(),
            ["consumerType"] = consumer.Valid.Select(g => g.GroupId).Order(StringComparer.Ordinal).ToList(),
            ["classicType"] = classic.Valid.Select(g => g.GroupId).Order(StringComparer.Ordinal).ToList(),
        };
    }
}
