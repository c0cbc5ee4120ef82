using System.Buffers.Binary;
using System.Buffers.Text;

namespace Samsa.Protocol;

/// <summary>
/// Kafka's 128-bit UUID (topic ids, directory ids). Printed as Kafka prints it: URL-safe base64 of the
/// 16 big-endian bytes without padding, e.g. <c>AAAAAAAAAAAAAAAAAAAAAA</c> for <see cref="Zero"/>.
/// </summary>
public readonly record struct Uuid(long MostSignificantBits, long LeastSignificantBits)
{
    public static readonly Uuid Zero = default;

    /// <summary>Kafka reserves the all-zero id and the id with only the lowest bit set (metadata topic).</summary>
    public static readonly Uuid MetadataTopicId = new(0, 1);

    public bool IsZero => MostSignificantBits == 0 && LeastSignificantBits == 0;

    /// <summary>A random id that is neither reserved nor starts with '-' when printed (Kafka's rule for ids used as CLI arguments).</summary>
    public static Uuid Random()
    {
        Span<byte> bytes = stackalloc byte[16];
        while (true)
        {
            System.Security.Cryptography.RandomNumberGenerator.Fill(bytes);
            var id = FromBytes(bytes);
            if (id != Zero && id != MetadataTopicId && !id.ToString().StartsWith('-'))
            {
                return id;
            }
        }
    }

    public static Uuid FromBytes(ReadOnlySpan<byte> bytes) =>
        new(BinaryPrimitives.ReadInt64BigEndian(bytes), BinaryPrimitives.ReadInt64BigEndian(bytes[8..]));

    public void WriteBytes(Span<byte> destination)
    {
        BinaryPrimitives.WriteInt64BigEndian(destination, MostSignificantBits);
        BinaryPrimitives.WriteInt64BigEndian(destination[8..], LeastSignificantBits);
    }

    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[16];
        WriteBytes(bytes);
        return Base64Url.EncodeToString(bytes);
    }

    public static bool TryParse(string text, out Uuid id)
    {
        Span<byte> bytes = stackalloc byte[18];
        id = default;
        if (text.Length != 22 || !Base64Url.TryDecodeFromChars(text, bytes, out var written) || written != 16)
        {
            return false;
        }
        id = FromBytes(bytes);
        return true;
    }

    public static Uuid Parse(string text) =>
        TryParse(text, out var id) ? id : throw new FormatException($"'{text}' is not a Kafka UUID (22 characters of URL-safe base64)");
}
