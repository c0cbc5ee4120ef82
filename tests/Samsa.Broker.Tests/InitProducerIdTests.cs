using System.Buffers.Binary;
using System.Text;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Tests;

/// <summary>
/// InitProducerId v0-5 with requests built byte by byte as Kafka's Java producer (3.x/4.x TransactionManager) sends
/// them for an idempotent producer: transactional_id null, transaction_timeout_ms = transaction.timeout.ms (60000),
/// and from v3 producer_id -1 and producer_epoch -1 on the first init.
/// </summary>
public class InitProducerIdTests
{
    private const int TransactionTimeoutMs = 60_000;

    /// <summary>
    /// The whole frame: size, request header (v1 below v2 of this API, v2 with an empty tagged-field section from v2,
    /// the first flexible version), then the body.
    /// </summary>
    private static byte[] JavaProducerFrame(short version, int correlationId, long producerId = -1, short producerEpoch = -1, string? transactionalId = null)
    {
        var body = new List<byte>();
        void Int16(short v) { var b = new byte[2]; BinaryPrimitives.WriteInt16BigEndian(b, v); body.AddRange(b); }
        void Int32(int v) { var b = new byte[4]; BinaryPrimitives.WriteInt32BigEndian(b, v); body.AddRange(b); }
        void Int64(long v) { var b = new byte[8]; BinaryPrimitives.WriteInt64BigEndian(b, v); body.AddRange(b); }
        var flexible = version >= 2;

        Int16((short)ApiKey.InitProducerId);
        Int16(version);
        Int32(correlationId);
        var clientId = Encoding.UTF8.GetBytes("producer-1");
        Int16((short)clientId.Length);   // the header's client_id is a classic nullable string in every header version
        body.AddRange(clientId);
        if (flexible)
        {
            body.Add(0);                 // header tagged fields
        }

        var txn = transactionalId is null ? null : Encoding.UTF8.GetBytes(transactionalId);
        if (flexible)
        {
            body.Add((byte)(txn is null ? 0 : txn.Length + 1));   // compact nullable string: length + 1, 0 for null
        }
        else
        {
            Int16((short)(txn?.Length ?? -1));
        }
        body.AddRange(txn ?? []);
        Int32(TransactionTimeoutMs);
        if (version >= 3)
        {
            Int64(producerId);
            Int16(producerEpoch);
        }
        if (flexible)
        {
            body.Add(0);                 // body tagged fields
        }
        var frame = new byte[4 + body.Count];
        BinaryPrimitives.WriteInt32BigEndian(frame, body.Count);
        body.CopyTo(frame, 4);
        return frame;
    }

    private static async Task<InitProducerIdResponse> Send(TestClient client, short version, int correlationId, long producerId = -1, short producerEpoch = -1, string? transactionalId = null)
    {
        await client.SendRawAsync(JavaProducerFrame(version, correlationId, producerId, producerEpoch, transactionalId));
        var frame = await client.ReadFrameAsync() ?? throw new IOException("Broker closed the connection instead of answering");
        var (correlation, response) = TestClient.ParseResponse<InitProducerIdResponse>(frame, version, ApiMessages.ResponseHeaderVersion(ApiKey.InitProducerId, version));
        Assert.Equal(correlationId, correlation);
        return response;
    }

