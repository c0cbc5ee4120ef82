using System.Text;
using System.Text.Json.Nodes;
using Samsa.Protocol;

namespace Samsa.Cli.DumpLog;

/// <summary>
/// Kafka's <c>DumpLogSegments.MessageParser</c>: turns a record's key and value into the text printed after
/// <c>key: </c> and <c>payload: </c> (null leaves the part out).
/// </summary>
internal interface IRecordParser
{
    (string? Key, string? Value) Parse(long offset, ReadOnlySpan<byte> key, bool keyIsNull, ReadOnlySpan<byte> value, bool valueIsNull);
}

/// <summary>The default <c>DecoderMessageParser</c> with Kafka's <c>StringDecoder</c>: the bytes as UTF-8 text.</summary>
internal sealed class StringDecoderParser : IRecordParser
{
    public (string? Key, string? Value) Parse(long offset, ReadOnlySpan<byte> key, bool keyIsNull, ReadOnlySpan<byte> value, bool valueIsNull) =>
        (keyIsNull ? null : Encoding.UTF8.GetString(key), valueIsNull ? null : Encoding.UTF8.GetString(value));
}

/// <summary>
/// Kafka's <c>CoordinatorRecordMessageParser</c> (the <c>--offsets-decoder</c>, <c>--transaction-log-decoder</c> and
/// <c>--share-group-state-decoder</c>): the key is <c>int16 record type | key struct</c>, the value
/// <c>int16 version | value struct</c> or null for a tombstone. Printed as
/// <c>{"type":"1","data":{...}}</c> and <c>{"version":"3","data":{...}}</c> (type and version as JSON text, as Kafka's
/// <c>TextNode</c>s), <c>&lt;DELETE&gt;</c> for a tombstone.
/// </summary>
internal sealed class CoordinatorRecordParser : IRecordParser
{
    private readonly Dictionary<short, (MessageSchema Key, MessageSchema Value)> _types = [];

    /// <param name="folder">The schema folder: group-coordinator, transaction-coordinator or share-coordinator.</param>
    public CoordinatorRecordParser(string folder)
    {
        // These schemas give each key the record types it is written with as its versions (OffsetCommitKey: 0-1).
        foreach (var key in MessageSchema.In(folder).Where(s => s.Name.EndsWith("Key", StringComparison.Ordinal)))
        {
            var value = MessageSchema.Get(folder, key.Name[..^3] + "Value");
            for (var type = key.ValidVersions.Low; type <= key.ValidVersions.High; type++)
            {
                _types[type] = (key, value);
            }
        }
    }

    public (string? Key, string? Value) Parse(long offset, ReadOnlySpan<byte> key, bool keyIsNull, ReadOnlySpan<byte> value, bool valueIsNull)
    {
        if (keyIsNull)
        {
            throw new CommandException($"Failed to decode message at offset {offset} using the specified decoder (message had a missing key)");
        }
        try
        {
            var keyReader = new ProtocolReader(key);
            var type = keyReader.ReadInt16();
            if (!_types.TryGetValue(type, out var schemas))
            {
                return ($"Unknown record type {type} at offset {offset}, skipping.", null);
            }
            var keyJson = new JsonObject { ["type"] = type.ToString(System.Globalization.CultureInfo.InvariantCulture), ["data"] = schemas.Key.Read(ref keyReader, type) };
            if (valueIsNull)
            {
                return (JacksonText.Write(keyJson), "<DELETE>");
            }
            var valueReader = new ProtocolReader(value);
            var version = valueReader.ReadInt16();
            var data = schemas.Value.Read(ref valueReader, version);
            if (schemas.Value.Name == "GroupMetadataValue")
            {
                DecodeConsumerProtocol(data);
            }
            var valueJson = new JsonObject { ["version"] = version.ToString(System.Globalization.CultureInfo.InvariantCulture), ["data"] = data };
            return (JacksonText.Write(keyJson), JacksonText.Write(valueJson));
        }
        catch (Exception e) when (e is ProtocolException or InvalidOperationException or FormatException)
        {
            return ($"Error at offset {offset}, skipping. {e.Message}", null);
        }
    }

    /// <summary>
    /// A classic group of protocol type <c>consumer</c> keeps each member's subscription and assignment as
    /// <c>int16 version | ConsumerProtocolSubscription/Assignment</c> bytes; Kafka prints them decoded, and keeps the
    /// base64 when they do not decode.
    /// </summary>
    private static void DecodeConsumerProtocol(JsonObject data)
    {
        if (data["protocolType"]?.GetValue<string>() != "consumer" || data["members"] is not JsonArray members)
        {
            return;
        }
        foreach (var member in members.OfType<JsonObject>())
        {
            Replace(member, "subscription", "ConsumerProtocolSubscription");
            Replace(member, "assignment", "ConsumerProtocolAssignment");
        }
    }

    private static void Replace(JsonObject member, string field, string schema)
    {
        if (member[field]?.GetValue<string>() is not { } base64)
        {
            return;
        }
        try
        {
            var reader = new ProtocolReader(Convert.FromBase64String(base64));
            var version = reader.ReadInt16();
            member[field] = MessageSchema.Get("messages", schema).Read(ref reader, version);
        }
        catch (Exception e) when (e is ProtocolException or FormatException)
        {
            // Kafka swallows the failure and keeps the original bytes.
        }
    }
}

/// <summary>
/// Kafka's <c>ClusterMetadataLogMessageParser</c>: a metadata record's value is
/// <c>uvarint frame version (1) | uvarint record type | uvarint version | record</c> (<c>MetadataRecordSerde</c>),
/// printed as <c>{"type":"TOPIC_RECORD","version":0,"data":{...}}</c>; there is no key.
/// </summary>
internal sealed class ClusterMetadataParser : IRecordParser
{
    private readonly Dictionary<short, MessageSchema> _types = MessageSchema.In("metadata").ToDictionary(s => s.ApiKey);

    public (string? Key, string? Value) Parse(long offset, ReadOnlySpan<byte> key, bool keyIsNull, ReadOnlySpan<byte> value, bool valueIsNull)
    {
        try
        {
            var reader = new ProtocolReader(value);
            var frame = reader.ReadUnsignedVarInt();
            if (frame != 1)
            {
                throw new ProtocolException($"Could not deserialize metadata record due to unknown frame version {frame}(must be 1)");
            }
            var type = (short)reader.ReadUnsignedVarInt();
            var version = (short)reader.ReadUnsignedVarInt();
            if (!_types.TryGetValue(type, out var schema))
            {
                throw new ProtocolException($"Unknown metadata id {type}");
            }
            var json = new JsonObject { ["type"] = TypeName(schema.Name), ["version"] = (int)version, ["data"] = schema.Read(ref reader, version) };
            return (null, JacksonText.Write(json));
        }
        catch (Exception e) when (e is ProtocolException or InvalidOperationException)
        {
            return (null, $"Error at {offset}, skipping. {e.Message}");
        }
    }

    /// <summary><c>MetadataRecordType</c>'s constant for a schema: <c>TopicRecord</c> → <c>TOPIC_RECORD</c>.</summary>
    internal static string TypeName(string schemaName)
    {
        var builder = new StringBuilder();
        for (var i = 0; i < schemaName.Length; i++)
        {
            if (i > 0 && char.IsUpper(schemaName[i]) && !char.IsUpper(schemaName[i - 1]))
            {
                builder.Append('_');
            }
            builder.Append(char.ToUpperInvariant(schemaName[i]));
        }
        return builder.ToString();
    }
}
