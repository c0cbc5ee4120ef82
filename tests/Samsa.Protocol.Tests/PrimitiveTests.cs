namespace Samsa.Protocol.Tests;

public class PrimitiveTests
{
    private static byte[] Write(int capacity, WriteAction action)
    {
        var buffer = new byte[capacity];
        var writer = new ProtocolWriter(buffer);
        action(ref writer);
        return buffer[..writer.Position];
    }

    private delegate void WriteAction(ref ProtocolWriter writer);

    // Expected bytes are the zig-zag varint encodings listed in Kafka's ByteUtilsTest.
    [Theory]
    [InlineData(0, "00")]
    [InlineData(-1, "01")]
    [InlineData(1, "02")]
    [InlineData(63, "7e")]
    [InlineData(-64, "7f")]
    [InlineData(64, "8001")]
    [InlineData(-65, "8101")]
    [InlineData(8191, "fe7f")]
    [InlineData(-8192, "ff7f")]
    [InlineData(8192, "808001")]
    [InlineData(int.MaxValue, "feffffff0f")]
    [InlineData(int.MinValue, "ffffffff0f")]
    public void VarInt_MatchesKafkaEncoding(int value, string hex)
    {
        var bytes = Write(5, (ref ProtocolWriter w) => w.WriteVarInt(value));
        Assert.Equal(hex, Convert.ToHexStringLower(bytes));
        Assert.Equal(bytes.Length, ProtocolSize.VarInt(value));
        var reader = new ProtocolReader(bytes);
        Assert.Equal(value, reader.ReadVarInt());
        Assert.True(reader.End);
    }

    [Theory]
    [InlineData(0L, "00")]
    [InlineData(-1L, "01")]
    [InlineData(long.MaxValue, "feffffffffffffffff01")]
    [InlineData(long.MinValue, "ffffffffffffffffff01")]
    [InlineData(1L << 40, "808080808040")]
    public void VarLong_MatchesKafkaEncoding(long value, string hex)
    {
        var bytes = Write(10, (ref ProtocolWriter w) => w.WriteVarLong(value));
        Assert.Equal(hex, Convert.ToHexStringLower(bytes));
        Assert.Equal(bytes.Length, ProtocolSize.VarLong(value));
        var reader = new ProtocolReader(bytes);
        Assert.Equal(value, reader.ReadVarLong());
    }

    [Theory]
    [InlineData(0u, "00")]
    [InlineData(127u, "7f")]
    [InlineData(300u, "ac02")]
    [InlineData(uint.MaxValue, "ffffffff0f")]
    public void UnsignedVarInt_RoundTrips(uint value, string hex)
    {
        var bytes = Write(5, (ref ProtocolWriter w) => w.WriteUnsignedVarInt(value));
        Assert.Equal(hex, Convert.ToHexStringLower(bytes));
        Assert.Equal(bytes.Length, ProtocolSize.UnsignedVarInt(value));
        var reader = new ProtocolReader(bytes);
        Assert.Equal(value, reader.ReadUnsignedVarInt());
    }

    [Fact]
    public void UnsignedVarInt_LongerThanFiveBytes_IsRejected()
    {
        Assert.Throws<ProtocolException>(() =>
        {
            var reader = new ProtocolReader(Convert.FromHexString("8080808080"));
            reader.ReadUnsignedVarInt();
        });
    }

    [Fact]
    public void Strings_ClassicAndCompact_WithNull()
    {
        var bytes = Write(64, (ref ProtocolWriter w) =>
        {
            w.WriteNullableString("kafka");
            w.WriteNullableString(null);
            w.WriteCompactNullableString("ü");
            w.WriteCompactNullableString(null);
        });
        Assert.Equal("00056b61666b61" + "ffff" + "03c3bc" + "00", Convert.ToHexStringLower(bytes));
        var reader = new ProtocolReader(bytes);
        Assert.Equal("kafka", reader.ReadString());
        Assert.Null(reader.ReadNullableString());
        Assert.Equal("ü", reader.ReadCompactString());
        Assert.Null(reader.ReadCompactNullableString());
    }

    [Fact]
    public void ArrayLength_LargerThanRemainingBytes_IsRejectedBeforeAllocating()
    {
        var bytes = Convert.FromHexString("7fffffff00");
        var error = Assert.Throws<ProtocolException>(() =>
        {
            var reader = new ProtocolReader(bytes);
            reader.ReadArrayLength();
        });
        Assert.Contains("2147483647", error.Message);
    }

    [Fact]
    public void InvalidUtf8_IsAProtocolError()
    {
        Assert.Throws<ProtocolException>(() =>
        {
            var reader = new ProtocolReader(Convert.FromHexString("0002c328"));
            reader.ReadString();
        });
    }

    [Fact]
    public void Uuid_PrintsAsKafkaDoes()
    {
        Assert.Equal("AAAAAAAAAAAAAAAAAAAAAA", Uuid.Zero.ToString());
        Assert.Equal("AAAAAAAAAAAAAAAAAAAAAQ", Uuid.MetadataTopicId.ToString());
        var id = Uuid.Random();
        Assert.Equal(id, Uuid.Parse(id.ToString()));
        Assert.False(Uuid.TryParse("not-a-uuid", out _));
    }

    [Fact]
    public void ReaderOverMemory_HandsOutRecordsWithoutCopying()
    {
        var frame = new byte[] { 0, 0, 0, 3, 7, 8, 9 };
        var reader = new ProtocolReader((ReadOnlyMemory<byte>)frame);
        var records = reader.ReadMemory(reader.ReadBytesLength())!.Value;
        frame[5] = 42;
        Assert.Equal(42, records.Span[1]);
    }
}
