using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Samsa.Broker.Network;

/// <summary>Log lines of the network layer; event ids 200-299 are stable.</summary>
internal static partial class NetworkLog
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "Listener {ListenerName} bound to {EndPoint}")]
    public static partial void ListenerBound(ILogger logger, string listenerName, EndPoint endPoint);

    [LoggerMessage(EventId = 201, Level = LogLevel.Debug, Message = "Accepted connection {ConnectionId}")]
    public static partial void ConnectionAccepted(ILogger logger, string connectionId);

    [LoggerMessage(EventId = 202, Level = LogLevel.Debug, Message = "Connection {ConnectionId} closed by peer")]
    public static partial void ConnectionClosed(ILogger logger, string connectionId);

    [LoggerMessage(EventId = 203, Level = LogLevel.Information, Message = "Closing connection {ConnectionId} from {RemoteEndPoint}: {Reason}")]
    public static partial void ClosingOnClientError(ILogger logger, string connectionId, EndPoint? remoteEndPoint, string reason);

    [LoggerMessage(EventId = 204, Level = LogLevel.Error, Message = "Closing connection {ConnectionId} after an unexpected error")]
    public static partial void ClosingOnServerError(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(EventId = 205, Level = LogLevel.Warning,
        Message = "Accept failed on listener {ListenerName}: {Reason} ({SocketError}); {Suppressed} more failures since the last report; retrying in {DelayMs} ms")]
    public static partial void AcceptFailed(ILogger logger, string listenerName, string reason, SocketError socketError, long suppressed, long delayMs);

    [LoggerMessage(EventId = 206, Level = LogLevel.Information, Message = "Listener {ListenerName} on {EndPoint} stopped")]
    public static partial void ListenerStopped(ILogger logger, string listenerName, EndPoint endPoint);

    [LoggerMessage(EventId = 207, Level = LogLevel.Debug, Message = "A connection on listener {ListenerName} was gone before it could be served ({SocketError})")]
    public static partial void AcceptAborted(ILogger logger, string listenerName, SocketError socketError);

    /// <summary>Kafka's line for its <c>TooManyConnectionsException</c>, at info and without a stack trace.</summary>
    [LoggerMessage(EventId = 208, Level = LogLevel.Information, Message = "Rejected connection from {Address}, address already has the configured maximum of {Max} connections.")]
    public static partial void TooManyConnections(ILogger logger, IPAddress address, int max);

    [LoggerMessage(EventId = 209, Level = LogLevel.Information,
        Message = "Listener {ListenerName} holds its maximum of connections ({Open} open across the broker): no more are accepted until one closes (max.connections)")]
    public static partial void AcceptorBlocked(ILogger logger, string listenerName, int open);

    [LoggerMessage(EventId = 211, Level = LogLevel.Warning,
        Message = "Listener {ListenerName} stops accepting: the process is within {Reserve} of its {Limit} file descriptors; accepting again when connections close ({Suppressed} more such pauses since the last report)")]
    public static partial void DescriptorsExhausted(ILogger logger, string listenerName, long limit, int reserve, long suppressed);

    [LoggerMessage(EventId = 210, Level = LogLevel.Debug, Message = "Closing connection {ConnectionId}, idle for {IdleMs} ms (connections.max.idle.ms)")]
    public static partial void ClosingIdle(ILogger logger, string connectionId, long idleMs);

    [LoggerMessage(EventId = 212, Level = LogLevel.Warning, Message = "{ApiKey} request to node {Node} timed out after {TimeoutMs} ms; dropping the connection")]
    public static partial void RequestTimedOut(ILogger logger, Samsa.Protocol.ApiKey apiKey, string node, long timeoutMs);

    [LoggerMessage(EventId = 213, Level = LogLevel.Information, Message = "Connection to node {Node} failed: {Reason} ({Failures} consecutive failures)")]
    public static partial void NodeConnectFailed(ILogger logger, string node, string reason, int failures);

    [LoggerMessage(EventId = 214, Level = LogLevel.Warning, Message = "Node {Node} sent an unreadable response ({Reason}); dropping the connection")]
    public static partial void NodeSentBadResponse(ILogger logger, string node, string reason);

    [LoggerMessage(EventId = 215, Level = LogLevel.Debug, Message = "{ApiKey} to the controller, attempt {Attempt}: {Reason}; retrying")]
    public static partial void ControllerRequestRetried(ILogger logger, Samsa.Protocol.ApiKey apiKey, int attempt, string reason);

    [LoggerMessage(EventId = 216, Level = LogLevel.Debug, Message = "Raft {ApiKey} to node {Node} failed: {Reason}")]
    public static partial void RaftRequestFailed(ILogger logger, Samsa.Protocol.ApiKey apiKey, int node, string reason);

    [LoggerMessage(EventId = 217, Level = LogLevel.Information, Message = "Failed authentication with {RemoteEndPoint} ({ConnectionId}) (SSL handshake failed: {Reason})")]
    public static partial void TlsHandshakeFailed(ILogger logger, string connectionId, System.Net.EndPoint? remoteEndPoint, string reason);

    [LoggerMessage(EventId = 218, Level = LogLevel.Information, Message = "Failed authentication with {RemoteEndPoint} ({ConnectionId}) ({Reason})")]
    public static partial void RawSaslFailed(ILogger logger, string connectionId, System.Net.EndPoint? remoteEndPoint, string reason);

    [LoggerMessage(EventId = 219, Level = LogLevel.Information,
        Message = "Listener {ListenerName} holds a new connection for {ThrottleMs} ms: over its connection creation rate (max.connection.creation.rate, KIP-612)")]
    public static partial void ConnectionRateThrottled(ILogger logger, string listenerName, int throttleMs);

    /// <summary>Kafka's debug line for a connection refused over its IP's connection_creation_rate, once per such connection.</summary>
    [LoggerMessage(EventId = 220, Level = LogLevel.Debug,
        Message = "Delaying closing of connection from {Address} on listener {ListenerName} for {ThrottleMs} ms: over its connection_creation_rate quota (KIP-612)")]
    public static partial void ConnectionIpThrottled(ILogger logger, string listenerName, IPAddress address, int throttleMs);
}
