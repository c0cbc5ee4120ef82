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

    /// <summary>Records held elsewhere; counts how often their bytes were asked for.</summary>
    private sealed class HeldRecords(byte[] bytes) : Samsa.Protocol.Records.ExternalRecords
    {
        public int SpanRequests { get; private set; }

        public override int Length => bytes.Length;

        public override Memory<byte> Memory => CreateMemory(bytes.Length);

        public override Span<byte> GetSpan()
        {
            SpanRequests++;
            return bytes;
        }

        public override System.Buffers.MemoryHandle Pin(int elementIndex = 0) => throw new NotSupportedException();

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }

    [Fact]
    public void ExternalRecords_AreLeftOutByAWriterThatCollectsThem_AndCopiedByAnyOther()
    {
        var held = new HeldRecords([1, 2, 3, 4, 5]);
        var external = new List<Samsa.Protocol.Records.ExternalSlice>();
        var buffer = new byte[16];
        var writer = new ProtocolWriter(buffer, external);
        writer.WriteInt8(7);
        writer.WriteCompactNullableRecords(held.Memory[1..4], isNull: false);
        writer.WriteInt8(8);
        writer.WriteNullableRecords(held.Memory, isNull: false);
        writer.WriteNullableRecords(ReadOnlyMemory<byte>.Empty, isNull: true);
        // Only the prefixes are written; each slice says where its bytes belong and which bytes they are.
        Assert.Equal("07" + "04" + "08" + "00000005" + "ffffffff", Convert.ToHexStringLower(buffer.AsSpan(0, writer.Position)));
        Assert.Equal(0, held.SpanRequests);
        Assert.Equal([new(2, held, 1, 3), new(7, held, 0, 5)], external);

        // A plain writer copies the bytes in, so the message is right wherever it is encoded.
        Assert.Equal("07" + "04020304" + "08" + "000000050102030405", Convert.ToHexStringLower(Write(32, (ref ProtocolWriter w) =>
        {
            w.WriteInt8(7);
            w.WriteCompactNullableRecords(held.Memory[1..4], isNull: false);
            w.WriteInt8(8);
            w.WriteNullableRecords(held.Memory, isNull: false);
        })));
    }
}
