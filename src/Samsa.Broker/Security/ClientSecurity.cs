using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Samsa.Broker.Config;
using Samsa.Broker.Security.Sasl;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Security;

/// <summary>
/// How this node connects to another node's listener (Kafka's client-mode <c>ChannelBuilder</c>): TLS with the
/// listener's trust store and hostname check when the listener is SSL or SASL_SSL, then a SASL exchange with the
/// configured mechanism (<c>sasl.mechanism.inter.broker.protocol</c> towards brokers,
/// <c>sasl.mechanism.controller.protocol</c> towards controllers) and the <c>username</c>/<c>password</c> of the
/// listener's JAAS config, as Kafka's inter-broker client logs in.
/// </summary>
public sealed class ClientSecurity
{
    private readonly X509Certificate2Collection? _trusted;
    private readonly bool _verifyHostname;
    private readonly Func<ISaslClient>? _sasl;

    private ClientSecurity(SecurityProtocol protocol, X509Certificate2Collection? trusted, bool verifyHostname, Func<ISaslClient>? sasl)
    {
        Protocol = protocol;
        _trusted = trusted;
        _verifyHostname = verifyHostname;
        _sasl = sasl;
    }

    public static readonly ClientSecurity Plaintext = new(SecurityProtocol.Plaintext, null, false, null);

    public SecurityProtocol Protocol { get; }

    /// <summary>The client side of <paramref name="listenerName"/>; a SASL listener without usable credentials is a <see cref="ConfigException"/>.</summary>
    public static ClientSecurity For(KafkaConfig config, string listenerName, string mechanismKey)
    {
        if (!config.ListenerSecurityProtocolMap.TryGetValue(listenerName, out var protocol) || protocol == SecurityProtocol.Plaintext)
        {
            return Plaintext;
        }
        X509Certificate2Collection? trusted = null;
        var verifyHostname = false;
        if (protocol is SecurityProtocol.Ssl or SecurityProtocol.SaslSsl)
        {
            trusted = SslServerContextTrust(config, listenerName);
            verifyHostname = (config.ListenerString(listenerName, "ssl.endpoint.identification.algorithm") ?? "https").Length > 0;
        }
        Func<ISaslClient>? sasl = null;
        if (protocol is SecurityProtocol.SaslPlaintext or SecurityProtocol.SaslSsl)
        {
            var mechanism = config.GetString(mechanismKey) ?? "GSSAPI";
            var jaas = JaasConfig.Of(config, listenerName, mechanism);
            if (jaas?.Option("username") is not { } username || jaas.Option("password") is not { } password)
            {
                throw new ConfigException($"Listener {listenerName} is {Endpoint.ProtocolName(protocol)}: this node connects to it with {mechanismKey}={mechanism}, "
                    + $"which needs username and password in listener.name.{listenerName.ToLowerInvariant()}.{mechanism.ToLowerInvariant()}.sasl.jaas.config");
            }
            if (mechanism is not ("PLAIN" or "SCRAM-SHA-256" or "SCRAM-SHA-512"))
            {
                throw ConfigException.InvalidValue(mechanismKey, mechanism, "links between nodes log in with PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512");
            }
            sasl = () => SaslClients.Create(mechanism, username, password);
        }
        return new ClientSecurity(protocol, trusted, verifyHostname, sasl);
    }

    private static X509Certificate2Collection? SslServerContextTrust(KafkaConfig config, string listenerName) =>
        Ssl.SslServerContext.LoadTrustStore(key => config.ListenerString(listenerName, key));

    /// <summary>
    /// Opens the transport over a connected socket and authenticates: the stream to send frames on. Failures throw
    /// <see cref="IOException"/> (TLS) or <see cref="SaslAuthenticationException"/> (SASL).
    /// </summary>
    public async Task<Stream> OpenAsync(Socket socket, string host, string clientId, CancellationToken cancellationToken)
    {
        Stream stream = new NetworkStream(socket, ownsSocket: true);
        try
        {
            if (Protocol is SecurityProtocol.Ssl or SecurityProtocol.SaslSsl)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = host,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                    RemoteCertificateValidationCallback = (_, certificate, chain, errors) => Trusted(certificate, chain, errors),
                }, cancellationToken);
            }
            if (_sasl is not null)
            {
                var correlationId = 0;
                async Task<TResponse> RoundTrip<TResponse>(IApiMessage request, short version) where TResponse : IApiMessage, new()
                {
                    var id = ++correlationId;
                    await stream.WriteAsync(RequestFrames.Build(request, version, id, clientId), cancellationToken);
                    var prefix = new byte[4];
                    await stream.ReadExactlyAsync(prefix, cancellationToken);
                    var payload = new byte[RequestFrames.PayloadSize(prefix)];
                    await stream.ReadExactlyAsync(payload, cancellationToken);
                    return RequestFrames.ReadResponse<TResponse>(payload, request.ApiKey, version, id);
                }
                await SaslClientAuthenticator.AuthenticateAsync(_sasl(),
                    handshake => RoundTrip<SaslHandshakeResponse>(handshake, 1),
                    token => RoundTrip<SaslAuthenticateResponse>(token, 2));
            }
            return stream;
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
    }

    private bool Trusted(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            return false;
        }
        if (_verifyHostname && errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            return false;
        }
        if (_trusted is null)
        {
            return (errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) == SslPolicyErrors.None;
        }
        return Ssl.SslServerContext.ChainsTo(certificate, chain, _trusted);
    }
}
