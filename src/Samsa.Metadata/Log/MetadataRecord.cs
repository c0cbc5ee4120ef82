using Samsa.Protocol;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Metadata.Log;

/// <summary>
/// One metadata record and the schema version it is written in (Kafka's <c>ApiMessageAndVersion</c>).
/// </summary>
public readonly record struct MetadataRecord(IProtocolMessage Message, short Version)
{
    public static MetadataRecord Of(TopicRecord r) => new(r, 0);
    public static MetadataRecord Of(PartitionRecord r) => new(r, 0);
    public static MetadataRecord Of(PartitionChangeRecord r) => new(r, 0);
    public static MetadataRecord Of(ConfigRecord r) => new(r, 0);
    public static MetadataRecord Of(RemoveTopicRecord r) => new(r, 0);
    public static MetadataRecord Of(FeatureLevelRecord r) => new(r, 0);
    public static MetadataRecord Of(RegisterBrokerRecord r) => new(r, 3);
    public static MetadataRecord Of(NoOpRecord r) => new(r, 0);
    public static MetadataRecord Of(ProducerIdsRecord r) => new(r, 0);
    public static MetadataRecord Of(UnregisterBrokerRecord r) => new(r, 0);
    public static MetadataRecord Of(FenceBrokerRecord r) => new(r, 0);
    public static MetadataRecord Of(UnfenceBrokerRecord r) => new(r, 0);
    public static MetadataRecord Of(BrokerRegistrationChangeRecord r) => new(r, 2);
    public static MetadataRecord Of(AccessControlEntryRecord r) => new(r, 0);
    public static MetadataRecord Of(RemoveAccessControlEntryRecord r) => new(r, 0);
    public static MetadataRecord Of(UserScramCredentialRecord r) => new(r, 0);
    public static MetadataRecord Of(RemoveUserScramCredentialRecord r) => new(r, 0);
    public static MetadataRecord Of(ClientQuotaRecord r) => new(r, 0);
}

/// <summary>
/// Kafka's <c>MetadataRecordSerde</c>: the value of each record in <c>__cluster_metadata</c> is
/// <c>frame version (uvarint, 1) | api key (uvarint) | version (uvarint) | the record in that version</c>.
/// The log therefore holds the same bytes Kafka's controller writes, record for record.
/// </summary>
public static class MetadataRecordSerde
{
    public const uint FrameVersion = 1;

    public static byte[] Serialize(MetadataRecord record)
    {
        var apiKey = (uint)ApiKeyOf(record.Message);
        var version = (uint)record.Version;
        var size = ProtocolSize.UnsignedVarInt(FrameVersion) + ProtocolSize.UnsignedVarInt(apiKey) + ProtocolSize.UnsignedVarInt(version) + record.Message.Size(record.Version);
        var buffer = new byte[size];
        var writer = new ProtocolWriter(buffer);
        writer.WriteUnsignedVarInt(FrameVersion);
        writer.WriteUnsignedVarInt(apiKey);
        writer.WriteUnsignedVarInt(version);
        record.Message.Write(ref writer, record.Version);
        return buffer;
    }

    public static MetadataRecord Deserialize(ReadOnlyMemory<byte> bytes)
    {
        var reader = new ProtocolReader(bytes);
        var frame = reader.ReadUnsignedVarInt();
        if (frame != FrameVersion)
        {
            throw new ProtocolException($"Unknown metadata record frame version {frame}");
        }
        var apiKey = (short)reader.ReadUnsignedVarInt();
        var version = (short)reader.ReadUnsignedVarInt();
        var message = Create(apiKey);
        message.Read(ref reader, version);
        if (reader.Remaining != 0)
        {
            throw new ProtocolException($"{reader.Remaining} bytes left after metadata record {message.GetType().Name}");
        }
        return new MetadataRecord(message, version);
    }

    public static short ApiKeyOf(IProtocolMessage message) => message switch
    {
        RegisterBrokerRecord => RegisterBrokerRecord.SchemaApiKey,
        TopicRecord => TopicRecord.SchemaApiKey,
        PartitionRecord => PartitionRecord.SchemaApiKey,
        ConfigRecord => ConfigRecord.SchemaApiKey,
        PartitionChangeRecord => PartitionChangeRecord.SchemaApiKey,
        RemoveTopicRecord => RemoveTopicRecord.SchemaApiKey,
        FeatureLevelRecord => FeatureLevelRecord.SchemaApiKey,
        NoOpRecord => NoOpRecord.SchemaApiKey,
        ProducerIdsRecord => ProducerIdsRecord.SchemaApiKey,
        UnregisterBrokerRecord => UnregisterBrokerRecord.SchemaApiKey,
        FenceBrokerRecord => FenceBrokerRecord.SchemaApiKey,
        UnfenceBrokerRecord => UnfenceBrokerRecord.SchemaApiKey,
        BrokerRegistrationChangeRecord => BrokerRegistrationChangeRecord.SchemaApiKey,
        AccessControlEntryRecord => AccessControlEntryRecord.SchemaApiKey,
        RemoveAccessControlEntryRecord => RemoveAccessControlEntryRecord.SchemaApiKey,
        UserScramCredentialRecord => UserScramCredentialRecord.SchemaApiKey,
        RemoveUserScramCredentialRecord => RemoveUserScramCredentialRecord.SchemaApiKey,
        ClientQuotaRecord => ClientQuotaRecord.SchemaApiKey,
        _ => throw new ArgumentException($"{message.GetType().Name} is not a metadata record Samsa writes", nameof(message)),
    };

    private static IProtocolMessage Create(short apiKey) => apiKey switch
    {
        RegisterBrokerRecord.SchemaApiKey => new RegisterBrokerRecord(),
        TopicRecord.SchemaApiKey => new TopicRecord(),
        PartitionRecord.SchemaApiKey => new PartitionRecord(),
        ConfigRecord.SchemaApiKey => new ConfigRecord(),
        PartitionChangeRecord.SchemaApiKey => new PartitionChangeRecord(),
        RemoveTopicRecord.SchemaApiKey => new RemoveTopicRecord(),
        FeatureLevelRecord.SchemaApiKey => new FeatureLevelRecord(),
        NoOpRecord.SchemaApiKey => new NoOpRecord(),
        UnregisterBrokerRecord.SchemaApiKey => new UnregisterBrokerRecord(),
        FenceBrokerRecord.SchemaApiKey => new FenceBrokerRecord(),
        UnfenceBrokerRecord.SchemaApiKey => new UnfenceBrokerRecord(),
        BrokerRegistrationChangeRecord.SchemaApiKey => new BrokerRegistrationChangeRecord(),
        ProducerIdsRecord.SchemaApiKey => new ProducerIdsRecord(),
        AccessControlEntryRecord.SchemaApiKey => new AccessControlEntryRecord(),
        RemoveAccessControlEntryRecord.SchemaApiKey => new RemoveAccessControlEntryRecord(),
        UserScramCredentialRecord.SchemaApiKey => new UserScramCredentialRecord(),
        RemoveUserScramCredentialRecord.SchemaApiKey => new RemoveUserScramCredentialRecord(),
        ClientQuotaRecord.SchemaApiKey => new ClientQuotaRecord(),
        _ => throw new ProtocolException($"Unknown metadata record type {apiKey}"),
    };
}
