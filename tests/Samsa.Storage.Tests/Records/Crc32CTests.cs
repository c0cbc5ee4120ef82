using Samsa.Protocol.Records;

namespace Samsa.Storage.Tests.Records;

public class Crc32CTests
{
    /// <summary>Bit-at-a-time reference (reflected polynomial 0x82F63B78), independent of the hardware path.</summary>
    private static uint Reference(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var i = 0; i < 8; i++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
            }
        }
        return ~crc;
    }

    [Fact]
    public void Compute_StandardCheckValue_MatchesCastagnoli() =>
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));

    [Fact]
    public void Compute_RandomLengths_MatchesBitwiseReference()
    {
        var random = new Random(7);
        for (var length = 0; length < 200; length++)
        {
            var data = new byte[length];
            random.NextBytes(data);
            Assert.Equal(Reference(data), Crc32C.Compute(data));
        }
    }
}
