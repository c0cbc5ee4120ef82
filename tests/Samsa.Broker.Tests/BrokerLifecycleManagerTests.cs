using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Broker.Config;
using Samsa.Broker.Handlers;
using Samsa.Broker.Network;
using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Tests;

/// <summary>
/// A broker's lifecycle against a real controller over a real socket: a <see cref="QuorumController"/> on its own
/// metadata log, served by <see cref="BrokerRegistrationHandler"/> and <see cref="BrokerHeartbeatHandler"/> on a
/// controller listener, reached through <see cref="RemoteController"/> (Kafka's <c>BrokerLifecycleManagerTest</c>).
/// </summary>
public sealed class BrokerLifecycleManagerTests
{
    private sealed class ControllerNode : IAsyncDisposable
    {
        private readonly TempDir _dir;
        private readonly LocalMetadataLog _log;
        private readonly SocketServer _server;

        private ControllerNode(TempDir dir, LocalMetadataLog log, MetadataCache cache, QuorumController controller, SocketServer server)
        {
            _dir = dir;
            _log = log;
            Cache = cache;
            Controller = controller;
            _server = server;
        }

        public MetadataCache Cache { get; }

        public QuorumController Controller { get; }

        public NodeEndpoint Endpoint => new(3000, "127.0.0.1", _server.BoundEndpoints[0].Port);

        public static async Task<ControllerNode> StartAsync()
        {
            var dir = new TempDir();
            var log = LocalMetadataLog.Open(dir.Path, new MetadataLogOptions());
            var (image, _) = log.Load(MetadataImage.Empty("lifecycle-cluster"));
            var cache = new MetadataCache(image);
            var controller = new QuorumController(log, cache, new ControllerOptions());
            await controller.BootstrapAsync(default);
            var dispatcher = new RequestDispatcher([new BrokerRegistrationHandler(controller), new BrokerHeartbeatHandler(controller)],
                NullLoggerFactory.Instance, RequestDispatcher.ControllerListener);
            // The listener's name does not matter here: what makes it a controller listener is what its dispatcher serves.
            var config = KafkaConfig.FromProperties([new("listeners", "PLAINTEXT://127.0.0.1:0"), new("log.dirs", dir.Path)]);
            var server = await SocketServer.BindAsync(config, dispatcher, NullLoggerFactory.Instance);
            server.Start();
            return new ControllerNode(dir, log, cache, controller, server);
        }

        public async ValueTask DisposeAsync()
        {
            await _server.DisposeAsync();
            Controller.Dispose();
            _log.Dispose();
            _dir.Dispose();
        }
    }

    [Fact]
    public async Task ABroker_RegistersAndIsUnfenced_ThenShutsDownUnderControl()
    {
        await using var node = await ControllerNode.StartAsync();
        await using var client = new NetworkClient(new NetworkClientOptions(), TimeProvider.System, NullLogger.Instance);
        var remote = new RemoteController(client, () => node.Endpoint, TimeProvider.System, NullLogger.Instance, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(20));
        var lifecycle = new BrokerLifecycleManager(remote, new BrokerLifecycleOptions
        {
            NodeId = 4,
            ClusterId = "lifecycle-cluster",
            Listeners = [new() { Name = "PLAINTEXT", Host = "127.0.0.1", Port = 19092, SecurityProtocol = 0 }],
            Features = [.. FeatureControlManager.Supported.Select(f => new BrokerRegistrationRequest.Feature { Name = f.Key, MinSupportedVersion = f.Value.Min, MaxSupportedVersion = f.Value.Max })],
            HeartbeatInterval = TimeSpan.FromMilliseconds(50),
            RetryBackoff = TimeSpan.FromMilliseconds(20),
            ControlledShutdownTimeout = TimeSpan.FromSeconds(10),
        }, () => node.Cache.Current.Offset, TimeProvider.System, NullLogger.Instance);
        await using (lifecycle)
        {
            lifecycle.Start();
            var epoch = await lifecycle.Registered.WaitAsync(TimeSpan.FromSeconds(20));
            await lifecycle.Unfenced.WaitAsync(TimeSpan.FromSeconds(20));

            Assert.False(lifecycle.IsFenced);
            Assert.Equal(epoch, lifecycle.BrokerEpoch);
            var registered = node.Cache.Current.Brokers[4];
            Assert.Equal(epoch, registered.Epoch);
            Assert.Equal(lifecycle.IncarnationId, registered.IncarnationId);
            Assert.False(registered.Fenced);
            Assert.Equal(new BrokerEndpoint("PLAINTEXT", "127.0.0.1", 19092), Assert.Single(registered.Endpoints));
        }

        Assert.True(lifecycle.ShouldShutDown);
        Assert.True(node.Cache.Current.Brokers[4].Fenced);
    }

    [Fact]
    public async Task ABrokerOfAnotherCluster_GivesUpAfterTheInitialRegistrationTimeout()
    {
        await using var node = await ControllerNode.StartAsync();
        var lifecycle = new BrokerLifecycleManager(node.Controller, new BrokerLifecycleOptions
        {
            NodeId = 4,
            ClusterId = "another-cluster",
            Listeners = [],
            InitialRegistrationTimeout = TimeSpan.FromMilliseconds(200),
            RetryBackoff = TimeSpan.FromMilliseconds(20),
        }, () => node.Cache.Current.Offset, TimeProvider.System, NullLogger.Instance);
        await using (lifecycle)
        {
            lifecycle.Start();
            await Assert.ThrowsAsync<TimeoutException>(() => lifecycle.Registered.WaitAsync(TimeSpan.FromSeconds(20)));
            await Assert.ThrowsAsync<TimeoutException>(() => lifecycle.Unfenced);
            Assert.Equal(-1, lifecycle.BrokerEpoch);
        }
        Assert.False(node.Cache.Current.Brokers.ContainsKey(4));
    }
}
