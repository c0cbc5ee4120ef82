using Microsoft.Extensions.Logging;
using Samsa.Broker.Security.Sasl;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Handlers;

/// <summary>
/// SaslHandshake (key 17), versions 0-1: picks the connection's mechanism (see <see cref="SaslServerAuthenticator"/>).
/// On a listener without SASL, or after authentication when re-authentication is off, the answer is
/// ILLEGAL_SASL_STATE, as Kafka's <c>KafkaApis</c> gives once the channel is authenticated. A refused handshake ends
/// the connection after its answer.
/// </summary>
public sealed class SaslHandshakeHandler : ApiHandler<SaslHandshakeRequest, SaslHandshakeResponse>
{
    public override ApiKey ApiKey => ApiKey.SaslHandshake;

    public override short MinVersion => 0;

    public override short MaxVersion => 1;

    protected override ValueTask<SaslHandshakeResponse?> HandleAsync(RequestContext context, SaslHandshakeRequest request, CancellationToken cancellationToken)
    {
        // No resource is touched: the handshake is part of authentication, before any principal exists.
        if (context.Connection.Authentication is not { } authentication)
        {
            return ValueTask.FromResult<SaslHandshakeResponse?>(new SaslHandshakeResponse { ErrorCode = (short)ErrorCode.IllegalSaslState, Mechanisms = [] });
        }
        var error = authentication.Handshake(request.Mechanism, context.ApiVersion);
        if (error != ErrorCode.None && !authentication.IsComplete)
        {
            context.Connection.CloseAfterResponse = true;
        }
        return ValueTask.FromResult<SaslHandshakeResponse?>(new SaslHandshakeResponse { ErrorCode = (short)error, Mechanisms = [.. authentication.EnabledMechanisms] });
    }

    protected override SaslHandshakeResponse ErrorResponse(RequestContext context, SaslHandshakeRequest request, ErrorCode error) =>
        new() { ErrorCode = (short)error, Mechanisms = [] };
}

/// <summary>
/// SaslAuthenticate (key 36), versions 0-2: one SASL token of the exchange. A failed authentication is answered
/// SASL_AUTHENTICATION_FAILED after <c>connection.failed.authentication.delay.ms</c> (so guessing is slow), logged
/// once without any secret, and the connection closes. v1+ carries the session lifetime (KIP-368).
/// </summary>
public sealed class SaslAuthenticateHandler(ILoggerFactory loggerFactory, Samsa.Broker.Metrics.BrokerMetrics? metrics = null)
    : ApiHandler<SaslAuthenticateRequest, SaslAuthenticateResponse>
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Samsa.Authentication");

    public override ApiKey ApiKey => ApiKey.SaslAuthenticate;

    public override short MinVersion => 0;

    public override short MaxVersion => 2;

    protected override async ValueTask<SaslAuthenticateResponse?> HandleAsync(RequestContext context, SaslAuthenticateRequest request, CancellationToken cancellationToken)
    {
        var connection = context.Connection;
        if (connection.Authentication is not { } authentication)
        {
            return Error(ErrorCode.IllegalSaslState, "SaslAuthenticate request received after successful authentication");
        }
        try
        {
            var challenge = authentication.Authenticate(request.AuthBytes);
            if (authentication.IsComplete)
            {
                connection.Principal = authentication.Principal!;
                metrics?.RecordAuthentication(connection.ListenerName, succeeded: true);
                AuthenticationLog.Succeeded(_logger, connection.ConnectionId, connection.Principal.ToString(), authentication.Mechanism ?? "");
            }
            return new SaslAuthenticateResponse
            {
                AuthBytes = challenge,
                SessionLifetimeMs = authentication.IsComplete ? authentication.SessionLifetime : 0,
            };
        }
        catch (SaslAuthenticationException e)
        {
            connection.CloseAfterResponse = true;
            metrics?.RecordAuthentication(connection.ListenerName, succeeded: false);
            AuthenticationLog.Failed(_logger, connection.ClientAddress?.ToString() ?? "?", connection.ConnectionId, e.Message);
            await Task.Delay(authentication.FailedAuthenticationDelay, authentication.Time, cancellationToken);
            return Error(ErrorCode.SaslAuthenticationFailed, e.Message);
        }
        catch (InvalidOperationException e)
        {
            connection.CloseAfterResponse = true;
            return Error(ErrorCode.IllegalSaslState, e.Message);
        }
    }

    private static SaslAuthenticateResponse Error(ErrorCode code, string message) =>
        new() { ErrorCode = (short)code, ErrorMessage = message, AuthBytes = [] };

    protected override SaslAuthenticateResponse ErrorResponse(RequestContext context, SaslAuthenticateRequest request, ErrorCode error) =>
        new() { ErrorCode = (short)error, AuthBytes = [] };
}

/// <summary>Authentication log lines; event ids 1700-1719 are stable.</summary>
internal static partial class AuthenticationLog
{
    [LoggerMessage(EventId = 1700, Level = LogLevel.Information, Message = "Failed authentication with /{Address} ({ConnectionId}) ({Reason})")]
    public static partial void Failed(ILogger logger, string address, string connectionId, string reason);

    [LoggerMessage(EventId = 1701, Level = LogLevel.Debug, Message = "Connection {ConnectionId} authenticated as {Principal} with {Mechanism}")]
    public static partial void Succeeded(ILogger logger, string connectionId, string principal, string mechanism);
}
