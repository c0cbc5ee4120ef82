using Microsoft.Extensions.Logging;
using Samsa.Broker.Network;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Handlers;

/// <summary>
/// Kafka's <c>KafkaApis</c> entry point, split per API family: parses the request header, routes by API key
/// through one table, and frames the response. Connection-level failures (Kafka closes the connection for
/// these, see <c>SocketServer.parseRequestHeader</c>): an unknown API key, a key this broker does not serve, a
/// version outside the served range (except ApiVersions, which answers any version), a header or body that does
/// not parse. Request-level failures become the handler's error response and the connection carries on.
/// </summary>
public sealed class RequestDispatcher : IRequestHandler
{
    private readonly IApiHandler?[] _byKey;
    private readonly ILogger _logger;

    /// <summary>Kafka's schema name of the listener that serves client and inter-broker APIs.</summary>
    public const string BrokerListener = "broker";

    /// <summary>Kafka's schema name of the controller listener (Raft, BrokerRegistration, BrokerHeartbeat, ...).</summary>
    public const string ControllerListener = "controller";

    /// <param name="listener">Which of Kafka's listeners this dispatcher serves (<see cref="BrokerListener"/> or
    /// <see cref="ControllerListener"/>): every handler must be for an API Kafka's schema lists there.</param>
    public RequestDispatcher(IEnumerable<IApiHandler> handlers, ILoggerFactory loggerFactory, string listener = BrokerListener)
    {
        _logger = loggerFactory.CreateLogger("Samsa.Requests");
        _byKey = new IApiHandler?[ApiMessages.HighestApiKey + 1];
        foreach (var handler in handlers)
        {
            if (_byKey[(int)handler.ApiKey] is not null)
            {
                throw new ArgumentException($"Two handlers for {handler.ApiKey}", nameof(handlers));
            }
            if (handler.MinVersion < ApiMessages.LowestVersion(handler.ApiKey) || handler.MaxVersion > ApiMessages.HighestVersion(handler.ApiKey))
            {
                throw new ArgumentException($"{handler.ApiKey} handler declares versions {handler.MinVersion}-{handler.MaxVersion} outside the schema", nameof(handlers));
            }
            if (!ServesListener(handler.ApiKey, listener))
            {
                throw new ArgumentException($"{handler.ApiKey} is not served on Kafka's {listener} listener", nameof(handlers));
            }
            _byKey[(int)handler.ApiKey] = handler;
        }
        Served = _byKey.Where(h => h is not null).Select(h => h!).ToArray();
    }

    /// <summary>Every served API and its versions, in key order: what ApiVersions advertises.</summary>
    public IReadOnlyList<IApiHandler> Served { get; }

    /// <summary>True when Kafka's schema lists the KRaft "broker" listener for the key (not only zkBroker/controller).</summary>
    public static bool ServesBrokerListener(ApiKey apiKey) => ServesListener(apiKey, BrokerListener);

    /// <summary>True when Kafka's schema lists <paramref name="listener"/> for the key.</summary>
    public static bool ServesListener(ApiKey apiKey, string listener) =>
        ApiMessages.Listeners(apiKey).Split(',', StringSplitOptions.TrimEntries).Contains(listener);

