using System.Buffers.Binary;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Tests;

/// <summary>Framing and connection isolation, over real sockets against a real broker.</summary>
public class SocketServerTests
{
    private static byte[] ApiVersionsFrame(int correlationId, short version = 3) =>
        TestClient.EncodeRequest(new ApiVersionsRequest { ClientSoftwareName = "samsa-tests", ClientSoftwareVersion = "1.0" }, version, correlationId);

    private static async Task AssertServesAsync(TestClient client, int correlationId)
    {
        var request = new ApiVersionsRequest { ClientSoftwareName = "samsa-tests", ClientSoftwareVersion = "1.0" };
        var (correlation, body) = await client.RequestAsync<ApiVersionsResponse>(request, 3, correlationId);
        Assert.Equal(correlationId, correlation);
        Assert.Equal((short)ErrorCode.None, body.ErrorCode);
    }

    private static byte[] SizePrefix(int size)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, size);
        return bytes;
    }

    [Fact]
    public async Task OversizedFrame_ClosesOnlyThatConnection_BeforeThePayloadArrives()
    {
        await using var broker = await TestBroker.StartAsync(("socket.request.max.bytes", "1024"));
        await using var bystander = await broker.ConnectAsync();
        await AssertServesAsync(bystander, 1);

        await using var offender = await broker.ConnectAsync();
        // Only the size prefix is sent: the broker must refuse on the size alone, not wait for 1 GiB.
        await offender.SendRawAsync(SizePrefix(1 << 30));

        Assert.True(await offender.WaitForCloseAsync());
        Assert.Contains(broker.Logs.Lines, l => l.EventId == 203 && l.Message.Contains("larger than 1024"));
        await AssertServesAsync(bystander, 2);
        await using var newcomer = await broker.ConnectAsync();
        await AssertServesAsync(newcomer, 3);
    }

    [Fact]
    public async Task FrameOfExactlyTheLimit_IsAccepted()
    {
        var frame = ApiVersionsFrame(5);
        await using var broker = await TestBroker.StartAsync(("socket.request.max.bytes", (frame.Length - 4).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await using var client = await broker.ConnectAsync();
        await client.SendRawAsync(frame);
        Assert.NotNull(await client.ReadFrameAsync());
    }

    [Fact]
    public async Task NegativeSize_ClosesTheConnection()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        await client.SendRawAsync(SizePrefix(-5));
        Assert.True(await client.WaitForCloseAsync());
        Assert.Contains(broker.Logs.Lines, l => l.EventId == 203 && l.Message.Contains("size = -5"));
    }

    [Fact]
    public async Task TruncatedFrame_IsLoggedWhenThePeerHangsUp_AndOthersCarryOn()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var bystander = await broker.ConnectAsync();
        var client = await broker.ConnectAsync();
        var frame = ApiVersionsFrame(1);
        await client.SendRawAsync(frame[..(frame.Length - 3)]);
        await client.DisposeAsync();

        await WaitUntilAsync(() => broker.Logs.Lines.Any(l => l.EventId == 203 && l.Message.Contains("truncated frame")));
        await AssertServesAsync(bystander, 9);
    }

    [Fact]
    public async Task RandomBytes_CloseTheConnection_WithoutAffectingOthers()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var bystander = await broker.ConnectAsync();
        var random = new Random(1234);
        for (var i = 0; i < 20; i++)
        {
            var garbage = new byte[random.Next(4, 200)];
            random.NextBytes(garbage);
            // A truthful size prefix, so the broker holds the whole frame and must parse the garbage.
            BinaryPrimitives.WriteInt32BigEndian(garbage, garbage.Length - 4);
            await using var client = await broker.ConnectAsync();
            await client.SendRawAsync(garbage);
            Assert.True(await client.WaitForCloseAsync(), $"garbage #{i} did not close the connection");
        }
        await AssertServesAsync(bystander, 1);
    }

    [Theory]
    [InlineData(1000, 0)]   // unknown API key
    [InlineData(0, 3)]      // Produce: not served yet
    [InlineData(4, 0)]      // LeaderAndIsr: ZooKeeper-era, never served
    [InlineData(3, 13)]     // Metadata above the served range
    [InlineData(3, -1)]     // negative version
    public async Task UnservedKeyOrVersion_ClosesTheConnection(short apiKey, short apiVersion)
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        var frame = new byte[4 + 10];
        BinaryPrimitives.WriteInt32BigEndian(frame, 10);
        BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(4), apiKey);
        BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(6), apiVersion);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(8), 77);
        BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(12), -1);
        await client.SendRawAsync(frame);
        Assert.True(await client.WaitForCloseAsync());
    }

    [Fact]
    public async Task HeaderThatDoesNotParse_ClosesTheConnection()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        // ApiVersions v0 whose client id claims 500 bytes but the frame ends after 2.
        var frame = new byte[] { 0, 0, 0, 12, 0, 18, 0, 0, 0, 0, 0, 1, 0x01, 0xF4, (byte)'a', (byte)'b' };
        await client.SendRawAsync(frame);
        Assert.True(await client.WaitForCloseAsync());
    }

    [Fact]
    public async Task PipelinedRequests_AreAnsweredInRequestOrder()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        // Mixed APIs and versions in one write, so several whole frames arrive in one read.
        var frames = new List<byte[]>();
        for (var i = 0; i < 60; i++)
        {
            frames.Add(i % 2 == 0
                ? ApiVersionsFrame(i, (short)(i % 5))
                : TestClient.EncodeRequest(new MetadataRequest { Topics = null }, (short)(1 + i % 12), i));
        }
        await client.SendRawAsync(frames.SelectMany(f => f).ToArray());
        for (var i = 0; i < 60; i++)
        {
            var response = await client.ReadFrameAsync();
            Assert.NotNull(response);
            Assert.Equal(i, BinaryPrimitives.ReadInt32BigEndian(response));
        }
    }

    [Fact]
    public async Task ManyConcurrentConnections_AreServedIndependently()
    {
        await using var broker = await TestBroker.StartAsync();
        var tasks = Enumerable.Range(0, 64).Select(async n =>
        {
            await using var client = await broker.ConnectAsync();
            for (var i = 0; i < 5; i++)
            {
                await AssertServesAsync(client, n * 100 + i);
            }
        });
        await Task.WhenAll(tasks);
    }

    [Fact]
    public async Task Dispose_ClosesOpenConnections()
    {
        var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        await AssertServesAsync(client, 1);
        await broker.DisposeAsync();
        Assert.True(await client.WaitForCloseAsync());
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 10 s");
            await Task.Delay(20);
        }
    }
}
