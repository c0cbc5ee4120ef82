using System.Security.Cryptography;
using System.Text;
using Samsa.Metadata.Scram;

namespace Samsa.Broker.Security.Sasl;

/// <summary>
/// The server side of SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802, RFC 7677; Kafka's <c>ScramSaslServer</c>): client-first
/// in, server-first out; client-final in, server-final (<c>v=</c> ServerSignature) out, and the exchange is complete.
/// The credential is looked up at the client-first message, in the metadata image current at that moment.
/// </summary>
/// <remarks>
/// Every failure but one is answered with Kafka's single message, so a client learns nothing about which check
/// failed: malformed messages, a wrong nonce, a wrong proof, an unknown user. An unknown user still gets a
/// server-first message, with a salt derived from the name under a per-process secret (stable across attempts,
/// as a real user's is) and the minimum iteration count, and fails at the proof like a wrong password. The one
/// distinct message is Kafka's for an authorization id other than the user.
/// </remarks>
public sealed class ScramSaslServer : ISaslServer
{
    /// <summary>Far above any real SCRAM message; a client sending more is not logging in.</summary>
    public const int MaxResponseBytes = 16 * 1024;

    private static readonly byte[] UnknownUserSecret = RandomNumberGenerator.GetBytes(32);

    private readonly ScramFormatter _formatter;
    private readonly Func<string, ScramCredential?> _credentials;
    private readonly string _failure;
    private readonly string _serverNonce;
    private State _state = State.ReceiveClientFirst;
    private ScramMessages.ClientFirst? _clientFirst;
    private ScramMessages.ServerFirst? _serverFirst;
    private ScramCredential? _credential;
    private string? _user;

    private enum State
    {
        ReceiveClientFirst,
        ReceiveClientFinal,
        Complete,
        Failed,
    }

    /// <param name="mechanism">SCRAM-SHA-256 or SCRAM-SHA-512.</param>
    /// <param name="credentials">The user's credential for this mechanism, or null when there is none.</param>
    /// <param name="serverNonce">The server's half of the nonce; random unless a test fixes it.</param>
    public ScramSaslServer(ScramMechanism mechanism, Func<string, ScramCredential?> credentials, string? serverNonce = null)
    {
        _formatter = new ScramFormatter(mechanism);
        _credentials = credentials;
        _serverNonce = serverNonce ?? ScramFormatter.Nonce();
        _failure = $"Authentication failed during authentication due to invalid credentials with SASL mechanism {mechanism.MechanismName()}";
    }

    public string MechanismName => _formatter.Mechanism.MechanismName();

    public bool IsComplete => _state == State.Complete;

    public string AuthorizationId => IsComplete ? _user! : throw new InvalidOperationException("Authentication exchange has not completed");

    public byte[] EvaluateResponse(ReadOnlySpan<byte> response)
    {
        var state = _state;
        // A failed exchange stays failed: no second guess on the same server.
        _state = State.Failed;
        if (response.Length > MaxResponseBytes)
        {
            throw new SaslAuthenticationException(_failure);
        }
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(response);
        }
        catch (DecoderFallbackException)
        {
            throw new SaslAuthenticationException(_failure);
        }
        try
        {
            var challenge = state switch
            {
                State.ReceiveClientFirst => ReceiveClientFirst(text),
                State.ReceiveClientFinal => ReceiveClientFinal(text),
                _ => throw new SaslAuthenticationException(_failure),
            };
            _state = state + 1;
            return challenge;
        }
        catch (FormatException)
        {
            throw new SaslAuthenticationException(_failure);
        }
    }

    private byte[] ReceiveClientFirst(string text)
    {
        var clientFirst = ScramMessages.ClientFirst.Parse(text);
        var user = clientFirst.UserName;
        if (clientFirst.Extensions.TryGetValue("tokenauth", out var tokenAuth) && tokenAuth.Equals("true", StringComparison.OrdinalIgnoreCase))
        {
            // Delegation tokens (KIP-48) are not supported: a token login is an unknown credential.
            throw new SaslAuthenticationException(_failure);
        }
        if (clientFirst.AuthorizationId.Length > 0 && clientFirst.AuthorizationId != user)
        {
            throw new SaslAuthenticationException("Authentication failed: Client requested an authorization id that is different from username");
        }
        var credential = user.Length == 0 ? null : _credentials(user);
        if (credential is not null && credential.Iterations < ScramMechanisms.MinIterations)
        {
            throw new SaslAuthenticationException(_failure);
        }
        _clientFirst = clientFirst;
        _credential = credential;
        _user = user;
        var salt = credential?.Salt ?? _formatter.Hmac(UnknownUserSecret, Encoding.UTF8.GetBytes(user));
        _serverFirst = new ScramMessages.ServerFirst(clientFirst.Nonce + _serverNonce, salt, credential?.Iterations ?? ScramMechanisms.MinIterations);
        return Encoding.UTF8.GetBytes(_serverFirst.ToMessage());
    }

    private byte[] ReceiveClientFinal(string text)
    {
        var clientFinal = ScramMessages.ClientFinal.Parse(text);
        var expectedBinding = Convert.ToBase64String(Encoding.UTF8.GetBytes(_clientFirst!.Gs2Header));
        // Kafka's check is endsWith, not equality: librdkafka 2.0 sends its own nonce before the combined one, and Kafka
        // accepts that client; the server's random half still has to be echoed.
        if (clientFinal.ChannelBinding != expectedBinding || !clientFinal.Nonce.EndsWith(_serverFirst!.Nonce, StringComparison.Ordinal) || _credential is null)
        {
            throw new SaslAuthenticationException(_failure);
        }
        var authMessage = ScramFormatter.AuthMessage(_clientFirst.Bare, _serverFirst.ToMessage(), clientFinal.WithoutProof);
        var storedKey = _formatter.StoredKeyFromProof(_credential.StoredKey, clientFinal.Proof, authMessage);
        if (!CryptographicOperations.FixedTimeEquals(storedKey, _credential.StoredKey))
        {
            throw new SaslAuthenticationException(_failure);
        }
        var signature = _formatter.ServerSignature(_credential.ServerKey, authMessage);
        return Encoding.UTF8.GetBytes(new ScramMessages.ServerFinal(null, signature).ToMessage());
    }
}
