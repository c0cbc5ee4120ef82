using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Metadata.Tests;

/// <summary>
/// Kafka's cap of 10,000 partitions per CreateTopics request (<c>ReplicationControlManager.MAX_PARTITIONS_PER_BATCH</c>,
/// <c>ReplicationControlManagerTest.testExcessiveNumberOfTopicsCannotBeCreated</c>), and the same cap on CreatePartitions.
/// </summary>
public sealed class PartitionLimitTests
{
    private static readonly MetadataImage Image =
        MetadataImage.Empty("c").WithBroker(new BrokerRegistration(1, [new BrokerEndpoint("PLAINTEXT", "localhost", 9092)], null));

    private static CreateTopicsRequest.CreatableTopic Topic(string name, int partitions) => new() { Name = name, NumPartitions = partitions, ReplicationFactor = 1 };

    [Fact]
    public void CreateTopics_OverTenThousandPartitionsAcrossTopics_RefusesEveryTopicWithPolicyViolation()
    {
        // Kafka's own case: 5,000 + 5,000 + 1; "baz" alone would be fine, the request is refused whole.
        var request = new CreateTopicsRequest { Topics = [Topic("foo", 5000), Topic("bar", 5000), Topic("baz", 1)] };
        var result = ReplicationControlManager.CreateTopics(Image, request, new ControllerOptions());
        Assert.Empty(result.Records);
        Assert.Equal(["foo", "bar", "baz"], result.Response.Topics.Select(t => t.Name));
        Assert.All(result.Response.Topics, t =>
        {
            Assert.Equal((short)ErrorCode.PolicyViolation, t.ErrorCode);
            Assert.Equal("Excessively large number of partitions per request.", t.ErrorMessage);
        });
    }

    [Fact]
    public void CreateTopics_ExactlyTenThousandPartitions_IsCreated()
    {
        var request = new CreateTopicsRequest { Topics = [Topic("foo", 5000), Topic("bar", 5000)] };
        var result = ReplicationControlManager.CreateTopics(Image, request, new ControllerOptions());
        Assert.All(result.Response.Topics, t => Assert.Equal(0, t.ErrorCode));
        Assert.Equal(10_002, result.Records.Count);
    }

    [Fact]
    public void CreateTopics_CountsDefaultPartitionsAndAssignments_AsKafkaDoes()
    {
        // -1 takes num.partitions (9,999 here) and a manual assignment counts its entries: 9,999 + 2 > 10,000.
        var assigned = new CreateTopicsRequest.CreatableTopic { Name = "baz", NumPartitions = -1, ReplicationFactor = -1 };
        assigned.Assignments.Add(new() { PartitionIndex = 0, BrokerIds = [1] });
        assigned.Assignments.Add(new() { PartitionIndex = 1, BrokerIds = [1] });
        var request = new CreateTopicsRequest { Topics = [new() { Name = "foo", NumPartitions = -1, ReplicationFactor = 1 }, assigned] };
        var result = ReplicationControlManager.CreateTopics(Image, request, new ControllerOptions { NumPartitions = 9999 });
        Assert.All(result.Response.Topics, t => Assert.Equal((short)ErrorCode.PolicyViolation, t.ErrorCode));

        // A single topic asking for int.MaxValue partitions is refused before any placement is attempted.
        var huge = ReplicationControlManager.CreateTopics(Image, new CreateTopicsRequest { Topics = [Topic("huge", int.MaxValue), Topic("huge2", int.MaxValue)] }, new ControllerOptions());
        Assert.All(huge.Response.Topics, t => Assert.Equal((short)ErrorCode.PolicyViolation, t.ErrorCode));
    }

    [Fact]
    public void CreatePartitions_OverTenThousandNewPartitions_RefusesTheRequestWhole()
    {
        var delta = new MetadataDelta(Image);
        var created = ReplicationControlManager.CreateTopics(Image, new CreateTopicsRequest { Topics = [Topic("a", 2), Topic("b", 1)] }, new ControllerOptions());
        for (var i = 0; i < created.Records.Count; i++)
        {
            delta.Replay(created.Records[i], i);
        }
        var image = delta.Apply();

        // 5,000 more for "a" and 5,001 more for "b": 10,001 new partitions in one request.
        var request = new CreatePartitionsRequest { Topics = [new() { Name = "a", Count = 5002 }, new() { Name = "b", Count = 5002 }] };
        var refused = ReplicationControlManager.CreatePartitions(image, request);
        Assert.Empty(refused.Records);
        Assert.All(refused.Response.Results, r =>
        {
            Assert.Equal((short)ErrorCode.PolicyViolation, r.ErrorCode);
            Assert.Equal("Excessively large number of partitions per request.", r.ErrorMessage);
        });

        request.Topics[1].Count = 5001;
        var accepted = ReplicationControlManager.CreatePartitions(image, request);
        Assert.All(accepted.Response.Results, r => Assert.Equal(0, r.ErrorCode));
        Assert.Equal(10_000, accepted.Records.Count);
    }
}