    /// <summary>
    /// A handler that holds its thread this long before its first wait gets a warning: on a socket event thread,
    /// every other connection of that thread waited as long (issue 12).
    /// </summary>
    public static readonly TimeSpan HeldThreadWarning = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Told, for every request, how long its handler ran on the calling thread before returning its first wait (the
    /// synchronous part). A probe for tests and benchmarks; null in production, where only the warning remains.
    /// </summary>
    public Action<ApiKey, TimeSpan>? ThreadHeldObserver { get; set; }

    /// <summary>The broker's authorizer (<c>authorizer.class.name</c>), handed to every request's context; null allows all.</summary>
    public Samsa.Broker.Security.IAuthorizer? Authorizer { get; set; }

    /// <summary>A test hook consulted before every handler (Samsa.Testing's interceptors); null in production.</summary>
    public IRequestInterceptor? Interceptor { get; set; }

    /// <summary>
    /// The <c>request_percentage</c> quota (KIP-124) charged with every non-exempt request's handler time; null where
    /// it does not apply (the controller listener).
    /// </summary>
    public Samsa.Broker.Quotas.RequestQuota? RequestQuota { get; set; }

    public IApiHandler? HandlerFor(ApiKey apiKey) => (ushort)apiKey < _byKey.Length ? _byKey[(int)apiKey] : null;

    public async ValueTask<IResponseFrame?> HandleAsync(ConnectionContext connection, ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        var received = System.Diagnostics.Stopwatch.GetTimestamp();
        if (request.Length < 4)
        {
            throw new InvalidRequestException($"Request of {request.Length} bytes is too short to hold a header");
        }
        var apiKeyValue = System.Buffers.Binary.BinaryPrimitives.ReadInt16BigEndian(request.Span);
        var apiVersion = System.Buffers.Binary.BinaryPrimitives.ReadInt16BigEndian(request.Span[2..]);
        if (!ApiMessages.IsDefined(apiKeyValue))
        {
            throw new InvalidRequestException($"Unknown API key {apiKeyValue}");
        }
        var apiKey = (ApiKey)apiKeyValue;
        var handler = HandlerFor(apiKey)
            ?? throw new InvalidRequestException($"Received request api key {apiKey} with version {apiVersion} which is not enabled");
        if (connection.Authentication is { } authentication && !authentication.Allows(apiKey))
        {
            // Kafka's SaslServerAuthenticator: nothing but the handshake before authentication, and nothing after the
            // session expired but a re-authentication; the connection closes.
            throw new InvalidRequestException(authentication.IsComplete
                ? $"Closing connection: SASL session expired before re-authentication; received {apiKey}"
                : $"Unexpected Kafka request of type {apiKey} during SASL handshake.");
        }
        var versionServed = apiVersion >= handler.MinVersion && apiVersion <= handler.MaxVersion;
        if (!versionServed && apiKey != ApiKey.ApiVersions)
        {
            throw new InvalidRequestException($"Received request api key {apiKey} with version {apiVersion} which is not supported");
        }

        var reader = new ProtocolReader(request);
        var header = new RequestHeader();
        header.Read(ref reader, ApiMessages.RequestHeaderVersion(apiKey, apiVersion));
        var context = new RequestContext(connection, header, Authorizer) { RequestSize = request.Length };
        RequestLog.Received(_logger, apiKey, apiVersion, header.CorrelationId, header.ClientId, connection.ConnectionId);

        if (!versionServed)
        {
            // Only ApiVersions gets here. Its body may be a version we cannot parse, so Kafka skips it and answers
            // in v0, which every client can read (KIP-511).
            return new ResponseFrame(header.CorrelationId, 0, ApiVersionsHandler.UnsupportedVersionResponse(handler), 0);
        }

        var body = ApiMessages.CreateRequest(apiKey);
        body.Read(ref reader, apiVersion);

        if (Interceptor is { } interceptor)
        {
            var interception = await interceptor.InterceptAsync(context, body, cancellationToken);
            switch (interception.Kind)
            {
                case InterceptionKind.CloseConnection:
                    throw new InvalidRequestException($"Closing connection: an interceptor closed it on {apiKey}");
                case InterceptionKind.Error:
                    // An acks=0 producer reads no response, so a failed one is only a dropped one.
                    return body is ProduceRequest { Acks: 0 } ? null
                        : new ResponseFrame(header.CorrelationId, handler.ErrorResponse(context, body, interception.Error), apiVersion);
                case InterceptionKind.Respond:
                    return interception.Response is { } answer && answer.ApiKey == apiKey
                        ? new ResponseFrame(header.CorrelationId, answer, apiVersion)
                        : throw new InvalidOperationException($"An interceptor answered {apiKey} with {interception.Response?.ApiKey}");
                default:
                    break;
            }
        }

        IApiMessage? response;
        var handlerTime = TimeSpan.Zero;
        try
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var pending = handler.HandleAsync(context, body, cancellationToken);
            var returned = System.Diagnostics.Stopwatch.GetTimestamp();
            var held = System.Diagnostics.Stopwatch.GetElapsedTime(started, returned);
            handlerTime = System.Diagnostics.Stopwatch.GetElapsedTime(received, returned);
            if (held >= HeldThreadWarning)
            {
                RequestLog.HeldThread(_logger, apiKey, apiVersion, header.CorrelationId, connection.ConnectionId, (long)held.TotalMilliseconds);
            }
            ThreadHeldObserver?.Invoke(apiKey, held);
            response = await pending;
        }
        catch (Samsa.Metadata.Controller.NotControllerException)
        {
            // Leadership moved: the sender retries with the controller it learns of next (Kafka answers the same).
            ResponseFrame.Release(context.DetachResources());
            response = handler.ErrorResponse(context, body, ErrorCode.NotController);
        }
        catch (Exception e) when (e is not OperationCanceledException and not InvalidRequestException)
        {
            // One request failed; its client gets an error response and the connection carries on (STYLE 17).
            RequestLog.HandlerFailed(_logger, apiKey, apiVersion, header.CorrelationId, connection.ConnectionId, e);
            ResponseFrame.Release(context.DetachResources());
            response = handler.ErrorResponse(context, body, ErrorCode.UnknownServerError);
        }
        catch
        {
            ResponseFrame.Release(context.DetachResources());
            throw;
        }
        ApplyRequestQuota(context, response, handlerTime);
        if (response is null)
        {
            ResponseFrame.Release(context.DetachResources());
            return null;
        }
        return new ResponseFrame(header.CorrelationId, response, apiVersion).WithResources(context.DetachResources());
    }

