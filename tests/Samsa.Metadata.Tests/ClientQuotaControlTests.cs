using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Metadata.Tests;

/// <summary>AlterClientQuotas at the controller (Kafka's ClientQuotaControlManager), and the quotas' replay and snapshot.</summary>
public sealed class ClientQuotaControlTests
{
    private static AlterClientQuotasRequest.EntryData Entry(IEnumerable<(string Type, string? Name)> entity, params (string Key, double? Value)[] ops) => new()
    {
        Entity = [.. entity.Select(e => new AlterClientQuotasRequest.EntityData { EntityType = e.Type, EntityName = e.Name })],
        Ops = [.. ops.Select(o => new AlterClientQuotasRequest.OpData { Key = o.Key, Value = o.Value ?? 0, Remove = o.Value is null })],
    };

    private static (string, string?)[] User(string? name) => [("user", name)];

    private static MetadataImage Apply(MetadataImage image, IEnumerable<MetadataRecord> records)
    {
        var delta = new MetadataDelta(image);
        var offset = image.Offset;
        foreach (var record in records)
        {
            delta.Replay(record, ++offset);
        }
        return delta.Apply();
    }

    [Fact]
    public void Alter_RefusesBadEntitiesKeysAndValues_WithKafkasMessages()
    {
        var result = ClientQuotaControlManager.AlterClientQuotas(MetadataImage.Empty("c"), new AlterClientQuotasRequest
        {
            Entries =
            [
                Entry([]),
                Entry([("group", "g")], ("producer_byte_rate", 1)),
                Entry([("user", "a"), ("user", "b")], ("producer_byte_rate", 1)),
                Entry(User(""), ("producer_byte_rate", 1)),
                Entry([("user", "u"), ("ip", "1.2.3.4")], ("producer_byte_rate", 1)),
                Entry([("ip", "not an address")], ("connection_creation_rate", 1)),
                Entry(User("k"), ("connection_creation_rate", 5)),
                Entry([("ip", null)], ("producer_byte_rate", 5)),
                Entry(User("z"), ("producer_byte_rate", 0)),
                Entry(User("f"), ("producer_byte_rate", 1.5)),
                Entry([("ip", "10.0.0.1")], ("connection_creation_rate", 3e9)),
                Entry(User("d"), ("producer_byte_rate", 1), ("producer_byte_rate", 2)),
                Entry([("client-id", "ok")], ("request_percentage", 12.5), ("consumer_byte_rate", 1024)),
            ],
        });
        var answers = result.Response.Entries.Select(e => ((ErrorCode)e.ErrorCode, e.ErrorMessage)).ToList();
        Assert.Equal(
        [
            (ErrorCode.InvalidRequest, "Invalid empty client quota entity"),
            (ErrorCode.InvalidRequest, "Unhandled client quota entity type: group"),
            (ErrorCode.InvalidRequest, "Invalid client quota entity, duplicate entity entry user"),
            (ErrorCode.InvalidRequest, "Empty user not supported"),
            (ErrorCode.InvalidRequest, "Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId"),
            (ErrorCode.InvalidRequest, "not an address is not a valid IP or resolvable host."),
            (ErrorCode.InvalidRequest, "Invalid configuration key connection_creation_rate"),
            (ErrorCode.InvalidRequest, "Invalid configuration key producer_byte_rate"),
            (ErrorCode.InvalidRequest, "Quota producer_byte_rate must be greater than 0"),
            (ErrorCode.InvalidRequest, "producer_byte_rate cannot be a fractional value."),
            (ErrorCode.InvalidRequest, "Proposed value for connection_creation_rate is too large for an INT."),
            (ErrorCode.InvalidRequest, "Duplicate quota key producer_byte_rate not updating quota for this entity ClientQuotaEntity(entries={user=d})"),
            (ErrorCode.None, null),
        ], answers);
        Assert.Equal(2, result.Records.Count);
        Assert.All(result.Records, r => Assert.Equal("ok", ((ClientQuotaRecord)r.Message).Entity.Single().EntityName));
    }

