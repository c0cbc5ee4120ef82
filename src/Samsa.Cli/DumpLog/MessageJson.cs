using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Samsa.Protocol;

namespace Samsa.Cli.DumpLog;

/// <summary>
/// Kafka's generated <c>*JsonConverter.write</c>, driven by the message's JSON schema instead of generated code:
/// reads one message of a given version from its wire bytes and returns the JSON node Kafka's converter builds
/// (fields named in camelCase in schema order; fields absent from the version left out; tagged fields only when
/// present; int64/uint32 as numbers, uuid as Kafka's base64 text, bytes as base64). The schemas' structure comes from
/// <see cref="SchemaStructures"/>, generated from Kafka's schemas with the protocol code (no schema file is committed).
/// </summary>
internal sealed class MessageSchema
{
    private static readonly JsonDocumentOptions SchemaOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };
    private static readonly Lazy<Dictionary<string, MessageSchema>> All = new(LoadAll);

    private readonly Dictionary<string, JsonElement> _commonStructs = new(StringComparer.Ordinal);

    private MessageSchema(string folder, JsonElement root)
    {
        Folder = folder;
        Name = root.GetProperty("name").GetString()!;
        ValidVersions = VersionRange.Parse(root.GetProperty("validVersions").GetString()!);
        FlexibleVersions = VersionRange.Parse(root.TryGetProperty("flexibleVersions", out var f) ? f.GetString()! : "none");
        ApiKey = root.TryGetProperty("apiKey", out var key) ? key.GetInt16() : (short)-1;
        Fields = root.GetProperty("fields").Clone();
        if (root.TryGetProperty("commonStructs", out var common))
        {
            foreach (var s in common.EnumerateArray())
            {
                _commonStructs[s.GetProperty("name").GetString()!] = s.GetProperty("fields").Clone();
            }
        }
    }

    public string Folder { get; }
    public string Name { get; }
    public short ApiKey { get; }
    public VersionRange ValidVersions { get; }
    private VersionRange FlexibleVersions { get; }
    private JsonElement Fields { get; }

    public static MessageSchema Get(string folder, string name) =>
        All.Value.TryGetValue(folder + "/" + name, out var schema) ? schema : throw new InvalidOperationException($"No schema {folder}/{name}");

    public static IEnumerable<MessageSchema> In(string folder) => All.Value.Values.Where(s => s.Folder == folder);

    /// <summary>Reads the message at <paramref name="version"/> and returns Kafka's JSON form of it.</summary>
    public JsonObject Read(ref ProtocolReader reader, short version)
    {
        if (!ValidVersions.Contains(version))
        {
            throw new UnsupportedVersionException($"Can't read version {version} of {Name}");
        }
        return ReadStruct(ref reader, Fields, version, FlexibleVersions.Contains(version));
    }

    private JsonObject ReadStruct(ref ProtocolReader reader, JsonElement fields, short version, bool flexible)
    {
        var values = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        var tagged = new Dictionary<int, JsonElement>();
        foreach (var field in fields.EnumerateArray())
        {
            // A tagged-only field may leave out "versions"; Kafka's FieldSpec then takes its taggedVersions.
            var versions = field.TryGetProperty("versions", out _) ? VersionRange.Of(field, "versions") : VersionRange.Of(field, "taggedVersions");
            if (!versions.Contains(version))
            {
                continue;
            }
            if (flexible && VersionRange.Of(field, "taggedVersions").Contains(version))
            {
                tagged[field.GetProperty("tag").GetInt32()] = field;
                continue;
            }
            values[CamelCase(field)] = ReadField(ref reader, field, field.GetProperty("type").GetString()!, version, flexible);
        }
        if (flexible)
        {
            var count = reader.ReadTaggedFieldCount();
            for (var i = 0; i < count; i++)
            {
                var tag = (int)reader.ReadUnsignedVarInt();
                var size = reader.ReadTaggedFieldSize();
                if (tagged.TryGetValue(tag, out var field))
                {
                    var start = reader.Position;
                    values[CamelCase(field)] = ReadField(ref reader, field, field.GetProperty("type").GetString()!, version, flexible);
                    reader.ExpectPosition(start + size, $"tagged field {tag} of {Name}");
                }
                else
                {
                    reader.Skip(size);
                }
            }
        }
        // Kafka's converter sets the fields in schema order, tagged ones among them.
        var node = new JsonObject();
        foreach (var field in fields.EnumerateArray())
        {
            var name = CamelCase(field);
            if (values.Remove(name, out var value))
            {
                node[name] = value;
            }
        }
        return node;
    }

    private JsonNode? ReadField(ref ProtocolReader reader, JsonElement field, string type, short version, bool flexible)
    {
        var nullable = VersionRange.Of(field, "nullableVersions").Contains(version);
        switch (type)
        {
            case "bool": return JsonValue.Create(reader.ReadBool());
            case "int8": return JsonValue.Create((int)reader.ReadInt8());
            case "int16": return JsonValue.Create((int)reader.ReadInt16());
            case "uint16": return JsonValue.Create((int)reader.ReadUInt16());
            case "int32": return JsonValue.Create(reader.ReadInt32());
            case "uint32": return JsonValue.Create((long)reader.ReadUInt32());
            case "int64": return JsonValue.Create(reader.ReadInt64());
            case "float64": return JsonValue.Create(reader.ReadFloat64());
            case "uuid": return JsonValue.Create(reader.ReadUuid().ToString());
            case "string":
                return (flexible ? reader.ReadCompactNullableString() : reader.ReadNullableString()) is { } text ? JsonValue.Create(text) : NullOrThrow(nullable, field);
            case "bytes":
            case "records":
                var length = flexible ? reader.ReadCompactBytesLength() : reader.ReadBytesLength();
                return length < 0 ? NullOrThrow(nullable, field) : JsonValue.Create(Convert.ToBase64String(reader.ReadSpan(length)));
        }
        if (type.StartsWith("[]", StringComparison.Ordinal))
        {
            var count = flexible ? reader.ReadCompactArrayLength() : reader.ReadArrayLength();
            if (count < 0)
            {
                return NullOrThrow(nullable, field);
            }
            var element = type[2..];
            var array = new JsonArray();
            for (var i = 0; i < count; i++)
            {
                array.Add(IsPrimitive(element) ? ReadField(ref reader, field, element, version, flexible) : ReadStruct(ref reader, StructFields(field, element), version, flexible));
            }
            return array;
        }
        if (nullable && reader.ReadInt8() < 0)
        {
            return null;
        }
        return ReadStruct(ref reader, StructFields(field, type), version, flexible);
    }

    private JsonElement StructFields(JsonElement field, string type) =>
        field.TryGetProperty("fields", out var inline) ? inline
        : _commonStructs.TryGetValue(type, out var common) ? common
        : throw new ProtocolException($"Unknown type {type} in {Name}");

    private static JsonNode? NullOrThrow(bool nullable, JsonElement field) =>
        nullable ? null : throw new ProtocolException($"non-nullable field {CamelCase(field)} was serialized as null");

    private static bool IsPrimitive(string type) =>
        type is "bool" or "int8" or "int16" or "uint16" or "int32" or "uint32" or "int64" or "float64" or "uuid" or "string" or "bytes" or "records";

    private static string CamelCase(JsonElement field)
    {
        var name = field.GetProperty("name").GetString()!;
        return char.ToLowerInvariant(name[0]) + name[1..];
    }

    private static Dictionary<string, MessageSchema> LoadAll()
    {
        var schemas = new Dictionary<string, MessageSchema>(StringComparer.Ordinal);
        foreach (var (key, structure) in SchemaStructures.All)
        {
            using var document = JsonDocument.Parse(structure, SchemaOptions);
            var schema = new MessageSchema(key[..key.IndexOf('/', StringComparison.Ordinal)], document.RootElement);
            schemas[key] = schema;
        }
        return schemas;
    }
}

