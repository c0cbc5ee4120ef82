using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Samsa.Protocol.Records;

namespace Samsa.Protocol;

/// <summary>
/// Writes Kafka's wire primitives into a span sized in advance with <see cref="ProtocolSize"/>
/// (messages compute their exact size in a separate pass, so writing never grows a buffer).
/// </summary>
/// <remarks>
/// A writer given a list of external slices leaves <see cref="ExternalRecords"/> out of the destination: it writes
/// their length prefix, notes where their bytes belong, and moves on, so the network layer can send them from
/// their source (a segment file) between the written pieces. Every other writer copies them in.
/// </remarks>
public ref struct ProtocolWriter(Span<byte> destination)
{
    private readonly Span<byte> _span = destination;
    private readonly List<ExternalSlice>? _external;
    private int _position;

    /// <summary>A writer that leaves external records out and lists them in <paramref name="external"/>.</summary>
    public ProtocolWriter(Span<byte> destination, List<ExternalSlice> external)
        : this(destination)
    {
        _external = external;
    }

    public readonly int Position => _position;

    public readonly Span<byte> Written => _span[.._position];

    private Span<byte> Take(int count)
    {
        if ((uint)count > (uint)(_span.Length - _position))
        {
            throw new InvalidOperationException($"Writer overflow: {count} bytes at {_position} of {_span.Length}; the computed size was wrong");
        }
        var slice = _span.Slice(_position, count);
        _position += count;
        return slice;
    }

    public void WriteInt8(sbyte value) => Take(1)[0] = (byte)value;

    public void WriteBool(bool value) => Take(1)[0] = value ? (byte)1 : (byte)0;

    public void WriteInt16(short value) => BinaryPrimitives.WriteInt16BigEndian(Take(2), value);

    public void WriteUInt16(ushort value) => BinaryPrimitives.WriteUInt16BigEndian(Take(2), value);

    public void WriteInt32(int value) => BinaryPrimitives.WriteInt32BigEndian(Take(4), value);

    public void WriteUInt32(uint value) => BinaryPrimitives.WriteUInt32BigEndian(Take(4), value);

    public void WriteInt64(long value) => BinaryPrimitives.WriteInt64BigEndian(Take(8), value);

    public void WriteFloat64(double value) => BinaryPrimitives.WriteDoubleBigEndian(Take(8), value);

    public void WriteUuid(Uuid value) => value.WriteBytes(Take(16));

    public void WriteUnsignedVarInt(uint value)
    {
        while (value >= 0x80)
        {
            Take(1)[0] = (byte)(value | 0x80);
            value >>= 7;
        }
        Take(1)[0] = (byte)value;
    }

    public void WriteVarInt(int value) => WriteUnsignedVarInt((uint)((value << 1) ^ (value >> 31)));

    public void WriteVarLong(long value)
    {
        var raw = (ulong)((value << 1) ^ (value >> 63));
        while (raw >= 0x80)
        {
            Take(1)[0] = (byte)(raw | 0x80);
            raw >>= 7;
        }
        Take(1)[0] = (byte)raw;
    }

    private void WriteUtf8(string value, int byteCount) => Encoding.UTF8.GetBytes(value, Take(byteCount));

    /// <summary>Classic string: int16 length, -1 for null.</summary>
    public void WriteNullableString(string? value)
    {
        if (value is null)
        {
            WriteInt16(-1);
            return;
        }
        var length = Encoding.UTF8.GetByteCount(value);
        if (length > short.MaxValue)
        {
            throw new InvalidOperationException($"String of {length} bytes is longer than {short.MaxValue}");
        }
        WriteInt16((short)length);
        WriteUtf8(value, length);
    }

    /// <summary>Compact string: unsigned varint of length + 1, 0 for null.</summary>
    public void WriteCompactNullableString(string? value)
    {
        if (value is null)
        {
            WriteUnsignedVarInt(0);
            return;
        }
        var length = Encoding.UTF8.GetByteCount(value);
        WriteUnsignedVarInt((uint)length + 1);
        WriteUtf8(value, length);
    }

    public void WriteBytesLength(int length) => WriteInt32(length);

    public void WriteCompactBytesLength(int length) => WriteUnsignedVarInt((uint)(length + 1));

    public void WriteArrayLength(int length) => WriteInt32(length);

    public void WriteCompactArrayLength(int length) => WriteUnsignedVarInt((uint)(length + 1));

    public void WriteRaw(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Take(bytes.Length));

    /// <summary>Classic bytes: int32 length and the bytes, -1 for null.</summary>
    public void WriteNullableBytes(ReadOnlySpan<byte> bytes, bool isNull)
    {
        if (isNull)
        {
            WriteInt32(-1);
            return;
        }
        WriteInt32(bytes.Length);
        WriteRaw(bytes);
    }

    /// <summary>A records field (classic form): like bytes, but external records may be left out (see remarks).</summary>
    public void WriteNullableRecords(ReadOnlyMemory<byte> records, bool isNull)
    {
        if (isNull)
        {
            WriteInt32(-1);
            return;
        }
        WriteInt32(records.Length);
        WriteRecordBytes(records);
    }

    /// <summary>A records field (compact form): like compact bytes, but external records may be left out.</summary>
    public void WriteCompactNullableRecords(ReadOnlyMemory<byte> records, bool isNull)
    {
        if (isNull)
        {
            WriteUnsignedVarInt(0);
            return;
        }
        WriteUnsignedVarInt((uint)records.Length + 1);
        WriteRecordBytes(records);
    }

    private void WriteRecordBytes(ReadOnlyMemory<byte> records)
    {
        if (_external is not null && records.Length > 0
            && MemoryMarshal.TryGetMemoryManager(records, out ExternalRecords? source, out var start, out var length))
        {
            _external.Add(new ExternalSlice(_position, source, start, length));
            return;
        }
        WriteRaw(records.Span);
    }

    /// <summary>Compact bytes: unsigned varint of length + 1 and the bytes, 0 for null.</summary>
    public void WriteCompactNullableBytes(ReadOnlySpan<byte> bytes, bool isNull)
    {
        if (isNull)
        {
            WriteUnsignedVarInt(0);
            return;
        }
        WriteUnsignedVarInt((uint)bytes.Length + 1);
        WriteRaw(bytes);
    }
}
