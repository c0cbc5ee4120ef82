using System.Security.Cryptography;
using System.Text;

namespace Samsa.Broker.Security.Sasl;

/// <summary>
/// SASL/PLAIN (RFC 4616; Kafka's <c>PlainSaslServer</c> with <c>PlainServerCallbackHandler</c>): one message
/// <c>authzid NUL authcid NUL passwd</c>, checked against the <c>user_&lt;name&gt;="password"</c> options of the
/// listener's JAAS config. The authzid must be empty or the user itself. Passwords are compared in constant time.
/// </summary>
public sealed class PlainSaslServer(IReadOnlyDictionary<string, string> jaasOptions) : ISaslServer
{
    public const string Mechanism = "PLAIN";

    /// <summary>Far above any real PLAIN message; a client sending more is not logging in.</summary>
    public const int MaxResponseBytes = 16 * 1024;

    private string? _authorizationId;

    public string MechanismName => Mechanism;

    public bool IsComplete => _authorizationId is not null;

    public string AuthorizationId => _authorizationId ?? throw new InvalidOperationException("Authentication exchange has not completed");

    public byte[] EvaluateResponse(ReadOnlySpan<byte> response)
    {
        if (IsComplete)
        {
            throw new SaslAuthenticationException("Authentication failed: PLAIN exchange already completed");
        }
        if (response.Length > MaxResponseBytes)
        {
            throw new SaslAuthenticationException($"Invalid SASL/PLAIN response: {response.Length} bytes is more than {MaxResponseBytes}");
        }
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(response);
        }
        catch (DecoderFallbackException)
        {
            throw new SaslAuthenticationException("Invalid SASL/PLAIN response: not UTF-8");
        }
        var tokens = text.Split('\0');
        if (tokens.Length != 3)
        {
            throw new SaslAuthenticationException($"Invalid SASL/PLAIN response: expected 3 tokens, got {tokens.Length}");
        }
        var (authorizationId, username, password) = (tokens[0], tokens[1], tokens[2]);
        if (username.Length == 0)
        {
            throw new SaslAuthenticationException("Authentication failed: username not specified");
        }
        if (password.Length == 0)
        {
            throw new SaslAuthenticationException("Authentication failed: password not specified");
        }
        if (!Authenticate(username, password))
        {
            throw new SaslAuthenticationException("Authentication failed: Invalid username or password");
        }
        if (authorizationId.Length > 0 && authorizationId != username)
        {
            throw new SaslAuthenticationException("Authentication failed: Client requested an authorization id that is different from username");
        }
        _authorizationId = username;
        return [];
    }

    private bool Authenticate(string username, string password)
    {
        // An unknown user is compared against a dummy, so the time taken does not tell whether the user exists.
        var known = jaasOptions.TryGetValue("user_" + username, out var expected);
        var equal = CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(expected ?? "")), SHA256.HashData(Encoding.UTF8.GetBytes(password)));
        return known && equal;
    }
}
