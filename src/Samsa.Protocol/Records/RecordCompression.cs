using System.Buffers.Binary;
using System.IO.Compression;
using K4os.Compression.LZ4;
using K4os.Compression.LZ4.Streams;
using ZstdSharp;

namespace Samsa.Protocol.Records;

/// <summary>
/// The records section of a compressed batch is one compressed stream holding the records back to back.
/// Codecs as Kafka's Java client writes them:
/// gzip (GZIPOutputStream), snappy in xerial's framing (SnappyOutputStream: 8-byte magic, version 1,
/// compatible version 1, then [int32 big-endian length, snappy block]*; librdkafka writes raw snappy, which
/// is also read), lz4 in the standard LZ4 frame with independent 64 KiB blocks and no checksums
/// (KafkaLZ4BlockOutputStream), zstd frames (level 3 by default).
/// Decompression is bounded by <c>maxOutput</c> so a small hostile batch cannot expand without limit.
/// </summary>
public static class RecordCompression
{
    private static ReadOnlySpan<byte> XerialMagic => [0x82, (byte)'S', (byte)'N', (byte)'A', (byte)'P', (byte)'P', (byte)'Y', 0];

    private const int XerialHeaderSize = 16;
    private const int XerialBlockSize = 32 * 1024;

    public static void Compress(CompressionType type, ReadOnlySpan<byte> input, PooledBuffer output, int level = -1)
    {
        switch (type)
        {
            case CompressionType.None:
                output.Write(input);
                break;
            case CompressionType.Gzip:
                using (var stream = new PooledBufferStream(output))
                using (var gzip = new GZipStream(stream, new ZLibCompressionOptions { CompressionLevel = level is >= 0 and <= 9 ? level : 6 }, leaveOpen: true))
                {
                    gzip.Write(input);
                }
                break;
            case CompressionType.Snappy:
                CompressXerialSnappy(input, output);
                break;
            case CompressionType.Lz4:
                using (var stream = new PooledBufferStream(output))
                using (var lz4 = LZ4Stream.Encode(stream, new LZ4EncoderSettings
                {
                    BlockSize = 64 * 1024,
                    ChainBlocks = false,
                    ContentChecksum = false,
                    BlockChecksum = false,
                    CompressionLevel = Lz4Level(level),
                }, leaveOpen: true))
                {
                    lz4.Write(input);
                }
                break;
            case CompressionType.Zstd:
                using (var zstd = new Compressor(level == -1 ? 3 : level))
                {
                    var bound = Compressor.GetCompressBound(input.Length);
                    var written = zstd.Wrap(input, output.GetSpan(bound));
                    output.Advance(written);
                }
                break;
            default:
                throw new ProtocolException($"Unknown compression type {(int)type}");
        }
    }

    /// <summary>
    /// Kafka's lz4 levels (1-17, KIP-390) are LZ4 HC levels; -1 (no level asked for) is the fast compressor that
    /// clients use. The HC encoder tops out at 12, and levels under 3 are its lowest HC level.
    /// </summary>
    private static LZ4Level Lz4Level(int level) => level < 1 ? LZ4Level.L00_FAST : (LZ4Level)Math.Clamp(level, 3, 12);

    private static void CompressXerialSnappy(ReadOnlySpan<byte> input, PooledBuffer output)
    {
        var header = output.GetSpan(XerialHeaderSize);
        XerialMagic.CopyTo(header);
        BinaryPrimitives.WriteInt32BigEndian(header[8..], 1);
        BinaryPrimitives.WriteInt32BigEndian(header[12..], 1);
        output.Advance(XerialHeaderSize);
        while (!input.IsEmpty)
        {
            var chunk = input[..Math.Min(XerialBlockSize, input.Length)];
            var destination = output.GetSpan(4 + Snappier.Snappy.GetMaxCompressedLength(chunk.Length));
            var written = Snappier.Snappy.Compress(chunk, destination[4..]);
            BinaryPrimitives.WriteInt32BigEndian(destination, written);
            output.Advance(4 + written);
            input = input[chunk.Length..];
        }
    }

