namespace Samsa.Protocol.Generator;

/// <summary>
/// What one field looks like in C# within a struct whose version is known to lie in <see cref="Context"/>:
/// its type, default, and the version conditions under which it is present, tagged, nullable and compact.
/// </summary>
public sealed class FieldInfo
{
    public FieldInfo(MessageModel model, FieldSpec spec, Versions context)
    {
        Spec = spec;
        Context = context;
        Kind = FieldTypes.KindOf(spec.ElementType);
        Present = spec.Versions.Intersect(context);
        Tagged = spec.TaggedVersions.Intersect(Present);
        Regular = Tagged.IsEmpty ? Present
            : Tagged.Highest >= Present.Highest ? new Versions(Present.Lowest, (short)(Tagged.Lowest - 1))
            : throw new InvalidDataException($"field {spec.Name}: tagged versions must run to the last version");
        Nullable = spec.NullableVersions.Intersect(Present);
        Flexible = model.Flexible.Intersect(spec.FlexibleVersions ?? Versions.All);
        IsNullableType = !spec.NullableVersions.IsEmpty || spec.Default == "null";
        ClassName = Kind == Kind.Struct ? model.ClassOf(spec.ElementType) : null;
        if (spec.IsArray && Kind is Kind.Bytes or Kind.Records)
        {
            throw new InvalidDataException($"field {spec.Name}: arrays of {Kind} are not supported");
        }
        if (IsNullableType && !spec.IsArray && FieldTypes.IsFixedWidth(Kind))
        {
            throw new InvalidDataException($"field {spec.Name}: a {spec.Type} cannot be nullable");
        }
        DefaultIsNull = spec.Default == "null";
    }

    public FieldSpec Spec { get; }
    public Versions Context { get; }
    public Kind Kind { get; }
    public Versions Present { get; }
    public Versions Tagged { get; }
    public Versions Regular { get; }
    public Versions Nullable { get; }
    public Versions Flexible { get; }
    public bool IsNullableType { get; }
    public bool DefaultIsNull { get; }
    public string? ClassName { get; }
    /// <summary>The C# property name: the schema name, unless that would clash with a generated member.</summary>
    public string Name => Spec.Name is "Size" or "Read" or "Write" or "Equals" or "ToString" or "GetHashCode" or "UnknownTaggedFields"
        ? Spec.Name + "Field" : Spec.Name;
    public bool IsArray => Spec.IsArray;
    public bool IsMemory => Kind == Kind.Records || (Kind == Kind.Bytes && Spec.ZeroCopy);

    public string ElementType => Kind switch
    {
        Kind.Struct => ClassName!,
        _ => FieldTypes.Primitive(Kind),
    };

    public string CSharpType
    {
        get
        {
            var q = IsNullableType ? "?" : "";
            if (IsArray)
            {
                return $"List<{ElementType}>{q}";
            }
            return Kind switch
            {
                Kind.Struct => ClassName + q,
                Kind.String => "string" + q,
                Kind.Bytes when !Spec.ZeroCopy => "byte[]" + q,
                Kind.Bytes or Kind.Records => "ReadOnlyMemory<byte>" + q,
                _ => FieldTypes.Primitive(Kind),
            };
        }
    }

    /// <summary>The value a fresh instance holds.</summary>
    public string Initializer
    {
        get
        {
            if (IsArray || Kind == Kind.Struct)
            {
                return DefaultIsNull ? "null" : "new()";
            }
            return Kind switch
            {
                Kind.Bytes when !Spec.ZeroCopy => DefaultIsNull ? "null" : "[]",
                Kind.Bytes or Kind.Records => DefaultIsNull || (Kind == Kind.Records && IsNullableType && Spec.Default is null) ? "null" : "ReadOnlyMemory<byte>.Empty",
                _ => FieldTypes.DefaultLiteral(Kind, Spec.Default, Spec.Name),
            };
        }
    }

    /// <summary>A C# condition that holds when the field differs from its default.</summary>
    public string NonDefault
    {
        get
        {
            var n = Name;
            var init = Initializer;
            // Only a nullable type can hold null; for the others the compiler must not be told it might.
            var orNull = IsNullableType ? $"{n} is null || " : "";
            if (IsArray)
            {
                return init == "null" ? $"{n} is not null" : $"({orNull}{n}.Count != 0)";
            }
            return Kind switch
            {
                Kind.Struct => init == "null" ? $"{n} is not null" : $"({orNull}!{n}.Equals(new {ClassName}()))",
                Kind.String => init == "null" ? $"{n} is not null" : $"!string.Equals({n}, {init}, StringComparison.Ordinal)",
                Kind.Bytes when !Spec.ZeroCopy => init == "null" ? $"{n} is not null" : $"({orNull}{n}.Length != 0)",
                Kind.Bytes or Kind.Records when IsNullableType => init == "null" ? $"{n}.HasValue" : $"(!{n}.HasValue || {n}.Value.Length != 0)",
                Kind.Bytes or Kind.Records => $"{n}.Length != 0",
                Kind.Float64 => $"!{n}.Equals({init})",
                _ => $"{n} != {init}",
            };
        }
    }
}