    [Fact]
    public void Alter_WritesOnlyChanges_RemovesOnlyWhatIsSet_AndValidateOnlyWritesNothing()
    {
        var entity = new[] { ("user", (string?)"u"), ("client-id", (string?)null) };
        var first = ClientQuotaControlManager.AlterClientQuotas(MetadataImage.Empty("c"), new() { Entries = [Entry(entity, ("producer_byte_rate", 1048576))] });
        var image = Apply(MetadataImage.Empty("c"), first.Records);
        Assert.True(image.TryGetClientQuota(ClientQuotaEntity.OfUserAndClientId("u", null), "producer_byte_rate", out var value));
        Assert.Equal(1048576, value);

        var same = ClientQuotaControlManager.AlterClientQuotas(image, new() { Entries = [Entry(entity, ("producer_byte_rate", 1048576), ("consumer_byte_rate", null))] });
        Assert.Equal(ErrorCode.None, (ErrorCode)same.Response.Entries.Single().ErrorCode);
        Assert.Empty(same.Records);

        var validateOnly = ClientQuotaControlManager.AlterClientQuotas(image, new() { ValidateOnly = true, Entries = [Entry(entity, ("producer_byte_rate", null))] });
        Assert.Equal(ErrorCode.None, (ErrorCode)validateOnly.Response.Entries.Single().ErrorCode);
        Assert.Empty(validateOnly.Records);

        var remove = ClientQuotaControlManager.AlterClientQuotas(image, new() { Entries = [Entry(entity, ("producer_byte_rate", null))] });
        Assert.True(((ClientQuotaRecord)Assert.Single(remove.Records).Message).Remove);
        Assert.Empty(Apply(image, remove.Records).ClientQuotas);
    }

    [Fact]
    public void Replay_EntityComponentsInAnyOrder_AreOneEntity_AndTheSnapshotRoundTrips()
    {
        var image = Apply(MetadataImage.Empty("c"),
        [
            MetadataRecord.Of(new ClientQuotaRecord { Entity = [new() { EntityType = "client-id", EntityName = "c" }, new() { EntityType = "user", EntityName = "u" }], Key = "producer_byte_rate", Value = 100 }),
            MetadataRecord.Of(new ClientQuotaRecord { Entity = [new() { EntityType = "user", EntityName = "u" }, new() { EntityType = "client-id", EntityName = "c" }], Key = "consumer_byte_rate", Value = 200 }),
            MetadataRecord.Of(new ClientQuotaRecord { Entity = [new() { EntityType = "user", EntityName = null }], Key = "request_percentage", Value = 12.5 }),
            MetadataRecord.Of(new ClientQuotaRecord { Entity = [new() { EntityType = "ip", EntityName = "10.0.0.1" }], Key = "connection_creation_rate", Value = 7 }),
            MetadataRecord.Of(new ClientQuotaRecord { Entity = [new() { EntityType = "ip", EntityName = "10.0.0.1" }], Key = "connection_creation_rate", Remove = true }),
        ]);
        Assert.Equal(2, image.ClientQuotas.Count);
        Assert.Equal(2, image.ClientQuotas[ClientQuotaEntity.OfUserAndClientId("u", "c")].Count);

        // Through the serde, as a snapshot file holds them.
        var records = MetadataSnapshots.Records(image).Where(r => r.Message is ClientQuotaRecord)
            .Select(r => MetadataRecordSerde.Deserialize(MetadataRecordSerde.Serialize(r))).ToList();
        Assert.Equal(3, records.Count);
        var reloaded = Apply(MetadataImage.Empty("c"), records);
        Assert.Equal(image.ClientQuotas.Keys, reloaded.ClientQuotas.Keys);
        Assert.True(reloaded.TryGetClientQuota(ClientQuotaEntity.OfUser(null), "request_percentage", out var percentage));
        Assert.Equal(12.5, percentage);
    }

    [Fact]
    public async Task Controller_CommitsQuotas_ThroughTheLog()
    {
        using var harness = new ControllerHarness();
        var response = await harness.Controller.AlterClientQuotasAsync(new() { Entries = [Entry([("client-id", "slow")], ("producer_byte_rate", 1048576))] }, default);
        Assert.Equal(0, response.Entries.Single().ErrorCode);
        Assert.True(harness.Image.TryGetClientQuota(ClientQuotaEntity.OfClientId("slow"), "producer_byte_rate", out var quota));
        Assert.Equal(1048576, quota);
    }
}
