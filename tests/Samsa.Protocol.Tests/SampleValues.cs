namespace Samsa.Protocol.Tests;

/// <summary>A schema, its version range, and a builder of random instances for a given version.</summary>
public sealed record MessageSample(string Schema, short Lowest, short Highest, Func<IProtocolMessage> Create, Func<Random, short, IProtocolMessage> Build);

/// <summary>Random field values for the generated sample builders; small, but covering every encoding path.</summary>
public static class SampleValues
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789._-";

    public static bool Chance(Random r) => r.Next(4) == 0;

    public static bool Bool(Random r) => r.Next(2) == 1;

    public static sbyte Int8(Random r) => (sbyte)r.Next(sbyte.MinValue, sbyte.MaxValue + 1);

    public static short Int16(Random r) => (short)r.Next(short.MinValue, short.MaxValue + 1);

    public static int Int32(Random r) => r.Next(4) == 0 ? -1 : r.Next(int.MinValue, int.MaxValue);

    public static long Int64(Random r) => r.Next(4) == 0 ? -1 : r.NextInt64(long.MinValue, long.MaxValue);

    public static ushort UInt16(Random r) => (ushort)r.Next(0, ushort.MaxValue + 1);

    public static uint UInt32(Random r) => (uint)r.NextInt64(0, uint.MaxValue + 1L);

    public static double Float64(Random r) => (r.NextDouble() - 0.5) * 1e6;

    public static Uuid Uuid(Random r) => new(r.NextInt64(), r.NextInt64());

    /// <summary>Mostly ASCII, sometimes multi-byte UTF-8 so byte and char lengths differ.</summary>
    public static string String(Random r)
    {
        var length = r.Next(0, 12);
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = Alphabet[r.Next(Alphabet.Length)];
        }
        return r.Next(5) == 0 ? new string(chars) + "ü€" : new string(chars);
    }

    public static byte[] Bytes(Random r)
    {
        var bytes = new byte[r.Next(0, 20)];
        r.NextBytes(bytes);
        return bytes;
    }

    public static ReadOnlyMemory<byte> Memory(Random r) => Bytes(r);

    public static List<T> List<T>(Random r, Func<T> element)
    {
        var count = r.Next(0, 3);
        var list = new List<T>(count);
        for (var i = 0; i < count; i++)
        {
            list.Add(element());
        }
        return list;
    }
}
