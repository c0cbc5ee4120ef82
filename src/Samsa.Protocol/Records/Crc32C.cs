using System.Numerics;
using System.Runtime.InteropServices;

namespace Samsa.Protocol.Records;

/// <summary>
/// CRC-32C (Castagnoli), the checksum of a v2 record batch (KIP-98). Uses the CPU's crc32 instruction through
/// <see cref="BitOperations.Crc32C(uint, ulong)"/>, eight bytes at a time; the JIT falls back to software where
/// the instruction is missing. Kafka starts from 0xFFFFFFFF and inverts the result, as the standard does.
/// </summary>
public static class Crc32C
{
    public static uint Compute(ReadOnlySpan<byte> data) => ~Update(0xFFFFFFFFu, data);

    /// <summary>Continues a running, not-yet-inverted CRC over more bytes.</summary>
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        var words = MemoryMarshal.Cast<byte, ulong>(data);
        foreach (var word in words)
        {
            // The instruction consumes the word's bytes in memory order, i.e. a little-endian read.
            crc = BitOperations.Crc32C(crc, BitConverter.IsLittleEndian ? word : System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(word));
        }
        foreach (var b in data[(words.Length * 8)..])
        {
            crc = BitOperations.Crc32C(crc, b);
        }
        return crc;
    }
}
