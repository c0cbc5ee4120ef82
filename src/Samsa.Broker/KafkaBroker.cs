using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Samsa.Broker.Config;
using Samsa.Broker.Handlers;
using Samsa.Broker.Network;
using Samsa.Metadata;

namespace Samsa.Broker;

/// <summary>
/// One Samsa node as a library: formats or checks its log dirs, binds its listeners, and serves requests until
/// disposed. The server executable and in-process tests start exactly this.
/// </summary>
/// <example>
/// <code>
/// var config = KafkaConfig.FromProperties([new("listeners", "PLAINTEXT://127.0.0.1:0"), new("log.dirs", dir)]);
/// await using var broker = await KafkaBroker.StartAsync(config, loggerFactory, ct);
/// var port = broker.BoundEndpoints[0].Port;
/// </code>
/// </example>
public sealed class KafkaBroker : IAsyncDisposable
{
    private readonly SocketServer _socketServer;
    private readonly ILogger _logger;
    private int _disposed;

    private KafkaBroker(KafkaConfig config, string clusterId, SocketServer socketServer, MetadataCache metadata, RequestDispatcher dispatcher, ILogger logger)
    {
        Config = config;
        ClusterId = clusterId;
        _socketServer = socketServer;
        Metadata = metadata;
        Dispatcher = dispatcher;
        _logger = logger;
    }

    public KafkaConfig Config { get; }

    public int NodeId => Config.NodeId;

    public string ClusterId { get; }

    /// <summary>Listeners as bound; with port 0 in the config these carry the ports the OS chose.</summary>
    public IReadOnlyList<BoundEndpoint> BoundEndpoints => _socketServer.BoundEndpoints;

    public MetadataCache Metadata { get; }

    public RequestDispatcher Dispatcher { get; }

    /// <summary><c>host:port</c> of the first advertised listener, ready for a client's bootstrap.servers.</summary>
    public string BootstrapServers
    {
        get
        {
            var endpoint = Metadata.Current.Brokers[NodeId].Endpoints[0];
            return $"{endpoint.Host}:{endpoint.Port}";
        }
    }

    public static async Task<KafkaBroker> StartAsync(KafkaConfig config, ILoggerFactory loggerFactory, CancellationToken cancellationToken = default)
    {
        var logger = loggerFactory.CreateLogger("Samsa.Broker");
        BrokerLog.Starting(logger, config.NodeId, string.Join(",", config.ProcessRoles), string.Join(",", config.LogDirs));
        cancellationToken.ThrowIfCancellationRequested();
        var clusterId = MetaPropertiesEnsemble.LoadOrFormat(config.LogDirs, config.NodeId, logger);

        // The image is published before the first accept, holding the ports actually bound.
        var metadata = new MetadataCache(MetadataImage.Empty(clusterId));
        var metadataHandler = new MetadataHandler(metadata);
        var apiVersionsHandler = new ApiVersionsHandler([metadataHandler], loggerFactory);
        var dispatcher = new RequestDispatcher([apiVersionsHandler, metadataHandler], loggerFactory);

        var socketServer = await SocketServer.BindAsync(config, dispatcher, loggerFactory);
        metadata.Publish(InitialImage(config, clusterId, socketServer.BoundEndpoints));
        socketServer.Start();

        var broker = new KafkaBroker(config, clusterId, socketServer, metadata, dispatcher, logger);
        BrokerLog.Started(logger, config.NodeId, clusterId, string.Join(", ", socketServer.BoundEndpoints.Select(e => $"{e.ListenerName}://{e.EndPoint}")));
        return broker;
    }

    /// <summary>
    /// The image a single node starts from: this broker, registered with its advertised listeners (port 0 replaced
    /// by the bound port), acting as controller, and no topics until the metadata log replays some.
    /// </summary>
    private static MetadataImage InitialImage(KafkaConfig config, string clusterId, IReadOnlyList<BoundEndpoint> bound)
    {
        var endpoints = config.AdvertisedListeners
            .Select(a => new BrokerEndpoint(a.ListenerName, a.Host,
                a.Port != 0 ? a.Port : bound.FirstOrDefault(b => b.ListenerName == a.ListenerName)?.Port ?? 0))
            .ToImmutableArray();
        return MetadataImage.Empty(clusterId)
            .WithBroker(new BrokerRegistration(config.NodeId, endpoints, config.BrokerRack)) with
        { ControllerId = config.NodeId };
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        BrokerLog.Stopping(_logger, NodeId);
        await _socketServer.DisposeAsync();
        BrokerLog.Stopped(_logger, NodeId);
    }
}

/// <summary>Broker lifecycle log lines; event ids 1-99 are stable.</summary>
internal static partial class BrokerLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Starting node {NodeId} (roles {Roles}) with log dirs {LogDirs}")]
    public static partial void Starting(ILogger logger, int nodeId, string roles, string logDirs);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Node {NodeId} of cluster {ClusterId} started, listening on {Endpoints}")]
    public static partial void Started(ILogger logger, int nodeId, string clusterId, string endpoints);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Node {NodeId} shutting down")]
    public static partial void Stopping(ILogger logger, int nodeId);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Node {NodeId} shut down")]
    public static partial void Stopped(ILogger logger, int nodeId);
}