/// <summary>A schema version range: <c>0+</c>, <c>1-3</c>, <c>2</c> or <c>none</c>.</summary>
internal readonly record struct VersionRange(short Low, short High)
{
    private static readonly VersionRange None = new(1, 0);

    public bool Contains(short version) => version >= Low && version <= High;

    public static VersionRange Of(JsonElement field, string property) =>
        field.TryGetProperty(property, out var value) ? Parse(value.GetString()!) : None;

    public static VersionRange Parse(string text)
    {
        text = text.Trim();
        if (text == "none")
        {
            return None;
        }
        if (text.EndsWith('+'))
        {
            return new(short.Parse(text[..^1], CultureInfo.InvariantCulture), short.MaxValue);
        }
        var dash = text.IndexOf('-', StringComparison.Ordinal);
        return dash < 0
            ? new(short.Parse(text, CultureInfo.InvariantCulture), short.Parse(text, CultureInfo.InvariantCulture))
            : new(short.Parse(text[..dash], CultureInfo.InvariantCulture), short.Parse(text[(dash + 1)..], CultureInfo.InvariantCulture));
    }
}

/// <summary>Writes a JSON node as Jackson's <c>JsonNode.toString()</c> does: compact, non-ASCII text unescaped, doubles as Java prints them.</summary>
internal static class JacksonText
{
    public static string Write(JsonNode? node)
    {
        var builder = new StringBuilder();
        Append(builder, node);
        return builder.ToString();
    }

    private static void Append(StringBuilder builder, JsonNode? node)
    {
        switch (node)
        {
            case null:
                builder.Append("null");
                break;
            case JsonObject obj:
                builder.Append('{');
                var first = true;
                foreach (var (key, value) in obj)
                {
                    builder.Append(first ? "" : ",");
                    first = false;
                    AppendString(builder, key);
                    builder.Append(':');
                    Append(builder, value);
                }
                builder.Append('}');
                break;
            case JsonArray array:
                builder.Append('[');
                for (var i = 0; i < array.Count; i++)
                {
                    builder.Append(i == 0 ? "" : ",");
                    Append(builder, array[i]);
                }
                builder.Append(']');
                break;
            case JsonValue value when value.TryGetValue<string>(out var text):
                AppendString(builder, text);
                break;
            case JsonValue value when value.TryGetValue<bool>(out var flag):
                builder.Append(flag ? "true" : "false");
                break;
            case JsonValue value when value.TryGetValue<double>(out var number):
                builder.Append(JavaDouble(number));
                break;
            default:
                builder.Append(node.ToJsonString());
                break;
        }
    }

    /// <summary>Java's <c>Double.toString</c> for the values a record holds: always a fraction part.</summary>
    private static string JavaDouble(double value)
    {
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        return text.Contains('.', StringComparison.Ordinal) || text.Contains('E', StringComparison.Ordinal) || !double.IsFinite(value) ? text : text + ".0";
    }

    private static void AppendString(StringBuilder builder, string text)
    {
        builder.Append('"');
        foreach (var c in text)
        {
            switch (c)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                case '\b': builder.Append("\\b"); break;
                case '\f': builder.Append("\\f"); break;
                case < ' ': builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}"); break;
                default: builder.Append(c); break;
            }
        }
        builder.Append('"');
    }
}
