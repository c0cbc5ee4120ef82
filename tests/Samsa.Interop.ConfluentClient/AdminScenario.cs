using Confluent.Kafka;
using Confluent.Kafka.Admin;

/// <summary>
/// Confluent.Kafka's AdminClient through create, describe, list, add partitions, alter and describe configs,
/// delete records and delete topics, then each error case; returns what it saw, error codes as Kafka's numbers.
/// </summary>
internal static class AdminScenario
{
    public static async Task<Dictionary<string, object?>> RunAsync(IAdminClient admin)
    {
        var result = new Dictionary<string, object?>();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = "cs-orders", NumPartitions = 3, ReplicationFactor = 1, Configs = new() { ["retention.ms"] = "172800000" } }]);
        result["listed"] = admin.GetMetadata(TimeSpan.FromSeconds(10)).Topics.Select(t => t.Topic).Order().ToList();
        var described = (await admin.DescribeTopicsAsync(TopicCollection.OfTopicNames(["cs-orders"]))).TopicDescriptions[0];
        result["partitions"] = described.Partitions.Count;
        result["topicIdSet"] = described.TopicId.MostSignificantBits != 0 || described.TopicId.LeastSignificantBits != 0;
        await admin.CreatePartitionsAsync([new PartitionsSpecification { Topic = "cs-orders", IncreaseTo = 4 }]);
        result["partitionsAfterAdd"] = (await admin.DescribeTopicsAsync(TopicCollection.OfTopicNames(["cs-orders"]))).TopicDescriptions[0].Partitions.Count;
        var resource = new ConfigResource { Type = ResourceType.Topic, Name = "cs-orders" };
        await admin.IncrementalAlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>>
        {
            [resource] = [new ConfigEntry { Name = "retention.ms", Value = "86400000", IncrementalOperation = AlterConfigOpType.Set },
                new ConfigEntry { Name = "cleanup.policy", Value = "compact", IncrementalOperation = AlterConfigOpType.Append }],
        });
        var configs = (await admin.DescribeConfigsAsync([resource]))[0].Entries;
        result["retentionMs"] = configs["retention.ms"].Value;
        result["retentionSource"] = configs["retention.ms"].Source.ToString();
        result["cleanupPolicy"] = configs["cleanup.policy"].Value;
        result["segmentBytesIsDefault"] = configs["segment.bytes"].IsDefault;
        var deleted = await admin.DeleteRecordsAsync([new TopicPartitionOffset("cs-orders", 0, 0)]);
        result["lowWatermark"] = deleted[0].Offset.Value;
        var cluster = await admin.DescribeClusterAsync();
        result["clusterBrokers"] = cluster.Nodes.Count;

        var errors = new Dictionary<string, int>
        {
            ["replicationFactor"] = await CreateError(admin, new TopicSpecification { Name = "cs-rf", NumPartitions = 1, ReplicationFactor = 3 }),
            ["exists"] = await CreateError(admin, new TopicSpecification { Name = "cs-orders", NumPartitions = 1, ReplicationFactor = 1 }),
            ["invalidConfig"] = await CreateError(admin, new TopicSpecification { Name = "cs-bad", NumPartitions = 1, ReplicationFactor = 1, Configs = new() { ["no.such.config"] = "1" } }),
            ["invalidValue"] = await CreateError(admin, new TopicSpecification { Name = "cs-bad", NumPartitions = 1, ReplicationFactor = 1, Configs = new() { ["min.insync.replicas"] = "0" } }),
            ["invalidName"] = await CreateError(admin, new TopicSpecification { Name = "bad/name", NumPartitions = 1, ReplicationFactor = 1 }),
            ["decrease"] = await Error(() => admin.CreatePartitionsAsync([new PartitionsSpecification { Topic = "cs-orders", IncreaseTo = 2 }])),
            ["deleteUnknown"] = await Error(() => admin.DeleteTopicsAsync(["cs-missing"])),
            ["alterUnknownConfig"] = await Error(() => admin.IncrementalAlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>>
            {
                [resource] = [new ConfigEntry { Name = "no.such.config", Value = "1", IncrementalOperation = AlterConfigOpType.Set }],
            })),
            ["deleteRecordsBeyondEnd"] = await Error(() => admin.DeleteRecordsAsync([new TopicPartitionOffset("cs-orders", 0, 1000)])),
        };
        result["errors"] = errors;
        await admin.DeleteTopicsAsync(["cs-orders"]);
        result["listedAfterDelete"] = admin.GetMetadata(TimeSpan.FromSeconds(10)).Topics.Select(t => t.Topic).Order().ToList();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = "cs-orders", NumPartitions = 2, ReplicationFactor = 1 }]);
        result["recreatedPartitions"] = (await admin.DescribeTopicsAsync(TopicCollection.OfTopicNames(["cs-orders"]))).TopicDescriptions[0].Partitions.Count;
        return result;
    }

    private static Task<int> CreateError(IAdminClient admin, TopicSpecification spec) => Error(() => admin.CreateTopicsAsync([spec]));

    private static async Task<int> Error(Func<Task> call)
    {
        try
        {
            await call();
            return 0;
        }
        catch (CreateTopicsException e)
        {
            return (int)e.Results[0].Error.Code;
        }
        catch (CreatePartitionsException e)
        {
            return (int)e.Results[0].Error.Code;
        }
        catch (DeleteTopicsException e)
        {
            return (int)e.Results[0].Error.Code;
        }
        catch (IncrementalAlterConfigsException e)
        {
            return (int)e.Results[0].Error.Code;
        }
        catch (DeleteRecordsException e)
        {
            return (int)e.Results[0].Error.Code;
        }
    }
}