    /// <summary>
    /// Kafka's <c>sendResponseMaybeThrottle</c>: charges the request's handler time to its client's request quota;
    /// over it, the response reports the longer of this throttle and any the handler set (a byte-rate quota's), and the
    /// connection is muted as long after the response (KIP-219). A response that is not sent (acks=0) still mutes.
    /// </summary>
    private void ApplyRequestQuota(RequestContext context, IApiMessage? response, TimeSpan handlerTime)
    {
        if (RequestQuota is not { } quota)
        {
            return;
        }
        if (Samsa.Broker.Quotas.RequestQuota.IsExempt(context.ApiKey, context.Connection))
        {
            quota.RecordExempt(handlerTime);
            return;
        }
        var throttleTimeMs = quota.RecordAndGetThrottleTimeMs(context.Connection.Principal.Name, context.Header.ClientId ?? "", handlerTime);
        if (throttleTimeMs <= 0)
        {
            return;
        }
        context.Connection.Throttle(throttleTimeMs, quota.Manager.Throttled);
        if (response is IThrottledResponse throttled && throttled.ThrottleTimeMs < throttleTimeMs)
        {
            throttled.ThrottleTimeMs = throttleTimeMs;
        }
    }

}

/// <summary>Request log lines; event ids 300-399 are stable.</summary>
internal static partial class RequestLog
{
    [LoggerMessage(EventId = 300, Level = LogLevel.Debug, Message = "Request {ApiKey} v{ApiVersion} correlation {CorrelationId} from client '{ClientId}' on {ConnectionId}")]
    public static partial void Received(ILogger logger, ApiKey apiKey, short apiVersion, int correlationId, string? clientId, string connectionId);

    [LoggerMessage(EventId = 301, Level = LogLevel.Error, Message = "Request {ApiKey} v{ApiVersion} correlation {CorrelationId} on {ConnectionId} failed; answering UNKNOWN_SERVER_ERROR")]
    public static partial void HandlerFailed(ILogger logger, ApiKey apiKey, short apiVersion, int correlationId, string connectionId, Exception exception);

    [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "Request {ApiKey} v{ApiVersion} correlation {CorrelationId} on {ConnectionId} held its thread for {HeldMs} ms before its first wait; other connections on that thread waited as long")]
    public static partial void HeldThread(ILogger logger, ApiKey apiKey, short apiVersion, int correlationId, string connectionId, long heldMs);

    [LoggerMessage(EventId = 302, Level = LogLevel.Debug, Message = "Client {ConnectionId} is {SoftwareName} {SoftwareVersion}")]
    public static partial void ClientSoftware(ILogger logger, string connectionId, string softwareName, string softwareVersion);
}
