using System.Text.Json;

namespace Samsa.Protocol.Generator;

/// <summary>One schema file: a request, response, header, data struct or record.</summary>
public sealed class MessageSpec
{
    public required string Name { get; init; }
    public required string Type { get; init; }
    public required string SourceFile { get; init; }
    public short? ApiKey { get; init; }
    public required Versions ValidVersions { get; init; }
    public required Versions FlexibleVersions { get; init; }
    public bool LatestVersionUnstable { get; init; }
    public List<string> Listeners { get; init; } = [];
    public required List<FieldSpec> Fields { get; init; }
    public required List<StructSpec> CommonStructs { get; init; }
}

/// <summary>A named struct: inline in a field or listed under commonStructs.</summary>
public sealed class StructSpec
{
    public required string Name { get; init; }
    public required Versions Versions { get; init; }
    public required List<FieldSpec> Fields { get; init; }
}

public sealed class FieldSpec
{
    public required string Name { get; init; }
    public required string Type { get; init; }
    public required Versions Versions { get; init; }
    public Versions NullableVersions { get; init; } = Versions.None;
    public Versions TaggedVersions { get; init; } = Versions.None;
    public Versions? FlexibleVersions { get; init; }
    public int? Tag { get; init; }
    public string? Default { get; init; }
    public bool Ignorable { get; init; }
    public bool MapKey { get; init; }
    public bool ZeroCopy { get; init; }
    public List<FieldSpec>? Fields { get; init; }

    public bool IsArray => Type.StartsWith("[]", StringComparison.Ordinal);

    public string ElementType => IsArray ? Type[2..] : Type;
}

public static class SchemaLoader
{
    private static readonly JsonDocumentOptions Options = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    public static MessageSpec Load(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path), Options);
            var root = document.RootElement;
            var valid = Versions.Parse(Str(root, "validVersions"), Versions.None);
            return new MessageSpec
            {
                Name = Str(root, "name") ?? throw new InvalidDataException("missing name"),
                Type = Str(root, "type") ?? throw new InvalidDataException("missing type"),
                SourceFile = path,
                ApiKey = root.TryGetProperty("apiKey", out var key) ? key.GetInt16() : null,
                ValidVersions = valid,
                FlexibleVersions = Versions.Parse(Str(root, "flexibleVersions"), Versions.None),
                LatestVersionUnstable = root.TryGetProperty("latestVersionUnstable", out var unstable) && unstable.GetBoolean(),
                Listeners = root.TryGetProperty("listeners", out var listeners) ? listeners.EnumerateArray().Select(l => l.GetString()!).ToList() : [],
                Fields = Fields(root),
                CommonStructs = root.TryGetProperty("commonStructs", out var structs)
                    ? structs.EnumerateArray().Select(s => new StructSpec
                    {
                        Name = Str(s, "name")!,
                        Versions = Versions.Parse(Str(s, "versions"), Versions.All),
                        Fields = Fields(s),
                    }).ToList()
                    : [],
            };
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or FormatException or InvalidOperationException or KeyNotFoundException)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    private static List<FieldSpec> Fields(JsonElement owner) =>
        owner.TryGetProperty("fields", out var fields) ? fields.EnumerateArray().Select(Field).ToList() : [];

    private static FieldSpec Field(JsonElement f)
    {
        var name = Str(f, "name") ?? throw new InvalidDataException("a field has no name");
        try
        {
            return new FieldSpec
            {
                Name = name,
                Type = Str(f, "type") ?? throw new InvalidDataException("no type"),
                // A tagged-only field may leave out "versions"; it then exists exactly in its tagged versions.
                Versions = Versions.Parse(Str(f, "versions") ?? Str(f, "taggedVersions") ?? throw new InvalidDataException("no versions"), Versions.None),
                NullableVersions = Versions.Parse(Str(f, "nullableVersions"), Versions.None),
                TaggedVersions = Versions.Parse(Str(f, "taggedVersions"), Versions.None),
                FlexibleVersions = f.TryGetProperty("flexibleVersions", out var flex) ? Versions.Parse(flex.GetString(), Versions.None) : null,
                Tag = f.TryGetProperty("tag", out var tag) ? (tag.ValueKind == JsonValueKind.String ? int.Parse(tag.GetString()!) : tag.GetInt32()) : null,
                Default = f.TryGetProperty("default", out var def) ? def.ValueKind switch
                {
                    JsonValueKind.String => def.GetString(),
                    JsonValueKind.Null => "null",
                    JsonValueKind.True => "true",
                    JsonValueKind.False => "false",
                    _ => def.GetRawText(),
                } : null,
                Ignorable = f.TryGetProperty("ignorable", out var ign) && ign.GetBoolean(),
                MapKey = f.TryGetProperty("mapKey", out var mk) && mk.GetBoolean(),
                ZeroCopy = f.TryGetProperty("zeroCopy", out var zc) && zc.GetBoolean(),
                Fields = f.TryGetProperty("fields", out _) ? Fields(f) : null,
            };
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or InvalidOperationException)
        {
            throw new InvalidDataException($"field {name}: {e.Message}", e);
        }
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) ? v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText() : null;
}
