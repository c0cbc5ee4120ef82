using System.Text;

namespace Samsa.Protocol;

/// <summary>Value equality and printing helpers used by generated messages.</summary>
public static class ProtocolEquality
{
    public static bool BytesEqual(byte[]? a, byte[]? b) =>
        a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b);

    public static bool MemoryEqual(ReadOnlyMemory<byte>? a, ReadOnlyMemory<byte>? b) =>
        a is null ? b is null : b is not null && a.Value.Span.SequenceEqual(b.Value.Span);

    public static bool MemoryEqual(ReadOnlyMemory<byte> a, ReadOnlyMemory<byte> b) => a.Span.SequenceEqual(b.Span);

    public static bool ListEqual<T>(List<T>? a, List<T>? b)
    {
        if (a is null || b is null)
        {
            return a is null && b is null;
        }
        if (a.Count != b.Count)
        {
            return false;
        }
        var comparer = EqualityComparer<T>.Default;
        for (var i = 0; i < a.Count; i++)
        {
            if (!comparer.Equals(a[i], b[i]))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Unknown tagged fields compare equal when both are absent or empty.</summary>
    public static bool TaggedEqual(List<RawTaggedField>? a, List<RawTaggedField>? b) =>
        (a is null || a.Count == 0) ? (b is null || b.Count == 0) : ListEqual(a, b);

    public static string Format<T>(List<T>? list)
    {
        if (list is null)
        {
            return "null";
        }
        var text = new StringBuilder("[");
        for (var i = 0; i < list.Count; i++)
        {
            text.Append(i == 0 ? "" : ", ").Append(Format(list[i]));
        }
        return text.Append(']').ToString();
    }

    public static string Format(object? value) => value switch
    {
        null => "null",
        string s => "'" + s + "'",
        byte[] bytes => $"bytes({bytes.Length})",
        ReadOnlyMemory<byte> memory => $"bytes({memory.Length})",
        bool b => b ? "true" : "false",
        _ => value.ToString() ?? "",
    };

    public static string Format(ReadOnlyMemory<byte>? memory) => memory is null ? "null" : $"bytes({memory.Value.Length})";
}

/// <summary>Writes tagged fields this code does not know in ascending tag order among the known ones.</summary>
public static class TaggedFieldWriter
{
    public static int Size(List<RawTaggedField>? fields)
    {
        if (fields is null)
        {
            return 0;
        }
        var size = 0;
        foreach (var field in fields)
        {
            size += ProtocolSize.UnsignedVarInt((uint)field.Tag) + ProtocolSize.UnsignedVarInt((uint)field.Data.Length) + field.Data.Length;
        }
        return size;
    }

    /// <summary>Writes the unknown fields whose tag is below <paramref name="tagLimit"/>, starting at <paramref name="next"/>.</summary>
    public static void WriteBelow(ref ProtocolWriter writer, List<RawTaggedField>? fields, ref int next, int tagLimit)
    {
        if (fields is null)
        {
            return;
        }
        while (next < fields.Count && fields[next].Tag < tagLimit)
        {
            var field = fields[next++];
            writer.WriteUnsignedVarInt((uint)field.Tag);
            writer.WriteUnsignedVarInt((uint)field.Data.Length);
            writer.WriteRaw(field.Data);
        }
    }
}
