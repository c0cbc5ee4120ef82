namespace Samsa.Broker.Security.Sasl;

/// <summary>
/// The server side of one SASL exchange (Java's <c>SaslServer</c>): each client token in, a challenge out, until
/// <see cref="IsComplete"/>. A failed exchange throws <see cref="SaslAuthenticationException"/>, whose message is
/// safe to send to the client and to log (it never holds a secret).
/// </summary>
public interface ISaslServer
{
    string MechanismName { get; }

    /// <summary>Consumes the client's token and returns the challenge to send back (empty when there is none).</summary>
    byte[] EvaluateResponse(ReadOnlySpan<byte> response);

    bool IsComplete { get; }

    /// <summary>The authenticated user name, once <see cref="IsComplete"/>.</summary>
    string AuthorizationId { get; }

    /// <summary>How long the credential stays valid in ms (an OAUTHBEARER token's expiry), or null when unbounded.</summary>
    long? CredentialLifetimeMs => null;
}

/// <summary>Creates a fresh <see cref="ISaslServer"/> per exchange for the mechanisms a listener enables.</summary>
public interface ISaslServerFactory
{
    /// <summary>The mechanisms enabled on <paramref name="listenerName"/> (<c>sasl.enabled.mechanisms</c>, per-listener override first).</summary>
    IReadOnlyList<string> EnabledMechanisms(string listenerName);

    /// <summary>A server for one exchange; null when the mechanism is not enabled on the listener.</summary>
    ISaslServer? Create(string listenerName, string mechanism);
}

/// <summary>An authentication failure: answered as SASL_AUTHENTICATION_FAILED with this message.</summary>
public sealed class SaslAuthenticationException(string message) : Exception(message);
