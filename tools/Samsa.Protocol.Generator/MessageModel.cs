namespace Samsa.Protocol.Generator;

/// <summary>
/// One schema resolved for code generation: every struct it declares (inline or common) with its C# class
/// name, and the version range each struct can be used in.
/// </summary>
public sealed class MessageModel
{
    public MessageModel(MessageSpec spec)
    {
        Spec = spec;
        Root = new StructSpec { Name = spec.Name, Versions = spec.ValidVersions, Fields = spec.Fields };
        foreach (var common in spec.CommonStructs)
        {
            Add(common);
        }
        Collect(spec.Fields);
        var topLevel = spec.Fields.Select(f => f.Name).ToHashSet();
        foreach (var s in Structs.Values)
        {
            // C# forbids a nested type named like a sibling member or like one of its own members.
            var clash = topLevel.Contains(s.Name) || s.Fields.Any(f => f.Name == s.Name) || s.Name == spec.Name;
            ClassNames[s.Name] = clash ? s.Name + "Data" : s.Name;
        }
        foreach (var field in AllFields(spec.Fields).Concat(spec.CommonStructs.SelectMany(c => AllFields(c.Fields))))
        {
            if (FieldTypes.KindOf(field.ElementType) == Kind.Struct && !Structs.ContainsKey(field.ElementType))
            {
                throw new InvalidDataException($"field {field.Name} refers to struct {field.ElementType}, which is not declared");
            }
            if (field.Tag is not null && field.TaggedVersions.IsEmpty)
            {
                throw new InvalidDataException($"field {field.Name} has a tag but no taggedVersions");
            }
            if (!field.Versions.Contains(field.TaggedVersions))
            {
                throw new InvalidDataException($"field {field.Name}: taggedVersions {field.TaggedVersions} are not within versions {field.Versions}");
            }
        }
    }

    public MessageSpec Spec { get; }

    public StructSpec Root { get; }

    public Dictionary<string, StructSpec> Structs { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, string> ClassNames { get; } = new(StringComparer.Ordinal);

    public Versions Flexible => Spec.FlexibleVersions;

    public string ClassOf(string structName) => ClassNames[structName];

    private void Add(StructSpec s)
    {
        if (!Structs.TryAdd(s.Name, s))
        {
            throw new InvalidDataException($"struct {s.Name} is declared twice");
        }
        Collect(s.Fields);
    }

    private void Collect(List<FieldSpec> fields)
    {
        foreach (var f in fields)
        {
            if (f.Fields is not null)
            {
                Add(new StructSpec { Name = f.ElementType, Versions = f.Versions, Fields = f.Fields });
            }
        }
    }

    private static IEnumerable<FieldSpec> AllFields(List<FieldSpec> fields) =>
        fields.SelectMany(f => f.Fields is null ? [f] : AllFields(f.Fields).Prepend(f));
}
