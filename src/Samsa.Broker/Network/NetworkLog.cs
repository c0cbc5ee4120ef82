using System.Net;
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

    [LoggerMessage(EventId = 205, Level = LogLevel.Warning, Message = "Accept failed on listener {ListenerName}")]
    public static partial void AcceptFailed(ILogger logger, string listenerName, Exception exception);

    [LoggerMessage(EventId = 206, Level = LogLevel.Information, Message = "Listener {ListenerName} on {EndPoint} stopped")]
    public static partial void ListenerStopped(ILogger logger, string listenerName, EndPoint endPoint);
}
