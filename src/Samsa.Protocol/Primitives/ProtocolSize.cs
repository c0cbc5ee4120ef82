using System.Text;

namespace Samsa.Protocol;

/// <summary>Sizes of wire primitives, so a message can be measured without being written.</summary>
public static class ProtocolSize
{
    public static int UnsignedVarInt(uint value) => value switch
    {
        < 1u << 7 => 1,
        < 1u << 14 => 2,
        < 1u << 21 => 3,
        < 1u << 28 => 4,
        _ => 5,
    };

    public static int VarInt(int value) => UnsignedVarInt((uint)((value << 1) ^ (value >> 31)));

    public static int VarLong(long value)
    {
        var raw = (ulong)((value << 1) ^ (value >> 63));
        var bytes = 1;
        while (raw >= 0x80)
        {
            raw >>= 7;
            bytes++;
        }
        return bytes;
    }

    public static int Utf8(string value) => Encoding.UTF8.GetByteCount(value);

    public static int NullableString(string? value) => 2 + (value is null ? 0 : Utf8(value));

    public static int CompactNullableString(string? value)
    {
        if (value is null)
        {
            return 1;
        }
        var length = Utf8(value);
        return UnsignedVarInt((uint)length + 1) + length;
    }

    public static int CompactLength(int length) => UnsignedVarInt((uint)(length + 1));
}
