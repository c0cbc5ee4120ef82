using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Samsa.Protocol;

/// <summary>
/// Reads Kafka's wire primitives from a contiguous buffer. Every length a peer claims (string, bytes, array)
/// is checked against the bytes that remain before anything is allocated, so a hostile frame cannot make
/// the reader reserve more memory than the frame itself holds. Any malformed input throws
/// <see cref="ProtocolException"/>.
/// </summary>
/// <remarks>
/// When built over <see cref="ReadOnlyMemory{T}"/> the reader hands out <c>records</c> and zero-copy
/// <c>bytes</c> fields as slices of that memory instead of copying them; the caller keeps the buffer alive
/// for as long as the message is used.
/// </remarks>
public ref struct ProtocolReader
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ReadOnlySpan<byte> _span;
    private readonly ReadOnlyMemory<byte> _memory;
    private readonly bool _hasMemory;
    private int _position;

    public ProtocolReader(ReadOnlySpan<byte> span)
    {
        _span = span;
        _memory = default;
        _hasMemory = false;
        _position = 0;
    }

    public ProtocolReader(ReadOnlyMemory<byte> memory)
    {
        _span = memory.Span;
        _memory = memory;
        _hasMemory = true;
        _position = 0;
    }

    /// <summary>Reads from a sequence; a multi-segment sequence is copied once into one array.</summary>
    public ProtocolReader(in ReadOnlySequence<byte> sequence)
        : this(sequence.IsSingleSegment ? sequence.First : sequence.ToArray())
    {
    }

    public readonly int Position => _position;

    public readonly int Remaining => _span.Length - _position;

    public readonly bool End => _position >= _span.Length;

    private ReadOnlySpan<byte> Take(int count)
    {
        if ((uint)count > (uint)(_span.Length - _position))
        {
            throw new ProtocolException($"Needed {count} bytes at position {_position} but only {_span.Length - _position} remain");
        }
        var slice = _span.Slice(_position, count);
        _position += count;
        return slice;
    }

    public void Skip(int count) => Take(count);

    public sbyte ReadInt8() => (sbyte)Take(1)[0];

    public bool ReadBool() => Take(1)[0] != 0;

    public short ReadInt16() => BinaryPrimitives.ReadInt16BigEndian(Take(2));

    public ushort ReadUInt16() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));

    public int ReadInt32() => BinaryPrimitives.ReadInt32BigEndian(Take(4));

    public uint ReadUInt32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

    public long ReadInt64() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

    public double ReadFloat64() => BinaryPrimitives.ReadDoubleBigEndian(Take(8));

    public Uuid ReadUuid() => Uuid.FromBytes(Take(16));

    /// <summary>Unsigned LEB128 varint of at most 5 bytes, as Kafka's <c>ByteUtils.readUnsignedVarint</c>.</summary>
    public uint ReadUnsignedVarInt()
    {
        uint value = 0;
        for (var shift = 0; shift < 35; shift += 7)
        {
            var b = Take(1)[0];
            value |= (uint)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }
        throw new ProtocolException("Unsigned varint is longer than 5 bytes");
    }

    /// <summary>Zig-zag encoded 32-bit varint (record fields).</summary>
    public int ReadVarInt()
    {
        var raw = ReadUnsignedVarInt();
        return (int)(raw >> 1) ^ -(int)(raw & 1);
    }

    /// <summary>Zig-zag encoded 64-bit varint of at most 10 bytes.</summary>
    public long ReadVarLong()
    {
        ulong value = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            var b = Take(1)[0];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return (long)(value >> 1) ^ -(long)(value & 1);
            }
        }
        throw new ProtocolException("Varlong is longer than 10 bytes");
    }

    private string DecodeString(int length)
    {
        var bytes = Take(length);
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new ProtocolException($"String of {length} bytes at position {_position - length} is not valid UTF-8");
        }
    }

    /// <summary>Classic string: int16 length, -1 for null.</summary>
    public string? ReadNullableString()
    {
        var length = ReadInt16();
        if (length < -1)
        {
            throw new ProtocolException($"String length {length} is negative");
        }
        return length == -1 ? null : DecodeString(length);
    }

    public string ReadString() => ReadNullableString() ?? throw new ProtocolException("Non-nullable string was null");

    /// <summary>Compact string: unsigned varint of length + 1, 0 for null.</summary>
    public string? ReadCompactNullableString()
    {
        var lengthPlusOne = ReadUnsignedVarInt();
        if (lengthPlusOne == 0)
        {
            return null;
        }
        if (lengthPlusOne - 1 > short.MaxValue)
        {
            throw new ProtocolException($"Compact string length {lengthPlusOne - 1} exceeds {short.MaxValue}");
        }
        return DecodeString((int)(lengthPlusOne - 1));
    }

    public string ReadCompactString() => ReadCompactNullableString() ?? throw new ProtocolException("Non-nullable compact string was null");

    /// <summary>Length of a classic (int32) bytes field: -1 for null.</summary>
    public int ReadBytesLength()
    {
        var length = ReadInt32();
        if (length < -1)
        {
            throw new ProtocolException($"Bytes length {length} is negative");
        }
        CheckRemaining(length, "bytes");
        return length;
    }

    /// <summary>Length of a compact bytes field: -1 for null.</summary>
    public int ReadCompactBytesLength()
    {
        var lengthPlusOne = ReadUnsignedVarInt();
        var length = (long)lengthPlusOne - 1;
        CheckRemaining(length, "compact bytes");
        return (int)length;
    }

    /// <summary>Length of a classic (int32) array: -1 for null. Bounded by the bytes remaining, as Kafka does.</summary>
    public int ReadArrayLength()
    {
        var length = ReadInt32();
        if (length < -1)
        {
            throw new ProtocolException($"Array length {length} is negative");
        }
        CheckRemaining(length, "array");
        return length;
    }

    /// <summary>Length of a compact array: -1 for null.</summary>
    public int ReadCompactArrayLength()
    {
        var length = (long)ReadUnsignedVarInt() - 1;
        CheckRemaining(length, "compact array");
        return (int)length;
    }

    private readonly void CheckRemaining(long length, string what)
    {
        if (length > Remaining)
        {
            throw new ProtocolException($"Tried to read a {what} of length {length}, but only {Remaining} bytes remain");
        }
    }

    /// <summary>Copies <paramref name="length"/> bytes into a new array (-1 gives null).</summary>
    public byte[]? ReadByteArray(int length) => length < 0 ? null : Take(length).ToArray();

    /// <summary>
    /// Returns <paramref name="length"/> bytes without copying when the reader was built over memory;
    /// otherwise copies them. -1 gives null.
    /// </summary>
    public ReadOnlyMemory<byte>? ReadMemory(int length)
    {
        if (length < 0)
        {
            return null;
        }
        var start = _position;
        var span = Take(length);
        return _hasMemory ? _memory.Slice(start, length) : span.ToArray();
    }

    /// <summary>The next <paramref name="length"/> bytes as a span over the input.</summary>
    public ReadOnlySpan<byte> ReadSpan(int length) => Take(length);

    /// <summary>Reads the tagged-field section header: the number of tagged fields that follow.</summary>
    public int ReadTaggedFieldCount()
    {
        var count = ReadUnsignedVarInt();
        CheckRemaining(count, "tagged field section");
        return (int)count;
    }

    /// <summary>Reads a tagged field this code does not know and keeps its bytes.</summary>
    public RawTaggedField ReadUnknownTaggedField(int tag, int size) => new(tag, Take(size).ToArray());

    /// <summary>Reads a tagged field's size prefix.</summary>
    public int ReadTaggedFieldSize()
    {
        var size = ReadUnsignedVarInt();
        CheckRemaining(size, "tagged field");
        return (int)size;
    }

    /// <summary>Moves to an absolute position; used to check a tagged field consumed exactly its declared size.</summary>
    public void ExpectPosition(int expected, string what)
    {
        if (_position != expected)
        {
            throw new ProtocolException($"{what} declared a size ending at {expected} but its content ended at {_position}");
        }
    }
}
