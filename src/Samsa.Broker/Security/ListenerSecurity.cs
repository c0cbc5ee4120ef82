using Samsa.Broker.Config;
using Samsa.Broker.Security.Sasl;
using Samsa.Broker.Security.Ssl;

namespace Samsa.Broker.Security;

/// <summary>
/// What each listener's <c>listener.security.protocol.map</c> entry asks of a new connection: a TLS context for
/// SSL and SASL_SSL listeners (loaded once at bind, so a bad key store fails startup), and a SASL stage for
/// SASL_PLAINTEXT and SASL_SSL ones.
/// </summary>
public sealed class ListenerSecurity
{
    private readonly Dictionary<string, SslServerContext> _tls = new(StringComparer.Ordinal);
    private readonly ISaslServerFactory? _sasl;
    private readonly long _maxReauthMs;
    private readonly TimeSpan _failedDelay;

    private ListenerSecurity(ISaslServerFactory? sasl, long maxReauthMs, int saslMaxReceiveBytes, int failedDelayMs = 100)
    {
        _failedDelay = TimeSpan.FromMilliseconds(failedDelayMs);
        _sasl = sasl;
        _maxReauthMs = maxReauthMs;
        SaslMaxReceiveBytes = saslMaxReceiveBytes;
    }

    /// <summary>Plaintext everywhere: for tests and tools that bind only PLAINTEXT listeners.</summary>
    public static readonly ListenerSecurity None = new(null, 0, 524288);

    /// <summary>Kafka's <c>sasl.server.max.receive.size</c>: the largest frame accepted before authentication completes.</summary>
    public int SaslMaxReceiveBytes { get; }

    /// <summary>Prepares every listener of <paramref name="config"/>; throws <see cref="ConfigException"/> for one that cannot be served.</summary>
    public static ListenerSecurity Create(KafkaConfig config, ISaslServerFactory? sasl)
    {
        var security = new ListenerSecurity(sasl, config.GetLong("connections.max.reauth.ms"), config.GetInt("sasl.server.max.receive.size"), config.GetInt("connection.failed.authentication.delay.ms"));
        foreach (var endpoint in config.Listeners)
        {
            if (endpoint.SecurityProtocol is SecurityProtocol.Ssl or SecurityProtocol.SaslSsl)
            {
                security._tls[endpoint.ListenerName] = SslServerContext.Create(config, endpoint.ListenerName);
            }
            if (endpoint.SecurityProtocol is SecurityProtocol.SaslPlaintext or SecurityProtocol.SaslSsl
                && (sasl is null || sasl.EnabledMechanisms(endpoint.ListenerName).Count == 0))
            {
                throw new ConfigException($"Listener {endpoint.ListenerName} is {Endpoint.ProtocolName(endpoint.SecurityProtocol)} but no supported SASL mechanism is enabled on it (sasl.enabled.mechanisms: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER)");
            }
        }
        return security;
    }

    /// <summary>The TLS context of an SSL or SASL_SSL listener, else null.</summary>
    public SslServerContext? TlsFor(string listenerName) => _tls.GetValueOrDefault(listenerName);

    /// <summary>A fresh SASL stage for a connection on a SASL listener, else null.</summary>
    public SaslServerAuthenticator? AuthenticatorFor(string listenerName, SecurityProtocol protocol, TimeProvider time) =>
        protocol is SecurityProtocol.SaslPlaintext or SecurityProtocol.SaslSsl && _sasl is not null
            ? new SaslServerAuthenticator(_sasl, listenerName, _maxReauthMs, _failedDelay, time)
            : null;
}
