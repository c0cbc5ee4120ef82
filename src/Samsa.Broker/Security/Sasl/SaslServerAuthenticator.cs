using Samsa.Protocol;

namespace Samsa.Broker.Security.Sasl;

/// <summary>
/// The authentication stage of one SASL_PLAINTEXT or SASL_SSL connection (Kafka's <c>SaslServerAuthenticator</c>).
/// Until it completes, only ApiVersions, SaslHandshake and SaslAuthenticate pass (<see cref="Allows"/>); the
/// dispatcher closes the connection on anything else. SaslHandshake v0 switches to Kafka's legacy framing, where the
/// next frames are bare SASL tokens rather than requests (<see cref="ExpectsRawToken"/>). A completed session lasts
/// <c>connections.max.reauth.ms</c> (or less, an OAUTHBEARER token's lifetime); the client re-authenticates with a
/// new SaslHandshake + SaslAuthenticate on the same connection (KIP-368), and the principal may not change.
/// </summary>
public sealed class SaslServerAuthenticator(ISaslServerFactory factory, string listenerName, long maxReauthMs, TimeSpan failedAuthenticationDelay, TimeProvider time)
{
    /// <summary><c>connection.failed.authentication.delay.ms</c>: how long a failed client waits for its answer and the close.</summary>
    public TimeSpan FailedAuthenticationDelay => failedAuthenticationDelay;

    public TimeProvider Time => time;

    private ISaslServer? _server;
    private long _sessionExpiresAt = long.MaxValue; // TimeProvider timestamp; MaxValue = never
    private State _state = State.Handshake;

    private enum State
    {
        Handshake,
        Authenticate,
        Complete,
        Failed,
    }

    public bool IsComplete => _state == State.Complete;

    public bool IsFailed => _state == State.Failed;

    /// <summary>True after SaslHandshake v0: the next frame is a bare token (Kafka's pre-KIP-152 framing).</summary>
    public bool ExpectsRawToken { get; private set; }

    /// <summary>The authenticated principal, once complete.</summary>
    public KafkaPrincipal? Principal { get; private set; }

    public string? Mechanism => _server?.MechanismName;

    /// <summary>True while a re-authentication runs on an already authenticated connection.</summary>
    public bool Reauthenticating { get; private set; }

    /// <summary>Whether a request of <paramref name="apiKey"/> may be handled now.</summary>
    public bool Allows(ApiKey apiKey) => apiKey is ApiKey.ApiVersions or ApiKey.SaslHandshake or ApiKey.SaslAuthenticate
        || (_state == State.Complete && !SessionExpired);

    /// <summary>True when the completed session's lifetime has passed without a re-authentication.</summary>
    public bool SessionExpired => _sessionExpiresAt != long.MaxValue && time.GetTimestamp() >= _sessionExpiresAt;

    public IReadOnlyList<string> EnabledMechanisms => factory.EnabledMechanisms(listenerName);

    /// <summary>SaslHandshake: picks the mechanism. Answers Kafka's error code (NONE when the exchange may start).</summary>
    public ErrorCode Handshake(string mechanism, short version)
    {
        if (_state == State.Complete)
        {
            if (version == 0 || maxReauthMs <= 0)
            {
                return ErrorCode.IllegalSaslState;
            }
            Reauthenticating = true;
        }
        else if (_state != State.Handshake)
        {
            _state = State.Failed;
            return ErrorCode.IllegalSaslState;
        }
        var server = factory.Create(listenerName, mechanism);
        if (server is null)
        {
            _state = State.Failed;
            return ErrorCode.UnsupportedSaslMechanism;
        }
        _server = server;
        _state = State.Authenticate;
        ExpectsRawToken = version == 0;
        return ErrorCode.None;
    }

    /// <summary>
    /// One client token of the exchange (SaslAuthenticate, or a raw frame after SaslHandshake v0): the challenge to
    /// send back. Throws <see cref="SaslAuthenticationException"/> when authentication fails (the stage is then failed
    /// and the connection must close after the answer) and <see cref="InvalidOperationException"/> when no exchange is
    /// under way.
    /// </summary>
    public byte[] Authenticate(ReadOnlySpan<byte> token)
    {
        if (_state != State.Authenticate || _server is null)
        {
            _state = State.Failed;
            throw new InvalidOperationException("SaslAuthenticate request received before a successful SaslHandshake");
        }
        byte[] challenge;
        try
        {
            challenge = _server.EvaluateResponse(token);
        }
        catch (SaslAuthenticationException)
        {
            _state = State.Failed;
            throw;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or IndexOutOfRangeException)
        {
            // A malformed token is a failed authentication, never a broker error.
            _state = State.Failed;
            throw new SaslAuthenticationException($"Authentication failed: invalid SASL {_server.MechanismName} token");
        }
        if (_server.IsComplete)
        {
            var principal = KafkaPrincipal.User(_server.AuthorizationId);
            if (Reauthenticating && Principal is not null && Principal != principal)
            {
                _state = State.Failed;
                throw new SaslAuthenticationException($"Cannot change principals during re-authentication from {Principal} to {principal}");
            }
            Principal = principal;
            _state = State.Complete;
            ExpectsRawToken = false;
            Reauthenticating = false;
            var lifetime = SessionLifetimeMs(_server.CredentialLifetimeMs);
            _sessionExpiresAt = lifetime > 0 ? time.GetTimestamp() + (long)(lifetime / 1000.0 * time.TimestampFrequency) : long.MaxValue;
            SessionLifetime = lifetime;
        }
        return challenge;
    }

    /// <summary>The session lifetime granted by the last completed exchange, 0 for unbounded (SaslAuthenticate v1's field).</summary>
    public long SessionLifetime { get; private set; }

    private long SessionLifetimeMs(long? credentialLifetimeMs)
    {
        var limit = maxReauthMs > 0 ? maxReauthMs : 0;
        if (credentialLifetimeMs is { } credential)
        {
            limit = limit == 0 ? credential : Math.Min(limit, credential);
        }
        return Math.Max(limit, 0);
    }
}
