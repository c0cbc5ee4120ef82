using System.Globalization;

namespace Samsa.Protocol.Generator;

public enum Kind
{
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    UInt16,
    UInt32,
    Float64,
    Uuid,
    String,
    Bytes,
    Records,
    Struct,
}

/// <summary>How one schema type maps to C#: its kind, C# type and default literal.</summary>
public static class FieldTypes
{
    public static Kind KindOf(string type) => type switch
    {
        "bool" => Kind.Bool,
        "int8" => Kind.Int8,
        "int16" => Kind.Int16,
        "int32" => Kind.Int32,
        "int64" => Kind.Int64,
        "uint16" => Kind.UInt16,
        "uint32" => Kind.UInt32,
        "float64" => Kind.Float64,
        "uuid" => Kind.Uuid,
        "string" => Kind.String,
        "bytes" => Kind.Bytes,
        "records" => Kind.Records,
        _ when type.Length > 0 && char.IsUpper(type[0]) => Kind.Struct,
        _ => throw new InvalidDataException($"unknown type '{type}'"),
    };

    public static bool IsFixedWidth(Kind kind) => kind is not (Kind.String or Kind.Bytes or Kind.Records or Kind.Struct);

    public static string Primitive(Kind kind) => kind switch
    {
        Kind.Bool => "bool",
        Kind.Int8 => "sbyte",
        Kind.Int16 => "short",
        Kind.Int32 => "int",
        Kind.Int64 => "long",
        Kind.UInt16 => "ushort",
        Kind.UInt32 => "uint",
        Kind.Float64 => "double",
        Kind.Uuid => "Uuid",
        Kind.String => "string",
        _ => throw new InvalidOperationException(kind.ToString()),
    };

    public static int FixedSize(Kind kind) => kind switch
    {
        Kind.Bool or Kind.Int8 => 1,
        Kind.Int16 or Kind.UInt16 => 2,
        Kind.Int32 or Kind.UInt32 => 4,
        Kind.Int64 or Kind.Float64 => 8,
        Kind.Uuid => 16,
        _ => throw new InvalidOperationException(kind.ToString()),
    };

    public static string ReadCall(Kind kind) => kind switch
    {
        Kind.Bool => "reader.ReadBool()",
        Kind.Int8 => "reader.ReadInt8()",
        Kind.Int16 => "reader.ReadInt16()",
        Kind.Int32 => "reader.ReadInt32()",
        Kind.Int64 => "reader.ReadInt64()",
        Kind.UInt16 => "reader.ReadUInt16()",
        Kind.UInt32 => "reader.ReadUInt32()",
        Kind.Float64 => "reader.ReadFloat64()",
        Kind.Uuid => "reader.ReadUuid()",
        _ => throw new InvalidOperationException(kind.ToString()),
    };

    public static string WriteCall(Kind kind, string value) => kind switch
    {
        Kind.Bool => $"writer.WriteBool({value})",
        Kind.Int8 => $"writer.WriteInt8({value})",
        Kind.Int16 => $"writer.WriteInt16({value})",
        Kind.Int32 => $"writer.WriteInt32({value})",
        Kind.Int64 => $"writer.WriteInt64({value})",
        Kind.UInt16 => $"writer.WriteUInt16({value})",
        Kind.UInt32 => $"writer.WriteUInt32({value})",
        Kind.Float64 => $"writer.WriteFloat64({value})",
        Kind.Uuid => $"writer.WriteUuid({value})",
        _ => throw new InvalidOperationException(kind.ToString()),
    };

    /// <summary>The C# literal of a numeric, boolean, uuid or string default as the schema writes it.</summary>
    public static string DefaultLiteral(Kind kind, string? text, string fieldName)
    {
        try
        {
            switch (kind)
            {
                case Kind.Bool:
                    return text is null ? "false" : bool.Parse(text) ? "true" : "false";
                case Kind.Float64:
                    return text is null ? "0d" : double.Parse(text, CultureInfo.InvariantCulture).ToString("R", CultureInfo.InvariantCulture) + "d";
                case Kind.Uuid:
                    return text is null ? "Uuid.Zero" : $"Uuid.Parse(\"{text}\")";
                case Kind.String:
                    return text is null ? "\"\"" : text == "null" ? "null" : "\"" + text.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
                default:
                    var value = ParseInteger(text ?? "0");
                    return kind switch
                    {
                        Kind.Int8 => Checked(value, sbyte.MinValue, sbyte.MaxValue, "(sbyte)"),
                        Kind.Int16 => Checked(value, short.MinValue, short.MaxValue, "(short)"),
                        Kind.Int32 => Checked(value, int.MinValue, int.MaxValue, ""),
                        Kind.Int64 => value + "L",
                        Kind.UInt16 => Checked(value, ushort.MinValue, ushort.MaxValue, "(ushort)"),
                        Kind.UInt32 => Checked(value, uint.MinValue, uint.MaxValue, "") + "u",
                        _ => throw new InvalidOperationException(kind.ToString()),
                    };
            }
        }
        catch (FormatException)
        {
            throw new InvalidDataException($"field {fieldName}: default '{text}' is not a valid {kind}");
        }
    }

    private static long ParseInteger(string text)
    {
        var negative = text.StartsWith('-');
        var digits = negative ? text[1..] : text;
        var value = digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? long.Parse(digits[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture)
            : long.Parse(digits, CultureInfo.InvariantCulture);
        return negative ? -value : value;
    }

    private static string Checked(long value, long min, long max, string cast) =>
        value < min || value > max
            ? throw new FormatException()
            : value < 0 ? $"{cast}({value})" : $"{cast}{value}";
}
