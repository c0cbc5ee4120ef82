namespace Samsa.Protocol.Records;

/// <summary>
/// A complete v2 batch in a buffer (as sent by a producer or stored in a segment), read in place.
/// Records of an uncompressed batch are enumerated straight from the buffer; a compressed batch is
/// decompressed once into a caller-owned pooled scratch buffer.
/// </summary>
public readonly ref struct RecordBatchView
{
    public RecordBatchView(ReadOnlySpan<byte> batch)
    {
        if (batch.Length < RecordBatch.HeaderSize)
        {
            throw new ProtocolException($"Record batch needs at least {RecordBatch.HeaderSize} bytes, got {batch.Length}");
        }
        Header = RecordBatchHeader.Read(batch);
        if (Header.SizeInBytes != batch.Length)
        {
            throw new ProtocolException($"Record batch length field says {Header.SizeInBytes} bytes but the buffer holds {batch.Length}");
        }
        Bytes = batch;
    }

    public RecordBatchHeader Header { get; }

    public ReadOnlySpan<byte> Bytes { get; }

    /// <summary>The records section as stored (compressed when the batch is).</summary>
    public ReadOnlySpan<byte> RecordsSection => Bytes[RecordBatch.RecordsOffset..];

    public bool IsCrcValid => RecordBatch.ComputeCrc(Bytes) == Header.Crc;

    /// <summary>
    /// Enumerates the records. For compressed batches <paramref name="scratch"/> receives the decompressed
    /// bytes (it is cleared first) and must outlive the enumeration.
    /// </summary>
    public RecordEnumerator GetRecords(PooledBuffer? scratch = null, int maxDecompressedBytes = 64 * 1024 * 1024)
    {
        if (Header.RecordCount < 0)
        {
            throw new ProtocolException($"Record count {Header.RecordCount} is negative");
        }
        if (Header.Compression == CompressionType.None)
        {
            return new RecordEnumerator(RecordsSection, Header.RecordCount);
        }
        if (scratch is null)
        {
            throw new ArgumentNullException(nameof(scratch), "A compressed batch needs a scratch buffer to decompress into");
        }
        scratch.Clear();
        RecordCompression.Decompress(Header.Compression, RecordsSection, scratch, maxDecompressedBytes);
        return new RecordEnumerator(scratch.WrittenSpan, Header.RecordCount);
    }
}