    /// <summary>Decompresses into <paramref name="output"/>; throws <see cref="ProtocolException"/> on bad data or output over <paramref name="maxOutput"/>.</summary>
    public static void Decompress(CompressionType type, ReadOnlySpan<byte> input, PooledBuffer output, int maxOutput)
    {
        try
        {
            switch (type)
            {
                case CompressionType.None:
                    Bound(input.Length, maxOutput);
                    output.Write(input);
                    break;
                case CompressionType.Gzip:
                    DecompressStream(input, output, maxOutput, s => new GZipStream(s, CompressionMode.Decompress));
                    break;
                case CompressionType.Snappy:
                    DecompressSnappy(input, output, maxOutput);
                    break;
                case CompressionType.Lz4:
                    DecompressStream(input, output, maxOutput, s => LZ4Stream.Decode(s));
                    break;
                case CompressionType.Zstd:
                    DecompressStream(input, output, maxOutput, s => new DecompressionStream(s));
                    break;
                default:
                    throw new ProtocolException($"Unknown compression type {(int)type}");
            }
        }
        catch (Exception e) when (e is InvalidDataException or InvalidOperationException or ArgumentException or IOException or ZstdException)
        {
            throw new ProtocolException($"Cannot decompress {type} records: {e.Message}");
        }
    }

    private static void Bound(long size, int maxOutput)
    {
        if (size > maxOutput)
        {
            throw new ProtocolException($"Decompressed records exceed {maxOutput} bytes");
        }
    }

    private static unsafe void DecompressStream(ReadOnlySpan<byte> input, PooledBuffer output, int maxOutput, Func<Stream, Stream> open)
    {
        fixed (byte* p = input)
        {
            using var source = new UnmanagedMemoryStream(p, input.Length);
            using var decoder = open(source);
            while (true)
            {
                var span = output.GetSpan(16 * 1024);
                var read = decoder.Read(span);
                if (read == 0)
                {
                    return;
                }
                output.Advance(read);
                Bound(output.Length, maxOutput);
            }
        }
    }

    private static void DecompressSnappy(ReadOnlySpan<byte> input, PooledBuffer output, int maxOutput)
    {
        if (input.Length < XerialHeaderSize || !input[..XerialMagic.Length].SequenceEqual(XerialMagic))
        {
            DecompressSnappyBlock(input, output, maxOutput);
            return;
        }
        var position = XerialHeaderSize;
        while (position < input.Length)
        {
            if (input.Length - position < 4)
            {
                throw new ProtocolException("Truncated xerial snappy block length");
            }
            var length = BinaryPrimitives.ReadInt32BigEndian(input[position..]);
            position += 4;
            if (length < 0 || length > input.Length - position)
            {
                throw new ProtocolException($"Xerial snappy block of {length} bytes exceeds the {input.Length - position} remaining");
            }
            DecompressSnappyBlock(input.Slice(position, length), output, maxOutput);
            position += length;
        }
    }

    private static void DecompressSnappyBlock(ReadOnlySpan<byte> block, PooledBuffer output, int maxOutput)
    {
        var size = Snappier.Snappy.GetUncompressedLength(block);
        Bound((long)output.Length + size, maxOutput);
        var written = Snappier.Snappy.Decompress(block, output.GetSpan(size));
        output.Advance(written);
    }

    /// <summary>A write-only stream over a <see cref="PooledBuffer"/>, for the codecs that speak streams.</summary>
    private sealed class PooledBufferStream(PooledBuffer buffer) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => buffer.Length;
        public override long Position { get => buffer.Length; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] bytes, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] bytes, int offset, int count) => buffer.Write(bytes.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> bytes) => buffer.Write(bytes);
    }
}
