using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Broker.Security.Sasl.OAuthBearer;

namespace Samsa.Broker.Security.Sasl;

/// <summary>
/// SASL/OAUTHBEARER (RFC 7628; Kafka's <c>OAuthBearerSaslServer</c>, KIP-255). The client sends one message holding
/// a bearer token (<see cref="OAuthBearerClientInitialResponse"/>); <paramref name="validator"/> checks it. A good
/// token completes the exchange as the token's principal, and its expiry bounds the session (KIP-368). A refused
/// token is answered, as RFC 7628 section 3.2.2 and Kafka do, with a JSON error challenge
/// (<c>{"status":"invalid_token"}</c>, or <c>insufficient_scope</c> with the scope); the client acknowledges with a
/// lone <c>\x01</c>, and only then does the exchange fail, with that JSON as the message. A malformed message fails at
/// once. The authzid, when sent, must be the principal. Extensions are accepted as Kafka's validators accept them
/// (all of them) and kept in <see cref="Extensions"/>.
/// </summary>
public sealed class OAuthBearerSaslServer(IOAuthBearerValidator validator, TimeProvider time, ILogger? logger = null) : ISaslServer
{
    public const string Mechanism = "OAUTHBEARER";

    /// <summary>
    /// Far above a real token (an IdP's JWT with many claims is a few KB); bounded before any parsing. Kafka's own
    /// bound is <c>sasl.server.max.receive.size</c>, which the connection already applies to the frame.
    /// </summary>
    public const int MaxResponseBytes = 64 * 1024;

    private const byte ControlA = 0x01;

    private readonly ILogger _logger = logger ?? NullLogger.Instance;
    private OAuthBearerToken? _token;
    private string? _errorMessage;
    private bool _failed;

    public string MechanismName => Mechanism;

    public bool IsComplete => _token is not null;

    public string AuthorizationId => _token?.PrincipalName ?? throw new InvalidOperationException("Authentication exchange has not completed");

    /// <summary>The SASL extensions the client sent, once complete.</summary>
    public IReadOnlyDictionary<string, string> Extensions { get; private set; } = new Dictionary<string, string>();

    /// <summary>
    /// Milliseconds until the token expires, at least 1: a token accepted within the clock skew after its expiry gets
    /// a session that ends at once, never (as 0 would mean) an unbounded one.
    /// </summary>
    public long? CredentialLifetimeMs => _token is { } token ? Math.Max(1, token.LifetimeMs - time.GetUtcNow().ToUnixTimeMilliseconds()) : null;

    public byte[] EvaluateResponse(ReadOnlySpan<byte> response)
    {
        if (IsComplete || _failed)
        {
            throw new SaslAuthenticationException("Authentication failed: OAUTHBEARER exchange already completed");
        }
        if (response.Length == 1 && response[0] == ControlA && _errorMessage is not null)
        {
            // The client's acknowledgement of our error challenge: now the exchange fails (RFC 7628 section 3.2.3).
            _failed = true;
            throw new SaslAuthenticationException(_errorMessage);
        }
        _errorMessage = null;
        if (response.Length > MaxResponseBytes)
        {
            _failed = true;
            throw new SaslAuthenticationException($"Invalid OAUTHBEARER client first message: {response.Length} bytes is more than {MaxResponseBytes}");
        }
        OAuthBearerClientInitialResponse message;
        try
        {
            message = OAuthBearerClientInitialResponse.Parse(response);
        }
        catch (SaslAuthenticationException)
        {
            _failed = true;
            throw;
        }

        OAuthBearerToken token;
        try
        {
            token = validator.Validate(message.TokenValue);
        }
        catch (OAuthBearerValidationException e)
        {
            var status = e.FailureScope is null ? "invalid_token" : "insufficient_scope";
            OAuthBearerLog.TokenRefused(_logger, status, e.Message);
            _errorMessage = e.FailureScope is null ? $"{{\"status\":\"{status}\"}}" : $"{{\"status\":\"{status}\", \"scope\":\"{JsonEscape(e.FailureScope)}\"}}";
            return Encoding.UTF8.GetBytes(_errorMessage);
        }
        if (message.AuthorizationId.Length > 0 && message.AuthorizationId != token.PrincipalName)
        {
            _failed = true;
            throw new SaslAuthenticationException(
                $"Authentication failed: Client requested an authorization id ({message.AuthorizationId}) that is different from the token's principal name ({token.PrincipalName})");
        }
        Extensions = message.Extensions;
        _token = token;
        return [];
    }

    private static string JsonEscape(string text) => System.Text.Json.JsonEncodedText.Encode(text).ToString();
}
