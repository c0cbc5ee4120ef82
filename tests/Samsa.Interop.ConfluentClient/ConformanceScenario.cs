using Confluent.Kafka;
using Confluent.Kafka.Admin;

/// <summary>
/// The issue-13 conformance calls of Confluent.Kafka's AdminClient: ListOffsets with OffsetSpec.MaxTimestamp, and the
/// authorized operations that DescribeCluster, DescribeTopics and DescribeConsumerGroups return when asked for.
/// Operations are printed by Kafka's names (Confluent's AclOperation enum names, upper snake case), sorted.
/// </summary>
internal static class ConformanceScenario
{
    public static async Task<Dictionary<string, object?>> RunAsync(IAdminClient admin, string topic, string group)
    {
        var timeout = TimeSpan.FromSeconds(20);
        var result = new Dictionary<string, object?>();
        var maxTimestamp = await admin.ListOffsetsAsync([new TopicPartitionOffsetSpec { TopicPartition = new TopicPartition(topic, 0), OffsetSpec = OffsetSpec.MaxTimestamp() }],
            new ListOffsetsOptions { RequestTimeout = timeout });
        var found = maxTimestamp.ResultInfos[0].TopicPartitionOffsetError;
        result["maxTimestampOffset"] = found.Offset.Value;
        result["maxTimestampError"] = (int)found.Error.Code;

        var cluster = await admin.DescribeClusterAsync(new DescribeClusterOptions { IncludeAuthorizedOperations = true, RequestTimeout = timeout });
        result["clusterOperations"] = Names(cluster.AuthorizedOperations);
        var topics = await admin.DescribeTopicsAsync(TopicCollection.OfTopicNames([topic]), new DescribeTopicsOptions { IncludeAuthorizedOperations = true, RequestTimeout = timeout });
        result["topicOperations"] = Names(topics.TopicDescriptions[0].AuthorizedOperations);
        var groups = await admin.DescribeConsumerGroupsAsync([group], new DescribeConsumerGroupsOptions { IncludeAuthorizedOperations = true, RequestTimeout = timeout });
        result["groupOperations"] = Names(groups.ConsumerGroupDescriptions[0].AuthorizedOperations);
        return result;
    }

    private static List<string>? Names(IEnumerable<AclOperation>? operations) =>
        operations?.Select(o => System.Text.RegularExpressions.Regex.Replace(o.ToString(), "(?<=[a-z])(?=[A-Z])", "_").ToUpperInvariant()).Order(StringComparer.Ordinal).ToList();
}
