namespace Samsa.Broker.Security.Sasl.OAuthBearer;

/// <summary>
/// Validates the bearer token of an OAUTHBEARER exchange (the role of Kafka's <c>OAuthBearerValidatorCallback</c>
/// handlers). Returns the token, or throws <see cref="OAuthBearerValidationException"/>; the SASL server turns the
/// failure into RFC 7628's JSON error challenge. Called on the connection's SASL path, so it must not block on I/O.
/// </summary>
public interface IOAuthBearerValidator
{
    OAuthBearerToken Validate(string tokenValue);
}

/// <summary>A validated token (Kafka's <c>OAuthBearerToken</c>): times are Unix epoch milliseconds.</summary>
public sealed record OAuthBearerToken(string Value, string PrincipalName, IReadOnlySet<string> Scope, long LifetimeMs, long? StartTimeMs);

/// <summary>
/// A token refused by a validator. <see cref="FailureScope"/> is set when only the scope was insufficient, which
/// Kafka answers with status <c>insufficient_scope</c> instead of <c>invalid_token</c>. The message goes to the
/// broker's log, never to the client (which sees only the status).
/// </summary>
public sealed class OAuthBearerValidationException(string message, string? failureScope = null) : Exception(message)
{
    public string? FailureScope => failureScope;
}
