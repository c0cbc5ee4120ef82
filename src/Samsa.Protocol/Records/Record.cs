namespace Samsa.Protocol.Records;

/// <summary>
/// One record of a v2 batch, as views into the batch's bytes (nothing is copied). Wire layout (Kafka's
/// <c>DefaultRecord</c>):
/// <code>
/// length: varint            (bytes after this field)
/// attributes: int8          (unused, 0)
/// timestampDelta: varlong   (from the batch's baseTimestamp)
/// offsetDelta: varint       (from the batch's baseOffset)
/// keyLength: varint, key    (-1 for null)
/// valueLength: varint, value(-1 for null: a tombstone)
/// headerCount: varint, then headerKeyLength: varint, headerKey, headerValueLength: varint, headerValue
/// </code>
/// </summary>
public readonly ref struct Record
{
    public int SizeInBytes { get; init; }
    public sbyte Attributes { get; init; }
    public long TimestampDelta { get; init; }
    public int OffsetDelta { get; init; }
    public ReadOnlySpan<byte> Key { get; init; }
    public bool KeyIsNull { get; init; }
    public ReadOnlySpan<byte> Value { get; init; }
    public bool ValueIsNull { get; init; }
    public int HeaderCount { get; init; }

    /// <summary>The encoded headers section after the count, for <see cref="RecordHeaderEnumerator"/>.</summary>
    public ReadOnlySpan<byte> HeaderBytes { get; init; }

    public RecordHeaderEnumerator Headers => new(HeaderBytes, HeaderCount);
}

/// <summary>One record header: key is a UTF-8 string on the wire, value may be null.</summary>
public readonly ref struct RecordHeader
{
    public ReadOnlySpan<byte> Key { get; init; }
    public ReadOnlySpan<byte> Value { get; init; }
    public bool ValueIsNull { get; init; }
}

public ref struct RecordHeaderEnumerator(ReadOnlySpan<byte> bytes, int count)
{
    private ProtocolReader _reader = new(bytes);
    private int _remaining = count;

    public RecordHeader Current { get; private set; }

    /// <summary>Bytes consumed so far.</summary>
    public readonly int Position => _reader.Position;

    public readonly RecordHeaderEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_remaining <= 0)
        {
            return false;
        }
        _remaining--;
        var keyLength = _reader.ReadVarInt();
        if (keyLength < 0)
        {
            throw new ProtocolException("Record header key is null");
        }
        var key = _reader.ReadSpan(keyLength);
        var valueLength = _reader.ReadVarInt();
        var value = valueLength < 0 ? default : _reader.ReadSpan(valueLength);
        Current = new RecordHeader { Key = key, Value = value, ValueIsNull = valueLength < 0 };
        return true;
    }
}

/// <summary>
/// Walks the records section of an uncompressed (or already decompressed) batch. Every length is checked
/// against the bytes that remain, every record must consume exactly its declared length, and the count is
/// bounded by <paramref name="count"/> so a corrupt batch cannot make it loop or allocate.
/// </summary>
public ref struct RecordEnumerator(ReadOnlySpan<byte> records, int count)
{
    private readonly ReadOnlySpan<byte> _records = records;
    private int _position;
    private int _remaining = count;

    public Record Current { get; private set; }

    /// <summary>Bytes not consumed by the records read so far.</summary>
    public readonly int RemainingBytes => _records.Length - _position;

    public readonly RecordEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_remaining <= 0)
        {
            return false;
        }
        _remaining--;
        var outer = new ProtocolReader(_records[_position..]);
        var length = outer.ReadVarInt();
        if (length < 0 || length > outer.Remaining)
        {
            throw new ProtocolException($"Record length {length} at position {_position} exceeds the {outer.Remaining} bytes remaining");
        }
        var body = _records.Slice(_position + outer.Position, length);
        var r = new ProtocolReader(body);
        var attributes = r.ReadInt8();
        var timestampDelta = r.ReadVarLong();
        var offsetDelta = r.ReadVarInt();
        var keyLength = r.ReadVarInt();
        var key = keyLength < 0 ? default : r.ReadSpan(keyLength);
        var valueLength = r.ReadVarInt();
        var value = valueLength < 0 ? default : r.ReadSpan(valueLength);
        var headerCount = r.ReadVarInt();
        if (headerCount < 0)
        {
            throw new ProtocolException($"Record header count {headerCount} is negative");
        }
        var headerStart = r.Position;
        var headers = new RecordHeaderEnumerator(body[headerStart..], headerCount);
        while (headers.MoveNext())
        {
            // Walk once to prove the headers fit inside the record; callers can then iterate without surprises.
        }
        if (headerStart + headers.Position != body.Length)
        {
            // Kafka's DefaultRecord.readFrom rejects a record whose fields do not add up to its declared size.
            throw new ProtocolException($"Record at position {_position} declared {length} bytes but its fields used {headerStart + headers.Position}");
        }
        var total = outer.Position + length;
        Current = new Record
        {
            SizeInBytes = total,
            Attributes = attributes,
            TimestampDelta = timestampDelta,
            OffsetDelta = offsetDelta,
            Key = key,
            KeyIsNull = keyLength < 0,
            Value = value,
            ValueIsNull = valueLength < 0,
            HeaderCount = headerCount,
            HeaderBytes = body[headerStart..],
        };
        _position += total;
        return true;
    }
}