    public static TheoryData<short> Versions() => [0, 1, 2, 3, 4, 5];

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task IdempotentProducer_GetsAFreshIdAndEpochZero_InEveryVersion(short version)
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        var ids = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            var response = await Send(client, version, 100 + i);
            Assert.Equal((short)ErrorCode.None, response.ErrorCode);
            Assert.Equal(0, response.ProducerEpoch);
            Assert.Equal(0, response.ThrottleTimeMs);
            ids.Add(response.ProducerId);
        }
        Assert.All(ids, id => Assert.True(id >= 0));
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public void HandBuiltFrame_MatchesTheGeneratedEncoding_SoTheBytesAreWhatKafkaReads()
    {
        foreach (var version in new short[] { 0, 1, 2, 3, 4, 5 })
        {
            var generated = TestClient.EncodeRequest(new InitProducerIdRequest
            {
                TransactionalId = null,
                TransactionTimeoutMs = TransactionTimeoutMs,
                ProducerId = -1,
                ProducerEpoch = -1,
            }, version, 7, "producer-1");
            Assert.Equal(Convert.ToHexString(generated), Convert.ToHexString(JavaProducerFrame(version, 7)));
        }
    }

    [Fact]
    public async Task IdsFromConcurrentConnections_AreDistinct_AcrossMoreThanOneBlock()
    {
        await using var broker = await TestBroker.StartAsync();
        var perClient = await Task.WhenAll(Enumerable.Range(0, 4).Select(async c =>
        {
            await using var client = await broker.ConnectAsync();
            var ids = new List<long>();
            for (var i = 0; i < 600; i++)
            {
                var response = await Send(client, 5, i);
                Assert.Equal((short)ErrorCode.None, response.ErrorCode);
                ids.Add(response.ProducerId);
            }
            return ids;
        }));
        var all = perClient.SelectMany(ids => ids).ToList();
        Assert.Equal(2400, all.Distinct().Count());
        // Each connection's ids only grow: every block starts after the last.
        Assert.All(perClient, ids => Assert.Equal(ids.Order(), ids));
        Assert.True(broker.Broker.Metadata.Current.NextProducerId >= 3000, $"next producer id {broker.Broker.Metadata.Current.NextProducerId}");
    }

    [Fact]
    public async Task IdsAfterABrokerRestart_AreLargerThanAnyHandedOutBefore()
    {
        using var dir = new TempDir();
        long highest;
        await using (var broker = await TestBroker.StartInAsync(dir))
        {
            await using var client = await broker.ConnectAsync();
            var ids = new List<long>();
            for (var i = 0; i < 5; i++)
            {
                ids.Add((await Send(client, 4, i)).ProducerId);
            }
            highest = ids.Max();
        }
        await using (var restarted = await TestBroker.StartInAsync(dir))
        {
            await using var client = await restarted.ConnectAsync();
            var first = await Send(client, 4, 1);
            Assert.Equal((short)ErrorCode.None, first.ErrorCode);
            Assert.True(first.ProducerId > highest, $"{first.ProducerId} after a restart, {highest} before");
            // The rest of the old block is never handed out: the new one starts where the controller left off.
            Assert.Equal(1000, first.ProducerId);
        }
    }

    [Theory]
    [InlineData(3, -1L, (short)0)]
    [InlineData(4, 5L, (short)-1)]
    [InlineData(5, -1L, (short)3)]
    public async Task ProducerIdWithoutEpoch_OrEpochWithoutId_IsInvalidRequest(short version, long producerId, short producerEpoch)
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        var response = await Send(client, version, 1, producerId, producerEpoch);
        Assert.Equal((short)ErrorCode.InvalidRequest, response.ErrorCode);
        Assert.Equal((-1L, (short)-1), (response.ProducerId, response.ProducerEpoch));
    }

    [Fact]
    public async Task IdempotentProducerPassingItsOldIdAndEpoch_GetsANewIdAndEpochZero_AsKafkaDoes()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        var first = await Send(client, 5, 1);
        var again = await Send(client, 5, 2, first.ProducerId, 7);
        Assert.Equal((short)ErrorCode.None, again.ErrorCode);
        Assert.NotEqual(first.ProducerId, again.ProducerId);
        Assert.Equal(0, again.ProducerEpoch);
    }

    [Theory]
    [InlineData(0, "txn-1", ErrorCode.NotCoordinator)]
    [InlineData(5, "txn-1", ErrorCode.NotCoordinator)]
    [InlineData(2, "", ErrorCode.InvalidRequest)]
    public async Task TransactionalId_BeforeItsCoordinatorIsFound_OrEmpty_IsRefused(short version, string transactionalId, ErrorCode expected)
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        var response = await Send(client, version, 1, transactionalId: transactionalId);
        Assert.Equal((short)expected, response.ErrorCode);
        Assert.Equal((-1L, (short)-1), (response.ProducerId, response.ProducerEpoch));
        Assert.Equal(0, broker.Broker.Metadata.Current.NextProducerId);
    }
}
