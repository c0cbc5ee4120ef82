using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Broker.Network;
using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Tests;

/// <summary>
/// The controller reached over the network: operations against a real combined node take effect in its metadata,
/// and a controller that is not active (NOT_CONTROLLER) or cannot be reached is passed over for the next one.
/// </summary>
public class RemoteControllerTests
{
    private static RemoteController Remote(NetworkClient client, Func<NodeEndpoint?> active) =>
        new(client, active, TimeProvider.System, NullLogger.Instance, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(20));

    [Fact]
    public async Task Operations_TakeEffectOnTheActiveController()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = new NetworkClient(new NetworkClientOptions(), TimeProvider.System, NullLogger.Instance);
        IController controller = Remote(client, () => new NodeEndpoint(broker.Broker.NodeId, "127.0.0.1", broker.Port));

        var created = await controller.CreateTopicsAsync(new CreateTopicsRequest
        {
            Topics = [new CreateTopicsRequest.CreatableTopic { Name = "remote-orders", NumPartitions = 3, ReplicationFactor = 1 }],
            timeoutMs = 10_000,
        }, default);
        Assert.Equal((short)ErrorCode.None, Assert.Single(created.Topics).ErrorCode);
        Assert.Equal(3, broker.Broker.Metadata.Current.Topics["remote-orders"].Partitions.Length);

        var grown = await controller.CreatePartitionsAsync(new CreatePartitionsRequest
        {
            Topics = [new CreatePartitionsRequest.CreatePartitionsTopic { Name = "remote-orders", Count = 5 }],
            TimeoutMs = 10_000,
        }, default);
        Assert.Equal((short)ErrorCode.None, Assert.Single(grown.Results).ErrorCode);
        Assert.Equal(5, broker.Broker.Metadata.Current.Topics["remote-orders"].Partitions.Length);

        var altered = await controller.IncrementalAlterConfigsAsync(new IncrementalAlterConfigsRequest
        {
            Resources =
            [
                new IncrementalAlterConfigsRequest.AlterConfigsResource
                {
                    ResourceType = 2,
                    ResourceName = "remote-orders",
                    Configs = [new IncrementalAlterConfigsRequest.AlterableConfig { Name = "retention.ms", ConfigOperation = 0, Value = "3600000" }],
                },
            ],
        }, default);
        Assert.Equal((short)ErrorCode.None, Assert.Single(altered.Responses).ErrorCode);
        Assert.Equal("3600000", broker.Broker.Metadata.Current.ConfigsOf(new ConfigResource(ConfigResourceType.Topic, "remote-orders"))["retention.ms"]);

        var refused = await controller.UpdateFeaturesAsync([new FeatureUpdate("no.such.feature", 1, FeatureUpgradeType.Upgrade)], validateOnly: false, default);
        Assert.Equal(ErrorCode.InvalidUpdateVersion, refused.Error);

        var deleted = await controller.DeleteTopicsAsync(new DeleteTopicsRequest { TopicNames = ["remote-orders"], TimeoutMs = 10_000 }, 5, default);
        Assert.Equal((short)ErrorCode.None, Assert.Single(deleted.Responses).ErrorCode);
        Assert.False(broker.Broker.Metadata.Current.Topics.ContainsKey("remote-orders"));
    }

    [Fact]
    public async Task AnUnreachableOrInactiveController_IsPassedOver_ForTheActiveOne()
    {
        var unreachable = new NodeEndpoint(1, "127.0.0.1", UnusedPort());
        await using var inactive = ScriptedController.Start(2, new AllocateProducerIdsResponse { ErrorCode = (short)ErrorCode.NotController });
        await using var active = ScriptedController.Start(3, new AllocateProducerIdsResponse { ProducerIdStart = 5000, ProducerIdLen = 1000 });
        await using var client = new NetworkClient(new NetworkClientOptions { ReconnectBackoff = TimeSpan.FromMilliseconds(10) }, TimeProvider.System, NullLogger.Instance);

        // The node learns of controllers one after another, as it would from the quorum.
        NodeEndpoint[] known = [unreachable, inactive.Endpoint, active.Endpoint];
        var asked = 0;
        var controller = Remote(client, () => known[Math.Min(asked++, known.Length - 1)]);

        var allocation = await controller.AllocateProducerIdsAsync(brokerId: 4, brokerEpoch: 17, default);

        Assert.Equal(ErrorCode.None, allocation.Error.Error);
        Assert.Equal(new ProducerIdsBlock(4, 5000, 1000), allocation.Block);
        Assert.Equal(1, inactive.Requests);
        Assert.Equal(1, active.Requests);
        var request = Assert.Single(active.Received);
        Assert.Equal((4, 17L), (request.BrokerId, request.BrokerEpoch));
    }

    [Fact]
    public async Task NoActiveController_FailsAfterTheRequestTimeout()
    {
        await using var client = new NetworkClient(new NetworkClientOptions(), TimeProvider.System, NullLogger.Instance);
        var controller = new RemoteController(client, () => null, TimeProvider.System, NullLogger.Instance, TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(20));
        await Assert.ThrowsAsync<TimeoutException>(() => controller.AllocateProducerIdsAsync(1, -1, default));
    }

    private static int UnusedPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>A stand-in controller answering every AllocateProducerIds v0 request with one fixed response.</summary>
    private sealed class ScriptedController : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly Task _serving;
        private readonly AllocateProducerIdsResponse _answer;
        private int _requests;

        private ScriptedController(int id, AllocateProducerIdsResponse answer)
        {
            _answer = answer;
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start();
            Endpoint = new NodeEndpoint(id, "127.0.0.1", ((IPEndPoint)_listener.LocalEndpoint).Port);
            _serving = Task.Run(ServeAsync);
        }

        public NodeEndpoint Endpoint { get; }

        public int Requests => Volatile.Read(ref _requests);

        public List<AllocateProducerIdsRequest> Received { get; } = [];

        public static ScriptedController Start(int id, AllocateProducerIdsResponse answer) => new(id, answer);

        private async Task ServeAsync()
        {
            try
            {
                while (true)
                {
                    var connection = await _listener.AcceptTcpClientAsync();
                    _ = Task.Run(() => AnswerAsync(connection));
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Stopped.
            }
        }

        private async Task AnswerAsync(TcpClient connection)
        {
            using var _ = connection;
            var stream = connection.GetStream();
            var size = new byte[4];
            try
            {
                while (true)
                {
                    await stream.ReadExactlyAsync(size);
                    var frame = new byte[BinaryPrimitives.ReadInt32BigEndian(size)];
                    await stream.ReadExactlyAsync(frame);
                    var reader = new ProtocolReader(frame);
                    var header = new RequestHeader();
                    header.Read(ref reader, ApiMessages.RequestHeaderVersion(ApiKey.AllocateProducerIds, 0));
                    var request = new AllocateProducerIdsRequest();
                    request.Read(ref reader, 0);
                    lock (Received)
                    {
                        Received.Add(request);
                    }
                    Interlocked.Increment(ref _requests);
                    var responseHeader = new ResponseHeader { CorrelationId = header.CorrelationId };
                    var headerVersion = ApiMessages.ResponseHeaderVersion(ApiKey.AllocateProducerIds, 0);
                    var payload = new byte[4 + responseHeader.Size(headerVersion) + _answer.Size(0)];
                    BinaryPrimitives.WriteInt32BigEndian(payload, payload.Length - 4);
                    var writer = new ProtocolWriter(payload.AsSpan(4));
                    responseHeader.Write(ref writer, headerVersion);
                    _answer.Write(ref writer, 0);
                    await stream.WriteAsync(payload);
                }
            }
            catch (Exception e) when (e is IOException or EndOfStreamException or ObjectDisposedException)
            {
                // The client went away.
            }
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            await _serving;
        }
    }
}
